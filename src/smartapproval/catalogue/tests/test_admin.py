"""The catalogue admin saves and acts through the services."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from smartapproval.audit.models import AuditEntry
from smartapproval.catalogue.models import (
    ItemStatus,
    ItemType,
    ServiceItem,
    ServiceItemVersion,
)
from smartapproval.catalogue.services import item_publish
from smartapproval.catalogue.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    MaterialRequirementFactory,
    ServiceItemFactory,
)

CHANGELIST = "admin:catalogue_serviceitem_changelist"


@pytest.fixture
def admin_user():
    return AdminUserFactory()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def form_data(response) -> dict[str, Any]:
    """Return the POST data of an admin change form as the page shows it."""
    data: dict[str, Any] = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        forms.extend(formset.forms)
    for form in forms:
        for name in form.fields:
            value = form[name].value()
            key = form.add_prefix(name)
            if isinstance(value, bool):
                if value:
                    data[key] = "on"
            elif value is not None:
                data[key] = value
    return data


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
class TestServiceItemChangelist:
    def test_lists_items_in_chinese_with_the_default_limit_marked(self, admin_client):
        ServiceItemFactory(
            item_type=ItemType.LICENSING, legal_limit_confirmed=False, name="某许可"
        )

        response = admin_client.get(reverse(CHANGELIST))

        assert response.status_code == 200
        page = response.content.decode()
        assert "法定默认 20 个工作日（待确认）" in page
        assert "实施部门" in page
        assert "确认法定时限" in page

    def test_filters_and_search_work(self, admin_client):
        item = ServiceItemFactory(name="增值税发票领用")
        ServiceItemFactory(name="其他事项")

        response = admin_client.get(
            reverse(CHANGELIST),
            {"q": "发票", "status__exact": "draft", "legal_limit_confirmed__exact": 1},
        )

        assert list(response.context["cl"].result_list) == [item]


@pytest.mark.django_db
class TestServiceItemChangeForm:
    def test_saving_a_published_item_goes_through_item_update(
        self, admin_client, admin_user
    ):
        item = ServiceItemFactory()
        MaterialRequirementFactory(item=item, order=1, name="申请书")
        item_publish(actor=admin_user, item=item)
        url = reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        data = form_data(admin_client.get(url))
        data["promised_limit_value"] = "3"

        response = admin_client.post(url, data)

        assert response.status_code == 302
        item.refresh_from_db()
        assert (item.promised_limit_value, item.version) == (3, 2)
        assert ServiceItemVersion.objects.get(item=item).version == 1
        entry = AuditEntry.objects.get(action="item_updated")
        assert entry.actor == admin_user
        assert entry.after == {"promised_limit_value": 3}

    def test_added_material_is_saved_with_the_item(self, admin_client, admin_user):
        item = ServiceItemFactory()
        url = reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        data = form_data(admin_client.get(url))
        data.update(
            {
                "materials-TOTAL_FORMS": "1",
                "materials-0-order": "1",
                "materials-0-name": "营业执照",
                "materials-0-required": "on",
                "materials-0-originals": "1",
                "materials-0-copies": "0",
            }
        )

        response = admin_client.post(url, data)

        assert response.status_code == 302
        assert list(item.materials.values_list("name", flat=True)) == ["营业执照"]
        entry = AuditEntry.objects.get(action="item_updated")
        assert entry.after["materials"][0]["name"] == "营业执照"

    def test_a_material_names_the_other_items_results_it_accepts(self, admin_client):
        item = ServiceItemFactory()
        url = reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        data = form_data(admin_client.get(url))
        data.update(
            {
                "materials-TOTAL_FORMS": "2",
                "materials-0-order": "1",
                "materials-0-name": "项目建议书批复文件",
                "materials-0-required": "on",
                "materials-0-originals": "0",
                "materials-0-copies": "1",
                "materials-0-accepts_results": '["项目建议书批复", " "]',
                "materials-1-order": "2",
                "materials-1-name": "申请书",
                "materials-1-required": "on",
                "materials-1-originals": "1",
                "materials-1-copies": "0",
                "materials-1-accepts_results": "",
            }
        )

        response = admin_client.post(url, data)

        assert response.status_code == 302
        assert list(item.materials.values_list("name", "accepts_results")) == [
            ("项目建议书批复文件", ["项目建议书批复"]),
            ("申请书", []),
        ]

    def test_accepted_results_are_typed_one_a_line(self, admin_client):
        item = ServiceItemFactory()
        url = reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        data = form_data(admin_client.get(url))
        data.update(
            {
                "materials-TOTAL_FORMS": "1",
                "materials-0-order": "1",
                "materials-0-name": "选址意见书",
                "materials-0-required": "on",
                "materials-0-originals": "0",
                "materials-0-copies": "1",
                "materials-0-accepts_results": (
                    "建设项目用地预审与选址意见书\n 选址意见书 \n"
                ),
            }
        )

        response = admin_client.post(url, data)

        assert response.status_code == 302
        material = item.materials.get()
        assert material.accepts_results == [
            "建设项目用地预审与选址意见书",
            "选址意见书",
        ]
        page = admin_client.get(url).content.decode()
        assert "建设项目用地预审与选址意见书\n选址意见书" in page
        assert "每行填写一个结果名称或事项编码" in page

    def test_notify_and_commit_is_set_with_the_materials_it_replaces(
        self, admin_client, admin_user
    ):
        item = ServiceItemFactory()
        MaterialRequirementFactory(item=item, order=1, name="申请书")
        MaterialRequirementFactory(item=item, order=2, name="场地证明")
        url = reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        page = admin_client.get(url)
        data = form_data(page)
        data["notify_commit_allowed"] = "on"
        data["verification_limit_value"] = "20"
        data["materials-1-commitment_replaces"] = "on"

        response = admin_client.post(url, data)

        assert "适用告知承诺制" in page.content.decode()
        assert "以承诺代替" in page.content.decode()
        assert response.status_code == 302
        item.refresh_from_db()
        assert item.notify_commit_allowed is True
        assert item.verification_limit_value == 20
        assert list(
            item.materials.filter(commitment_replaces=True).values_list(
                "name", flat=True
            )
        ) == ["场地证明"]
        entry = AuditEntry.objects.get(action="item_updated")
        assert entry.after["notify_commit_allowed"] is True

    def test_a_verification_limit_of_nought_is_refused(self, admin_client):
        item = ServiceItemFactory()
        url = reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        data = form_data(admin_client.get(url))
        data["verification_limit_value"] = "0"

        response = admin_client.post(url, data)

        assert response.status_code == 200
        item.refresh_from_db()
        assert item.verification_limit_value == 30

    def test_promised_above_legal_is_a_form_error_in_chinese(self, admin_client):
        item = ServiceItemFactory()
        url = reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        data = form_data(admin_client.get(url))
        data["promised_limit_value"] = "25"

        response = admin_client.post(url, data)

        assert response.status_code == 200
        assert "承诺时限（25 个工作日）超过法定时限（20 个工作日）" in (
            response.content.decode()
        )
        item.refresh_from_db()
        assert item.promised_limit_value == 5
        assert not AuditEntry.objects.exists()

    def test_removing_the_last_material_of_a_published_licence_is_refused(
        self, admin_client, admin_user
    ):
        item = ServiceItemFactory(item_type=ItemType.LICENSING)
        MaterialRequirementFactory(item=item, order=1)
        item_publish(actor=admin_user, item=item)
        url = reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        data = form_data(admin_client.get(url))
        data["materials-0-DELETE"] = "on"
        data["name"] = "改名"

        response = admin_client.post(url, data, follow=True)

        assert messages_of(response) == [
            "已发布事项不能这样修改：行政许可事项至少需要一项申请材料。"
        ]
        item.refresh_from_db()
        assert (item.name, item.version) != ("改名", 2)
        assert item.version == 1
        assert item.materials.count() == 1
        assert not ServiceItemVersion.objects.exists()

    def test_adding_an_item_creates_it_through_the_service(
        self, admin_client, admin_user
    ):
        department = DepartmentFactory()
        url = reverse("admin:catalogue_serviceitem_add")
        data = form_data(admin_client.get(url))
        data.update(
            {
                "name": "新增事项",
                "implementation_code": "NEW-1",
                "item_type": ItemType.PUBLIC_SERVICE,
                "department": department.pk,
            }
        )

        response = admin_client.post(url, data)

        assert response.status_code == 302
        item = ServiceItem.objects.get(implementation_code="NEW-1")
        assert item.status == ItemStatus.DRAFT
        assert AuditEntry.objects.get(action="item_created").actor == admin_user


@pytest.mark.django_db
class TestServiceItemActions:
    def act(self, client, action, items, **extra):
        return client.post(
            reverse(CHANGELIST),
            {"action": action, "_selected_action": [i.pk for i in items], **extra},
            follow=True,
        )

    def test_publish_reports_each_refusal_in_chinese(self, admin_client):
        ready = ServiceItemFactory(name="完整事项")
        incomplete = ServiceItemFactory(name="缺时限事项", promised_limit_value=None)

        response = self.act(admin_client, "publish", [ready, incomplete])

        assert messages_of(response) == [
            "缺时限事项：事项无法发布：缺少承诺时限。",
            "已发布 1 个事项。",
        ]
        ready.refresh_from_db()
        incomplete.refresh_from_db()
        assert ready.status == ItemStatus.PUBLISHED
        assert incomplete.status == ItemStatus.DRAFT

    def test_confirm_legal_limit(self, admin_client):
        item = ServiceItemFactory(legal_limit_confirmed=False)

        response = self.act(admin_client, "confirm_legal_limit", [item])

        assert messages_of(response) == ["已确认 1 个事项的法定时限。"]
        item.refresh_from_db()
        assert item.legal_limit_confirmed

    def test_withdraw_asks_for_a_reason_first(self, admin_client, admin_user):
        item = item_publish(actor=admin_user, item=ServiceItemFactory())

        page = self.act(admin_client, "withdraw", [item])
        assert "撤回原因" in page.content.decode()
        item.refresh_from_db()
        assert item.status == ItemStatus.PUBLISHED

        response = self.act(
            admin_client, "withdraw", [item], apply="1", reason="依据已废止"
        )

        assert messages_of(response) == ["已撤回 1 个事项。"]
        item.refresh_from_db()
        assert item.status == ItemStatus.WITHDRAWN
        assert AuditEntry.objects.get(action="item_withdrawn").note == "依据已废止"


@pytest.mark.django_db
def test_versions_are_listed_read_only(admin_client, admin_user):
    item = item_publish(actor=admin_user, item=ServiceItemFactory())
    ServiceItemVersion.objects.create(item=item, version=1, snapshot={"name": "x"})

    listing = admin_client.get(reverse("admin:catalogue_serviceitemversion_changelist"))
    add = admin_client.get(reverse("admin:catalogue_serviceitemversion_add"))

    assert listing.status_code == 200
    assert add.status_code == 403

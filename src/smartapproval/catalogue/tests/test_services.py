"""Edits, versions and publication of items through the services."""

import pytest

from smartapproval.audit.models import AuditEntry
from smartapproval.catalogue.models import ItemStatus, ItemType, ServiceItemVersion
from smartapproval.catalogue.services import (
    item_confirm_legal_limit,
    item_create,
    item_publish,
    item_update,
    item_withdraw,
)
from smartapproval.catalogue.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    MaterialRequirementFactory,
    ServiceItemFactory,
)
from smartapproval.core.api import ServiceError


@pytest.fixture
def admin():
    return AdminUserFactory()


def publish_refusal(admin, item) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        item_publish(actor=admin, item=item)
    return caught.value


@pytest.mark.django_db
class TestItemPublish:
    def test_complete_item_is_published_and_audited(self, admin):
        item = ServiceItemFactory()

        item = item_publish(actor=admin, item=item)

        assert item.status == ItemStatus.PUBLISHED
        assert item.published_at is not None
        entry = AuditEntry.objects.get(action="item_published")
        assert entry.actor == admin
        assert entry.before == {"status": "draft"}

    def test_refuses_without_legal_limit(self, admin):
        item = ServiceItemFactory(legal_limit_value=None)

        error = publish_refusal(admin, item)

        assert error.message == "事项无法发布：缺少法定时限。"
        assert error.field == "legal_limit_value"
        assert error.status == 409
        item.refresh_from_db()
        assert item.status == ItemStatus.DRAFT
        assert not AuditEntry.objects.exists()

    def test_refuses_unconfirmed_statutory_default(self, admin):
        item = ServiceItemFactory(legal_limit_confirmed=False)

        error = publish_refusal(admin, item)

        assert error.message == "事项无法发布：法定时限为法定默认值，尚未确认。"

    def test_refuses_without_promised_limit(self, admin):
        item = ServiceItemFactory(promised_limit_value=None)

        assert publish_refusal(admin, item).message == "事项无法发布：缺少承诺时限。"

    def test_limits_in_different_units_are_not_compared(self, admin):
        item = ServiceItemFactory(
            legal_limit_value=1,
            legal_limit_unit="months",
            promised_limit_value=15,
            promised_limit_unit="working_days",
        )

        assert item_publish(actor=admin, item=item).is_published

    def test_refuses_licensing_item_without_materials(self, admin):
        item = ServiceItemFactory(item_type=ItemType.LICENSING)

        error = publish_refusal(admin, item)

        assert error.message == "事项无法发布：行政许可事项至少需要一项申请材料。"
        assert error.field == "materials"

    def test_licensing_item_with_a_material_is_published(self, admin):
        item = ServiceItemFactory(item_type=ItemType.LICENSING)
        MaterialRequirementFactory(item=item)

        assert item_publish(actor=admin, item=item).is_published

    def test_refuses_inactive_department(self, admin):
        item = ServiceItemFactory(department=DepartmentFactory(is_active=False))

        assert publish_refusal(admin, item).message == (
            "事项无法发布：未指定有效的实施部门。"
        )

    def test_names_every_missing_element_at_once(self, admin):
        item = ServiceItemFactory(
            item_type=ItemType.LICENSING,
            legal_limit_value=None,
            promised_limit_value=None,
        )

        assert publish_refusal(admin, item).message == (
            "事项无法发布：缺少法定时限；缺少承诺时限；"
            "行政许可事项至少需要一项申请材料。"
        )

    def test_refuses_an_item_already_published(self, admin):
        item = item_publish(actor=admin, item=ServiceItemFactory())

        error = publish_refusal(admin, item)

        assert error.message == "该事项已发布。"
        assert error.status == 409

    def test_withdrawn_item_can_be_published_again(self, admin):
        item = item_publish(actor=admin, item=ServiceItemFactory())
        item_withdraw(actor=admin, item=item, reason="依据已废止")

        assert item_publish(actor=admin, item=item).is_published


@pytest.mark.django_db
class TestItemWithdraw:
    def test_published_item_is_withdrawn_with_the_reason_audited(self, admin):
        item = item_publish(actor=admin, item=ServiceItemFactory())

        item = item_withdraw(actor=admin, item=item, reason="事项已调整")

        assert item.status == ItemStatus.WITHDRAWN
        entry = AuditEntry.objects.get(action="item_withdrawn")
        assert entry.note == "事项已调整"

    def test_needs_a_reason(self, admin):
        item = item_publish(actor=admin, item=ServiceItemFactory())

        with pytest.raises(ServiceError) as caught:
            item_withdraw(actor=admin, item=item, reason="  ")

        assert caught.value.message == "请填写撤回事项的原因。"
        assert caught.value.field == "reason"

    def test_draft_cannot_be_withdrawn(self, admin):
        with pytest.raises(ServiceError) as caught:
            item_withdraw(actor=admin, item=ServiceItemFactory(), reason="无")

        assert caught.value.message == "只有已发布的事项才能撤回。"
        assert caught.value.status == 409


@pytest.mark.django_db
class TestItemConfirmLegalLimit:
    def test_confirms_the_default_and_audits(self, admin):
        item = ServiceItemFactory(legal_limit_confirmed=False)

        item = item_confirm_legal_limit(actor=admin, item=item)

        assert item.legal_limit_confirmed is True
        assert item.legal_limit_text == "20 个工作日"
        assert AuditEntry.objects.filter(action="item_legal_limit_confirmed").count()

    def test_confirming_twice_records_once(self, admin):
        item = ServiceItemFactory(legal_limit_confirmed=False)

        item_confirm_legal_limit(actor=admin, item=item)
        item_confirm_legal_limit(actor=admin, item=item)

        assert (
            AuditEntry.objects.filter(action="item_legal_limit_confirmed").count() == 1
        )

    def test_refuses_without_a_legal_limit(self, admin):
        item = ServiceItemFactory(legal_limit_value=None)

        with pytest.raises(ServiceError) as caught:
            item_confirm_legal_limit(actor=admin, item=item)

        assert caught.value.message == "该事项没有可确认的法定时限。"


@pytest.mark.django_db
class TestItemUpdate:
    def test_draft_change_is_audited_without_a_new_version(self, admin):
        item = ServiceItemFactory(name="旧名称")

        item = item_update(actor=admin, item=item, name="新名称")

        assert item.name == "新名称"
        assert item.version == 1
        assert not ServiceItemVersion.objects.exists()
        entry = AuditEntry.objects.get(action="item_updated")
        assert (entry.before, entry.after) == ({"name": "旧名称"}, {"name": "新名称"})

    def test_published_change_freezes_the_old_version(self, admin):
        item = item_publish(actor=admin, item=ServiceItemFactory(name="旧名称"))
        MaterialRequirementFactory(item=item, order=1, name="申请书")

        item = item_update(
            actor=admin,
            item=item,
            promised_limit_value=3,
            materials=[{"name": "申请书"}, {"name": "身份证明", "copies": 1}],
        )

        assert item.version == 2
        assert item.promised_limit_value == 3
        assert list(item.materials.values_list("order", "name")) == [
            (1, "申请书"),
            (2, "身份证明"),
        ]
        frozen = ServiceItemVersion.objects.get(item=item)
        assert frozen.version == 1
        assert frozen.snapshot["promised_limit_value"] == 5
        assert [m["name"] for m in frozen.snapshot["materials"]] == ["申请书"]
        assert frozen.snapshot["department"]["name"] == item.department.name

    def test_no_change_writes_nothing(self, admin):
        item = item_publish(actor=admin, item=ServiceItemFactory(name="同名"))
        audit_count = AuditEntry.objects.count()

        item = item_update(actor=admin, item=item, name="同名")

        assert item.version == 1
        assert AuditEntry.objects.count() == audit_count

    def test_promised_above_legal_is_refused(self, admin):
        item = ServiceItemFactory()

        with pytest.raises(ServiceError) as caught:
            item_update(actor=admin, item=item, promised_limit_value=30)

        assert caught.value.message == (
            "事项无法保存：承诺时限（30 个工作日）超过法定时限（20 个工作日）。"
        )
        assert caught.value.field == "promised_limit_value"
        item.refresh_from_db()
        assert item.promised_limit_value == 5

    def test_published_item_cannot_lose_its_legal_limit(self, admin):
        item = item_publish(actor=admin, item=ServiceItemFactory())

        with pytest.raises(ServiceError) as caught:
            item_update(actor=admin, item=item, legal_limit_value=None)

        assert caught.value.message == "已发布事项不能这样修改：缺少法定时限。"
        item.refresh_from_db()
        assert (item.legal_limit_value, item.version) == (20, 1)
        assert not ServiceItemVersion.objects.exists()

    def test_status_is_not_editable_through_update(self, admin):
        with pytest.raises(TypeError):
            item_update(actor=admin, item=ServiceItemFactory(), status="published")


@pytest.mark.django_db
class TestItemCreate:
    def test_creates_a_draft_with_materials(self, admin):
        item = item_create(
            actor=admin,
            implementation_code="TEST-1",
            name="新事项",
            item_type=ItemType.LICENSING,
            department=DepartmentFactory(),
            materials=[{"name": "申请表", "originals": 1}],
        )

        assert item.status == ItemStatus.DRAFT
        assert item.materials.get().name == "申请表"
        assert AuditEntry.objects.get(action="item_created").actor == admin

    def test_refuses_a_code_in_use(self, admin):
        existing = ServiceItemFactory()

        with pytest.raises(ServiceError) as caught:
            item_create(
                actor=admin,
                implementation_code=existing.implementation_code,
                name="重复",
                item_type=ItemType.PUBLIC_SERVICE,
                department=existing.department,
            )

        assert caught.value.status == 409
        assert "已存在" in caught.value.message

"""Review routes in the admin: diagrams, versions and uploads of a new one."""

import json
import re
from pathlib import Path
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from smartapproval.accounts.models import Role
from smartapproval.audit.models import AuditEntry
from smartapproval.catalogue import processes
from smartapproval.catalogue.models import ReviewProcess
from smartapproval.catalogue.processes import (
    ProcessRefusedError,
    process_import,
    process_install_shipped,
    process_validate,
)
from smartapproval.catalogue.tests.factories import (
    AdminUserFactory,
    ServiceItemFactory,
    UserFactory,
)

MIWG = Path(__file__).resolve().parent / "data" / "bpmn"
SHIPPED = processes.SHIPPED_DIR
SINGLE = SHIPPED / "single-department.bpmn"
FEASIBILITY = SHIPPED / "feasibility-parallel.bpmn"
VIEWER = "vendor/bpmn-js/bpmn-navigated-viewer.production.min.js"
CHANGELIST = "admin:catalogue_reviewprocess_changelist"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run"]


@pytest.fixture
def admin_user():
    return AdminUserFactory()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def item():
    return ServiceItemFactory(name="政府投资项目可行性研究报告审批")


@pytest.fixture
def route(item, admin_user):
    """The item's first route: the shipped feasibility route, version 1."""
    return process_import(actor=admin_user, item=item, xml=FEASIBILITY.read_bytes())


def change_url(process: ReviewProcess) -> str:
    return reverse("admin:catalogue_reviewprocess_change", args=[process.pk])


def upload_url(item) -> str:
    return reverse("admin:catalogue_serviceitem_upload_route", args=[item.pk])


def upload(client, item, path: Path, **data):
    bpmn = SimpleUploadedFile(path.name, path.read_bytes(), "application/xml")
    return client.post(upload_url(item), {"file": bpmn, **data})


def embedded_json(page: str, element_id: str):
    """Return what a ``json_script`` block of the page holds."""
    found = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>',
        page,
        re.S,
    )
    assert found, element_id
    return json.loads(found.group(1))


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def staff_with(*codenames: str):
    """A reviewer who may use the admin, with only the given permissions."""
    user = UserFactory(role=Role.REVIEWER, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="catalogue", codename__in=codenames
        )
    )
    return user


@pytest.mark.django_db
class TestRouteList:
    def test_lists_versions_in_chinese_with_their_warning_count(
        self, admin_client, item, route
    ):
        c_1_0 = process_import(
            actor=None, item=item, xml=(MIWG / "C.1.0.bpmn").read_bytes()
        )
        process_install_shipped()

        response = admin_client.get(reverse(CHANGELIST))

        assert response.status_code == 200
        page = response.content.decode()
        assert "审查路线" in page
        assert "事项或模板" in page
        assert "提示数" in page
        assert "模板 single-department" in page
        assert item.name in page
        assert c_1_0.warnings
        rows = {
            row.pk: row
            for row in response.context["cl"].result_list
            if row.item_id == item.pk
        }
        assert set(rows) == {route.pk, c_1_0.pk}
        admin = response.context["cl"].model_admin
        assert admin.warning_count(rows[c_1_0.pk]) == len(c_1_0.warnings)
        assert admin.warning_count(rows[route.pk]) == 0

    def test_offers_neither_add_nor_delete(self, admin_client, route):
        response = admin_client.get(reverse(CHANGELIST))

        page = response.content.decode()
        assert "delete_selected" not in page
        assert reverse("admin:catalogue_reviewprocess_add") not in page


@pytest.mark.django_db
class TestRouteDiagram:
    def test_embeds_the_stored_xml_and_the_vendored_viewer(self, admin_client, route):
        response = admin_client.get(change_url(route))

        assert response.status_code == 200
        page = response.content.decode()
        assert embedded_json(page, "route-diagram-xml") == route.bpmn_xml
        assert f'src="/static/{VIEWER}"' in page
        assert 'src="/static/js/route-diagram.js"' in page
        assert "/static/vendor/bpmn-js/diagram-js.css" in page
        assert "审批流程图" in page
        assert "BPMN 流程标识" in page
        # An item's route has no template key to show.
        assert "模板标识" not in page

    def test_lists_each_human_task_with_its_department_role_and_limit(
        self, admin_client, route
    ):
        response = admin_client.get(change_url(route))

        page = response.content.decode()
        tasks = {t["id"]: t for t in embedded_json(page, "route-diagram-tasks")}
        assert set(tasks) == {task["id"] for task in route.user_tasks}
        assert tasks["lead_preliminary"]["role"] == "牵头部门"
        assert tasks["lead_preliminary"]["limit"] == "1 个工作日"
        assert tasks["planning_review"]["role"] == "协办部门"
        assert tasks["planning_review"]["department"] == "城市规划行政主管部门"
        assert tasks["planning_review"]["limit"] == "3 个工作日"
        assert "人工任务" in page
        assert "部门角色" in page
        assert "城市规划部门审查" in page
        labels = embedded_json(page, "route-diagram-labels")
        assert labels["failed"] == "无法绘制流程图："

    def test_limit_in_working_hours_is_named_so(self, admin_client, item):
        single = process_import(actor=None, item=item, xml=SINGLE.read_bytes())

        response = admin_client.get(change_url(single))

        tasks = embedded_json(response.content.decode(), "route-diagram-tasks")
        assert {t["id"]: t["limit"] for t in tasks} == {
            "review": "2 个工作日",
            "check": "1 个工作日",
            "approve": "4 个工作小时",
        }

    def test_shows_the_import_warnings(self, admin_client, item):
        c_1_0 = process_import(
            actor=None, item=item, xml=(MIWG / "C.1.0.bpmn").read_bytes()
        )

        response = admin_client.get(change_url(c_1_0))

        page = response.content.decode()
        assert "导入提示" in page
        for warning in c_1_0.warnings:
            assert escaped(warning) in page

    def test_route_without_warnings_says_so(self, admin_client, route):
        response = admin_client.get(change_url(route))

        assert "导入时没有提示。" in response.content.decode()

    def test_lists_every_version_of_the_same_item_and_no_other(
        self, admin_client, item, route
    ):
        second = process_import(actor=None, item=item, xml=SINGLE.read_bytes())
        other = process_import(
            actor=None, item=ServiceItemFactory(), xml=SINGLE.read_bytes()
        )

        response = admin_client.get(change_url(route))

        assert response.status_code == 200
        versions = list(response.context["route_versions"])
        assert versions == [second, route]
        assert other not in versions
        page = response.content.decode()
        assert "全部版本" in page
        assert f'href="{change_url(second)}"' in page
        assert "当前查看" in page

    def test_template_lists_the_versions_of_its_key(self, admin_client, tmp_path):
        (template,) = [
            p for p in process_install_shipped() if p.key == "single-department"
        ]
        changed = tmp_path / "single-department.bpmn"
        changed.write_bytes(
            SINGLE.read_bytes().replace('name="审核"'.encode(), 'name="复核"'.encode())
        )
        newer = process_import(
            actor=None, item=None, key="single-department", xml=changed.read_bytes()
        )

        response = admin_client.get(change_url(template))

        assert list(response.context["route_versions"]) == [newer, template]
        # A template is installed with the command, not uploaded here.
        assert response.context["upload_url"] == ""
        assert "模板标识" in response.content.decode()

    def test_offers_the_upload_of_a_new_version_of_its_item(
        self, admin_client, item, route
    ):
        response = admin_client.get(change_url(route))

        page = response.content.decode()
        assert f'href="{upload_url(item)}"' in page
        assert "上传新版本" in page

    def test_stored_xml_cannot_be_changed(self, admin_client, route):
        response = admin_client.get(change_url(route))
        posted = admin_client.post(
            change_url(route), {"name": "改名", "bpmn_xml": "<x/>", "_save": "1"}
        )

        assert posted.status_code == 403
        page = response.content.decode()
        assert 'name="_save"' not in page
        assert "<textarea" not in page
        route.refresh_from_db()
        assert route.bpmn_xml == FEASIBILITY.read_text(encoding="utf-8")
        assert route.name != "改名"

    def test_delete_is_not_offered(self, admin_client, route):
        response = admin_client.get(change_url(route))
        delete = admin_client.get(
            reverse("admin:catalogue_reviewprocess_delete", args=[route.pk])
        )
        posted = admin_client.post(
            reverse(CHANGELIST),
            {
                "action": "delete_selected",
                "_selected_action": [route.pk],
                "post": "yes",
            },
        )

        assert "deletelink" not in response.content.decode()
        assert delete.status_code == 403
        assert posted.status_code in (200, 302)
        assert ReviewProcess.objects.filter(pk=route.pk).exists()

    def test_task_names_from_the_file_cannot_inject_markup(self, admin_client, item):
        hostile = SINGLE.read_bytes().replace(
            'name="审查"'.encode(),
            b'name="&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"',
        )
        process = process_import(actor=None, item=item, xml=hostile)
        assert process.user_tasks[0]["name"].startswith("</script>")

        response = admin_client.get(change_url(process))

        page = response.content.decode()
        assert "<script>alert(1)" not in page
        tasks = embedded_json(page, "route-diagram-tasks")
        assert tasks[0]["name"] == "</script><script>alert(1)</script>"


@pytest.mark.django_db
class TestServiceItemRoute:
    def test_item_page_shows_its_active_version_and_links(
        self, admin_client, item, route
    ):
        second = process_import(actor=None, item=item, xml=SINGLE.read_bytes())

        response = admin_client.get(
            reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        )

        assert response.status_code == 200
        page = response.content.decode()
        assert "审批流程" in page
        assert f"第 2 版：{second.name}" in page
        assert f'href="{change_url(second)}"' in page
        assert "审批流程图" in page
        assert f'href="{upload_url(item)}"' in page
        assert "上传新版本" in page

    def test_item_without_a_route_names_the_template_its_cases_run_on(
        self, admin_client, item
    ):
        (template,) = [
            p for p in process_install_shipped() if p.key == "single-department"
        ]

        response = admin_client.get(
            reverse("admin:catalogue_serviceitem_change", args=[item.pk])
        )

        page = response.content.decode()
        assert "本事项没有自己的审批流程，新办件按模板 single-department" in page
        assert f'href="{change_url(template)}"' in page


@pytest.mark.django_db
class TestRouteUpload:
    def test_upload_page_shows_the_active_version(self, admin_client, item, route):
        response = admin_client.get(upload_url(item))

        assert response.status_code == 200
        page = response.content.decode()
        assert "上传审批流程新版本" in page
        assert "本事项当前启用的审批流程为第 1 版" in page
        assert 'enctype="multipart/form-data"' in page

    def test_valid_route_becomes_the_next_active_version_and_keeps_the_old(
        self, admin_client, admin_user, item, route
    ):
        response = upload(admin_client, item, SINGLE, name="单部门审批（试行）")

        new = ReviewProcess.objects.get(item=item, version=2)
        assert response.status_code == 302
        assert response.url == change_url(new)
        assert new.is_active
        assert new.name == "单部门审批（试行）"
        assert new.uploaded_by == admin_user
        assert new.bpmn_xml == SINGLE.read_text(encoding="utf-8")
        route.refresh_from_db()
        assert not route.is_active
        assert route.bpmn_xml == FEASIBILITY.read_text(encoding="utf-8")
        assert ReviewProcess.objects.filter(item=item).count() == 2
        assert AuditEntry.objects.filter(action="process_imported").count() == 2
        assert messages_of(response) == [
            "审批流程第 2 版已保存并对新办件启用；在办办件仍按原版本办理。"
        ]

    def test_success_lands_on_the_new_diagram(self, admin_client, item, route):
        response = upload(admin_client, item, SINGLE)

        landed = admin_client.get(response.url)
        assert landed.status_code == 200
        page = landed.content.decode()
        assert embedded_json(page, "route-diagram-xml") == SINGLE.read_text(
            encoding="utf-8"
        )
        assert "已保存并对新办件启用" in page

    def test_first_route_of_an_item_is_version_one(self, admin_client, item):
        response = upload(admin_client, item, FEASIBILITY)

        (only,) = ReviewProcess.objects.filter(item=item)
        assert response.url == change_url(only)
        assert (only.version, only.is_active) == (1, True)

    def test_same_file_as_the_active_version_adds_nothing(
        self, admin_client, item, route
    ):
        response = upload(admin_client, item, FEASIBILITY)

        assert response.url == change_url(route)
        assert ReviewProcess.objects.filter(item=item).count() == 1
        assert messages_of(response) == ["该文件与当前第 1 版相同，未新增版本。"]

    @pytest.mark.parametrize(
        ("name", "reason"),
        [
            ("C.3.0.bpmn", "子流程没有开始事件"),
            ("B.1.0.bpmn", "不支持数据存储"),
            ("A.1.0.bpmn", "未声明可执行流程"),
        ],
    )
    def test_refused_miwg_file_shows_its_chinese_reason_and_stores_nothing(
        self, admin_client, item, route, name, reason
    ):
        audits = AuditEntry.objects.count()

        response = upload(admin_client, item, MIWG / name)

        assert response.status_code == 200
        page = response.content.decode()
        assert reason in page
        assert "未保存任何内容。请更正下列错误。" in page
        assert list(ReviewProcess.objects.filter(item=item)) == [route]
        route.refresh_from_db()
        assert route.is_active
        assert AuditEntry.objects.count() == audits

    def test_every_reason_is_listed_with_its_element_id(self, admin_client, item):
        path = MIWG / "C.9.0.bpmn"
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(path.read_bytes())
        issues = caught.value.issues
        # More than the error message of the service shows at once.
        assert len(issues) > ProcessRefusedError.SHOWN

        response = upload(admin_client, item, path)

        errors = response.context["form"].errors["file"]
        assert errors == [issue.message for issue in issues]
        page = response.content.decode()
        assert 'class="errorlist' in page
        for issue in issues:
            assert escaped(issue.message) in page
        assert "BusinessRuleTask_CheckApplicationAutomatically" in page
        assert not ReviewProcess.objects.filter(item=item).exists()

    def test_file_over_the_size_limit_is_refused_before_the_import(
        self, admin_client, item, tmp_path
    ):
        big = tmp_path / "big.bpmn"
        big.write_bytes(SINGLE.read_bytes() + b" " * processes.MAX_XML_BYTES)

        with mock.patch(
            "smartapproval.catalogue.admin.process_import"
        ) as process_import_:
            response = upload(admin_client, item, big)

        assert response.context["form"].errors["file"] == ["文件超过 2 MB。"]
        process_import_.assert_not_called()
        assert not ReviewProcess.objects.filter(item=item).exists()

    def test_missing_file_is_asked_for(self, admin_client, item):
        response = admin_client.post(upload_url(item), {})

        assert response.status_code == 200
        assert "file" in response.context["form"].errors
        assert not ReviewProcess.objects.filter(item=item).exists()

    def test_unknown_item_is_not_found(self, admin_client):
        response = admin_client.get(
            reverse("admin:catalogue_serviceitem_upload_route", args=[999999])
        )

        assert response.status_code == 404


@pytest.mark.django_db
class TestAccess:
    def pages(self, item, route) -> list[str]:
        return [
            reverse(CHANGELIST),
            change_url(route),
            upload_url(item),
        ]

    def test_staff_without_permissions_cannot_reach_the_pages(
        self, client, item, route
    ):
        client.force_login(staff_with())

        for url in self.pages(item, route):
            assert client.get(url).status_code == 403, url
        assert upload(client, item, SINGLE).status_code == 403
        assert ReviewProcess.objects.filter(item=item).count() == 1

    def test_users_outside_the_staff_are_sent_to_log_in(self, client, item, route):
        client.force_login(UserFactory())

        for url in self.pages(item, route):
            response = client.get(url)
            assert response.status_code == 302, url
            assert "/admin/login/" in response.url

    def test_staff_who_may_only_view_cannot_upload(self, client, item, route):
        client.force_login(
            staff_with("view_serviceitem", "view_reviewprocess"),
        )

        diagram = client.get(change_url(route))
        uploaded = upload(client, item, SINGLE)

        assert diagram.status_code == 200
        assert f'href="{upload_url(item)}"' not in diagram.content.decode()
        assert uploaded.status_code == 403
        assert ReviewProcess.objects.filter(item=item).count() == 1


def escaped(text: str) -> str:
    """Return ``text`` as the templates write it into HTML."""
    return str(escape(text))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_diagram_is_drawn_with_its_tasks_highlighted(live_server, chromium_path):
    from playwright.sync_api import expect, sync_playwright

    admin_user = AdminUserFactory(username="routeadmin")
    admin_user.set_password("x-Route-Admin-1")
    admin_user.save()
    route = process_import(
        actor=None,
        item=ServiceItemFactory(),
        xml=FEASIBILITY.read_bytes(),
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(base_url=live_server.url, locale="zh-CN")
        page.goto("/admin/login/")
        page.get_by_label("用户名").fill("routeadmin")
        page.get_by_label("密码").fill("x-Route-Admin-1")
        page.get_by_role("button", name="登录").click()
        page.goto(change_url(route))

        diagram = page.locator("#route-diagram")
        expect(diagram).to_have_attribute("data-rendered", "true")
        expect(diagram.locator(".djs-element.route-user-task")).to_have_count(
            len(route.user_tasks)
        )
        expect(diagram.locator("svg text").first).to_be_visible()
        expect(diagram.get_by_text("城市规划部门审查")).to_be_visible()
        expect(
            diagram.locator(".route-task-badge").filter(
                has_text="协办部门 · 3 个工作日"
            )
        ).to_have_count(2)
        box = diagram.bounding_box()
        assert box["width"] > 300
        assert box["height"] > 300
        browser.close()

import ast
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client

import smartapproval
from smartapproval.accounts.models import Role
from smartapproval.audit.services import audit_record
from smartapproval.audit.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ENTRIES = "/admin/audit/auditentry/"


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def entry():
    with transaction.atomic():
        return audit_record(actor=None, action="user_created", target=UserFactory())


def test_audit_list_and_detail_can_be_read(admin_client, entry):
    assert admin_client.get(ENTRIES).status_code == 200
    page = admin_client.get(f"{ENTRIES}{entry.pk}/change/")

    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_audit_entries_cannot_be_added_changed_or_deleted(admin_client, entry):
    assert admin_client.get(f"{ENTRIES}add/").status_code == 403
    assert admin_client.post(f"{ENTRIES}{entry.pk}/delete/").status_code == 403
    response = admin_client.post(f"{ENTRIES}{entry.pk}/change/", {"action": "tampered"})

    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.action == "user_created"


def test_audit_list_speaks_chinese_with_action_labels(admin_client, entry):
    with transaction.atomic():
        audit_record(actor=None, action="some_future_action", target=UserFactory())

    page = admin_client.get(ENTRIES).content.decode()

    assert "智慧审批管理后台" in page
    assert "审计记录" in page
    for label in ("操作人名称", "对象类型", "对象编号"):
        assert label in page
    assert "创建用户" in page
    # An action without a label is shown as its code.
    assert "some_future_action" in page
    for english in ("Audit entries", "Actor label", "Target type", "Target id"):
        assert english not in page


def test_audit_filter_names_actions_by_label(admin_client, entry):
    page = admin_client.get(ENTRIES).content.decode()
    filtered = admin_client.get(ENTRIES, {"action": "user_created"})

    assert "?action=user_created" in page
    assert filtered.status_code == 200
    assert list(filtered.context["cl"].result_list) == [entry]


def test_admin_index_names_the_audit_trail_in_chinese(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert "<title>站点管理 | 智慧审批管理后台</title>" in page
    assert "审计日志" in page
    assert "Audit trail" not in page


def test_every_action_the_case_services_write_has_a_label():
    from smartapproval.audit.actions import ACTION_LABELS
    from smartapproval.cases.services import AUDIT_ACTIONS

    assert set(AUDIT_ACTIONS.values()) <= set(ACTION_LABELS)


def test_every_action_written_by_name_anywhere_has_a_label():
    from smartapproval.audit.actions import ACTION_LABELS

    written = set()
    for path in Path(smartapproval.__file__).parent.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "audit_record":
                continue
            for keyword in node.keywords:
                if keyword.arg == "action" and isinstance(keyword.value, ast.Constant):
                    written.add(keyword.value.value)

    assert written
    assert written - set(ACTION_LABELS) == set()

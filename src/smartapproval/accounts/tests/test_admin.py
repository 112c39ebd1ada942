import pytest
from django.apps import apps
from django.urls import reverse

from smartapproval.accounts.models import User
from smartapproval.accounts.tests.factories import (
    AdminFactory,
    DepartmentFactory,
    UserFactory,
)
from smartapproval.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(AdminFactory())
    return client


def test_user_list_masks_phone_numbers(admin_client):
    UserFactory(phone="13812345678", name="王五")

    response = admin_client.get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page
    assert "用户" in page


def test_user_add_and_change_pages_load(admin_client):
    user = UserFactory()

    add = admin_client.get(reverse("admin:accounts_user_add"))
    change = admin_client.get(reverse("admin:accounts_user_change", args=[user.pk]))
    password = admin_client.get(
        reverse("admin:auth_user_password_change", args=[user.pk])
    )

    assert add.status_code == 200
    assert change.status_code == 200
    assert password.status_code == 200
    assert "角色" in change.content.decode()


def test_admin_can_add_a_staff_member_with_role_and_department(admin_client):
    department = DepartmentFactory()

    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "clerk7",
            "usable_password": "true",
            "password1": "a long enough passphrase 7",
            "password2": "a long enough passphrase 7",
            "name": "窗口七",
            "role": "clerk",
            "department": department.pk,
        },
    )

    assert response.status_code == 302
    clerk = User.objects.get(username="clerk7")
    assert clerk.role == "clerk"
    assert clerk.department == department
    assert clerk.check_password("a long enough passphrase 7")


def test_department_list_counts_published_and_all_items(admin_client):
    department = DepartmentFactory(name="广安区市场监督管理局")
    # By name: accounts sits left of the catalogue and may not import it.
    service_item = apps.get_model("catalogue", "ServiceItem")
    for number, status in enumerate(["published", "published", "draft"]):
        service_item.objects.create(
            implementation_code=f"TEST{number}",
            name=f"事项{number}",
            item_type="1",
            department=department,
            status=status,
        )

    response = admin_client.get(reverse("admin:accounts_department_changelist"))

    assert response.status_code == 200
    row = response.context["cl"].result_list.get(pk=department.pk)
    assert row.item_published == 2
    assert row.item_total == 3
    assert "部门" in response.content.decode()


def test_department_change_page_loads(admin_client):
    department = DepartmentFactory()

    response = admin_client.get(
        reverse("admin:accounts_department_change", args=[department.pk])
    )

    assert response.status_code == 200


def test_applicant_cannot_open_the_admin(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:accounts_user_changelist"))

    assert response.status_code == 302


def test_adding_a_staff_member_is_audited_without_the_password(admin_client):
    department = DepartmentFactory()

    admin_client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "clerk8",
            "usable_password": "true",
            "password1": "a long enough passphrase 8",
            "password2": "a long enough passphrase 8",
            "name": "窗口八",
            "role": "clerk",
            "department": department.pk,
        },
    )

    clerk = User.objects.get(username="clerk8")
    entry = AuditEntry.objects.get(action="user_created", target_id=str(clerk.pk))
    assert entry.after["role"] == "clerk"
    assert entry.after["department_id"] == department.pk
    assert "passphrase" not in str(entry.after)


def test_changing_a_role_records_before_and_after(admin_client):
    user = UserFactory()
    data = {
        "username": user.username,
        "name": user.name,
        "phone": "",
        "email": "",
        "applicant_kind": user.applicant_kind,
        "role": "reviewer",
        "department": DepartmentFactory().pk,
        "is_active": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": "2026-01-05",
        "date_joined_1": "09:00:00",
    }

    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[user.pk]), data
    )

    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="user_changed", target_id=str(user.pk))
    assert entry.before["role"] == "applicant"
    assert entry.after["role"] == "reviewer"


def test_changing_a_department_is_audited(admin_client):
    department = DepartmentFactory(name="区甲局", code="11511301008778175U")

    admin_client.post(
        reverse("admin:accounts_department_change", args=[department.pk]),
        {
            "code": department.code,
            "name": "区乙局",
            "region_code": "",
            "phone": "",
            "address": "",
            "description": "",
            "is_active": "on",
            "sort_order": 0,
        },
    )

    entry = AuditEntry.objects.get(action="department_changed")
    assert entry.before["name"] == "区甲局"
    assert entry.after["name"] == "区乙局"

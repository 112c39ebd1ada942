import pytest
from django.urls import reverse

from smartapproval.accounts.models import Role
from smartapproval.accounts.tests.factories import StaffFactory, UserFactory
from smartapproval.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_me_describes_the_signed_in_staff_member(client):
    staff = StaffFactory(role=Role.REVIEWER, phone="13812345678")
    client.force_login(staff)

    response = client.get(reverse("accounts-me"))

    assert response.status_code == 200
    data = response.json()
    assert data["username"] == staff.username
    assert data["role"] == "reviewer"
    assert data["role_display"] == "审核人员"
    assert data["department"] == {
        "id": staff.department.pk,
        "name": staff.department.name,
    }
    assert data["phone"] == "138****5678"
    assert data["is_staff_member"] is True
    assert data["is_applicant"] is False


def test_me_of_an_applicant_has_no_department(client):
    client.force_login(UserFactory())

    data = client.get(reverse("accounts-me")).json()

    assert data["department"] is None
    assert data["applicant_kind"] == "person"
    assert data["is_applicant"] is True


def test_me_asks_an_anonymous_caller_to_log_in(client):
    response = client.get(reverse("accounts-me"))

    assert response.status_code in (401, 403)
    assert response.json()["message"]


def test_token_is_issued_for_a_correct_password_and_audited(client):
    user = UserFactory(username="api-user")
    user.set_password("a long enough passphrase")
    user.save()

    first = client.post(
        reverse("auth-token"),
        {"username": "api-user", "password": "a long enough passphrase"},
    )
    second = client.post(
        reverse("auth-token"),
        {"username": "api-user", "password": "a long enough passphrase"},
    )

    assert first.status_code == 200
    assert first.json()["token"] == second.json()["token"]
    assert AuditEntry.objects.filter(action="api_token_issued").count() == 1
    me = client.get(
        reverse("accounts-me"), HTTP_AUTHORIZATION=f"Token {first.json()['token']}"
    )
    assert me.json()["username"] == "api-user"


def test_token_is_refused_in_chinese_for_a_wrong_password(client):
    UserFactory(username="api-user")

    response = client.post(
        reverse("auth-token"), {"username": "api-user", "password": "wrong"}
    )

    assert response.status_code == 400
    assert "无法使用提供的认证信息登录" in response.json()["message"]


def test_locked_out_account_gets_a_429_from_the_token_endpoint(client, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory(username="api-locked")
    user.set_password("a long enough passphrase")
    user.save()

    for _ in range(3):
        client.post(reverse("auth-token"), {"username": "api-locked", "password": "x"})
    response = client.post(
        reverse("auth-token"),
        {"username": "api-locked", "password": "a long enough passphrase"},
    )

    assert response.status_code == 429
    assert response.json()["code"] == "locked_out"
    assert "锁定" in response.json()["message"]

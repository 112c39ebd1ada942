import pytest
from django.urls import reverse

from smartapproval.accounts.models import Role
from smartapproval.accounts.tests.factories import StaffFactory, UserFactory

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

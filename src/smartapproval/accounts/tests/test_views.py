from unittest import mock

import pytest
from django.urls import reverse

from smartapproval.accounts import views
from smartapproval.accounts.models import Role
from smartapproval.accounts.tests.factories import (
    PASSWORD,
    AdminFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_login_page_renders_in_chinese_by_default(client):
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "登录" in page
    assert "智慧审批" in page
    assert "政务服务中心" in page
    assert '<meta name="viewport"' in page


def test_login_page_renders_in_english_when_chosen(client):
    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    response = client.get(reverse("accounts:login"))

    assert "Log in" in response.content.decode()


def test_login_with_right_password_lands_on_home(client):
    user = UserFactory()

    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_with_wrong_password_shows_chinese_error(client):
    user = UserFactory()

    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": "wrong"}
    )

    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_repeated_failures_lock_the_login_with_a_chinese_message(client, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    user = UserFactory()
    for _ in range(3):
        response = client.post(
            reverse("accounts:login"), {"username": user.username, "password": "x"}
        )

    assert response.status_code == 429
    page = response.content.decode()
    assert "账户已锁定" in page
    assert "30 分钟" in page


def test_locked_out_user_cannot_log_in_even_with_the_right_password(client, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 2
    user = UserFactory()
    for _ in range(2):
        client.post(
            reverse("accounts:login"), {"username": user.username, "password": "x"}
        )

    response = client.post(
        reverse("accounts:login"), {"username": user.username, "password": PASSWORD}
    )

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_logout_by_post_ends_the_session(client):
    client.force_login(UserFactory())

    response = client.post(reverse("accounts:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("hall:index")
    assert "_auth_user_id" not in client.session


def test_logout_by_get_is_refused(client):
    client.force_login(UserFactory())

    response = client.get(reverse("accounts:logout"))

    assert response.status_code == 405
    assert "_auth_user_id" in client.session


def test_home_sends_anonymous_visitor_to_login(client):
    response = client.get(reverse("accounts:home"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_home_sends_applicant_to_my_cases(client):
    client.force_login(UserFactory(role=Role.APPLICANT))

    response = client.get(reverse("accounts:home"))

    assert response["Location"] == reverse("hall:my_cases")


def test_home_sends_staff_to_workbench_when_it_exists(client):
    client.force_login(StaffFactory(role=Role.CLERK))

    with mock.patch.object(views, "reverse_or_none", return_value="/staff/inbox/"):
        response = client.get(reverse("accounts:home"))

    assert response["Location"] == "/staff/inbox/"


def test_home_sends_staff_to_admin_while_workbench_is_missing(client):
    client.force_login(StaffFactory(role=Role.MANAGER, is_staff=True))

    with mock.patch.object(views, "reverse_or_none", return_value=None):
        response = client.get(reverse("accounts:home"))

    assert response["Location"] == reverse("admin:index")


def test_home_sends_staff_without_admin_access_to_hall_while_workbench_missing(
    client,
):
    client.force_login(StaffFactory(role=Role.REVIEWER, is_staff=False))

    with mock.patch.object(views, "reverse_or_none", return_value=None):
        response = client.get(reverse("accounts:home"))

    assert response["Location"] == reverse("hall:index")


def test_home_sends_administrator_to_admin(client):
    client.force_login(AdminFactory())

    with mock.patch.object(views, "reverse_or_none", return_value=None):
        response = client.get(reverse("accounts:home"))

    assert response["Location"] == reverse("admin:index")


def test_reverse_or_none_answers_none_for_a_missing_url():
    assert views.reverse_or_none("cases:no_such_page") is None
    assert views.reverse_or_none("hall:index") == "/"


def test_nav_shows_my_cases_to_applicant_only(client):
    client.force_login(UserFactory(role=Role.APPLICANT))

    page = client.get(reverse("accounts:login"), follow=True).content.decode()

    assert "我的办件" in page
    assert "管理后台" not in page


def test_nav_shows_admin_link_to_administrator(client):
    client.force_login(AdminFactory())

    page = client.get(reverse("hall:progress")).content.decode()

    assert "管理后台" in page
    assert "我的办件" not in page
    assert "退出" in page

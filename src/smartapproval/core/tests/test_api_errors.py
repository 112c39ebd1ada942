"""Every API error answers in the JSON error shape, in Chinese."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework import exceptions, serializers
from rest_framework.test import APIClient

from smartapproval.core.api import validated

pytestmark = pytest.mark.django_db


def _user(**fields):
    return get_user_model().objects.create_user(
        username=fields.pop("username", "officer"), password="x" * 12, **fields
    )


def test_malformed_json_body_is_a_chinese_400_without_parser_internals():
    client = APIClient()

    response = client.post(
        "/api/v1/auth/token/", data='{"username": ', content_type="application/json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["message"] == "请求内容不是有效的 JSON：请检查第 1 行第 14 列。"
    assert body["code"] == "parse_error"
    assert body["errors"] == [{"field": None, "message": body["message"]}]
    assert "Expecting" not in response.content.decode()


def test_unreadable_form_body_is_a_chinese_400():
    client = APIClient()

    response = client.post(
        "/api/v1/auth/token/",
        data=b"not a multipart body",
        content_type="multipart/form-data",
    )

    assert response.status_code == 400
    assert response.json()["message"] == "无法读取请求内容。"


def test_unknown_api_path_is_a_json_404_in_chinese():
    response = Client().get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "message": "未找到该资源。",
        "field": None,
        "code": "not_found",
        "errors": [{"field": None, "message": "未找到该资源。"}],
    }


def test_unknown_page_outside_the_api_is_still_the_html_404():
    response = Client().get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "页面不存在" in response.content.decode()


@pytest.mark.urls("smartapproval.core.tests.urls_crash")
def test_crash_under_the_api_is_a_json_500_that_hides_the_cause():
    client = Client(raise_request_exception=False)

    response = client.get("/api/v1/test-crash/")

    assert response.status_code == 500
    assert response.json()["message"] == "系统出现错误，请稍后再试。"
    assert response.json()["code"] == "server_error"
    assert "secret detail" not in response.content.decode()


@pytest.mark.urls("smartapproval.core.tests.urls_crash")
def test_crash_outside_the_api_is_the_html_500_page():
    client = Client(raise_request_exception=False)

    response = client.get("/test-crash/")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert "secret detail" not in response.content.decode()


def test_anonymous_api_request_is_401_with_a_challenge():
    response = APIClient().get("/api/v1/accounts/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["message"] == "请先登录。"


def test_token_authenticates_an_api_request():
    user = _user()
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token/", {"username": "officer", "password": "x" * 12}
    ).json()["token"]

    response = client.get("/api/v1/accounts/me/", HTTP_AUTHORIZATION=f"Token {token}")

    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_session_api_post_still_needs_the_csrf_token():
    _user()
    client = Client(enforce_csrf_checks=True)
    client.login(username="officer", password="x" * 12)

    without = client.post("/api/v1/accounts/me/", {})
    client.get("/progress/")  # a form page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    with_token = client.post("/api/v1/accounts/me/", {}, HTTP_X_CSRFTOKEN=token)

    assert client.get("/api/v1/accounts/me/").status_code == 200
    assert without.status_code == 403
    assert without.json()["message"] == (
        "请求缺少安全令牌（CSRF）：请刷新页面，或使用令牌认证。"
    )
    # Past the CSRF check: the view simply has no POST.
    assert with_token.status_code == 405


def test_a_form_without_the_csrf_token_is_refused_in_chinese_without_debug_advice():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/progress/", {"number": "X", "applicant_code": "Y"})

    assert response.status_code == 403
    page = response.content.decode()
    assert "页面已过期，请刷新页面后重试。" in page
    assert "DEBUG" not in page


class _Input(serializers.Serializer):
    outcome = serializers.ChoiceField(label="审批结果", choices=["approved"])
    opinion = serializers.CharField(label="办理意见", max_length=3)
    start = serializers.DateField()


def test_validated_names_the_labelled_field_in_each_message():
    with pytest.raises(exceptions.ValidationError) as refused:
        validated(
            _Input(data={"outcome": "bogus", "opinion": "太长的意见", "start": "x"})
        )

    detail = refused.value.detail
    assert str(detail["outcome"][0]).startswith("审批结果：")
    assert "bogus" in str(detail["outcome"][0])
    assert str(detail["opinion"][0]).startswith("办理意见：")
    # No label of its own: DRF's stand-in "Start" is not put in front.
    assert not str(detail["start"][0]).startswith("Start")


def test_validated_returns_the_data_when_valid():
    data = validated(
        _Input(data={"outcome": "approved", "opinion": "同意", "start": "2024-09-02"})
    )

    assert data["opinion"] == "同意"

import pytest
from rest_framework.test import APIClient

URL = "/api/v1/codes/check"


@pytest.fixture
def client():
    return APIClient()


def test_check_answers_valid_credit_code_without_login(client):
    response = client.get(URL, {"kind": "uscc", "value": "11511301452259996u"})

    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "normalized": "11511301452259996U",
        "message": "",
        "warnings": [],
    }


def test_check_answers_invalid_code_in_chinese_with_warnings(client):
    response = client.get(URL, {"kind": "uscc", "value": "36010219970220013X"})

    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert "第2位机构类别代码“6”无效" in body["message"]
    assert body["warnings"] == ["这看起来是身份证号，不是统一社会信用代码，请核对"]


def test_check_answers_resident_id_and_project_code(client):
    person = client.get(URL, {"kind": "resident_id", "value": "36010219970220013x"})
    project = client.get(URL, {"kind": "project", "value": "20205116024401012345"})

    assert person.json()["normalized"] == "36010219970220013X"
    assert person.json()["valid"] is True
    assert project.json()["normalized"] == "2020-511602-44-01-012345"
    assert project.json()["valid"] is True


@pytest.mark.parametrize("params", [{"value": "1"}, {"kind": "passport", "value": "1"}])
def test_missing_or_unknown_kind_is_a_400_naming_the_field(client, params):
    response = client.get(URL, params)

    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "kind"
    assert body["code"] == "invalid_kind"
    assert body["message"].startswith("请选择校验类型")


def test_missing_value_is_a_400_naming_the_field(client):
    response = client.get(URL, {"kind": "uscc"})

    assert response.status_code == 400
    assert response.json()["field"] == "value"
    assert response.json()["message"] == "请提供要校验的代码。"


def test_check_answers_in_english_when_asked(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(URL, {"kind": "uscc", "value": "111111111111111115"})

    assert response.json()["message"] == (
        "The region code “111111” (characters 3–8) does not exist."
    )

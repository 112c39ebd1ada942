import pytest
from django.conf import settings
from django.urls import reverse


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["en-US,en;q=0.9", "fr", ""])
def test_pages_speak_chinese_whatever_the_browser_asks(client, accept):
    response = client.get(reverse("hall:index"), HTTP_ACCEPT_LANGUAGE=accept)

    assert response.status_code == 200
    assert response.headers["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_language_cookie_switches_to_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get(reverse("hall:index"))

    assert response.headers["Content-Language"] == "en"


@pytest.mark.django_db
def test_unknown_language_cookie_falls_back_to_chinese(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "xx"

    response = client.get(reverse("hall:index"))

    assert response.headers["Content-Language"] == "zh-hans"


def test_every_response_carries_a_request_id(client):
    response = client.get("/api/v1/calendar/deadline?start=bad&working_days=1")

    assert len(response.headers["X-Request-ID"]) == 32

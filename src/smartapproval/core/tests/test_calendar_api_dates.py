"""Calendar query dates: a wrong format and a day that never was differ."""

import pytest
from rest_framework.test import APIClient

from smartapproval.core.calendar import calendar_seed_from_package

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    calendar_seed_from_package(years=[2024, 2026])
    return APIClient()


@pytest.mark.parametrize(
    ("url", "params", "field", "message"),
    [
        (
            "/api/v1/calendar/deadline",
            {"start": "2026-02-30", "working_days": 5},
            "start",
            "2026-02-30 不是有效日期。",
        ),
        (
            "/api/v1/calendar/deadline",
            {"start": "2026-04-31", "working_days": 5},
            "start",
            "2026-04-31 不是有效日期。",
        ),
        (
            "/api/v1/calendar/days",
            {"from": "2026-02-29", "to": "2026-03-02"},
            "from",
            "2026-02-29 不是有效日期。",
        ),
        (
            "/api/v1/calendar/deadline",
            {"start": "2026/02/03", "working_days": 5},
            "start",
            "请按 YYYY-MM-DD 格式填写开始日期（start）。",
        ),
        (
            "/api/v1/calendar/deadline",
            {"start": "2026-13-01", "working_days": 5},
            "start",
            "请按 YYYY-MM-DD 格式填写开始日期（start）。",
        ),
        (
            "/api/v1/calendar/deadline",
            {"start": "tomorrow", "working_days": 5},
            "start",
            "请按 YYYY-MM-DD 格式填写开始日期（start）。",
        ),
    ],
)
def test_a_date_that_does_not_exist_is_named_as_such(api, url, params, field, message):
    response = api.get(url, params)

    assert response.status_code == 400
    assert response.json()["field"] == field
    assert response.json()["message"] == message


def test_a_leap_day_in_a_leap_year_is_a_date(api):
    response = api.get(
        "/api/v1/calendar/deadline", {"start": "2024-02-29", "working_days": 1}
    )

    assert response.status_code == 200
    assert response.json()["start"] == "2024-02-29"

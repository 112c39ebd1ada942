"""The public calendar endpoints."""

import pytest
from rest_framework.test import APIClient

from smartapproval.core.calendar import calendar_seed_from_package

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    calendar_seed_from_package(years=[2019, 2024, 2025, 2026])
    return APIClient()


def test_deadline_answers_with_the_explanation(api):
    response = api.get(
        "/api/v1/calendar/deadline", {"start": "2019-04-26", "working_days": 5}
    )

    assert response.status_code == 200
    assert response.json() == {
        "start": "2019-04-26",
        "working_days": 5,
        "deadline": "2019-05-06",
        "provisional": False,
        "provisional_years": [],
        "counted": [
            "2019-04-28",
            "2019-04-29",
            "2019-04-30",
            "2019-05-05",
            "2019-05-06",
        ],
        "skipped": [
            {"date": "2019-04-27", "reason": "周末"},
            {"date": "2019-05-01", "reason": "劳动节（法定节假日）"},
            {"date": "2019-05-02", "reason": "劳动节（法定节假日）"},
            {"date": "2019-05-03", "reason": "劳动节（法定节假日）"},
            {"date": "2019-05-04", "reason": "劳动节（法定节假日）"},
        ],
    }


def test_deadline_into_an_uncovered_year_is_provisional(api):
    response = api.get(
        "/api/v1/calendar/deadline", {"start": "2026-12-30", "working_days": 3}
    )

    body = response.json()
    assert response.status_code == 200
    assert body["deadline"] == "2027-01-05"
    assert body["provisional"] is True
    assert body["provisional_years"] == [2027]
    assert {"date": "2027-01-01", "reason": "元旦（法定节假日，暂定）"} in body[
        "skipped"
    ]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"working_days": 5}, "start", "请按 YYYY-MM-DD 格式填写开始日期（start）。"),
        (
            {"start": "2024-13-01", "working_days": 5},
            "start",
            "请按 YYYY-MM-DD 格式填写开始日期（start）。",
        ),
        (
            {"start": "20241001", "working_days": 5},
            "start",
            "请按 YYYY-MM-DD 格式填写开始日期（start）。",
        ),
        (
            {"start": "2024-10-08"},
            "working_days",
            "工作日数（working_days）应为 0 至 1000 之间的整数。",
        ),
        (
            {"start": "2024-10-08", "working_days": "five"},
            "working_days",
            "工作日数（working_days）应为 0 至 1000 之间的整数。",
        ),
        (
            {"start": "2024-10-08", "working_days": -1},
            "working_days",
            "工作日数（working_days）应为 0 至 1000 之间的整数。",
        ),
        (
            {"start": "2024-10-08", "working_days": 1001},
            "working_days",
            "工作日数（working_days）应为 0 至 1000 之间的整数。",
        ),
        (
            {"start": "1999-01-04", "working_days": 5},
            "start",
            "日历仅支持 2004 年至 2100 年，1999-01-04 超出范围。",
        ),
        (
            {"start": "2100-12-01", "working_days": 100},
            "working_days",
            "日历仅支持 2004 年至 2100 年，2101 超出范围。",
        ),
    ],
)
def test_deadline_refuses_bad_parameters_in_chinese(api, params, field, message):
    response = api.get("/api/v1/calendar/deadline", params)

    assert response.status_code == 400
    assert (response.json()["field"], response.json()["message"]) == (field, message)


def test_days_lists_each_day_with_its_kind(api):
    response = api.get(
        "/api/v1/calendar/days", {"from": "2019-04-27", "to": "2019-05-01"}
    )

    assert response.status_code == 200
    assert response.json() == [
        {
            "date": "2019-04-27",
            "weekday": 6,
            "is_workday": False,
            "kind": "weekend",
            "name": "",
            "source": "chinesecalendar",
            "provisional": False,
        },
        {
            "date": "2019-04-28",
            "weekday": 7,
            "is_workday": True,
            "kind": "adjusted_workday",
            "name": "劳动节",
            "source": "chinesecalendar",
            "provisional": False,
        },
        {
            "date": "2019-04-29",
            "weekday": 1,
            "is_workday": True,
            "kind": "workday",
            "name": "",
            "source": "chinesecalendar",
            "provisional": False,
        },
        {
            "date": "2019-04-30",
            "weekday": 2,
            "is_workday": True,
            "kind": "workday",
            "name": "",
            "source": "chinesecalendar",
            "provisional": False,
        },
        {
            "date": "2019-05-01",
            "weekday": 3,
            "is_workday": False,
            "kind": "holiday",
            "name": "劳动节",
            "source": "chinesecalendar",
            "provisional": False,
        },
    ]


def test_days_of_an_uncovered_year_say_statutory_and_provisional(api):
    response = api.get(
        "/api/v1/calendar/days", {"from": "2027-01-01", "to": "2027-01-01"}
    )

    assert response.json()[0] | {"weekday": None} == {
        "date": "2027-01-01",
        "weekday": None,
        "is_workday": False,
        "kind": "holiday",
        "name": "元旦",
        "source": "statutory",
        "provisional": True,
    }


def test_days_allows_a_whole_leap_year(api):
    response = api.get(
        "/api/v1/calendar/days", {"from": "2024-01-01", "to": "2024-12-31"}
    )

    assert response.status_code == 200
    assert len(response.json()) == 366


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"from": "2024-01-01"}, "to", "请按 YYYY-MM-DD 格式填写截止日期（to）。"),
        (
            {"from": "2024-01-32", "to": "2024-02-01"},
            "from",
            "请按 YYYY-MM-DD 格式填写起始日期（from）。",
        ),
        (
            {"from": "2024-02-01", "to": "2024-01-01"},
            "to",
            "截止日期（to）早于起始日期（from）。",
        ),
        (
            {"from": "2024-01-01", "to": "2025-01-01"},
            "to",
            "每次最多查询 366 天。",
        ),
        (
            {"from": "2003-12-31", "to": "2004-01-01"},
            "from",
            "日历仅支持 2004 年至 2100 年，2003-12-31 超出范围。",
        ),
    ],
)
def test_days_refuses_bad_ranges_in_chinese(api, params, field, message):
    response = api.get("/api/v1/calendar/days", params)

    assert response.status_code == 400
    assert (response.json()["field"], response.json()["message"]) == (field, message)


def test_schema_documents_the_calendar_parameters(api):
    response = api.get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    deadline = paths["/api/v1/calendar/deadline"]["get"]
    days = paths["/api/v1/calendar/days"]["get"]
    assert {p["name"] for p in deadline["parameters"]} == {"start", "working_days"}
    assert {p["name"] for p in days["parameters"]} == {"from", "to"}
    assert all(p["required"] for p in deadline["parameters"] + days["parameters"])

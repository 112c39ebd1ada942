"""Years without an official schedule: the statutory holidays (2024 rules)."""

import datetime

import pytest

from smartapproval.core import deadlines, statutory
from smartapproval.core.calendar import calendar_cache_clear, calendar_seed_from_package
from smartapproval.core.tests.factories import LUNAR_DATES

D = datetime.date.fromisoformat
pytestmark = pytest.mark.django_db


def fake_lunar(year: int, month: int, day: int) -> datetime.date:
    return D(LUNAR_DATES[(year, month, day)])


def no_lunar(year: int, month: int, day: int) -> datetime.date:
    raise statutory.LunarCalendarUnavailableError("not installed")


@pytest.fixture
def lunar(monkeypatch):
    """Place lunar holidays with dates checked against lunar_python."""
    monkeypatch.setattr(statutory, "lunar_to_gregorian", fake_lunar)
    calendar_cache_clear()
    yield
    calendar_cache_clear()


@pytest.fixture
def without_lunar(monkeypatch):
    monkeypatch.setattr(statutory, "lunar_to_gregorian", no_lunar)
    calendar_cache_clear()
    yield
    calendar_cache_clear()


@pytest.mark.parametrize(
    ("year", "day"),
    [
        (2024, "2024-04-04"),
        (2025, "2025-04-04"),
        (2026, "2026-04-05"),
        (2027, "2027-04-05"),
        (2028, "2028-04-04"),
        (2029, "2029-04-04"),
    ],
)
def test_qingming_is_the_day_of_the_solar_term(year, day):
    assert statutory.qingming_day(year) == D(day)


def test_2027_days_off_follow_the_2024_rules(lunar):
    holidays = statutory.statutory_year(2027).holidays

    assert holidays == {
        D("2027-01-01"): "元旦",
        # 除夕 is off from 2025: 2027-02-05 to 正月初三 2027-02-08.
        D("2027-02-05"): "春节",
        D("2027-02-06"): "春节",
        D("2027-02-07"): "春节",
        D("2027-02-08"): "春节",
        D("2027-04-05"): "清明节",
        D("2027-05-01"): "劳动节",
        D("2027-05-02"): "劳动节",
        D("2027-06-09"): "端午节",
        D("2027-09-15"): "中秋节",
        D("2027-10-01"): "国庆节",
        D("2027-10-02"): "国庆节",
        D("2027-10-03"): "国庆节",
    }


def test_mid_autumn_on_national_day_is_one_day_with_both_names(lunar):
    holidays = statutory.statutory_year(2028).holidays

    assert holidays[D("2028-10-03")] == "国庆节、中秋节"
    assert len(holidays) == 12


@pytest.mark.parametrize(
    ("day", "is_workday", "kind", "name"),
    [
        ("2027-02-05", False, "holiday", "春节"),
        ("2027-02-08", False, "holiday", "春节"),
        ("2027-02-09", True, "workday", ""),
        # No make-up weekends are known before the notice is published.
        ("2027-02-20", False, "weekend", ""),
        ("2027-06-09", False, "holiday", "端午节"),
        ("2027-12-31", True, "workday", ""),
    ],
)
def test_days_of_an_uncovered_year_are_provisional(lunar, day, is_workday, kind, name):
    info = deadlines.day_info(D(day))

    assert (info.is_workday, info.kind, info.name) == (is_workday, kind, name)
    assert (info.source, info.provisional) == ("statutory", True)


def test_a_deadline_into_2027_is_provisional_and_skips_the_spring_festival(lunar):
    calendar_seed_from_package(years=[2026])

    deadline = deadlines.add_working_days(D("2027-02-04"), 1)

    assert deadline.due == D("2027-02-09")
    assert deadline.provisional is True
    assert deadline.provisional_years == (2027,)
    assert [(day.date, day.reason) for day in deadline.skipped] == [
        (D("2027-02-05"), "春节（法定节假日，暂定）"),
        (D("2027-02-06"), "春节（法定节假日，暂定）"),
        (D("2027-02-07"), "春节（法定节假日，暂定）"),
        (D("2027-02-08"), "春节（法定节假日，暂定）"),
    ]


def test_a_deadline_inside_a_covered_year_is_not_provisional(lunar):
    calendar_seed_from_package(years=[2026])

    deadline = deadlines.add_working_days(D("2026-12-24"), 4)

    assert deadline.due == D("2026-12-30")
    assert deadline.provisional is False


def test_without_a_lunar_library_the_fixed_holidays_still_count(without_lunar):
    year = statutory.statutory_year(2027)

    assert year.lunar_holidays_known is False
    assert sorted(year.holidays) == [
        D(day)
        for day in (
            "2027-01-01",
            "2027-04-05",
            "2027-05-01",
            "2027-05-02",
            "2027-10-01",
            "2027-10-02",
            "2027-10-03",
        )
    ]
    deadline = deadlines.add_working_days(D("2027-09-30"), 1)
    assert deadline.due == D("2027-10-04")
    assert deadline.provisional is True

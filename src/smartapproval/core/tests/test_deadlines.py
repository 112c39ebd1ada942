"""Deadlines on the working-day calendar, with the cases of shared/cases."""

import datetime
from unittest import mock

import pytest

from smartapproval.core import deadlines
from smartapproval.core.calendar import (
    CalendarRangeError,
    calendar_day_update,
    calendar_import_schedule,
    calendar_seed_from_package,
    calendar_snapshot,
    calendar_year_remove,
)
from smartapproval.core.models import CalendarDay, CalendarRevision, LimitUnit
from smartapproval.core.tests.factories import CalendarAdminFactory, schedule_2026

D = datetime.date.fromisoformat
pytestmark = pytest.mark.django_db


def dates(*values: str) -> list[datetime.date]:
    return [D(value) for value in values]


def span(first: str, last: str) -> list[datetime.date]:
    days, day = [], D(first)
    while day <= D(last):
        days.append(day)
        day += datetime.timedelta(days=1)
    return days


@pytest.fixture
def seeded():
    calendar_seed_from_package(years=[2017, 2019, 2020, 2024, 2025, 2026])


@pytest.mark.parametrize(
    ("start", "days", "due", "counted", "skipped"),
    [
        # Case 1a: both make-up Sundays of the 2019 Labour Day count.
        (
            "2019-04-26",
            5,
            "2019-05-06",
            dates("2019-04-28", "2019-04-29", "2019-04-30", "2019-05-05", "2019-05-06"),
            span("2019-04-27", "2019-04-27") + span("2019-05-01", "2019-05-04"),
        ),
        # Case 1b: Saturday 2017-09-30 is a working day.
        (
            "2017-09-28",
            3,
            "2017-10-09",
            dates("2017-09-29", "2017-09-30", "2017-10-09"),
            span("2017-10-01", "2017-10-08"),
        ),
        # Case 1c: Sunday 2020-09-27 is a working day.
        (
            "2020-09-25",
            5,
            "2020-10-09",
            dates("2020-09-27", "2020-09-28", "2020-09-29", "2020-09-30", "2020-10-09"),
            span("2020-09-26", "2020-09-26") + span("2020-10-01", "2020-10-08"),
        ),
        # Case 3a: 除夕 2024 was a working day.
        (
            "2024-02-07",
            3,
            "2024-02-18",
            dates("2024-02-08", "2024-02-09", "2024-02-18"),
            span("2024-02-10", "2024-02-17"),
        ),
        # Case 3b: from 2025 除夕 is a statutory day off.
        (
            "2025-01-24",
            3,
            "2025-02-05",
            dates("2025-01-26", "2025-01-27", "2025-02-05"),
            span("2025-01-25", "2025-01-25") + span("2025-01-28", "2025-02-04"),
        ),
        # Case 16a: counted from the Beijing date, 2024-10-08.
        (
            "2024-10-08",
            5,
            "2024-10-14",
            dates("2024-10-09", "2024-10-10", "2024-10-11", "2024-10-12", "2024-10-14"),
            span("2024-10-13", "2024-10-13"),
        ),
    ],
)
def test_add_working_days_counts_the_official_schedule(
    seeded, start, days, due, counted, skipped
):
    deadline = deadlines.add_working_days(D(start), days)

    assert deadline.due == D(due)
    assert deadline.counted == counted
    assert [day.date for day in deadline.skipped] == skipped
    assert deadline.provisional is False
    assert deadline.provisional_years == ()


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2019-04-28", True),
        ("2019-05-05", True),
        ("2017-09-30", True),
        ("2020-09-27", True),
        ("2020-09-17", True),
        ("2019-05-04", False),
        ("2024-02-09", True),
        ("2025-01-28", False),
        ("2024-10-07", False),
    ],
)
def test_is_workday_follows_adjusted_weekends_and_holidays(seeded, day, expected):
    assert deadlines.is_workday(D(day)) is expected


def test_skipped_days_say_why_in_chinese(seeded):
    # Case 14: Friday before the 2024 Dragon Boat weekend.
    deadline = deadlines.add_working_days(D("2024-06-07"), 1)

    assert deadline.due == D("2024-06-11")
    assert [(day.date.isoformat(), day.reason) for day in deadline.skipped] == [
        ("2024-06-08", "周末"),
        ("2024-06-09", "周末"),
        ("2024-06-10", "端午节（法定节假日）"),
    ]


def test_labour_day_reason_names_the_holiday(seeded):
    deadline = deadlines.add_working_days(D("2019-04-26"), 5)

    assert {day.reason for day in deadline.skipped} == {"周末", "劳动节（法定节假日）"}


def test_zero_working_days_ends_on_the_start_day(seeded):
    deadline = deadlines.add_working_days(D("2024-10-08"), 0)

    assert deadline.due == D("2024-10-08")
    assert deadline.counted == []
    assert deadline.skipped == []
    assert deadline.provisional is False


def test_beijing_date_of_a_utc_evening_is_the_next_day():
    moment = datetime.datetime(2024, 10, 7, 23, 0, tzinfo=datetime.UTC)

    assert deadlines.beijing_date(moment) == D("2024-10-08")


def test_beijing_date_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="aware"):
        deadlines.beijing_date(datetime.datetime(2024, 10, 7, 23, 0))


def test_beijing_today_is_the_beijing_date_of_now():
    # Case 16a: 07:00 in Beijing is still the previous day in UTC.
    now = datetime.datetime(2024, 10, 7, 23, 0, tzinfo=datetime.UTC)
    with mock.patch("django.utils.timezone.now", return_value=now):
        assert deadlines.beijing_today() == D("2024-10-08")


def test_online_submission_counts_from_its_beijing_date(seeded):
    submitted = datetime.datetime(2024, 10, 7, 23, 0, tzinfo=datetime.UTC)

    deadline = deadlines.add_working_days(deadlines.beijing_date(submitted), 5)

    assert deadline.due == D("2024-10-14")


@pytest.mark.parametrize(
    ("start", "value", "unit", "due", "skipped"),
    [
        # Natural days ending on a holiday roll to the next working day.
        (
            "2024-09-27",
            4,
            LimitUnit.NATURAL_DAYS,
            "2024-10-08",
            span("2024-10-01", "2024-10-07"),
        ),
        (
            "2024-06-03",
            5,
            LimitUnit.NATURAL_DAYS,
            "2024-06-11",
            span("2024-06-08", "2024-06-10"),
        ),
        # Ending on an adjusted working Sunday: no roll.
        ("2019-04-26", 2, LimitUnit.NATURAL_DAYS, "2019-04-28", []),
        ("2024-03-04", 3, LimitUnit.NATURAL_DAYS, "2024-03-07", []),
        ("2024-01-10", 0, LimitUnit.NATURAL_DAYS, "2024-01-10", []),
        # Months keep the day of the month, clamped at the month's end.
        ("2024-01-31", 1, LimitUnit.MONTHS, "2024-02-29", []),
        ("2019-01-31", 1, LimitUnit.MONTHS, "2019-02-28", []),
        ("2024-08-31", 1, LimitUnit.MONTHS, "2024-09-30", []),
        (
            "2024-09-01",
            1,
            LimitUnit.MONTHS,
            "2024-10-08",
            span("2024-10-01", "2024-10-07"),
        ),
        ("2024-03-31", 12, LimitUnit.MONTHS, "2025-03-31", []),
        # Two months from 30 November end in the 2025 Spring Festival.
        (
            "2024-11-30",
            2,
            LimitUnit.MONTHS,
            "2025-02-05",
            span("2025-01-30", "2025-02-04"),
        ),
        # Sunday 2024-09-29 is a make-up working day.
        (
            "2024-09-27",
            4,
            LimitUnit.WORKING_DAYS,
            "2024-10-09",
            span("2024-09-28", "2024-09-28") + span("2024-10-01", "2024-10-07"),
        ),
    ],
)
def test_compute_due_in_each_unit(seeded, start, value, unit, due, skipped):
    deadline = deadlines.compute_due(D(start), value, unit)

    assert deadline.due == D(due)
    assert [day.date for day in deadline.skipped] == skipped
    assert deadline.provisional is False


def test_natural_days_count_every_day_and_end_on_the_rolled_day(seeded):
    deadline = deadlines.compute_due(D("2024-09-27"), 4, "natural_days")

    assert deadline.counted == dates(
        "2024-09-28", "2024-09-29", "2024-09-30", "2024-10-08"
    )
    assert deadline.skipped[0].reason == "国庆节（法定节假日）"


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2019-04-26", "2019-05-06", 6),
        ("2019-05-01", "2019-05-04", 0),
        ("2025-12-29", "2026-01-05", 5),
        ("2024-10-08", "2024-10-08", 1),
        ("2024-10-09", "2024-10-08", 0),
        ("2024-01-01", "2024-12-31", 251),
    ],
)
def test_working_days_between_includes_both_ends(seeded, first, last, expected):
    assert deadlines.working_days_between(D(first), D(last)) == expected


def test_day_info_says_where_a_day_comes_from(seeded):
    info = deadlines.day_info(D("2019-05-05"))

    assert info.is_workday is True
    assert info.kind == "adjusted_workday"
    assert info.name == "劳动节"
    assert info.source == "chinesecalendar"
    assert info.provisional is False


@pytest.mark.parametrize(
    ("start", "days"), [("2003-12-30", 1), ("2100-12-30", 5), ("2101-01-01", 0)]
)
def test_dates_outside_the_supported_years_are_refused(start, days):
    with pytest.raises(CalendarRangeError) as error:
        deadlines.add_working_days(D(start), days)

    assert "2004" in error.value.message and "2100" in error.value.message


def test_negative_limits_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        deadlines.add_working_days(D("2024-10-08"), -1)


class TestCase4NextYearNotLoaded:
    """Case 4: 2025-12-24 + 20 working days across an unloaded year."""

    start = D("2025-12-24")

    def test_with_the_2026_schedule_the_deadline_is_22_january(self, seeded):
        deadline = deadlines.add_working_days(self.start, 20)

        assert deadline.due == D("2026-01-22")
        assert deadline.provisional is False
        assert D("2026-01-04") in deadline.counted
        assert [day.date for day in deadline.skipped if day.date.year == 2026][
            :3
        ] == span("2026-01-01", "2026-01-03")

    def test_without_2026_it_is_provisional_and_never_the_weekday_answer(self, seeded):
        admin = CalendarAdminFactory()
        calendar_year_remove(actor=admin, year=2026)

        deadline = deadlines.add_working_days(self.start, 20)

        assert deadline.due != D("2026-01-21")
        assert deadline.provisional is True
        assert deadline.provisional_years == (2026,)
        # 元旦 is a day off by statute; the 2026 make-up Sunday is unknown.
        assert D("2026-01-01") not in deadline.counted
        assert D("2026-01-04") not in deadline.counted
        reasons = {day.date: day.reason for day in deadline.skipped}
        assert reasons[D("2026-01-01")] == "元旦（法定节假日，暂定）"
        assert reasons[D("2026-01-04")] == "周末"

    def test_importing_2026_fixes_it_without_restart_and_calls_the_hook(
        self, seeded, settings, django_capture_on_commit_callbacks
    ):
        settings.SMARTAPPROVAL_CALENDAR_CHANGED_HOOKS = [f"{__name__}.record_hook"]
        admin = CalendarAdminFactory()
        calendar_year_remove(actor=admin, year=2026)
        assert deadlines.add_working_days(self.start, 20).provisional is True
        HOOK_CALLS.clear()

        with django_capture_on_commit_callbacks(execute=True):
            calendar_import_schedule(actor=admin, data=schedule_2026())
        deadline = deadlines.add_working_days(self.start, 20)

        assert deadline.due == D("2026-01-22")
        assert deadline.provisional is False
        assert D("2026-01-04") in deadline.counted
        assert HOOK_CALLS == [[2026]]


HOOK_CALLS: list[list[int]] = []


def record_hook(*, years: list[int]) -> None:
    HOOK_CALLS.append(years)


def test_a_change_committed_elsewhere_is_seen_on_the_next_call(seeded):
    assert deadlines.is_workday(D("2024-10-08")) is True

    # What another process does: change a day and the revision token.
    CalendarDay.objects.filter(pk=D("2024-10-08")).update(
        kind="holiday", is_workday=False, holiday_name="测试"
    )
    CalendarRevision.objects.filter(pk=1).update(token="another-process")

    assert deadlines.is_workday(D("2024-10-08")) is False


def test_an_admin_edit_takes_effect_at_once(seeded):
    assert deadlines.add_working_days(D("2024-10-08"), 1).due == D("2024-10-09")

    calendar_day_update(
        actor=CalendarAdminFactory(),
        day=D("2024-10-09"),
        kind="holiday",
        holiday_name="临时放假",
    )

    assert deadlines.add_working_days(D("2024-10-08"), 1).due == D("2024-10-10")


def test_each_call_checks_the_revision_with_one_query(
    seeded, django_assert_num_queries
):
    deadlines.add_working_days(D("2024-10-08"), 20)

    with django_assert_num_queries(1):
        deadlines.add_working_days(D("2024-10-08"), 20)


def test_a_snapshot_block_reads_the_calendar_once(seeded, django_assert_num_queries):
    deadlines.add_working_days(D("2024-10-08"), 20)

    with django_assert_num_queries(1), calendar_snapshot():
        for day in range(1, 29):
            deadlines.add_working_days(D(f"2024-02-{day:02d}"), 20)
            deadlines.working_days_between(D("2024-01-01"), D(f"2024-02-{day:02d}"))


def test_as_dict_explains_the_deadline(seeded):
    data = deadlines.add_working_days(D("2017-09-28"), 3).as_dict()

    assert data["due"] == "2017-10-09"
    assert data["counted"] == ["2017-09-29", "2017-09-30", "2017-10-09"]
    assert data["skipped"][0] == {
        "date": "2017-10-01",
        "reason": "国庆节（法定节假日）",
    }
    assert data["provisional"] is False

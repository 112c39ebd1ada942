"""Time limits on Beijing dates: working days, natural days and months.

Rules this module applies, in the terms of DESIGN §3:

- "N working days from D" is the Nth working day after D; D itself is not
  counted (Civil Code art. 201). Statutory holidays are skipped, adjusted
  working weekends (调休上班) are counted.
- 0 of any unit is 即办件: the limit ends on the start day itself.
- N natural days end on D + N. N months end on the same day of the month N
  months later, or on the month's last day when it is shorter (31 January +
  1 month = 28 or 29 February). If that end day is a weekend or a holiday,
  the limit ends on the next working day instead (Civil Code art. 203).
- A deadline is provisional when a day it depends on lies in a year whose
  official schedule the calendar does not hold (see ``core.calendar``); it is
  computed again when the schedule is loaded.

Every function reads the calendar as it is now (one small query to check
its revision). Wrap batch work in ``calendar.calendar_snapshot()`` to check
once for the whole batch.
"""

import calendar as gregorian
import datetime
import zoneinfo
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from django.utils import timezone
from django.utils.translation import get_language

from smartapproval.core.calendar import (
    CalendarSnapshot,
    DayInfo,
    current_calendar,
)
from smartapproval.core.models import LimitUnit

BEIJING = zoneinfo.ZoneInfo("Asia/Shanghai")
ONE_DAY = datetime.timedelta(days=1)


def beijing_today() -> datetime.date:
    """Return today's date in Beijing, whatever zone the request uses."""
    return timezone.now().astimezone(BEIJING).date()


def beijing_date(moment: datetime.datetime) -> datetime.date:
    """Return the Beijing date of an aware moment; a naive one is refused."""
    if timezone.is_naive(moment):
        raise ValueError("beijing_date needs an aware datetime")
    return moment.astimezone(BEIJING).date()


class SkippedDay(NamedTuple):
    """A day a deadline passed over without counting it, and why."""

    date: datetime.date
    reason: str


@dataclass(frozen=True)
class Deadline:
    """When a time limit ends, and which days moved it there.

    ``counted`` lists the days that count towards the limit and ``skipped``
    the days passed over, each with its reason; both are worked out when
    first read, so computing many deadlines stays cheap.
    """

    start: datetime.date
    due: datetime.date
    unit: str
    value: int
    provisional: bool
    provisional_years: tuple[int, ...]
    calendar: CalendarSnapshot = field(repr=False, compare=False)

    @cached_property
    def counted(self) -> list[datetime.date]:
        return self._explanation[0]

    @cached_property
    def skipped(self) -> list[SkippedDay]:
        return self._explanation[1]

    @cached_property
    def _explanation(self) -> tuple[list[datetime.date], list[SkippedDay]]:
        counted: list[datetime.date] = []
        skipped: list[SkippedDay] = []
        if self.value == 0:
            return counted, skipped

        first = self.start + ONE_DAY
        language = get_language()
        if self.unit == LimitUnit.WORKING_DAYS:
            for info in self.calendar.days_between(first, self.due):
                if info.is_workday:
                    counted.append(info.date)
                else:
                    skipped.append(SkippedDay(info.date, info.reason_in(language)))
            return counted, skipped

        # Natural days and months count every day up to the end day; days
        # off at the end move the last day to the next working day (art. 203).
        end = _natural_end(self.start, self.value, self.unit)
        counted = [first + ONE_DAY * offset for offset in range((end - first).days)]
        for info in self.calendar.days_between(end, self.due - ONE_DAY):
            skipped.append(SkippedDay(info.date, info.reason_in(language)))
        counted.append(self.due)
        return counted, skipped

    def as_dict(self) -> dict:
        """Return the deadline and its explanation as JSON-ready values."""
        return {
            "start": self.start.isoformat(),
            "due": self.due.isoformat(),
            "unit": self.unit,
            "value": self.value,
            "provisional": self.provisional,
            "provisional_years": list(self.provisional_years),
            "counted": [day.isoformat() for day in self.counted],
            "skipped": [
                {"date": day.date.isoformat(), "reason": day.reason}
                for day in self.skipped
            ],
        }


def is_workday(day: datetime.date) -> bool:
    """Say whether offices work on ``day`` (adjusted weekends included)."""
    return current_calendar().day_info(day).is_workday


def day_info(day: datetime.date) -> DayInfo:
    """Return what ``day`` is in the calendar and where that comes from."""
    return current_calendar().day_info(day)


def _nth_working_day_after(
    snapshot: CalendarSnapshot, start: datetime.date, days: int
) -> datetime.date:
    table = snapshot.year(start.year)
    target = table.workdays_through[table.index(start)] + days
    while target > table.workdays_through[-1]:
        target -= table.workdays_through[-1]
        table = snapshot.year(table.year + 1)
    position = bisect_left(table.workdays_through, target)
    return datetime.date.fromordinal(table.first_ordinal + position)


def _provisional_years(
    snapshot: CalendarSnapshot, first: datetime.date, last: datetime.date
) -> tuple[int, ...]:
    if last < first:
        return ()
    return tuple(
        year
        for year in range(first.year, last.year + 1)
        if snapshot.year(year).provisional
    )


def _check_value(value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a time limit is a whole number >= 0, not {value!r}")


def add_working_days(start: datetime.date, days: int) -> Deadline:
    """Return the Nth working day after ``start`` (0: ``start`` itself)."""
    _check_value(days)
    snapshot = current_calendar()
    snapshot.year(start.year)

    due = start if days == 0 else _nth_working_day_after(snapshot, start, days)
    years = _provisional_years(snapshot, start + ONE_DAY, due)

    return Deadline(
        start=start,
        due=due,
        unit=LimitUnit.WORKING_DAYS,
        value=days,
        provisional=bool(years),
        provisional_years=years,
        calendar=snapshot,
    )


def _add_months(start: datetime.date, months: int) -> datetime.date:
    year, month_index = divmod(start.month - 1 + months, 12)
    year += start.year
    month = month_index + 1
    last_day = gregorian.monthrange(year, month)[1]
    return datetime.date(year, month, min(start.day, last_day))


def _natural_end(start: datetime.date, value: int, unit: str) -> datetime.date:
    if unit == LimitUnit.MONTHS:
        return _add_months(start, value)
    return start + datetime.timedelta(days=value)


def compute_due(start: datetime.date, value: int, unit: LimitUnit | str) -> Deadline:
    """Return when a limit of ``value`` ``unit`` from ``start`` ends."""
    unit = LimitUnit(unit)
    if unit == LimitUnit.WORKING_DAYS:
        return add_working_days(start, value)
    _check_value(value)
    snapshot = current_calendar()
    snapshot.year(start.year)

    if value == 0:
        end = due = start
    else:
        end = due = _natural_end(start, value, unit)
        # The end day is a day off: the limit ends on the next working day
        # (Civil Code art. 203).
        while not snapshot.day_info(due).is_workday:
            due += ONE_DAY

    years = _provisional_years(snapshot, end, due) if value else ()
    return Deadline(
        start=start,
        due=due,
        unit=unit,
        value=value,
        provisional=bool(years),
        provisional_years=years,
        calendar=snapshot,
    )


def working_days_between(first: datetime.date, last: datetime.date) -> int:
    """Count the working days from ``first`` to ``last``, both included.

    Returns 0 when ``last`` is before ``first``.
    """
    if last < first:
        return 0
    snapshot = current_calendar()

    count = 0
    for year in range(first.year, last.year + 1):
        table = snapshot.year(year)
        through = table.workdays_through
        low = table.index(first) if year == first.year else 0
        high = table.index(last) if year == last.year else len(through) - 1
        count += through[high] - (through[low - 1] if low else 0)

    return count

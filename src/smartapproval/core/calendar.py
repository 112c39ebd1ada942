"""The working-day calendar: loading it, changing it and reading it.

The calendar keeps one row per day of every covered year (``CalendarDay``)
and one row per covered year (``CalendarYear``). Rows come from three
sources: the ``chinesecalendar`` package (``calendar_seed_from_package``, run
at every start), a year's official schedule imported from a file
(``calendar_import_schedule``) and an administrator's edit of one day
(``calendar_day_update``). Seeding never overwrites an imported or edited row.
A year without a ``CalendarYear`` row is computed from the statutory holidays
and weekends (``core.statutory``) and every day in it is provisional.

Every change writes an audit row, gives the calendar a new revision token
and, once committed, calls the dotted paths in
``settings.SMARTAPPROVAL_CALENDAR_CHANGED_HOOKS`` with ``years=[...]`` so open
deadlines in those years are computed again. Each process keeps the calendar
it has read in memory under the token and reads it again when the token in
the database differs: a change takes effect everywhere without a restart.

Schedule file format
--------------------

A year's official schedule, as the State Council's yearly notice gives it, is
a UTF-8 JSON object (``core/schedules/2026.json`` is a complete example)::

    {
      "year": 2026,
      "note": "国务院办公厅关于2026年部分节假日安排的通知",
      "holidays": [
        {"name": "元旦", "from": "2026-01-01", "to": "2026-01-03"},
        {"name": "春节", "from": "2026-02-15", "to": "2026-02-23"}
      ],
      "adjusted_workdays": [
        {"date": "2026-01-04", "for": "元旦"},
        {"date": "2026-02-14", "for": "春节"}
      ]
    }

- ``year`` (required): the calendar year the file describes, 2004 to 2100.
- ``holidays`` (required, not empty): each block of days off with its name.
  ``from`` and ``to`` are inclusive dates written YYYY-MM-DD, both inside the
  year. Weekend days inside a block belong to it. Blocks may not overlap;
  where one festival's day sits inside another's block (中秋节 inside 国庆节
  in 2025), write three blocks.
- ``adjusted_workdays`` (optional): Saturdays and Sundays turned into working
  days (调休上班), each with the name of the holiday it makes up for.
- ``note`` (optional, at most 200 characters): the notice's title or number.

Every other day is a working day from Monday to Friday and a weekend day on
Saturday and Sunday. The table is kept per calendar year: where a block
crosses the turn of the year (元旦 2019 was 2018-12-30 to 2019-01-01), its
days in the earlier year go into that year's file. Importing rewrites all
days of the year with source ``official`` in one transaction; any error
rejects the whole file and its message names the wrong entry.
"""

import datetime
import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chinese_calendar
import structlog
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.module_loading import import_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from smartapproval.core.api import ServiceError
from smartapproval.core.models import (
    CalendarDay,
    CalendarRevision,
    CalendarSource,
    CalendarYear,
    DayKind,
)
from smartapproval.core.recording import audit_record_via_settings
from smartapproval.core.statutory import statutory_year

log = structlog.get_logger(__name__)

# chinesecalendar's data begins in 2004; the solar terms and the lunar
# calendar used for provisional years are computed up to 2100.
FIRST_YEAR = 2004
LAST_YEAR = 2100
# ``source`` of a day computed from the statutory rules (never stored).
STATUTORY_SOURCE = "statutory"
SCHEDULE_DIR = Path(__file__).resolve().parent / "schedules"
PACKAGE_MARKER = f"chinesecalendar {chinese_calendar.__version__}"
PACKAGE_HOLIDAY_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
WORKING_KINDS = frozenset({DayKind.WORKDAY, DayKind.ADJUSTED_WORKDAY})
HOLIDAY_NAME_MAX = 40
NOTE_MAX = 200
_SCHEDULE_KEYS = {"year", "note", "holidays", "adjusted_workdays"}


class CalendarRangeError(ServiceError):
    """A date falls outside the years the calendar can answer for."""

    def __init__(self, value: object, *, field: str | None = None) -> None:
        super().__init__(
            _(
                "The calendar covers the years %(first)s to %(last)s; "
                "%(value)s is outside them."
            )
            % {"first": FIRST_YEAR, "last": LAST_YEAR, "value": value},
            field=field,
            code="calendar_out_of_range",
        )


@dataclass(frozen=True, slots=True)
class DayInfo:
    """What one day is in the calendar, and where that comes from."""

    date: datetime.date
    is_workday: bool
    kind: str
    name: str
    source: str
    provisional: bool

    @property
    def reason(self) -> str:
        """Say why the day is not counted as a working day ('' if it is)."""
        return self.reason_in(get_language())

    def reason_in(self, language: str | None) -> str:
        """Return ``reason`` in ``language``, the active one already looked up."""
        if self.is_workday:
            return ""
        # Explaining 100,000 deadlines reads millions of reasons: translate
        # each distinct one once per language.
        key = (language, self.kind, self.name, self.provisional)
        text = _REASONS.get(key)
        if text is None:
            if self.kind != DayKind.HOLIDAY:
                text = _("Weekend")
            elif self.provisional:
                text = _("%(name)s (statutory holiday, provisional)") % {
                    "name": self.name
                }
            else:
                text = _("%(name)s (statutory holiday)") % {"name": self.name}
            _REASONS[key] = text
        return text


_REASONS: dict[tuple[str | None, str, str, bool], str] = {}


@dataclass(frozen=True, slots=True)
class YearTable:
    """One year of the calendar, ready for counting.

    ``workdays_through[i]`` is the number of working days from 1 January
    through the i-th day, so counting and finding the Nth working day are a
    subtraction and a binary search instead of a walk over the days.
    """

    year: int
    first_ordinal: int
    days: tuple[DayInfo, ...]
    workdays_through: tuple[int, ...]
    provisional: bool

    @classmethod
    def build(cls, year: int, days: list[DayInfo]) -> "YearTable":
        through = []
        count = 0
        for info in days:
            count += info.is_workday
            through.append(count)

        return cls(
            year=year,
            first_ordinal=datetime.date(year, 1, 1).toordinal(),
            days=tuple(days),
            workdays_through=tuple(through),
            provisional=any(info.provisional for info in days),
        )

    def index(self, day: datetime.date) -> int:
        return day.toordinal() - self.first_ordinal


class CalendarSnapshot:
    """The calendar as read at one revision; each year loads on first use."""

    def __init__(self, *, token: str, covered: frozenset[int]) -> None:
        self.token = token
        self.covered = covered
        self._years: dict[int, YearTable] = {}

    def year(self, year: int) -> YearTable:
        """Return the table of ``year``, loading or computing it once."""
        table = self._years.get(year)
        if table is None:
            if not FIRST_YEAR <= year <= LAST_YEAR:
                raise CalendarRangeError(year)
            if year in self.covered:
                table = _load_covered_year(year)
            else:
                table = _statutory_table(year)
            self._years[year] = table
        return table

    def day_info(self, day: datetime.date) -> DayInfo:
        table = self.year(day.year)
        return table.days[table.index(day)]

    def days_between(self, first: datetime.date, last: datetime.date) -> list[DayInfo]:
        """Return the days from ``first`` to ``last``, both included."""
        days: list[DayInfo] = []
        for year in range(first.year, last.year + 1):
            table = self.year(year)
            low = table.index(first) if year == first.year else 0
            high = table.index(last) if year == last.year else len(table.days) - 1
            days.extend(table.days[low : high + 1])
        return days


def _days_of(year: int) -> Iterator[datetime.date]:
    day = datetime.date(year, 1, 1)
    while day.year == year:
        yield day
        day += datetime.timedelta(days=1)


def _plain_kind(day: datetime.date) -> str:
    return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WORKDAY


def _load_covered_year(year: int) -> YearTable:
    rows = {
        row[0]: row
        for row in CalendarDay.objects.filter(
            date__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
        ).values_list("date", "kind", "is_workday", "holiday_name", "source")
    }
    days = []
    for day in _days_of(year):
        row = rows.get(day)
        if row is None:
            # A covered year with a hole: count the day by its weekday, but
            # say the result is not certain.
            kind = _plain_kind(day)
            days.append(
                DayInfo(day, kind == DayKind.WORKDAY, kind, "", STATUTORY_SOURCE, True)
            )
        else:
            days.append(DayInfo(day, row[2], row[1], row[3], row[4], False))
    if len(rows) != len(days):
        log.warning("calendar_year_incomplete", year=year, days=len(rows))

    return YearTable.build(year, days)


def _statutory_table(year: int) -> YearTable:
    table = _STATUTORY_TABLES.get(year)
    if table is None:
        holidays = statutory_year(year).holidays
        days = []
        for day in _days_of(year):
            if day in holidays:
                info = DayInfo(
                    day, False, DayKind.HOLIDAY, holidays[day], STATUTORY_SOURCE, True
                )
            else:
                kind = _plain_kind(day)
                info = DayInfo(
                    day, kind == DayKind.WORKDAY, kind, "", STATUTORY_SOURCE, True
                )
            days.append(info)
        table = YearTable.build(year, days)
        _STATUTORY_TABLES[year] = table
    return table


# Computed years depend on the rules only, never on the database.
_STATUTORY_TABLES: dict[int, YearTable] = {}
_cached: CalendarSnapshot | None = None
_pinned: ContextVar[CalendarSnapshot | None] = ContextVar(
    "calendar_pinned", default=None
)
_cache_lock = threading.Lock()


def _read_token() -> str:
    # Plain SQL: this runs on every call, and the ORM's overhead was most of
    # its cost.
    with connection.cursor() as cursor:
        cursor.execute("SELECT token FROM core_calendarrevision WHERE id = %s", [1])
        row = cursor.fetchone()
    return row[0] if row else ""


def current_calendar() -> CalendarSnapshot:
    """Return the calendar as it is now, read again only after a change.

    Costs one small query (the revision token) unless a ``calendar_snapshot``
    block is open, which pins one reading for everything inside it.
    """
    global _cached

    pinned = _pinned.get()
    if pinned is not None:
        return pinned

    # The token is read before the data: if a change commits in between, the
    # snapshot holds newer data under the older token and is replaced on the
    # next call, never the other way round.
    token = _read_token()
    cached = _cached
    if cached is not None and cached.token == token:
        return cached

    with _cache_lock:
        covered = frozenset(CalendarYear.objects.values_list("year", flat=True))
        snapshot = CalendarSnapshot(token=token, covered=covered)
        _cached = snapshot

    log.debug("calendar_reloaded", token=token, years=len(covered))
    return snapshot


@contextmanager
def calendar_snapshot() -> Iterator[CalendarSnapshot]:
    """Use one reading of the calendar for every call inside the block.

    For batch work (recomputing many deadlines) and requests: the revision
    is checked once on entry instead of once per call.
    """
    snapshot = current_calendar()
    reset = _pinned.set(snapshot)
    try:
        yield snapshot
    finally:
        _pinned.reset(reset)


def calendar_cache_clear() -> None:
    """Forget this process's reading of the calendar and computed years."""
    global _cached
    _cached = None
    _STATUTORY_TABLES.clear()
    statutory_year.cache_clear()


def calendar_days_between(first: datetime.date, last: datetime.date) -> list[DayInfo]:
    """List every day from ``first`` to ``last`` (both included)."""
    if last < first:
        return []
    return current_calendar().days_between(first, last)


# Writing the calendar.


def _lock_calendar() -> CalendarRevision:
    """Lock the revision row: calendar writers run one at a time."""
    CalendarRevision.objects.bulk_create(
        [CalendarRevision(pk=1, token="")], ignore_conflicts=True
    )
    return CalendarRevision.objects.select_for_update().get(pk=1)


def _calendar_changed(revision: CalendarRevision, years: Iterable[int]) -> None:
    """Give the calendar a new token and call the hooks once committed."""
    changed = sorted(set(years))
    revision.token = uuid.uuid4().hex
    revision.save(update_fields=["token", "changed_at"])

    transaction.on_commit(lambda: calendar_hooks_run(years=changed))


def calendar_hooks_run(*, years: list[int]) -> None:
    """Call every calendar-changed hook; a missing or failing one is logged."""
    for path in getattr(settings, "SMARTAPPROVAL_CALENDAR_CHANGED_HOOKS", []):
        try:
            hook = import_string(path)
        except ImportError:
            log.warning("calendar_hook_missing", hook=path)
            continue
        try:
            hook(years=years)
        except Exception:
            # The change is committed: a failing hook must not turn it into an
            # error page. The operator sees this and runs the recompute.
            log.exception("calendar_hook_failed", hook=path, years=years)
        else:
            log.info("calendar_hook_called", hook=path, years=years)


def _audit(
    *,
    actor: Any,
    action: str,
    target: CalendarDay | CalendarYear,
    before: dict | None = None,
    after: dict | None = None,
) -> None:
    audit_record_via_settings(
        actor=actor,
        action=action,
        target=target,
        before=before,
        after=after,
        actor_label="" if actor is not None else "calendar",
    )


def _year_summary(year: int) -> dict:
    """Describe a stored year for the audit trail: its non-ordinary days."""
    row = CalendarYear.objects.filter(year=year).first()
    special = CalendarDay.objects.filter(
        date__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31)),
        kind__in=[DayKind.HOLIDAY, DayKind.ADJUSTED_WORKDAY],
    ).values_list("date", "kind", "holiday_name")

    return {
        "source": row.source if row else None,
        "note": row.note if row else "",
        "holidays": {
            day.isoformat(): name for day, kind, name in special if kind == "holiday"
        },
        "adjusted_workdays": {
            day.isoformat(): name
            for day, kind, name in special
            if kind == DayKind.ADJUSTED_WORKDAY
        },
    }


def package_years() -> range:
    """Return the years the installed chinesecalendar package covers."""
    years = [day.year for day in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def _package_name(english: str) -> str:
    name = PACKAGE_HOLIDAY_NAMES.get(english)
    if name is None:
        log.warning("calendar_package_holiday_unmapped", holiday=english)
        name = chinese_calendar.Holiday(english).chinese
    return name


def _package_day(day: datetime.date) -> tuple[str, bool, str]:
    if day in chinese_calendar.workdays:
        return (
            DayKind.ADJUSTED_WORKDAY,
            True,
            _package_name(chinese_calendar.workdays[day]),
        )
    if day in chinese_calendar.holidays:
        return DayKind.HOLIDAY, False, _package_name(chinese_calendar.holidays[day])
    kind = _plain_kind(day)
    return kind, kind == DayKind.WORKDAY, ""


def schedule_from_package(year: int) -> dict:
    """Write the package's data for ``year`` in the schedule file format."""
    holidays: list[dict] = []
    adjusted: list[dict] = []
    for day in _days_of(year):
        kind, _is_workday, name = _package_day(day)
        if kind == DayKind.ADJUSTED_WORKDAY:
            adjusted.append({"date": day.isoformat(), "for": name})
        elif kind == DayKind.HOLIDAY:
            last = holidays[-1] if holidays else None
            previous = (day - datetime.timedelta(days=1)).isoformat()
            if last and last["name"] == name and last["to"] == previous:
                last["to"] = day.isoformat()
            else:
                holidays.append(
                    {"name": name, "from": day.isoformat(), "to": day.isoformat()}
                )

    return {"year": year, "holidays": holidays, "adjusted_workdays": adjusted}


def calendar_seed_from_package(*, years: Iterable[int] | None = None) -> list[int]:
    """Load years from the chinesecalendar package; return the years changed.

    Idempotent and cheap to run at every start: when every year is already
    loaded from this package version it costs one query and no transaction.
    A year from an official schedule is skipped and days edited by an
    administrator are kept. The changes are one transaction.
    """
    available = package_years()
    wanted = sorted(set(years)) if years is not None else list(available)
    for year in wanted:
        if year not in available:
            raise ServiceError(
                _(
                    "The chinesecalendar package has no data for %(year)s; "
                    "it covers %(first)s to %(last)s."
                )
                % {"year": year, "first": available[0], "last": available[-1]},
                field="years",
            )

    done = _years_not_to_seed(wanted)
    todo = [year for year in wanted if year not in done]
    if not todo:
        return []

    with transaction.atomic():
        revision = _lock_calendar()
        # Read again under the lock: another process may have seeded meanwhile.
        done = _years_not_to_seed(todo)
        todo = [year for year in todo if year not in done]
        changed = [year for year in todo if _seed_year(year)]
        if changed:
            _calendar_changed(revision, changed)

    log.info("calendar_seeded", years=changed, checked=len(todo))
    return changed


def _years_not_to_seed(years: list[int]) -> set[int]:
    """Years loaded from this package version, or from an official source."""
    rows = CalendarYear.objects.filter(year__in=years).values_list(
        "year", "source", "note"
    )
    return {
        year
        for year, source, note in rows
        if source != CalendarSource.CHINESECALENDAR or note == PACKAGE_MARKER
    }


def _seed_year(year: int) -> bool:
    now = timezone.now()
    current = {
        row.date: row
        for row in CalendarDay.objects.select_for_update().filter(
            date__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
        )
    }
    created, updated = [], []
    for day in _days_of(year):
        kind, is_workday, name = _package_day(day)
        row = current.get(day)
        if row is None:
            created.append(
                CalendarDay(
                    date=day,
                    kind=kind,
                    is_workday=is_workday,
                    holiday_name=name,
                    source=CalendarSource.CHINESECALENDAR,
                    updated_at=now,
                )
            )
        elif row.source == CalendarSource.CHINESECALENDAR and (
            row.kind,
            row.is_workday,
            row.holiday_name,
        ) != (kind, is_workday, name):
            row.kind, row.is_workday, row.holiday_name = kind, is_workday, name
            row.updated_at = now
            updated.append(row)

    CalendarDay.objects.bulk_create(created)
    CalendarDay.objects.bulk_update(
        updated, ["kind", "is_workday", "holiday_name", "updated_at"]
    )
    year_row, year_created = CalendarYear.objects.update_or_create(
        year=year,
        defaults={"source": CalendarSource.CHINESECALENDAR, "note": PACKAGE_MARKER},
    )
    if not (created or updated or year_created):
        return False

    _audit(
        actor=None,
        action="calendar_year_seeded",
        target=year_row,
        after={
            "source": CalendarSource.CHINESECALENDAR,
            "package": PACKAGE_MARKER,
            "days_created": len(created),
            "days_updated": len(updated),
        },
    )
    return True


# Importing an official schedule.


@dataclass(frozen=True)
class _Schedule:
    year: int
    note: str
    holidays: dict[datetime.date, str]
    adjusted_workdays: dict[datetime.date, str]


def schedule_from_file(content: bytes) -> dict:
    """Read an uploaded schedule file (UTF-8 JSON) into a dict."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ServiceError(
            _("The schedule file must be JSON encoded in UTF-8."), field="file"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ServiceError(
            _("The schedule file is not valid JSON (line %(line)s, column %(column)s).")
            % {"line": exc.lineno, "column": exc.colno},
            field="file",
        ) from exc

    return data


def _schedule_error(message: str, field: str) -> ServiceError:
    return ServiceError(message, field=field, code="schedule_invalid")


def _schedule_date(
    value: object, year: int, *, entry: str, field: str
) -> datetime.date:
    text = value if isinstance(value, str) else ""
    try:
        if len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError(text)
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise _schedule_error(
            _("%(entry)s: “%(value)s” is not a date written YYYY-MM-DD.")
            % {"entry": entry, "value": "" if value is None else value},
            field,
        ) from None
    if day.year != year:
        raise _schedule_error(
            _("%(entry)s: %(date)s is not in %(year)s.")
            % {"entry": entry, "date": text, "year": year},
            field,
        )

    return day


def _schedule_name(value: object, *, message: str, field: str) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name or len(name) > HOLIDAY_NAME_MAX:
        raise _schedule_error(message, field)
    return name


def _parse_schedule(data: object) -> _Schedule:
    """Check a schedule dict; the first error names the wrong entry."""
    if not isinstance(data, dict):
        raise _schedule_error(
            _("A schedule is a JSON object with year, holidays and adjusted_workdays."),
            None,
        )
    unknown = sorted(set(data) - _SCHEDULE_KEYS)
    if unknown:
        raise _schedule_error(
            _("The schedule has an unknown key “%(key)s”.") % {"key": unknown[0]},
            unknown[0],
        )
    year = data.get("year")
    if (
        isinstance(year, bool)
        or not isinstance(year, int)
        or not FIRST_YEAR <= year <= LAST_YEAR
    ):
        raise _schedule_error(
            _("The year must be a whole number from %(first)s to %(last)s.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            "year",
        )
    note = data.get("note", "")
    if not isinstance(note, str) or len(note) > NOTE_MAX:
        raise _schedule_error(
            _("The note must be text of at most %(max)s characters.")
            % {"max": NOTE_MAX},
            "note",
        )
    entries = data.get("holidays")
    if not isinstance(entries, list) or not entries:
        raise _schedule_error(
            _("The schedule must list the year's holidays."), "holidays"
        )
    workday_entries = data.get("adjusted_workdays", [])
    if not isinstance(workday_entries, list):
        raise _schedule_error(
            _("adjusted_workdays must be a list."), "adjusted_workdays"
        )

    holidays: dict[datetime.date, tuple[str, int]] = {}
    for index, entry in enumerate(entries):
        number, field = index + 1, f"holidays[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"name", "from", "to"}:
            raise _schedule_error(
                _("Holiday %(number)s must have exactly name, from and to.")
                % {"number": number},
                field,
            )
        name = _schedule_name(
            entry["name"],
            message=_("Holiday %(number)s needs a name of at most %(max)s characters.")
            % {"number": number, "max": HOLIDAY_NAME_MAX},
            field=f"{field}.name",
        )
        label = _("Holiday %(number)s (%(name)s)") % {"number": number, "name": name}
        first = _schedule_date(entry["from"], year, entry=label, field=f"{field}.from")
        last = _schedule_date(entry["to"], year, entry=label, field=f"{field}.to")
        if last < first:
            raise _schedule_error(
                _("%(entry)s ends before it begins.") % {"entry": label},
                f"{field}.to",
            )
        day = first
        while day <= last:
            if day in holidays:
                raise _schedule_error(
                    _("%(entry)s: %(date)s is already in holiday %(other)s.")
                    % {
                        "entry": label,
                        "date": day.isoformat(),
                        "other": holidays[day][1],
                    },
                    field,
                )
            holidays[day] = (name, number)
            day += datetime.timedelta(days=1)

    adjusted: dict[datetime.date, tuple[str, int]] = {}
    for index, entry in enumerate(workday_entries):
        number, field = index + 1, f"adjusted_workdays[{index}]"
        if not isinstance(entry, dict) or set(entry) != {"date", "for"}:
            raise _schedule_error(
                _("Adjusted working day %(number)s must have exactly date and for.")
                % {"number": number},
                field,
            )
        label = _("Adjusted working day %(number)s") % {"number": number}
        day = _schedule_date(entry["date"], year, entry=label, field=f"{field}.date")
        name = _schedule_name(
            entry["for"],
            message=_(
                "%(entry)s: name the holiday it makes up for "
                "(at most %(max)s characters)."
            )
            % {"entry": label, "max": HOLIDAY_NAME_MAX},
            field=f"{field}.for",
        )
        if day.weekday() < 5:
            raise _schedule_error(
                _("%(entry)s: %(date)s is a %(weekday)s, not a Saturday or Sunday.")
                % {
                    "entry": label,
                    "date": day.isoformat(),
                    "weekday": WEEKDAYS[day.weekday()],
                },
                f"{field}.date",
            )
        if day in adjusted:
            raise _schedule_error(
                _("%(entry)s: %(date)s is already adjusted working day %(other)s.")
                % {"entry": label, "date": day.isoformat(), "other": adjusted[day][1]},
                f"{field}.date",
            )
        if day in holidays:
            holiday_name, holiday_number = holidays[day]
            raise _schedule_error(
                _(
                    "%(date)s is both a day off in holiday %(holiday)s "
                    "(%(name)s) and adjusted working day %(number)s."
                )
                % {
                    "date": day.isoformat(),
                    "holiday": holiday_number,
                    "name": holiday_name,
                    "number": number,
                },
                f"{field}.date",
            )
        adjusted[day] = (name, number)

    return _Schedule(
        year=year,
        note=note.strip(),
        holidays={day: name for day, (name, _number) in holidays.items()},
        adjusted_workdays={day: name for day, (name, _number) in adjusted.items()},
    )


@transaction.atomic
def calendar_import_schedule(*, actor: Any, data: dict) -> CalendarYear:
    """Store a year's official schedule, replacing every day of that year.

    The data is checked whole first (see the module docstring for the
    format); nothing is stored when any entry is wrong.
    """
    schedule = _parse_schedule(data)
    year = schedule.year

    revision = _lock_calendar()
    year_row = CalendarYear.objects.select_for_update().filter(year=year).first()
    before = _year_summary(year) if year_row else None

    now = timezone.now()
    CalendarDay.objects.filter(
        date__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    ).delete()
    days = []
    for day in _days_of(year):
        if day in schedule.holidays:
            kind, name = DayKind.HOLIDAY, schedule.holidays[day]
        elif day in schedule.adjusted_workdays:
            kind, name = DayKind.ADJUSTED_WORKDAY, schedule.adjusted_workdays[day]
        else:
            kind, name = _plain_kind(day), ""
        days.append(
            CalendarDay(
                date=day,
                kind=kind,
                is_workday=kind in WORKING_KINDS,
                holiday_name=name,
                source=CalendarSource.OFFICIAL,
                updated_at=now,
            )
        )
    CalendarDay.objects.bulk_create(days)
    if year_row is None:
        year_row = CalendarYear(year=year)
    year_row.source = CalendarSource.OFFICIAL
    year_row.note = schedule.note
    year_row.save()

    _audit(
        actor=actor,
        action="calendar_schedule_imported",
        target=year_row,
        before=before,
        after=_year_summary(year),
    )
    _calendar_changed(revision, [year])

    log.info(
        "calendar_schedule_imported",
        year=year,
        holidays=len(schedule.holidays),
        adjusted_workdays=len(schedule.adjusted_workdays),
    )
    return year_row


# Editing one day.


def calendar_day_check(*, day: datetime.date, kind: str, holiday_name: str) -> None:
    """Refuse a day's kind that cannot be true of that date."""
    weekend = day.weekday() >= 5
    if kind not in DayKind.values:
        raise ServiceError(_("Choose a valid kind of day."), field="kind")
    if kind == DayKind.WEEKEND and not weekend:
        raise ServiceError(
            _("Only a Saturday or a Sunday can be a weekend day."), field="kind"
        )
    if kind == DayKind.ADJUSTED_WORKDAY and not weekend:
        raise ServiceError(
            _("Only a Saturday or a Sunday can be an adjusted working day."),
            field="kind",
        )
    if kind == DayKind.WORKDAY and weekend:
        raise ServiceError(
            _(
                "A Saturday or a Sunday is not an ordinary working day; "
                "make it an adjusted working day."
            ),
            field="kind",
        )
    if kind in (DayKind.HOLIDAY, DayKind.ADJUSTED_WORKDAY) and not holiday_name:
        raise ServiceError(
            _("Name the holiday this day is off for or makes up for."),
            field="holiday_name",
        )
    if len(holiday_name) > HOLIDAY_NAME_MAX:
        raise ServiceError(
            _("The holiday name may have at most %(max)s characters.")
            % {"max": HOLIDAY_NAME_MAX},
            field="holiday_name",
        )


def _day_state(row: CalendarDay) -> dict:
    return {
        "kind": row.kind,
        "is_workday": row.is_workday,
        "holiday_name": row.holiday_name,
        "source": row.source,
        "note": row.note,
    }


@transaction.atomic
def calendar_day_update(
    *,
    actor: Any,
    day: datetime.date,
    kind: str,
    holiday_name: str = "",
    note: str = "",
) -> CalendarDay:
    """Change what one day of a covered year is; the day becomes ``admin``."""
    holiday_name = holiday_name.strip()
    if kind in (DayKind.WORKDAY, DayKind.WEEKEND):
        holiday_name = ""
    calendar_day_check(day=day, kind=kind, holiday_name=holiday_name)

    revision = _lock_calendar()
    row = CalendarDay.objects.select_for_update().filter(pk=day).first()
    if row is None or not CalendarYear.objects.filter(year=day.year).exists():
        raise ServiceError(
            _(
                "The calendar does not hold %(year)s yet; import that year's "
                "schedule first."
            )
            % {"year": day.year},
            field="date",
            code="not_covered",
        )
    before = _day_state(row)
    if (row.kind, row.holiday_name, row.note) == (kind, holiday_name, note):
        return row

    row.kind = kind
    row.is_workday = kind in WORKING_KINDS
    row.holiday_name = holiday_name
    row.note = note
    row.source = CalendarSource.ADMIN
    row.save()

    _audit(
        actor=actor,
        action="calendar_day_updated",
        target=row,
        before=before,
        after=_day_state(row),
    )
    _calendar_changed(revision, [day.year])

    log.info("calendar_day_updated", date=day.isoformat(), kind=kind)
    return row


@transaction.atomic
def calendar_year_remove(*, actor: Any, year: int) -> None:
    """Drop a year's stored days: it is computed from the statutory rules.

    The next ``seed_calendar`` loads it again if the package covers it.
    """
    revision = _lock_calendar()
    row = CalendarYear.objects.select_for_update().filter(year=year).first()
    if row is None:
        raise ServiceError(
            _("The calendar does not hold %(year)s.") % {"year": year},
            field="year",
            code="not_covered",
        )

    _audit(
        actor=actor,
        action="calendar_year_removed",
        target=row,
        before=_year_summary(year),
    )
    CalendarDay.objects.filter(
        date__range=(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    ).delete()
    row.delete()
    _calendar_changed(revision, [year])

    log.info("calendar_year_removed", year=year)

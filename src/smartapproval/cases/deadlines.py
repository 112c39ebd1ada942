"""A case's clock: its due dates, pauses, extension, colour and explanation.

Rules applied here (DESIGN §3 "Time limits", cases 4 and 9):

- Limits count from the Beijing date of acceptance; the start day is not
  counted.
- A pause covers its first day (the notice day) through its last day (the
  day complete materials are received), both paused; the clock resumes the
  day after. Its working days are added back: a working-day limit becomes
  ``limit + paused + extension`` working days from acceptance; a limit in
  natural days or months is computed as such and the extra working days are
  added to its end.
- The extension is added to the legal and the promised deadline alike.
- A date that used a year without an official schedule is provisional and
  is recomputed when the calendar changes.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import structlog
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext_lazy

from smartapproval.audit.models import AuditEntry
from smartapproval.cases.models import (
    CLOCK_STATUSES,
    Case,
    CaseAction,
    CaseEvent,
    CasePause,
    CaseStatus,
    PauseKind,
    Task,
    TaskStatus,
)
from smartapproval.core import deadlines as workdays
from smartapproval.core.calendar import calendar_snapshot
from smartapproval.core.models import LimitUnit

log = structlog.get_logger(__name__)

CALENDAR_ACTOR_LABEL = "calendar"


class Colour(models.TextChoices):
    """E-monitoring signal of a case or a task."""

    GREEN = "green", pgettext_lazy("deadline colour", "Green")
    YELLOW = "yellow", pgettext_lazy("deadline colour", "Yellow")
    RED = "red", pgettext_lazy("deadline colour", "Red")


@dataclass(frozen=True)
class SkippedDay:
    """A day the count passed over, with the reason in Chinese."""

    day: date
    reason: str


@dataclass(frozen=True)
class ComputedDue:
    """A due date and whether any day used in it came from the statutory rules."""

    due: date
    provisional: bool
    provisional_years: tuple[int, ...] = ()
    skipped: tuple[SkippedDay, ...] = ()


@dataclass(frozen=True)
class Clock:
    """Where a case or a task stands against its deadline today."""

    colour: str
    due: date | None
    running: bool
    paused: bool = False
    paused_working_days: int = 0
    remaining_working_days: int | None = None
    overdue_working_days: int = 0
    label: str = ""


def _computed(deadline: workdays.Deadline) -> ComputedDue:
    return ComputedDue(
        due=deadline.due,
        provisional=deadline.provisional,
        provisional_years=tuple(deadline.provisional_years),
        skipped=tuple(
            SkippedDay(day=d.date, reason=d.reason) for d in deadline.skipped
        ),
    )


def due_compute(
    start: date, value: int, unit: str, extra_working_days: int = 0
) -> ComputedDue:
    """Return the due date of a limit from ``start`` plus extra working days."""
    if unit == LimitUnit.WORKING_DAYS or extra_working_days == 0:
        return _computed(
            workdays.compute_due(
                start,
                value + (extra_working_days if unit == LimitUnit.WORKING_DAYS else 0),
                LimitUnit(unit),
            )
        )

    base = _computed(workdays.compute_due(start, value, LimitUnit(unit)))
    extra = _computed(workdays.add_working_days(base.due, extra_working_days))
    return ComputedDue(
        due=extra.due,
        provisional=base.provisional or extra.provisional,
        provisional_years=tuple(
            sorted(set(base.provisional_years) | set(extra.provisional_years))
        ),
        skipped=base.skipped + extra.skipped,
    )


def pause_working_days(*, accepted_on: date | None, first: date, last: date) -> int:
    """Count the paused working days from ``first`` through ``last``.

    The day of acceptance never counts on the clock, so a pause that starts
    on it pauses nothing that day.
    """
    if accepted_on is not None:
        first = max(first, accepted_on + timedelta(days=1))
    if last < first:
        return 0
    return workdays.working_days_between(first, last)


@dataclass(frozen=True)
class CaseDues:
    legal: ComputedDue | None
    promised: ComputedDue | None

    @property
    def provisional(self) -> bool:
        return any(d is not None and d.provisional for d in (self.legal, self.promised))

    @property
    def provisional_years(self) -> list[int]:
        years: set[int] = set()
        for due in (self.legal, self.promised):
            if due is not None:
                years.update(due.provisional_years)
        return sorted(years)


def case_dues_compute(
    case: Case, *, paused_working_days: int | None = None, compute=due_compute
) -> CaseDues:
    """Compute the case's legal and promised deadlines from its snapshot."""
    if case.accepted_on is None:
        return CaseDues(legal=None, promised=None)

    paused = (
        case.paused_working_days if paused_working_days is None else paused_working_days
    )
    extra = paused + case.extension_days
    legal = promised = None
    if case.legal_limit_value is not None and case.legal_limit_unit:
        legal = compute(
            case.accepted_on, case.legal_limit_value, case.legal_limit_unit, extra
        )
    if case.promised_limit_value is not None and case.promised_limit_unit:
        promised = compute(
            case.accepted_on,
            case.promised_limit_value,
            case.promised_limit_unit,
            extra,
        )
    return CaseDues(legal=legal, promised=promised)


def case_dues_apply(case: Case, dues: CaseDues) -> None:
    """Copy computed dues onto the case (the caller saves)."""
    case.legal_due = dues.legal.due if dues.legal else None
    case.promised_due = dues.promised.due if dues.promised else None
    case.due_provisional = dues.provisional
    case.promised_due_provisional = bool(dues.promised and dues.promised.provisional)


def task_due_compute(task: Task) -> ComputedDue | None:
    """Compute an open task's due date from its node limit and pauses."""
    if task.started_on is None or task.limit_working_days is None:
        return None
    return _computed(
        workdays.add_working_days(
            task.started_on, task.limit_working_days + task.paused_working_days
        )
    )


# Node clocks (case 14) -------------------------------------------------------

OFFICE_OPENS = time(9, 0)
OFFICE_CLOSES = time(17, 0)
WORKING_DAYS = "working_days"
WORKING_HOURS = "working_hours"
NODE_LIMIT_UNITS = (WORKING_DAYS, WORKING_HOURS)
# A paused working day gives an hour-counted node back a whole office day.
OFFICE_HOURS_PER_DAY = 8


@dataclass(frozen=True)
class NodeDue:
    """When a node's limit ends: the Beijing date and the moment."""

    due_on: date
    due_at: datetime
    provisional: bool


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=workdays.BEIJING)


def _next_counted(day: date, paused: frozenset[date]) -> tuple[date, bool]:
    """Return the first working day after ``day`` the clock runs on."""
    provisional = False
    while True:
        following = workdays.add_working_days(day, 1)
        provisional |= following.provisional
        day = following.due
        if day not in paused:
            return day, provisional


def node_due(
    *,
    opened_at: datetime,
    limit: int,
    unit: str,
    paused: frozenset[date] = frozenset(),
) -> NodeDue:
    """Return when a node opened at ``opened_at`` with ``limit`` ``unit`` ends.

    Working days: office closing (17:00) of the Nth working day after the
    Beijing date it opened; the opening day is not counted. Working hours:
    only 09:00-17:00 of working days count, and a task opened outside them
    starts at the next opening. The two units are never converted into each
    other: one working day is not 24 hours, nor 8 (case 14). The clock
    stands still on ``paused`` days (a suspension covers whole days).
    """
    if timezone.is_naive(opened_at):
        raise ValueError("node_due needs an aware datetime")
    if limit < 0:
        raise ValueError("a time limit is a whole number >= 0")
    moment = opened_at.astimezone(workdays.BEIJING)
    day = moment.date()
    if unit == WORKING_DAYS:
        if not paused:
            deadline = workdays.add_working_days(day, limit)
            return NodeDue(
                due_on=deadline.due,
                due_at=_at(deadline.due, OFFICE_CLOSES),
                provisional=deadline.provisional,
            )
        provisional = False
        for _ in range(limit):
            day, late = _next_counted(day, paused)
            provisional |= late
        return NodeDue(
            due_on=day, due_at=_at(day, OFFICE_CLOSES), provisional=provisional
        )
    if unit != WORKING_HOURS:
        raise ValueError(f"unknown node limit unit {unit!r}")
    if limit == 0:
        return NodeDue(due_on=day, due_at=moment, provisional=False)

    provisional = False
    if not workdays.is_workday(day) or day in paused or moment.time() >= OFFICE_CLOSES:
        following, provisional = _next_counted(day, paused)
        moment = _at(following, OFFICE_OPENS)
    elif moment.time() < OFFICE_OPENS:
        moment = _at(day, OFFICE_OPENS)
    remaining = timedelta(hours=limit)
    while True:
        closing = _at(moment.date(), OFFICE_CLOSES)
        if remaining <= closing - moment:
            due_at = moment + remaining
            return NodeDue(due_on=due_at.date(), due_at=due_at, provisional=provisional)
        remaining -= closing - moment
        following, late = _next_counted(moment.date(), paused)
        provisional |= late
        moment = _at(following, OFFICE_OPENS)


@dataclass(frozen=True)
class NodeClock:
    """A node's overdue and warning times, pauses included."""

    due: NodeDue
    warn_at: datetime | None
    paused_working_days: int = 0


def node_clock(
    *,
    opened_at: datetime,
    limit: int,
    unit: str,
    warning: int | None = None,
    paused: frozenset[date] = frozenset(),
) -> NodeClock:
    """Return when a node turns red (its limit ends) and yellow.

    ``warning`` is in the limit's own unit: the node turns yellow when that
    much of its limit is left. The clock stands still on ``paused`` days.
    """
    due = node_due(opened_at=opened_at, limit=limit, unit=unit, paused=paused)
    warn_at = None
    if warning and 0 < warning < limit:
        warn_at = node_due(
            opened_at=opened_at, limit=limit - warning, unit=unit, paused=paused
        ).due_at
    held = sum(1 for day in paused if workdays.is_workday(day))
    return NodeClock(due=due, warn_at=warn_at, paused_working_days=held)


def _days(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


def task_node_clock(
    task: Task, *, pauses: list[CasePause] | None = None
) -> NodeClock | None:
    """Recompute the clock of a task whose route gave it a node limit.

    The case's ended suspensions stop it for their days, from the day the
    task opened; a suspension that began after the node was already overdue
    leaves it overdue. ``pauses`` saves the query when the caller has them.
    """
    if task.limit_value is None or task.limit_unit not in NODE_LIMIT_UNITS:
        return None
    if pauses is None:
        pauses = list(
            CasePause.objects.filter(
                case_id=task.case_id,
                ended_on__isnull=False,
                ended_on__gte=task.started_on or task.created_at.date(),
            ).order_by("started_on", "pk")
        )
    opened_on = workdays.beijing_date(task.created_at)
    paused: set[date] = set()
    clock = node_clock(
        opened_at=task.created_at,
        limit=task.limit_value,
        unit=task.limit_unit,
        warning=task.warning_value,
    )
    for pause in sorted(pauses, key=lambda p: (p.started_on, p.pk or 0)):
        if pause.ended_on is None or pause.ended_on < opened_on:
            continue
        if pause.started_on > clock.due.due_on:
            continue
        paused |= _days(max(pause.started_on, opened_on), pause.ended_on)
        clock = node_clock(
            opened_at=task.created_at,
            limit=task.limit_value,
            unit=task.limit_unit,
            warning=task.warning_value,
            paused=frozenset(paused),
        )
    return clock


def task_node_clock_apply(task: Task, clock: NodeClock) -> list[str]:
    """Copy ``clock`` onto the task; return the fields that changed."""
    values = {
        "due_on": clock.due.due_on,
        "due_at": clock.due.due_at,
        "due_provisional": clock.due.provisional,
        "warn_at": clock.warn_at,
        "paused_working_days": clock.paused_working_days,
    }
    changed = [name for name, value in values.items() if getattr(task, name) != value]
    for name in changed:
        setattr(task, name, values[name])
    return changed


def working_hours_between(first: datetime, last: datetime) -> float:
    """Count the office hours of working days from ``first`` to ``last``."""
    if last <= first:
        return 0.0
    first = first.astimezone(workdays.BEIJING)
    last = last.astimezone(workdays.BEIJING)
    total = timedelta()
    day = first.date()
    while day <= last.date():
        if workdays.is_workday(day):
            start = max(first, _at(day, OFFICE_OPENS))
            end = min(last, _at(day, OFFICE_CLOSES))
            if end > start:
                total += end - start
        day += timedelta(days=1)
    return total.total_seconds() / 3600


def _clock_for(due: date | None, today: date, *, start: date | None) -> Clock:
    """Colour a running clock: red when overdue; yellow when the working days
    left are at most the warning threshold and fewer than the whole limit, so
    that a short limit (审查's two days) never starts yellow."""
    if due is None:
        return Clock(colour=Colour.GREEN, due=None, running=False)

    if today > due:
        overdue = workdays.working_days_between(due + timedelta(days=1), today)
        return Clock(
            colour=Colour.RED,
            due=due,
            running=True,
            remaining_working_days=0,
            overdue_working_days=overdue,
            label=ngettext(
                "Overdue by %(days)s working day",
                "Overdue by %(days)s working days",
                overdue,
            )
            % {"days": overdue},
        )

    remaining = (
        workdays.working_days_between(today + timedelta(days=1), due)
        if due > today
        else 0
    )
    # The whole limit counts from the day after the start, as the due date.
    whole = (
        workdays.working_days_between(start + timedelta(days=1), due)
        if start is not None and due > start
        else 0
    )
    warned = remaining <= settings.SMARTAPPROVAL_WARNING_DAYS and (
        start is None or remaining < whole
    )
    colour = Colour.YELLOW if warned else Colour.GREEN
    return Clock(
        colour=colour,
        due=due,
        running=True,
        remaining_working_days=remaining,
        label=ngettext(
            "%(days)s working day left", "%(days)s working days left", remaining
        )
        % {"days": remaining},
    )


def _paused_clock(case: Case, due: date | None, today: date) -> Clock:
    pause = case.pauses.filter(ended_on__isnull=True).order_by("-started_on").first()
    days = (
        pause_working_days(
            accepted_on=case.accepted_on, first=pause.started_on, last=today
        )
        if pause is not None
        else 0
    )
    # While paused no warning fires: the paused days will be added back.
    return Clock(
        colour=Colour.GREEN,
        due=due,
        running=False,
        paused=True,
        paused_working_days=days,
        label=ngettext(
            "Paused, %(days)s working day", "Paused, %(days)s working days", days
        )
        % {"days": days},
    )


def case_clock(case: Case, *, today: date | None = None) -> Clock:
    """Tell where the case stands against its promised deadline today."""
    today = today or workdays.beijing_today()
    due = case.promised_due or case.legal_due
    if case.status not in CLOCK_STATUSES:
        return Clock(colour=Colour.GREEN, due=due, running=False)
    if case.status == CaseStatus.SUSPENDED:
        return _paused_clock(case, due, today)
    return _clock_for(due, today, start=case.accepted_on)


def task_clock(
    task: Task, *, today: date | None = None, now: datetime | None = None
) -> Clock:
    """Tell where an open task stands against its node's deadline.

    A node with a moment (``due_at``) turns red past it and yellow past its
    warning time; a node limited in working hours counts what is left in
    office hours. A task without one is coloured by its due date.
    """
    today = today or workdays.beijing_today()
    if task.status != TaskStatus.OPEN:
        return Clock(colour=Colour.GREEN, due=task.due_on, running=False)
    if task.case.status == CaseStatus.SUSPENDED:
        return _paused_clock(task.case, task.due_on, today)
    if task.due_at is None:
        return _clock_for(task.due_on, today, start=task.started_on)
    return _moment_clock(task, now or timezone.now())


def _moment_clock(task: Task, now: datetime) -> Clock:
    due_at = task.due_at
    today = workdays.beijing_date(now)
    if now > due_at:
        overdue = (
            workdays.working_days_between(task.due_on + timedelta(days=1), today)
            if task.due_on is not None and today > task.due_on
            else 0
        )
        if task.limit_unit == WORKING_HOURS or not overdue:
            hours = working_hours_between(due_at, now)
            label = gettext("Overdue by %(hours)s working hours") % {
                "hours": f"{hours:.1f}".rstrip("0").rstrip(".")
            }
        else:
            label = ngettext(
                "Overdue by %(days)s working day",
                "Overdue by %(days)s working days",
                overdue,
            ) % {"days": overdue}
        return Clock(
            colour=Colour.RED,
            due=task.due_on,
            running=True,
            remaining_working_days=0,
            overdue_working_days=overdue,
            label=label,
        )

    warned = task.warn_at is not None and now >= task.warn_at
    if task.limit_unit == WORKING_HOURS:
        hours = working_hours_between(now, due_at)
        label = gettext("%(hours)s working hours left") % {
            "hours": f"{hours:.1f}".rstrip("0").rstrip(".")
        }
        remaining = None
    else:
        remaining = (
            workdays.working_days_between(today + timedelta(days=1), task.due_on)
            if task.due_on is not None and task.due_on > today
            else 0
        )
        label = (
            ngettext(
                "%(days)s working day left", "%(days)s working days left", remaining
            )
            % {"days": remaining}
            if remaining
            else gettext("Due today by %(time)s")
            % {"time": due_at.astimezone(workdays.BEIJING).strftime("%H:%M")}
        )
    if task.warn_at is None and task.limit_unit == WORKING_DAYS:
        # Without a warning of its own, a day node warns as a case does.
        return _clock_for(task.due_on, today, start=task.started_on)
    return Clock(
        colour=Colour.YELLOW if warned else Colour.GREEN,
        due=task.due_on,
        running=True,
        remaining_working_days=remaining,
        label=label,
    )


def case_colour(case: Case) -> str:
    """Green, yellow or red for e-monitoring; never yellow or red while paused."""
    return case_clock(case).colour


def task_colour(task: Task) -> str:
    """Green, yellow or red for a task; never yellow or red while paused."""
    return task_clock(task).colour


@dataclass(frozen=True)
class LimitExplanation:
    value: int
    unit: str
    unit_label: str
    due: date | None
    provisional: bool = False


@dataclass(frozen=True)
class PauseExplanation:
    kind: str
    kind_label: str
    reason: str
    started_on: date
    ended_on: date | None
    working_days: int
    ongoing: bool


@dataclass
class DeadlineExplanation:
    """Everything that moved a case's deadlines, for the case page."""

    accepted_on: date | None
    legal: LimitExplanation | None
    promised: LimitExplanation | None
    pauses: list[PauseExplanation] = field(default_factory=list)
    paused_working_days: int = 0
    extension_days: int = 0
    extension_reason: str = ""
    skipped: list[SkippedDay] = field(default_factory=list)
    provisional: bool = False
    provisional_years: list[int] = field(default_factory=list)
    clock: Clock | None = None


def case_deadline_explanation(case: Case) -> DeadlineExplanation:
    """Explain the case's deadlines: limits, pauses, extension, days skipped."""
    today = workdays.beijing_today()
    dues = case_dues_compute(case)

    def limit(value, unit, due, provisional) -> LimitExplanation | None:
        if value is None or not unit:
            return None
        return LimitExplanation(
            value=value,
            unit=unit,
            unit_label=str(LimitUnit(unit).label),
            due=due,
            provisional=provisional,
        )

    pauses = []
    for pause in case.pauses.order_by("started_on", "pk"):
        ongoing = pause.ended_on is None
        days = (
            pause_working_days(
                accepted_on=case.accepted_on, first=pause.started_on, last=today
            )
            if ongoing
            else pause.working_days or 0
        )
        pauses.append(
            PauseExplanation(
                kind=pause.kind,
                kind_label=str(PauseKind(pause.kind).label),
                reason=pause.reason,
                started_on=pause.started_on,
                ended_on=pause.ended_on,
                working_days=days,
                ongoing=ongoing,
            )
        )

    # The legal window contains the promised one; its skipped days explain
    # both dates.
    widest = dues.legal or dues.promised
    return DeadlineExplanation(
        accepted_on=case.accepted_on,
        legal=limit(
            case.legal_limit_value,
            case.legal_limit_unit,
            case.legal_due,
            bool(dues.legal and dues.legal.provisional),
        ),
        promised=limit(
            case.promised_limit_value,
            case.promised_limit_unit,
            case.promised_due,
            case.promised_due_provisional,
        ),
        pauses=pauses,
        paused_working_days=case.paused_working_days,
        extension_days=case.extension_days,
        extension_reason=case.extension_reason,
        skipped=list(widest.skipped) if widest else [],
        provisional=case.due_provisional,
        provisional_years=dues.provisional_years,
        clock=case_clock(case, today=today),
    )


def calendar_changed(*, years: list[int]) -> None:
    """Recompute open deadlines after the calendar of ``years`` changed.

    Called by the calendar after its change commits; the work runs as a
    background task.
    """
    from smartapproval.cases.tasks import recompute_provisional_deadlines

    years = sorted({int(year) for year in years})
    result = recompute_provisional_deadlines.enqueue(years=years)

    log.info("case_deadline_recompute_enqueued", years=years, task_id=result.id)


@dataclass
class RecomputeSummary:
    cases_changed: int = 0
    tasks_changed: int = 0
    cases_seen: int = 0
    tasks_seen: int = 0


class _Memo:
    """Remember calendar answers for one run: many cases share the same dates."""

    def __init__(self) -> None:
        self._dues: dict[tuple, ComputedDue] = {}
        self._spans: dict[tuple, int] = {}
        self._adds: dict[tuple, ComputedDue] = {}

    def due(self, start: date, value: int, unit: str, extra: int) -> ComputedDue:
        key = (start, value, unit, extra)
        if key not in self._dues:
            self._dues[key] = due_compute(start, value, unit, extra)
        return self._dues[key]

    def pause_days(self, accepted_on: date | None, first: date, last: date) -> int:
        key = (accepted_on, first, last)
        if key not in self._spans:
            self._spans[key] = pause_working_days(
                accepted_on=accepted_on, first=first, last=last
            )
        return self._spans[key]

    def add(self, start: date, days: int) -> ComputedDue:
        key = (start, days)
        if key not in self._adds:
            self._adds[key] = _computed(workdays.add_working_days(start, days))
        return self._adds[key]


def iso_date(value: date | None) -> str | None:
    """Spell a date for the audit trail (None stays None)."""
    return value.isoformat() if value else None


def _case_state(case: Case) -> dict:
    return {
        "legal_due": iso_date(case.legal_due),
        "promised_due": iso_date(case.promised_due),
        "due_provisional": case.due_provisional,
        "promised_due_provisional": case.promised_due_provisional,
        "paused_working_days": case.paused_working_days,
    }


def _batches(queryset, batch_size: int) -> Iterable[list[int]]:
    last = 0
    while True:
        ids = list(
            queryset.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return
        yield ids
        last = ids[-1]


def _cases_touching(years: list[int] | None):
    # Every provisional deadline, and with years every window touching them.
    touching = models.Q(due_provisional=True)
    if years:
        first, last = date(min(years), 1, 1), date(max(years), 12, 31)
        touching |= (
            models.Q(accepted_on__lte=last, legal_due__gte=first)
            | models.Q(accepted_on__lte=last, promised_due__gte=first)
            | models.Q(accepted_on__lte=last, status=CaseStatus.SUSPENDED)
        )
    return Case.objects.filter(touching, status__in=CLOCK_STATUSES)


def _tasks_touching(years: list[int] | None):
    touching = models.Q(due_provisional=True)
    if years:
        first, last = date(min(years), 1, 1), date(max(years), 12, 31)
        touching |= models.Q(started_on__lte=last, due_on__gte=first)
    return Task.objects.filter(
        touching,
        models.Q(limit_working_days__isnull=False) | ~models.Q(limit_unit=""),
        status=TaskStatus.OPEN,
        started_on__isnull=False,
    )


def open_deadlines_recompute(
    *, years: list[int] | None = None, batch_size: int = 1000
) -> RecomputeSummary:
    """Recompute the deadlines of open cases and tasks the calendar moved.

    Looks at every open case whose deadline is provisional or whose window
    touches ``years`` (only the provisional ones when ``years`` is empty, as
    the nightly job runs it), in batches, each in its own transaction with
    the rows locked. Every change writes an audit row (actor: the calendar)
    with the dates before and after, and a step on the case's timeline.
    """
    memo = _Memo()
    summary = RecomputeSummary()
    note = gettext("Calendar changed for %(years)s") % {
        "years": ", ".join(str(y) for y in years or []) or "*"
    }

    # One reading of the calendar for the whole run.
    with calendar_snapshot():
        for ids in _batches(_cases_touching(years), batch_size):
            changed = _recompute_case_batch(ids, memo=memo, note=note)
            summary.cases_seen += len(ids)
            summary.cases_changed += changed

        for ids in _batches(_tasks_touching(years), batch_size):
            changed = _recompute_task_batch(ids, memo=memo, note=note)
            summary.tasks_seen += len(ids)
            summary.tasks_changed += changed

    log.info(
        "case_deadlines_recomputed",
        years=years,
        cases_seen=summary.cases_seen,
        cases_changed=summary.cases_changed,
        tasks_changed=summary.tasks_changed,
    )
    return summary


def _update_grouped(model, rows: list, fields: list[str], **extra) -> None:
    """Write ``fields`` of ``rows`` with one UPDATE per distinct set of values."""
    groups: dict[tuple, list[int]] = {}
    for row in rows:
        groups.setdefault(tuple(getattr(row, name) for name in fields), []).append(
            row.pk
        )
    for values, pks in groups.items():
        model.objects.filter(pk__in=pks).update(
            **dict(zip(fields, values, strict=True)), **extra
        )


@transaction.atomic
def _recompute_case_batch(ids: list[int], *, memo: _Memo, note: str) -> int:
    cases = list(
        Case.objects.select_for_update()
        .filter(pk__in=ids, status__in=CLOCK_STATUSES)
        .order_by("pk")
    )
    pauses_by_case: dict[int, list[CasePause]] = {}
    for pause in CasePause.objects.filter(case_id__in=ids, ended_on__isnull=False):
        pauses_by_case.setdefault(pause.case_id, []).append(pause)

    changed_cases: list[Case] = []
    changed_pauses: list[CasePause] = []
    audits: list[AuditEntry] = []
    events: list[CaseEvent] = []
    for case in cases:
        before = _case_state(case)

        paused = 0
        for pause in pauses_by_case.get(case.pk, []):
            days = memo.pause_days(case.accepted_on, pause.started_on, pause.ended_on)
            if days != pause.working_days:
                pause.working_days = days
                changed_pauses.append(pause)
            paused += days
        case.paused_working_days = paused
        case_dues_apply(
            case, case_dues_compute(case, paused_working_days=paused, compute=memo.due)
        )

        after = _case_state(case)
        if after == before:
            continue
        changed_cases.append(case)
        audits.append(
            AuditEntry(
                actor=None,
                actor_label=CALENDAR_ACTOR_LABEL,
                action="case_deadline_recomputed",
                target_type=Case._meta.label_lower,
                target_id=str(case.pk),
                target_label=str(case)[:200],
                before=before,
                after=after,
                note=note,
            )
        )
        events.append(
            CaseEvent(
                case=case,
                action=CaseAction.RECOMPUTE_DEADLINE,
                status_from=case.status,
                status_to=case.status,
                actor_label=CALENDAR_ACTOR_LABEL,
                note=note,
            )
        )

    # Cases accepted on the same day mostly get the same new dates: one
    # UPDATE per distinct set of values is far cheaper than bulk_update's
    # CASE per row.
    _update_grouped(
        Case,
        changed_cases,
        [
            "legal_due",
            "promised_due",
            "due_provisional",
            "promised_due_provisional",
            "paused_working_days",
        ],
        updated_at=timezone.now(),
    )
    _update_grouped(CasePause, changed_pauses, ["working_days"])
    # The audit app offers no bulk writer; rows carry the same fields as
    # audit_record writes, one per changed case.
    AuditEntry.objects.bulk_create(audits)
    CaseEvent.objects.bulk_create(events)
    return len(changed_cases)


@transaction.atomic
def _recompute_task_batch(ids: list[int], *, memo: _Memo, note: str) -> int:
    tasks = list(
        Task.objects.select_for_update()
        .filter(pk__in=ids, status=TaskStatus.OPEN)
        .order_by("pk")
    )
    changed: list[Task] = []
    audits: list[AuditEntry] = []
    clocked: list[Task] = []
    pauses: dict[int, list[CasePause]] = {}
    for pause in CasePause.objects.filter(
        case_id__in={task.case_id for task in tasks if task.limit_unit},
        ended_on__isnull=False,
    ):
        pauses.setdefault(pause.case_id, []).append(pause)
    for task in tasks:
        clock = task_node_clock(task, pauses=pauses.get(task.case_id, []))
        if clock is not None:
            before = {
                "due_on": iso_date(task.due_on),
                "due_at": task.due_at.isoformat() if task.due_at else None,
                "due_provisional": task.due_provisional,
            }
            if not task_node_clock_apply(task, clock):
                continue
            clocked.append(task)
            audits.append(
                AuditEntry(
                    actor=None,
                    actor_label=CALENDAR_ACTOR_LABEL,
                    action="task_due_recomputed",
                    target_type=Task._meta.label_lower,
                    target_id=str(task.pk),
                    target_label=str(task.pk),
                    before=before,
                    after={
                        "due_on": iso_date(task.due_on),
                        "due_at": task.due_at.isoformat(),
                        "due_provisional": task.due_provisional,
                    },
                    note=note,
                )
            )
            continue
        due = memo.add(
            task.started_on, task.limit_working_days + task.paused_working_days
        )
        if (due.due, due.provisional) == (task.due_on, task.due_provisional):
            continue
        audits.append(
            AuditEntry(
                actor=None,
                actor_label=CALENDAR_ACTOR_LABEL,
                action="task_due_recomputed",
                target_type=Task._meta.label_lower,
                target_id=str(task.pk),
                target_label=str(task.pk),
                before={
                    "due_on": iso_date(task.due_on),
                    "due_provisional": task.due_provisional,
                },
                after={"due_on": iso_date(due.due), "due_provisional": due.provisional},
                note=note,
            )
        )
        task.due_on = due.due
        task.due_provisional = due.provisional
        changed.append(task)

    _update_grouped(Task, changed, ["due_on", "due_provisional"])
    for task in clocked:
        task.save(
            update_fields=[
                "due_on",
                "due_at",
                "due_provisional",
                "warn_at",
                "paused_working_days",
            ]
        )
    AuditEntry.objects.bulk_create(audits)
    return len(changed) + len(clocked)

"""Time the recompute of open deadlines after a calendar change.

    .venv/bin/python bench/recompute_deadlines.py [--database-url URL] \\
        [--scenario all|schedule|day] [--batch-size 1000] [--json PATH]

Runs against a database written by ``generate_district.py`` (for 100,000
open cases: ``--cases 100000 --open-share 1``). Two calendar changes, each
followed by ``cases.deadlines.open_deadlines_recompute`` as the
calendar-changed task runs it:

- ``schedule``: the next year's schedule arrives. Imports
  ``bench/test-schedule-2027.json`` (a made-up TEST schedule, not the State
  Council's notice) and recomputes ``years=[2027]``: every case whose
  deadline crossed into 2027 was provisional and now is not.
- ``day``: an administrator turns the last weekday of December of the
  generated year into a holiday and the open deadlines of that year are
  recomputed: every open case is looked at, most of them move.

Each recompute is set against a bare baseline measured in the same run: the
same rows, batches and row locks, their due-date columns written back
unchanged in one UPDATE per batch, no calendar and no audit rows. The ratio
recompute / baseline is the figure to compare across machines. A second
recompute right after the first finds nothing to change: it shows the cost
of reading and computing alone. ``--with-bulk-update`` also times the
baseline written with Django's ``bulk_update``, which is much slower than
both (a CASE per row in one statement).

Before measuring, the calendar is put back as the generator left it (the
TEST year removed, the edited day restored, deadlines recomputed untimed),
so the script can be run again on the same database. The calendar-changed
hooks are switched off: the script runs the recompute itself, in this
process, instead of enqueuing it for a worker.
"""

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script: make ``bench`` importable from the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

if __name__ == "__main__":
    # Models can only be imported once Django is set up on the bench database.
    _pre = argparse.ArgumentParser(add_help=False)
    common.database_url_argument(_pre)
    common.django_setup(
        common.resolve_database_url(_pre.parse_known_args()[0].database_url)
    )

from django.db import transaction  # noqa: E402
from django.db.models import F, Max  # noqa: E402
from django.test import override_settings  # noqa: E402

from smartapproval.cases.deadlines import (  # noqa: E402
    # The recompute's own selection of rows, so the baseline writes exactly
    # the rows the recompute reads.
    _cases_touching,
    _tasks_touching,
    open_deadlines_recompute,
)
from smartapproval.cases.models import (  # noqa: E402
    CLOCK_STATUSES,
    Case,
    CaseStatus,
    Task,
    TaskStatus,
)
from smartapproval.core.calendar import (  # noqa: E402
    calendar_day_update,
    calendar_import_schedule,
    calendar_year_remove,
    schedule_from_file,
)
from smartapproval.core.models import CalendarDay, CalendarYear, DayKind  # noqa: E402

TEST_SCHEDULE = Path(__file__).resolve().parent / "test-schedule-2027.json"
# Marks the day this benchmark edits, so the next run can restore it.
EDIT_NOTE = "bench: recompute_deadlines"
EDIT_HOLIDAY = "基准测试调休"
CASE_FIELDS = ["legal_due", "promised_due", "due_provisional", "paused_working_days"]
TASK_FIELDS = ["due_on", "due_provisional"]


@dataclass
class ScenarioResult:
    """The figures of one calendar change."""

    scenario: str
    years: list[int]
    open_cases: int
    open_tasks: int
    calendar_change_s: float
    cases_seen: int
    cases_changed: int
    tasks_seen: int
    tasks_changed: int
    recompute_s: float
    rerun_s: float
    baseline_s: float
    bulk_update_s: float | None
    peak_rss_mib: float

    @property
    def ratio(self) -> float:
        return self.recompute_s / self.baseline_s

    @property
    def rerun_ratio(self) -> float:
        return self.rerun_s / self.baseline_s

    @property
    def cases_per_s(self) -> float:
        return self.cases_seen / self.recompute_s


def generated_year() -> int:
    """Return the year the open cases were accepted in."""
    last = Case.objects.filter(status__in=CLOCK_STATUSES).aggregate(
        last=Max("accepted_on")
    )["last"]
    if last is None:
        sys.exit("no open case: run generate_district.py first (--open-share 1)")
    return last.year


def edited_day(year: int) -> date:
    """Return the day the ``day`` scenario edits: December's last weekday."""
    day = date(year, 12, 31)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return day


def calendar_restore(year: int) -> list[int]:
    """Undo an earlier run's calendar changes; return the years put back."""
    restored = []
    row = CalendarYear.objects.filter(year=year + 1).first()
    if row is not None and row.note == _test_schedule()["note"]:
        calendar_year_remove(actor=None, year=year + 1)
        restored.append(year + 1)
    day = CalendarDay.objects.filter(pk=edited_day(year), note=EDIT_NOTE).first()
    if day is not None:
        calendar_day_update(actor=None, day=day.date, kind=DayKind.WORKDAY)
        restored.append(year)
    if restored:
        open_deadlines_recompute(years=restored)
    return restored


def _test_schedule() -> dict:
    return schedule_from_file(TEST_SCHEDULE.read_bytes())


def _chunks(ids: list[int], size: int):
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def baseline(years: list[int], batch_size: int, *, bulk_update: bool = False) -> float:
    """Lock, read and write back the recompute's rows without computing.

    Each batch locks and loads its rows as the recompute does, then writes
    their due-date columns back unchanged in one UPDATE (``SET legal_due =
    legal_due, ...``), or with ``bulk_update``: one UPDATE per batch with a
    CASE per row and column.
    """
    begin = time.perf_counter()
    for model, queryset, status, fields in (
        (Case, _cases_touching(years), {"status__in": CLOCK_STATUSES}, CASE_FIELDS),
        (Task, _tasks_touching(years), {"status": TaskStatus.OPEN}, TASK_FIELDS),
    ):
        ids = list(queryset.order_by("pk").values_list("pk", flat=True))
        for chunk in _chunks(ids, batch_size):
            with transaction.atomic():
                rows = list(
                    model.objects.select_for_update()
                    .filter(pk__in=chunk, **status)
                    .order_by("pk")
                )
                if bulk_update:
                    model.objects.bulk_update(rows, fields)
                else:
                    _write_back(model, rows, fields)
    return time.perf_counter() - begin


def _write_back(model, rows: list, fields: list[str]) -> None:
    # One statement for the batch: every row written, nothing computed.
    model.objects.filter(pk__in=[row.pk for row in rows]).update(
        **{name: F(name) for name in fields}
    )


def scenario_run(
    name: str,
    *,
    year: int,
    batch_size: int,
    watch: common.Stopwatch,
    with_bulk_update: bool = False,
) -> ScenarioResult:
    """Change the calendar as ``name`` says and time the recompute."""
    begin = time.perf_counter()
    if name == "schedule":
        data = _test_schedule()
        years = [data["year"]]
        calendar_import_schedule(actor=None, data=data)
    else:
        years = [year]
        calendar_day_update(
            actor=None,
            day=edited_day(year),
            kind=DayKind.HOLIDAY,
            holiday_name=EDIT_HOLIDAY,
            note=EDIT_NOTE,
        )
    change = time.perf_counter() - begin
    watch.say(f"{name}: calendar changed for {years} in {change:.2f} s")

    first_baseline = baseline(years, batch_size)
    watch.say(f"{name}: baseline {first_baseline:.2f} s")
    begin = time.perf_counter()
    summary = open_deadlines_recompute(years=years, batch_size=batch_size)
    recompute = time.perf_counter() - begin
    watch.say(
        f"{name}: recompute {recompute:.2f} s, "
        f"{summary.cases_changed}/{summary.cases_seen} cases changed"
    )
    begin = time.perf_counter()
    again = open_deadlines_recompute(years=years, batch_size=batch_size)
    rerun = time.perf_counter() - begin
    if again.cases_changed or again.tasks_changed:
        sys.exit(f"{name}: the second recompute still changed rows: {again}")
    second_baseline = baseline(years, batch_size)
    watch.say(f"{name}: re-run {rerun:.2f} s, baseline again {second_baseline:.2f} s")
    bulk = None
    if with_bulk_update:
        bulk = baseline(years, batch_size, bulk_update=True)
        watch.say(f"{name}: baseline with bulk_update {bulk:.2f} s")

    return ScenarioResult(
        scenario=name,
        years=years,
        open_cases=Case.objects.filter(status__in=CLOCK_STATUSES).count(),
        open_tasks=Task.objects.filter(status=TaskStatus.OPEN).count(),
        calendar_change_s=change,
        cases_seen=summary.cases_seen,
        cases_changed=summary.cases_changed,
        tasks_seen=summary.tasks_seen,
        tasks_changed=summary.tasks_changed,
        recompute_s=recompute,
        rerun_s=rerun,
        # Machines are shared: the faster of two identical runs is the one
        # least disturbed.
        baseline_s=min(first_baseline, second_baseline),
        bulk_update_s=bulk,
        peak_rss_mib=common.peak_rss_mib(),
    )


def report(results: list[ScenarioResult]) -> str:
    """Write the results as the table the README keeps."""
    lines = [
        "| scenario | cases seen / changed | tasks seen / changed "
        "| recompute / baseline | recompute | baseline | re-run (ratio) "
        "| bulk_update (ratio) | cases/s | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r.scenario} {r.years} | {r.cases_seen:,} / {r.cases_changed:,} "
            f"| {r.tasks_seen:,} / {r.tasks_changed:,} | **{r.ratio:.1f}×** "
            f"| {r.recompute_s:.1f} s | {r.baseline_s:.1f} s "
            f"| {r.rerun_s:.1f} s ({r.rerun_ratio:.1f}×) "
            f"| {_bulk_update_cell(r)} "
            f"| {r.cases_per_s:,.0f} | {r.peak_rss_mib:.0f} MiB |"
        )
    return "\n".join(lines)


def _bulk_update_cell(result: ScenarioResult) -> str:
    if result.bulk_update_s is None:
        return "–"
    ratio = result.bulk_update_s / result.baseline_s
    return f"{result.bulk_update_s:.1f} s ({ratio:.1f}×)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=("all", "schedule", "day"), default="all")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    parser.add_argument(
        "--with-bulk-update",
        action="store_true",
        help=(
            "Also time the baseline with Django's bulk_update (slow: a CASE "
            "per row, quadratic in the batch size)."
        ),
    )
    common.database_url_argument(parser)
    args = parser.parse_args(argv)
    url = common.resolve_database_url(args.database_url)

    watch = common.Stopwatch()
    watch.say(f"database: {common.database_label(url)}")
    with override_settings(SMARTAPPROVAL_CALENDAR_CHANGED_HOOKS=[]):
        year = generated_year()
        with watch.lap("restore the generated calendar"):
            restored = calendar_restore(year)
        if restored:
            watch.say(f"restored {restored}")
        open_cases = Case.objects.filter(status__in=CLOCK_STATUSES)
        watch.say(
            f"open cases: {open_cases.count():,} "
            f"({open_cases.filter(status=CaseStatus.SUSPENDED).count():,} "
            f"suspended, {open_cases.filter(due_provisional=True).count():,} "
            "provisional)"
        )

        names = ["schedule", "day"] if args.scenario == "all" else [args.scenario]
        if "schedule" in names and _test_schedule()["year"] != year + 1:
            watch.say(f"schedule: skipped, the TEST schedule is not for {year + 1}")
            names.remove("schedule")
        results = [
            scenario_run(
                name,
                year=year,
                batch_size=args.batch_size,
                watch=watch,
                with_bulk_update=args.with_bulk_update,
            )
            for name in names
        ]

    print()
    print(report(results))
    print(f"\npeak RSS {common.peak_rss_mib():.0f} MiB; total {watch.total:.1f} s")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "database": common.database_label(url),
                    "results": [
                        {**asdict(r), "ratio": r.ratio, "cases_per_s": r.cases_per_s}
                        for r in results
                    ],
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

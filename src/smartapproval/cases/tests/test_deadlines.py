"""Case clocks: deadlines, pauses, provisional years, colours, explanation."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from smartapproval.audit.models import AuditEntry
from smartapproval.cases import deadlines, services
from smartapproval.cases.models import CaseAction, CaseStatus, PauseKind, TaskStatus
from smartapproval.cases.tests import factories as f
from smartapproval.cases.tests.conftest import _seed
from smartapproval.core.calendar import calendar_seed_from_package
from smartapproval.core.models import LimitUnit

D = datetime.date


@pytest.fixture
def item20(department):
    """An item with 20 working days, legal and promised (cases 4 and 9)."""
    return f.ServiceItemFactory(
        department=department, legal_limit_value=20, promised_limit_value=20
    )


def accept_on(clock, item, applicant, clerk, moment, n=1):
    clock.moment = moment
    case = f.submitted_case(item=item, applicant=applicant, n=n)
    return services.case_accept(case=case, actor=clerk)


@pytest.mark.django_db
@pytest.mark.django_db
def test_only_the_deadline_that_reaches_the_unpublished_year_is_provisional(
    clock, department, applicant, clerk
):
    _seed([2026])
    item = f.ServiceItemFactory(
        department=department, legal_limit_value=20, promised_limit_value=5
    )

    case = accept_on(clock, item, applicant, clerk, clock.at(2026, 12, 4))

    assert case.promised_due == D(2026, 12, 11)
    assert case.promised_due_provisional is False
    assert case.due_provisional is True
    explanation = deadlines.case_deadline_explanation(case)
    assert (explanation.promised.provisional, explanation.legal.provisional) == (
        False,
        True,
    )


def test_case4_year_without_schedule_is_provisional_then_recomputed(
    clock, item20, applicant, clerk, django_capture_on_commit_callbacks
):
    _seed([2024, 2025])

    case = accept_on(clock, item20, applicant, clerk, clock.at(2025, 12, 24))

    assert case.due_provisional is True
    # Never the Monday-to-Friday answer.
    assert case.legal_due != D(2026, 1, 21)
    explanation = deadlines.case_deadline_explanation(case)
    assert explanation.provisional is True
    assert explanation.provisional_years == [2026]

    # The schedule is loaded; the calendar calls our hook after commit, the
    # hook enqueues the recompute task (run at once in tests).
    with django_capture_on_commit_callbacks(execute=True):
        assert calendar_seed_from_package(years=[2026]) == [2026]

    case.refresh_from_db()
    assert case.legal_due == D(2026, 1, 22)
    assert case.promised_due == D(2026, 1, 22)
    assert case.due_provisional is False
    entry = AuditEntry.objects.get(action="case_deadline_recomputed")
    assert entry.actor is None
    assert entry.actor_label == "calendar"
    assert entry.target_id == str(case.pk)
    assert entry.before["due_provisional"] is True
    assert entry.after == {
        "legal_due": "2026-01-22",
        "promised_due": "2026-01-22",
        "due_provisional": False,
        "promised_due_provisional": False,
        "paused_working_days": 0,
    }
    assert case.events.filter(action=CaseAction.RECOMPUTE_DEADLINE).exists()


@pytest.mark.django_db
def test_calendar_changed_recomputes_through_the_task(clock, item20, applicant, clerk):
    _seed([2024, 2025])
    case = accept_on(clock, item20, applicant, clerk, clock.at(2025, 12, 24))
    _seed([2026])

    deadlines.calendar_changed(years=[2026])

    case.refresh_from_db()
    assert case.legal_due == D(2026, 1, 22)
    assert case.due_provisional is False


@pytest.mark.usefixtures("calendar")
def test_case9_correction_pause_adds_its_working_days(
    clock, item20, applicant, clerk, reviewer
):
    case = accept_on(clock, item20, applicant, clerk, clock.at(2024, 9, 2))
    assert case.legal_due == D(2024, 9, 30)

    clock.at(2024, 9, 9, hour=9)
    services.case_suspend(
        case=case, actor=reviewer, kind=PauseKind.CORRECTION, reason="补正通知"
    )
    clock.at(2024, 9, 23, hour=16)
    case.refresh_from_db()
    paused = deadlines.case_clock(case)
    assert paused.colour == deadlines.Colour.GREEN
    assert paused.paused is True
    assert paused.label == "暂停, 10 个工作日"

    clock.at(2024, 9, 24, hour=9)
    case = services.case_resume(
        case=case, actor=reviewer, materials_received_on=D(2024, 9, 23)
    )

    assert case.status == CaseStatus.IN_REVIEW
    assert case.legal_due == D(2024, 10, 18)
    assert case.promised_due == D(2024, 10, 18)
    assert case.paused_working_days == 10
    pause = case.pauses.get()
    assert (pause.started_on, pause.ended_on, pause.working_days) == (
        D(2024, 9, 9),
        D(2024, 9, 23),
        10,
    )
    # Cross-check: the 10 paused working days added to the original deadline.
    from smartapproval.core.deadlines import add_working_days

    assert add_working_days(D(2024, 9, 30), 10).due == D(2024, 10, 18)
    resumed = AuditEntry.objects.get(action="case_resumed")
    assert resumed.after["legal_due_before"] == "2024-09-30"
    assert resumed.after["legal_due"] == "2024-10-18"
    explanation = deadlines.case_deadline_explanation(case)
    assert [p.working_days for p in explanation.pauses] == [10]
    assert explanation.paused_working_days == 10
    skipped = {day.day for day in explanation.skipped}
    assert D(2024, 10, 1) in skipped
    assert D(2024, 9, 29) not in skipped  # Sunday worked (调休)


@pytest.mark.usefixtures("calendar")
def test_no_warning_while_paused_even_past_the_original_deadline(
    clock, item, applicant, clerk, reviewer
):
    case = accept_on(clock, item, applicant, clerk, clock.at(2024, 9, 2))
    clock.at(2024, 9, 5)
    services.case_suspend(
        case=case, actor=reviewer, kind="expert_review", reason="专家评审"
    )

    clock.at(2024, 9, 20)
    case.refresh_from_db()
    task = case.tasks.get(status=TaskStatus.OPEN)

    assert case.promised_due < D(2024, 9, 20)
    assert deadlines.case_colour(case) == deadlines.Colour.GREEN
    assert deadlines.task_colour(task) == deadlines.Colour.GREEN


@pytest.mark.usefixtures("calendar")
def test_open_tasks_move_with_the_pause(clock, item20, applicant, clerk, reviewer):
    case = accept_on(clock, item20, applicant, clerk, clock.at(2024, 9, 2))
    task = case.tasks.get()
    assert task.due_on == D(2024, 9, 4)
    clock.at(2024, 9, 3)
    services.case_suspend(case=case, actor=reviewer, kind="hearing", reason="听证")
    clock.at(2024, 9, 6)

    services.case_resume(case=case, actor=reviewer)

    task.refresh_from_db()
    # Paused 09-03 to 09-06 (4 working days): due 09-04 + 4 = 09-10.
    assert task.paused_working_days == 4
    assert task.due_on == D(2024, 9, 10)


@pytest.mark.usefixtures("calendar")
def test_resume_refuses_a_receipt_day_before_the_pause(
    clock, item20, applicant, clerk, reviewer
):
    case = accept_on(clock, item20, applicant, clerk, clock.at(2024, 9, 2))
    clock.at(2024, 9, 9)
    services.case_suspend(case=case, actor=reviewer, kind="correction", reason="补正")

    with pytest.raises(services.ServiceError) as error:
        services.case_resume(
            case=case, actor=reviewer, materials_received_on=D(2024, 9, 6)
        )

    assert error.value.field == "materials_received_on"


@pytest.mark.usefixtures("calendar")
def test_case16a_utc_evening_is_the_next_beijing_day(clock, item, applicant, clerk):
    moment = datetime.datetime(2024, 10, 7, 23, 0, tzinfo=datetime.UTC)

    case = accept_on(clock, item, applicant, clerk, moment)

    assert case.number.split("-")[1] == "20241008"
    assert case.accepted_on == D(2024, 10, 8)
    assert case.promised_due == D(2024, 10, 14)


@pytest.mark.usefixtures("calendar")
@pytest.mark.parametrize(
    ("today", "colour", "remaining"),
    [
        (D(2024, 9, 2), "green", 5),
        (D(2024, 9, 4), "green", 3),
        (D(2024, 9, 5), "yellow", 2),
        (D(2024, 9, 9), "yellow", 0),
        (D(2024, 9, 10), "red", 0),
    ],
)
def test_case_colour_follows_the_remaining_working_days(
    clock, item, applicant, clerk, today, colour, remaining
):
    case = accept_on(clock, item, applicant, clerk, clock.at(2024, 9, 2))
    clock.on(today)

    state = deadlines.case_clock(case)

    assert state.colour == colour
    assert state.remaining_working_days == remaining


@pytest.mark.usefixtures("calendar")
def test_warning_threshold_is_a_setting(clock, item, applicant, clerk, settings):
    settings.SMARTAPPROVAL_WARNING_DAYS = 3
    case = accept_on(clock, item, applicant, clerk, clock.at(2024, 9, 2))
    clock.at(2024, 9, 4)

    assert deadlines.case_colour(case) == "yellow"


@pytest.mark.usefixtures("calendar")
@pytest.mark.parametrize(
    ("today", "colour"),
    [
        # 审查 (2 working days) opens Monday 2024-09-02, due Wednesday 09-04.
        (D(2024, 9, 2), "green"),
        (D(2024, 9, 3), "yellow"),
        (D(2024, 9, 4), "yellow"),
        (D(2024, 9, 5), "red"),
    ],
)
def test_a_task_with_a_limit_at_the_threshold_never_starts_yellow(
    clock, item, applicant, clerk, settings, today, colour
):
    settings.SMARTAPPROVAL_WARNING_DAYS = 2
    case = accept_on(clock, item, applicant, clerk, clock.at(2024, 9, 2))
    task = case.tasks.get(status=TaskStatus.OPEN)
    clock.on(today)

    assert (task.limit_working_days, task.due_on) == (2, D(2024, 9, 4))
    assert deadlines.task_clock(task).colour == colour


@pytest.mark.usefixtures("calendar")
def test_a_case_with_a_promised_limit_at_the_threshold_starts_green(
    clock, department, applicant, clerk, settings
):
    settings.SMARTAPPROVAL_WARNING_DAYS = 2
    item = f.ServiceItemFactory(department=department, promised_limit_value=2)
    case = accept_on(clock, item, applicant, clerk, clock.at(2024, 9, 2))

    fresh = deadlines.case_clock(case)
    clock.at(2024, 9, 3)
    next_day = deadlines.case_clock(case)

    assert (fresh.colour, fresh.remaining_working_days) == ("green", 2)
    assert (next_day.colour, next_day.remaining_working_days) == ("yellow", 1)


@pytest.mark.usefixtures("calendar")
def test_explanation_names_limits_extension_and_skipped_days(
    clock, item, applicant, clerk, reviewer
):
    case = accept_on(clock, item, applicant, clerk, clock.at(2024, 9, 12))
    case = services.case_extend(case=case, actor=reviewer, days=2, reason="复杂")

    explanation = deadlines.case_deadline_explanation(case)

    assert explanation.accepted_on == D(2024, 9, 12)
    assert explanation.legal.value == 20
    assert explanation.legal.unit_label == "工作日"
    assert explanation.promised.due == case.promised_due
    assert explanation.extension_days == 2
    assert explanation.extension_reason == "复杂"
    reasons = {day.day: day.reason for day in explanation.skipped}
    assert "中秋" in reasons[D(2024, 9, 16)]


def test_natural_day_limit_gets_paused_days_added_at_its_end(calendar):
    case = f.CaseFactory.build(
        accepted_on=D(2024, 9, 2),
        legal_limit_value=30,
        legal_limit_unit=LimitUnit.NATURAL_DAYS,
        promised_limit_value=None,
        promised_limit_unit="",
        paused_working_days=2,
    )

    dues = deadlines.case_dues_compute(case)

    # 30 natural days end on 2024-10-02, a holiday: the next working day is
    # 2024-10-08; two paused working days move it to 2024-10-10.
    assert dues.legal.due == D(2024, 10, 10)
    assert dues.promised is None


@pytest.mark.django_db
def test_recompute_runs_in_batches_and_audits_each_changed_case(department):
    _seed([2024, 2025])
    item = f.ServiceItemFactory(department=department)
    stale = [
        f.CaseFactory(
            item=item,
            status=CaseStatus.IN_REVIEW,
            accepted_on=D(2025, 12, 24),
            legal_limit_value=20,
            legal_limit_unit=LimitUnit.WORKING_DAYS,
            promised_limit_value=20,
            promised_limit_unit=LimitUnit.WORKING_DAYS,
            legal_due=D(2026, 1, 21),
            promised_due=D(2026, 1, 21),
            due_provisional=True,
        )
        for _ in range(23)
    ]
    untouched = f.CaseFactory(
        item=item,
        status=CaseStatus.IN_REVIEW,
        accepted_on=D(2024, 3, 1),
        legal_limit_value=5,
        legal_limit_unit=LimitUnit.WORKING_DAYS,
        legal_due=D(2024, 3, 8),
    )
    closed = f.CaseFactory(
        item=item,
        status=CaseStatus.CLOSED,
        accepted_on=D(2025, 12, 24),
        legal_limit_value=20,
        legal_limit_unit=LimitUnit.WORKING_DAYS,
        legal_due=D(2026, 1, 21),
        due_provisional=True,
    )
    _seed([2026])

    with CaptureQueriesContext(connection) as queries:
        summary = deadlines.open_deadlines_recompute(years=[2026], batch_size=10)

    assert summary.cases_changed == 23
    for case in stale:
        case.refresh_from_db()
        assert (case.legal_due, case.due_provisional) == (D(2026, 1, 22), False)
    untouched.refresh_from_db()
    assert untouched.legal_due == D(2024, 3, 8)
    closed.refresh_from_db()
    assert closed.legal_due == D(2026, 1, 21)
    assert AuditEntry.objects.filter(action="case_deadline_recomputed").count() == 23
    # Queries grow with batches, not with cases.
    assert len(queries) < 60


@pytest.mark.usefixtures("calendar")
def test_recompute_is_idempotent(clock, item, applicant, clerk):
    accept_on(clock, item, applicant, clerk, clock.at(2024, 9, 2))

    summary = deadlines.open_deadlines_recompute(years=[2024])

    assert summary.cases_changed == 0
    assert summary.tasks_changed == 0
    assert not AuditEntry.objects.filter(action="case_deadline_recomputed").exists()

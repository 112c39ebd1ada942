"""The district-year generator of bench/ writes valid, coherent fixtures.

The generator seeds the calendar and imports the whole shipped catalogue
before it writes a case, so one tiny district is generated and every check
below runs on it.
"""

import random
import re
from collections import Counter
from datetime import date

import pytest
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from bench.generate_district import _status_counts, generate, resident_id, uscc
from smartapproval.cases.deadlines import case_dues_compute, pause_working_days
from smartapproval.cases.models import (
    CLOCK_STATUSES,
    FINAL_STATUSES,
    Case,
    CaseNumberSequence,
    CasePause,
    CaseStatus,
    Task,
    TaskStatus,
)
from smartapproval.core import deadlines as workdays
from smartapproval.core.codes import check_resident_id, check_uscc
from smartapproval.parties.models import Enterprise, Person

YEAR = 2026
NUMBER = re.compile(r"(\d{6})-(\d{8})-(\d{6})")


@pytest.mark.django_db
def test_tiny_district_is_valid_and_coherent(settings):
    settings.SMARTAPPROVAL_REGION_CODE = "320508"

    summary = generate(
        cases=40, persons=20, enterprises=5, year=YEAR, seed=7, open_share=0.4
    )

    assert summary.cases == Case.objects.count() == 40
    assert (Person.objects.count(), Enterprise.objects.count()) == (20, 5)
    statuses = Counter(Case.objects.values_list("status", flat=True))
    expected = {status: n for status, n in _status_counts(40, 0.4).items() if n}
    assert statuses == expected
    assert statuses[CaseStatus.IN_REVIEW] > statuses[CaseStatus.SUSPENDED] > 0
    _resident_ids_are_valid_suzhou_numbers()
    _credit_codes_pass_every_check()
    _case_numbers_are_unique_and_continue_in_the_sequences()
    _submissions_fall_on_working_days_in_office_hours()
    _dates_follow_the_status()
    _deadlines_are_what_the_recompute_computes()
    _open_cases_wait_on_one_task_and_suspended_ones_on_a_pause()
    _timeline_runs_in_order_and_ends_in_the_case_status()


def test_resident_id_encodes_birth_date_and_sex():
    born = date(1990, 5, 17)

    male = resident_id(random.Random(1), born=born, male=True)
    female = resident_id(random.Random(1), born=born, male=False)

    assert male[6:14] == female[6:14] == "19900517"
    assert int(male[16]) % 2 == 1 and int(female[16]) % 2 == 0
    assert male == resident_id(random.Random(1), born=born, male=True)
    assert check_resident_id(male).valid and check_resident_id(female).valid


def test_resident_id_of_someone_born_before_1984_has_a_code_of_1984():
    # Numbers were first issued in 1984: 姑苏区 (320508, 2012) cannot appear.
    rng = random.Random(5)

    codes = {resident_id(rng, born=date(1960, 1, 1), male=True)[:6] for _ in range(300)}

    assert "320508" not in codes and "320502" in codes


def test_credit_code_of_a_new_enterprise_carries_an_ma_organisation_code():
    rng = random.Random(2)

    codes = [uscc(rng, kind="91", region="320583") for _ in range(50)]

    assert any(code[8:10] == "MA" for code in codes)
    assert all(
        check_uscc(code).valid and not check_uscc(code).warnings for code in codes
    )


@pytest.mark.parametrize("total", [1, 7, 40, 100_000])
@pytest.mark.parametrize("open_share", [0.0, 0.06, 1.0])
def test_status_counts_add_up_to_the_cases_asked_for(total, open_share):
    counts = _status_counts(total, open_share)

    assert sum(counts.values()) == total
    open_cases = counts[CaseStatus.IN_REVIEW] + counts[CaseStatus.SUSPENDED]
    assert abs(open_cases - open_share * total) < 2


def _resident_ids_are_valid_suzhou_numbers():
    for number in Person.objects.values_list("id_number", flat=True):
        assert check_resident_id(number).valid, number
        assert number.startswith("3205")
        # python-stdnum computes the check character independently.
        assert ric.calc_check_digit(number) == number[-1]


def _credit_codes_pass_every_check():
    for code, representative in Enterprise.objects.values_list(
        "uscc", "legal_representative_id_number"
    ):
        result = check_uscc(code)
        assert result.valid and result.warnings == [], (code, result)
        assert stdnum_uscc.is_valid(code), code
        assert code[2:6] == "3205"
        assert check_resident_id(representative).valid


def _case_numbers_are_unique_and_continue_in_the_sequences():
    numbers = list(Case.objects.values_list("number", "submitted_at"))
    assert len({number for number, _ in numbers}) == len(numbers)
    per_day = Counter()
    for number, submitted_at in numbers:
        match = NUMBER.fullmatch(number)
        assert match, number
        assert match[1] == "320508"
        assert match[2] == f"{workdays.beijing_date(submitted_at):%Y%m%d}"
        per_day[match[2]] = max(per_day[match[2]], int(match[3]))
    sequences = {
        f"{row.day:%Y%m%d}": row.last for row in CaseNumberSequence.objects.all()
    }
    assert sequences == dict(per_day)


def _submissions_fall_on_working_days_in_office_hours():
    for case in Case.objects.all():
        moment = case.submitted_at.astimezone(workdays.BEIJING)
        assert moment.year == YEAR
        assert workdays.is_workday(moment.date()), case.number
        assert (8, 30) <= (moment.hour, moment.minute) <= (17, 30), moment


def _dates_follow_the_status():
    for case in Case.objects.all():
        submitted_on = workdays.beijing_date(case.submitted_at)
        if case.accepted_on is not None:
            assert case.accepted_on >= submitted_on
            assert case.accepted_at >= case.submitted_at
            assert case.legal_due > case.accepted_on
            assert case.promised_due <= case.legal_due
        if case.status in FINAL_STATUSES:
            assert case.closed_at is not None and case.closed_at >= case.submitted_at
        else:
            assert case.closed_at is None
        if case.status in CLOCK_STATUSES or case.status == CaseStatus.CLOSED:
            assert case.accepted_on is not None, case.number
        if case.decided_at is not None:
            assert case.decided_at >= case.accepted_at
            assert case.decision


def _deadlines_are_what_the_recompute_computes():
    for case in Case.objects.exclude(accepted_on=None):
        paused = sum(
            pause_working_days(
                accepted_on=case.accepted_on, first=p.started_on, last=p.ended_on
            )
            for p in case.pauses.exclude(ended_on=None)
        )
        assert paused == case.paused_working_days
        dues = case_dues_compute(case)
        assert (dues.legal.due, dues.promised.due) == (
            case.legal_due,
            case.promised_due,
        )
        assert dues.provisional == case.due_provisional
        crosses = max(case.legal_due, case.promised_due).year > YEAR
        assert case.due_provisional == crosses


def _open_cases_wait_on_one_task_and_suspended_ones_on_a_pause():
    for case in Case.objects.filter(status__in=CLOCK_STATUSES):
        open_tasks = case.tasks.filter(status=TaskStatus.OPEN)
        assert open_tasks.count() == 1, case.number
        task = open_tasks.get()
        due = workdays.add_working_days(
            task.started_on, task.limit_working_days + task.paused_working_days
        )
        assert (task.due_on, task.due_provisional) == (due.due, due.provisional)
        ongoing = case.pauses.filter(ended_on=None).count()
        assert ongoing == (1 if case.status == CaseStatus.SUSPENDED else 0)
    assert not Task.objects.exclude(case__status__in=CLOCK_STATUSES).exists()
    assert not CasePause.objects.filter(
        ended_on=None, case__status__in=[CaseStatus.CLOSED, CaseStatus.IN_REVIEW]
    ).exists()


def _timeline_runs_in_order_and_ends_in_the_case_status():
    for case in Case.objects.prefetch_related("events"):
        events = list(case.events.order_by("pk"))
        assert events[0].status_to == CaseStatus.SUBMITTED
        assert events[-1].status_to == case.status, case.number
        times = [event.at for event in events]
        assert times == sorted(times)

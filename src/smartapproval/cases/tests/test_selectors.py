"""Reads within the data scope: staff, managers, applicants, strangers."""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404

from smartapproval.accounts.models import Role
from smartapproval.cases import selectors, services
from smartapproval.cases.models import CaseAction, CaseStatus
from smartapproval.cases.tests import factories as f

pytestmark = pytest.mark.usefixtures("calendar", "clock")


@pytest.fixture
def case(item, applicant, clerk):
    return f.accepted_case(item=item, applicant=applicant, clerk=clerk)


@pytest.fixture
def regulator(db):
    return f.UserFactory(role=Role.REGULATOR, applicant_kind="")


def visible_numbers(user):
    return set(selectors.case_list_for_user(user=user).values_list("number", flat=True))


def test_staff_see_their_departments_cases(case, clerk, reviewer, other_clerk):
    assert visible_numbers(clerk) == {case.number}
    assert visible_numbers(reviewer) == {case.number}
    assert visible_numbers(other_clerk) == set()


def test_staff_see_cases_with_a_task_of_their_department(case, other_reviewer):
    f.TaskFactory(case=case, department=other_reviewer.department, name="会签")

    assert visible_numbers(other_reviewer) == {case.number}


def test_managers_see_every_department(case, manager):
    other = f.CaseFactory()

    assert visible_numbers(manager) == {case.number, other.number}


def test_applicants_see_only_their_own_cases(case, applicant, other_applicant):
    assert visible_numbers(applicant) == {case.number}
    assert visible_numbers(other_applicant) == set()


def test_regulators_and_anonymous_users_see_nothing(case, regulator):
    assert visible_numbers(regulator) == set()
    assert visible_numbers(AnonymousUser()) == set()
    assert visible_numbers(None) == set()


def test_list_filters_by_status_and_query(case, clerk, item):
    submitted = f.submitted_case(item=item, applicant=case.applicant_account, n=7)

    by_status = selectors.case_list_for_user(user=clerk, status=CaseStatus.SUBMITTED)
    by_number = selectors.case_list_for_user(user=clerk, query=case.number[-6:])
    by_code = selectors.case_list_for_user(user=clerk, query=case.applicant_code)

    assert list(by_status) == [submitted]
    assert list(by_number) == [case]
    assert list(by_code) == [case]


@pytest.mark.parametrize("who", ["other_clerk", "other_applicant", "regulator"])
def test_case_detail_out_of_scope_is_404(case, who, request):
    with pytest.raises(Http404):
        selectors.case_get_for_user(
            user=request.getfixturevalue(who), number=case.number
        )


def test_case_detail_in_scope(case, applicant, clerk, manager):
    for user in (applicant, clerk, manager):
        assert selectors.case_get_for_user(user=user, number=case.number) == case


@pytest.mark.parametrize("who", ["other_clerk", "other_applicant", "regulator"])
def test_material_out_of_scope_is_404(case, who, request):
    material = case.materials.first()

    with pytest.raises(Http404):
        selectors.material_get_for_user(
            user=request.getfixturevalue(who), pk=material.pk
        )


def test_material_in_scope(case, applicant, reviewer):
    material = case.materials.first()

    for user in (applicant, reviewer):
        assert selectors.material_get_for_user(user=user, pk=material.pk) == material


def test_inbox_holds_the_departments_open_tasks_soonest_first(
    case, reviewer, other_reviewer, applicant, clock
):
    later = f.TaskFactory(
        case=case, department=reviewer.department, due_on=datetime.date(2024, 12, 1)
    )
    f.TaskFactory(case=case, department=reviewer.department, status="done")

    clock.at(2024, 9, 3)

    inbox = selectors.task_inbox_for_user(user=reviewer)

    assert [task.node_key for task in inbox] == ["review", "review"]
    assert inbox[-1] == later
    # Due 2024-09-04, one working day after today, of a two-day limit.
    assert inbox[0].clock.colour == "yellow"
    assert inbox[-1].clock.colour == "green"
    assert selectors.task_inbox_for_user(user=other_reviewer) == []
    assert selectors.task_inbox_for_user(user=applicant) == []


@pytest.mark.parametrize("who", ["other_reviewer", "applicant"])
def test_task_out_of_scope_is_404(case, who, request):
    task = case.tasks.get()

    with pytest.raises(Http404):
        selectors.task_get_for_user(user=request.getfixturevalue(who), pk=task.pk)


def test_timeline_is_in_order(case):
    actions = [event.action for event in selectors.case_timeline(case)]

    assert actions == [CaseAction.SUBMIT, CaseAction.ACCEPT, CaseAction.START_REVIEW]


def test_case16b_received_today_uses_beijing_date_boundaries(
    item, applicant, clerk, clock
):
    # Y: 2024-03-04 17:00 Beijing. X: 2024-03-05 07:10 Beijing, which is
    # 2024-03-04 23:10 UTC.
    clock.at(2024, 3, 4, hour=17)
    y = f.submitted_case(item=item, applicant=applicant, n=1)
    clock.moment = datetime.datetime(2024, 3, 4, 23, 10, tzinfo=datetime.UTC)
    x = f.submitted_case(item=item, applicant=applicant, n=2)
    clock.at(2024, 3, 5, hour=7, minute=30)

    received = selectors.cases_received_on(day=datetime.date(2024, 3, 5), user=clerk)

    assert list(received) == [x]
    assert y not in selectors.cases_received_on(
        day=datetime.date(2024, 3, 5), user=clerk
    )


def test_public_progress_needs_number_and_code_both_exact(case):
    found = selectors.case_public_progress(
        number=case.number, applicant_code=case.applicant_code.lower()
    )

    assert found == case
    assert selectors.case_public_progress(number=case.number, applicant_code="") is None
    assert (
        selectors.case_public_progress(
            number=case.number, applicant_code=case.applicant_code[:-1]
        )
        is None
    )
    assert (
        selectors.case_public_progress(
            number=case.number + "0", applicant_code=case.applicant_code
        )
        is None
    )


def test_withdrawn_case_stays_visible_to_its_owner(case, applicant):
    services.case_withdraw(case=case, actor=applicant)

    assert visible_numbers(applicant) == {case.number}

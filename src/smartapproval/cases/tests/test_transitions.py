"""The transition table: complete, with a way out of every open status."""

import pytest
from django.http import Http404

from smartapproval.accounts.models import Role
from smartapproval.audit.models import AuditEntry
from smartapproval.cases import services, transitions
from smartapproval.cases.models import (
    FINAL_STATUSES,
    CaseAction,
    CaseEvent,
    CaseStatus,
)
from smartapproval.cases.tests import factories as f
from smartapproval.core.api import ServiceError


def test_every_action_is_in_the_table_with_its_roles():
    assert set(transitions.TRANSITIONS) == set(CaseAction.values)
    assert set(transitions.ACTION_ROLES) == set(CaseAction.values)


def test_every_status_the_table_leads_to_is_a_status():
    for action, transition in transitions.TRANSITIONS.items():
        with pytest.raises(ValueError):
            CaseStatus("not-a-status")
        assert transition.sources <= set(CaseStatus.values), action
        if transition.target is not None:
            assert transition.target in CaseStatus.values, action


@pytest.mark.parametrize("status", sorted(set(CaseStatus.values) - set(FINAL_STATUSES)))
def test_every_non_final_status_has_a_way_out(status):
    exits = [
        action
        for action in transitions.actions_from(status)
        if transitions.target_status(action) not in {None, status}
    ]

    assert exits, status


@pytest.mark.parametrize("status", sorted(FINAL_STATUSES))
def test_final_statuses_allow_nothing_but_supervision(status):
    allowed = transitions.actions_from(status)

    assert set(allowed) <= transitions.AFTER_CLOSING_ACTIONS
    assert all(transitions.target_status(action) is None for action in allowed)


def test_only_a_closed_case_is_verified_or_its_result_revoked_after_closing():
    closing = {
        status: transitions.actions_from(status) for status in sorted(FINAL_STATUSES)
    }

    assert set(closing.pop(CaseStatus.CLOSED)) == {
        CaseAction.VERIFY_COMMITMENT,
        CaseAction.REVOKE_RESULT,
    }
    assert all(actions == [] for actions in closing.values())


def test_every_non_final_status_reaches_a_final_one():
    reachable = {CaseStatus.DRAFT.value}
    frontier = [CaseStatus.DRAFT.value]
    while frontier:
        status = frontier.pop()
        for action in transitions.actions_from(status):
            target = transitions.target_status(action)
            if target and target not in reachable:
                reachable.add(target)
                frontier.append(target)

    assert reachable == set(CaseStatus.values)


def test_refusal_names_the_status_and_the_action_in_chinese():
    case = f.CaseFactory.build(status=CaseStatus.CLOSED)

    with pytest.raises(ServiceError) as error:
        transitions.ensure_allowed(case, CaseAction.ACCEPT)

    assert error.value.status == 409
    assert error.value.message == "办件当前状态为“已办结”，不能执行“受理”"


def test_withdraw_is_allowed_before_decision_only():
    allowed = transitions.TRANSITIONS[CaseAction.WITHDRAW].sources

    assert CaseStatus.IN_REVIEW in allowed
    assert CaseStatus.SUSPENDED in allowed
    assert CaseStatus.DECIDED not in allowed
    assert CaseStatus.RESULT_ISSUED not in allowed


def test_roles_follow_the_table():
    assert transitions.role_may(Role.CLERK, CaseAction.ACCEPT)
    assert not transitions.role_may(Role.REVIEWER, CaseAction.ACCEPT)
    assert transitions.role_may(Role.REVIEWER, CaseAction.DECIDE)
    assert transitions.role_may(Role.MANAGER, CaseAction.TERMINATE)
    assert not transitions.role_may(Role.CLERK, CaseAction.TERMINATE)
    assert transitions.role_may(Role.APPLICANT, CaseAction.WITHDRAW)


# Every verb, tried from every status the table does not allow it from, by an
# actor whose role and department would allow it: 409 and nothing changed.

VERBS = {
    CaseAction.ACCEPT: (
        "clerk",
        lambda case, actor: services.case_accept(case=case, actor=actor),
    ),
    CaseAction.REFUSE: (
        "clerk",
        lambda case, actor: services.case_refuse(
            case=case, actor=actor, reason="材料不符"
        ),
    ),
    CaseAction.REQUEST_CORRECTION: (
        "clerk",
        lambda case, actor: services.case_request_correction(
            case=case, actor=actor, items=["补充说明"]
        ),
    ),
    CaseAction.SUPPLY_CORRECTION: (
        "applicant",
        lambda case, actor: services.case_supply_correction(
            case=case, actor=actor, materials=[]
        ),
    ),
    CaseAction.SUSPEND: (
        "reviewer",
        lambda case, actor: services.case_suspend(
            case=case, actor=actor, kind="hearing", reason="听证"
        ),
    ),
    CaseAction.RESUME: (
        "reviewer",
        lambda case, actor: services.case_resume(case=case, actor=actor),
    ),
    CaseAction.EXTEND: (
        "reviewer",
        lambda case, actor: services.case_extend(
            case=case, actor=actor, days=5, reason="情况复杂"
        ),
    ),
    CaseAction.DECIDE: (
        "reviewer",
        lambda case, actor: services.case_decide(
            case=case, actor=actor, decision="approved"
        ),
    ),
    CaseAction.ISSUE_RESULT: (
        "clerk",
        lambda case, actor: services.case_issue_result(case=case, actor=actor),
    ),
    CaseAction.CLOSE: (
        "clerk",
        lambda case, actor: services.case_close(case=case, actor=actor),
    ),
    CaseAction.WITHDRAW: (
        "applicant",
        lambda case, actor: services.case_withdraw(case=case, actor=actor),
    ),
    CaseAction.TERMINATE: (
        "manager",
        lambda case, actor: services.case_terminate(
            case=case, actor=actor, reason="申请人死亡"
        ),
    ),
    CaseAction.ADD_MATERIAL: (
        "applicant",
        lambda case, actor: services.case_add_materials(
            case=case, actor=actor, materials=[]
        ),
    ),
}

VERBS[CaseAction.COMPLETE_TASK] = (
    "reviewer",
    lambda case, actor: services.task_complete(
        task=f.TaskFactory(case=case, department=case.department),
        actor=actor,
        outcome="approve",
    ),
)

ILLEGAL = [
    (verb, status)
    for verb in VERBS
    for status in CaseStatus.values
    if status not in transitions.TRANSITIONS[verb].sources
]


@pytest.mark.django_db
@pytest.mark.parametrize(("verb", "status"), ILLEGAL)
def test_illegal_action_is_refused_with_409_and_changes_nothing(
    verb, status, department
):
    applicant = f.ApplicantFactory()
    actors = {
        "applicant": applicant,
        "clerk": f.ClerkFactory(department=department),
        "reviewer": f.ReviewerFactory(department=department),
        "manager": f.ManagerFactory(),
    }
    case = f.CaseFactory(
        status=status,
        item=f.ServiceItemFactory(department=department),
        applicant_account=applicant,
    )
    role, call = VERBS[verb]
    audits, events = AuditEntry.objects.count(), CaseEvent.objects.count()

    with pytest.raises(ServiceError) as error:
        call(case, actors[role])

    assert error.value.status == 409
    assert error.value.code == "transition_not_allowed"
    case.refresh_from_db()
    assert case.status == status
    assert AuditEntry.objects.count() == audits
    assert CaseEvent.objects.count() == events


@pytest.mark.django_db
def test_role_outside_the_table_is_refused_with_403(department):
    case = f.CaseFactory(item=f.ServiceItemFactory(department=department))
    reviewer = f.ReviewerFactory(department=department)

    with pytest.raises(ServiceError) as error:
        services.case_accept(case=case, actor=reviewer)

    assert error.value.status == 403
    assert "受理" in error.value.message


@pytest.mark.django_db
def test_staff_of_another_department_get_404(department, other_department):
    case = f.CaseFactory(item=f.ServiceItemFactory(department=department))
    stranger = f.ClerkFactory(department=other_department)

    with pytest.raises(Http404):
        services.case_accept(case=case, actor=stranger)

    case.refresh_from_db()
    assert case.status == CaseStatus.SUBMITTED

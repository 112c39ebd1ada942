"""Review routes and tasks: 审查 → 审核 → 审批, limits, outcomes, scope."""

import datetime

import pytest
from django.http import Http404

from smartapproval.audit.models import AuditEntry
from smartapproval.cases import routes, selectors, services
from smartapproval.cases.models import CaseStatus, Decision, Task, TaskStatus
from smartapproval.cases.tests import factories as f
from smartapproval.core.api import ServiceError

pytestmark = pytest.mark.usefixtures("calendar", "clock")


def open_task(case) -> Task:
    return case.tasks.get(status=TaskStatus.OPEN)


def test_single_department_route_runs_review_check_approve_and_decides(
    item, applicant, clerk, reviewer, reviewer2, approver, clock
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

    assert case.route_key == "bpmn"
    assert case.route_process.key == "single-department"
    review = open_task(case)
    assert (review.node_key, review.limit_value, review.limit_unit) == (
        "review",
        2,
        "working_days",
    )
    assert review.answers == ["approved", "rejected"] and not review.decides
    clock.at(2024, 9, 3)
    services.task_complete(task=review, actor=reviewer, outcome="approved")

    check = open_task(case)
    assert (check.name, check.limit_working_days) == ("审核", 1)
    assert check.started_on == datetime.date(2024, 9, 3)
    assert check.due_on == datetime.date(2024, 9, 4)
    services.task_complete(
        task=check, actor=reviewer2, outcome="approved", opinion="同意"
    )

    approve = open_task(case)
    # 审批 is limited in office hours: 4 of them, yellow with 1 left.
    assert (approve.name, approve.limit_value, approve.limit_unit) == (
        "审批",
        4,
        "working_hours",
    )
    assert approve.decides and approve.answers == ["approved", "denied"]
    services.task_complete(task=approve, actor=approver, outcome="approved")

    case.refresh_from_db()
    assert case.status == CaseStatus.DECIDED
    assert case.decision == Decision.APPROVED
    assert case.tasks.filter(status=TaskStatus.OPEN).count() == 0
    assert AuditEntry.objects.filter(action="task_completed").count() == 3
    assert AuditEntry.objects.filter(action="case_decided").count() == 1


def test_deny_at_the_deciding_node_denies_the_case_with_the_opinion(
    item, applicant, clerk, reviewer, reviewer2, approver
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(task=open_task(case), actor=reviewer, outcome="approved")
    # A refusal before the deciding node passes the opinion on.
    services.task_complete(
        task=open_task(case),
        actor=reviewer2,
        outcome="rejected",
        opinion="建议不予许可",
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.IN_REVIEW

    services.task_complete(
        task=open_task(case), actor=approver, outcome="denied", opinion="不符合条件"
    )

    case.refresh_from_db()
    assert case.decision == Decision.DENIED
    assert case.decision_reason == "不符合条件"


@pytest.mark.parametrize(
    ("outcome", "node"), [("rejected", "check"), ("denied", "approve")]
)
def test_refusing_needs_an_opinion(
    item, applicant, clerk, reviewer, reviewer2, approver, outcome, node
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(task=open_task(case), actor=reviewer, outcome="approved")
    if node == "approve":
        services.task_complete(
            task=open_task(case), actor=reviewer2, outcome="approved"
        )
    task = open_task(case)
    actor = approver if node == "approve" else reviewer2

    with pytest.raises(ServiceError) as error:
        services.task_complete(task=task, actor=actor, outcome=outcome, opinion=" ")

    assert error.value.field == "opinion"
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_an_answer_the_node_does_not_take_is_refused(item, applicant, clerk, reviewer):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

    for outcome in ("approve", "denied", "revision_required", ""):
        with pytest.raises(ServiceError) as error:
            services.task_complete(
                task=open_task(case), actor=reviewer, outcome=outcome, opinion="x"
            )
        assert (error.value.field, error.value.status) == ("outcome", 400)
    assert open_task(case).node_key == "review"


def test_send_back_reopens_the_earlier_node(
    item, applicant, clerk, reviewer, reviewer2
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(task=open_task(case), actor=reviewer, outcome="approved")
    check = open_task(case)
    assert [t.node_key for t in services.task_send_back_targets(task=check)] == [
        "review"
    ]

    services.task_send_back(
        task=check, actor=reviewer2, node_key="review", reason="补充核查"
    )

    check.refresh_from_db()
    assert (check.status, check.outcome) == (TaskStatus.DONE, "sent_back")
    assert open_task(case).node_key == "review"
    assert case.tasks.count() == 3
    assert AuditEntry.objects.filter(action="task_sent_back").count() == 1
    # The first reviewer takes their own node again after the return.
    services.task_complete(task=open_task(case), actor=reviewer, outcome="approved")
    assert open_task(case).node_key == "check"


def test_the_first_node_has_nowhere_to_send_back(item, applicant, clerk, reviewer):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    task = open_task(case)
    assert services.task_send_back_targets(task=task) == []

    with pytest.raises(ServiceError) as error:
        services.task_send_back(
            task=task, actor=reviewer, node_key="review", reason="x"
        )

    assert error.value.status == 409
    assert open_task(case).node_key == "review"


def test_sending_back_needs_a_reason(item, applicant, clerk, reviewer, reviewer2):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(task=open_task(case), actor=reviewer, outcome="approved")

    with pytest.raises(ServiceError) as error:
        services.task_send_back(
            task=open_task(case), actor=reviewer2, node_key="review", reason=""
        )

    assert error.value.field == "reason"
    assert open_task(case).node_key == "check"


def test_completed_task_cannot_be_completed_again(item, applicant, clerk, reviewer):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    task = open_task(case)
    services.task_complete(task=task, actor=reviewer, outcome="approved")

    with pytest.raises(ServiceError) as error:
        services.task_complete(task=task, actor=reviewer, outcome="approved")

    assert error.value.status == 409
    assert error.value.message == "该任务已办理，不能重复办理。"


def test_task_of_another_department_is_not_found(
    item, applicant, clerk, other_reviewer
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

    with pytest.raises(Http404):
        services.task_complete(
            task=open_task(case), actor=other_reviewer, outcome="approve"
        )


def test_clerk_and_manager_do_not_complete_review_tasks(
    item, applicant, clerk, manager
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

    for actor in (clerk, manager):
        with pytest.raises(ServiceError) as error:
            services.task_complete(
                task=open_task(case), actor=actor, outcome="approved"
            )
        assert error.value.status == 403


def test_task_cannot_be_completed_while_the_case_is_suspended(
    item, applicant, clerk, reviewer
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.case_suspend(case=case, actor=reviewer, kind="testing", reason="检测")

    with pytest.raises(ServiceError) as error:
        services.task_complete(task=open_task(case), actor=reviewer, outcome="approved")

    assert error.value.status == 409


def test_node_limits_are_at_least_one_day():
    route = routes.route_get("")
    case = f.CaseFactory.build(
        promised_limit_value=1, promised_limit_unit="working_days"
    )

    assert route.node_limits(case) == {"review": 2, "check": 1, "approve": 1}


def test_node_limit_can_be_configured():
    route = routes.SequentialRoute(
        key="two-step",
        nodes=(
            routes.RouteNode(key="review", name="审查", limit_days=3),
            routes.RouteNode(key="approve", name="审批", limit_days=4),
        ),
    )
    case = f.CaseFactory.build(
        promised_limit_value=20, promised_limit_unit="working_days"
    )

    assert route.node_limits(case) == {"review": 3, "approve": 4}


def test_an_item_can_run_on_its_own_route(item, applicant, clerk, reviewer):
    route = routes.SequentialRoute(
        key="single-step",
        nodes=(routes.RouteNode(key="approve", name="审批", limit_days=1),),
    )
    routes.register_route(route)
    routes.assign_route(implementation_code=item.implementation_code, key=route.key)
    try:
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
        assert case.route_key == "single-step"
        services.task_complete(task=open_task(case), actor=reviewer, outcome="approve")
    finally:
        routes._ITEM_ROUTES.pop(item.implementation_code)
        routes._ROUTES.pop("single-step")

    case.refresh_from_db()
    assert case.decision == Decision.APPROVED


def test_the_same_person_cannot_complete_two_nodes_of_one_case(
    item, applicant, clerk, reviewer
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(task=open_task(case), actor=reviewer, outcome="approved")
    check = open_task(case)

    with pytest.raises(ServiceError) as error:
        services.task_complete(task=check, actor=reviewer, outcome="approved")

    assert error.value.status == 409
    assert error.value.message == "同一人不能办理同一办件的两个审批环节"
    check.refresh_from_db()
    assert check.status == TaskStatus.OPEN


def test_approval_opinions_stay_on_the_tasks_not_in_the_decision(
    item, applicant, clerk, reviewer, reviewer2, approver
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    for handler, opinion in (
        (reviewer, "第1步意见"),
        (reviewer2, "第2步意见"),
        (approver, "同意。第3步意见"),
    ):
        services.task_complete(
            task=open_task(case), actor=handler, outcome="approved", opinion=opinion
        )

    case.refresh_from_db()
    assert case.decision == Decision.APPROVED
    assert case.decision_reason == ""
    decided = case.events.get(action="decide")
    assert "第3步意见" not in decided.note
    assert case.tasks.get(node_key="approve").opinion == "同意。第3步意见"


def test_a_case_accepted_on_the_sequential_route_finishes_on_it(
    item, applicant, clerk, reviewer, reviewer2, approver
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    # As a case accepted before every item had a BPMN route.
    case.tasks.all().delete()
    case.route_key = "sequential"
    case.route_state = {}
    case.save()
    routes.route_get("sequential").start(case)

    services.task_complete(task=open_task(case), actor=reviewer, outcome="approve")
    services.task_complete(
        task=open_task(case), actor=reviewer2, outcome="return", opinion="补充"
    )
    services.task_complete(task=open_task(case), actor=reviewer, outcome="approve")
    services.task_complete(task=open_task(case), actor=reviewer2, outcome="approve")
    services.task_complete(task=open_task(case), actor=approver, outcome="approve")

    case.refresh_from_db()
    assert case.decision == Decision.APPROVED


def test_after_a_send_back_the_node_done_again_frees_the_earlier_hand(
    item, applicant, clerk, reviewer, reviewer2, approver
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(task=open_task(case), actor=reviewer, outcome="approved")
    services.task_send_back(
        task=open_task(case), actor=reviewer2, node_key="review", reason="补充核查"
    )
    # 审查 again, by another reviewer this time.
    services.task_complete(task=open_task(case), actor=approver, outcome="approved")
    services.task_complete(task=open_task(case), actor=reviewer2, outcome="approved")

    # The first 审查 no longer stands: its reviewer takes 审批, which would
    # otherwise be left to nobody in a department of three.
    approve = open_task(case)
    assert approve.node_key == "approve"
    assert not selectors.task_excluded_for_user(task=approve, user=reviewer)
    assert [t.pk for t in selectors.task_inbox_for_user(user=reviewer)] == [approve.pk]
    services.task_complete(task=approve, actor=reviewer, outcome="approved")
    case.refresh_from_db()
    assert case.decision == Decision.APPROVED

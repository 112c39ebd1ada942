"""Parallel review (并联审批): aggregation, refusals, rounds and their join."""

from pathlib import Path

import pytest
from django.db import transaction

from smartapproval.cases.models import Task, TaskStatus
from smartapproval.cases.parallel import Refusal, aggregate, round_result
from smartapproval.cases.tests import factories as f
from smartapproval.cases.tests.test_workflow import (
    FEASIBILITY,
    answer,
    bpmn_case,
    open_tasks,
)
from smartapproval.catalogue.processes import process_import
from smartapproval.core.api import ServiceError

pytestmark = pytest.mark.usefixtures("calendar", "clock")

THREE_BRANCHES = Path(__file__).parent / "data" / "three-branch.bpmn"
MARKET, FIRE, HEALTH = "市场监管局", "消防救援大队", "卫生健康局"


@pytest.mark.parametrize(
    ("outcomes", "expected"),
    [
        (["approved"], "approved"),
        (["approved", "approved_with_conditions"], "approved_with_conditions"),
        (["approved_with_conditions", "revision_required"], "revision_required"),
        (["revision_required", "rejected", "approved"], "rejected"),
        (["rejected", "approved"], "rejected"),
    ],
)
def test_aggregate_takes_the_most_severe_answer(outcomes, expected):
    assert aggregate(outcomes) == expected


def test_aggregate_refuses_an_empty_round_and_unknown_answers():
    with pytest.raises(ValueError):
        aggregate([])
    with pytest.raises(ValueError):
        aggregate(["approved", "maybe"])


@pytest.fixture
def feasibility_item(item):
    for name in ("城市规划行政主管部门", "自然资源行政主管部门"):
        f.DepartmentFactory(name=name)
    process_import(actor=None, item=item, xml=FEASIBILITY.read_bytes())
    return item


@pytest.fixture
def three_branch_item(item):
    for name in (MARKET, FIRE, HEALTH):
        f.DepartmentFactory(name=name)
    process_import(actor=None, item=item, xml=THREE_BRANCHES.read_bytes())
    return item


def dispatched(item):
    case = bpmn_case(item)
    answer(open_tasks(case)[0], "done")
    return case


def test_revision_required_holds_the_round_and_the_join_fires_once_per_round(
    feasibility_item, clock
):
    case = dispatched(feasibility_item)
    planning, resources = open_tasks(case)

    step = answer(planning, "revision_required", "补充用地预审意见")
    (revision,) = step.tasks
    assert (revision.node_key, revision.branch, revision.round) == (
        "planning_revision",
        "planning_review",
        1,
    )
    assert answer(resources, "approved").tasks == []
    result = round_result(case=case, round=1)
    assert (result.outcome, result.closed) == ("revision_required", False)

    clock.at(2024, 9, 4, 11)
    (again,) = answer(revision, "revised").tasks
    assert again.node_key == "planning_review" and again.pk != planning.pk
    # The branch's second review runs on its own clock.
    assert again.due_on > planning.due_on

    (decision,) = answer(again, "approved").tasks
    assert decision.node_key == "lead_decision"
    result = round_result(case=case, round=1)
    assert (result.outcome, result.closed) == ("approved", True)
    assert Task.objects.filter(case=case, node_key="lead_decision").count() == 1

    # Another round: a fresh join, which fires once again.
    answer(decision, "another_round", "再次征求意见")
    answer(open_tasks(case, "lead_preliminary")[0], "done")
    second = open_tasks(case)
    assert {task.round for task in second} == {2}
    assert answer(second[0], "revision_required", "再补充").tasks[0].round == 2
    assert answer(second[1], "approved").tasks == []
    assert Task.objects.filter(case=case, node_key="lead_decision").count() == 1
    assert round_result(case=case, round=2).outcome == "revision_required"


def test_refusal_closes_other_branches_and_names_the_refuser_case_12(
    three_branch_item, clock
):
    case = dispatched(three_branch_item)
    fire, health, market = open_tasks(case)
    assert [t.department.name for t in (fire, health, market)] == [FIRE, HEALTH, MARKET]

    clock.at(2024, 9, 3, 10)
    assert answer(market, "approved").tasks == []

    clock.at(2024, 9, 4, 10)
    with pytest.raises(ServiceError) as no_reason, transaction.atomic():
        answer(fire, "rejected", "  ")
    assert (no_reason.value.field, no_reason.value.status) == ("opinion", 400)
    fire.refresh_from_db()
    assert fire.status == TaskStatus.OPEN

    step = answer(fire, "rejected", "疏散通道宽度不足")

    (decision,) = step.tasks
    assert decision.node_key == "lead_decision" and not step.finished
    health.refresh_from_db()
    assert health.status == TaskStatus.CANCELLED
    assert str(health.get_status_display()) == "无需办理"
    result = round_result(case=case, round=1)
    assert result.outcome == "rejected" and result.closed
    assert result.answers == {"market_review": "approved", "fire_review": "rejected"}
    assert result.refusals == [Refusal(department=FIRE, reason="疏散通道宽度不足")]

    clock.at(2024, 9, 5, 10)
    with pytest.raises(ServiceError) as late:
        answer(health, "approved")
    assert late.value.status == 409
    assert late.value.code == "task_cancelled"
    assert "不再需要" in str(late.value.message)
    assert open_tasks(case) == [decision]


def test_refusal_on_a_deny_route_cancels_every_branch_and_denies_case_12(
    feasibility_item,
):
    case = dispatched(feasibility_item)
    planning, resources = open_tasks(case)
    (revision,) = answer(planning, "revision_required", "补充材料").tasks

    step = answer(resources, "rejected", "占用基本农田")

    revision.refresh_from_db()
    assert revision.status == TaskStatus.CANCELLED
    assert step.finished and step.decision == "denied"
    assert step.reason == "自然资源行政主管部门不同意：占用基本农田"
    assert open_tasks(case) == []
    assert not Task.objects.filter(case=case, node_key="lead_decision").exists()
    assert round_result(case=case, round=1).outcome == "rejected"

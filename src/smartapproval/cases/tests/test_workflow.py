"""BPMN routes run by SpiffWorkflow: node clocks, task mirror, route versions."""

import datetime
from zoneinfo import ZoneInfo

import pytest

from smartapproval.cases import routes
from smartapproval.cases.models import Case, CaseStatus, Decision, Task, TaskStatus
from smartapproval.cases.tests import factories as f
from smartapproval.cases.workflow import BpmnRoute, node_due
from smartapproval.catalogue.processes import (
    SHIPPED_DIR,
    process_for_item,
    process_import,
)
from smartapproval.core.api import ServiceError

pytestmark = pytest.mark.usefixtures("calendar", "clock")

BEIJING = ZoneInfo("Asia/Shanghai")
FEASIBILITY = SHIPPED_DIR / "feasibility-parallel.bpmn"
PLANNING = "城市规划行政主管部门"
RESOURCES = "自然资源行政主管部门"


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=BEIJING)


def answer(task: Task, outcome: str, opinion: str = ""):
    """Complete ``task`` as the task service does, then run the route."""
    if task.status == TaskStatus.OPEN:
        task.status = TaskStatus.DONE
        task.outcome = outcome
        task.opinion = opinion
        task.save()
    task.case = Case.objects.get(pk=task.case_id)
    return BpmnRoute().on_task_completed(task, outcome)


def open_tasks(case, node_key=None):
    tasks = case.tasks.filter(status=TaskStatus.OPEN).order_by("node_key")
    return list(tasks.filter(node_key=node_key) if node_key else tasks)


@pytest.fixture
def co_departments(db):
    return {name: f.DepartmentFactory(name=name) for name in (PLANNING, RESOURCES)}


@pytest.fixture
def feasibility_item(item, co_departments):
    process_import(actor=None, item=item, xml=FEASIBILITY.read_bytes())
    return item


def bpmn_case(item) -> Case:
    case = f.CaseFactory(
        item=item, status=CaseStatus.IN_REVIEW, route_key=routes.route_get("bpmn").key
    )
    BpmnRoute().start(case)
    return case


# Node clock ---------------------------------------------------------------


def test_one_working_day_ends_at_closing_of_the_next_working_day_case_14():
    due = node_due(opened_at=at(2024, 6, 3, 10), limit=1, unit="working_days")

    assert due.due_on == datetime.date(2024, 6, 4)
    assert due.due_at == at(2024, 6, 4, 17)


def test_one_working_day_on_friday_skips_weekend_and_dragon_boat_case_14():
    due = node_due(opened_at=at(2024, 6, 7, 10), limit=1, unit="working_days")

    assert due.due_on == datetime.date(2024, 6, 11)
    assert due.due_at == at(2024, 6, 11, 17)


def test_working_hours_count_only_office_hours_of_working_days():
    # 8 office hours from Monday 10:00 end Tuesday 10:00, never Thursday.
    assert node_due(
        opened_at=at(2024, 6, 3, 10), limit=8, unit="working_hours"
    ).due_at == at(2024, 6, 4, 10)
    # From Friday 10:00: 7 hours left that day, one more on Tuesday 06-11.
    assert node_due(
        opened_at=at(2024, 6, 7, 10), limit=8, unit="working_hours"
    ).due_at == at(2024, 6, 11, 10)
    # Opened in the evening: the clock starts at the next opening.
    assert node_due(
        opened_at=at(2024, 6, 3, 20), limit=2, unit="working_hours"
    ).due_at == at(2024, 6, 4, 11)
    # Opened before the office opens: the clock starts at 09:00.
    assert node_due(
        opened_at=at(2024, 6, 4, 7), limit=8, unit="working_hours"
    ).due_at == at(2024, 6, 4, 17)


def test_a_task_opened_by_the_route_gets_the_node_clock_case_14(
    feasibility_item, clock
):
    clock.at(2024, 6, 7, 10)
    case = bpmn_case(feasibility_item)

    (task,) = open_tasks(case)
    assert (task.limit_value, task.limit_unit) == (1, "working_days")
    assert task.due_on == datetime.date(2024, 6, 11)
    assert task.due_at == at(2024, 6, 11, 17)


# BpmnRoute on the shipped feasibility route ----------------------------------


def test_every_item_runs_on_bpmn_and_the_templates_install_themselves(item):
    from smartapproval.catalogue.models import ReviewProcess

    assert not ReviewProcess.objects.exists()

    assert routes.route_for(item).key == "bpmn"

    process = process_for_item(item=item)
    assert (process.key, process.item) == ("single-department", None)
    # Cases accepted on the Python route before keep finishing on it.
    assert isinstance(routes.route_get("sequential"), routes.SequentialRoute)
    assert isinstance(routes.route_get(""), routes.SequentialRoute)


def test_two_first_acceptances_at_once_both_get_the_installed_route(item, monkeypatch):
    from smartapproval.catalogue import processes

    install = processes.process_install_shipped

    def installed_by_the_other_acceptance(*, actor=None):
        # What PostgreSQL does: the other transaction's insert commits first,
        # ours then fails on the unique version.
        install(actor=actor)
        raise ServiceError("conflict", field="bpmn_xml", code="conflict", status=409)

    monkeypatch.setattr(
        routes, "process_install_shipped", installed_by_the_other_acceptance
    )

    assert routes.route_for(item).key == "bpmn"


def test_a_route_install_that_fails_otherwise_is_not_hidden(item, monkeypatch):
    def refused(*, actor=None):
        raise ServiceError("conflict", field="bpmn_xml", code="conflict", status=409)

    monkeypatch.setattr(routes, "process_install_shipped", refused)

    with pytest.raises(ServiceError):
        routes.route_for(item)


def test_start_opens_the_lead_task_and_keeps_the_route_version(
    feasibility_item, department
):
    case = bpmn_case(feasibility_item)

    case.refresh_from_db()
    assert case.route_process == process_for_item(item=feasibility_item)
    assert case.route_state["workflow"]
    (task,) = open_tasks(case)
    assert (task.node_key, task.name) == ("lead_preliminary", "牵头部门初审")
    assert task.department == department
    assert task.workflow_task_id is not None
    assert (task.branch, task.round) == ("", None)


def test_lead_step_dispatches_both_co_departments_at_once_each_with_its_clock(
    feasibility_item, co_departments, clock
):
    case = bpmn_case(feasibility_item)
    clock.at(2024, 9, 3, 15)

    step = answer(open_tasks(case)[0], "done")

    assert not step.finished
    assert {task.node_key for task in step.tasks} == {
        "planning_review",
        "resources_review",
    }
    planning, resources = open_tasks(case)
    assert planning.department == co_departments[PLANNING]
    assert resources.department == co_departments[RESOURCES]
    for task in (planning, resources):
        assert task.round == 1
        assert task.branch == task.node_key
        assert task.limit_working_days == 3
        assert task.due_on == datetime.date(2024, 9, 6)
        assert task.due_at == at(2024, 9, 6, 17)
    assert planning.pk != resources.pk


def test_both_approve_closes_the_round_once_then_lead_decides(feasibility_item):
    case = bpmn_case(feasibility_item)
    answer(open_tasks(case)[0], "done")
    planning, resources = open_tasks(case)

    first = answer(planning, "approved")
    assert first.tasks == [] and not first.finished
    assert open_tasks(case) == [resources]

    second = answer(resources, "approved_with_conditions", "补充绿化方案")
    (decision,) = second.tasks
    assert decision.node_key == "lead_decision"
    assert decision.branch == "" and decision.round is None

    end = answer(decision, "approved")
    assert end.finished and end.decision == Decision.APPROVED
    assert open_tasks(case) == []
    assert Task.objects.filter(case=case, node_key="lead_decision").count() == 1


def test_lead_refusal_at_the_end_denies(feasibility_item):
    case = bpmn_case(feasibility_item)
    answer(open_tasks(case)[0], "done")
    for task in open_tasks(case):
        answer(task, "approved")

    step = answer(open_tasks(case, "lead_decision")[0], "denied", "不符合规划")

    assert step.finished and step.decision == Decision.DENIED


def test_missing_co_department_is_refused_in_chinese(item):
    process_import(actor=None, item=item, xml=FEASIBILITY.read_bytes())
    case = bpmn_case(item)

    with pytest.raises(ServiceError) as refused:
        answer(open_tasks(case)[0], "done")

    assert refused.value.status == 409
    assert str(refused.value.message) == (
        "审查路线将审查发送至部门“城市规划行政主管部门”，但该部门不存在；"
        "请先添加该部门再启动办件。"
    )
    assert not open_tasks(case, "planning_review")


def test_case_keeps_its_route_version_after_a_new_version_is_imported(
    feasibility_item,
):
    case = bpmn_case(feasibility_item)
    first = case.route_process

    newer = process_import(
        actor=None,
        item=feasibility_item,
        xml=FEASIBILITY.read_bytes() + b"<!-- version 2 -->\n",
    )

    assert newer.version == first.version + 1
    assert process_for_item(item=feasibility_item) == newer
    answer(open_tasks(case)[0], "done")
    case.refresh_from_db()
    assert case.route_process == first
    assert len(open_tasks(case)) == 2
    assert bpmn_case(feasibility_item).route_process == newer


def test_a_case_without_any_route_installed_cannot_start(item):
    case = f.CaseFactory(item=item, status=CaseStatus.IN_REVIEW)

    with pytest.raises(ServiceError) as refused:
        BpmnRoute().start(case)

    assert refused.value.code == "no_route"

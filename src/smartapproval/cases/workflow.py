"""BPMN routes: a case's review run by SpiffWorkflow, mirrored into tasks.

``BpmnRoute`` follows the ``routes.Route`` protocol. At start it takes the
item's active route version (``catalogue.processes.process_for_item``) and
keeps it on the case, so a newer import does not move a running case. The
engine's state is kept in ``Case.route_state`` between steps. Every human
task the engine has READY is mirrored into a ``Task`` row, which is what
inboxes read; a row whose engine task is no longer READY is closed as
"no longer needed".

Each task's clock comes from its properties ``limit`` and ``limit_unit``:
working days end at office closing (17:00 Beijing) of the Nth working day
after the day the task opened; working hours count only office hours
(09:00-17:00) of working days, so 1 working day is never 24 hours (case 14).

Parallel rounds (``cases.parallel``): a task inside a sub-process belongs to
that sub-process instance's round, numbered per case; a co-department's
review is a branch. A refusal closes the other open branches of its round
at once: the engine is told they were withdrawn, so the round's join fires.
"""

import datetime
import json
from dataclasses import dataclass
from typing import Any

import structlog
from django.utils import timezone
from django.utils.translation import gettext
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from smartapproval.accounts.models import Department
from smartapproval.audit.services import audit_record
from smartapproval.cases import parallel
from smartapproval.cases.models import Case, Decision, Task, TaskStatus
from smartapproval.cases.routes import RouteStep
from smartapproval.catalogue.processes import (
    OpenTask,
    process_for_item,
    workflow_complete_task,
    workflow_open_tasks,
    workflow_restore,
    workflow_serialize,
    workflow_start,
)
from smartapproval.core import deadlines as workdays
from smartapproval.core.api import ServiceError

log = structlog.get_logger(__name__)

BPMN_ROUTE_KEY = "bpmn"
OFFICE_OPENS = datetime.time(9, 0)
OFFICE_CLOSES = datetime.time(17, 0)
WORKING_DAYS = "working_days"
WORKING_HOURS = "working_hours"
# Engine steps a withdrawal may take in one round (a branch in revision
# needs two: the revision, then the review again).
MAX_WITHDRAW_STEPS = 50

APPROVING = frozenset({"approved", "approved_with_conditions", "approve"})
DENYING = frozenset({"rejected", "denied", "deny"})


@dataclass(frozen=True)
class NodeDue:
    """When a node's limit ends: the Beijing date and the moment."""

    due_on: datetime.date
    due_at: datetime.datetime
    provisional: bool


def _at(day: datetime.date, time: datetime.time) -> datetime.datetime:
    return datetime.datetime.combine(day, time, tzinfo=workdays.BEIJING)


def node_due(*, opened_at: datetime.datetime, limit: int, unit: str) -> NodeDue:
    """Return when a node opened at ``opened_at`` with ``limit`` ``unit`` ends.

    Working days: office closing of the Nth working day after the Beijing
    date it opened (the opening day is not counted). Working hours: only
    09:00-17:00 of working days count; a task opened outside them starts at
    the next opening.
    """
    if timezone.is_naive(opened_at):
        raise ValueError("node_due needs an aware datetime")
    moment = opened_at.astimezone(workdays.BEIJING)
    day = moment.date()
    if unit == WORKING_DAYS:
        deadline = workdays.add_working_days(day, limit)
        return NodeDue(
            due_on=deadline.due,
            due_at=_at(deadline.due, OFFICE_CLOSES),
            provisional=deadline.provisional,
        )
    if unit != WORKING_HOURS:
        raise ValueError(f"unknown node limit unit {unit!r}")
    if limit < 0:
        raise ValueError("a time limit is a whole number >= 0")
    if limit == 0:
        return NodeDue(due_on=day, due_at=moment, provisional=False)

    provisional = False
    if not workdays.is_workday(day) or moment.time() >= OFFICE_CLOSES:
        following = workdays.add_working_days(day, 1)
        provisional |= following.provisional
        moment = _at(following.due, OFFICE_OPENS)
    elif moment.time() < OFFICE_OPENS:
        moment = _at(day, OFFICE_OPENS)
    remaining = datetime.timedelta(hours=limit)
    while True:
        closing = _at(moment.date(), OFFICE_CLOSES)
        if remaining <= closing - moment:
            due_at = moment + remaining
            return NodeDue(due_on=due_at.date(), due_at=due_at, provisional=provisional)
        remaining -= closing - moment
        following = workdays.add_working_days(moment.date(), 1)
        provisional |= following.provisional
        moment = _at(following.due, OFFICE_OPENS)


def _properties(engine_task: Any) -> dict[str, str]:
    extensions = getattr(engine_task.task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}))


def _department_for(case: Case, properties: dict[str, str]) -> Department:
    if properties.get("department_role") != "co":
        return case.department
    name = properties.get("department", "")
    department = Department.objects.filter(name=name).first()
    if department is None:
        raise ServiceError(
            gettext(
                "The route sends a review to the department “%(name)s”, which "
                "does not exist; add the department before starting the case."
            )
            % {"name": name},
            field="route",
            code="department_missing",
            status=409,
        )
    return department


def _round_of(engine_task: Any, rounds: dict[str, int]) -> int | None:
    scope = engine_task.workflow
    parent_id = getattr(scope, "parent_task_id", None)
    if parent_id is None:
        return None
    key = str(parent_id)
    if key not in rounds:
        rounds[key] = len(rounds) + 1
    return rounds[key]


def _task_open(
    *, case: Case, open_task: OpenTask, engine_task: Any, rounds: dict[str, int]
) -> Task:
    properties = open_task.properties
    opened_at = timezone.now()
    limit_text = properties.get("limit", "")
    unit = properties.get("limit_unit") or WORKING_DAYS
    due = (
        node_due(opened_at=opened_at, limit=int(limit_text), unit=unit)
        if limit_text
        else None
    )
    branch = properties.get("revision_for", "")
    if not branch and properties.get("department_role") == "co":
        branch = open_task.bpmn_id
    return Task.objects.create(
        case=case,
        node_key=open_task.bpmn_id[:60],
        name=open_task.name[:100],
        department=_department_for(case, properties),
        started_on=workdays.beijing_date(opened_at),
        limit_working_days=int(limit_text)
        if limit_text and unit == WORKING_DAYS
        else None,
        limit_unit=unit if limit_text else "",
        limit_value=int(limit_text) if limit_text else None,
        due_on=due.due_on if due else None,
        due_at=due.due_at if due else None,
        due_provisional=due.provisional if due else False,
        workflow_task_id=open_task.id,
        branch=branch[:100],
        round=_round_of(engine_task, rounds),
    )


def _mirror(case: Case, workflow: BpmnWorkflow, rounds: dict[str, int]) -> list[Task]:
    """Open a row for each READY human task; close rows no longer READY."""
    ready = workflow_open_tasks(workflow)
    ready_ids = {task.id for task in ready}
    kept: set = set()
    rows = case.tasks.select_for_update().filter(
        status=TaskStatus.OPEN, workflow_task_id__isnull=False
    )
    for row in rows:
        if row.workflow_task_id in ready_ids:
            kept.add(row.workflow_task_id)
            continue
        row.status = TaskStatus.CANCELLED
        row.completed_at = timezone.now()
        row.save(update_fields=["status", "completed_at"])
        audit_record(
            actor=None,
            action="task_cancelled",
            target=row,
            before={"status": TaskStatus.OPEN},
            after={"status": row.status, "case": case.number},
            actor_label="bpmn-route",
        )
        log.info("task_cancelled", task_id=row.pk, case_id=case.pk)
    return [
        _task_open(
            case=case,
            open_task=open_task,
            engine_task=workflow.get_task_from_id(open_task.id),
            rounds=rounds,
        )
        for open_task in ready
        if open_task.id not in kept
    ]


def _withdraw_branches(workflow: BpmnWorkflow, scope: Any) -> None:
    """Close every other branch of a round after a refusal, in the engine."""
    for _ in range(MAX_WITHDRAW_STEPS):
        pending = [
            task
            for task in scope.get_tasks(state=TaskState.READY)
            if task.task_spec.manual
        ]
        if not pending:
            return
        engine_task = pending[0]
        variable = _properties(engine_task).get("outcome_variable")
        workflow_complete_task(
            workflow,
            task_id=engine_task.id,
            outcome=parallel.WITHDRAWN if variable else None,
        )
    raise RuntimeError("the round's branches did not close after a refusal")


def _state_save(case: Case, workflow: BpmnWorkflow, rounds: dict[str, int]) -> None:
    case.route_state = {
        "workflow": json.loads(workflow_serialize(workflow)),
        "rounds": rounds,
    }
    case.save(update_fields=["route_process", "route_state", "updated_at"])


def _decision_for(outcome: str) -> str:
    if outcome in APPROVING:
        return Decision.APPROVED
    if outcome in DENYING:
        return Decision.DENIED
    raise ValueError(f"the route ended on an outcome that decides nothing: {outcome}")


class BpmnRoute:
    """A review route drawn in BPMN 2.0 and run by SpiffWorkflow.

    The case is expected locked by the calling service; the route writes
    only the case's route fields and its tasks.
    """

    key = BPMN_ROUTE_KEY

    def start(self, case: Case) -> list[Task]:
        process = process_for_item(item=case.item)
        if process is None:
            raise ServiceError(
                gettext("No review route is installed for this item."),
                field="route",
                code="no_route",
                status=409,
            )
        workflow = workflow_start(process=process)
        case.route_process = process
        rounds: dict[str, int] = {}
        tasks = _mirror(case, workflow, rounds)
        _state_save(case, workflow, rounds)
        log.info(
            "bpmn_route_started",
            case_id=case.pk,
            review_process_id=process.pk,
            version=process.version,
            tasks=[task.pk for task in tasks],
        )
        return tasks

    def on_task_completed(self, task: Task, outcome: str) -> RouteStep:
        parallel.task_ensure_open(task)
        case = task.case
        if task.workflow_task_id is None or not case.route_state:
            raise ValueError(f"task {task.pk} is not on a BPMN route")
        parallel.answer_check(outcome=outcome, opinion=task.opinion)

        workflow = workflow_restore(json.dumps(case.route_state["workflow"]))
        rounds = dict(case.route_state.get("rounds", {}))
        try:
            engine_task = workflow.get_task_from_id(task.workflow_task_id)
        except TaskNotFoundException:
            engine_task = None
        properties = _properties(engine_task) if engine_task is not None else {}
        workflow_complete_task(
            workflow,
            task_id=task.workflow_task_id,
            outcome=outcome if properties.get("outcome_variable") else None,
        )
        refused = (
            outcome == parallel.Answer.REJECTED
            and properties.get("department_role") == "co"
            and getattr(engine_task.workflow, "parent_task_id", None) is not None
        )
        if refused:
            _withdraw_branches(workflow, engine_task.workflow)

        tasks = _mirror(case, workflow, rounds)
        _state_save(case, workflow, rounds)
        log.info(
            "bpmn_task_completed",
            case_id=case.pk,
            task_id=task.pk,
            outcome=outcome,
            refused=refused,
            tasks=[row.pk for row in tasks],
        )
        if workflow.is_completed():
            return RouteStep(finished=True, decision=_decision_for(outcome))
        return RouteStep(tasks=tasks)

"""BPMN routes: a case's review run by SpiffWorkflow, mirrored into tasks.

``BpmnRoute`` follows the ``routes.Route`` protocol. At start it takes the
item's active route version (``catalogue.processes.process_for_item``) and
keeps it on the case, so a newer import does not move a running case. The
engine's state is kept in ``Case.route_state`` between steps. Every human
task the engine has READY is mirrored into a ``Task`` row, which is what
inboxes read; a row whose engine task is no longer READY is closed as
"no longer needed".

Each task's clock comes from its properties ``limit``, ``limit_unit`` and
``warning`` (``cases.deadlines.node_clock``): working days end at office
closing of the Nth working day, working hours count office hours only, and
one is never turned into the other (case 14).

System steps and waits: a service task the engine leaves to this system,
and a message or signal the route waits for (a receive task, a catching
event, an event-based gateway), become system tasks of the lead department,
which reports them done once the thing has happened; for an event-based
gateway the task offers one answer per event. Separation of duties leaves
them out (they decide nothing) and they get a node clock only when the
element's properties give a limit. Timers fire by themselves: the periodic
job ``cases.tasks.fire_route_timers`` runs the cases whose
``route_wakes_at`` has passed. A step after which nothing could move the
route on (no task, no wait, no timer, not finished) is refused. A route
that ends without an answer that decides (the MIWG models) leaves the
decision to the lead department.

Parallel rounds (``cases.parallel``): a task inside a sub-process belongs to
that sub-process instance's round, numbered per case; a co-department's
review is a branch. A refusal closes the other open branches of its round
at once: the engine is told they were withdrawn, so the round's join fires.
What follows is the route's choice (the task property ``on_refusal``):
``deny`` (the default) ends the route with a denial naming the department
and its reason; ``lead_decides`` leaves it to the lead department, which may
then deny or ask again but not approve.
"""

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
from smartapproval.cases import parallel, selectors
from smartapproval.cases.deadlines import (
    OFFICE_CLOSES,
    OFFICE_OPENS,
    WORKING_DAYS,
    WORKING_HOURS,
    NodeDue,
    node_clock,
    node_due,
)
from smartapproval.cases.models import (
    Case,
    Decision,
    Task,
    TaskKind,
    TaskOutcome,
    TaskStatus,
)
from smartapproval.cases.routes import LaterNode, RouteStep
from smartapproval.catalogue.processes import (
    DECISION_ANSWERS,
    DECISION_VARIABLE,
    WAIT_EVENT,
    WAIT_TIMER,
    OpenTask,
    process_for_item,
    task_answers,
    workflow_complete_task,
    workflow_is_stuck,
    workflow_open_tasks,
    workflow_refresh_timers,
    workflow_report_event,
    workflow_restore,
    workflow_serialize,
    workflow_start,
    workflow_stopped_at,
    workflow_system_steps,
    workflow_waits,
)
from smartapproval.core import deadlines as workdays
from smartapproval.core.api import ServiceError

log = structlog.get_logger(__name__)

__all__ = [
    "BPMN_ROUTE_KEY",
    "OFFICE_CLOSES",
    "OFFICE_OPENS",
    "WORKING_DAYS",
    "WORKING_HOURS",
    "BpmnRoute",
    "NodeDue",
    "SendBackTarget",
    "node_due",
]

BPMN_ROUTE_KEY = "bpmn"
# Engine steps a withdrawal may take in one round (a branch in revision
# needs two: the revision, then the review again).
MAX_WITHDRAW_STEPS = 50

# The lead department's decision when the route ended without one.
END_DECISION_NODE = "route_end_decision"

APPROVING = frozenset({"approved", "approved_with_conditions", "approve"})
DENYING = frozenset({"rejected", "denied", "deny"})
REFUSAL_DENIES = "deny"


@dataclass(frozen=True)
class SendBackTarget:
    """An earlier node a task may send the case back to."""

    node_key: str
    name: str
    workflow_task_id: Any


def _properties(engine_task: Any) -> dict[str, str]:
    return _spec_properties(engine_task.task_spec)


def _spec_properties(spec: Any) -> dict[str, str]:
    extensions = getattr(spec, "extensions", None) or {}
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


def _whole(text: str) -> int | None:
    return int(text) if text and text.isdigit() else None


@dataclass(frozen=True)
class _SystemTask:
    """What a system task row says: its name and the answers it takes."""

    name: str
    answers: list[str]
    labels: dict[str, str]


def _task_open(
    *,
    case: Case,
    open_task: OpenTask,
    engine_task: Any,
    rounds: dict[str, int],
    system: _SystemTask | None = None,
) -> Task:
    properties = open_task.properties
    opened_at = timezone.now()
    limit = _whole(properties.get("limit", ""))
    unit = properties.get("limit_unit") or WORKING_DAYS
    warning = _whole(properties.get("warning", ""))
    clock = (
        node_clock(opened_at=opened_at, limit=limit, unit=unit, warning=warning)
        if limit
        else None
    )
    common = {
        "case": case,
        "created_at": opened_at,
        "node_key": open_task.bpmn_id[:60],
        "started_on": workdays.beijing_date(opened_at),
        "limit_working_days": limit if limit and unit == WORKING_DAYS else None,
        "limit_unit": unit if limit else "",
        "limit_value": limit,
        "warning_value": warning if limit else None,
        "due_on": clock.due.due_on if clock else None,
        "due_at": clock.due.due_at if clock else None,
        "warn_at": clock.warn_at if clock else None,
        "due_provisional": clock.due.provisional if clock else False,
        "workflow_task_id": open_task.id,
    }
    if system is not None:
        # The lead department reports what the route waits for: no
        # co-department, branch or round (separation of duties leaves
        # system tasks out, selectors.task_excluded_for_user).
        return Task.objects.create(
            **common,
            kind=TaskKind.SYSTEM,
            name=system.name[:100],
            department=case.department,
            answers=system.answers,
            answer_labels=system.labels,
        )

    branch = properties.get("revision_for", "")
    if not branch and properties.get("department_role") == "co":
        branch = open_task.bpmn_id
    return Task.objects.create(
        **common,
        name=open_task.name[:100],
        department=_department_for(case, properties),
        branch=branch[:100],
        round=_round_of(engine_task, rounds),
        answers=list(task_answers(properties)),
        decides=properties.get("outcome_variable") == DECISION_VARIABLE,
    )


def _system_tasks(workflow: BpmnWorkflow) -> list[tuple[OpenTask, _SystemTask]]:
    """List the system steps and reported waits the route stands at."""
    found = [
        (
            step,
            _SystemTask(
                gettext("System step: %(name)s") % {"name": step.name},
                [TaskOutcome.DONE],
                {},
            ),
        )
        for step in workflow_system_steps(workflow)
    ]
    for wait in workflow_waits(workflow):
        if wait.kind != WAIT_EVENT:
            continue
        labels = (
            {choice.key: choice.name for choice in wait.choices}
            if len(wait.choices) > 1
            else {}
        )
        found.append(
            (
                OpenTask(wait.id, wait.bpmn_id, wait.name, {}, ""),
                _SystemTask(
                    gettext("Wait: %(name)s") % {"name": wait.name},
                    [choice.key for choice in wait.choices],
                    labels,
                ),
            )
        )
    return found


def _mirror(case: Case, workflow: BpmnWorkflow, rounds: dict[str, int]) -> list[Task]:
    """Open a row for each READY human task; close rows no longer READY.

    System steps and reported waits get rows of their own the same way.
    """
    _ensure_not_stuck(workflow)
    ready = workflow_open_tasks(workflow)
    system = _system_tasks(workflow)
    ready_ids = {task.id for task in ready} | {step.id for step, _ in system}
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
        row.signers.filter(status="pending").update(status="cancelled")
        audit_record(
            actor=None,
            action="task_cancelled",
            target=row,
            before={"status": TaskStatus.OPEN},
            after={"status": row.status, "case": case.number},
            actor_label="bpmn-route",
        )
        log.info("task_cancelled", task_id=row.pk, case_id=case.pk)
    opened = [
        _task_open(
            case=case,
            open_task=open_task,
            engine_task=workflow.get_task_from_id(open_task.id),
            rounds=rounds,
        )
        for open_task in ready
        if open_task.id not in kept
    ]
    return opened + [
        _task_open(
            case=case, open_task=step, engine_task=None, rounds=rounds, system=what
        )
        for step, what in system
        if step.id not in kept
    ]


def _ensure_not_stuck(workflow: BpmnWorkflow) -> None:
    """Refuse a step after which nobody and nothing could move the route."""
    if not workflow_is_stuck(workflow):
        return
    raise ServiceError(
        gettext(
            "The route would stop at %(element)s with no task to handle, nothing "
            "to wait for and without reaching its end; nothing was changed. Ask "
            "the administrator to correct the route."
        )
        % {"element": workflow_stopped_at(workflow)},
        field="route",
        code="route_stuck",
        status=409,
    )


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
    timers = sorted(
        (
            (wait.due, wait)
            for wait in workflow_waits(workflow)
            if wait.kind == WAIT_TIMER and wait.due is not None
        ),
        key=lambda pair: pair[0],
    )
    case.route_state = {
        "workflow": json.loads(workflow_serialize(workflow)),
        "rounds": rounds,
        # What the case page shows the route waits for, soonest first.
        "timers": [
            {"name": wait.name, "node": wait.bpmn_id, "due": due.isoformat()}
            for due, wait in timers
        ],
    }
    case.route_wakes_at = timers[0][0] if timers else None
    case.save(
        update_fields=["route_process", "route_state", "route_wakes_at", "updated_at"]
    )


def _end_decision_open(case: Case) -> Task:
    """Leave the decision to the lead department: the route gave none."""
    opened_at = timezone.now()
    return Task.objects.create(
        case=case,
        created_at=opened_at,
        node_key=END_DECISION_NODE,
        name=gettext("Decision on the application"),
        department=case.department,
        started_on=workdays.beijing_date(opened_at),
        answers=list(DECISION_ANSWERS),
        decides=True,
    )


def _restore(case: Case) -> tuple[BpmnWorkflow, dict[str, int]]:
    workflow = workflow_restore(json.dumps(case.route_state["workflow"]))
    return workflow, dict(case.route_state.get("rounds", {}))


def _engine_task(workflow: BpmnWorkflow, task: Task) -> Any:
    try:
        return workflow.get_task_from_id(task.workflow_task_id)
    except TaskNotFoundException:
        return None


def _route_end(case: Case, outcome: str) -> RouteStep:
    """Finish with the decision the last answer gave, or ask the lead for one."""
    if outcome in APPROVING or outcome in DENYING:
        return RouteStep(finished=True, decision=_decision_for(outcome))
    task = _end_decision_open(case)
    log.info("bpmn_route_ended_without_decision", case_id=case.pk, task_id=task.pk)
    return RouteStep(tasks=[task])


def _decision_for(outcome: str) -> str:
    if outcome in APPROVING:
        return Decision.APPROVED
    if outcome in DENYING:
        return Decision.DENIED
    raise ValueError(f"the route ended on an outcome that decides nothing: {outcome}")


def _refusal_reason(refusals: list[parallel.Refusal]) -> str:
    return "；".join(
        gettext("%(department)s does not agree: %(reason)s")
        % {"department": refusal.department, "reason": refusal.reason}
        for refusal in refusals
    )


def _ancestors(engine_task: Any) -> list[Any]:
    """List the tasks that led to ``engine_task``, nearest first.

    Crosses out of a sub-process into the task that started it, so a node
    inside a round can send the case back to the node before the round.
    """
    found = []
    current = engine_task
    while current is not None:
        parent = current.parent
        if parent is None:
            parent_id = getattr(current.workflow, "parent_task_id", None)
            if parent_id is None:
                break
            parent = current.workflow.top_workflow.get_task_from_id(parent_id)
        found.append(parent)
        current = parent
    return found


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

    def answer_check(self, task: Task, outcome: str) -> None:
        """Refuse an answer the route would not take here (before any write).

        The lead department cannot approve after a co-department refused
        in the round it decides on.
        """
        if not (task.decides and outcome in APPROVING):
            return
        latest = selectors.case_latest_round(task.case)
        if latest is None:
            return
        refusals = parallel.round_result(case=task.case, round=latest).refusals
        if refusals:
            raise ServiceError(
                gettext(
                    "A co-department refused the application (%(reasons)s); it "
                    "cannot be approved. Deny it or ask the co-departments again."
                )
                % {"reasons": _refusal_reason(refusals)},
                field="outcome",
                code="refused_by_co_department",
                status=409,
            )

    def on_task_completed(self, task: Task, outcome: str) -> RouteStep:
        parallel.task_ensure_open(task)
        case = task.case
        if task.node_key == END_DECISION_NODE and task.workflow_task_id is None:
            return RouteStep(finished=True, decision=_decision_for(outcome))
        if task.workflow_task_id is None or not case.route_state:
            raise ValueError(f"task {task.pk} is not on a BPMN route")
        if task.kind == TaskKind.SYSTEM:
            return self._system_task_completed(task, outcome)
        parallel.answer_check(outcome=outcome, opinion=task.opinion)

        workflow, rounds = _restore(case)
        engine_task = _engine_task(workflow, task)
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
        denial = ""
        if refused:
            _withdraw_branches(workflow, engine_task.workflow)
            if properties.get("on_refusal", REFUSAL_DENIES) == REFUSAL_DENIES:
                denial = _refusal_reason(
                    [parallel.Refusal(task.department.name, task.opinion)]
                )
                workflow.cancel()

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
        if denial:
            return RouteStep(finished=True, decision=Decision.DENIED, reason=denial)
        if workflow.is_completed():
            return _route_end(case, outcome)
        return RouteStep(tasks=tasks)

    def _system_task_completed(self, task: Task, outcome: str) -> RouteStep:
        """Do the system step, or deliver the event the route waits for."""
        case, task_id = task.case, task.workflow_task_id
        if task_id is None:
            raise ValueError(f"task {task.pk} is not on a BPMN route")
        workflow, rounds = _restore(case)
        engine_task = _engine_task(workflow, task)
        if engine_task is not None and engine_task.state == TaskState.STARTED:
            workflow_complete_task(workflow, task_id=task_id)
        else:
            workflow_report_event(workflow, task_id=task_id, choice=outcome)

        tasks = _mirror(case, workflow, rounds)
        _state_save(case, workflow, rounds)
        log.info(
            "bpmn_system_task_completed",
            case_id=case.pk,
            task_id=task.pk,
            outcome=outcome,
            tasks=[row.pk for row in tasks],
        )
        if workflow.is_completed():
            return _route_end(case, outcome)
        return RouteStep(tasks=tasks)

    def timers_fire(self, case: Case) -> RouteStep | None:
        """Fire the route's timers that are due; None when none was.

        The case is expected locked by the calling service.
        """
        if not case.route_state:
            return None
        workflow, rounds = _restore(case)
        if not workflow_refresh_timers(workflow):
            # Nothing fired (the clock moved back, or another run was
            # first); only the next wake-up may need writing down.
            _state_save(case, workflow, rounds)
            return None

        tasks = _mirror(case, workflow, rounds)
        _state_save(case, workflow, rounds)
        log.info("bpmn_timers_fired", case_id=case.pk, tasks=[row.pk for row in tasks])
        if workflow.is_completed():
            return _route_end(case, "")
        return RouteStep(tasks=tasks)

    def send_back_targets(self, task: Task) -> list[SendBackTarget]:
        """List the earlier human nodes ``task`` may send the case back to."""
        # Read the engine's state as stored now, not as a caller's copy of
        # the case held it.
        case = Case.objects.get(pk=task.case_id)
        if task.workflow_task_id is None or not case.route_state:
            return []
        workflow, _ = _restore(case)
        engine_task = _engine_task(workflow, task)
        if engine_task is None:
            return []
        targets: list[SendBackTarget] = []
        seen = {engine_task.task_spec.bpmn_id}
        for ancestor in _ancestors(engine_task):
            spec = ancestor.task_spec
            if not getattr(spec, "manual", False) or spec.bpmn_id in seen:
                continue
            if ancestor.state != TaskState.COMPLETED:
                continue
            seen.add(spec.bpmn_id)
            name = " ".join((spec.bpmn_name or spec.bpmn_id).split())
            targets.append(SendBackTarget(spec.bpmn_id, name, ancestor.id))
        return targets

    def later_nodes(self, task: Task) -> list[LaterNode]:
        """List the human nodes of ``task``'s department reachable after it.

        Follows the drawn flows, into sub-processes and out of the ones
        ``task`` is in, loops included (another round reaches the lead's
        check again); leaves out ``task``'s own node and revision steps.
        """
        case = task.case
        if task.workflow_task_id is None or not case.route_state:
            return []
        workflow, _ = _restore(case)
        engine_task = _engine_task(workflow, task)
        if engine_task is None:
            return []

        stack = list(engine_task.task_spec.outputs)
        scope = engine_task.workflow
        while (parent_id := getattr(scope, "parent_task_id", None)) is not None:
            parent = workflow.get_task_from_id(parent_id)
            stack.extend(parent.task_spec.outputs)
            scope = parent.workflow
        found: dict[str, LaterNode] = {}
        seen: set[int] = set()
        while stack:
            spec = stack.pop()
            if id(spec) in seen:
                continue
            seen.add(id(spec))
            stack.extend(spec.outputs)
            inner = getattr(spec, "spec", None)
            if isinstance(inner, str) and inner in workflow.subprocess_specs:
                stack.append(workflow.subprocess_specs[inner].start)
            if not getattr(spec, "manual", False) or spec.bpmn_id == task.node_key:
                continue
            properties = _spec_properties(spec)
            if properties.get("revision_for"):
                continue
            if properties.get("department_role") == "co":
                ours = properties.get("department", "") == task.department.name
            else:
                ours = task.department_id == case.department_id
            if ours:
                name = " ".join((spec.bpmn_name or spec.bpmn_id).split())
                found[spec.bpmn_id] = LaterNode(spec.bpmn_id, name)
        return list(found.values())

    def send_back(self, task: Task, node_key: str) -> RouteStep:
        """Reopen the earlier node ``node_key``; what came after it is undone."""
        parallel.task_ensure_open(task)
        target = next(
            (t for t in self.send_back_targets(task) if t.node_key == node_key), None
        )
        if target is None:
            raise ServiceError(
                gettext("The case cannot be sent back to that step from here."),
                field="node",
                code="invalid_send_back",
                status=409,
            )
        case = task.case
        workflow, rounds = _restore(case)
        workflow.reset_from_task_id(target.workflow_task_id)
        workflow.do_engine_steps()
        tasks = _mirror(case, workflow, rounds)
        _state_save(case, workflow, rounds)
        log.info(
            "bpmn_sent_back",
            case_id=case.pk,
            task_id=task.pk,
            node=node_key,
            tasks=[row.pk for row in tasks],
        )
        return RouteStep(tasks=tasks)

"""Review routes: which tasks a case goes through between acceptance and decision.

A route is anything that follows the ``Route`` protocol. Every item runs on
a BPMN 2.0 route (``cases.workflow.BpmnRoute``): its own, or the shipped
single-department template. ``SequentialRoute`` (审查 → 审核 → 审批 in Python)
is kept only for cases accepted before routes became BPMN, which finish on
the route they started with. Routes only create and read tasks; the
services own the case's status.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Protocol

from django.utils.translation import gettext

from smartapproval.cases.models import Case, Decision, Task, TaskOutcome
from smartapproval.catalogue.models import ServiceItem
from smartapproval.catalogue.processes import process_for_item, process_install_shipped
from smartapproval.core import deadlines as workdays
from smartapproval.core.api import ServiceError
from smartapproval.core.models import LimitUnit

SEQUENTIAL_ROUTE_KEY = "sequential"


@dataclass
class RouteStep:
    """What a route does after a task is completed.

    Either new tasks are open, or the route is finished and proposes a
    decision for the case.
    """

    tasks: list[Task] = field(default_factory=list)
    finished: bool = False
    decision: str = ""
    # Why the route decided so, when the applicant must be told (a
    # co-department's refusal).
    reason: str = ""


class Route(Protocol):
    """The contract every review route follows."""

    key: str

    def start(self, case: Case) -> list[Task]:
        """Open the first tasks of an accepted case."""
        ...

    def answer_check(self, task: Task, outcome: str) -> None:
        """Refuse an answer the route cannot take now (ServiceError)."""
        ...

    def on_task_completed(self, task: Task, outcome: str) -> RouteStep:
        """Open the next tasks, or finish with a proposed decision."""
        ...

    def send_back_targets(self, task: Task) -> list:
        """List the earlier nodes ``task`` may send the case back to."""
        ...

    def send_back(self, task: Task, node_key: str) -> RouteStep:
        """Reopen the earlier node ``node_key``."""
        ...

    def timers_fire(self, case: Case) -> RouteStep | None:
        """Fire the route's timers that are due; None when none was."""
        ...

    def later_nodes(self, task: Task) -> list["LaterNode"]:
        """List the nodes of ``task``'s department the route may reach after it.

        Other than ``task``'s own node and revision steps, which decide
        nothing: the nodes separation of duties needs fresh hands for.
        """
        ...


@dataclass(frozen=True)
class SendBackNode:
    """An earlier node of a sequential route."""

    node_key: str
    name: str


@dataclass(frozen=True)
class LaterNode:
    """A node a route may still reach after a task."""

    node_key: str
    name: str


@dataclass(frozen=True)
class RouteNode:
    """One step of a sequential route, with its own limit in working days.

    ``limit_days`` None takes ``default_days``; the last node without a
    limit takes what is left of the case's promised limit (at least 1).
    """

    key: str
    name: str
    limit_days: int | None = None
    default_days: int = 1


def task_open(
    *, case: Case, node_key: str, name: str, limit_days: int, started_on: date
) -> Task:
    """Open a task of the case's department with a due date from the calendar."""
    deadline = workdays.add_working_days(started_on, limit_days)
    return Task.objects.create(
        case=case,
        node_key=node_key,
        name=name,
        department_id=case.department_id,
        started_on=started_on,
        limit_working_days=limit_days,
        due_on=deadline.due,
        due_provisional=deadline.provisional,
        answers=list(SEQUENTIAL_ANSWERS),
    )


def promised_working_days(case: Case) -> int:
    """Return the promised limit of an accepted case in working days."""
    if case.promised_limit_unit == LimitUnit.WORKING_DAYS:
        return case.promised_limit_value or 0
    if case.accepted_on is None or case.promised_due is None:
        return 0
    if case.promised_due <= case.accepted_on:
        return 0
    # Start day is not counted, as for every limit.
    return workdays.working_days_between(
        case.accepted_on + timedelta(days=1), case.promised_due
    )


SEQUENTIAL_ANSWERS = (TaskOutcome.APPROVE, TaskOutcome.DENY, TaskOutcome.RETURN)


class SequentialRoute:
    """Nodes one after another inside the implementing department.

    Approve or deny at a node other than the last passes the case on with
    the opinion; at the last node it proposes the decision. Return sends the
    case back to the previous node.

    Compatibility: runs the cases accepted before every item had a BPMN
    route; it can go once no open case has ``route_key`` "sequential".
    """

    def __init__(self, *, key: str, nodes: tuple[RouteNode, ...]) -> None:
        if not nodes:
            raise ValueError("a route needs at least one node")
        self.key = key
        self.nodes = nodes
        self._index = {node.key: i for i, node in enumerate(nodes)}

    def node_limits(self, case: Case) -> dict[str, int]:
        """Return each node's limit in working days for ``case``."""
        limits = {
            node.key: max(1, node.limit_days or node.default_days)
            for node in self.nodes[:-1]
        }
        last = self.nodes[-1]
        if last.limit_days:
            limits[last.key] = last.limit_days
        else:
            rest = promised_working_days(case) - sum(limits.values())
            limits[last.key] = max(1, rest)
        return limits

    def start(self, case: Case) -> list[Task]:
        first = self.nodes[0]
        limit = self.node_limits(case)[first.key]
        started_on = case.accepted_on or workdays.beijing_today()
        return [
            task_open(
                case=case,
                node_key=first.key,
                name=first.name,
                limit_days=limit,
                started_on=started_on,
            )
        ]

    def on_task_completed(self, task: Task, outcome: str) -> RouteStep:
        index = self._index.get(task.node_key)
        if index is None:
            raise ValueError(f"task node {task.node_key!r} is not on route {self.key}")

        if outcome == TaskOutcome.RETURN:
            if index == 0:
                raise ServiceError(
                    gettext("The first review step cannot return the case."),
                    field="outcome",
                    code="cannot_return",
                    status=409,
                )
            return RouteStep(tasks=[self._open(task.case, index - 1)])

        if index == len(self.nodes) - 1:
            decision = (
                Decision.APPROVED if outcome == TaskOutcome.APPROVE else Decision.DENIED
            )
            return RouteStep(finished=True, decision=decision)

        return RouteStep(tasks=[self._open(task.case, index + 1)])

    def answer_check(self, task: Task, outcome: str) -> None:
        return None

    def send_back_targets(self, task: Task) -> list[SendBackNode]:
        index = self._index.get(task.node_key, 0)
        return [SendBackNode(n.key, n.name) for n in reversed(self.nodes[:index])]

    def send_back(self, task: Task, node_key: str) -> RouteStep:
        index = self._index.get(node_key)
        if index is None or index >= self._index.get(task.node_key, 0):
            raise ServiceError(
                gettext("The case cannot be sent back to that step from here."),
                field="node",
                code="invalid_send_back",
                status=409,
            )
        return RouteStep(tasks=[self._open(task.case, index)])

    def timers_fire(self, case: Case) -> RouteStep | None:
        # Sequential routes have no timers.
        return None

    def later_nodes(self, task: Task) -> list[LaterNode]:
        index = self._index.get(task.node_key)
        if index is None or task.department_id != task.case.department_id:
            return []
        return [LaterNode(n.key, n.name) for n in self.nodes[index + 1 :]]

    def _open(self, case: Case, index: int) -> Task:
        node = self.nodes[index]
        return task_open(
            case=case,
            node_key=node.key,
            name=node.name,
            limit_days=self.node_limits(case)[node.key],
            started_on=workdays.beijing_today(),
        )


# Node names are the official names of the steps, shown as they are.
DEFAULT_NODES = (
    RouteNode(key="review", name="审查", default_days=2),
    RouteNode(key="check", name="审核", default_days=1),
    RouteNode(key="approve", name="审批"),
)

_ROUTES: dict[str, Route] = {
    SEQUENTIAL_ROUTE_KEY: SequentialRoute(
        key=SEQUENTIAL_ROUTE_KEY, nodes=DEFAULT_NODES
    ),
}
# Service item implementation code → route key, for items with their own route.
_ITEM_ROUTES: dict[str, str] = {}


def register_route(route: Route) -> None:
    """Make ``route`` available under its key (at start-up, not per request)."""
    _ROUTES[route.key] = route


def assign_route(*, implementation_code: str, key: str) -> None:
    """Run the item with ``implementation_code`` on the route ``key``."""
    if key not in _ROUTES:
        raise KeyError(key)
    _ITEM_ROUTES[implementation_code] = key


def route_get(key: str) -> Route:
    """Return the route registered under ``key`` (the default when blank)."""
    return _ROUTES[key or SEQUENTIAL_ROUTE_KEY]


def route_for(item: ServiceItem) -> Route:
    """Return the route a new case of ``item`` runs on: its BPMN route.

    A database without the shipped route templates gets them here, once,
    so that acceptance never depends on an installation step.
    """
    key = _ITEM_ROUTES.get(item.implementation_code)
    if key is not None:
        return _ROUTES[key]
    if process_for_item(item=item) is None:
        try:
            process_install_shipped(actor=None)
        except ServiceError as exc:
            # Two first acceptances at once: the other one installed them
            # (its insert committed before ours failed), which is as good.
            if exc.code != "conflict" or process_for_item(item=item) is None:
                raise
    return _ROUTES[BPMN_ROUTE_KEY]


# BPMN routes run by SpiffWorkflow; imported last since cases.workflow uses
# RouteStep from here.
from smartapproval.cases.workflow import BPMN_ROUTE_KEY, BpmnRoute  # noqa: E402

register_route(BpmnRoute())

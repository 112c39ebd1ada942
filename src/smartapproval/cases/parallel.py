"""Parallel review (并联审批): the answers of a round and what they add up to.

The lead department dispatches a round to its co-departments at once; each
branch answers on its own clock and the round closes when the last branch
has answered. The round's outcome is the most severe answer. A refusal
needs a reason and ends the round at once: the other open branches are no
longer needed (``cases.workflow`` closes them in the engine).
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext

from smartapproval.cases.models import Case, CaseStatus, Task, TaskStatus
from smartapproval.core.api import ServiceError


class Answer:
    """Answers of a review task on a BPMN route, mildest first."""

    APPROVED = "approved"
    APPROVED_WITH_CONDITIONS = "approved_with_conditions"
    REVISION_REQUIRED = "revision_required"
    REJECTED = "rejected"


SEVERITY = (
    Answer.APPROVED,
    Answer.APPROVED_WITH_CONDITIONS,
    Answer.REVISION_REQUIRED,
    Answer.REJECTED,
)
# What the engine is told for a branch closed by another's refusal.
WITHDRAWN = "withdrawn"


def aggregate(outcomes: list[str]) -> str:
    """Return the most severe answer of ``outcomes``.

    rejected > revision_required > approved_with_conditions > approved. An
    empty round or an unknown answer is a programming error.
    """
    if not outcomes:
        raise ValueError("a round without answers has no outcome")
    unknown = set(outcomes) - set(SEVERITY)
    if unknown:
        raise ValueError(f"unknown answers: {sorted(unknown)}")
    return max(outcomes, key=SEVERITY.index)


# How severe any task answer is, for countersignatures that must all sign:
# the task takes the most severe one.
ANSWER_SEVERITY = (
    "done",
    "revised",
    Answer.APPROVED,
    Answer.APPROVED_WITH_CONDITIONS,
    Answer.REVISION_REQUIRED,
    "another_round",
    Answer.REJECTED,
    "denied",
)


def most_severe(outcomes: list[str]) -> str:
    """Return the most severe of any task answers (see ``ANSWER_SEVERITY``)."""
    if not outcomes:
        raise ValueError("no answers to weigh")
    return max(
        outcomes,
        key=lambda o: ANSWER_SEVERITY.index(o) if o in ANSWER_SEVERITY else -1,
    )


def answer_check(*, outcome: str, opinion: str) -> None:
    """Refuse a refusal without a reason (ServiceError 400 on ``opinion``)."""
    if outcome == Answer.REJECTED and not (opinion or "").strip():
        raise ServiceError(
            gettext("Give the reason when you refuse."),
            field="opinion",
            code="required",
        )


def task_ensure_open(task: Task) -> None:
    """Refuse an answer on a task that is no longer needed (409), saying why."""
    if task.status != TaskStatus.CANCELLED:
        return
    case = task.case
    refused = (
        task.round is not None
        and case.tasks.filter(
            round=task.round, status=TaskStatus.DONE, outcome=Answer.REJECTED
        ).exists()
    )
    if case.status in {
        CaseStatus.WITHDRAWN,
        CaseStatus.TERMINATED,
        CaseStatus.NOT_ACCEPTED,
    }:
        message = gettext(
            "This review is no longer needed: the application was withdrawn or ended."
        )
    elif refused:
        message = gettext(
            "This review is no longer needed: another department has "
            "already refused the application."
        )
    elif case.decision:
        message = gettext("This review is no longer needed: the case has been decided.")
    else:
        message = gettext(
            "This review is no longer needed: the case was sent back to an "
            "earlier step."
        )
    raise ServiceError(message, field="task", code="task_cancelled", status=409)


@dataclass(frozen=True)
class Refusal:
    """A co-department's refusal, as the applicant is told it."""

    department: str
    reason: str


@dataclass(frozen=True)
class BranchAnswer:
    """Where one co-department's branch of a round stands."""

    branch: str
    department: str
    outcome: str
    opinion: str
    open: bool


@dataclass(frozen=True)
class RoundResult:
    """Where a round of parallel review stands.

    ``outcome`` is the most severe latest answer of its branches ("" before
    any answer); ``closed`` says no branch task is open any more.
    """

    round: int
    outcome: str
    closed: bool
    answers: dict[str, str] = field(default_factory=dict)
    refusals: list[Refusal] = field(default_factory=list)
    branches: list[BranchAnswer] = field(default_factory=list)


def round_result(*, case: Case, round: int) -> RoundResult:
    """Return the outcome of ``case``'s parallel round number ``round``.

    Each branch counts with its latest answer: a branch that asked for a
    revision and then approved counts as approved. Branches closed by a
    refusal count with no answer.
    """
    tasks = list(
        case.tasks.filter(round=round)
        .exclude(branch="")
        .select_related("department")
        .order_by("created_at", "pk")
    )
    answers: dict[str, str] = {}
    refusals: list[Refusal] = []
    latest: dict[str, BranchAnswer] = {}
    for task in tasks:
        if task.status == TaskStatus.DONE and task.outcome in SEVERITY:
            answers[task.branch] = task.outcome
            if task.outcome == Answer.REJECTED:
                refusals.append(Refusal(task.department.name, task.opinion))
        # A revision step counts for its branch but answers nothing.
        if task.node_key != task.branch:
            continue
        if task.status == TaskStatus.DONE or task.branch not in latest:
            latest[task.branch] = BranchAnswer(
                branch=task.branch,
                department=task.department.name,
                outcome=task.outcome if task.status == TaskStatus.DONE else "",
                opinion=task.opinion,
                open=task.status == TaskStatus.OPEN,
            )
        elif task.status == TaskStatus.OPEN:
            done = latest[task.branch]
            latest[task.branch] = BranchAnswer(
                done.branch, done.department, "", "", open=True
            )
    closed = not any(task.status == TaskStatus.OPEN for task in tasks)
    return RoundResult(
        round=round,
        outcome=aggregate(list(answers.values())) if answers else "",
        closed=closed,
        answers=answers,
        refusals=refusals,
        branches=list(latest.values()),
    )

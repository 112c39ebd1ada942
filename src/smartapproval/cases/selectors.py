"""Reads of cases, tasks and materials, each within the reader's data scope.

Staff see their own department's cases and the cases with a task of their
department; centre managers and administrators see all; applicants see the
cases of their own account; anyone else sees nothing. Whatever is out of
scope is a 404, never a 403: a stranger does not learn that it exists.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext

from smartapproval.accounts.models import Role, User
from smartapproval.cases import commitments, deadlines, transitions
from smartapproval.cases.models import (
    Case,
    CaseAction,
    CaseEvent,
    CaseMaterial,
    CaseStatus,
    CommitmentMaterial,
    SignerStatus,
    Task,
    TaskKind,
    TaskOutcome,
    TaskSigner,
    TaskStatus,
)
from smartapproval.core import deadlines as workdays

BEIJING = ZoneInfo("Asia/Shanghai")


def _is_user(user: User | None) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def case_list_for_user(
    *, user: User | None, status: str | None = None, query: str | None = None
) -> QuerySet[Case]:
    """Return the cases ``user`` may see, newest first, optionally filtered.

    ``query`` matches the case number, the item's name, the applicant's name,
    or the applicant's code exactly.
    """
    cases = Case.objects.select_related("item", "department")
    if not _is_user(user):
        return cases.none()

    if user.sees_all_departments:
        pass
    elif user.is_staff_member and user.department_id:
        own_tasks = Task.objects.filter(
            case=OuterRef("pk"), department_id=user.department_id
        )
        cases = cases.filter(Q(department_id=user.department_id) | Exists(own_tasks))
    elif user.role == Role.APPLICANT:
        cases = cases.filter(applicant_account=user)
    else:
        return cases.none()

    if status:
        cases = cases.filter(status=status)
    query = (query or "").strip()
    if query:
        cases = cases.filter(
            Q(number__icontains=query)
            | Q(item__name__icontains=query)
            | Q(applicant_name__icontains=query)
            | Q(applicant_code=query.upper())
        )
    return cases.order_by("-submitted_at", "-pk")


def case_get_for_user(*, user: User | None, number: str) -> Case:
    """Return the case numbered ``number`` if ``user`` may see it, else 404."""
    case = case_list_for_user(user=user).filter(number=number).first()
    if case is None:
        raise Http404(gettext("No such case."))
    return case


def task_visible_for_user(*, user: User | None) -> QuerySet[Task]:
    """Return the tasks ``user`` may see: their department's, or all."""
    tasks = Task.objects.select_related("case", "case__item", "department")
    if not _is_user(user) or not user.is_staff_member:
        return tasks.none()
    if user.sees_all_departments:
        return tasks
    if not user.department_id:
        return tasks.none()
    return tasks.filter(department_id=user.department_id)


def task_get_for_user(*, user: User | None, pk: int) -> Task:
    """Return task ``pk`` if ``user`` may see it, else 404."""
    task = task_visible_for_user(user=user).filter(pk=pk).first()
    if task is None:
        raise Http404(gettext("No such task."))
    return task


def task_get_on_visible_case(*, user: User | None, pk: int) -> Task:
    """Return task ``pk`` of any case ``user`` may see, else 404.

    For the lead department and the centre, who follow (and urge) the
    co-departments' tasks of their cases; acting on a task is checked by
    the services.
    """
    # Tasks carry internal opinions: staff only, never the applicant.
    if not _is_user(user) or not user.is_staff_member:
        raise Http404(gettext("No such task."))
    visible = case_list_for_user(user=user).values("pk")
    task = (
        Task.objects.select_related("case", "case__item", "department")
        .filter(pk=pk, case__in=visible)
        .first()
    )
    if task is None:
        raise Http404(gettext("No such task."))
    return task


def task_colleagues(*, task: Task, user: User) -> QuerySet[User]:
    """Return the reviewers ``user`` may hand ``task`` to or ask to sign it.

    Reviewers of the task's department; the centre also sees every other
    department's reviewers, to send a misrouted task on.
    """
    reviewers = User.objects.filter(is_active=True, role=Role.REVIEWER).exclude(
        pk=user.pk
    )
    if not user.sees_all_departments:
        reviewers = reviewers.filter(department_id=task.department_id)
    return reviewers.select_related("department").order_by("department_id", "name")


def case_open_revisions(case: Case) -> list[Task]:
    """List the revisions co-departments asked for that are still open.

    Each is the lead department's revision step of a branch, with the
    opinion of the review that asked for it in ``asked``.
    """
    steps = list(
        case.tasks.filter(status=TaskStatus.OPEN, kind=TaskKind.REVIEW)
        .exclude(branch="")
        .exclude(node_key=F("branch"))
        .order_by("created_at", "pk")
    )
    for step in steps:
        step.asked = (
            case.tasks.filter(
                node_key=step.branch,
                status=TaskStatus.DONE,
                outcome=TaskOutcome.REVISION_REQUIRED,
            )
            .select_related("department")
            .order_by("-completed_at", "-pk")
            .first()
        )
    return steps


def revision_files_received(task: Task) -> list[CaseMaterial]:
    """List the files handed in for the case since revision step ``task`` opened.

    The revised files the applicant (or a window clerk for them) supplied
    while the revision was open; materials promised under conditional
    acceptance are not revisions, even when they came in meanwhile.
    """
    deferred = CommitmentMaterial.objects.filter(
        commitment__case_id=task.case_id, material__isnull=False
    ).values("material_id")
    return list(
        CaseMaterial.objects.filter(
            case_id=task.case_id, uploaded_at__gt=task.created_at
        )
        .exclude(pk__in=deferred)
        .select_related("requirement")
        .order_by("uploaded_at", "pk")
    )


def case_latest_round(case: Case) -> int | None:
    """Return the number of the case's latest round of parallel review."""
    return (
        case.tasks.exclude(round__isnull=True)
        .order_by("-round")
        .values_list("round", flat=True)
        .first()
    )


def _standing(tasks: QuerySet[Task]) -> QuerySet[Task]:
    """Keep the completions that still stand: the latest one of each node.

    When a case went back to a node and someone else did it again, the
    earlier completion no longer counts for separation of duties, so a
    department is never left with nobody allowed to take the next node.
    """
    later = Task.objects.filter(
        Q(completed_at__gt=OuterRef("completed_at"))
        | Q(completed_at=OuterRef("completed_at"), pk__gt=OuterRef("pk")),
        case=OuterRef("case"),
        node_key=OuterRef("node_key"),
        status=TaskStatus.DONE,
    )
    return tasks.exclude(Exists(later))


def task_is_revision_step(task: Task) -> bool:
    """Tell whether ``task`` is a branch's revision step (按…意见补正).

    It only passes the applicant's revision on; it decides nothing, so
    separation of duties leaves it out.
    """
    return bool(task.branch) and task.node_key != task.branch


def _handled_by(user: User, *, case) -> QuerySet[Task]:
    """Review steps of ``case`` whose standing completion ``user`` took part in.

    Taking part is completing the step, or signing it as a co-signer or
    countersigner: a countersigned step is everyone's who signed it.
    """
    signed = TaskSigner.objects.filter(
        task=OuterRef("pk"), user=user, status=SignerStatus.SIGNED
    )
    return (
        _standing(
            Task.objects.filter(
                Q(completed_by=user) | Exists(signed),
                case=case,
                kind=TaskKind.REVIEW,
                status=TaskStatus.DONE,
            )
        )
        .exclude(~Q(branch="") & ~Q(node_key=F("branch")))
        .exclude(outcome=TaskOutcome.SENT_BACK)
    )


def _done_elsewhere_by(user: User) -> QuerySet[Task]:
    """Review steps ``user`` took part in at another node of the outer task's case."""
    return _handled_by(user, case=OuterRef("case")).exclude(
        node_key=OuterRef("node_key")
    )


def case_nodes_handled_by(*, case: Case | int, user: User) -> set[str]:
    """Return the nodes of ``case`` whose standing completion ``user`` took part in.

    The notion of separation of duties (``task_excluded_for_user``): a
    person may take only these nodes again, or any node if the set is empty.
    """
    return set(_handled_by(user, case=case).values_list("node_key", flat=True))


def task_excluded_for_user(*, task: Task, user: User | None) -> bool:
    """Tell whether separation of duties keeps ``user`` from ``task``.

    A person whose completion (or signature) of one node of a case still
    stands may not take another node of it; the same node again (after a
    return) is theirs. Neither the verification of a commitment, after the
    decision, nor a branch's revision step is a deciding node.
    """
    if not _is_user(user):
        return True
    if task.kind != TaskKind.REVIEW or task_is_revision_step(task):
        return False
    return _handled_by(user, case=task.case_id).exclude(node_key=task.node_key).exists()


def task_inbox_for_user(*, user: User | None) -> list[Task]:
    """List the open tasks the user acts on or watches, soonest due first.

    Reviewers get their department's open tasks they may complete, without
    those separation of duties keeps from them; centre managers and
    administrators watch every open task (read-only); anyone else, window
    clerks included, gets none. Each task carries ``clock``
    (deadlines.Clock) with its colour: green, yellow when few working days
    are left, red when overdue; never yellow or red while the case is
    suspended.
    """
    tasks = task_visible_for_user(user=user).filter(status=TaskStatus.OPEN)
    if not _is_user(user):
        return []
    signing = TaskSigner.objects.filter(
        task=OuterRef("pk"), user=user, status=SignerStatus.PENDING
    )
    if user.sees_all_departments:
        pass
    elif transitions.role_may(user.role, CaseAction.COMPLETE_TASK):
        # A task transferred or delegated to a colleague is theirs alone,
        # unless the user is asked to sign it.
        theirs = Q(assignee__isnull=True) | Q(assignee=user) | Q(delegate=user)
        revision_step = ~Q(branch="") & ~Q(node_key=F("branch"))
        tasks = tasks.exclude(
            Q(kind=TaskKind.REVIEW) & ~revision_step & Exists(_done_elsewhere_by(user))
        ).filter(theirs | Exists(signing))
    else:
        return []

    tasks = list(
        tasks.select_related("assignee")
        .annotate(signing=Exists(signing))
        .order_by("due_on", "created_at", "pk")
    )
    today = workdays.beijing_today()
    for task in tasks:
        task.clock = deadlines.task_clock(task, today=today)
    return tasks


# The window's to-do lists on the workbench: accept, issue the result, close.
CLERK_WORKLISTS = (CaseStatus.SUBMITTED, CaseStatus.DECIDED, CaseStatus.RESULT_ISSUED)


def case_worklist_for_user(*, user: User | None, status: str) -> QuerySet[Case]:
    """Return the cases in ``status`` waiting for the user, oldest first.

    Window clerks get their own department's cases (the ones they may act
    on); centre managers and administrators watch every department's;
    anyone else gets none.
    """
    cases = case_list_for_user(user=user, status=status)
    if not _is_user(user):
        return cases.none()
    if user.sees_all_departments:
        pass
    elif user.role == Role.CLERK and user.department_id:
        cases = cases.filter(department_id=user.department_id)
    else:
        return cases.none()

    return cases.order_by("submitted_at", "pk")


def case_timeline(case: Case) -> QuerySet[CaseEvent]:
    """Return the case's steps in the order they happened."""
    return case.events.order_by("at", "pk")


# How a department organises its work on a task stays inside it: the
# applicant's timeline leaves these out.
INTERNAL_ACTIONS = frozenset(
    {
        CaseAction.TRANSFER_TASK,
        CaseAction.DELEGATE_TASK,
        CaseAction.ADD_SIGNER,
        CaseAction.SIGN_TASK,
        CaseAction.URGE_TASK,
    }
)


# Timeline notes written for the applicant; review opinions stay internal.
APPLICANT_NOTE_ACTIONS = frozenset(
    {
        CaseAction.REFUSE,
        CaseAction.REQUEST_CORRECTION,
        CaseAction.SUPPLY_CORRECTION,
        CaseAction.REQUEST_REVISION,
        CaseAction.SUSPEND,
        CaseAction.EXTEND,
        CaseAction.DECIDE,
        CaseAction.WITHDRAW,
        CaseAction.TERMINATE,
        CaseAction.ACCEPT_CONDITIONALLY,
        CaseAction.SUPPLY_DEFERRED,
        CaseAction.RETURN,
        CaseAction.VERIFY_COMMITMENT,
        CaseAction.REVOKE_RESULT,
    }
)


def case_timeline_for_applicant(case: Case) -> QuerySet[CaseEvent]:
    """Return the steps of the case the applicant follows, in order."""
    return case_timeline(case).exclude(action__in=INTERNAL_ACTIONS)


def case_public_progress(*, number: str, applicant_code: str) -> Case | None:
    """Find a case for a progress lookup without signing in.

    Both the number and the applicant's ID number or USCC must match
    exactly; a miss says nothing about which one was wrong.
    """
    number = (number or "").strip()
    code = "".join((applicant_code or "").split()).upper()
    if not number or not code:
        return None
    return (
        Case.objects.select_related("item", "department")
        .filter(number=number, applicant_code=code)
        .first()
    )


def beijing_day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the aware start of ``day`` and of the next day, Beijing time."""
    start = datetime.combine(day, time.min, tzinfo=BEIJING)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=BEIJING)


def cases_received_on(*, day: date, user: User | None) -> QuerySet[Case]:
    """Return the cases received on the Beijing date ``day`` ("今日收件")."""
    start, end = beijing_day_bounds(day)
    return case_list_for_user(user=user).filter(
        submitted_at__gte=start, submitted_at__lt=end
    )


def material_get_for_user(*, user: User | None, pk: int) -> CaseMaterial:
    """Return material ``pk`` if ``user`` may see its case, else 404."""
    visible = case_list_for_user(user=user).values("pk")
    material = (
        CaseMaterial.objects.select_related("case")
        .filter(pk=pk, case__in=visible)
        .first()
    )
    if material is None:
        raise Http404(gettext("No such material."))
    return material


def case_missing_materials(case: Case) -> list[dict]:
    """List the required materials of the item the case has no file for.

    A material the case's notify-and-commit statement replaces is not
    listed, nor one deferred under a conditional acceptance (容缺受理); a
    deferrable material not deferred is missing like any other: plain
    acceptance needs it, only a recorded commitment lets it follow.
    """
    supplied = set(
        case.materials.exclude(requirement__isnull=True).values_list(
            "requirement_id", flat=True
        )
    )
    supplied |= commitments.replaced_requirement_ids(case)
    supplied |= commitments.deferred_requirement_ids(case)
    return [
        {
            "requirement_id": req.pk,
            "name": req.name,
            "deferrable": req.deferrable,
        }
        for req in case.item.materials.filter(required=True)
        if req.pk not in supplied
    ]


def case_revoked_licence_materials(case: Case) -> list[CaseMaterial]:
    """List the case's materials that stand on an e-licence revoked since.

    Another file for the same requirement that stands on no revoked
    licence (handed in beside it, or later: 补正, a revision, a
    replacement) covers the material; until then the case cannot be
    approved on it.
    """
    materials = list(
        case.materials.select_related("licence", "requirement").order_by("pk")
    )
    return [
        material
        for material in materials
        if material.licence_revoked
        and not any(
            other.pk != material.pk
            and other.requirement_id == material.requirement_id
            and not other.licence_revoked
            for other in materials
        )
    ]


@dataclass(frozen=True)
class RouteTimer:
    """A timer the case's route waits on, and when it fires."""

    name: str
    node_key: str
    due: datetime


def case_route_timers(case: Case) -> list[RouteTimer]:
    """List the timers the case's route waits on, soonest first.

    Read from the route's state as last saved (``cases.workflow``); only a
    case in review waits on its route.
    """
    if case.status != CaseStatus.IN_REVIEW:
        return []
    return [
        RouteTimer(
            name=timer.get("name", ""),
            node_key=timer.get("node", ""),
            due=datetime.fromisoformat(timer["due"]),
        )
        for timer in (case.route_state or {}).get("timers", [])
        if timer.get("due")
    ]

"""Staff workbench pages: inbox, case search, the case page and its actions.

Views are thin: they parse a form, call one selector or service and render.
Whatever is outside the user's data scope is a 404, as the selectors and
services decide; a refused action is shown in Chinese next to its form and
changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

import structlog
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from smartapproval.accounts.models import ApplicantKind, Role, User
from smartapproval.audit.services import audit_reveal
from smartapproval.cases import (
    commitments,
    deadlines,
    results,
    selectors,
    services,
    transitions,
)
from smartapproval.cases.models import (
    Case,
    CaseStatus,
    CommitmentKind,
    TaskKind,
    TaskStatus,
)
from smartapproval.cases.views_actions import (
    PAGE_ACTIONS,
    TASK_VERBS,
    DeferredSupplyForm,
    TaskCompleteForm,
    VerificationForm,
    page_actions_for,
    task_completable_by,
    task_panel_for,
    task_role_of,
    task_verifiable_by,
)
from smartapproval.core import deadlines as workdays
from smartapproval.core.api import ServiceError
from smartapproval.core.masking import mask_id_number, mask_phone
from smartapproval.parties.selectors import full_pii_visible_to

log = structlog.get_logger(__name__)

CASE_LIST_PAGE_SIZE = 20
INBOX_WAITING_LIMIT = 50
# Case fields a member of staff may reveal in full, with an audit row.
REVEALABLE_FIELDS = ("applicant_code", "contact_phone")
# Service error fields named differently by the page's forms.
FORM_FIELD_ALIASES = {"items": "materials"}


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let staff in; send anonymous users to log in, answer others 404."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff_member:
            raise Http404(gettext("No such page."))
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def form_error_add(form: forms.Form, error: ServiceError) -> None:
    """Show a service's refusal next to the field it names, or on the form."""
    field = FORM_FIELD_ALIASES.get(error.field or "", error.field)
    form.add_error(field if field in form.fields else None, error.message)


# Inbox and search


@dataclass(frozen=True)
class Worklist:
    """One to-do list of the workbench: cases in one status."""

    status: str
    title: str
    empty: str
    cases: list[Case]
    count: int


WORKLIST_TEXTS = {
    CaseStatus.SUBMITTED: (
        _("Waiting for acceptance"),
        _("No case is waiting for acceptance."),
    ),
    CaseStatus.DECIDED: (
        _("Waiting for the result to be issued"),
        _("No decided case is waiting for its result."),
    ),
    CaseStatus.RESULT_ISSUED: (
        _("Waiting to be closed"),
        _("No case is waiting to be closed."),
    ),
}


@staff_required
def inbox(request: HttpRequest) -> HttpResponse:
    """The workbench: what the user can act on now, and today's intake.

    Reviewers see the review tasks they may complete; window clerks their
    department's cases to accept, to issue the result of and to close;
    centre managers and administrators all of it, read-only.
    """
    user = request.user
    today = workdays.beijing_today()
    tasks = selectors.task_inbox_for_user(user=user)
    worklists = []
    for status in selectors.CLERK_WORKLISTS:
        cases = selectors.case_worklist_for_user(user=user, status=status)
        title, empty = WORKLIST_TEXTS[status]
        worklists.append(
            Worklist(
                status=status,
                title=str(title),
                empty=str(empty),
                cases=list(cases[:INBOX_WAITING_LIMIT]),
                count=cases.count(),
            )
        )
    received_today = selectors.cases_received_on(day=today, user=user).count()
    watches = user.sees_all_departments

    return render(
        request,
        "cases/inbox.html",
        {
            "tasks": tasks,
            "show_tasks": watches or task_role_of(user),
            "worklists": worklists,
            "show_worklists": watches or user.role == Role.CLERK,
            "read_only": watches,
            "received_today": received_today,
            "today": today,
        },
    )


class CaseSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Case number or applicant"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All statuses")), *CaseStatus.choices],
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


@staff_required
def case_list(request: HttpRequest) -> HttpResponse:
    """Search the cases the user may see by number or applicant, by status."""
    form = CaseSearchForm(request.GET or None)
    query = status = ""
    if form.is_valid():
        query = form.cleaned_data["q"]
        status = form.cleaned_data["status"]
    cases = selectors.case_list_for_user(
        user=request.user, status=status or None, query=query
    )
    page = Paginator(cases, CASE_LIST_PAGE_SIZE).get_page(request.GET.get("page"))

    return render(
        request,
        "cases/case_list.html",
        {"form": form, "page": page, "query": query, "status": status},
    )


# The case page


@dataclass(frozen=True)
class PiiEntry:
    """A number on the case page, masked unless the viewer may see it."""

    field: str
    label: str
    value: str
    masked: bool


def _pii_entries(user: User, case: Case, revealed: dict[str, str]) -> list[PiiEntry]:
    # Window clerks check the ID card of their own department's applicants;
    # everyone else sees masked numbers and reveals them on the record.
    full = full_pii_visible_to(user) and user.department_id == case.department_id
    code_label = (
        gettext("Resident ID number")
        if case.applicant_kind == ApplicantKind.PERSON
        else gettext("Unified social credit code")
    )
    masks = {"applicant_code": mask_id_number, "contact_phone": mask_phone}
    labels = {"applicant_code": code_label, "contact_phone": gettext("Contact phone")}

    entries = []
    for field in REVEALABLE_FIELDS:
        value = getattr(case, field)
        shown = full or field in revealed
        entries.append(
            PiiEntry(
                field=field,
                label=labels[field],
                value=revealed.get(field, value) if shown else masks[field](value),
                masked=not shown,
            )
        )
    return entries


def _case_page(
    request: HttpRequest,
    case: Case,
    *,
    bound: forms.Form | None = None,
    error: str = "",
    revealed: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render the staff case page, with a refused form kept as it was sent."""
    user = request.user
    actions = []
    for action in page_actions_for(user=user, case=case):
        form = bound if bound is not None and bound.prefix == action.verb else None
        actions.append((action, form or action.form(case=case)))

    open_tasks = list(
        case.tasks.filter(
            kind__in=[TaskKind.REVIEW, TaskKind.SYSTEM], status=TaskStatus.OPEN
        )
        .select_related("department", "assignee", "delegate")
        .order_by("round", "created_at", "pk")
    )
    mine: set[int] = set()
    if task_completable_by(user=user, case=case):
        mine = set(
            selectors.task_visible_for_user(user=user)
            .filter(case=case, status=TaskStatus.OPEN)
            .values_list("pk", flat=True)
        )
    tasks = [
        task_panel_for(user=user, task=task, handles=task.pk in mine, bound=bound)
        for task in open_tasks
    ]

    missing = []
    if case.status in {CaseStatus.SUBMITTED, CaseStatus.CORRECTION_REQUESTED}:
        missing = selectors.case_missing_materials(case)

    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "pii": _pii_entries(user, case, revealed or {}),
            "enterprise": case.enterprise if case.enterprise_id else None,
            "explanation": deadlines.case_deadline_explanation(case),
            "timeline": selectors.case_timeline(case),
            "materials": case.materials.select_related("requirement", "licence"),
            "missing": missing,
            "tasks": tasks,
            "route_timers": selectors.case_route_timers(case),
            "actions": actions,
            "action_error": error,
            **_commitment_context(user, case, bound),
        },
        status=status,
    )


def _commitment_context(
    user: User, case: Case, bound: forms.Form | None
) -> dict[str, Any]:
    """The page's commitments, the clerk's upload form and the verifications."""
    views = commitments.case_commitment_views(case)
    supply_form = None
    deferred = next(
        (v for v in views if v.commitment.kind == CommitmentKind.DEFERRAL), None
    )
    if (
        deferred is not None
        and deferred.outstanding
        and user.role == Role.CLERK
        and user.department_id == case.department_id
        and case.status
        in {CaseStatus.ACCEPTED, CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED}
    ):
        supply_form = (
            bound
            if isinstance(bound, DeferredSupplyForm)
            else DeferredSupplyForm(outstanding=deferred.outstanding)
        )

    verifications = []
    for task in case.tasks.filter(kind=TaskKind.VERIFICATION).order_by("pk"):
        form = None
        if task_verifiable_by(user=user, task=task):
            form = (
                bound
                if isinstance(bound, VerificationForm) and bound.task.pk == task.pk
                else VerificationForm(task=task)
            )
        verifications.append((task, deadlines.task_clock(task), form))

    # Case 11: the option is not offered to an applicant with a bad record;
    # the window is told why.
    conditional_barred = (
        case.status == CaseStatus.SUBMITTED
        and bool(commitments.deferrable_missing(case))
        and commitments.applicant_has_violation(case)
    )
    return {
        "commitments": views,
        "supply_form": supply_form,
        "verifications": verifications,
        "conditional_barred": conditional_barred,
    }


@staff_required
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    """One case as the workbench shows it, with the actions allowed now."""
    case = selectors.case_get_for_user(user=request.user, number=number)

    return _case_page(request, case)


@staff_required
@require_POST
def case_reveal(request: HttpRequest, number: str, field: str) -> HttpResponse:
    """Show one full number of the applicant; the audit trail records who saw it."""
    if field not in REVEALABLE_FIELDS:
        raise Http404(gettext("No such page."))
    case = selectors.case_get_for_user(user=request.user, number=number)

    value = audit_reveal(actor=request.user, target=case, field=field)

    if request.headers.get("HX-Request"):
        entry = next(
            e
            for e in _pii_entries(request.user, case, {field: value})
            if e.field == field
        )
        return render(
            request,
            "cases/_pii.html",
            {"entry": entry, "case": case, "revealed_note": True},
        )
    return _case_page(request, case, revealed={field: value})


@staff_required
@require_POST
def case_action(request: HttpRequest, number: str, verb: str) -> HttpResponse:
    """Run one action of the case page through its service."""
    action = PAGE_ACTIONS.get(verb)
    if action is None:
        raise Http404(gettext("No such page."))
    case = selectors.case_get_for_user(user=request.user, number=number)
    form = action.form(request.POST, case=case)

    status = 400
    error = ""
    try:
        # Who may act is said before what to correct in the form.
        transitions.ensure_role(request.user, verb)
    except ServiceError as exc:
        status, error = exc.status, exc.message
    if not error and form.is_valid():
        try:
            action.perform(case, request.user, form)
        except ServiceError as exc:
            form_error_add(form, exc)
            status, error = exc.status, exc.message
        else:
            messages.success(request, action.done)
            return redirect("cases:case_detail", number=case.number)

    log.info("case_action_refused", case_id=case.pk, action=verb, status=status)
    case = selectors.case_get_for_user(user=request.user, number=number)
    return _case_page(
        request,
        case,
        bound=form,
        error=error or gettext("Please correct the marked fields."),
        status=status,
    )


@staff_required
@require_POST
def case_supply_deferred(request: HttpRequest, number: str) -> HttpResponse:
    """Take deferred materials at the window (补交容缺材料)."""
    case = selectors.case_get_for_user(user=request.user, number=number)
    outstanding = commitments.deferral_outstanding(case)
    form = DeferredSupplyForm(request.POST, request.FILES, outstanding=outstanding)

    status = 400
    error = ""
    if form.is_valid():
        try:
            services.case_supply_deferred(
                case=case, actor=request.user, materials=form.uploads()
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            status, error = exc.status, exc.message
        else:
            messages.success(request, gettext("The deferred materials were recorded."))
            return redirect("cases:case_detail", number=case.number)

    log.info("deferred_supply_refused", case_id=case.pk, status=status)
    case = selectors.case_get_for_user(user=request.user, number=number)
    return _case_page(
        request,
        case,
        bound=form,
        error=error or gettext("Please correct the marked fields."),
        status=status,
    )


@staff_required
@require_POST
def task_verify(request: HttpRequest, pk: int) -> HttpResponse:
    """Record the finding of a notify-and-commit verification (核查)."""
    task = selectors.task_get_for_user(user=request.user, pk=pk)
    form = VerificationForm(request.POST, task=task)

    status = 400
    error = ""
    if form.is_valid():
        try:
            services.task_verify(
                task=task,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
            )
        except ServiceError as exc:
            form_error_add(form, exc)
            status, error = exc.status, exc.message
        else:
            task.refresh_from_db()
            messages.success(
                request,
                gettext("%(task)s: %(outcome)s.")
                % {"task": task.name, "outcome": task.get_outcome_display()},
            )
            return redirect("cases:case_detail", number=task.case.number)

    log.info("verification_refused", task_id=task.pk, status=status)
    case = selectors.case_get_for_user(user=request.user, number=task.case.number)
    return _case_page(
        request,
        case,
        bound=form,
        error=error or gettext("Please correct the marked fields."),
        status=status,
    )


@staff_required
@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete one review task with its outcome and opinion."""
    task = selectors.task_get_for_user(user=request.user, pk=pk)
    form = TaskCompleteForm(request.POST, task=task)

    status = 400
    error = ""
    if form.is_valid():
        try:
            services.task_complete(
                task=task,
                actor=request.user,
                outcome=form.cleaned_data["outcome"],
                opinion=form.cleaned_data["opinion"],
            )
        except ServiceError as exc:
            form_error_add(form, exc)
            status, error = exc.status, exc.message
        else:
            task.refresh_from_db()
            case = task.case
            case.refresh_from_db()
            messages.success(
                request,
                gettext("%(task)s: %(outcome)s.")
                % {
                    "task": task.name,
                    "outcome": services.answer_label(task, task.outcome),
                },
            )
            if case.decision:
                messages.info(
                    request,
                    gettext("The review is complete. Decision: %(decision)s.")
                    % {"decision": case.get_decision_display()},
                )
            return redirect("cases:case_detail", number=case.number)

    log.info("task_completion_refused", task_id=task.pk, status=status)
    case = selectors.case_get_for_user(user=request.user, number=task.case.number)
    return _case_page(
        request,
        case,
        bound=form,
        error=error or gettext("Please correct the marked fields."),
        status=status,
    )


@staff_required
@require_POST
def task_action(request: HttpRequest, pk: int, verb: str) -> HttpResponse:
    """Run one verb on a task (send back, transfer, delegate, sign, urge…)."""
    action = TASK_VERBS.get(verb)
    if action is None:
        raise Http404(gettext("No such page."))
    # Urging reaches the co-departments' tasks of one's own cases; every
    # other verb only one's own department's tasks.
    if verb == "urge":
        task = selectors.task_get_on_visible_case(user=request.user, pk=pk)
    else:
        task = selectors.task_get_for_user(user=request.user, pk=pk)
    form = action.form(request.POST, task=task, user=request.user)

    status = 400
    error = ""
    if form.is_valid():
        try:
            action.perform(task, request.user, form)
        except ServiceError as exc:
            form_error_add(form, exc)
            status, error = exc.status, exc.message
        else:
            messages.success(request, action.done)
            case = task.case
            case.refresh_from_db()
            if case.decision:
                messages.info(
                    request,
                    gettext("The review is complete. Decision: %(decision)s.")
                    % {"decision": case.get_decision_display()},
                )
            return redirect("cases:case_detail", number=case.number)

    log.info("task_action_refused", task_id=task.pk, verb=verb, status=status)
    case = selectors.case_get_for_user(user=request.user, number=task.case.number)
    return _case_page(
        request,
        case,
        bound=form,
        error=error or gettext("Please correct the marked fields."),
        status=status,
    )


# Files


@login_required
def material_download(request: HttpRequest, pk: int) -> FileResponse:
    """Send a material under its original name to whoever may see its case."""
    material = selectors.material_get_for_user(user=request.user, pk=pk)
    try:
        handle = material.file.open("rb")
    except FileNotFoundError:
        log.error("case_material_file_missing", material_id=material.pk)
        raise Http404(gettext("The file is no longer available.")) from None

    log.info(
        "case_material_downloaded", material_id=material.pk, case_id=material.case_id
    )
    return FileResponse(
        handle,
        as_attachment=True,
        filename=material.original_name,
        content_type=material.content_type or "application/octet-stream",
    )


@login_required
def result_download(request: HttpRequest, pk: int) -> FileResponse:
    """Send a decision document or e-licence to its case's viewers or holder."""
    document = results.result_get_for_user(user=request.user, pk=pk)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        log.error("result_document_file_missing", document_id=document.pk)
        raise Http404(gettext("The file is no longer available.")) from None

    log.info("result_document_downloaded", document_id=document.pk)
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{document.number}.pdf",
        content_type="application/pdf",
    )


@staff_required
@require_POST
def result_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke a document from the staff case page, with the reason."""
    document = results.result_get_for_user(user=request.user, pk=pk)

    try:
        results.result_revoke(
            document=document,
            actor=request.user,
            reason=request.POST.get("reason", ""),
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, gettext("The document was revoked."))
    return redirect("cases:case_detail", number=document.case.number)

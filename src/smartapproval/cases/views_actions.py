"""The action forms of the staff case page, and the service each one calls.

A form only parses what the user typed; every business rule (who may act,
from which status, what a reason must say) stays in ``cases.services``,
whose ``ServiceError`` the page shows next to the form.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from smartapproval.accounts.models import User
from smartapproval.cases import (
    commitments,
    deadlines,
    parallel,
    routes,
    selectors,
    services,
    transitions,
)
from smartapproval.cases.models import (
    Case,
    CaseAction,
    CommitmentMaterial,
    Decision,
    PauseKind,
    SignerKind,
    SignerStatus,
    SignMode,
    Task,
    TaskActionKind,
    TaskKind,
    TaskStatus,
    VerificationOutcome,
)
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.core import deadlines as workdays

A = CaseAction


class ActionForm(forms.Form):
    """The input of one action on one case."""

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.case = case


def _text(label, *, rows: int = 3, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=2000,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class NoInputForm(ActionForm):
    pass


class NoteForm(ActionForm):
    note = _text(_("Note (optional)"), rows=2)


class ReasonForm(ActionForm):
    reason = _text(_("Reason"))


class RefuseForm(ActionForm):
    reason = _text(
        _("Reason for not accepting"),
        help_text=_("The applicant sees this reason."),
    )


class CorrectionRequestForm(ActionForm):
    """Every material of the item, the missing ones ticked, plus free text."""

    materials = forms.TypedMultipleChoiceField(
        label=_("Materials to supply or correct"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "Required materials without a file are always listed; tick every "
            "other material that is faulty."
        ),
    )
    other = _text(
        _("Anything else to supply (one per line)"),
        help_text=_("For example: 营业执照副本需加盖公章"),
    )
    note = _text(_("Note to the applicant"))

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, case=case, **kwargs)
        field = self.fields["materials"]
        field.choices = [
            (req.pk, f"{req.order}. {req.name}") for req in case.item.materials.all()
        ]
        if not self.is_bound:
            field.initial = [
                entry["requirement_id"]
                for entry in selectors.case_missing_materials(case)
            ]

    @property
    def items(self) -> list[int | str]:
        """The service's ``items``: requirement ids, then free-text lines."""
        lines = [line.strip() for line in self.cleaned_data["other"].splitlines()]
        return [*self.cleaned_data["materials"], *[line for line in lines if line]]


class ConditionalAcceptForm(ActionForm):
    """容缺受理: the deferrable materials to follow, the day, the signature."""

    deferred = forms.TypedMultipleChoiceField(
        label=_("Materials the applicant will supply later"),
        required=False,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only materials the item marks as deferrable are listed."),
    )
    due_on = forms.DateField(
        label=_("Commitment deadline (date)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    working_days = forms.IntegerField(
        label=_("or within (working days)"),
        required=False,
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    applicant_agreed = forms.BooleanField(
        label=_("The applicant has signed the commitment to supply them by then"),
        required=False,
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, case=case, **kwargs)
        # The deferrable materials without a file: a faulty file is a
        # correction, not a deferral.
        missing = commitments.deferrable_missing(case)
        field = self.fields["deferred"]
        field.choices = [(req.pk, f"{req.order}. {req.name}") for req in missing]
        if not self.is_bound:
            field.initial = [req.pk for req in missing]
        latest = commitments.promised_due_if_accepted(
            case.item, workdays.beijing_today()
        )
        if latest is not None:
            self.fields["due_on"].help_text = _(
                "No later than the promised deadline if accepted today: %(day)s."
            ) % {"day": latest.isoformat()}


class SuspendForm(ActionForm):
    kind = forms.ChoiceField(label=_("Procedure"), choices=PauseKind.choices)
    reason = _text(_("Reason"))


class ResumeForm(ActionForm):
    materials_received_on = forms.DateField(
        label=_("Day the procedure ended or the materials were received"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("That day is still paused; the clock runs again the day after."),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, case=case, **kwargs)
        self.fields["materials_received_on"].initial = workdays.beijing_today()


class ExtendForm(ActionForm):
    days = forms.IntegerField(
        label=_("Extension (working days)"),
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    reason = _text(_("Reason"))


class DecideForm(ActionForm):
    decision = forms.ChoiceField(
        label=_("Decision"),
        choices=Decision.choices,
        initial=Decision.APPROVED,
        widget=forms.RadioSelect,
    )
    reason = _text(
        _("Reason"),
        help_text=_("Required for a denial; the applicant sees it."),
    )


class TaskCompleteForm(forms.Form):
    """The answer and opinion of one review task, as its route allows."""

    outcome = forms.ChoiceField(
        label=_("Answer"),
        # No default: a reviewer chooses the answer, never approves by one
        # careless click.
        widget=forms.RadioSelect,
    )
    opinion = _text(
        _("Opinion"),
        help_text=_(
            "Required when you refuse, deny, ask for a revision, approve with "
            "conditions or ask the co-departments again."
        ),
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("prefix", f"task{task.pk}")
        super().__init__(*args, **kwargs)
        self.task = task
        self.fields["outcome"].choices = [
            (answer, services.answer_label(task, answer))
            for answer in (task.answers or routes.SEQUENTIAL_ANSWERS)
        ]


class TaskForm(forms.Form):
    """The input of one verb on one task."""

    def __init__(self, *args: Any, task: Task, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.task = task
        self.user = user


def _colleagues(task: Task, user: User) -> list[tuple[int, str]]:
    return [
        (colleague.pk, str(colleague))
        for colleague in selectors.task_colleagues(task=task, user=user)
    ]


class SendBackForm(TaskForm):
    node = forms.ChoiceField(label=_("Send back to"))
    reason = _text(_("Reason"))

    def __init__(self, *args: Any, task: Task, user: User, **kwargs: Any) -> None:
        super().__init__(*args, task=task, user=user, **kwargs)
        self.fields["node"].choices = [
            (target.node_key, target.name)
            for target in services.task_send_back_targets(task=task)
        ]


class TransferForm(TaskForm):
    to_user = forms.TypedChoiceField(label=_("Transfer to"), coerce=int)
    reason = _text(_("Reason"))

    def __init__(self, *args: Any, task: Task, user: User, **kwargs: Any) -> None:
        super().__init__(*args, task=task, user=user, **kwargs)
        self.fields["to_user"].choices = _colleagues(task, user)


class DelegateForm(TaskForm):
    to_user = forms.TypedChoiceField(label=_("Delegate to"), coerce=int)
    note = _text(_("Note (optional)"), rows=2)

    def __init__(self, *args: Any, task: Task, user: User, **kwargs: Any) -> None:
        super().__init__(*args, task=task, user=user, **kwargs)
        self.fields["to_user"].choices = _colleagues(task, user)


class SignersForm(TaskForm):
    signers = forms.TypedMultipleChoiceField(
        label=_("Signers"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    note = _text(_("Note (optional)"), rows=2)

    def __init__(self, *args: Any, task: Task, user: User, **kwargs: Any) -> None:
        super().__init__(*args, task=task, user=user, **kwargs)
        self.fields["signers"].choices = _colleagues(task, user)


class CountersignForm(SignersForm):
    mode = forms.ChoiceField(
        label=_("How they decide"),
        choices=[
            (SignMode.ALL, SignMode.ALL.label),
            (SignMode.ANY, SignMode.ANY.label),
        ],
        widget=forms.RadioSelect,
    )


class SignForm(TaskForm):
    outcome = forms.ChoiceField(label=_("Answer"), widget=forms.RadioSelect)
    opinion = _text(_("Opinion"))

    def __init__(self, *args: Any, task: Task, user: User, **kwargs: Any) -> None:
        super().__init__(*args, task=task, user=user, **kwargs)
        signer = task.signers.filter(user=user, status=SignerStatus.PENDING).first()
        kind = signer.kind if signer is not None else SignerKind.COSIGNER
        self.fields["outcome"].choices = services.sign_answers(task, kind)


class UrgeForm(TaskForm):
    note = _text(_("Message to the handler (optional)"), rows=2)


@dataclass(frozen=True)
class TaskVerb:
    """A verb the case page offers on a task, with its form and service."""

    verb: str
    label: Any
    form_class: type[TaskForm]
    perform: Callable[[Task, User, TaskForm], Any]
    done: Any

    def form(self, data: Any = None, *, task: Task, user: User) -> TaskForm:
        return self.form_class(
            data, task=task, user=user, prefix=f"task{task.pk}-{self.verb}"
        )


TASK_VERBS: dict[str, TaskVerb] = {
    verb.verb: verb
    for verb in (
        TaskVerb(
            "send_back",
            TaskActionKind.SEND_BACK.label,
            SendBackForm,
            lambda task, user, form: services.task_send_back(
                task=task,
                actor=user,
                node_key=form.cleaned_data["node"],
                reason=form.cleaned_data["reason"],
            ),
            _("The case was sent back to the earlier step."),
        ),
        TaskVerb(
            "transfer",
            TaskActionKind.TRANSFER.label,
            TransferForm,
            lambda task, user, form: services.task_transfer(
                task=task,
                actor=user,
                to_user_id=form.cleaned_data["to_user"],
                reason=form.cleaned_data["reason"],
            ),
            _("The task was transferred."),
        ),
        TaskVerb(
            "delegate",
            TaskActionKind.DELEGATE.label,
            DelegateForm,
            lambda task, user, form: services.task_delegate(
                task=task,
                actor=user,
                to_user_id=form.cleaned_data["to_user"],
                note=form.cleaned_data["note"],
            ),
            _("The task was delegated."),
        ),
        TaskVerb(
            "cosigners",
            TaskActionKind.ADD_COSIGNER.label,
            SignersForm,
            lambda task, user, form: services.task_cosigners_add(
                task=task,
                actor=user,
                user_ids=form.cleaned_data["signers"],
                note=form.cleaned_data["note"],
            ),
            _("The co-signers were asked to sign."),
        ),
        TaskVerb(
            "countersign",
            TaskActionKind.COUNTERSIGN.label,
            CountersignForm,
            lambda task, user, form: services.task_countersign(
                task=task,
                actor=user,
                user_ids=form.cleaned_data["signers"],
                mode=form.cleaned_data["mode"],
                note=form.cleaned_data["note"],
            ),
            _("The countersigners were asked to sign."),
        ),
        TaskVerb(
            "sign",
            TaskActionKind.SIGN.label,
            SignForm,
            lambda task, user, form: services.task_sign(
                task=task,
                actor=user,
                outcome=form.cleaned_data["outcome"],
                opinion=form.cleaned_data["opinion"],
            ),
            _("Your signature was recorded."),
        ),
        TaskVerb(
            "urge",
            TaskActionKind.URGE.label,
            UrgeForm,
            lambda task, user, form: services.task_urge(
                task=task, actor=user, note=form.cleaned_data["note"]
            ),
            _("The handler was urged."),
        ),
    )
}
# Verbs of the handler, in the order the page offers them.
HANDLER_VERBS = ("send_back", "transfer", "delegate", "cosigners", "countersign")


@dataclass
class TaskPanel:
    """One open task as the case page shows it to one user."""

    task: Task
    clock: Any
    complete_form: TaskCompleteForm | None = None
    verbs: list[tuple[TaskVerb, TaskForm]] = field(default_factory=list)
    sign: tuple[TaskVerb, TaskForm] | None = None
    urge: tuple[TaskVerb, TaskForm] | None = None
    excluded: bool = False
    waiting: str = ""
    signers: list = field(default_factory=list)
    round_result: Any = None
    # On a branch's revision step: the files handed in since it opened.
    revision: bool = False
    revised_files: list = field(default_factory=list)


def task_panel_for(
    *, user: User, task: Task, handles: bool, bound: forms.Form | None = None
) -> TaskPanel:
    """Build the card of one open task for ``user``: what they may do on it.

    ``handles`` says the task is in the user's inbox scope (their
    department's, their role completes tasks). Only a hint for the page:
    the services decide again when a form is sent.
    """

    def keep(form: forms.Form) -> forms.Form:
        if bound is not None and bound.prefix == form.prefix:
            return bound
        return form

    panel = TaskPanel(task=task, clock=deadlines.task_clock(task))
    panel.signers = list(task.signers.exclude(status=SignerStatus.CANCELLED))
    if task.decides and task.round is None:
        latest = selectors.case_latest_round(task.case)
        if latest is not None:
            panel.round_result = parallel.round_result(case=task.case, round=latest)
    if selectors.task_is_revision_step(task):
        panel.revision = True
        panel.revised_files = selectors.revision_files_received(task)
    pending = [s for s in panel.signers if s.status == SignerStatus.PENDING]
    running = transitions.is_allowed(task.case.status, A.COMPLETE_TASK)

    if any(s.user_id == user.pk for s in pending) and running:
        verb = TASK_VERBS["sign"]
        panel.sign = (verb, keep(verb.form(task=task, user=user)))

    panel.excluded = handles and selectors.task_excluded_for_user(task=task, user=user)
    assigned_elsewhere = task.assignee_id and user.pk not in {
        task.assignee_id,
        task.delegate_id,
    }
    if handles and not panel.excluded and not assigned_elsewhere and running:
        if task.sign_mode:
            panel.waiting = str(SignMode(task.sign_mode).label)
        elif pending:
            panel.waiting = gettext("Waiting for the co-signers")
        else:
            panel.complete_form = keep(TaskCompleteForm(task=task))
        for key in HANDLER_VERBS:
            verb = TASK_VERBS[key]
            if key == "send_back" and not services.task_send_back_targets(task=task):
                continue
            if key in {"cosigners", "countersign"} and (
                task.sign_mode or pending or task.kind == TaskKind.SYSTEM
            ):
                # Nobody signs for a step that only reports what happened.
                continue
            form = keep(verb.form(task=task, user=user))
            # Nobody to hand the task to or to ask: the verb is not offered.
            choices = [
                field.choices
                for name, field in form.fields.items()
                if name in {"to_user", "signers"}
            ]
            if choices and not all(choices):
                continue
            panel.verbs.append((verb, form))

    urges = user.sees_all_departments or (
        user.department_id == task.case.department_id
        and task.department_id != user.department_id
    )
    if urges and transitions.role_may(user.role, A.URGE_TASK) and running:
        verb = TASK_VERBS["urge"]
        panel.urge = (verb, keep(verb.form(task=task, user=user)))
    return panel


class VerificationForm(forms.Form):
    """What the verification of a notify-and-commit case found."""

    outcome = forms.ChoiceField(
        label=_("Finding"),
        choices=VerificationOutcome.choices,
        widget=forms.RadioSelect,
    )
    reason = _text(
        _("Reason"),
        help_text=_(
            "Required when the commitment is false: the result is revoked "
            "with it and the applicant gets a violation record."
        ),
    )

    def __init__(self, *args: Any, task: Task, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("prefix", f"verify{task.pk}")
        super().__init__(*args, **kwargs)
        self.task = task


class DeferredSupplyForm(forms.Form):
    """A file field for each deferred material still to come."""

    def __init__(
        self, *args: Any, outstanding: list[CommitmentMaterial], **kwargs: Any
    ) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.requirements: dict[str, int] = {}
        for entry in outstanding:
            if entry.requirement_id is None:
                continue
            name = f"material_{entry.requirement_id}"
            self.fields[name] = forms.FileField(label=entry.name, required=False)
            self.requirements[name] = entry.requirement_id

    def clean(self) -> dict:
        cleaned = super().clean()

        if self.fields and not any(cleaned.get(name) for name in self.requirements):
            raise forms.ValidationError(
                _("Choose the file of at least one deferred material."),
                code="required",
            )
        return cleaned

    def uploads(self) -> list[MaterialUpload]:
        return [
            MaterialUpload(file=self.cleaned_data[name], requirement_id=pk)
            for name, pk in self.requirements.items()
            if self.cleaned_data.get(name)
        ]


@dataclass(frozen=True)
class PageAction:
    """An action the case page offers: its form, its service and its outcome."""

    verb: str
    form_class: type[ActionForm]
    perform: Callable[[Case, User, ActionForm], Case]
    done: str
    # "primary" for the usual next step, "danger" for an end of the case.
    style: str = "secondary"

    @property
    def label(self) -> str:
        return str(CaseAction(self.verb).label)

    def form(self, data: Any = None, *, case: Case) -> ActionForm:
        return self.form_class(data, case=case, prefix=self.verb)


PAGE_ACTIONS: dict[str, PageAction] = {
    action.verb: action
    for action in (
        PageAction(
            A.ACCEPT,
            NoInputForm,
            lambda case, actor, form: services.case_accept(case=case, actor=actor),
            _("The case was accepted; its review has started."),
            style="primary",
        ),
        PageAction(
            A.ACCEPT_CONDITIONALLY,
            ConditionalAcceptForm,
            lambda case, actor, form: services.case_accept_conditionally(
                case=case,
                actor=actor,
                deferred=form.cleaned_data["deferred"],
                due_on=form.cleaned_data["due_on"],
                working_days=form.cleaned_data["working_days"],
                applicant_agreed=form.cleaned_data["applicant_agreed"],
            ),
            _("The case was accepted with deferred materials; its review has started."),
        ),
        PageAction(
            A.REQUEST_CORRECTION,
            CorrectionRequestForm,
            lambda case, actor, form: services.case_request_correction(
                case=case,
                actor=actor,
                items=form.items,
                note=form.cleaned_data["note"],
            ),
            _("The applicant was asked to supply the listed materials."),
        ),
        PageAction(
            A.REFUSE,
            RefuseForm,
            lambda case, actor, form: services.case_refuse(
                case=case, actor=actor, reason=form.cleaned_data["reason"]
            ),
            _("The case was not accepted."),
            style="danger",
        ),
        PageAction(
            A.SUSPEND,
            SuspendForm,
            lambda case, actor, form: services.case_suspend(
                case=case,
                actor=actor,
                kind=form.cleaned_data["kind"],
                reason=form.cleaned_data["reason"],
            ),
            _("The case is suspended; its clock stands still."),
        ),
        PageAction(
            A.RESUME,
            ResumeForm,
            lambda case, actor, form: services.case_resume(
                case=case,
                actor=actor,
                materials_received_on=form.cleaned_data["materials_received_on"],
            ),
            _("The clock runs again; the deadlines moved by the paused days."),
            style="primary",
        ),
        PageAction(
            A.EXTEND,
            ExtendForm,
            lambda case, actor, form: services.case_extend(
                case=case,
                actor=actor,
                days=form.cleaned_data["days"],
                reason=form.cleaned_data["reason"],
            ),
            _("The deadlines were extended."),
        ),
        PageAction(
            A.DECIDE,
            DecideForm,
            lambda case, actor, form: services.case_decide(
                case=case,
                actor=actor,
                decision=form.cleaned_data["decision"],
                reason=form.cleaned_data["reason"],
            ),
            _("The decision was recorded."),
        ),
        PageAction(
            A.ISSUE_RESULT,
            NoteForm,
            lambda case, actor, form: services.case_issue_result(
                case=case, actor=actor, note=form.cleaned_data["note"]
            ),
            _("The result was issued to the applicant."),
            style="primary",
        ),
        PageAction(
            A.CLOSE,
            NoteForm,
            lambda case, actor, form: services.case_close(
                case=case, actor=actor, note=form.cleaned_data["note"]
            ),
            _("The case is closed."),
            style="primary",
        ),
        PageAction(
            A.TERMINATE,
            ReasonForm,
            lambda case, actor, form: services.case_terminate(
                case=case, actor=actor, reason=form.cleaned_data["reason"]
            ),
            _("The case was terminated."),
            style="danger",
        ),
    )
}


def page_actions_for(*, user: User, case: Case) -> list[PageAction]:
    """List the actions to offer ``user`` on ``case`` in its current status.

    Only a hint for the page: the service decides again when the form is
    sent. Staff act on their own department's cases (managers on all).
    """
    if not (user.sees_all_departments or user.department_id == case.department_id):
        return []
    # While the review chain runs its last node decides, not this action.
    in_route = case.tasks.filter(
        kind__in=[TaskKind.REVIEW, TaskKind.SYSTEM], status=TaskStatus.OPEN
    ).exists()
    hidden = set()
    if in_route:
        hidden.add(A.DECIDE)
    if not commitments.conditional_acceptance_offered(case):
        hidden.add(A.ACCEPT_CONDITIONALLY)

    return [
        action
        for action in PAGE_ACTIONS.values()
        if transitions.is_allowed(case.status, action.verb)
        and transitions.role_may(user.role, action.verb)
        and action.verb not in hidden
    ]


def task_role_of(user: User) -> bool:
    """Tell whether ``user``'s role completes review tasks."""
    return transitions.role_may(user.role, A.COMPLETE_TASK)


def task_verifiable_by(*, user: User, task: Task) -> bool:
    """Tell whether ``user`` may record the finding of a verification task."""
    return (
        task.kind == TaskKind.VERIFICATION
        and task.status == TaskStatus.OPEN
        and transitions.role_may(user.role, A.VERIFY_COMMITMENT)
        and (user.sees_all_departments or user.department_id == task.department_id)
    )


def task_completable_by(*, user: User, case: Case) -> bool:
    """Tell whether ``user`` may complete review tasks of ``case`` now."""
    return transitions.role_may(user.role, A.COMPLETE_TASK) and transitions.is_allowed(
        case.status, A.COMPLETE_TASK
    )

"""Cases (办件): one application for one item by one applicant."""

import uuid
from datetime import date
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from smartapproval.accounts.models import ApplicantKind, Department
from smartapproval.catalogue.models import (
    MaterialRequirement,
    ReviewProcess,
    ServiceItem,
)
from smartapproval.core.deadlines import beijing_date
from smartapproval.core.models import LimitUnit
from smartapproval.parties.models import Enterprise, Person


class CaseStatus(models.TextChoices):
    # Labels carry a context: "Draft" or "Withdrawn" of a service item are
    # translated differently by the catalogue, whose catalogue would win.
    DRAFT = "draft", pgettext_lazy("case status", "Draft")
    SUBMITTED = "submitted", pgettext_lazy("case status", "Submitted")
    NOT_ACCEPTED = "not_accepted", pgettext_lazy("case status", "Not accepted")
    CORRECTION_REQUESTED = (
        "correction_requested",
        pgettext_lazy("case status", "Correction requested"),
    )
    ACCEPTED = "accepted", pgettext_lazy("case status", "Accepted")
    IN_REVIEW = "in_review", pgettext_lazy("case status", "In review")
    SUSPENDED = "suspended", pgettext_lazy("case status", "Suspended")
    DECIDED = "decided", pgettext_lazy("case status", "Decided")
    RESULT_ISSUED = "result_issued", pgettext_lazy("case status", "Result issued")
    CLOSED = "closed", pgettext_lazy("case status", "Closed")
    WITHDRAWN = "withdrawn", pgettext_lazy("case status", "Withdrawn")
    TERMINATED = "terminated", pgettext_lazy("case status", "Terminated")


FINAL_STATUSES = frozenset(
    {
        CaseStatus.NOT_ACCEPTED,
        CaseStatus.CLOSED,
        CaseStatus.WITHDRAWN,
        CaseStatus.TERMINATED,
    }
)
# Statuses in which the legal clock runs or is paused: the case is "open".
CLOCK_STATUSES = frozenset(
    {CaseStatus.ACCEPTED, CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED}
)


class Decision(models.TextChoices):
    APPROVED = "approved", pgettext_lazy("case decision", "Approved")
    DENIED = "denied", pgettext_lazy("case decision", "Denied")


class Channel(models.TextChoices):
    ONLINE = "online", pgettext_lazy("case channel", "Online")
    WINDOW = "window", pgettext_lazy("case channel", "Window")


class CaseAction(models.TextChoices):
    """What can happen to a case, as its timeline names it."""

    SUBMIT = "submit", pgettext_lazy("case action", "Submit")
    REGISTER = "register", pgettext_lazy("case action", "Register at the window")
    ADD_MATERIAL = "add_material", pgettext_lazy("case action", "Add material")
    ACCEPT = "accept", pgettext_lazy("case action", "Accept")
    REFUSE = "refuse", pgettext_lazy("case action", "Refuse to accept")
    REQUEST_CORRECTION = (
        "request_correction",
        pgettext_lazy("case action", "Request correction"),
    )
    SUPPLY_CORRECTION = (
        "supply_correction",
        pgettext_lazy("case action", "Supply correction"),
    )
    START_REVIEW = "start_review", pgettext_lazy("case action", "Start review")
    COMPLETE_TASK = "complete_task", pgettext_lazy("case action", "Complete task")
    SEND_BACK = "send_back", pgettext_lazy("case action", "Send back")
    REQUEST_REVISION = (
        "request_revision",
        pgettext_lazy("case action", "Revision requested"),
    )
    TRANSFER_TASK = "transfer_task", pgettext_lazy("case action", "Transfer a task")
    DELEGATE_TASK = "delegate_task", pgettext_lazy("case action", "Delegate a task")
    ADD_SIGNER = "add_signer", pgettext_lazy("case action", "Add signers")
    SIGN_TASK = "sign_task", pgettext_lazy("case action", "Sign")
    URGE_TASK = "urge_task", pgettext_lazy("case action", "Urge")
    SUSPEND = "suspend", pgettext_lazy("case action", "Suspend")
    RESUME = "resume", pgettext_lazy("case action", "Resume")
    EXTEND = "extend", pgettext_lazy("case action", "Extend")
    DECIDE = "decide", pgettext_lazy("case action", "Decide")
    ISSUE_RESULT = "issue_result", pgettext_lazy("case action", "Issue result")
    CLOSE = "close", pgettext_lazy("case action", "Close")
    WITHDRAW = "withdraw", pgettext_lazy("case action", "Withdraw")
    TERMINATE = "terminate", pgettext_lazy("case action", "Terminate")
    RECOMPUTE_DEADLINE = (
        "recompute_deadline",
        pgettext_lazy("case action", "Recompute deadline"),
    )
    ACCEPT_CONDITIONALLY = (
        "accept_conditionally",
        pgettext_lazy("case action", "Accept with deferred materials"),
    )
    SUPPLY_DEFERRED = (
        "supply_deferred",
        pgettext_lazy("case action", "Supply deferred materials"),
    )
    RETURN = (
        "return_application",
        pgettext_lazy("case action", "Return the application"),
    )
    VERIFY_COMMITMENT = (
        "verify_commitment",
        pgettext_lazy("case action", "Verify the commitment"),
    )
    REVOKE_RESULT = (
        "revoke_result",
        pgettext_lazy("case action", "Revoke the result document"),
    )


class Case(models.Model):
    """One application for one service item, from submission to closing."""

    number = models.CharField(_("case number"), max_length=40, unique=True)
    item = models.ForeignKey(
        ServiceItem,
        verbose_name=_("service item"),
        on_delete=models.PROTECT,
        related_name="cases",
    )
    item_version = models.PositiveIntegerField(_("item version"))
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="cases",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"),
        max_length=30,
        choices=CaseStatus.choices,
        default=CaseStatus.SUBMITTED,
        db_index=True,
    )
    decision = models.CharField(
        _("decision"), max_length=20, choices=Decision.choices, blank=True
    )
    decision_reason = models.TextField(_("decision reason"), blank=True)
    # The review route the case runs on (routes.route_for), kept so that a
    # change of the registry does not move a case to another route mid-way.
    route_key = models.CharField(_("review route"), max_length=40, blank=True)

    # Who applies. An online case belongs to the applicant's account; a case
    # registered at a window may have no account.
    applicant_kind = models.CharField(
        _("applicant kind"), max_length=20, choices=ApplicantKind.choices
    )
    applicant_account = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant account"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    applicant_name = models.CharField(_("applicant"), max_length=200)
    # Resident ID number of a person, or USCC of an enterprise.
    applicant_code = models.CharField(
        _("applicant's code"), max_length=18, db_index=True
    )
    contact_name = models.CharField(_("contact"), max_length=60)
    contact_phone = models.CharField(_("contact phone"), max_length=20)
    # What the applicant typed, kept with the case: the library entry may be
    # another account's or a window's and is not changed by every case.
    applicant_address = models.CharField(_("address"), max_length=200, blank=True)
    legal_representative = models.CharField(
        _("legal representative"), max_length=60, blank=True
    )
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("registered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    form_data = models.JSONField(_("form data"), default=dict, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=80, blank=True)
    content_hash = models.CharField(_("content fingerprint"), max_length=64, blank=True)

    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_on = models.DateField(
        _("accepted on (Beijing date)"), null=True, blank=True
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    # Limits as they stood at acceptance, and the dates computed from them.
    legal_limit_value = models.PositiveIntegerField(
        _("legal limit"), null=True, blank=True
    )
    legal_limit_unit = models.CharField(
        _("legal limit unit"), max_length=20, choices=LimitUnit.choices, blank=True
    )
    promised_limit_value = models.PositiveIntegerField(
        _("promised limit"), null=True, blank=True
    )
    promised_limit_unit = models.CharField(
        _("promised limit unit"), max_length=20, choices=LimitUnit.choices, blank=True
    )
    legal_due = models.DateField(_("legal deadline"), null=True, blank=True)
    promised_due = models.DateField(_("promised deadline"), null=True, blank=True)
    # Some deadline used a year without an official schedule (the legal one
    # at least, being the later); the promised one may still be exact.
    due_provisional = models.BooleanField(
        _("deadline provisional"), default=False, db_index=True
    )
    promised_due_provisional = models.BooleanField(
        _("promised deadline provisional"), default=False
    )
    paused_working_days = models.PositiveIntegerField(
        _("paused working days"), default=0
    )
    extension_days = models.PositiveIntegerField(
        _("extension (working days)"), default=0
    )
    extension_reason = models.TextField(_("extension reason"), blank=True)
    extension_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("extension approved by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    extension_approved_at = models.DateTimeField(
        _("extension approved at"), null=True, blank=True
    )
    refusal_reason = models.TextField(_("reason for not accepting"), blank=True)
    correction_items = models.JSONField(
        _("materials to correct"), default=list, blank=True
    )
    correction_note = models.TextField(_("correction note"), blank=True)

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # A case on a BPMN route keeps the version it started with, and the
    # engine's state between steps (cases.workflow).
    route_process = models.ForeignKey(
        ReviewProcess,
        verbose_name=_("route version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cases",
    )
    route_state = models.JSONField(_("route state"), default=dict, blank=True)
    # When the earliest timer the route waits on fires; the periodic job
    # (cases.tasks.fire_route_timers) looks for cases past it.
    route_wakes_at = models.DateTimeField(
        _("route timer due at"), null=True, blank=True, db_index=True
    )

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant_account", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="case_idempotency_key_unique",
            ),
            # A window registration has no applicant account: the clerk's
            # key is unique per clerk instead.
            models.UniqueConstraint(
                fields=["registered_by", "idempotency_key"],
                condition=~models.Q(idempotency_key="")
                & models.Q(applicant_account__isnull=True),
                name="case_window_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "status"]),
            models.Index(fields=["submitted_at"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


def material_upload_to(instance: "CaseMaterial", filename: str) -> str:
    # A generated name: the applicant's file name may be longer than the file
    # system allows in bytes (case 20) and may clash with another upload.
    suffix = PurePath(filename).suffix.lower()[:10]
    return f"materials/{uuid.uuid4().hex}{suffix}"


class CaseMaterial(models.Model):
    """A file the applicant submitted for a case, kept under a generated name."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    requirement = models.ForeignKey(
        MaterialRequirement,
        verbose_name=_("requirement"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    file = models.FileField(_("file"), upload_to=material_upload_to, max_length=200)
    original_name = models.CharField(_("original file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    # The e-licence the file is a copy of (证照库). The copy does not change
    # when the licence is revoked, so the link is what tells the reviewer.
    licence = models.ForeignKey(
        "ResultDocument",
        verbose_name=_("e-licence"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="used_as_materials",
    )

    class Meta:
        verbose_name = _("case material")
        verbose_name_plural = _("case materials")
        ordering = ["case", "requirement__order", "uploaded_at"]

    def __str__(self) -> str:
        return self.original_name

    @property
    def licence_revoked(self) -> bool:
        """Whether the file is a copy of an e-licence revoked since."""
        return self.licence_id is not None and (
            self.licence.status == ResultStatus.REVOKED
        )

    @property
    def licence_revoked_on(self) -> date | None:
        """The Beijing date the licence was revoked on, if it was."""
        if not self.licence_revoked or self.licence.revoked_at is None:
            return None
        return beijing_date(self.licence.revoked_at)


class PauseKind(models.TextChoices):
    CORRECTION = "correction", _("Awaiting materials")
    HEARING = "hearing", _("Hearing")
    TESTING = "testing", _("Testing")
    EXPERT_REVIEW = "expert_review", _("Expert review")
    INSPECTION = "inspection", _("Inspection")
    OTHER = "other", _("Other statutory procedure")


class CasePause(models.Model):
    """A stretch of time the legal clock stood still.

    The pause covers its first day through its last day, both counted as
    paused; the clock resumes the day after the last.
    """

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="pauses")
    kind = models.CharField(_("kind"), max_length=20, choices=PauseKind.choices)
    reason = models.TextField(_("reason"))
    started_on = models.DateField(_("first paused day"))
    ended_on = models.DateField(_("last paused day"), null=True, blank=True)
    working_days = models.PositiveIntegerField(
        _("paused working days"), null=True, blank=True
    )
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("pause")
        verbose_name_plural = _("pauses")
        ordering = ["case", "started_on"]

    def __str__(self) -> str:
        return f"{self.case} {self.started_on}–{self.ended_on or '…'}"


class CaseEvent(models.Model):
    """A step on the case's timeline, as the applicant and staff see it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), auto_now_add=True)
    action = models.CharField(_("action"), max_length=40, choices=CaseAction.choices)
    status_from = models.CharField(_("from"), max_length=30, blank=True)
    status_to = models.CharField(_("to"), max_length=30, blank=True)
    actor_label = models.CharField(_("by"), max_length=100, blank=True)
    # The review step an event belongs to (审查, 审核…): the applicant sees
    # which step moved, never the reviewer's opinion in ``note``.
    step = models.CharField(_("step"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["case", "at", "id"]

    def __str__(self) -> str:
        return f"{self.case} {self.action}"


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("task status", "Open")
    DONE = "done", pgettext_lazy("task status", "Done")
    CANCELLED = "cancelled", pgettext_lazy("task status", "No longer needed")


class TaskOutcome(models.TextChoices):
    """What a task was answered with.

    The answers of BPMN routes come first (``catalogue.processes`` lists
    which task gives which); approve, deny and return are the answers of
    the sequential route that cases accepted before review routes became
    BPMN still run on.
    """

    APPROVED = "approved", pgettext_lazy("task outcome", "Approved")
    APPROVED_WITH_CONDITIONS = (
        "approved_with_conditions",
        pgettext_lazy("task outcome", "Approved with conditions"),
    )
    REVISION_REQUIRED = (
        "revision_required",
        pgettext_lazy("task outcome", "Revision required"),
    )
    REJECTED = "rejected", pgettext_lazy("task outcome", "Rejected")
    DENIED = "denied", pgettext_lazy("task outcome", "Denied")
    ANOTHER_ROUND = (
        "another_round",
        pgettext_lazy("task outcome", "Ask the co-departments again"),
    )
    REVISED = "revised", pgettext_lazy("task outcome", "Revision done")
    DONE = "done", pgettext_lazy("task outcome", "Done")
    OCCURRED = "occurred", pgettext_lazy("task outcome", "It has happened")
    SENT_BACK = "sent_back", pgettext_lazy("task outcome", "Sent back")
    SIGNED_ALL = "countersigned", pgettext_lazy("task outcome", "Countersigned")
    APPROVE = "approve", pgettext_lazy("task outcome", "Approve")
    DENY = "deny", pgettext_lazy("task outcome", "Deny")
    RETURN = "return", pgettext_lazy("task outcome", "Return to the previous node")


# Answers a reviewer must explain (the applicant or the next node reads why).
OUTCOMES_NEEDING_OPINION = frozenset(
    {
        TaskOutcome.APPROVED_WITH_CONDITIONS,
        TaskOutcome.REVISION_REQUIRED,
        TaskOutcome.REJECTED,
        TaskOutcome.DENIED,
        TaskOutcome.ANOTHER_ROUND,
        TaskOutcome.SENT_BACK,
        TaskOutcome.DENY,
        TaskOutcome.RETURN,
    }
)


class SignMode(models.TextChoices):
    """How the signers of a task decide it (会签 / 或签)."""

    NONE = "", pgettext_lazy("sign mode", "Handled by one person")
    ALL = "all", pgettext_lazy("sign mode", "Countersign: all must sign")
    ANY = "any", pgettext_lazy("sign mode", "Countersign: any one may sign")


class VerificationOutcome(models.TextChoices):
    """What the check of a notify-and-commit case found (核查结果)."""

    CONFIRMED = (
        "commitment_confirmed",
        pgettext_lazy("task outcome", "Commitment confirmed"),
    )
    FALSE = "commitment_false", pgettext_lazy("task outcome", "Commitment false")


# A task's outcome: a review answer or a verification finding.
TASK_OUTCOME_CHOICES = [*TaskOutcome.choices, *VerificationOutcome.choices]


class TaskKind(models.TextChoices):
    """Why a task waits in an inbox.

    Review tasks are the steps of the review route, opened and read by the
    routes; a verification task checks a notify-and-commit case after its
    approval and never stands in the way of the result or the closing. A
    system task stands for a step of the route that no reviewer decides: a
    service task, or an event the route waits for (a document received, an
    answer from another system); the lead department reports it done.
    """

    REVIEW = "review", pgettext_lazy("task kind", "Review step")
    VERIFICATION = (
        "verification",
        pgettext_lazy("task kind", "Verification of a commitment"),
    )
    SYSTEM = "system", pgettext_lazy("task kind", "System step or wait")


class Task(models.Model):
    """A piece of work on a case waiting in a department's inbox."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(
        _("kind"),
        max_length=20,
        choices=TaskKind.choices,
        default=TaskKind.REVIEW,
        db_index=True,
    )
    node_key = models.CharField(_("node"), max_length=60)
    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tasks",
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=TaskStatus.choices,
        default=TaskStatus.OPEN,
        db_index=True,
    )
    # Also the moment the node's clock starts (cases.deadlines.node_clock).
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # The node's clock: its own limit counted from the day the task opened,
    # plus the working days the case stood suspended while it was open.
    started_on = models.DateField(_("opened on (Beijing date)"), null=True, blank=True)
    limit_working_days = models.PositiveIntegerField(
        _("node limit (working days)"), null=True, blank=True
    )
    paused_working_days = models.PositiveIntegerField(
        _("paused working days"), default=0
    )
    due_on = models.DateField(_("due"), null=True, blank=True)
    due_provisional = models.BooleanField(_("due date provisional"), default=False)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome = models.CharField(
        _("outcome"),
        max_length=30,
        choices=TASK_OUTCOME_CHOICES,
        blank=True,
    )
    opinion = models.TextField(_("opinion"), blank=True)
    # Tasks of a BPMN route: the engine task mirrored, the parallel branch
    # (the co-department's review element) and the round it belongs to.
    workflow_task_id = models.UUIDField(
        _("engine task"), null=True, blank=True, db_index=True
    )
    branch = models.CharField(_("branch"), max_length=100, blank=True)
    round = models.PositiveIntegerField(_("round"), null=True, blank=True)
    # working_days or working_hours, as the route's task properties say.
    limit_unit = models.CharField(_("node limit unit"), max_length=20, blank=True)
    limit_value = models.PositiveIntegerField(_("node limit"), null=True, blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    # How much of the limit is left when the node turns yellow, in the
    # limit's own unit, and the moment that happens.
    warning_value = models.PositiveIntegerField(
        _("warning (same unit as the limit)"), null=True, blank=True
    )
    warn_at = models.DateTimeField(_("warning at"), null=True, blank=True)
    # The answers the route accepts for this task, and whether the answer
    # decides the case (the node that sets ``decision``).
    answers = models.JSONField(_("answers"), default=list, blank=True)
    # How the route names answers of its own (the events an event-based
    # gateway waits for), by answer.
    answer_labels = models.JSONField(_("answer labels"), default=dict, blank=True)
    decides = models.BooleanField(_("decides the case"), default=False)
    # Who acts: the department's reviewers, or the assignee once the task
    # was transferred to a person; a delegate acts for the assignee.
    delegate = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("delegate"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="delegated_tasks",
    )
    sign_mode = models.CharField(
        _("sign mode"), max_length=10, choices=SignMode.choices, blank=True
    )
    urge_count = models.PositiveIntegerField(_("times urged"), default=0)
    last_urged_at = models.DateTimeField(_("last urged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "created_at"]
        indexes = [models.Index(fields=["department", "status"])]

    def __str__(self) -> str:
        return f"{self.case} {self.name}"


class CommitmentKind(models.TextChoices):
    DEFERRAL = "deferral", pgettext_lazy("commitment kind", "Conditional acceptance")
    NOTIFICATION = "notification", pgettext_lazy("commitment kind", "Notify and commit")


class CommitmentStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("commitment status", "Open")
    FULFILLED = "fulfilled", pgettext_lazy("commitment status", "Fulfilled")
    LAPSED = "lapsed", pgettext_lazy("commitment status", "Not kept in time")
    FALSE = "false", pgettext_lazy("commitment status", "Found false")
    VOID = "void", pgettext_lazy("commitment status", "No longer needed")


class Commitment(models.Model):
    """The applicant's written promise a case goes ahead on (承诺).

    Under conditional acceptance (容缺受理) the applicant promises to supply
    the listed secondary materials by ``due_on``; the case is accepted
    without them, paused if the day passes and returned (退件) if they are
    still missing at the cut-off. Under notify-and-commit (告知承诺制) the
    applicant commits to meeting the conditions the listed materials would
    prove; the lead department verifies the commitment after an approval.
    ``statement`` is the text the applicant agreed to, kept as it was shown.
    """

    case = models.ForeignKey(
        Case,
        verbose_name=_("case"),
        on_delete=models.CASCADE,
        related_name="commitments",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=CommitmentKind.choices)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=CommitmentStatus.choices,
        default=CommitmentStatus.OPEN,
        db_index=True,
    )
    statement = models.TextField(_("commitment statement"))
    due_on = models.DateField(_("materials due by"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The pause a missed deadline started; the case resumes from it when the
    # last material arrives.
    pause = models.ForeignKey(
        CasePause,
        verbose_name=_("pause"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    closed_on = models.DateField(_("settled on"), null=True, blank=True)
    outcome_note = models.TextField(_("outcome"), blank=True)

    class Meta:
        verbose_name = _("commitment")
        verbose_name_plural = _("commitments")
        ordering = ["case", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind"], name="commitment_one_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.status == CommitmentStatus.OPEN


class CommitmentMaterial(models.Model):
    """A material a commitment defers or replaces, with when it came in."""

    commitment = models.ForeignKey(
        Commitment, on_delete=models.CASCADE, related_name="materials"
    )
    requirement = models.ForeignKey(
        MaterialRequirement,
        verbose_name=_("requirement"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The requirement's name as it stood: an item's new version replaces
    # its requirement rows.
    name = models.CharField(_("name"), max_length=300)
    supplied_on = models.DateField(_("supplied on"), null=True, blank=True)
    material = models.ForeignKey(
        CaseMaterial,
        verbose_name=_("file"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("committed material")
        verbose_name_plural = _("committed materials")
        ordering = ["commitment", "requirement__order", "pk"]

    def __str__(self) -> str:
        return self.name


class SignerKind(models.TextChoices):
    COSIGNER = "cosigner", pgettext_lazy("signer kind", "Co-signer")
    COUNTERSIGNER = "countersigner", pgettext_lazy("signer kind", "Countersigner")


class SignerStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("signer status", "Waiting")
    SIGNED = "signed", pgettext_lazy("signer status", "Signed")
    CANCELLED = "cancelled", pgettext_lazy("signer status", "No longer needed")


class TaskSigner(models.Model):
    """A person whose signature a task needs (加签, 会签, 或签).

    A co-signer gives an opinion before the task's handler completes it; a
    countersigner's answer decides the task with the others': all of them,
    or the first one, as the task's sign mode says.
    """

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="signers")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("signer"),
        on_delete=models.PROTECT,
        related_name="task_signatures",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SignerKind.choices)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=SignerStatus.choices,
        default=SignerStatus.PENDING,
    )
    outcome = models.CharField(
        _("answer"), max_length=30, choices=TaskOutcome.choices, blank=True
    )
    opinion = models.TextField(_("opinion"), blank=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    added_at = models.DateTimeField(_("added at"), auto_now_add=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("task signer")
        verbose_name_plural = _("task signers")
        ordering = ["task", "added_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "user"],
                condition=~models.Q(status="cancelled"),
                name="task_signer_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.user}"


class TaskActionKind(models.TextChoices):
    """What can be done to a task besides answering it."""

    SEND_BACK = "send_back", pgettext_lazy("task action", "Send back")
    TRANSFER = "transfer", pgettext_lazy("task action", "Transfer")
    DELEGATE = "delegate", pgettext_lazy("task action", "Delegate")
    ADD_COSIGNER = "add_cosigner", pgettext_lazy("task action", "Add a co-signer")
    COUNTERSIGN = (
        "countersign",
        pgettext_lazy("task action", "Ask for countersignatures"),
    )
    SIGN = "sign", pgettext_lazy("task action", "Sign")
    URGE = "urge", pgettext_lazy("task action", "Urge")


class TaskLog(models.Model):
    """One thing done to a task, for its history on the case page."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="log")
    kind = models.CharField(_("action"), max_length=20, choices=TaskActionKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("task log entry")
        verbose_name_plural = _("task log")
        ordering = ["task", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.task} {self.kind}"


class CaseNumberSequence(models.Model):
    """The last case number handed out for a region on a Beijing date."""

    region_code = models.CharField(max_length=12)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("case number sequence")
        verbose_name_plural = _("case number sequences")
        constraints = [
            models.UniqueConstraint(
                fields=["region_code", "day"], name="case_seq_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.region_code} {self.day} {self.last}"


class VoidCaseNumber(models.Model):
    """A case number taken by an attempt that failed: never reused, explained."""

    number = models.CharField(_("case number"), max_length=40, unique=True)
    reason = models.CharField(_("reason"), max_length=200)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("void case number")
        verbose_name_plural = _("void case numbers")

    def __str__(self) -> str:
        return self.number


class ResultKind(models.TextChoices):
    DECISION = "decision", pgettext_lazy("result kind", "Decision document")
    LICENCE = "licence", pgettext_lazy("result kind", "E-licence")


class ResultStatus(models.TextChoices):
    VALID = "valid", pgettext_lazy("result status", "Valid")
    REVOKED = "revoked", pgettext_lazy("result status", "Revoked")


def result_upload_to(instance: "ResultDocument", filename: str) -> str:
    # A generated name: the number and the holder stay out of the path.
    return f"results/{uuid.uuid4().hex}.pdf"


class ResultDocument(models.Model):
    """The decision document or e-licence a case ends with (决定书/电子证照).

    Numbered per department and year, signed by the department, and
    verifiable by anyone through the QR code's unguessable token. A
    licence lands in the holder's library (the person or enterprise of the
    case) and can stand in for the material it is in the holder's next
    application until it is revoked.
    """

    case = models.OneToOneField(
        Case,
        verbose_name=_("case"),
        on_delete=models.PROTECT,
        related_name="result_document",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ResultKind.choices)
    number = models.CharField(_("document number"), max_length=60, unique=True)
    year = models.PositiveSmallIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence"))
    title = models.CharField(_("title"), max_length=300)
    holder_name = models.CharField(_("holder"), max_length=200)
    # Resident ID number or USCC: kept for the record, never shown publicly.
    holder_code = models.CharField(_("holder's code"), max_length=18)
    person = models.ForeignKey(
        Person,
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="result_documents",
    )
    enterprise = models.ForeignKey(
        Enterprise,
        verbose_name=_("enterprise"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="result_documents",
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("issuing department"),
        on_delete=models.PROTECT,
        related_name="result_documents",
    )
    issued_on = models.DateField(_("issued on (Beijing date)"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    verification_token = models.CharField(
        _("verification token"), max_length=64, unique=True
    )
    file = models.FileField(_("file"), upload_to=result_upload_to, max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=ResultStatus.choices,
        default=ResultStatus.VALID,
        db_index=True,
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.TextField(_("reason for revocation"), blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("result document")
        verbose_name_plural = _("result documents")
        ordering = ["-issued_on", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["department", "year", "sequence"],
                name="result_document_sequence_unique",
            )
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_valid(self) -> bool:
        return self.status == ResultStatus.VALID

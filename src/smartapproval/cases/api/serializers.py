"""Shapes of the cases API: input of each action, and the case as it is read."""

import dataclasses
import json
from datetime import date

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.utils import html

from smartapproval.accounts.models import FULL_PII_ROLES
from smartapproval.cases import commitments, deadlines, selectors, services
from smartapproval.cases.models import (
    Case,
    CaseEvent,
    CaseMaterial,
    CaseStatus,
    CommitmentMaterial,
    Decision,
    PauseKind,
    ResultDocument,
    SignerStatus,
    SignMode,
    Task,
    TaskLog,
    TaskOutcome,
    TaskSigner,
    VerificationOutcome,
)
from smartapproval.catalogue.models import ServiceItem
from smartapproval.core.api import FieldsBuiltOnce
from smartapproval.core.masking import mask_id_number, mask_phone

# Reasons, notes and opinions: as long as the pages allow.
TEXT_LIMIT = 2000


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    """Every error of the API: the first message, its field, and all of them."""

    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)
    code = serializers.CharField()
    errors = ErrorItemSerializer(many=True)


@extend_schema_field(OpenApiTypes.OBJECT)
class JSONObjectField(serializers.Field):
    """A JSON object, given as such or as a JSON string (multipart forms)."""

    default_error_messages = {"invalid": _("Give a JSON object.")}

    def get_value(self, dictionary):
        # Multipart may also spell the object out as ``name.key`` parts.
        if html.is_html_input(dictionary) and self.field_name not in dictionary:
            parts = html.parse_html_dict(dictionary, prefix=self.field_name)
            if parts:
                return parts.dict()
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data) if data.strip() else {}
            except ValueError:
                self.fail("invalid")
        if not isinstance(data, dict):
            self.fail("invalid")
        return data

    def to_representation(self, value):
        return value


class ApplicantInputSerializer(serializers.Serializer):
    """Who applies. Checked by the service, which names the wrong part."""

    kind = serializers.ChoiceField(choices=["person", "enterprise"])
    name = serializers.CharField()
    code = serializers.CharField(help_text="Resident ID number or USCC.")
    contact_phone = serializers.CharField()
    contact_name = serializers.CharField(required=False)
    address = serializers.CharField(required=False)
    legal_representative = serializers.CharField(required=False)
    legal_representative_id_number = serializers.CharField(required=False)


class CaseSubmitSerializer(serializers.Serializer):
    """A submission as JSON (no files), or as multipart with files.

    In multipart, ``applicant`` and ``form_data`` are JSON strings and each
    file is a part named ``material_<requirement id>`` (or ``material`` for
    a file that answers no listed material).
    """

    item = serializers.PrimaryKeyRelatedField(
        label=_("Service item"), queryset=ServiceItem.objects.all()
    )
    applicant = JSONObjectField(label=_("Applicant"), help_text="See ApplicantInput.")
    form_data = JSONObjectField(
        label=_("Application form"), required=False, default=dict
    )
    notify_commit = serializers.BooleanField(
        label=_("Notify and commit"),
        required=False,
        default=False,
        help_text=(
            "Commit instead of proving (告知承诺制): the applicant agrees to "
            "the item's notify_commit.statement, and the materials it replaces "
            "are not required."
        ),
    )
    licence_materials = JSONObjectField(
        label=_("E-licences standing in for materials"),
        required=False,
        default=dict,
        help_text=(
            "Material requirement id → id of one of the applicant's own valid "
            "e-licences (GET /api/v1/licences/), which stands in for that "
            "material. The licence must be that material: one the requirement "
            "lists in accepts_results, or whose result its name names; "
            "another is refused. Online applications only."
        ),
    )

    def validate_licence_materials(self, value: dict) -> dict[int, int]:
        try:
            return {int(key): int(document) for key, document in value.items()}
        except (TypeError, ValueError):
            raise serializers.ValidationError(
                _("Give the requirement and licence ids as whole numbers.")
            ) from None


class CaseSubmitMultipartSerializer(CaseSubmitSerializer):
    material = serializers.ListField(
        label=_("Material files"),
        child=serializers.FileField(),
        required=False,
        help_text="Files.",
    )


class ItemBriefSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = ServiceItem
        fields = ["id", "implementation_code", "name"]


class CaseListSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    item = ItemBriefSerializer(read_only=True)
    department = serializers.CharField(source="department.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = Case
        fields = [
            "number",
            "item",
            "department",
            "channel",
            "status",
            "status_label",
            "decision",
            "applicant_kind",
            "applicant_name",
            "submitted_at",
            "accepted_on",
            "promised_due",
            "legal_due",
            "due_provisional",
            "promised_due_provisional",
        ]


class MaterialSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    requirement_name = serializers.CharField(
        source="requirement.name", read_only=True, default=""
    )
    download_url = serializers.SerializerMethodField()
    licence_number = serializers.CharField(
        source="licence.number",
        read_only=True,
        default=None,
        help_text="The e-licence the file is a copy of, if it stood in for one.",
    )
    licence_revoked = serializers.BooleanField(
        read_only=True,
        help_text="The licence was revoked since: the case cannot be approved "
        "until the material is replaced.",
    )
    licence_revoked_on = serializers.DateField(read_only=True, allow_null=True)

    class Meta:
        model = CaseMaterial
        fields = [
            "id",
            "requirement",
            "requirement_name",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_at",
            "download_url",
            "licence",
            "licence_number",
            "licence_revoked",
            "licence_revoked_on",
        ]

    def get_download_url(self, material: CaseMaterial) -> str:
        return reverse("cases-api:material-download", args=[material.pk])


class ClockSerializer(serializers.Serializer):
    colour = serializers.CharField()
    due = serializers.DateField(allow_null=True)
    running = serializers.BooleanField()
    paused = serializers.BooleanField()
    paused_working_days = serializers.IntegerField()
    remaining_working_days = serializers.IntegerField(allow_null=True)
    overdue_working_days = serializers.IntegerField()
    label = serializers.CharField()


class AnswerSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()


class SignerSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.__str__", read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = TaskSigner
        fields = [
            "id",
            "user_id",
            "user",
            "kind",
            "kind_label",
            "status",
            "status_label",
            "outcome",
            "opinion",
            "signed_at",
        ]


class TaskSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    case = serializers.CharField(source="case.number", read_only=True)
    item = serializers.CharField(source="case.item.name", read_only=True)
    department = serializers.CharField(source="department.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    outcome_label = serializers.SerializerMethodField()
    answers = serializers.SerializerMethodField()
    assignee = serializers.SerializerMethodField()
    delegate = serializers.SerializerMethodField()
    signers = serializers.SerializerMethodField()
    clock = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "case",
            "item",
            "kind",
            "node_key",
            "name",
            "department",
            "department_id",
            "status",
            "status_label",
            "round",
            "branch",
            "answers",
            "decides",
            "assignee",
            "delegate",
            "sign_mode",
            "signers",
            "started_on",
            "limit_value",
            "limit_unit",
            "limit_working_days",
            "warn_at",
            "due_at",
            "due_on",
            "due_provisional",
            "urge_count",
            "last_urged_at",
            "outcome",
            "outcome_label",
            "opinion",
            "completed_at",
            "clock",
        ]

    @extend_schema_field(AnswerSerializer(many=True))
    def get_answers(self, task: Task) -> list[dict]:
        return [
            {"value": a, "label": services.answer_label(task, a)}
            for a in services.task_answers_of(task)
        ]

    @extend_schema_field(serializers.CharField())
    def get_outcome_label(self, task: Task) -> str:
        return services.answer_label(task, task.outcome) if task.outcome else ""

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_assignee(self, task: Task) -> str | None:
        return str(task.assignee) if task.assignee_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_delegate(self, task: Task) -> str | None:
        return str(task.delegate) if task.delegate_id else None

    @extend_schema_field(SignerSerializer(many=True))
    def get_signers(self, task: Task) -> list:
        return SignerSerializer(task.signers.all(), many=True).data

    @extend_schema_field(ClockSerializer)
    def get_clock(self, task: Task) -> dict:
        clock = getattr(task, "clock", None) or deadlines.task_clock(task)
        return ClockSerializer(clock).data


class SendBackTargetSerializer(serializers.Serializer):
    node_key = serializers.CharField()
    name = serializers.CharField()


class TaskLogSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    actor = serializers.CharField(source="actor.__str__", default=None)

    class Meta:
        model = TaskLog
        fields = ["kind", "kind_label", "actor", "at", "note"]


class TaskDetailSerializer(TaskSerializer):
    send_back_targets = serializers.SerializerMethodField()
    sign_answers = serializers.SerializerMethodField(
        help_text=(
            "The answers the reader may sign with, when asked to sign this "
            "task: approved or rejected for a co-signer, the task's answers "
            "for a countersigner; empty otherwise."
        )
    )
    log = TaskLogSerializer(many=True, read_only=True)

    class Meta(TaskSerializer.Meta):
        fields = [
            *TaskSerializer.Meta.fields,
            "send_back_targets",
            "sign_answers",
            "log",
        ]

    @extend_schema_field(AnswerSerializer(many=True))
    def get_sign_answers(self, task: Task) -> list[dict]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        signer = next(
            (
                s
                for s in task.signers.all()
                if s.user_id == getattr(user, "pk", None)
                and s.status == SignerStatus.PENDING
            ),
            None,
        )
        if signer is None:
            return []
        return [
            {"value": value, "label": label}
            for value, label in services.sign_answers(task, signer.kind)
        ]

    @extend_schema_field(SendBackTargetSerializer(many=True))
    def get_send_back_targets(self, task: Task) -> list[dict]:
        return [
            {"node_key": t.node_key, "name": t.name}
            for t in services.task_send_back_targets(task=task)
        ]


class EventSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    action_label = serializers.CharField(source="get_action_display", read_only=True)

    class Meta:
        model = CaseEvent
        fields = [
            "at",
            "action",
            "action_label",
            "status_from",
            "status_to",
            "actor_label",
            "note",
        ]


class CommitmentMaterialSerializer(serializers.ModelSerializer):
    class Meta:
        model = CommitmentMaterial
        fields = ["requirement", "name", "supplied_on", "material"]


class CommitmentSerializer(serializers.Serializer):
    """A commitment of the case: 容缺受理 or 告知承诺, with its dates."""

    kind = serializers.CharField(source="commitment.kind")
    kind_label = serializers.CharField(source="commitment.get_kind_display")
    status = serializers.CharField(source="commitment.status")
    status_label = serializers.CharField(source="commitment.get_status_display")
    statement = serializers.CharField(source="commitment.statement")
    due_on = serializers.DateField(source="commitment.due_on", allow_null=True)
    cutoff_on = serializers.DateField(
        source="cutoff",
        allow_null=True,
        help_text="容缺: returned if the materials are still missing after it.",
    )
    closed_on = serializers.DateField(source="commitment.closed_on", allow_null=True)
    outcome_note = serializers.CharField(source="commitment.outcome_note")
    materials = CommitmentMaterialSerializer(many=True)
    outstanding = serializers.SerializerMethodField()

    def get_outstanding(self, view) -> list[str]:
        return [entry.name for entry in view.outstanding]


def _plain(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value) if hasattr(value, "_proxy____cast") else value


class CaseDetailSerializer(CaseListSerializer):
    """The case as one reader may see it.

    The applicant's code and the contact phone are masked unless the reader
    is a window clerk of the case's department (FULL_PII_ROLES).
    """

    applicant_code = serializers.SerializerMethodField()
    contact_phone = serializers.SerializerMethodField()
    decision_label = serializers.CharField(
        source="get_decision_display", read_only=True
    )
    materials = serializers.SerializerMethodField()
    tasks = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()
    deadline = serializers.SerializerMethodField()
    clock = serializers.SerializerMethodField()
    commitments = serializers.SerializerMethodField()
    conditional_acceptance_offered = serializers.SerializerMethodField()

    class Meta(CaseListSerializer.Meta):
        fields = [
            *CaseListSerializer.Meta.fields,
            "applicant_code",
            "contact_name",
            "contact_phone",
            "decision_label",
            "decision_reason",
            "refusal_reason",
            "correction_items",
            "correction_note",
            "accepted_at",
            "decided_at",
            "closed_at",
            "legal_limit_value",
            "legal_limit_unit",
            "promised_limit_value",
            "promised_limit_unit",
            "paused_working_days",
            "extension_days",
            "extension_reason",
            "materials",
            "tasks",
            "timeline",
            "deadline",
            "clock",
            "commitments",
            "conditional_acceptance_offered",
        ]

    def _full_pii(self, case: Case) -> bool:
        user = self.context.get("user")
        return bool(
            user is not None
            and getattr(user, "role", None) in FULL_PII_ROLES
            and user.department_id == case.department_id
        )

    def get_applicant_code(self, case: Case) -> str:
        if self._full_pii(case):
            return case.applicant_code
        return mask_id_number(case.applicant_code)

    def get_contact_phone(self, case: Case) -> str:
        if self._full_pii(case):
            return case.contact_phone
        return mask_phone(case.contact_phone)

    @extend_schema_field(MaterialSerializer(many=True))
    def get_materials(self, case: Case) -> list:
        # The requirement's name is shown with each file: one query for all.
        materials = case.materials.select_related("requirement", "licence")
        return MaterialSerializer(materials, many=True).data

    @extend_schema_field(TaskSerializer(many=True))
    def get_tasks(self, case: Case) -> list:
        # Review opinions are internal: staff see them, applicants do not.
        user = self.context.get("user")
        if not getattr(user, "is_staff_member", False):
            return []
        tasks = (
            case.tasks.select_related("department", "assignee", "delegate")
            .prefetch_related("signers__user")
            .order_by("created_at", "pk")
        )
        return TaskSerializer(tasks, many=True).data

    @extend_schema_field(EventSerializer(many=True))
    def get_timeline(self, case: Case) -> list:
        user = self.context.get("user")
        if getattr(user, "is_staff_member", False):
            return EventSerializer(selectors.case_timeline(case), many=True).data
        # The applicant follows the steps; who handled them and the review
        # opinions stay with the staff, as on the applicant's page.
        events = EventSerializer(
            selectors.case_timeline_for_applicant(case), many=True
        ).data
        for event in events:
            event["actor_label"] = ""
            if event["action"] not in selectors.APPLICANT_NOTE_ACTIONS:
                event["note"] = ""
        return events

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_deadline(self, case: Case) -> dict | None:
        if case.accepted_on is None:
            return None
        explanation = deadlines.case_deadline_explanation(case)
        return _plain(dataclasses.asdict(explanation))

    @extend_schema_field(ClockSerializer)
    def get_clock(self, case: Case) -> dict:
        return ClockSerializer(deadlines.case_clock(case)).data

    @extend_schema_field(CommitmentSerializer(many=True))
    def get_commitments(self, case: Case) -> list:
        return CommitmentSerializer(
            commitments.case_commitment_views(case), many=True
        ).data

    def get_conditional_acceptance_offered(self, case: Case) -> bool:
        """Whether the window may accept the case with deferred materials:
        deferrable materials, and no violation on record (staff only)."""
        user = self.context.get("user")
        if not getattr(user, "is_staff_member", False):
            return False
        return case.status == CaseStatus.SUBMITTED and (
            commitments.conditional_acceptance_offered(case)
        )


class SubmitResultSerializer(CaseDetailSerializer):
    duplicate_warning = serializers.SerializerMethodField()
    warnings = serializers.SerializerMethodField()

    class Meta(CaseDetailSerializer.Meta):
        fields = [*CaseDetailSerializer.Meta.fields, "duplicate_warning", "warnings"]

    def get_duplicate_warning(self, case: Case) -> bool:
        return bool(self.context.get("duplicate_warning"))

    def get_warnings(self, case: Case) -> list[str]:
        return list(self.context.get("warnings", ()))


# Input of the actions


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(
        label=_("Note"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class EmptySerializer(serializers.Serializer):
    pass


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(
        label=_("Reason"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class CorrectionRequestSerializer(serializers.Serializer):
    items = serializers.ListField(
        label=_("Materials to correct"),
        child=serializers.CharField(max_length=TEXT_LIMIT),
        required=False,
        default=list,
        help_text="Requirement ids, or free text for anything else.",
    )
    note = serializers.CharField(
        label=_("Note"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class CorrectionSupplySerializer(serializers.Serializer):
    note = serializers.CharField(
        label=_("Note"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )
    material = serializers.ListField(
        label=_("Material files"),
        child=serializers.FileField(),
        required=False,
        help_text="Files; name parts material_<requirement id> to link them.",
    )


class SuspendSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(
        label=_("Kind of suspension"), choices=PauseKind.choices
    )
    reason = serializers.CharField(
        label=_("Reason"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class ResumeSerializer(serializers.Serializer):
    materials_received_on = serializers.DateField(
        label=_("Materials received on"), required=False, allow_null=True
    )


class ExtendSerializer(serializers.Serializer):
    days = serializers.IntegerField(label=_("Working days of the extension"))
    reason = serializers.CharField(
        label=_("Reason"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(label=_("Decision"), choices=Decision.choices)
    reason = serializers.CharField(
        label=_("Reason"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class TaskCompleteSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(label=_("Outcome"), choices=TaskOutcome.choices)
    opinion = serializers.CharField(
        label=_("Opinion"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class TaskSendBackSerializer(serializers.Serializer):
    node = serializers.CharField(
        label=_("Step to send back to"),
        help_text="node_key of one of send_back_targets",
    )
    reason = serializers.CharField(
        label=_("Reason"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class TaskHandOverSerializer(serializers.Serializer):
    to_user = serializers.IntegerField(
        label=_("Person to hand over to"), help_text="id of a reviewer"
    )
    reason = serializers.CharField(
        label=_("Reason"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class TaskDelegateSerializer(serializers.Serializer):
    to_user = serializers.IntegerField(
        label=_("Person to delegate to"), help_text="id of a reviewer"
    )
    note = serializers.CharField(
        label=_("Note"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class TaskSignersSerializer(serializers.Serializer):
    signers = serializers.ListField(
        label=_("Signers"),
        child=serializers.IntegerField(),
        allow_empty=True,
        help_text="reviewer ids",
    )
    note = serializers.CharField(
        label=_("Note"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class TaskCountersignSerializer(TaskSignersSerializer):
    mode = serializers.ChoiceField(
        label=_("Countersign mode"), choices=[SignMode.ALL, SignMode.ANY]
    )


class TaskUrgeSerializer(serializers.Serializer):
    note = serializers.CharField(
        label=_("Note"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class ConditionalAcceptSerializer(serializers.Serializer):
    deferred = serializers.ListField(
        label=_("Deferred materials"),
        child=serializers.IntegerField(),
        help_text="Requirement ids of the deferrable materials to follow.",
    )
    due_on = serializers.DateField(
        label=_("Commitment deadline"),
        required=False,
        allow_null=True,
        help_text="The day they are promised by; or give working_days.",
    )
    working_days = serializers.IntegerField(
        label=_("Working days until the commitment deadline"),
        required=False,
        allow_null=True,
        help_text="Promised within this many working days from today.",
    )
    applicant_agreed = serializers.BooleanField(
        label=_("Applicant's signature"),
        required=False,
        default=False,
        help_text="The applicant signed the commitment.",
    )


class VerificationSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(
        label=_("Outcome"), choices=VerificationOutcome.choices
    )
    reason = serializers.CharField(
        label=_("Reason"),
        required=False,
        allow_blank=True,
        default="",
        max_length=TEXT_LIMIT,
    )


class LicenceSerializer(serializers.ModelSerializer):
    department = serializers.CharField(source="department.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = ResultDocument
        fields = [
            "id",
            "number",
            "title",
            "department",
            "issued_on",
            "valid_until",
            "status",
            "status_label",
        ]

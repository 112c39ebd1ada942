"""Shapes of the cases API: input of each action, and the case as it is read."""

import dataclasses
import json
from datetime import date

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smartapproval.accounts.models import FULL_PII_ROLES
from smartapproval.cases import deadlines, selectors
from smartapproval.cases.models import (
    Case,
    CaseEvent,
    CaseMaterial,
    Decision,
    PauseKind,
    Task,
    TaskOutcome,
)
from smartapproval.catalogue.models import ServiceItem
from smartapproval.core.api import FieldsBuiltOnce
from smartapproval.core.masking import mask_id_number, mask_phone


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

    item = serializers.PrimaryKeyRelatedField(queryset=ServiceItem.objects.all())
    applicant = JSONObjectField(help_text="See ApplicantInput.")
    form_data = JSONObjectField(required=False, default=dict)


class CaseSubmitMultipartSerializer(CaseSubmitSerializer):
    material = serializers.ListField(
        child=serializers.FileField(), required=False, help_text="Files."
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
        ]


class MaterialSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    requirement_name = serializers.CharField(
        source="requirement.name", read_only=True, default=""
    )
    download_url = serializers.SerializerMethodField()

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


class TaskSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    case = serializers.CharField(source="case.number", read_only=True)
    item = serializers.CharField(source="case.item.name", read_only=True)
    department = serializers.CharField(source="department.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    clock = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = [
            "id",
            "case",
            "item",
            "node_key",
            "name",
            "department",
            "status",
            "status_label",
            "started_on",
            "limit_working_days",
            "due_on",
            "due_provisional",
            "outcome",
            "opinion",
            "completed_at",
            "clock",
        ]

    @extend_schema_field(ClockSerializer)
    def get_clock(self, task: Task) -> dict:
        clock = getattr(task, "clock", None) or deadlines.task_clock(task)
        return ClockSerializer(clock).data


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
        materials = case.materials.select_related("requirement")
        return MaterialSerializer(materials, many=True).data

    @extend_schema_field(TaskSerializer(many=True))
    def get_tasks(self, case: Case) -> list:
        # Review opinions are internal: staff see them, applicants do not.
        user = self.context.get("user")
        if not getattr(user, "is_staff_member", False):
            return []
        tasks = case.tasks.select_related("department").order_by("created_at", "pk")
        return TaskSerializer(tasks, many=True).data

    @extend_schema_field(EventSerializer(many=True))
    def get_timeline(self, case: Case) -> list:
        return EventSerializer(selectors.case_timeline(case), many=True).data

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_deadline(self, case: Case) -> dict | None:
        if case.accepted_on is None:
            return None
        explanation = deadlines.case_deadline_explanation(case)
        return _plain(dataclasses.asdict(explanation))

    @extend_schema_field(ClockSerializer)
    def get_clock(self, case: Case) -> dict:
        return ClockSerializer(deadlines.case_clock(case)).data


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
    note = serializers.CharField(required=False, allow_blank=True, default="")


class EmptySerializer(serializers.Serializer):
    pass


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class CorrectionRequestSerializer(serializers.Serializer):
    items = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        default=list,
        help_text="Requirement ids, or free text for anything else.",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class CorrectionSupplySerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, default="")
    material = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text="Files; name parts material_<requirement id> to link them.",
    )


class SuspendSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=PauseKind.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ResumeSerializer(serializers.Serializer):
    materials_received_on = serializers.DateField(required=False, allow_null=True)


class ExtendSerializer(serializers.Serializer):
    days = serializers.IntegerField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class TaskCompleteSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=TaskOutcome.choices)
    opinion = serializers.CharField(required=False, allow_blank=True, default="")

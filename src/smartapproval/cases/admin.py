"""Admin of cases: for looking, not for changing.

A case changes only through its services (transition table, lock, audit),
so the admin shows cases, tasks and void numbers read-only.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from smartapproval.cases.models import (
    Case,
    CaseEvent,
    CaseMaterial,
    CaseNumberSequence,
    CasePause,
    Commitment,
    CommitmentMaterial,
    Task,
    VoidCaseNumber,
)
from smartapproval.core.masking import mask_id_number, mask_phone


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class CasePauseInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CasePause
    extra = 0
    fields = ["kind", "reason", "started_on", "ended_on", "working_days"]
    readonly_fields = fields


class CaseMaterialInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaseMaterial
    extra = 0
    fields = ["requirement", "original_name", "size", "sha256", "uploaded_at"]
    readonly_fields = fields


class TaskInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Task
    extra = 0
    fields = [
        "kind",
        "name",
        "department",
        "status",
        "started_on",
        "due_on",
        "outcome",
    ]
    readonly_fields = fields


class CommitmentInline(ReadOnlyAdminMixin, admin.StackedInline):
    model = Commitment
    extra = 0
    fields = [
        "kind",
        "status",
        "statement",
        "due_on",
        "recorded_by",
        "created_at",
        "pause",
        "closed_on",
        "outcome_note",
    ]
    readonly_fields = fields
    show_change_link = True


class CommitmentMaterialInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CommitmentMaterial
    extra = 0
    fields = ["name", "requirement", "supplied_on", "material"]
    readonly_fields = fields


class CaseEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = CaseEvent
    extra = 0
    fields = ["at", "action", "status_from", "status_to", "actor_label", "note"]
    readonly_fields = fields


@admin.register(Case)
class CaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "item",
        "department",
        "status",
        "masked_applicant_code",
        "accepted_on",
        "promised_due",
        "legal_due",
        "due_provisional",
    ]
    list_filter = ["status", "channel", "due_provisional", "department"]
    search_fields = ["number"]
    list_select_related = ["item", "department"]
    date_hierarchy = "submitted_at"
    inlines = [
        CasePauseInline,
        CaseMaterialInline,
        CommitmentInline,
        TaskInline,
        CaseEventInline,
    ]
    fields = [
        "number",
        "item",
        "item_version",
        "department",
        "channel",
        "status",
        "decision",
        "decision_reason",
        "applicant_kind",
        "applicant_name",
        "masked_applicant_code",
        "contact_name",
        "masked_contact_phone",
        "submitted_at",
        "accepted_at",
        "accepted_on",
        "legal_limit_value",
        "legal_limit_unit",
        "promised_limit_value",
        "promised_limit_unit",
        "legal_due",
        "promised_due",
        "due_provisional",
        "paused_working_days",
        "extension_days",
        "extension_reason",
        "refusal_reason",
        "correction_items",
        "decided_at",
        "closed_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("applicant's code"))
    def masked_applicant_code(self, case: Case) -> str:
        return mask_id_number(case.applicant_code)

    @admin.display(description=_("contact phone"))
    def masked_contact_phone(self, case: Case) -> str:
        return mask_phone(case.contact_phone)


@admin.register(Commitment)
class CommitmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """容缺 promises and 告知承诺 statements; they change through the services."""

    list_display = ["case", "kind", "status", "due_on", "closed_on"]
    list_filter = ["kind", "status"]
    search_fields = ["case__number"]
    list_select_related = ["case"]
    fields = [
        "case",
        "kind",
        "status",
        "statement",
        "due_on",
        "recorded_by",
        "created_at",
        "pause",
        "closed_on",
        "outcome_note",
    ]
    readonly_fields = fields
    inlines = [CommitmentMaterialInline]


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "case",
        "kind",
        "name",
        "department",
        "status",
        "due_on",
        "outcome",
    ]
    list_filter = ["kind", "status", "department"]
    search_fields = ["case__number"]
    list_select_related = ["case", "department"]


@admin.register(VoidCaseNumber)
class VoidCaseNumberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["number", "reason", "at"]
    search_fields = ["number"]


@admin.register(CaseNumberSequence)
class CaseNumberSequenceAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["region_code", "day", "last"]

"""The audit trail in the admin: to read, never to change."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from smartapproval.audit.actions import action_label
from smartapproval.audit.models import AuditEntry


class ActionFilter(admin.SimpleListFilter):
    """Filter by action, each named by its label rather than its code."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request, model_admin):
        actions = (
            AuditEntry.objects.order_by("action")
            .values_list("action", flat=True)
            .distinct()
        )
        return [(action, action_label(action)) for action in actions]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(action=self.value())
        return queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "action_name", "target_type", "target_id"]
    list_filter = [ActionFilter, "target_type"]
    search_fields = ["=target_id", "=actor_label", "=action", "=request_id"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
    show_full_result_count = False
    # Every field, and the action's label next to its code.
    readonly_fields = [
        name
        for field in AuditEntry._meta.fields
        for name in (
            [field.name, "action_name"] if field.name == "action" else [field.name]
        )
    ]

    @admin.display(description=_("action"), ordering="action")
    def action_name(self, entry: AuditEntry) -> str:
        return action_label(entry.action)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

"""Admin for the libraries: read-only and masked.

Entries change only through the services, which audit every change; a full
number is shown through the audited reveal of the API.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from smartapproval.core.codes import normalize_code
from smartapproval.core.masking import mask_id_number, mask_phone
from smartapproval.parties.models import Enterprise, Person


class _ReadOnlyLibraryAdmin(admin.ModelAdmin):
    search_help_text = _("Exact resident ID number, credit code or phone number.")
    list_filter = ["has_violation"]
    list_per_page = 50
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_search_results(self, request, queryset, search_term):
        # Exact match only: a partial ID number must not list the library.
        code = normalize_code(search_term)
        if not code:
            return queryset, False
        return queryset.filter(**{self.code_field: code}) | queryset.filter(
            phone=code
        ), False

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return mask_phone(obj.phone)


@admin.register(Person)
class PersonAdmin(_ReadOnlyLibraryAdmin):
    code_field = "id_number"
    search_fields = ["id_number"]
    list_display = ["name", "masked_id_number", "masked_phone", "has_violation"]
    fields = [
        "name",
        "masked_id_number",
        "masked_phone",
        "address",
        "account",
        "has_violation",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("resident ID number"))
    def masked_id_number(self, obj):
        return mask_id_number(obj.id_number)


@admin.register(Enterprise)
class EnterpriseAdmin(_ReadOnlyLibraryAdmin):
    code_field = "uscc"
    search_fields = ["uscc"]
    list_display = ["name", "uscc", "legal_representative", "masked_phone"]
    fields = [
        "name",
        "uscc",
        "legal_representative",
        "masked_legal_representative_id_number",
        "masked_phone",
        "address",
        "account",
        "has_violation",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("legal representative's ID number"))
    def masked_legal_representative_id_number(self, obj):
        return mask_id_number(obj.legal_representative_id_number)

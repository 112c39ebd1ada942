"""Admin for users and departments, in the administrator's language."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from smartapproval.accounts.models import Department, User
from smartapproval.accounts.services import (
    department_record_change,
    user_permissions_snapshot,
    user_record_change,
)
from smartapproval.core.masking import mask_phone

# The catalogue's value for a published item; a string so that accounts does
# not import catalogue, which depends on it.
PUBLISHED = "published"


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username",)


class UserChangeAdminForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Personal info"),
            {"fields": ("name", "phone", "email", "applicant_kind")},
        ),
        (_("Role and department"), {"fields": ("role", "department")}),
        (
            _("Permissions"),
            {
                "fields": (
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ),
            },
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2"),
            },
        ),
        (_("Role and department"), {"fields": ("name", "role", "department")}),
    )
    list_display = (
        "username",
        "name",
        "role",
        "department",
        "applicant_kind",
        "masked_phone",
        "is_active",
    )
    list_filter = ("role", "department", "applicant_kind", "is_active", "is_staff")
    search_fields = ("username", "name", "email")
    ordering = ("username",)
    list_select_related = ("department",)
    autocomplete_fields = ("department",)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj: User) -> str:
        return mask_phone(obj.phone)

    def save_model(self, request, obj, form, change):
        # The admin wraps the whole form in one transaction; the snapshot is
        # taken from the stored row, before this form's values land.
        stored = User.objects.filter(pk=obj.pk).first() if change else None
        request._user_before = stored and user_permissions_snapshot(stored)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        user_record_change(
            actor=request.user,
            user=form.instance,
            before=getattr(request, "_user_before", None),
        )


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "code",
        "region_code",
        "published_item_count",
        "item_count",
        "is_active",
        "sort_order",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "code")
    ordering = ("sort_order", "name")
    autocomplete_fields = ("parent",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Department]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                item_total=Count("items", distinct=True),
                item_published=Count(
                    "items", filter=Q(items__status=PUBLISHED), distinct=True
                ),
            )
        )

    def save_model(self, request, obj, form, change):
        stored = Department.objects.filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        department_record_change(actor=request.user, department=obj, before=stored)

    @admin.display(description=_("items"), ordering="item_total")
    def item_count(self, obj: Department) -> int:
        return obj.item_total

    @admin.display(description=_("published items"), ordering="item_published")
    def published_item_count(self, obj: Department) -> int:
        return obj.item_published

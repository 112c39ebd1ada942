"""Admin for the working-day calendar: edit a day, import a year's schedule.

Every change goes through the calendar services, so it is audited and the
deadlines of the year are computed again once it commits.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from smartapproval.core.api import ServiceError
from smartapproval.core.calendar import (
    calendar_day_check,
    calendar_day_update,
    calendar_import_schedule,
    schedule_from_file,
)
from smartapproval.core.models import CalendarDay, CalendarYear

SCHEDULE_MAX_BYTES = 256 * 1024


class CalendarDayForm(forms.ModelForm):
    class Meta:
        model = CalendarDay
        fields = ["kind", "holiday_name", "note"]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind and self.instance.date:
            try:
                calendar_day_check(
                    day=self.instance.date,
                    kind=kind,
                    holiday_name=(cleaned.get("holiday_name") or "").strip(),
                )
            except ServiceError as exc:
                raise forms.ValidationError({exc.field: exc.message}) from exc
        return cleaned


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    form = CalendarDayForm
    list_display = ["date", "weekday", "kind", "is_workday", "holiday_name", "source"]
    list_filter = ["kind", "is_workday", "source"]
    search_fields = ["holiday_name"]
    date_hierarchy = "date"
    fields = ["date", "weekday", "kind", "holiday_name", "note", "source", "updated_at"]
    readonly_fields = ["date", "weekday", "source", "updated_at"]

    @admin.display(description=gettext_lazy("weekday"))
    def weekday(self, obj: CalendarDay) -> str:
        return str(WEEKDAYS[obj.date.weekday()]) if obj.date else ""

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A covered year has all its days; a new year comes by import.
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        calendar_day_update(
            actor=request.user,
            day=obj.date,
            kind=form.cleaned_data["kind"],
            holiday_name=form.cleaned_data["holiday_name"],
            note=form.cleaned_data["note"],
        )


class ScheduleImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Schedule file (JSON)"),
        help_text=gettext_lazy(
            "The year's official schedule in the format described on this page."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > SCHEDULE_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(max)s KB.")
                % {"max": SCHEDULE_MAX_BYTES // 1024}
            )
        return upload


@admin.register(CalendarYear)
class CalendarYearAdmin(admin.ModelAdmin):
    list_display = ["year", "source", "loaded_at", "note"]
    list_filter = ["source"]
    change_list_template = "admin/core/calendaryear/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("core.add_calendaryear")

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="core_calendaryear_import",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "has_import_permission": self.has_import_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def import_view(self, request: HttpRequest):
        """Upload a year's official schedule; the service checks and stores it."""
        if not self.has_import_permission(request):
            raise PermissionDenied

        # Bound on every POST, even one without a file, so the form says the
        # file is missing instead of showing itself again silently.
        if request.method == "POST":
            form = ScheduleImportForm(request.POST, request.FILES)
        else:
            form = ScheduleImportForm()
        if form.is_bound and form.is_valid():
            try:
                data = schedule_from_file(form.cleaned_data["file"].read())
                year = calendar_import_schedule(actor=request.user, data=data)
            except ServiceError as exc:
                form.add_error("file", exc.message)
            else:
                self.message_user(
                    request,
                    _(
                        "The %(year)s schedule is imported; open deadlines are "
                        "being computed again."
                    )
                    % {"year": year.year},
                    messages.SUCCESS,
                )
                return redirect("admin:core_calendaryear_changelist")

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Import a year's official schedule"),
            "form": form,
        }
        return TemplateResponse(request, "admin/core/calendaryear/import.html", context)

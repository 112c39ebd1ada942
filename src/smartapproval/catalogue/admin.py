"""Admin for the catalogue: every save and action goes through the services."""

import json
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from smartapproval.catalogue import rules
from smartapproval.catalogue.models import (
    ItemStatus,
    MaterialRequirement,
    ReviewProcess,
    ServiceItem,
    ServiceItemVersion,
)
from smartapproval.catalogue.processes import (
    MAX_XML_BYTES,
    ProcessRefusedError,
    process_for_item,
    process_import,
)
from smartapproval.catalogue.services import (
    EDITABLE_FIELDS,
    item_confirm_legal_limit,
    item_create,
    item_publish,
    item_update,
    item_withdraw,
)
from smartapproval.core.api import ServiceError

_MATERIAL_FIELDS = (
    "order",
    "name",
    "required",
    "deferrable",
    "commitment_replaces",
    "originals",
    "copies",
    "paper",
    "sign",
    "source",
    "note",
    "basis",
    "accepts_results",
)
# Set on the request when a service refused the save, so the response goes
# back to the form instead of announcing success.
_REFUSED = "_catalogue_save_refused"


class ServiceItemAdminForm(forms.ModelForm):
    """Check the limit rules before anything is saved, in the user's language."""

    class Meta:
        model = ServiceItem
        fields = sorted(EDITABLE_FIELDS)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        probe = ServiceItem(pk=self.instance.pk, status=self.instance.status)
        for name, value in cleaned.items():
            if name in EDITABLE_FIELDS:
                setattr(probe, name, value)

        problems = rules.limit_problems(probe)
        if self.instance.status == ItemStatus.PUBLISHED and probe.department_id:
            # Materials are checked on save: the inline may add some.
            problems += [
                problem
                for problem in rules.publication_problems(probe, material_count=1)
                if problem not in problems
            ]
        for field, message in problems:
            self.add_error(field if field in self.fields else None, message)
        return cleaned


class LinesField(forms.CharField):
    """A list of short texts, typed one a line (a JSON list is read too)."""

    widget = forms.Textarea(attrs={"rows": 2, "cols": 24})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(str(line) for line in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            lines = value
        else:
            text = (value or "").strip()
            lines = text.splitlines()
            if text.startswith("["):
                try:
                    lines = json.loads(text)
                except ValueError:
                    raise forms.ValidationError(
                        _("Give one name or item code a line.")
                    ) from None
            if not isinstance(lines, list):
                raise forms.ValidationError(_("Give one name or item code a line."))
        return [str(line).strip() for line in lines if str(line).strip()]


class MaterialRequirementInlineForm(forms.ModelForm):
    accepts_results = LinesField(
        label=_("other items' results it accepts"),
        required=False,
        help_text=_(
            "One result name or item code a line, e.g. 项目建议书批复: an "
            "e-licence issued as one of these may stand in for the material. "
            "Empty: a licence stands in when the material's name names its "
            "result."
        ),
    )

    class Meta:
        model = MaterialRequirement
        fields = _MATERIAL_FIELDS


class MaterialRequirementInline(admin.TabularInline):
    model = MaterialRequirement
    form = MaterialRequirementInlineForm
    fields = _MATERIAL_FIELDS
    extra = 0
    ordering = ["order"]


class ServiceItemVersionInline(admin.TabularInline):
    model = ServiceItemVersion
    fields = ("version", "created_at")
    readonly_fields = ("version", "created_at")
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for withdrawal"),
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=500,
    )


class RouteUploadForm(forms.Form):
    file = forms.FileField(
        label=_("BPMN file"),
        help_text=_(
            "A BPMN 2.0 file (.bpmn or .xml) of at most 2 MB, drawn to the "
            "conventions of the review routes."
        ),
    )
    name = forms.CharField(
        label=_("Name"),
        max_length=200,
        required=False,
        help_text=_("Leave empty to use the name of the process in the file."),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_XML_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(size)s MB.")
                % {"size": MAX_XML_BYTES // (1024 * 1024)}
            )
        return upload


@admin.register(ServiceItem)
class ServiceItemAdmin(admin.ModelAdmin):
    form = ServiceItemAdminForm
    inlines = [MaterialRequirementInline, ServiceItemVersionInline]
    list_display = (
        "name",
        "implementation_code",
        "department",
        "item_type",
        "status",
        "legal_limit_display",
        "promised_limit_display",
        "version",
    )
    list_filter = ("department", "item_type", "status", "legal_limit_confirmed")
    search_fields = ("name", "=implementation_code", "=basic_code")
    list_select_related = ("department",)
    list_per_page = 50
    readonly_fields = (
        "legal_limit_display",
        "status",
        "version",
        "published_at",
        "source",
        "created_at",
        "updated_at",
        "review_route_display",
    )
    actions = ["confirm_legal_limit", "publish", "withdraw"]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "name",
                    "implementation_code",
                    "basic_code",
                    "implementing_body_code",
                    "item_type",
                    "group_name",
                    "department",
                    "region_code",
                    "applicant_scope",
                )
            },
        ),
        (
            _("Time limits"),
            {
                "fields": (
                    "legal_limit_display",
                    ("legal_limit_value", "legal_limit_unit", "legal_limit_confirmed"),
                    ("promised_limit_value", "promised_limit_unit"),
                )
            },
        ),
        (
            _("Handling"),
            {
                "fields": (
                    "acceptance_conditions",
                    ("on_site_visits", "on_site_reason"),
                    "handling_modes",
                    "online_depth",
                    "fee",
                    ("result_name", "result_type"),
                    "special_procedures",
                    ("lead_department_name", "co_department_names"),
                )
            },
        ),
        (
            _("Notify and commit"),
            {
                "description": _(
                    "Tick “replaced by a commitment” on each material the "
                    "commitment stands in for; without one, the option is "
                    "not offered."
                ),
                "fields": (
                    ("notify_commit_allowed", "verification_limit_value"),
                    "commitment_statement",
                ),
            },
        ),
        (_("Review route"), {"fields": ("review_route_display",)}),
        (
            _("Guide"),
            {
                "fields": (
                    "legal_bases",
                    "faq",
                    "window",
                    ("consultation_phone", "complaint_phone"),
                    "review_channels",
                )
            },
        ),
        (
            _("Version and publication"),
            {
                "fields": (
                    ("status", "version", "published_at"),
                    ("valid_from", "valid_to"),
                    ("source", "created_at", "updated_at"),
                )
            },
        ),
    )

    @admin.display(description=_("legal time limit"))
    def legal_limit_display(self, item: ServiceItem) -> str:
        return item.legal_limit_text

    @admin.display(description=_("promised time limit"))
    def promised_limit_display(self, item: ServiceItem) -> str:
        return item.promised_limit_text

    @admin.display(description=_("active route"))
    def review_route_display(self, item: ServiceItem) -> str:
        if item.pk is None:
            return gettext("A route can be uploaded once the item is saved.")

        route = process_for_item(item=item)
        upload = reverse("admin:catalogue_serviceitem_upload_route", args=[item.pk])
        if route is None:
            return format_html(
                '{} <a class="button" href="{}">{}</a>',
                gettext("No route of its own, and no template is installed."),
                upload,
                gettext("Upload a new version"),
            )
        if route.item_id == item.pk:
            text = gettext("Version %(version)s: %(name)s") % {
                "version": route.version,
                "name": route.name,
            }
        else:
            text = gettext(
                "No route of its own; new cases run on the template %(key)s "
                "(%(name)s, version %(version)s)."
            ) % {"key": route.key, "name": route.name, "version": route.version}
        return format_html(
            '{} <a href="{}">{}</a> <a class="button" href="{}">{}</a>',
            text,
            reverse("admin:catalogue_reviewprocess_change", args=[route.pk]),
            gettext("Route diagram"),
            upload,
            gettext("Upload a new version"),
        )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/upload-route/",
                self.admin_site.admin_view(self.upload_route_view),
                name="catalogue_serviceitem_upload_route",
            ),
            *super().get_urls(),
        ]

    def upload_route_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Upload a route file as the item's new version, through the import."""
        item = self.get_object(request, unquote(object_id))
        if item is None:
            raise Http404
        if not (
            self.has_view_or_change_permission(request, item)
            and request.user.has_perm("catalogue.add_reviewprocess")
        ):
            raise PermissionDenied

        current = process_for_item(item=item)
        posted = request.method == "POST"
        form = RouteUploadForm(*((request.POST, request.FILES) if posted else ()))
        if posted and form.is_valid():
            try:
                route = process_import(
                    actor=request.user,
                    item=item,
                    xml=form.cleaned_data["file"].read(),
                    name=form.cleaned_data["name"],
                )
            except ProcessRefusedError as refusal:
                for issue in refusal.issues:
                    form.add_error("file", issue.message)
            except ServiceError as exc:
                form.add_error("file", exc.message)
            else:
                if current is not None and route.pk == current.pk:
                    self.message_user(
                        request,
                        gettext(
                            "The file is the same as the active version "
                            "%(version)s; no version was added."
                        )
                        % {"version": route.version},
                        messages.WARNING,
                    )
                else:
                    self.message_user(
                        request,
                        gettext(
                            "Version %(version)s of the route is stored and active "
                            "for new cases; cases under way keep their version."
                        )
                        % {"version": route.version},
                        messages.SUCCESS,
                    )
                return redirect("admin:catalogue_reviewprocess_change", route.pk)

        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": gettext("Upload a new version of the review route"),
            "item": item,
            "current": current,
            "form": form,
        }
        return TemplateResponse(
            request, "admin/catalogue/reviewprocess/upload.html", context
        )

    def save_model(
        self,
        request: HttpRequest,
        obj: ServiceItem,
        form: forms.ModelForm,
        change: bool,
    ) -> None:
        # Saved in save_related, with the materials, through the services.
        return None

    def save_related(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formsets: list[Any],
        change: bool,
    ) -> None:
        for formset in formsets:
            # Fills the formset's record of added, changed and deleted rows
            # for the admin's history, without writing anything.
            formset.save(commit=False)
        materials = _materials_from(formsets)
        fields = {
            name: form.cleaned_data[name]
            for name in (form.changed_data if change else form.cleaned_data)
            if name in EDITABLE_FIELDS
        }
        try:
            if change:
                item = item_update(
                    actor=request.user,
                    item=form.instance,
                    materials=materials,
                    **fields,
                )
            else:
                item = item_create(
                    actor=request.user, materials=materials or [], **fields
                )
        except ServiceError as exc:
            # The service rolled its own change back and nothing else was
            # written: save_model and the inlines save nothing themselves.
            setattr(request, _REFUSED, True)
            self.message_user(request, exc.message, messages.ERROR)
            return
        form.instance.pk = item.pk
        form.instance.version = item.version
        form.instance._state.adding = False

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, _REFUSED, False):
            return None
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        if getattr(request, _REFUSED, False):
            return None
        return super().log_change(request, obj, message)

    def response_add(
        self, request: HttpRequest, obj: ServiceItem, post_url_continue: Any = None
    ) -> HttpResponse:
        if getattr(request, _REFUSED, False):
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: ServiceItem) -> HttpResponse:
        if getattr(request, _REFUSED, False):
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    @admin.action(description=_("Confirm legal time limit"))
    def confirm_legal_limit(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            lambda item: item_confirm_legal_limit(actor=request.user, item=item),
            gettext("Legal time limit confirmed for %(count)s items."),
        )

    @admin.action(description=_("Publish"))
    def publish(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._run(
            request,
            queryset,
            lambda item: item_publish(actor=request.user, item=item),
            gettext("%(count)s items published."),
        )

    @admin.action(description=_("Withdraw"))
    def withdraw(self, request: HttpRequest, queryset: QuerySet) -> Any:
        form = WithdrawForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._run(
                request,
                queryset,
                lambda item: item_withdraw(
                    actor=request.user, item=item, reason=reason
                ),
                gettext("%(count)s items withdrawn."),
            )
            return None

        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Withdraw service items"),
            "opts": self.model._meta,
            "items": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/catalogue/serviceitem/withdraw.html", context
        )

    def _run(
        self,
        request: HttpRequest,
        queryset: QuerySet,
        service: Callable[[ServiceItem], ServiceItem],
        success: str,
    ) -> None:
        """Call the service for each item; report refusals item by item."""
        done = 0
        for item in queryset:
            try:
                service(item)
            except ServiceError as exc:
                self.message_user(
                    request,
                    gettext("%(item)s: %(message)s")
                    % {"item": item, "message": exc.message},
                    messages.ERROR,
                )
            else:
                done += 1
        if done:
            self.message_user(request, success % {"count": done}, messages.SUCCESS)


@admin.register(ServiceItemVersion)
class ServiceItemVersionAdmin(admin.ModelAdmin):
    list_display = ("item", "version", "created_at")
    list_select_related = ("item",)
    search_fields = ("item__name", "=item__implementation_code")
    readonly_fields = ("item", "version", "snapshot", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReviewProcess)
class ReviewProcessAdmin(admin.ModelAdmin):
    """Versions of review routes, read-only: each is drawn as a diagram.

    A stored version never changes and is never deleted, since cases run on
    it and it is part of their legal record; a new version comes from an
    upload on the item's page.
    """

    change_form_template = "admin/catalogue/reviewprocess/change_form.html"
    list_display = (
        "owner_display",
        "version",
        "name",
        "is_active",
        "uploaded_by",
        "uploaded_at",
        "warning_count",
    )
    list_display_links = ("owner_display", "version")
    list_filter = ("is_active",)
    search_fields = (
        "name",
        "key",
        "process_id",
        "item__name",
        "=item__implementation_code",
    )
    list_select_related = ("item", "uploaded_by")
    list_per_page = 50
    fields = (
        "item",
        "key",
        ("version", "is_active"),
        "name",
        "process_id",
        ("uploaded_by", "uploaded_at"),
        "sha256",
    )
    readonly_fields = (
        "item",
        "key",
        "version",
        "is_active",
        "name",
        "process_id",
        "uploaded_by",
        "uploaded_at",
        "sha256",
    )

    @admin.display(description=_("service item or template"), ordering="item__name")
    def owner_display(self, process: ReviewProcess) -> str:
        if process.item_id:
            return process.item.name
        return gettext("Template %(key)s") % {"key": process.key}

    @admin.display(description=_("warnings"))
    def warning_count(self, process: ReviewProcess) -> int:
        return len(process.warnings)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)
        if obj is None:
            return fields
        # A route belongs to an item or is a template, never both.
        hidden = "key" if obj.item_id else "item"
        return tuple(name for name in fields if name != hidden)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: ReviewProcess | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(_diagram_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)


def _diagram_context(request: HttpRequest, process: ReviewProcess) -> dict[str, Any]:
    """What the diagram page shows beside the stored fields."""
    if process.item_id:
        scope = Q(item=process.item_id)
    else:
        scope = Q(item__isnull=True, key=process.key)
    versions = (
        ReviewProcess.objects.filter(scope)
        .select_related("uploaded_by")
        .order_by("-version")
    )
    upload_url = ""
    if process.item_id and request.user.has_perm("catalogue.add_reviewprocess"):
        upload_url = reverse(
            "admin:catalogue_serviceitem_upload_route", args=[process.item_id]
        )

    return {
        "route_xml": process.bpmn_xml,
        "route_tasks": [_task_row(task) for task in process.user_tasks],
        "route_labels": {
            "failed": gettext("The diagram cannot be drawn:"),
            "no_diagram": gettext(
                "The file has no diagram (BPMN DI), so only its tasks are listed below."
            ),
        },
        "route_warnings": process.warnings,
        "route_versions": versions,
        "upload_url": upload_url,
    }


def _task_row(task: dict[str, Any]) -> dict[str, str]:
    """Describe a human task of a route in words, for the page and the diagram."""
    roles = {
        "lead": gettext("lead department"),
        "co": gettext("co-department"),
        "applicant": gettext("applicant"),
    }
    units = {
        "working_days": gettext("%(value)s working days"),
        "working_hours": gettext("%(value)s working hours"),
    }
    limit = ""
    if task.get("limit") and task.get("limit_unit") in units:
        limit = units[task["limit_unit"]] % {"value": task["limit"]}

    return {
        "id": task.get("id", ""),
        "name": task.get("name") or task.get("id", ""),
        "role": roles.get(task.get("department_role", ""), ""),
        "department": task.get("department", ""),
        "limit": limit,
        "lane": task.get("lane", ""),
        "outcome_variable": task.get("outcome_variable", ""),
    }


def _materials_from(formsets: list[Any]) -> list[dict[str, Any]] | None:
    """Read the materials inline: None when it was not changed."""
    for formset in formsets:
        if formset.model is not MaterialRequirement:
            continue
        if not formset.has_changed():
            return None
        rows = []
        for form in formset.forms:
            if form in formset.deleted_forms or not form.cleaned_data:
                continue
            rows.append(
                {name: form.cleaned_data.get(name) for name in _MATERIAL_FIELDS}
            )
        rows.sort(key=lambda row: row["order"] if row["order"] is not None else 10**6)
        return [{k: v for k, v in row.items() if k != "order"} for row in rows]
    return None

"""Online application and the applicant's own case pages.

The pages parse the forms and call the case services; the services decide
every rule (codes, materials, transitions) and their refusals are shown in
Chinese next to the field concerned.
"""

import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from smartapproval.accounts.models import ApplicantKind
from smartapproval.cases import (
    commitments,
    deadlines,
    results,
    selectors,
    services,
    transitions,
    uploads,
)
from smartapproval.cases.models import (
    Case,
    CaseAction,
    CaseStatus,
    CommitmentKind,
    Decision,
)
from smartapproval.cases.services import SubmitResult
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.catalogue import selectors as catalogue
from smartapproval.catalogue.models import (
    ApplicantScope,
    MaterialRequirement,
    ServiceItem,
)
from smartapproval.core.api import ServiceError
from smartapproval.parties import selectors as party_selectors
from smartapproval.parties.selectors import (
    applicant_prefill,
    party_violation_on_record,
)

log = structlog.get_logger(__name__)

# Timeline notes written for the applicant; review opinions stay internal.
APPLICANT_NOTES = selectors.APPLICANT_NOTE_ACTIONS
# Statuses in which deferred materials may still be handed in.
DEFERRED_SUPPLY_STATUSES = frozenset(
    {CaseStatus.ACCEPTED, CaseStatus.IN_REVIEW, CaseStatus.SUSPENDED}
)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MaterialFilesField(forms.FileField):
    """One or more files for one material; cleans to a list of files."""

    widget = MultipleFileInput

    def clean(self, data: Any, initial: Any = None) -> list:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise forms.ValidationError(
                    self.error_messages["required"], code="required"
                )
            return []
        single = super().clean
        return [single(file, initial) for file in files]


def _material_field(
    requirement: MaterialRequirement | None, *, label: str, required: bool
) -> MaterialFilesField:
    field = MaterialFilesField(
        label=label,
        required=required,
        error_messages={"required": _("Choose a file for this material.")},
        widget=MultipleFileInput(
            attrs={
                "accept": ",".join(
                    f".{ext.lstrip('.')}" for ext in _allowed_extensions()
                )
            }
        ),
    )
    field.requirement = requirement
    return field


def _allowed_extensions() -> list[str]:
    return list(settings.UPLOAD_ALLOWED_EXTENSIONS)


class MaterialsForm(forms.Form):
    """A form with one file field per material, each file checked on its own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def material_fields(self) -> list[forms.BoundField]:
        bound = [self[name] for name in self.fields if name.startswith("material_")]
        for field in bound:
            # An e-licence that may stand in for the file, offered beside it.
            name = f"licence_{field.name.removeprefix('material_')}"
            field.licence = self[name] if name in self.fields else None
        return bound

    def clean(self) -> dict:
        cleaned = super().clean()

        # Check each file here so that every bad file is named next to its
        # own material at once; the service checks them all again.
        for name, field in self.fields.items():
            if not name.startswith("material_"):
                continue
            requirement = field.requirement
            known = {requirement.pk: requirement} if requirement else {}
            for file in cleaned.get(name) or []:
                try:
                    uploads.upload_check(
                        MaterialUpload(
                            file=file,
                            requirement_id=requirement.pk if requirement else None,
                        ),
                        requirements=known,
                    )
                except ServiceError as error:
                    self.add_error(name, error.message)
                    break

        return cleaned

    def uploads(self) -> list[MaterialUpload]:
        """The files as the service takes them, each with its requirement."""
        result = []
        for name, field in self.fields.items():
            if not name.startswith("material_"):
                continue
            requirement_id = field.requirement.pk if field.requirement else None
            result.extend(
                MaterialUpload(file=file, requirement_id=requirement_id)
                for file in self.cleaned_data.get(name) or []
            )
        return result


class ApplyForm(MaterialsForm):
    """An online application: who applies, how to reach them, the files."""

    idempotency_key = forms.CharField(
        widget=forms.HiddenInput, max_length=80, required=False
    )
    applicant_kind = forms.ChoiceField(
        label=_("I apply as"), choices=ApplicantKind.choices, widget=forms.RadioSelect
    )
    person_name = forms.CharField(label=_("Name"), max_length=60, required=False)
    id_number = forms.CharField(
        label=_("Resident ID number"),
        max_length=18,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    enterprise_name = forms.CharField(
        label=_("Enterprise name"), max_length=200, required=False
    )
    uscc = forms.CharField(
        label=_("Unified social credit code"),
        max_length=18,
        required=False,
        help_text=_("18 characters, as on the business licence."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    legal_representative = forms.CharField(
        label=_("Legal representative"), max_length=60, required=False
    )
    contact_name = forms.CharField(
        label=_("Contact person"), max_length=60, required=False
    )
    contact_phone = forms.CharField(
        label=_("Contact phone"),
        max_length=20,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    address = forms.CharField(label=_("Address"), max_length=200, required=False)

    # Fields each kind of applicant must fill in besides the contact phone.
    KIND_FIELDS = {
        ApplicantKind.PERSON: ("person_name", "id_number"),
        ApplicantKind.ENTERPRISE: ("enterprise_name", "uscc", "legal_representative"),
    }
    # The fields that come with an account's identity, read-only online.
    KIND_NAME_FIELDS = {
        ApplicantKind.PERSON: ("person_name",),
        ApplicantKind.ENTERPRISE: ("enterprise_name", "legal_representative"),
    }
    # The form field of each kind's code.
    KIND_CODES_FIELD = {
        ApplicantKind.PERSON: "id_number",
        ApplicantKind.ENTERPRISE: "uscc",
    }
    # The form field a service error about the applicant concerns.
    SERVICE_FIELDS = {
        ApplicantKind.PERSON: {
            "applicant.name": "person_name",
            "applicant.code": "id_number",
        },
        ApplicantKind.ENTERPRISE: {
            "applicant.name": "enterprise_name",
            "applicant.code": "uscc",
        },
    }
    COMMON_SERVICE_FIELDS = {
        "notify_commit": "notify_commit",
        "applicant.kind": "applicant_kind",
        "applicant.legal_representative": "legal_representative",
        "applicant.contact_phone": "contact_phone",
        "applicant.address": "address",
    }

    def __init__(
        self,
        *args: Any,
        item: ServiceItem,
        requirements: list[MaterialRequirement],
        identity: tuple[str, str] | None = None,
        notify_offered: bool = False,
        licences: list | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        self.identity = identity
        if item.applicant_scope != ApplicantScope.BOTH:
            kind = ApplicantKind(item.applicant_scope)
            self.fields["applicant_kind"].choices = [(kind.value, kind.label)]
            self.initial["applicant_kind"] = kind.value
        if identity is not None:
            # Online one applies in the account's own name (its real-name
            # identity); the service refuses any other.
            kind, code = identity
            allowed = dict(self.fields["applicant_kind"].choices)
            if kind in allowed:
                self.fields["applicant_kind"].choices = [(kind, allowed[kind])]
                self.initial["applicant_kind"] = kind
            field = self.KIND_CODES_FIELD[kind]
            self.fields[field].widget.attrs["readonly"] = "readonly"
            self.fields[field].help_text = _(
                "Your account's identity. To apply for somebody else, go to a "
                "service window."
            )
            self.initial[field] = code
            # The name comes with the identity; the service keeps the
            # library's whatever is sent.
            for name in self.KIND_NAME_FIELDS[kind]:
                self.fields[name].widget.attrs["readonly"] = "readonly"
        # 告知承诺制: a material the commitment replaces is required only
        # without the commitment, which clean() checks.
        self.replaced: set[int] = set()
        self.statement = ""
        if notify_offered:
            self.replaced = {req.pk for req in commitments.notify_requirements(item)}
            self.statement = commitments.notify_statement(item)
            self.fields["notify_commit"] = forms.BooleanField(
                label=_("I commit instead of proving (告知承诺制)"),
                required=False,
                help_text=_(
                    "Tick to agree to the statement above: the materials it "
                    "names are then not needed, and the department checks "
                    "your commitment after the approval."
                ),
            )
        if any(mark in (item.result_name or "") for mark in results.PLACEHOLDERS):
            # The result document names the project (关于×××项目…的批复).
            self.fields["project_name"] = forms.CharField(
                label=_("Project name"),
                max_length=200,
                help_text=_("As the decision or licence will name it."),
            )
        for requirement in requirements:
            field = _material_field(
                requirement,
                label=f"{requirement.order}. {requirement.name}",
                # A 容缺 material may follow acceptance.
                required=requirement.required
                and not requirement.deferrable
                and requirement.pk not in self.replaced,
            )
            field.replaced = requirement.pk in self.replaced
            self.fields[f"material_{requirement.pk}"] = field
            offered = results.licences_for_requirement(
                licences=licences or [], requirement=requirement
            )
            if offered:
                # One of the applicant's own e-licences that is this very
                # material may stand in for the file (证照库); then the file
                # is not needed.
                field.needs_file = field.required
                field.required = False
                self.fields[f"licence_{requirement.pk}"] = forms.TypedChoiceField(
                    label=_("Or use one of your e-licences"),
                    required=False,
                    coerce=int,
                    empty_value=None,
                    choices=[
                        ("", "—"),
                        *[(doc.pk, f"{doc.title}（{doc.number}）") for doc in offered],
                    ],
                )

    def clean(self) -> dict:
        cleaned = super().clean()

        kind = cleaned.get("applicant_kind")
        if self.identity is not None and kind == self.identity[0]:
            cleaned[self.KIND_CODES_FIELD[kind]] = self.identity[1]
        for name in self.KIND_FIELDS.get(kind, ()):
            if not (cleaned.get(name) or "").strip():
                self.add_error(name, _("This field is required."))
        for name, field in self.fields.items():
            licence = f"licence_{name.removeprefix('material_')}"
            missing = not (cleaned.get(name) or cleaned.get(licence))
            if (
                getattr(field, "needs_file", False)
                and missing
                and name not in self.errors
            ):
                self.add_error(
                    name,
                    _("Choose a file for this material, or one of your e-licences."),
                )
        if not cleaned.get("notify_commit"):
            for name, field in self.fields.items():
                requirement = getattr(field, "requirement", None)
                if (
                    getattr(field, "replaced", False)
                    and requirement.required
                    and not requirement.deferrable
                    and not cleaned.get(name)
                    and name not in self.errors
                ):
                    self.add_error(
                        name,
                        _(
                            "Choose a file for this material, or tick the "
                            "commitment instead."
                        ),
                    )

        return cleaned

    def form_data(self) -> dict[str, str]:
        """The application's own data, kept with the case."""
        project = (self.cleaned_data.get("project_name") or "").strip()
        return {"project_name": project} if project else {}

    def licence_materials(self) -> dict[int, int]:
        """The e-licences chosen to stand in for materials, by requirement."""
        return {
            int(name.removeprefix("licence_")): value
            for name, value in self.cleaned_data.items()
            if name.startswith("licence_") and value
        }

    @property
    def commits_instead(self) -> bool:
        """Whether the applicant chose to commit instead of proving."""
        return bool(self.cleaned_data.get("notify_commit"))

    def applicant(self) -> dict[str, str]:
        """The applicant as ``case_submit`` takes it."""
        data = self.cleaned_data
        if data["applicant_kind"] == ApplicantKind.PERSON:
            return {
                "kind": ApplicantKind.PERSON,
                "name": data["person_name"],
                "code": data["id_number"],
                "contact_name": data["person_name"],
                "contact_phone": data["contact_phone"],
                "address": data["address"],
            }
        return {
            "kind": ApplicantKind.ENTERPRISE,
            "name": data["enterprise_name"],
            "code": data["uscc"],
            "legal_representative": data["legal_representative"],
            "contact_name": data["contact_name"],
            "contact_phone": data["contact_phone"],
            "address": data["address"],
        }

    def service_error_add(self, error: ServiceError) -> None:
        """Show a refusal of ``case_submit`` next to the field it concerns."""
        kind = self.cleaned_data.get("applicant_kind", "")
        fields = {**self.COMMON_SERVICE_FIELDS, **self.SERVICE_FIELDS.get(kind, {})}
        field = fields.get(error.field or "")
        self.add_error(field if field in self.fields else None, error.message)


def _initial(user: Any) -> dict[str, str]:
    prefill = applicant_prefill(user=user)
    kind = prefill.get("applicant_kind", "")
    initial = {
        "idempotency_key": uuid.uuid4().hex,
        "contact_name": prefill.get("contact_name", ""),
        "contact_phone": prefill.get("contact_phone", ""),
        "legal_representative": prefill.get("legal_representative", ""),
        "address": prefill.get("address", ""),
    }
    if kind:
        initial["applicant_kind"] = kind
    if kind == ApplicantKind.ENTERPRISE:
        initial["enterprise_name"] = prefill.get("applicant_name", "")
        initial["uscc"] = prefill.get("applicant_code", "")
    else:
        initial["person_name"] = prefill.get("applicant_name", "")
        initial["id_number"] = prefill.get("applicant_code", "")
    return initial


def _submitted_tell(request: HttpRequest, result: SubmitResult) -> None:
    number = result.case.number
    if result.created:
        messages.success(
            request,
            gettext(
                "Your application was submitted. Case number: %(number)s. "
                "Keep it to follow the progress."
            )
            % {"number": number},
        )
    else:
        messages.info(
            request,
            gettext("This application was already submitted. Case number: %(number)s.")
            % {"number": number},
        )
    if result.duplicate_warning:
        messages.warning(
            request,
            gettext(
                "Possible duplicate submission: you sent the same application "
                "for this service a few minutes ago. Check My cases and "
                "withdraw the one you do not need."
            ),
        )
    for warning in result.warnings:
        messages.warning(request, warning)


@login_required
@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, code: str) -> HttpResponse:
    """Apply online for a published item, with one file field per material."""
    try:
        item = catalogue.item_get_published(code)
    except ServiceItem.DoesNotExist as exc:
        raise Http404 from exc
    if not request.user.is_applicant:
        raise PermissionDenied
    requirements = list(item.materials.order_by("order"))
    notify_barred = False
    notify_offered = commitments.notify_offered(item)
    if notify_offered:
        # An applicant whose own entry has a violation is not offered it;
        # the service refuses any other code with one too.
        prefill = applicant_prefill(user=request.user)
        notify_barred = bool(prefill.get("applicant_code")) and (
            party_violation_on_record(
                kind=prefill["applicant_kind"], code=prefill["applicant_code"]
            )
        )
        notify_offered = not notify_barred
    options = {
        "item": item,
        "requirements": requirements,
        "notify_offered": notify_offered,
        "identity": party_selectors.party_own_identity(account=request.user),
        "licences": list(results.licences_for_holder(user=request.user)),
    }

    if request.method == "POST":
        form = ApplyForm(request.POST, request.FILES, **options)
        if form.is_valid():
            try:
                result = services.case_submit(
                    actor=request.user,
                    item=item,
                    applicant=form.applicant(),
                    form_data=form.form_data(),
                    materials=form.uploads(),
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    notify_commit=form.commits_instead,
                    licence_materials=form.licence_materials(),
                )
            except ServiceError as error:
                form.service_error_add(error)
            else:
                _submitted_tell(request, result)
                return redirect("hall:case_detail", number=result.case.number)
        log.info("application_refused", item_id=item.pk)
    else:
        form = ApplyForm(initial=_initial(request.user), **options)

    return render(
        request,
        "hall/apply.html",
        {
            "item": item,
            "form": form,
            "notify_barred": notify_barred,
            "files_lost": request.method == "POST" and bool(request.FILES),
            "allowed_extensions": _allowed_extensions(),
        },
    )


# The applicant's own cases


class CorrectionSupplyForm(MaterialsForm):
    """A file field for every material the window asked for, and a note."""

    note = forms.CharField(
        label=_("Note to the window (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        requirements = {req.pk: req for req in case.item.materials.all()}
        free_text = False
        for entry in case.correction_items or []:
            requirement = requirements.get(entry.get("requirement_id"))
            if requirement is None:
                free_text = True
                continue
            self.fields[f"material_{requirement.pk}"] = _material_field(
                requirement, label=entry["name"], required=True
            )
        self.fields["material_other"] = _material_field(
            None,
            label=gettext("Other files asked for")
            if free_text
            else gettext("Other files (optional)"),
            required=False,
        )
        self.order_fields([name for name in self.fields if name != "note"])


class DeferredSupplyForm(MaterialsForm):
    """A file field for every deferred material still to come (容缺)."""

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for entry in commitments.deferral_outstanding(case):
            if entry.requirement is None:
                continue
            self.fields[f"material_{entry.requirement_id}"] = _material_field(
                entry.requirement, label=entry.name, required=False
            )

    def clean(self) -> dict:
        cleaned = super().clean()

        if not any(cleaned.get(name) for name in self.fields):
            raise forms.ValidationError(
                _("Choose the file of at least one material you promised."),
                code="required",
            )
        return cleaned


class RevisionSupplyForm(MaterialsForm):
    """The revised files a co-department asked for, any of the item's."""

    note = forms.CharField(
        label=_("What you revised (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for requirement in case.item.materials.order_by("order"):
            self.fields[f"material_{requirement.pk}"] = _material_field(
                requirement,
                label=f"{requirement.order}. {requirement.name}",
                required=False,
            )
        self.fields["material_other"] = _material_field(
            None, label=gettext("Other files (optional)"), required=False
        )
        self.order_fields([name for name in self.fields if name != "note"])

    def clean(self) -> dict:
        cleaned = super().clean()

        if not any(cleaned.get(name) for name in self.fields if name != "note"):
            raise forms.ValidationError(
                _("Choose at least one revised file."), code="required"
            )
        return cleaned


class LicenceReplacementForm(MaterialsForm):
    """A file for each material whose e-licence was revoked since."""

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.revoked = selectors.case_revoked_licence_materials(case)
        for material in self.revoked:
            requirement = material.requirement
            self.fields[f"material_{requirement.pk}"] = _material_field(
                requirement,
                label=f"{requirement.order}. {requirement.name}",
                required=True,
            )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _own_case(request: HttpRequest, number: str) -> Case:
    # This page is the applicant's own; staff read cases on the workbench.
    if not request.user.is_applicant:
        raise Http404(gettext("No such case."))
    return selectors.case_get_for_user(user=request.user, number=number)


def _case_page(
    request: HttpRequest,
    case: Case,
    *,
    correction_form: CorrectionSupplyForm | None = None,
    deferred_form: DeferredSupplyForm | None = None,
    revision_form: RevisionSupplyForm | None = None,
    replacement_form: LicenceReplacementForm | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    if correction_form is None and case.status == CaseStatus.CORRECTION_REQUESTED:
        correction_form = CorrectionSupplyForm(case=case)
    revisions = (
        selectors.case_open_revisions(case)
        if case.status == CaseStatus.IN_REVIEW
        else []
    )
    for step in revisions:
        step.received = selectors.revision_files_received(step)
    if revisions and revision_form is None:
        revision_form = RevisionSupplyForm(case=case)
    if replacement_form is None and transitions.is_allowed(
        case.status, CaseAction.ADD_MATERIAL
    ):
        offered = LicenceReplacementForm(case=case)
        replacement_form = offered if offered.revoked else None
    views = commitments.case_commitment_views(case)
    deferral = next(
        (v for v in views if v.commitment.kind == CommitmentKind.DEFERRAL), None
    )
    if (
        deferred_form is None
        and deferral is not None
        and deferral.outstanding
        and case.status in DEFERRED_SUPPLY_STATUSES
    ):
        deferred_form = DeferredSupplyForm(case=case)

    return render(
        request,
        "hall/case_detail.html",
        {
            "case": case,
            "explanation": deadlines.case_deadline_explanation(case),
            "timeline": selectors.case_timeline_for_applicant(case),
            "materials": case.materials.select_related("requirement", "licence"),
            "correction_form": correction_form,
            "commitments": views,
            "deferral": deferral,
            "deferred_form": deferred_form,
            "revisions": revisions,
            "revision_form": revision_form,
            "replacement_form": replacement_form,
            "can_withdraw": transitions.is_allowed(case.status, CaseAction.WITHDRAW),
            "applicant_notes": APPLICANT_NOTES,
            "conditions": (
                results.conditions_of(case)
                if case.decision == Decision.APPROVED
                else []
            ),
            "review_rights": (
                results.review_rights_of(case)
                if case.decision == Decision.DENIED
                else []
            ),
            "action_error": error,
        },
        status=status,
    )


@login_required
def case_detail(request: HttpRequest, number: str) -> HttpResponse:
    """The applicant's case: status, timeline, materials, deadlines, actions."""
    case = _own_case(request, number)

    return _case_page(request, case)


def _hand_in(
    request: HttpRequest,
    number: str,
    *,
    form_class: type[MaterialsForm],
    form_name: str,
    hand_in: Callable[[Case, Any, MaterialsForm], object],
    done: str,
) -> HttpResponse:
    """Take files the case page's form ``form_name`` sends, through ``hand_in``.

    A GET (a refreshed or bookmarked form address) goes back to the case
    page, where the form is; a refusal shows the page again with the form
    as sent and the service's reason.
    """
    case = _own_case(request, number)
    if request.method == "GET":
        return redirect("hall:case_detail", number=case.number)
    form = form_class(request.POST, request.FILES, case=case)

    status = 400
    error = ""
    if form.is_valid():
        try:
            hand_in(case, request.user, form)
        except ServiceError as exc:
            form.add_error(None, exc.message)
            status, error = exc.status, exc.message
        else:
            messages.success(request, done)
            return redirect("hall:case_detail", number=case.number)

    case.refresh_from_db()
    return _case_page(
        request,
        case,
        **{form_name: form},
        error=error or gettext("Please correct the marked fields."),
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_supply_correction(request: HttpRequest, number: str) -> HttpResponse:
    """Hand in the materials the window asked for (补正)."""
    return _hand_in(
        request,
        number,
        form_class=CorrectionSupplyForm,
        form_name="correction_form",
        hand_in=lambda case, user, form: services.case_supply_correction(
            case=case,
            actor=user,
            materials=form.uploads(),
            note=form.cleaned_data["note"],
        ),
        done=gettext(
            "Your materials were handed in; the window will check them again."
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_supply_deferred(request: HttpRequest, number: str) -> HttpResponse:
    """Hand in the materials promised under conditional acceptance (补交)."""
    return _hand_in(
        request,
        number,
        form_class=DeferredSupplyForm,
        form_name="deferred_form",
        hand_in=lambda case, user, form: services.case_supply_deferred(
            case=case, actor=user, materials=form.uploads()
        ),
        done=gettext("Thank you: the materials you promised were handed in."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_replace_licence_material(request: HttpRequest, number: str) -> HttpResponse:
    """Replace a material whose e-licence was revoked since it was handed in."""
    return _hand_in(
        request,
        number,
        form_class=LicenceReplacementForm,
        form_name="replacement_form",
        hand_in=lambda case, user, form: services.case_add_materials(
            case=case, actor=user, materials=form.uploads()
        ),
        done=gettext("The replacement was handed in."),
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_supply_revision(request: HttpRequest, number: str) -> HttpResponse:
    """Hand in the revised files a co-department asked for (修改补正)."""
    return _hand_in(
        request,
        number,
        form_class=RevisionSupplyForm,
        form_name="revision_form",
        hand_in=lambda case, user, form: services.case_add_materials(
            case=case,
            actor=user,
            materials=form.uploads(),
            note=form.cleaned_data["note"],
        ),
        done=gettext(
            "Your revised files were handed in; the department will review them again."
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def case_withdraw(request: HttpRequest, number: str) -> HttpResponse:
    """Ask the applicant to confirm, then withdraw the application."""
    case = _own_case(request, number)
    form = WithdrawForm(request.POST if request.method == "POST" else None)

    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.case_withdraw(
                case=case, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, gettext("Your application was withdrawn."))
            return redirect("hall:case_detail", number=case.number)

    return render(
        request,
        "hall/case_withdraw.html",
        {
            "case": case,
            "form": form,
            "can_withdraw": transitions.is_allowed(case.status, CaseAction.WITHDRAW),
        },
        status=status,
    )

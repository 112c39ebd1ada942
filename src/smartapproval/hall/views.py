"""Applicant pages of the online hall: departments, guides, progress."""

import math

import structlog
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from smartapproval.accounts.models import Department
from smartapproval.catalogue import selectors as catalogue
from smartapproval.catalogue.models import ServiceItem
from smartapproval.core.api import ServiceError
from smartapproval.core.ratelimit import FailureLimit
from smartapproval.hall import selectors, services
from smartapproval.hall.forms import ItemSearchForm, ProgressForm, RegistrationForm

log = structlog.get_logger(__name__)

SEARCH_PAGE_SIZE = 20


def index(request: HttpRequest) -> HttpResponse:
    """The hall's front page: a search box and every department."""
    departments = catalogue.departments_with_items()

    return render(
        request,
        "hall/index.html",
        {"departments": departments, "search_form": ItemSearchForm()},
    )


def department_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A department's flagship store (旗舰店): everything it implements."""
    department = get_object_or_404(Department, pk=pk, is_active=True)
    items = selectors.store_items(department=department)

    return render(
        request,
        "hall/department_detail.html",
        {"department": department, "items": items},
    )


def item_search(request: HttpRequest) -> HttpResponse:
    """Find items by name, optionally of one type: published first, then drafts.

    A draft is listed, marked as not yet open online and without an apply
    button, as on a department's page.
    """
    form = ItemSearchForm(request.GET or None)
    query = item_type = ""
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        item_type = form.cleaned_data["item_type"]
    items = catalogue.item_search_public(query=query, item_type=item_type or None)
    page = Paginator(items, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))

    return render(
        request,
        "hall/item_search.html",
        {"form": form, "query": query, "item_type": item_type, "page": page},
    )


def item_guide(request: HttpRequest, code: str) -> HttpResponse:
    """The service guide (办事指南) of one published item."""
    try:
        item = catalogue.item_get_published(code)
    except ServiceItem.DoesNotExist as exc:
        raise Http404 from exc

    return render(request, "hall/item_guide.html", {"item": item})


@require_http_methods(["GET", "POST"])
def progress(request: HttpRequest) -> HttpResponse:
    """Look up a case's progress by its number and the applicant's code.

    Either both match or the answer is the same "not found", so the page
    never tells whether a case number exists. Case numbers are sequential
    and an enterprise's credit code is public, so a client address that has
    failed too often is refused for a while, even with the right pair.
    """
    # Imported here: the selector belongs to the cases app's public reads.
    from smartapproval.cases.selectors import (
        case_public_progress,
        case_timeline_for_applicant,
    )

    form = ProgressForm(request.POST or None)
    limit = _progress_failure_limit()
    client = request.META.get("REMOTE_ADDR") or ""
    case = None
    not_found = refused = False
    status = 200
    if request.method == "POST" and limit.exceeded(client):
        refused = True
        status = 429
        log.warning("progress_lookup_refused", scope=limit.scope)
    elif request.method == "POST" and form.is_valid():
        case = case_public_progress(
            number=form.cleaned_data["number"],
            applicant_code=form.cleaned_data["applicant_code"],
        )
        not_found = case is None
        if not_found:
            limit.record_failure(client)
            status = 404
        log.info("progress_looked_up", found=not not_found)

    return render(
        request,
        "hall/progress.html",
        {
            "form": form,
            "case": case,
            "events": case_timeline_for_applicant(case) if case else [],
            "not_found": not_found,
            "refused": refused,
            "retry_minutes": math.ceil(limit.window / 60),
        },
        status=status,
    )


def _progress_failure_limit() -> FailureLimit:
    return FailureLimit(
        scope="progress",
        limit=settings.SMARTAPPROVAL_PROGRESS_FAILURE_LIMIT,
        window=settings.SMARTAPPROVAL_PROGRESS_FAILURE_WINDOW,
    )


@login_required
def my_cases(request: HttpRequest) -> HttpResponse:
    """The signed-in applicant's own cases, newest first."""
    cases = request.user.cases.select_related("item", "department").order_by(
        "-created_at", "-pk"
    )

    return render(request, "hall/my_cases.html", {"cases": cases})


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    """An applicant signs up: account plus person or enterprise record."""
    if request.user.is_authenticated:
        return redirect("accounts:home")

    form = RegistrationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.applicant_register(
                actor=None,
                username=data["username"],
                password=data["password1"],
                name=data["name"],
                phone=data["phone"],
                kind=data["applicant_kind"],
                id_number=data["id_number"],
                enterprise_name=data["enterprise_name"],
                uscc=data["uscc"],
                legal_representative=data["legal_representative"],
                uscc_confirmed=data["uscc_confirmed"],
            )
        except ServiceError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("accounts:home")

    return render(request, "hall/register.html", {"form": form})

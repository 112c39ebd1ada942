"""Sign-in pages: login, logout and the landing page for each role."""

import math

import structlog
from axes.helpers import get_cool_off, get_failure_limit
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

log = structlog.get_logger(__name__)


def reverse_or_none(name: str) -> str | None:
    """Return the path of the url ``name``, or None while no app serves it.

    The staff workbench belongs to the cases app; until its urls exist a
    staff member lands on the admin instead of an error page.
    """
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


class LoginView(auth_views.LoginView):
    """Django's login with our page; django-axes counts the failures."""

    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    """Log out on POST only, so a link or an image cannot sign anyone out."""


@login_required
def home(request: HttpRequest) -> HttpResponseRedirect:
    """Send a signed-in user to the page their role works from."""
    user = request.user
    if user.is_applicant:
        target = reverse("hall:my_cases")
    elif user.is_staff_member:
        target = reverse_or_none("cases:inbox") or _admin_or_hall(user)
    else:
        target = _admin_or_hall(user)

    log.debug("home_redirected", role=user.role)
    return HttpResponseRedirect(target)


def _admin_or_hall(user) -> str:
    return reverse("admin:index") if user.is_staff else reverse("hall:index")


def locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict | None = None,
) -> HttpResponse:
    """Tell a locked-out user, in their language, when to try again.

    django-axes calls this (``AXES_LOCKOUT_CALLABLE``) in place of its own
    English plain-text answer.
    """
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None

    log.warning("login_locked_out")
    if request.path.startswith("/api/"):
        message = _(
            "Too many failed logins: this account is locked for %(minutes)s "
            "minutes, on the website and the API alike."
        ) % {"minutes": minutes or "?"}
        return JsonResponse(
            {
                "message": str(message),
                "field": None,
                "code": "locked_out",
                "errors": [{"field": None, "message": str(message)}],
            },
            status=429,
        )
    # 429 Too Many Requests, as django-axes answers by default.
    return render(
        request,
        "accounts/locked_out.html",
        {
            "failure_limit": get_failure_limit(request, credentials),
            "cooloff_minutes": minutes,
        },
        status=429,
    )

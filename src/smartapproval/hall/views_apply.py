"""Online application. Placeholder until the cases engineer writes it."""

from django.http import Http404, HttpRequest, HttpResponse


def apply(request: HttpRequest, code: str) -> HttpResponse:
    raise Http404

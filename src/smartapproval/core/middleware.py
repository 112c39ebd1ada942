"""Bind request id and user id to every log event of a request."""

import uuid

import structlog
from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

from smartapproval.core import context


class RequestContextMiddleware:
    """Give each request an id, bound into the logging context and answered."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            structlog.contextvars.bind_contextvars(user_id=user.pk)
        request.request_id = request_id
        token = context.source_ip.set(request.META.get("REMOTE_ADDR"))

        try:
            response = self.get_response(request)
        finally:
            context.source_ip.reset(token)

        response["X-Request-ID"] = request_id
        return response


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """Speak Simplified Chinese unless the user chose another language.

    A service centre's pages are in Chinese whatever the browser asks for;
    the language switcher's cookie is the only way to English.
    """

    def process_request(self, request):
        code = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if code not in dict(settings.LANGUAGES):
            code = settings.LANGUAGE_CODE
        translation.activate(code)
        request.LANGUAGE_CODE = translation.get_language()

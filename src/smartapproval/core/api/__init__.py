"""Shared pieces of the REST API: errors as JSON in Chinese with the field.

Every error under ``/api/`` has one shape, ``{"message", "field", "code",
"errors"}``: those DRF raises go through ``exception_handler``; paths no view
matches and crashes outside DRF go through ``page_not_found`` and
``server_error``, the project's 404 and 500 handlers.
"""

import copy
import json
from typing import Any, ClassVar

import structlog
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

log = structlog.get_logger(__name__)

API_PREFIX = "/api/"


class FieldsBuiltOnce:
    """Build a model serializer's fields once per class and language.

    DRF builds every field of a ``ModelSerializer`` from the model again for
    each instance (labels translated, kwargs and validators worked out): a
    fifth of the CPU of a case detail, which every write of the cases API
    answers with. Each instance gets fresh copies of the fields built once,
    made as DRF copies declared fields; each language gets its own, should a
    text be translated when a field is built (DRF keeps labels lazy). Put it
    first among the bases of a serializer whose fields depend on neither the
    instance nor the context.
    """

    _built: ClassVar[dict[tuple[type, str | None], dict[str, Any]]] = {}

    def get_fields(self) -> dict[str, Any]:
        key = (type(self), translation.get_language())
        built = FieldsBuiltOnce._built.get(key)
        if built is None:
            # Two threads may both build: the same fields, either one kept.
            built = super().get_fields()  # type: ignore[misc]
            FieldsBuiltOnce._built[key] = built
        return copy.deepcopy(built)


def validated(serializer: Any) -> Any:
    """Validate an input serializer; refuse with each message naming its field.

    DRF's messages ("“x” 不是合法选项", "请填写合法的整数值") do not say which
    input they are about; the API's answer starts each with the field's
    label, in the active language, as the pages show errors next to it.
    Returns the validated data.
    """
    if serializer.is_valid():
        return serializer.validated_data
    labelled: dict[str, Any] = {}
    for name, messages in serializer.errors.items():
        field = serializer.fields.get(name)
        label = str(field.label) if field is not None and field.label else ""
        if label == capfirst(name.replace("_", " ")):
            # DRF's stand-in made of the field's name: no label was given.
            label = ""
        if label and isinstance(messages, list):
            messages = [
                message
                if not isinstance(message, str) or label in message
                else exceptions.ErrorDetail(
                    f"{label}：{message}", code=getattr(message, "code", "invalid")
                )
                for message in messages
            ]
        labelled[name] = messages
    raise exceptions.ValidationError(labelled)


class ServiceError(Exception):
    """A business rule refused an action; the message is for the user.

    ``field`` names the input concerned, ``code`` is a stable machine name and
    ``status`` the HTTP status the API answers with (409 for a state that does
    not allow the action, 400 for bad input).
    """

    def __init__(self, message, *, field=None, code="invalid", status=400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.status = status


def _flatten(detail, prefix=None):
    """Yield (field, message) pairs from DRF's nested error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = key if key != "non_field_errors" else None
            field = f"{prefix}.{name}" if prefix and name else (name or prefix)
            yield from _flatten(value, field)
    elif isinstance(detail, list):
        for value in detail:
            yield from _flatten(value, prefix)
    else:
        yield prefix, str(detail)


def exception_handler(exc, context):
    """Answer every API error as ``{"message", "field", "code", "errors"}``."""
    if isinstance(exc, ServiceError):
        return Response(
            {
                "message": exc.message,
                "field": exc.field,
                "code": exc.code,
                "errors": [{"field": exc.field, "message": exc.message}],
            },
            status=exc.status,
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("The resource was not found."))
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(_("You are not allowed to do this."))
    elif isinstance(exc, exceptions.ParseError):
        exc = exceptions.ParseError(_parse_error_message(exc))
    elif isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith(
        "CSRF Failed"
    ):
        # A session client without the CSRF token; DRF says so in English.
        exc = exceptions.PermissionDenied(
            _(
                "The request lacks its security token (CSRF): reload the page, "
                "or authenticate with a token."
            ),
            code="csrf_failed",
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None

    errors = [{"field": f, "message": m} for f, m in _flatten(exc.detail)]
    first = errors[0] if errors else {"field": None, "message": str(exc)}
    code = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    response.data = {
        "message": first["message"],
        "field": first["field"],
        "code": code if isinstance(code, str) else "invalid",
        "errors": errors,
    }
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        response.data["message"] = _("Please log in first.")

    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer 404: JSON in the API's error shape under /api/, else the page."""
    if not request.path.startswith(API_PREFIX):
        return defaults.page_not_found(request, exception)

    return error_response(
        _("The resource was not found."), code="not_found", status=404
    )


def server_error(request: HttpRequest) -> HttpResponse:
    """Answer 500: JSON under /api/, else the page; never the cause."""
    if not request.path.startswith(API_PREFIX):
        return defaults.server_error(request)

    return error_response(
        _("Something went wrong on our side. Please try again later."),
        code="server_error",
        status=500,
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """Answer a form sent without a valid CSRF token, in the UI's language.

    Django's own page asks the reader to turn DEBUG on; the public gets a
    plain explanation (usually a page left open too long) instead.
    """
    log.warning("csrf_refused", path=request.path, reason=reason)
    if request.path.startswith(API_PREFIX):
        return error_response(
            _("The form has expired. Reload the page and try again."),
            code="csrf_failed",
            status=403,
        )
    return render(request, "403_csrf.html", status=403)


def error_response(message: str, *, code: str, status: int) -> JsonResponse:
    """Return an error outside DRF in the API's error shape."""
    return JsonResponse(
        {
            "message": message,
            "field": None,
            "code": code,
            "errors": [{"field": None, "message": message}],
        },
        status=status,
        json_dumps_params={"ensure_ascii": False},
    )


def _parse_error_message(exc: exceptions.ParseError) -> str:
    """Say in the user's language why the body was unreadable.

    DRF's own message names the parser's internals in English; only the
    position of a JSON syntax error is worth passing on.
    """
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, json.JSONDecodeError):
        return _(
            "The request body is not valid JSON: check line %(line)d, "
            "column %(column)d."
        ) % {"line": cause.lineno, "column": cause.colno}
    log.warning("api_body_unreadable", parser_error=type(cause).__name__)

    return _("The request body could not be read.")

"""Shared pieces of the REST API: errors as JSON in Chinese with the field."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


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
        exc = exceptions.NotFound("未找到该资源。")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied("您无权执行此操作。")

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
        response.data["message"] = "请先登录。"
    return response

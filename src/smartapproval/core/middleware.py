"""Bind request id and user id to every log event of a request."""

import uuid

import structlog

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

"""Facts about the current request that services record but never log."""

from contextvars import ContextVar

# The client address goes to the audit table only; logs carry the request id.
source_ip: ContextVar[str | None] = ContextVar("source_ip", default=None)

"""Write the audit trail. Call inside the transaction of the change."""

from typing import Any

import structlog
from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction

from smartapproval.audit.models import AuditEntry
from smartapproval.core import context

log = structlog.get_logger(__name__)


def audit_record(
    *,
    actor: Any,
    action: str,
    target: models.Model,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    source_ip: str | None = None,
    actor_label: str = "",
) -> AuditEntry:
    """Record that ``actor`` did ``action`` to ``target``.

    ``actor`` is a user, or None for the system itself; ``actor_label`` then
    names the system component (for example ``calendar``).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must run inside the change's transaction")

    user = actor if getattr(actor, "pk", None) and hasattr(actor, "username") else None
    label = actor_label or (user.username if user else "system")
    request_id = structlog.contextvars.get_contextvars().get("request_id", "")
    entry = AuditEntry.objects.create(
        actor=user,
        actor_label=label,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_label=str(target)[:200],
        before=before,
        after=after,
        note=note,
        source_ip=source_ip or context.source_ip.get(),
        request_id=request_id,
    )

    log.debug("audit_recorded", action=action, target_type=entry.target_type)
    return entry


@transaction.atomic
def audit_reveal(*, actor: Any, target: models.Model, field: str) -> str:
    """Return the full value of ``target.<field>`` and record who saw it.

    The audit row names the field, never the value. Whether ``actor`` may
    see the value is the caller's decision; this only keeps the record.
    """
    try:
        target._meta.get_field(field)
    except FieldDoesNotExist as exc:
        raise ValueError(f"{target._meta.label} has no field {field!r}") from exc

    fresh = type(target)._default_manager.get(pk=target.pk)
    value = getattr(fresh, field)

    audit_record(
        actor=actor, action="pii_revealed", target=fresh, after={"field": field}
    )

    log.info(
        "pii_revealed",
        target_type=fresh._meta.label_lower,
        target_id=fresh.pk,
        field=field,
    )
    return "" if value is None else str(value)

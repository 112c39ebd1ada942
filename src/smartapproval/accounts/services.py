"""Writes to users and departments."""

from typing import Any

import structlog
from django.db import transaction

from smartapproval.accounts.models import Department

log = structlog.get_logger(__name__)


@transaction.atomic
def department_ensure(
    *, actor: Any, name: str, code: str, region_code: str = ""
) -> tuple[Department, bool]:
    """Return the department called ``name``, creating it if it is missing.

    A department is known by its name: an existing one keeps its code and
    region even when ``code`` differs, because an administrator may have
    corrected them. Safe when two callers ensure the same name at once: the
    unique name decides and the loser reads the winner's row. Returns the
    department and whether it was created.

    accounts sits left of audit, so the caller records the audit entry for a
    created department inside its own transaction.
    """
    department, created = Department.objects.get_or_create(
        name=name, defaults={"code": code, "region_code": region_code}
    )

    if created:
        log.info(
            "department_created",
            department_id=department.pk,
            actor_id=getattr(actor, "pk", None),
        )
    return department, created

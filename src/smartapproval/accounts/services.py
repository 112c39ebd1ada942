"""Writes to users and departments."""

from typing import Any

import structlog
from django.db import transaction
from rest_framework.authtoken.models import Token

from smartapproval.accounts.models import Department, User
from smartapproval.core.recording import audit_record_via_settings

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


# What an administrator can change about a user that decides what they may
# see and do; the audit trail records these before and after every change.
PERMISSION_FIELDS = (
    "role",
    "department_id",
    "is_active",
    "is_staff",
    "is_superuser",
    "applicant_kind",
)


def user_permissions_snapshot(user: User) -> dict[str, Any]:
    """Return the fields of ``user`` that grant rights, for the audit trail."""
    snapshot = {field: getattr(user, field) for field in PERMISSION_FIELDS}
    if user.pk:
        snapshot["groups"] = sorted(user.groups.values_list("name", flat=True))
    return snapshot


@transaction.atomic
def user_record_change(
    *, actor: Any, user: User, before: dict[str, Any] | None
) -> None:
    """Audit a user an administrator created or changed.

    Called inside the transaction that saved the user; ``before`` is the
    snapshot taken before the change, or None for a new user. Passwords are
    never recorded.
    """
    after = user_permissions_snapshot(user)
    if before is not None and before == after:
        return

    audit_record_via_settings(
        actor=actor,
        action="user_created" if before is None else "user_changed",
        target=user,
        before=before,
        after=after,
    )
    log.info("user_permissions_changed", user_id=user.pk, created=before is None)


@transaction.atomic
def api_token_issue(*, user: User) -> Token:
    """Give ``user`` their API token, creating it on first request."""
    token, created = Token.objects.get_or_create(user=user)
    if created:
        audit_record_via_settings(actor=user, action="api_token_issued", target=user)
        log.info("api_token_issued", user_id=user.pk)

    return token


@transaction.atomic
def department_record_change(
    *, actor: Any, department: Department, before: Department | None
) -> None:
    """Audit a department an administrator created or changed."""
    fields = ("code", "name", "region_code", "parent_id", "is_active")
    after_values = {field: getattr(department, field) for field in fields}
    before_values = before and {field: getattr(before, field) for field in fields}
    if before_values == after_values:
        return

    audit_record_via_settings(
        actor=actor,
        action="department_created" if before is None else "department_changed",
        target=department,
        before=before_values,
        after=after_values,
    )

"""Reach the audit trail from apps that sit left of the audit app."""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


def audit_record_via_settings(**kwargs: Any) -> Any:
    """Call the audit writer named in ``SMARTAPPROVAL_AUDIT_RECORDER``.

    core and accounts come before audit in the dependency order, so they
    name its writer by dotted path instead of importing it. Takes the same
    keyword arguments as ``audit.services.audit_record``.
    """
    return import_string(settings.SMARTAPPROVAL_AUDIT_RECORDER)(**kwargs)

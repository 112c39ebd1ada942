"""Phrases of the service guide: visits, handling modes, material needs."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from smartapproval.cases.models import CaseStatus
from smartapproval.catalogue.models import (
    MaterialRequirement,
    ServiceItem,
    limit_text,
)
from smartapproval.core import masking

register = template.Library()


@register.simple_tag
def visits(item: ServiceItem) -> str:
    if item.on_site_visits == 0:
        return _("No visit needed")

    return ngettext(
        "%(count)s visit at most", "%(count)s visits at most", item.on_site_visits
    ) % {"count": item.on_site_visits}


HANDLING_MODES = {
    "window": pgettext_lazy("handling mode", "At the window"),
    "online": pgettext_lazy("handling mode", "Online"),
    "mail": pgettext_lazy("handling mode", "By post"),
    "mobile": pgettext_lazy("handling mode", "On a phone"),
    "kiosk": pgettext_lazy("handling mode", "At a self-service kiosk"),
}


@register.filter
def handling_mode(code: str) -> str:
    return str(HANDLING_MODES.get(code, code))


@register.filter
def material_need(material: MaterialRequirement) -> str:
    """Required, optional, or required but may follow acceptance (容缺)."""
    if material.required and material.deferrable:
        return _("Required, may be supplied later")
    if material.required:
        return _("Required")

    return _("Optional")


@register.filter
def special_limit(procedure: dict) -> str:
    """The limit of a special procedure such as expert review (专家评审)."""
    limit = procedure.get("limit") or {}
    try:
        return limit_text(limit["value"], limit.get("unit", "working_days"))
    except (KeyError, ValueError):
        return ""


@register.filter
def case_status(value: str) -> str:
    try:
        return CaseStatus(value).label
    except ValueError:
        return value


@register.filter
def masked_id(value: str) -> str:
    return masking.mask_id_number(value)


@register.filter
def masked_name(value: str) -> str:
    return masking.mask_name(value)

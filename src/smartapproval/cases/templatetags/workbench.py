"""Signals, labels and masks for the case pages of staff and applicants."""

from django import template
from django.utils.translation import gettext, pgettext_lazy

from smartapproval.cases.deadlines import Clock, Colour
from smartapproval.cases.models import CaseAction, CaseStatus, TaskOutcome
from smartapproval.catalogue.models import limit_text as catalogue_limit_text
from smartapproval.core import masking

register = template.Library()

# The e-monitoring signal in words: colour alone is not enough to read it.
SIGNAL_LABELS = {
    Colour.GREEN: pgettext_lazy("deadline signal", "On time"),
    Colour.YELLOW: pgettext_lazy("deadline signal", "Warning"),
    Colour.RED: pgettext_lazy("deadline signal", "Overdue"),
}
PAUSED_LABEL = pgettext_lazy("deadline signal", "Paused")


@register.inclusion_tag("cases/_signal.html")
def signal(clock: Clock | None) -> dict:
    """Show a running or paused clock as a coloured badge with its words."""
    if clock is None or not (clock.running or clock.paused):
        return {"shown": False}
    if clock.paused:
        return {"shown": True, "kind": "paused", "text": PAUSED_LABEL, "detail": ""}

    text, detail = SIGNAL_LABELS[Colour(clock.colour)], clock.label
    if clock.colour == Colour.RED and detail:
        # "Overdue by 4 working days" already says it is overdue.
        text, detail = detail, ""
    return {"shown": True, "kind": clock.colour, "text": text, "detail": detail}


@register.filter
def limit_text(limit) -> str:
    """A limit of the deadline explanation as words: "5 个工作日"."""
    return catalogue_limit_text(limit.value, limit.unit)


@register.filter
def status_label(value: str) -> str:
    """The case status in words, for a timeline step's stored value."""
    try:
        return str(CaseStatus(value).label)
    except ValueError:
        return value


@register.filter
def answer_name(value: str) -> str:
    """A review answer in words (同意, 附条件同意…); nothing yet: 待办理."""
    if not value:
        return gettext("Waiting")
    try:
        return str(TaskOutcome(value).label)
    except ValueError:
        return value


@register.filter
def action_label(value: str) -> str:
    try:
        return str(CaseAction(value).label)
    except ValueError:
        return value


@register.filter
def masked_phone(value: str) -> str:
    return masking.mask_phone(value)


@register.filter
def masked_code(value: str) -> str:
    return masking.mask_id_number(value)


@register.simple_tag
def skipped_summary(skipped: list) -> dict:
    """Group the days a deadline skipped: holiday runs, then a weekend count.

    Consecutive days with the same reason form one run, so a seven-day
    holiday reads as one line.
    """
    weekend = gettext("Weekend")
    runs: list[dict] = []
    weekend_days = 0
    for entry in sorted(skipped, key=lambda e: e.day):
        if entry.reason == weekend:
            weekend_days += 1
            continue
        last = runs[-1] if runs else None
        if (
            last is not None
            and last["reason"] == entry.reason
            and (entry.day - last["last"]).days == 1
        ):
            last["last"] = entry.day
            last["days"] += 1
        else:
            runs.append(
                {
                    "first": entry.day,
                    "last": entry.day,
                    "reason": entry.reason,
                    "days": 1,
                }
            )

    return {"holidays": runs, "weekend_days": weekend_days}

"""Factories for the calendar tests.

Core sits below the accounts app, so the user factory names the model by its
label instead of importing it.
"""

import copy
import json

import factory

from smartapproval.core.calendar import SCHEDULE_DIR

# Lunar dates of 2027 and 2028 as given by lunar_python 1.4.8, checked
# against published calendars (正月初一 2027-02-06; 中秋 2028-10-03).
LUNAR_DATES = {
    (2027, 1, 1): "2027-02-06",
    (2027, 5, 5): "2027-06-09",
    (2027, 8, 15): "2027-09-15",
    (2028, 1, 1): "2028-01-26",
    (2028, 5, 5): "2028-05-28",
    (2028, 8, 15): "2028-10-03",
}


class CalendarAdminFactory(factory.django.DjangoModelFactory):
    """An administrator who may edit the calendar and import schedules."""

    class Meta:
        model = "accounts.User"

    username = factory.Sequence(lambda n: f"calendar-admin{n}")
    is_staff = True
    is_superuser = True


def schedule_2026() -> dict:
    """Return a fresh copy of the shipped 2026 schedule."""
    with open(SCHEDULE_DIR / "2026.json", encoding="utf-8") as file:
        return copy.deepcopy(json.load(file))

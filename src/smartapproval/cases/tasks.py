"""Background work of the cases app, run by the django-tasks worker."""

from django_tasks import task

from smartapproval.cases.deadlines import open_deadlines_recompute
from smartapproval.cases.services import commitments_enforce, route_timers_fire


@task()
def recompute_provisional_deadlines(years: list[int] | None = None) -> dict:
    """Recompute open deadlines after the calendar of ``years`` changed."""
    summary = open_deadlines_recompute(years=years)
    return {
        "cases_changed": summary.cases_changed,
        "tasks_changed": summary.tasks_changed,
    }


@task()
def enforce_deferral_commitments() -> dict:
    """Pause or return the 容缺 cases whose promised materials are late.

    Safe to run more than once a day: a second run finds nothing to do.
    """
    summary = commitments_enforce()
    return {
        "seen": summary.seen,
        "suspended": summary.suspended,
        "returned": summary.returned,
        "voided": summary.voided,
        "failed": summary.failed,
    }


@task()
def fire_route_timers() -> dict:
    """Fire the BPMN timers that are due on the cases in review.

    Safe to run as often as wanted: a timer that fired is not due again.
    """
    summary = route_timers_fire()
    return {"seen": summary.seen, "fired": summary.fired, "failed": summary.failed}

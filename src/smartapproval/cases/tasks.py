"""Background work of the cases app, run by the django-tasks worker."""

from django_tasks import task

from smartapproval.cases.deadlines import open_deadlines_recompute


@task()
def recompute_provisional_deadlines(years: list[int] | None = None) -> dict:
    """Recompute open deadlines after the calendar of ``years`` changed."""
    summary = open_deadlines_recompute(years=years)
    return {
        "cases_changed": summary.cases_changed,
        "tasks_changed": summary.tasks_changed,
    }

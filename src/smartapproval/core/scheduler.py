"""Periodic jobs: one APScheduler process hands them to the task queue on time.

The scheduler does not do the work: it enqueues a django-tasks task, so a
worker runs it and a slow job never delays the next tick. Jobs name their
task by dotted path, resolved when the job fires, because the code that
does the work lives in apps that ``core`` may not import.

Run exactly one scheduler per deployment: two would enqueue every job twice.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

import structlog
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from django.conf import settings
from django.db import connections
from django.utils.module_loading import import_string
from django_tasks.base import Task

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    """A task enqueued on a cron schedule, read in Beijing time."""

    name: str
    path: str
    cron: dict[str, int | str] = field(default_factory=dict)


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    # Deadlines computed from the statutory rules become exact once a year's
    # official schedule is entered (DESIGN.md, time limits).
    PeriodicJob(
        name="recompute_provisional_deadlines",
        path="smartapproval.cases.tasks.recompute_provisional_deadlines",
        cron={"hour": 1, "minute": 30},
    ),
    # 容缺受理: a case whose deferred materials are late is paused from the
    # first day after the promised day, and returned the first day after
    # the cut-off; just after midnight, so the day starts in that state.
    PeriodicJob(
        name="enforce_deferral_commitments",
        path="smartapproval.cases.tasks.enforce_deferral_commitments",
        cron={"hour": 0, "minute": 5},
    ),
    # BPMN timers of the review routes (a reminder after a day, a call after
    # a week): they fire within five minutes of their time.
    PeriodicJob(
        name="fire_route_timers",
        path="smartapproval.cases.tasks.fire_route_timers",
        cron={"minute": "*/5"},
    ),
)


def periodic_job_enqueue(job: PeriodicJob) -> bool:
    """Hand the job's task to the task queue; False when it cannot run.

    A job whose dotted path does not resolve yet is skipped with a warning,
    so a deployment without that app keeps its other jobs. A plain function
    instead of a task runs here, in the scheduler process.
    """
    try:
        target = import_string(job.path)
    except ImportError:
        log.warning("periodic_job_missing", job=job.name, path=job.path)
        return False

    try:
        if isinstance(target, Task):
            result = target.enqueue()
            log.info("periodic_job_enqueued", job=job.name, task_result_id=result.id)
        else:
            target()
            log.info("periodic_job_ran", job=job.name)
    except Exception:
        log.exception("periodic_job_failed", job=job.name)
        return False
    finally:
        # Jobs run on the scheduler's threads; each closes what it opened.
        connections.close_all()

    return True


def scheduler_build(jobs: Iterable[PeriodicJob] = PERIODIC_JOBS) -> BlockingScheduler:
    """Return a blocking scheduler with ``jobs`` on their cron triggers."""
    scheduler = BlockingScheduler(
        timezone=settings.TIME_ZONE,
        job_defaults={
            # After a restart or a stall, run a missed job once, not once per
            # missed tick.
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": 3600,
        },
    )
    for job in jobs:
        scheduler.add_job(
            periodic_job_enqueue,
            CronTrigger(timezone=settings.TIME_ZONE, **job.cron),
            args=[job],
            id=job.name,
            name=job.name,
        )

    return scheduler

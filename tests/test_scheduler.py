"""The scheduler hands periodic jobs to the task queue by dotted path."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils.module_loading import import_string
from django_tasks import TaskResultStatus, task
from django_tasks.base import Task

from smartapproval.core.scheduler import (
    PERIODIC_JOBS,
    PeriodicJob,
    periodic_job_enqueue,
    scheduler_build,
)

BEIJING = ZoneInfo("Asia/Shanghai")
CALLS: list[str] = []


@task()
def record_call() -> None:
    CALLS.append("task")


def plain_function() -> None:
    CALLS.append("plain")


def failing_function() -> None:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def _clear_calls():
    CALLS.clear()


@pytest.mark.django_db
def test_task_is_enqueued_and_run_by_the_task_backend():
    job = PeriodicJob(name="sample", path="tests.test_scheduler.record_call")

    assert periodic_job_enqueue(job) is True
    assert CALLS == ["task"]


def test_plain_function_runs_in_the_scheduler():
    job = PeriodicJob(name="sample", path="tests.test_scheduler.plain_function")

    assert periodic_job_enqueue(job) is True
    assert CALLS == ["plain"]


@pytest.mark.parametrize(
    "path",
    [
        "tests.test_scheduler.no_such_function",
        "smartapproval.no_such_module.job",
    ],
)
def test_missing_job_is_skipped_with_a_warning(path, caplog):
    job = PeriodicJob(name="missing", path=path)

    assert periodic_job_enqueue(job) is False
    events = [record.msg.get("event") for record in caplog.records]
    assert "periodic_job_missing" in events


def test_failing_job_does_not_stop_the_scheduler(caplog):
    job = PeriodicJob(name="failing", path="tests.test_scheduler.failing_function")

    assert periodic_job_enqueue(job) is False
    events = [record.msg.get("event") for record in caplog.records]
    assert "periodic_job_failed" in events


def test_nightly_job_fires_at_half_past_one_beijing_time():
    scheduler = scheduler_build()
    job = scheduler.get_job("recompute_provisional_deadlines")

    after = datetime(2026, 1, 1, 12, 0, tzinfo=BEIJING)
    fire = job.trigger.get_next_fire_time(None, after)

    assert fire == datetime(2026, 1, 2, 1, 30, tzinfo=BEIJING)
    assert fire.utcoffset().total_seconds() == 8 * 3600


def test_every_periodic_job_is_scheduled_once():
    scheduler = scheduler_build()

    assert sorted(job.id for job in scheduler.get_jobs()) == sorted(
        job.name for job in PERIODIC_JOBS
    )


def test_nightly_job_names_the_recompute_task_of_the_cases_app():
    (job,) = [
        job for job in PERIODIC_JOBS if job.name == "recompute_provisional_deadlines"
    ]

    assert isinstance(import_string(job.path), Task)


@pytest.mark.django_db
def test_nightly_task_succeeds_when_enqueued_as_the_scheduler_does():
    (job,) = [
        job for job in PERIODIC_JOBS if job.name == "recompute_provisional_deadlines"
    ]

    result = import_string(job.path).enqueue()

    assert result.status == TaskResultStatus.SUCCESSFUL


def test_deferral_job_fires_just_after_midnight_beijing_time():
    scheduler = scheduler_build()
    job = scheduler.get_job("enforce_deferral_commitments")

    after = datetime(2024, 9, 14, 12, 0, tzinfo=BEIJING)
    fire = job.trigger.get_next_fire_time(None, after)

    assert fire == datetime(2024, 9, 15, 0, 5, tzinfo=BEIJING)


@pytest.mark.django_db
def test_deferral_task_succeeds_when_enqueued_as_the_scheduler_does():
    (job,) = [
        job for job in PERIODIC_JOBS if job.name == "enforce_deferral_commitments"
    ]

    result = import_string(job.path).enqueue()

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {
        "seen": 0,
        "suspended": 0,
        "returned": 0,
        "voided": 0,
        "failed": 0,
    }

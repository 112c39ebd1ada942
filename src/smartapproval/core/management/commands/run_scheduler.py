"""Enqueue the periodic jobs on time, until stopped (run one per deployment)."""

import signal
from argparse import ArgumentParser
from types import FrameType
from typing import Any

import structlog
from django.core.management.base import BaseCommand

from smartapproval.core.scheduler import (
    PERIODIC_JOBS,
    periodic_job_enqueue,
    scheduler_build,
)

log = structlog.get_logger(__name__)


class Command(BaseCommand):
    help = "Run the scheduler that enqueues periodic background tasks."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--once",
            action="store_true",
            help="Enqueue every periodic job now and exit.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            for job in PERIODIC_JOBS:
                done = periodic_job_enqueue(job)
                self.stdout.write(f"{job.name}: {'enqueued' if done else 'skipped'}")
            return

        scheduler = scheduler_build()

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("scheduler_stopping", signal=signal.Signals(signum).name)
            scheduler.shutdown(wait=False)

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, stop)

        log.info("scheduler_started", jobs=[job.name for job in PERIODIC_JOBS])
        scheduler.start()
        log.info("scheduler_stopped")

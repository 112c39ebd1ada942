"""``smartapproval import_calendar PATH``: store a year's official schedule."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from smartapproval.core.api import ServiceError
from smartapproval.core.calendar import calendar_import_schedule, schedule_from_file


class Command(BaseCommand):
    help = (
        "Import a year's official holiday schedule from a JSON file (format: "
        "smartapproval.core.calendar). Replaces every day of that year."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The schedule file (JSON).")

    def handle(self, *args, path: Path, **options):
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}") from exc
        try:
            year = calendar_import_schedule(
                actor=None, data=schedule_from_file(content)
            )
        except ServiceError as exc:
            where = f" [{exc.field}]" if exc.field else ""
            raise CommandError(f"{exc.message}{where}") from exc

        self.stdout.write(f"Schedule for {year.year} imported from {path}.")

"""``smartapproval seed_calendar``: load the chinesecalendar package's years."""

from django.core.management.base import BaseCommand, CommandError

from smartapproval.core.api import ServiceError
from smartapproval.core.calendar import calendar_seed_from_package


class Command(BaseCommand):
    help = (
        "Load the working-day calendar from the chinesecalendar package. "
        "Idempotent; keeps imported schedules and administrators' edits."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--year",
            type=int,
            action="append",
            dest="years",
            help="Load only this year (repeatable). Default: every year covered.",
        )

    def handle(self, *args, years=None, **options):
        try:
            changed = calendar_seed_from_package(years=years)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc

        if changed:
            listed = ", ".join(str(year) for year in changed)
            self.stdout.write(f"Calendar loaded for {listed}.")
        else:
            self.stdout.write("Calendar already up to date.")

"""``smartapproval import-catalogue PATH``: load the service catalogue."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from smartapproval.catalogue.services import catalogue_import
from smartapproval.core.api import ServiceError

SHIPPED_DATA = Path(__file__).resolve().parent.parent.parent / "data"


class Command(BaseCommand):
    help = (
        "Import service items from a catalogue CSV or JSON file, or from every "
        "such file of a directory. Re-importing unchanged rows writes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "path",
            nargs="?",
            help=(
                "File or directory; default SMARTAPPROVAL_CATALOGUE_DIR, else "
                "the data shipped with the catalogue app."
            ),
        )

    def handle(self, *args, **options):
        path = Path(
            options["path"] or settings.SMARTAPPROVAL_CATALOGUE_DIR or SHIPPED_DATA
        )
        try:
            report = catalogue_import(path=path)
        except ServiceError as exc:
            raise CommandError(exc.message) from exc

        for issue in report.warnings:
            self.stderr.write(self.style.WARNING(str(issue)))
        for issue in report.errors:
            self.stderr.write(self.style.ERROR(str(issue)))
        self.stdout.write(
            gettext(
                "Created %(created)s, updated %(updated)s, unchanged "
                "%(unchanged)s items; %(departments)s departments created; "
                "%(errors)s errors."
            )
            % {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "departments": report.departments_created,
                "errors": len(report.errors),
            }
        )
        if report.errors:
            raise CommandError(
                gettext("%(count)s rows were not imported; the other rows were.")
                % {"count": len(report.errors)}
            )

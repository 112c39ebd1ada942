"""``smartapproval import_process ITEM_CODE PATH``: import a review route."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext

from smartapproval.catalogue.models import ServiceItem
from smartapproval.catalogue.processes import (
    ProcessRefusedError,
    process_import,
    process_install_shipped,
)
from smartapproval.core.api import ServiceError


class Command(BaseCommand):
    help = (
        "Validate a BPMN 2.0 file and make it the active review route of a "
        "service item; with --shipped, install the route templates shipped "
        "with the catalogue."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "item_code", nargs="?", help="Implementation code of the item."
        )
        parser.add_argument("path", nargs="?", help="BPMN 2.0 file.")
        parser.add_argument("--name", default="", help="Name shown for the route.")
        parser.add_argument(
            "--shipped",
            action="store_true",
            help="Install the templates of catalogue/bpmn/ instead.",
        )

    def handle(self, *args, **options):
        if options["shipped"]:
            for process in process_install_shipped(actor=None):
                self.stdout.write(self._done(process))
            return

        if not options["item_code"] or not options["path"]:
            raise CommandError(
                gettext("Give the item's implementation code and the BPMN file.")
            )
        item = ServiceItem.objects.filter(
            implementation_code=options["item_code"]
        ).first()
        if item is None:
            raise CommandError(
                gettext("No service item has the implementation code %(code)s.")
                % {"code": options["item_code"]}
            )
        try:
            xml = Path(options["path"]).read_bytes()
        except OSError as exc:
            raise CommandError(
                gettext("Cannot read the file %(path)s.") % {"path": options["path"]}
            ) from exc

        try:
            process = process_import(
                actor=None, item=item, xml=xml, name=options["name"]
            )
        except ProcessRefusedError as refusal:
            self.stderr.write(gettext("The process cannot be imported:"))
            for issue in refusal.issues:
                self.stderr.write(f"- {issue.message}")
            raise CommandError(
                gettext("Refused, %(count)s problems; nothing was stored.")
                % {"count": len(refusal.issues)}
            ) from refusal
        except ServiceError as exc:
            raise CommandError(exc.message) from exc

        for warning in process.warnings:
            self.stderr.write(self.style.WARNING(f"- {warning}"))
        self.stdout.write(self._done(process))

    def _done(self, process):
        values = {
            "name": process.name,
            "version": process.version,
            "process_id": process.process_id,
            "tasks": len(process.user_tasks),
        }
        if process.item_id is None:
            return (
                gettext(
                    "Route template %(name)s v%(version)s is active (process "
                    "%(process_id)s, %(tasks)s human tasks)."
                )
                % values
            )
        return gettext(
            "Route %(name)s v%(version)s is active for the item %(item)s "
            "(process %(process_id)s, %(tasks)s human tasks)."
        ) % {**values, "item": process.item.name}

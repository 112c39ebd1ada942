"""The ``smartapproval`` command: Django's management commands."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartapproval.settings")
    from django.core.management import execute_from_command_line

    # Commands may be typed with hyphens: import-catalogue = import_catalogue.
    if len(sys.argv) > 1 and "-" in sys.argv[1] and not sys.argv[1].startswith("-"):
        sys.argv[1] = sys.argv[1].replace("-", "_")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

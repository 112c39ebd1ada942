"""Rules an item must meet to be saved and to be published.

Each check returns every problem at once, as (field, message) pairs, so that
an administrator sees all that is missing in one go.
"""

from django.utils.translation import gettext

from smartapproval.catalogue.models import ItemType, ServiceItem, limit_text

Problem = tuple[str | None, str]


def limit_problems(item: ServiceItem) -> list[Problem]:
    """Check that the promised limit does not exceed the legal one.

    Limits in different units are not compared: a month has no fixed number
    of working days.
    """
    if (
        item.legal_limit_value is not None
        and item.promised_limit_value is not None
        and item.legal_limit_unit == item.promised_limit_unit
        and item.promised_limit_value > item.legal_limit_value
    ):
        return [
            (
                "promised_limit_value",
                gettext(
                    "the promised time limit (%(promised)s) is longer than the "
                    "legal time limit (%(legal)s)"
                )
                % {
                    "promised": limit_text(
                        item.promised_limit_value, item.promised_limit_unit
                    ),
                    "legal": limit_text(item.legal_limit_value, item.legal_limit_unit),
                },
            )
        ]

    return []


def publication_problems(item: ServiceItem, *, material_count: int) -> list[Problem]:
    """List what keeps an item from being published.

    A 行政许可 item needs at least one material: a licence is granted on an
    application with documents (Administrative Licensing Law, art. 29-31).
    Other types, such as a consultation, may have none.
    """
    problems: list[Problem] = []
    department = item.department if item.department_id else None
    if department is None or not department.is_active:
        problems.append(
            ("department", gettext("it has no active implementing department"))
        )
    if item.legal_limit_value is None:
        problems.append(
            ("legal_limit_value", gettext("the legal time limit is missing"))
        )
    elif not item.legal_limit_confirmed:
        problems.append(
            (
                "legal_limit_confirmed",
                gettext(
                    "the legal time limit is the statutory default and has not "
                    "been confirmed"
                ),
            )
        )
    if item.promised_limit_value is None:
        problems.append(
            ("promised_limit_value", gettext("the promised time limit is missing"))
        )
    problems.extend(limit_problems(item))
    if item.item_type == ItemType.LICENSING and material_count == 0:
        problems.append(
            (
                "materials",
                gettext("an administrative licensing item needs at least one material"),
            )
        )

    return problems


def problems_text(problems: list[Problem]) -> str:
    """Join problems into one sentence, in the order they were found."""
    return gettext("; ").join(message for _field, message in problems)

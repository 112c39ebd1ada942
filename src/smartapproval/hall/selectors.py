"""Reads of the online hall."""

from django.db.models import Case, IntegerField, Value, When

from smartapproval.accounts.models import Department
from smartapproval.catalogue import selectors as catalogue
from smartapproval.catalogue.models import ItemStatus, ServiceItem


def store_items(*, department: Department) -> list[ServiceItem]:
    """List a flagship store's items: published first, then drafts.

    A draft is shown so the applicant knows the service exists, but cannot
    be applied for online yet; a withdrawn item is not shown at all.
    """
    items = catalogue.item_search(department=department, published_only=False)

    return list(
        items.exclude(status=ItemStatus.WITHDRAWN)
        .annotate(
            _unpublished=Case(
                When(status=ItemStatus.PUBLISHED, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("_unpublished", "name")
    )

"""Reads of the catalogue: search, departments and item look-up."""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Count, Prefetch, Q, QuerySet

from smartapproval.accounts.models import Department, Role
from smartapproval.catalogue.models import (
    ItemStatus,
    MaterialRequirement,
    ServiceItem,
)

# Fields left out of a version snapshot: identity and bookkeeping.
_SNAPSHOT_SKIP = {"id", "created_at", "updated_at", "source_hash", "department"}


def user_sees_drafts(user: Any) -> bool:
    """Return whether ``user`` may see unpublished items (administrators)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_superuser or user.role == Role.ADMIN)


def item_search(
    *,
    query: str = "",
    department: Department | int | None = None,
    item_type: str | None = None,
    published_only: bool = True,
) -> QuerySet[ServiceItem]:
    """Find items whose name contains every word of ``query``, or by code.

    A query equal to an implementation or basic code finds that item; the
    code columns are indexed or short, and the name match is a plain
    substring test that works the same on SQLite and PostgreSQL.
    """
    items = ServiceItem.objects.select_related("department")
    if published_only:
        items = items.filter(status=ItemStatus.PUBLISHED)
    if department is not None:
        items = items.filter(department=department)
    if item_type:
        items = items.filter(item_type=item_type)

    query = query.strip()
    if query:
        by_name = Q()
        for word in query.split():
            by_name &= Q(name__icontains=word)
        items = items.filter(
            by_name | Q(implementation_code=query) | Q(basic_code=query)
        )

    return items.order_by("department__sort_order", "department__name", "name", "pk")


def departments_with_items(*, published_only: bool = False) -> QuerySet[Department]:
    """List departments that have items, with total and published counts.

    Each department carries ``item_count`` and ``published_count``. With
    ``published_only`` only departments with a published item are listed.
    """
    departments = Department.objects.annotate(
        item_count=Count("items", distinct=True),
        published_count=Count(
            "items", filter=Q(items__status=ItemStatus.PUBLISHED), distinct=True
        ),
    )
    if published_only:
        departments = departments.filter(published_count__gt=0)
    else:
        departments = departments.filter(item_count__gt=0)

    return departments.order_by("sort_order", "name")


def item_get_published(code_or_pk: str | int) -> ServiceItem:
    """Return the published item with this implementation code or id.

    Raises ``ServiceItem.DoesNotExist`` for a draft, a withdrawn item or an
    unknown reference.
    """
    return _item_get(code_or_pk, published_only=True)


def item_get_for_user(*, code_or_pk: str | int, user: Any) -> ServiceItem:
    """Return an item the user may read: published, or any for administrators.

    Raises ``ServiceItem.DoesNotExist`` otherwise.
    """
    return _item_get(code_or_pk, published_only=not user_sees_drafts(user))


def item_snapshot(item: ServiceItem) -> dict[str, Any]:
    """Return the item and its materials as JSON-ready data, for a version."""
    data: dict[str, Any] = {}
    for model_field in ServiceItem._meta.concrete_fields:
        if model_field.name not in _SNAPSHOT_SKIP:
            data[model_field.name] = model_field.value_from_object(item)
    department = item.department
    data["department"] = {
        "id": department.pk,
        "code": department.code,
        "name": department.name,
    }
    data["materials"] = material_rows(item)

    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def material_rows(item: ServiceItem) -> list[dict[str, Any]]:
    """Return the item's materials as plain dicts, in order."""
    names = [
        f.name
        for f in MaterialRequirement._meta.concrete_fields
        if f.name not in {"id", "item"}
    ]

    return list(
        MaterialRequirement.objects.filter(item=item).order_by("order").values(*names)
    )


def _item_get(code_or_pk: str | int, *, published_only: bool) -> ServiceItem:
    items = ServiceItem.objects.select_related("department").prefetch_related(
        Prefetch("materials", queryset=MaterialRequirement.objects.order_by("order"))
    )
    if published_only:
        items = items.filter(status=ItemStatus.PUBLISHED)

    value = str(code_or_pk).strip()
    # Implementation codes may be all digits (the JSON item's is), so the code
    # is tried before the id.
    item = items.filter(implementation_code=value).first()
    if item is None and value.isdigit() and len(value) <= 18:
        item = items.filter(pk=int(value)).first()
    if item is None:
        raise ServiceItem.DoesNotExist(value)

    return item

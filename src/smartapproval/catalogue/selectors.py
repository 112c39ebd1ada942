"""Reads of the catalogue: search, departments and item look-up."""

import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import (
    Case,
    Count,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)

from smartapproval.accounts.models import Department, Role
from smartapproval.catalogue.models import (
    ItemStatus,
    MaterialRequirement,
    ServiceItem,
)

# Fields left out of a version snapshot: identity and bookkeeping.
_SNAPSHOT_SKIP = {"id", "created_at", "updated_at", "source_hash", "department"}


@dataclass(frozen=True)
class ResultAlias:
    """The items that issue a licence the catalogue does not name.

    Applicants search for the licence (营业执照); the provincial catalogue
    names the procedure (个体工商户设立登记) and often leaves the result
    name empty. An item matches when its name has one of ``subjects`` and
    one of ``procedures``, and none of ``unless``.
    """

    subjects: tuple[str, ...]
    procedures: tuple[str, ...]
    unless: tuple[str, ...] = ()

    def as_q(self) -> Q:
        matches = _any_in_name(self.subjects) & _any_in_name(self.procedures)
        if self.unless:
            matches &= ~_any_in_name(self.unless)
        return matches


# A business licence is issued when a market entity is registered, and issued
# again when its registration changes (Regulation on the Registration of
# Market Entities, art. 21 and 24).
RESULT_ALIASES: dict[str, ResultAlias] = {
    "营业执照": ResultAlias(
        subjects=("公司", "企业", "个体工商户", "合作社"),
        procedures=("设立登记", "变更登记", "设立、变更"),
        # Registered by civil affairs, with a certificate, not a licence.
        unless=("民办非企业",),
    ),
}


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
    substring test that works the same on SQLite and PostgreSQL. A word
    also matches the item's result (the licence it issues), by its result
    name or through ``RESULT_ALIASES``.
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
            by_name &= _word_matches(word)
        items = items.filter(
            by_name | Q(implementation_code=query) | Q(basic_code=query)
        )

    return items.order_by("department__sort_order", "department__name", "name", "pk")


def item_search_public(
    *,
    query: str = "",
    department: Department | int | None = None,
    item_type: str | None = None,
) -> QuerySet[ServiceItem]:
    """Find the items the public may see listed: published first, then drafts.

    A draft is listed so that a citizen learns the service exists and what
    is known of it, read-only: it cannot be applied for online and has no
    guide yet. A withdrawn item is not listed at all.
    """
    items = item_search(
        query=query, department=department, item_type=item_type, published_only=False
    ).exclude(status=ItemStatus.WITHDRAWN)

    return items.annotate(
        unpublished=Case(
            When(status=ItemStatus.PUBLISHED, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by(
        "unpublished", "department__sort_order", "department__name", "name", "pk"
    )


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


def _word_matches(word: str) -> Q:
    matches = Q(name__icontains=word) | Q(result_name__icontains=word)
    alias = RESULT_ALIASES.get(word)
    if alias is not None:
        matches |= alias.as_q()

    return matches


def _any_in_name(words: tuple[str, ...]) -> Q:
    found = Q()
    for word in words:
        found |= Q(name__contains=word)

    return found


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


def item_commitment_requirements(item: ServiceItem) -> list[MaterialRequirement]:
    """List the materials a notify-and-commit statement replaces (告知承诺制).

    None when the item does not allow notify-and-commit. The item names them
    one by one (``commitment_replaces``), as the published lists name the
    proofs a commitment stands in for.
    """
    if not item.notify_commit_allowed:
        return []
    return list(item.materials.filter(commitment_replaces=True).order_by("order"))


def item_commitment_statement(item: ServiceItem) -> str:
    """Return the statement an applicant agrees to under notify-and-commit.

    The item's own published text, or the standard one naming the replaced
    materials. It speaks of "the applicant" (申请人), so the text a form
    shows is the text a case keeps. Legal text in Chinese, not translated;
    empty when the item offers no commitment.
    """
    requirements = item_commitment_requirements(item)
    if not requirements:
        return ""
    own = (item.commitment_statement or "").strip()
    if own:
        return own
    names = "、".join(req.name for req in requirements)
    return (
        f"申请人已知晓“{item.name}”的办理条件、标准和要求，承诺符合上述条件，"
        f"以本承诺代替提交以下材料：{names}。申请人愿意接受审批部门的核查；"
        f"承诺不实的，同意撤销审批结果，并依法记入信用记录、承担相应法律责任。"
    )

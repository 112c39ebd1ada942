"""Writes to the catalogue: import, edits, versions and publication.

Every change runs in one transaction with the item row locked and writes its
audit entry in the same transaction. An item that has ever been published is
versioned: a change freezes the current state as a ``ServiceItemVersion`` and
bumps ``version``, so a case can always show the guide it was applied under.
"""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext

from smartapproval.accounts.models import Department
from smartapproval.accounts.services import department_ensure
from smartapproval.audit.services import audit_record
from smartapproval.catalogue import rules, sources
from smartapproval.catalogue.models import (
    ItemStatus,
    MaterialRequirement,
    ServiceItem,
    ServiceItemVersion,
)
from smartapproval.catalogue.selectors import item_snapshot
from smartapproval.catalogue.sources import ItemRecord, SourceIssue
from smartapproval.core.api import ServiceError
from smartapproval.core.models import LimitUnit

log = structlog.get_logger(__name__)

# The audit trail's name for the import when no person runs it.
IMPORT_ACTOR_LABEL = "catalogue-import"
# Administrative Licensing Law, art. 42: a licence is decided within 20 days.
STATUTORY_LICENSING_LIMIT = 20
# Fields item_update may change; status, version and bookkeeping have their
# own services.
EDITABLE_FIELDS = frozenset(
    f.name
    for f in ServiceItem._meta.concrete_fields
    if f.name
    not in {
        "id",
        "version",
        "status",
        "published_at",
        "source",
        "source_hash",
        "created_at",
        "updated_at",
    }
)
_MATERIAL_FIELDS = tuple(
    f.name
    for f in MaterialRequirement._meta.concrete_fields
    if f.name not in {"id", "item"}
)
_INSERT_BATCH = 500


class ItemAction:
    """Audit action names of the catalogue."""

    CREATED = "item_created"
    UPDATED = "item_updated"
    LEGAL_LIMIT_CONFIRMED = "item_legal_limit_confirmed"
    PUBLISHED = "item_published"
    WITHDRAWN = "item_withdrawn"
    DEPARTMENT_CREATED = "department_created"


@dataclass
class ImportReport:
    """What an import did: counts, and every row it refused or doubted."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    departments_created: int = 0
    errors: list[SourceIssue] = field(default_factory=list)
    warnings: list[SourceIssue] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


def catalogue_import(*, path: Path, actor: Any = None) -> ImportReport:
    """Import items from a catalogue file or from every file of a directory.

    Each file is imported in one transaction. Rows whose fingerprint matches
    the stored one are left untouched; changed rows update only the fields
    their source carries, so limits and materials an administrator completed
    survive a re-import of the CSV, which has neither. Malformed rows are
    reported with their row number and the rest is imported.
    """
    path = Path(path)
    try:
        files = sources.source_files(path)
    except FileNotFoundError as exc:
        raise ServiceError(
            gettext("No catalogue file or directory at %(path)s.") % {"path": path},
            field="path",
            code="not_found",
        ) from exc

    report = ImportReport()
    for file in files:
        batch = sources.read_source(file)
        report.errors.extend(batch.errors)
        report.warnings.extend(batch.warnings)
        if batch.records:
            _import_records(batch.records, actor=actor, report=report)

    log.info(
        "catalogue_imported",
        files=len(files),
        created=report.created,
        updated=report.updated,
        unchanged=report.unchanged,
        departments_created=report.departments_created,
        errors=len(report.errors),
    )

    return report


@transaction.atomic
def item_create(
    *,
    actor: Any,
    implementation_code: str,
    name: str,
    item_type: str,
    department: Department,
    materials: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> ServiceItem:
    """Add a draft item by hand, with its materials."""
    _check_editable(fields)
    if ServiceItem.objects.filter(implementation_code=implementation_code).exists():
        raise ServiceError(
            gettext("An item with the implementation code %(code)s already exists.")
            % {"code": implementation_code},
            field="implementation_code",
            code="duplicate",
            status=409,
        )
    item = ServiceItem(
        implementation_code=implementation_code,
        name=name,
        item_type=item_type,
        department=department,
        **fields,
    )
    _refuse(rules.limit_problems(item), status=400)

    item.save()
    if materials:
        _replace_materials(item, _material_list(materials))

    audit_record(
        actor=actor,
        action=ItemAction.CREATED,
        target=item,
        after=_summary(item),
    )
    log.info("item_created", item_id=item.pk, item_code=item.implementation_code)

    return item


@transaction.atomic
def item_update(
    *,
    actor: Any,
    item: ServiceItem,
    materials: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> ServiceItem:
    """Change an item's fields and, when given, replace its materials.

    A change to an item that has been published freezes the current version
    and bumps the version number; a published item must still meet the
    publication rules afterwards. A draft is edited in place.
    """
    _check_editable(fields)
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    before_snapshot = item_snapshot(item)

    changes = _assign(item, fields)
    new_materials = None
    if materials is not None:
        new_materials = _material_list(materials)
        old_materials = before_snapshot["materials"]
        if _jsonable(new_materials) != old_materials:
            changes["materials"] = (old_materials, new_materials)
    if not changes:
        return item

    _refuse(rules.limit_problems(item), status=400)
    if item.status == ItemStatus.PUBLISHED:
        count = len(new_materials) if new_materials is not None else None
        _refuse_incomplete(item, material_count=count)

    if item.published_at is not None:
        _freeze_version(item, before_snapshot)
    item.save()
    if new_materials is not None:
        _replace_materials(item, new_materials)

    audit_record(
        actor=actor,
        action=ItemAction.UPDATED,
        target=item,
        before=_jsonable({name: old for name, (old, _new) in changes.items()}),
        after=_jsonable({name: new for name, (_old, new) in changes.items()}),
    )
    log.info(
        "item_updated",
        item_id=item.pk,
        item_code=item.implementation_code,
        version=item.version,
        fields=sorted(changes),
    )

    return item


@transaction.atomic
def item_confirm_legal_limit(*, actor: Any, item: ServiceItem) -> ServiceItem:
    """Confirm that the item's legal limit is right, not just the default.

    Confirming an already confirmed limit changes nothing.
    """
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    if item.legal_limit_value is None:
        raise ServiceError(
            gettext("The item has no legal time limit to confirm."),
            field="legal_limit_value",
            code="no_legal_limit",
            status=409,
        )
    if item.legal_limit_confirmed:
        return item

    item.legal_limit_confirmed = True
    item.save(update_fields=["legal_limit_confirmed", "updated_at"])

    audit_record(
        actor=actor,
        action=ItemAction.LEGAL_LIMIT_CONFIRMED,
        target=item,
        before={"legal_limit_confirmed": False},
        after={
            "legal_limit_confirmed": True,
            "legal_limit_value": item.legal_limit_value,
            "legal_limit_unit": item.legal_limit_unit,
        },
    )
    log.info(
        "item_legal_limit_confirmed",
        item_id=item.pk,
        item_code=item.implementation_code,
    )

    return item


@transaction.atomic
def item_publish(*, actor: Any, item: ServiceItem) -> ServiceItem:
    """Publish an item so applicants find it in the hall.

    Refuses, naming everything that is missing, an item without a confirmed
    legal limit, a promised limit, a department, or (for 行政许可) materials,
    or whose promised limit exceeds the legal one.
    """
    item = (
        ServiceItem.objects.select_for_update(of=("self",))
        .select_related("department")
        .get(pk=item.pk)
    )
    if item.status == ItemStatus.PUBLISHED:
        raise ServiceError(
            gettext("The item is already published."),
            field="status",
            code="already_published",
            status=409,
        )
    _refuse_incomplete(item, material_count=None)

    before = {"status": item.status}
    item.status = ItemStatus.PUBLISHED
    item.published_at = timezone.now()
    item.save(update_fields=["status", "published_at", "updated_at"])

    audit_record(
        actor=actor,
        action=ItemAction.PUBLISHED,
        target=item,
        before=before,
        after={"status": item.status, "version": item.version},
    )
    log.info(
        "item_published",
        item_id=item.pk,
        item_code=item.implementation_code,
        version=item.version,
    )

    return item


@transaction.atomic
def item_withdraw(*, actor: Any, item: ServiceItem, reason: str) -> ServiceItem:
    """Take a published item out of the hall, stating why.

    Cases already under way keep their item; no new application is taken.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            gettext("Give a reason for withdrawing the item."),
            field="reason",
            code="required",
        )
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    if item.status != ItemStatus.PUBLISHED:
        raise ServiceError(
            gettext("Only a published item can be withdrawn."),
            field="status",
            code="not_published",
            status=409,
        )

    item.status = ItemStatus.WITHDRAWN
    item.save(update_fields=["status", "updated_at"])

    audit_record(
        actor=actor,
        action=ItemAction.WITHDRAWN,
        target=item,
        before={"status": ItemStatus.PUBLISHED},
        after={"status": item.status},
        note=reason,
    )
    log.info("item_withdrawn", item_id=item.pk, item_code=item.implementation_code)

    return item


@transaction.atomic
def _import_records(
    records: list[ItemRecord], *, actor: Any, report: ImportReport
) -> None:
    """Import one file's records in one transaction."""
    departments = _ensure_departments(records, actor=actor, report=report)
    records = [r for r in records if r.department_name in departments]

    existing = _items_by_code([r.code for r in records])
    new = [r for r in records if r.code not in existing]
    known = [(r, existing[r.code]) for r in records if r.code in existing]

    for record, item in _create_items(new, departments, actor=actor, report=report):
        known.append((record, item))
    for record, item in known:
        if item.source_hash == record.fingerprint:
            report.unchanged += 1
            continue
        with transaction.atomic():
            _update_from_record(item, record, departments, actor=actor, report=report)


def _ensure_departments(
    records: list[ItemRecord], *, actor: Any, report: ImportReport
) -> dict[str, Department]:
    """Find or create each department the records name, keyed by name."""
    wanted: dict[str, ItemRecord] = {}
    for record in records:
        wanted.setdefault(record.department_name, record)

    departments: dict[str, Department] = {}
    for name, record in wanted.items():
        clash = (
            Department.objects.filter(code=record.department_code)
            .exclude(name=name)
            .first()
        )
        if clash is not None and not Department.objects.filter(name=name).exists():
            report.errors.append(
                SourceIssue(
                    record.source,
                    record.row,
                    gettext(
                        "The department code %(code)s of %(name)s already belongs "
                        "to %(other)s; the department's items are not imported."
                    )
                    % {
                        "code": record.department_code,
                        "name": name,
                        "other": clash.name,
                    },
                )
            )
            continue

        department, created = department_ensure(
            actor=actor,
            name=name,
            code=record.department_code,
            region_code=record.department_region,
        )
        if created:
            report.departments_created += 1
            audit_record(
                actor=actor,
                action=ItemAction.DEPARTMENT_CREATED,
                target=department,
                after={
                    "code": department.code,
                    "name": department.name,
                    "region_code": department.region_code,
                },
                note=_import_note(record),
                actor_label=_import_label(actor),
            )
        departments[name] = department

    _ensure_co_departments(records, actor=actor, report=report)
    return departments


def _ensure_co_departments(
    records: list[ItemRecord], *, actor: Any, report: ImportReport
) -> None:
    """Create the co-departments the items name, so their reviews have an inbox.

    The source gives a co-department's name only: it is created with a
    placeholder code (``CO-`` and a digest of the name) for an
    administrator to replace with its credit code.
    """
    names = {
        name
        for record in records
        for name in record.fields.get("co_department_names") or []
        if name
    }
    for name in sorted(names):
        code = "CO-" + hashlib.sha256(name.encode()).hexdigest()[:16].upper()
        department, created = department_ensure(actor=actor, name=name, code=code)
        if not created:
            continue
        report.departments_created += 1
        audit_record(
            actor=actor,
            action=ItemAction.DEPARTMENT_CREATED,
            target=department,
            after={"code": department.code, "name": department.name},
            note=gettext("co-department named by an item; code to be completed"),
            actor_label=_import_label(actor),
        )


def _items_by_code(codes: list[str]) -> dict[str, ServiceItem]:
    items: dict[str, ServiceItem] = {}
    for start in range(0, len(codes), _INSERT_BATCH):
        chunk = codes[start : start + _INSERT_BATCH]
        for item in ServiceItem.objects.filter(implementation_code__in=chunk):
            items[item.implementation_code] = item
    return items


def _create_items(
    records: list[ItemRecord],
    departments: dict[str, Department],
    *,
    actor: Any,
    report: ImportReport,
) -> list[tuple[ItemRecord, ServiceItem]]:
    """Insert new items in bulk; return the records another import beat us to.

    When a concurrent import inserted some of the codes first, the bulk insert
    fails on the unique code and the rows are inserted one by one, each
    reading the other import's row if it is there.
    """
    items = [_new_item(record, departments, report=report) for record in records]
    existing: list[tuple[ItemRecord, ServiceItem]] = []
    try:
        with transaction.atomic():
            ServiceItem.objects.bulk_create(items, batch_size=_INSERT_BATCH)
            created = list(zip(records, items, strict=True))
    except IntegrityError:
        created = []
        for record, item in zip(records, items, strict=True):
            # A batch that went in before the failure was rolled back with
            # the savepoint, but its objects kept their ids.
            item.pk = None
            item._state.adding = True
            outcome = _create_one(record, item, report=report)
            if outcome is None:
                continue
            saved, was_created = outcome
            if was_created:
                created.append((record, saved))
            else:
                existing.append((record, saved))

    materials = [
        MaterialRequirement(item=item, **material)
        for record, item in created
        for material in record.materials or ()
    ]
    MaterialRequirement.objects.bulk_create(materials, batch_size=_INSERT_BATCH)
    for record, item in created:
        report.created += 1
        audit_record(
            actor=actor,
            action=ItemAction.CREATED,
            target=item,
            after=_summary(item),
            note=_import_note(record),
            actor_label=_import_label(actor),
        )

    return existing


def _create_one(
    record: ItemRecord, item: ServiceItem, *, report: ImportReport
) -> tuple[ServiceItem, bool] | None:
    try:
        with transaction.atomic():
            item.save(force_insert=True)
        return item, True
    except IntegrityError:
        pass
    except DatabaseError:
        report.errors.append(_save_error(record))
        return None
    try:
        return ServiceItem.objects.get(implementation_code=record.code), False
    except ServiceItem.DoesNotExist:
        report.errors.append(_save_error(record))
        return None


def _new_item(
    record: ItemRecord, departments: dict[str, Department], *, report: ImportReport
) -> ServiceItem:
    item = ServiceItem(
        department=departments[record.department_name],
        source=record.source[:100],
        source_hash=record.fingerprint,
        version=record.source_version or 1,
        **record.fields,
    )
    if record.licensing_default:
        _apply_licensing_default(item)
    if record.publish:
        count = len(record.materials or ())
        problems = rules.publication_problems(item, material_count=count)
        if problems:
            report.warnings.append(
                SourceIssue(
                    record.source,
                    record.row,
                    gettext("Imported as a draft: %(problems)s.")
                    % {"problems": rules.problems_text(problems)},
                )
            )
        else:
            item.status = ItemStatus.PUBLISHED
            item.published_at = timezone.now()

    return item


def _update_from_record(
    item: ServiceItem,
    record: ItemRecord,
    departments: dict[str, Department],
    *,
    actor: Any,
    report: ImportReport,
) -> None:
    """Apply a changed source row to its item, versioning the change."""
    item = ServiceItem.objects.select_for_update().get(pk=item.pk)
    if item.source_hash == record.fingerprint:
        report.unchanged += 1
        return
    before_snapshot = item_snapshot(item)

    changes = _assign(
        item, {**record.fields, "department": departments[record.department_name]}
    )
    if record.licensing_default and item.legal_limit_value is None:
        changes.update(_apply_licensing_default(item))
    if record.materials is not None and (
        _jsonable(record.materials) != before_snapshot["materials"]
    ):
        changes["materials"] = (before_snapshot["materials"], record.materials)
    if not changes:
        # The source changed only in what the item does not store (for
        # example another spelling of the department's code).
        item.source_hash = record.fingerprint
        item.save(update_fields=["source_hash"])
        report.unchanged += 1
        return

    problems = rules.limit_problems(item)
    if item.status == ItemStatus.PUBLISHED:
        count = (
            len(record.materials)
            if record.materials is not None
            else item.materials.count()
        )
        problems += rules.publication_problems(item, material_count=count)
    if problems:
        report.errors.append(
            SourceIssue(
                record.source,
                record.row,
                gettext("The change is not imported: %(problems)s.")
                % {"problems": rules.problems_text(problems)},
            )
        )
        return

    _freeze_version(item, before_snapshot)
    if record.source_version and record.source_version > item.version:
        item.version = record.source_version
    item.source = record.source[:100]
    item.source_hash = record.fingerprint
    item.save()
    if "materials" in changes:
        _replace_materials(item, record.materials or [])

    report.updated += 1
    audit_record(
        actor=actor,
        action=ItemAction.UPDATED,
        target=item,
        before=_jsonable({name: old for name, (old, _new) in changes.items()}),
        after=_jsonable({name: new for name, (_old, new) in changes.items()}),
        note=_import_note(record),
        actor_label=_import_label(actor),
    )
    log.info(
        "item_imported_change",
        item_id=item.pk,
        item_code=item.implementation_code,
        version=item.version,
    )


def _apply_licensing_default(item: ServiceItem) -> dict[str, tuple[Any, Any]]:
    """Give a 行政许可 item the statutory 20 working days, unconfirmed."""
    return _assign(
        item,
        {
            "legal_limit_value": STATUTORY_LICENSING_LIMIT,
            "legal_limit_unit": LimitUnit.WORKING_DAYS.value,
            "legal_limit_confirmed": False,
        },
    )


def _freeze_version(item: ServiceItem, snapshot: dict[str, Any]) -> None:
    ServiceItemVersion.objects.create(
        item=item, version=item.version, snapshot=snapshot
    )
    item.version += 1


def _assign(item: ServiceItem, fields: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set fields on the item; return the ones that changed, old and new."""
    changes: dict[str, tuple[Any, Any]] = {}
    for name, value in fields.items():
        old = getattr(item, name)
        if isinstance(old, models.Model) or isinstance(value, models.Model):
            same = getattr(old, "pk", None) == getattr(value, "pk", None)
        else:
            same = old == value
        if not same:
            changes[name] = (old, value)
            setattr(item, name, value)

    return changes


# Orders are moved out of the way by this much while rows are renumbered
# (the (item, order) pair is unique).
_ORDER_PARKING = 10000


def _replace_materials(item: ServiceItem, materials: list[dict[str, Any]]) -> None:
    """Make the item's material list ``materials``, keeping the rows that stay.

    A material keeps its row (and so every case's file stays linked to it)
    when a new entry has its name, or failing that its place in the list;
    rows no entry matches are removed, new entries get new rows.
    """
    existing = list(MaterialRequirement.objects.filter(item=item).order_by("order"))
    by_name: dict[str, MaterialRequirement] = {}
    for row in existing:
        by_name.setdefault(row.name, row)
    by_order = {row.order: row for row in existing}
    orders = [material.get("order", n) for n, material in enumerate(materials, 1)]

    assigned: dict[int, MaterialRequirement] = {}
    taken: set[int] = set()
    for position, material in enumerate(materials):
        row = by_name.get(material.get("name", ""))
        if row is not None and row.pk not in taken:
            assigned[position] = row
            taken.add(row.pk)
    for position in range(len(materials)):
        row = by_order.get(orders[position])
        if position not in assigned and row is not None and row.pk not in taken:
            assigned[position] = row
            taken.add(row.pk)

    MaterialRequirement.objects.filter(item=item).exclude(pk__in=taken).delete()
    MaterialRequirement.objects.filter(pk__in=taken).update(
        order=models.F("order") + _ORDER_PARKING
    )
    created = []
    for position, material in enumerate(materials):
        values = {**material, "order": orders[position]}
        row = assigned.get(position)
        if row is None:
            created.append(MaterialRequirement(item=item, **values))
            continue
        for name, value in values.items():
            setattr(row, name, value)
        row.save()
    MaterialRequirement.objects.bulk_create(created)


def _material_list(materials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Fill defaults and renumber materials 1..n in their given order."""
    defaults = {
        f.name: f.get_default()
        for f in MaterialRequirement._meta.concrete_fields
        if f.name in _MATERIAL_FIELDS
    }
    rows = []
    for position, material in enumerate(materials, start=1):
        unknown = set(material) - set(_MATERIAL_FIELDS)
        if unknown:
            raise TypeError(f"Unknown material fields: {sorted(unknown)}")
        row = {**defaults, **material, "order": position}
        # An emptied admin field reads as None; the list is never null.
        row["accepts_results"] = [
            text.strip()
            for text in row.get("accepts_results") or []
            if isinstance(text, str) and text.strip()
        ]
        rows.append(row)

    return rows


def _check_editable(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"Fields not editable through a service: {sorted(unknown)}")


def _refuse(problems: list[rules.Problem], *, status: int) -> None:
    if problems:
        raise ServiceError(
            gettext("The item cannot be saved: %(problems)s.")
            % {"problems": rules.problems_text(problems)},
            field=problems[0][0],
            code="invalid_limits",
            status=status,
        )


def _refuse_incomplete(item: ServiceItem, *, material_count: int | None) -> None:
    """Refuse with every publication problem; count materials if not given."""
    if material_count is None:
        material_count = item.materials.count()
    problems = rules.publication_problems(item, material_count=material_count)
    if problems:
        verb = (
            gettext("The published item cannot be changed this way: %(problems)s.")
            if item.status == ItemStatus.PUBLISHED
            else gettext("The item cannot be published: %(problems)s.")
        )
        raise ServiceError(
            verb % {"problems": rules.problems_text(problems)},
            field=problems[0][0],
            code="item_incomplete",
            status=409,
        )


def _summary(item: ServiceItem) -> dict[str, Any]:
    return {
        "implementation_code": item.implementation_code,
        "name": item.name,
        "item_type": item.item_type,
        "department": item.department.name,
        "status": item.status,
        "version": item.version,
        "legal_limit_value": item.legal_limit_value,
        "legal_limit_confirmed": item.legal_limit_confirmed,
        "promised_limit_value": item.promised_limit_value,
    }


def _jsonable(value: Any) -> Any:
    """Turn values (models, dates, enums) into JSON for the audit trail."""

    def default(obj: Any) -> Any:
        if isinstance(obj, models.Model):
            return {"id": obj.pk, "name": str(obj)}
        return DjangoJSONEncoder().default(obj)

    return json.loads(json.dumps(value, default=default))


def _import_label(actor: Any) -> str:
    """Name the import in the audit trail when no person runs it."""
    return "" if getattr(actor, "pk", None) else IMPORT_ACTOR_LABEL


def _import_note(record: ItemRecord) -> str:
    return gettext("Imported from %(source)s, row %(row)s.") % {
        "source": record.source,
        "row": record.row,
    }


def _save_error(record: ItemRecord) -> SourceIssue:
    return SourceIssue(
        record.source, record.row, gettext("The row could not be saved.")
    )

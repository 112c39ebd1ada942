"""Read catalogue source files into item records, reporting bad rows.

Two formats: the CSV implementation list (one item per row, no limits and no
materials) and the JSON item (one object, or a list of them, with every
element of the implementation list). Reading writes nothing; the import
service compares the records with the database.
"""

import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.db import models
from django.utils.translation import gettext

from smartapproval.catalogue.models import (
    ApplicantScope,
    ItemType,
    MaterialRequirement,
    ServiceItem,
)
from smartapproval.core.models import LimitUnit

CSV_COLUMNS = ("dept", "group", "name", "itemCode", "taskType", "deptCode", "area")
TYPE_COLUMNS = ("code", "name")
# The CSV's word for an item without a parent item.
NO_GROUP = "未分类"
# Bump when the mapping from a source to fields changes, so that the next
# import compares every row again.
FINGERPRINT_VERSION = "1"

# basic code - 12-digit region - 000 - implementing body's code - 1 - 00.
# Basic codes and organisation codes may themselves contain hyphens.
_ITEM_CODE = re.compile(
    r"^(?P<basic>.+?)-(?P<region>\d{12})-\d{3}-(?P<body>.+)-\d-\d{2}$"
)

# Plain-text JSON keys copied as they are when present.
_JSON_TEXT_FIELDS = (
    "basic_code",
    "group_name",
    "acceptance_conditions",
    "on_site_reason",
    "fee",
    "consultation_phone",
    "complaint_phone",
    "commitment_statement",
)
_JSON_STRUCTURED_FIELDS = {
    "handling_modes": list,
    "legal_bases": list,
    "faq": list,
    "window": dict,
    "review_channels": dict,
    "special_procedures": list,
}
_MATERIAL_TEXT_FIELDS = ("paper", "sign", "source", "note", "basis")


@dataclass(frozen=True)
class SourceIssue:
    """A problem with one row of a source file, worded for the operator."""

    source: str
    row: int
    message: str

    def __str__(self) -> str:
        return gettext("%(source)s, row %(row)s: %(message)s") % {
            "source": self.source,
            "row": self.row,
            "message": self.message,
        }


@dataclass
class ItemRecord:
    """One item as a source describes it, ready to compare and save.

    ``fields`` holds only what the source says; everything else on an
    existing item (limits and materials an administrator completed) stays.
    ``materials`` is None when the source has no materials at all.
    """

    source: str
    row: int
    fingerprint: str
    department_name: str
    department_code: str
    department_region: str
    fields: dict[str, Any]
    materials: list[dict[str, Any]] | None = None
    source_version: int | None = None
    licensing_default: bool = False
    publish: bool = False

    @property
    def code(self) -> str:
        return self.fields["implementation_code"]


@dataclass
class SourceBatch:
    records: list[ItemRecord] = field(default_factory=list)
    errors: list[SourceIssue] = field(default_factory=list)
    warnings: list[SourceIssue] = field(default_factory=list)


@dataclass(frozen=True)
class ItemCodeParts:
    basic_code: str
    region_code: str
    body_code: str
    standard: bool


class _RowError(Exception):
    """A row cannot be imported; the message says why, in Chinese."""


def source_files(path: Path) -> list[Path]:
    """List the files to import: ``path`` itself, or a directory's CSV/JSON."""
    if path.is_dir():
        return sorted(
            p for p in path.iterdir() if p.suffix.lower() in {".csv", ".json"}
        )
    if path.is_file():
        return [path]
    raise FileNotFoundError(path)


def read_source(path: Path) -> SourceBatch:
    """Read one file, choosing the format from its suffix and CSV header."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return SourceBatch(
            errors=[
                SourceIssue(name, 0, gettext("The file cannot be read as UTF-8 text."))
            ]
        )

    if path.suffix.lower() == ".json":
        return read_json(text, source=name)

    return read_csv(text, source=name)


def read_csv(text: str, *, source: str) -> SourceBatch:
    """Read the CSV implementation list, or check an item-types table."""
    reader = csv.DictReader(io.StringIO(text, newline=""), restkey="_extra")
    header = tuple(reader.fieldnames or ())
    if set(TYPE_COLUMNS) == set(header):
        return _check_type_table(reader, source=source)

    batch = SourceBatch()
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        batch.errors.append(
            SourceIssue(
                source,
                1,
                gettext("The header lacks the columns: %(columns)s.")
                % {"columns": ", ".join(missing)},
            )
        )
        return batch

    first_row: dict[str, int] = {}
    for raw in reader:
        row = reader.line_num
        try:
            record = _csv_record(raw, source=source, row=row, batch=batch)
        except _RowError as exc:
            batch.errors.append(SourceIssue(source, row, str(exc)))
            continue
        if record.code in first_row:
            batch.errors.append(
                SourceIssue(
                    source,
                    row,
                    gettext("The implementation code %(code)s repeats row %(first)s.")
                    % {"code": record.code, "first": first_row[record.code]},
                )
            )
            continue
        first_row[record.code] = row
        batch.records.append(record)

    _choose_department_codes(batch.records)

    return batch


def read_json(text: str, *, source: str) -> SourceBatch:
    """Read one JSON item, a list of items, or an object with ``items``."""
    batch = SourceBatch()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        batch.errors.append(
            SourceIssue(
                source,
                exc.lineno,
                gettext("The file is not valid JSON: %(error)s") % {"error": exc.msg},
            )
        )
        return batch

    if isinstance(data, dict) and isinstance(data.get("items"), list):
        entries = data["items"]
    elif isinstance(data, list):
        entries = data
    else:
        entries = [data]

    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        try:
            record = _json_record(entry, source=source, row=position, batch=batch)
        except _RowError as exc:
            batch.errors.append(SourceIssue(source, position, str(exc)))
            continue
        if record.code in seen:
            batch.errors.append(
                SourceIssue(
                    source,
                    position,
                    gettext("The implementation code %(code)s appears twice.")
                    % {"code": record.code},
                )
            )
            continue
        seen.add(record.code)
        batch.records.append(record)

    return batch


def parse_item_code(code: str) -> ItemCodeParts:
    """Split a national implementation code into basic, region and body codes.

    Codes outside the national form keep their last part as the body code,
    which is how the few short codes of the Guang'an list end.
    """
    match = _ITEM_CODE.match(code)
    if match:
        return ItemCodeParts(
            basic_code=match["basic"],
            region_code=normalize_region(match["region"]),
            body_code=match["body"].upper(),
            standard=True,
        )
    head, _sep, tail = code.rpartition("-")

    return ItemCodeParts(
        basic_code=head, region_code="", body_code=tail.upper(), standard=False
    )


def normalize_region(value: str) -> str:
    """Shorten a 12-digit statistical division code of a county to GB/T 2260.

    511602000000 (district level, no township part) becomes 511602.
    """
    value = value.strip()
    if len(value) == 12 and value.isdigit() and value.endswith("000000"):
        return value[:6]

    return value


def fingerprint(kind: str, payload: Any) -> str:
    """Hash a source row so that an unchanged row is recognised on re-import."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False)
    data = f"{kind}-v{FINGERPRINT_VERSION}\x1f{canonical}".encode()
    return hashlib.sha256(data).hexdigest()


def _check_type_table(reader: csv.DictReader, *, source: str) -> SourceBatch:
    """Check that a type table agrees with the item types the code knows."""
    batch = SourceBatch()
    known = dict(ItemType.choices)
    for raw in reader:
        code = (raw.get("code") or "").strip()
        name = (raw.get("name") or "").strip()
        if known.get(code) != name:
            batch.errors.append(
                SourceIssue(
                    source,
                    reader.line_num,
                    gettext("Item type %(code)s %(name)s is not a known type.")
                    % {"code": code, "name": name},
                )
            )

    return batch


def _csv_record(
    raw: dict[str, Any], *, source: str, row: int, batch: SourceBatch
) -> ItemRecord:
    if raw.get("_extra"):
        raise _RowError(gettext("The row has more columns than the header."))
    if any(raw.get(column) is None for column in CSV_COLUMNS):
        raise _RowError(gettext("The row has fewer columns than the header."))
    values = {column: raw[column].strip() for column in CSV_COLUMNS}

    code = values["itemCode"]
    if not code:
        raise _RowError(gettext("The implementation code (itemCode) is empty."))
    if not values["name"]:
        raise _RowError(gettext("The item name is empty."))
    if not values["dept"]:
        raise _RowError(gettext("The department (dept) is empty."))
    item_type = _item_type(values["taskType"])

    parts = parse_item_code(code)
    if not parts.standard:
        batch.warnings.append(
            SourceIssue(
                source,
                row,
                gettext(
                    "The implementation code %(code)s is not in the national "
                    "form; the implementing body code is taken from its last part."
                )
                % {"code": code},
            )
        )
    group = values["group"]
    fields = {
        "implementation_code": code,
        "basic_code": parts.basic_code,
        "implementing_body_code": parts.body_code,
        "name": values["name"],
        "group_name": "" if group == NO_GROUP else group,
        "item_type": item_type,
        "region_code": normalize_region(values["area"]) or parts.region_code,
    }
    _check_lengths(ServiceItem, fields)

    return ItemRecord(
        source=source,
        row=row,
        fingerprint=fingerprint("csv", [values[c] for c in CSV_COLUMNS]),
        department_name=values["dept"],
        department_code=values["deptCode"].upper() or parts.body_code,
        department_region=fields["region_code"],
        fields=fields,
        licensing_default=item_type == ItemType.LICENSING,
    )


def _choose_department_codes(records: list[ItemRecord]) -> None:
    """Give every record of a department the code most of its rows carry.

    One department of the list appears under several codes (a USCC, an old
    organisation code, suffixed variants); the department is known by its
    name, and the most frequent code becomes its code. Ties go to the code
    seen first.
    """
    counts: dict[str, Counter[str]] = {}
    for record in records:
        counts.setdefault(record.department_name, Counter())[
            record.department_code
        ] += 1
    chosen = {name: counter.most_common(1)[0][0] for name, counter in counts.items()}
    for record in records:
        record.department_code = chosen[record.department_name]


def _json_record(
    entry: Any, *, source: str, row: int, batch: SourceBatch
) -> ItemRecord:
    if not isinstance(entry, dict):
        raise _RowError(gettext("The entry is not a JSON object."))

    code = _text(entry.get("implementation_code"))
    name = _text(entry.get("name"))
    if not code:
        raise _RowError(gettext("The implementation code is missing."))
    if not name:
        raise _RowError(gettext("The item name is missing."))
    department = entry.get("department")
    if not isinstance(department, dict) or not _text(department.get("name")):
        raise _RowError(gettext("The implementing department is missing."))
    department_name = _text(department["name"])
    department_code = _text(department.get("uscc") or department.get("code")).upper()
    if not department_code:
        raise _RowError(gettext("The department's code (uscc) is missing."))

    raw_type = entry.get("item_type")
    if raw_type in (None, ""):
        item_type = ItemType.OTHER_POWER.value
        batch.warnings.append(
            SourceIssue(
                source,
                row,
                gettext("No item type is given; the item is imported as %(type)s.")
                % {"type": ItemType.OTHER_POWER.label},
            )
        )
    else:
        item_type = _item_type(str(raw_type))

    region = normalize_region(_text(entry.get("region_code")))
    body_code = _text(entry.get("implementing_body_code")).upper()
    if not body_code and code.startswith(department_code):
        body_code = department_code
    fields: dict[str, Any] = {
        "implementation_code": code,
        "name": name,
        "item_type": item_type,
        "region_code": region,
        "implementing_body_code": body_code,
    }
    for key in _JSON_TEXT_FIELDS:
        if entry.get(key) is not None:
            fields[key] = _text(entry[key])
    for key, kind in _JSON_STRUCTURED_FIELDS.items():
        if entry.get(key) is not None:
            if not isinstance(entry[key], kind):
                raise _RowError(
                    gettext("The field %(field)s has the wrong form.") % {"field": key}
                )
            fields[key] = entry[key]
    _json_people_and_result(entry, fields)
    _json_limits(entry, fields)
    _check_lengths(ServiceItem, fields)

    materials = None
    if entry.get("materials") is not None:
        materials = _json_materials(entry["materials"])
    version = entry.get("version")
    if version is not None and (not isinstance(version, int) or version < 1):
        raise _RowError(gettext("The version must be a positive whole number."))

    return ItemRecord(
        source=source,
        row=row,
        fingerprint=fingerprint("json", entry),
        department_name=department_name,
        department_code=department_code,
        department_region=region,
        fields=fields,
        materials=materials,
        source_version=version,
        # A full record is published when it meets the publication rules;
        # the import checks them against the saved department.
        publish=True,
    )


def _json_people_and_result(entry: dict[str, Any], fields: dict[str, Any]) -> None:
    if entry.get("lead_department") is not None:
        fields["lead_department_name"] = _text(entry["lead_department"])
    if entry.get("co_departments") is not None:
        co = entry["co_departments"]
        if not isinstance(co, list):
            raise _RowError(gettext("The co-departments must be a list."))
        fields["co_department_names"] = [_text(name) for name in co]
    result = entry.get("result")
    if isinstance(result, dict):
        fields["result_name"] = _text(result.get("name"))
        fields["result_type"] = _text(result.get("type"))
    for key in ("on_site_visits", "online_depth"):
        if entry.get(key) is not None:
            fields[key] = _count(entry[key], key)
    # 告知承诺制: whether the list allows it; its materials say what it replaces.
    if entry.get("notify_commit_allowed") is not None:
        fields["notify_commit_allowed"] = bool(entry["notify_commit_allowed"])
    if entry.get("verification_limit_value") is not None:
        days = _count(entry["verification_limit_value"], "verification_limit_value")
        if days < 1:
            raise _RowError(
                gettext("The verification limit must be at least 1 working day.")
            )
        fields["verification_limit_value"] = days
    for key in ("valid_from", "valid_to"):
        if entry.get(key) is not None:
            try:
                fields[key] = date.fromisoformat(str(entry[key]))
            except ValueError as exc:
                raise _RowError(
                    gettext("The date %(value)s is not in the form YYYY-MM-DD.")
                    % {"value": entry[key]}
                ) from exc
    scope = entry.get("applicant_scope")
    if scope is not None:
        if scope not in ApplicantScope.values:
            raise _RowError(
                gettext("The applicant scope %(value)s is unknown.") % {"value": scope}
            )
        fields["applicant_scope"] = scope


def _json_limits(entry: dict[str, Any], fields: dict[str, Any]) -> None:
    legal = _limit(entry.get("legal_limit"), gettext("legal time limit"))
    promised = _limit(entry.get("promised_limit"), gettext("promised time limit"))
    if legal is not None:
        fields["legal_limit_value"], fields["legal_limit_unit"] = legal
        # The source states the limit; it is not the statutory default.
        fields["legal_limit_confirmed"] = True
    if promised is not None:
        fields["promised_limit_value"], fields["promised_limit_unit"] = promised
    if (
        legal is not None
        and promised is not None
        and legal[1] == promised[1]
        and promised[0] > legal[0]
    ):
        raise _RowError(
            gettext("The promised time limit is longer than the legal time limit.")
        )


def _limit(value: Any, label: str) -> tuple[int, str] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _RowError(
            gettext("The %(limit)s must have a value and a unit.") % {"limit": label}
        )
    amount = value.get("value")
    unit = value.get("unit", LimitUnit.WORKING_DAYS)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise _RowError(
            gettext("The %(limit)s must be a whole number of days or months.")
            % {"limit": label}
        )
    if unit not in LimitUnit.values:
        raise _RowError(
            gettext("The unit %(unit)s of the %(limit)s is unknown.")
            % {"unit": unit, "limit": label}
        )

    return amount, unit


def _json_materials(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _RowError(gettext("The materials must be a list."))
    materials = []
    orders: set[int] = set()
    for position, raw in enumerate(value, start=1):
        if not isinstance(raw, dict) or not _text(raw.get("name")):
            raise _RowError(
                gettext("Material %(number)s has no name.") % {"number": position}
            )
        order = raw.get("order", position)
        if not isinstance(order, int) or order < 1 or order in orders:
            raise _RowError(
                gettext("Material %(number)s has a missing or repeated order.")
                % {"number": position}
            )
        orders.add(order)
        material = {
            "order": order,
            "name": _text(raw["name"]),
            "required": bool(raw.get("required", True)),
            "deferrable": bool(raw.get("deferrable", False)),
            "commitment_replaces": bool(raw.get("commitment_replaces", False)),
            "originals": _count(raw.get("originals", 0), "originals"),
            "copies": _count(raw.get("copies", 0), "copies"),
        }
        for key in _MATERIAL_TEXT_FIELDS:
            material[key] = _text(raw.get(key))
        material["accepts_results"] = _accepted_results(
            raw.get("accepts_results"), position
        )
        _check_lengths(MaterialRequirement, material)
        materials.append(material)

    return sorted(materials, key=lambda material: material["order"])


def _accepted_results(value: Any, position: int) -> list[str]:
    """Read which other items' results a material is: names or item codes."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _RowError(
            gettext(
                "Material %(number)s: the results it accepts must be a list of "
                "names or item codes."
            )
            % {"number": position}
        )
    return [text for text in (v.strip() for v in value) if text]


def _item_type(value: str) -> str:
    value = value.strip()
    if value in ItemType.values:
        return value
    by_label = {label: code for code, label in ItemType.choices}
    if value in by_label:
        return by_label[value]
    raise _RowError(gettext("The item type %(value)s is unknown.") % {"value": value})


def _count(value: Any, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _RowError(
            gettext("The field %(field)s must be a whole number, 0 or more.")
            % {"field": name}
        )
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _check_lengths(model: type[models.Model], values: dict[str, Any]) -> None:
    for name, value in values.items():
        model_field = model._meta.get_field(name)
        limit = getattr(model_field, "max_length", None)
        if limit and isinstance(value, str) and len(value) > limit:
            raise _RowError(
                gettext("%(field)s is longer than %(max)s characters.")
                % {"field": getattr(model_field, "verbose_name", name), "max": limit}
            )

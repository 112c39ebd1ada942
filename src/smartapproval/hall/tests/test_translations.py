"""Every message of every app is translated to Simplified Chinese."""

import gettext
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[2]
PO_FILES = sorted(
    [
        *PACKAGE_DIR.glob("locale/zh_Hans/LC_MESSAGES/django.po"),
        *PACKAGE_DIR.glob("*/locale/zh_Hans/LC_MESSAGES/django.po"),
    ]
)


def _unquote(line: str) -> str:
    text = line[line.index('"') + 1 : line.rindex('"')]
    return (
        text.replace("\\n", "\n")
        .replace("\\t", "\t")
        .replace('\\"', '"')
        .replace("\\\\", "\\")
    )


def po_entries(path: Path) -> list[dict]:
    """Parse a .po file into entries: context, ids, strings and flags.

    An entry starts at a comment or a msgctxt/msgid line that follows a
    msgstr, so entries need not be separated by blank lines (makemessages
    sometimes leaves none after the header). The header and obsolete
    entries (``#~``) are left out.
    """
    entries: list[dict] = []
    entry: dict = {}
    key = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        has_msgstr = any(name.startswith("msgstr") for name in entry)
        if has_msgstr and line.startswith(("#", "msgctxt", "msgid ")):
            entries.append(entry)
            entry, key = {}, None
        if line.startswith("#~"):
            entry["obsolete"] = True
        elif line.startswith("#,"):
            entry.setdefault("flags", set()).update(
                flag.strip() for flag in line[2:].split(",")
            )
        elif line.startswith("#"):
            continue
        elif line.startswith('"') and key:
            entry[key] += _unquote(line)
        else:
            key = line.split(" ", 1)[0]
            entry[key] = _unquote(line)
    entries.append(entry)

    return [
        {"flags": set(), **e}
        for e in entries
        if e.get("msgid") and not e.get("obsolete")
    ]


def test_there_are_translation_files_to_check():
    assert PO_FILES, "no django.po found under src/smartapproval"


@pytest.mark.parametrize(
    "path", PO_FILES, ids=[str(p.relative_to(PACKAGE_DIR)) for p in PO_FILES]
)
def test_every_message_is_translated_and_not_fuzzy(path):
    problems = []
    for entry in po_entries(path):
        label = entry["msgid"][:60]
        if "fuzzy" in entry["flags"]:
            problems.append(f"fuzzy: {label}")
        strings = [value for key, value in entry.items() if key.startswith("msgstr")]
        if not strings or not all(strings):
            problems.append(f"untranslated: {label}")

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path", PO_FILES, ids=[str(p.relative_to(PACKAGE_DIR)) for p in PO_FILES]
)
def test_compiled_catalogue_matches_the_po_file(path):
    mo_path = path.with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path.name} missing: run compilemessages"
    with mo_path.open("rb") as handle:
        catalogue = gettext.GNUTranslations(handle)

    stale = []
    for entry in po_entries(path):
        if "msgid_plural" in entry:
            continue
        msgid = entry["msgid"]
        if "msgctxt" in entry:
            got = catalogue.pgettext(entry["msgctxt"], msgid)
        else:
            got = catalogue.gettext(msgid)
        if got != entry.get("msgstr"):
            stale.append(msgid[:60])

    assert not stale, "compile the .po again: " + "\n".join(stale)

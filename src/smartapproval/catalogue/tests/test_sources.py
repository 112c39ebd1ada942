"""Reading catalogue sources: code parsing and fingerprints."""

from pathlib import Path

import pytest

from smartapproval.catalogue import sources


@pytest.mark.parametrize(
    ("code", "basic", "region", "body"),
    [
        (
            "511A0138000000-511602000000-000-115113010833722043-1-00",
            "511A0138000000",
            "511602",
            "115113010833722043",
        ),
        (
            "G-000007-001-511602000000-000-115113010833722043-1-00",
            "G-000007-001",
            "511602",
            "115113010833722043",
        ),
        (
            "512C0107400001-511602000000-000-00877868-5-1-00",
            "512C0107400001",
            "511602",
            "00877868-5",
        ),
        (
            "511F0167300000-511602000000-000-45225901-3-2-00",
            "511F0167300000",
            "511602",
            "45225901-3",
        ),
        ("E-000004-001-11511301008778386B", "E-000004-001", "", "11511301008778386B"),
    ],
)
def test_item_code_parts(code, basic, region, body):
    parts = sources.parse_item_code(code)

    assert (parts.basic_code, parts.region_code, parts.body_code) == (
        basic,
        region,
        body,
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("511602000000", "511602"),
        ("511602", "511602"),
        ("511602001000", "511602001000"),
    ],
)
def test_county_division_code_is_shortened_to_six_digits(value, expected):
    assert sources.normalize_region(value) == expected


def test_fingerprint_ignores_key_order_but_not_values():
    first = sources.fingerprint("json", {"a": 1, "b": [1, 2]})

    assert first == sources.fingerprint("json", {"b": [1, 2], "a": 1})
    assert first != sources.fingerprint("json", {"a": 2, "b": [1, 2]})
    assert first != sources.fingerprint("csv", {"a": 1, "b": [1, 2]})


def test_type_table_must_match_the_known_types():
    batch = sources.read_csv("code,name\n1,行政许可\n2,行政审批\n", source="t.csv")

    assert [(e.row, e.message) for e in batch.errors] == [
        (3, "事项类型 2 行政审批 不是已知类型。")
    ]


def test_shipped_type_table_matches():
    path = Path(__file__).resolve().parent.parent / "data" / "item-types.csv"

    assert sources.read_source(path).errors == []

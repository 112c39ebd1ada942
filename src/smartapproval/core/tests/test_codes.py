import csv
import re
from datetime import datetime
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import translation

from smartapproval.core import codes
from smartapproval.core.codes import (
    check_project_code,
    check_resident_id,
    check_uscc,
    known_region_codes,
)

DATA = Path(__file__).resolve().parent / "data" / "uscc-real.csv"
SHARED = Path(settings.BASE_DIR).parent / "shared" / "data" / "codes" / "uscc-real.csv"
CJK = re.compile(r"[\u4e00-\u9fff]")


def _rows():
    # The shipped copy always; the shared original too when it sits next to
    # the repository, so a change there shows up here.
    sources = [DATA] + ([SHARED] if SHARED.exists() else [])
    params = []
    for source in sources:
        with source.open(encoding="utf-8") as handle:
            params += [
                pytest.param(row, id=f"{source.parent.name}:{row['code']}")
                for row in csv.DictReader(handle)
            ]
    return params


def _beijing_now(year, month, day):
    moment = datetime(year, month, day, 10, tzinfo=ZoneInfo("Asia/Shanghai"))
    return mock.patch("django.utils.timezone.now", return_value=moment)


@pytest.fixture(autouse=True)
def _chinese():
    with translation.override("zh-hans"):
        yield


# Credit codes: real input


@pytest.mark.parametrize("row", _rows())
def test_real_credit_code_gets_the_expected_verdict(row):
    result = check_uscc(row["code"])

    if row["expected"] == "invalid":
        assert not result.valid
        assert result.message
    else:
        assert result.valid, result.message
        assert result.normalized == row["code"].upper()
        assert result.message == ""
        assert result.warnings == []


def test_copy_of_real_codes_is_complete():
    with DATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    assert len(rows) == 50
    assert {row["expected"] for row in rows} == {
        "valid",
        "valid_after_uppercase",
        "invalid",
    }


def test_lowercase_credit_code_is_valid_and_normalised_to_upper_case():
    result = check_uscc("11511301452259996u")

    assert result.valid
    assert result.normalized == "11511301452259996U"


def test_department_code_that_is_not_a_credit_code_names_character_1():
    result = check_uscc("TE5116020105116050")

    assert not result.valid
    assert "第1位登记管理部门代码“T”无效" in result.message


# Credit codes: case 6, check character arithmetic


def test_case_6a_remainder_zero_gives_check_character_0():
    result = check_uscc("91320505MA1F0M2E40")

    assert result.valid, result.message
    assert codes.uscc_check_char("91320505MA1F0M2E4") == "0"


def test_case_6b_check_character_uses_the_31_symbol_alphabet():
    result = check_uscc("91320505MA1EUHUX78")

    assert result.valid, result.message
    assert codes.uscc_check_char("91320505MA1EUHUX7") == "8"


def test_case_6c_wrong_check_character_is_refused_with_the_right_one():
    result = check_uscc("91320505MA1EUHUX70")

    assert not result.valid
    assert result.message == "统一社会信用代码第18位校验码错误，应为 8"


def test_case_6_made_up_codes_warn_about_the_organisation_code():
    # The made-up codes of case 6 do not carry a GB 11714 check digit at
    # position 17; the licence is the authority, so this only warns.
    result = check_uscc("91320505MA1F0M2E40")

    assert result.valid
    assert result.warnings == [
        "统一社会信用代码第9–17位组织机构代码“MA1F0M2E4”未通过 GB 11714 校验，"
        "请与证照核对"
    ]


# Credit codes: case 8, format-only checks


def test_case_8a_all_ones_is_refused_for_its_check_character():
    result = check_uscc("111111111111111111")

    assert not result.valid
    assert "统一社会信用代码第18位校验码错误，应为 5" in result.message


def test_case_8b_resident_id_in_credit_code_field_is_refused_and_warned():
    result = check_uscc("36010219970220013X")

    assert not result.valid
    assert "第2位机构类别代码“6”无效" in result.message
    assert "司法行政" in result.message
    assert "这看起来是身份证号，不是统一社会信用代码，请核对" in result.warnings


def test_case_8c_checksum_is_right_but_region_111111_does_not_exist():
    assert codes.uscc_check_char("11111111111111111") == "5"

    result = check_uscc("111111111111111115")

    assert not result.valid
    assert result.message == "统一社会信用代码第3–8位行政区划码“111111”不存在"


def test_valid_credit_code_that_is_also_a_valid_resident_id_is_warned():
    # 131101 (衡水市辖区) + 19…: positions 3-8 read 110119 (延庆区), so this
    # made-up ID is also a valid credit code of department 1, category 3.
    value = "13110119800101020X"
    assert check_resident_id(value).valid

    result = check_uscc(value)

    assert result.valid
    assert "这看起来是身份证号，不是统一社会信用代码，请核对" in result.warnings


@pytest.mark.parametrize(
    ("department", "category", "valid"),
    [
        ("1", "1", True),
        ("1", "3", True),
        ("1", "4", False),
        ("3", "5", True),
        ("3", "6", False),
        ("5", "3", True),
        ("7", "2", True),
        ("7", "3", False),
        ("9", "3", True),
        ("9", "9", False),
        ("A", "1", True),
        ("N", "3", True),
        ("Y", "1", True),
        ("Y", "2", False),
        ("B", "1", False),
    ],
)
def test_department_and_category_pairs_follow_gb_32100(department, category, valid):
    body = f"{department}{category}511602MA62X0QW"
    body += codes.organisation_check_char(body[8:16])
    value = body + codes.uscc_check_char(body)

    result = check_uscc(value)

    assert result.valid is valid, result.message


@pytest.mark.parametrize(
    ("region", "valid"),
    [
        ("511602", True),  # county: 广安区
        ("511601", True),  # 市辖区 of a prefecture
        ("511600", True),  # prefecture: 广安市
        ("510000", True),  # province: 四川省
        ("511301", True),  # 南充市辖区, used by the real codes
        ("512201", True),  # historic: 万县地区, gone since 1997
        ("100000", True),  # national registration
        ("111111", False),
        ("990000", False),
    ],
)
def test_credit_code_region_must_exist_at_some_level(region, valid):
    body = f"91{region}MA62X0QW"
    body += codes.organisation_check_char(body[8:16])
    value = body + codes.uscc_check_char(body)

    result = check_uscc(value)

    assert result.valid is valid, result.message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "请填写统一社会信用代码"),
        ("9151160", "统一社会信用代码应为18位，当前为7位"),
        ("91511602MA62X0QW1I", "统一社会信用代码第18位“I”无效"),
        ("91511602MA6ZX0QW1A", "统一社会信用代码第12位“Z”无效"),
    ],
)
def test_malformed_credit_code_names_the_problem(value, message):
    result = check_uscc(value)

    assert not result.valid
    assert result.message.startswith(message)


def test_credit_code_with_spaces_and_full_width_characters_is_normalised():
    result = check_uscc(" 9144 0300 7084 6113 6Ｔ ")

    assert result.valid
    assert result.normalized == "91440300708461136T"


def test_prefecture_codes_are_derived_from_their_counties():
    regions = known_region_codes()

    assert {"511600", "511601", "511602", "510000"} <= regions
    assert all(code[:4] + "00" in regions for code in regions)
    assert all(code[:2] + "0000" in regions for code in regions)


# Resident ID numbers


def test_resident_id_of_case_8b_is_a_valid_resident_id():
    result = check_resident_id("36010219970220013X")

    assert result.valid
    assert result.message == ""


def test_resident_id_lowercase_x_and_spaces_are_normalised():
    result = check_resident_id(" 360102 19970220 013x ")

    assert result.valid
    assert result.normalized == "36010219970220013X"


def test_resident_id_with_wrong_check_character_names_the_right_one():
    result = check_resident_id("360102199702200131")

    assert not result.valid
    assert result.message == "身份证号第18位校验码错误，应为 X"


def test_resident_id_with_impossible_date_names_the_date():
    body = "36010219990230001"
    result = check_resident_id(body + codes.resident_check_char(body))

    assert not result.valid
    assert result.message == "身份证号第7–14位出生日期“19990230”不是有效日期"


def test_resident_id_born_tomorrow_is_refused_and_today_is_accepted():
    tomorrow = "36010220240602001"
    today = "36010220240601001"

    with _beijing_now(2024, 6, 1):
        late = check_resident_id(tomorrow + codes.resident_check_char(tomorrow))
        now = check_resident_id(today + codes.resident_check_char(today))

    assert not late.valid
    assert late.message == "身份证号第7–14位出生日期 2024-06-02 晚于今天"
    assert now.valid, now.message


def test_resident_id_born_before_1900_is_refused():
    body = "36010218991231001"
    result = check_resident_id(body + codes.resident_check_char(body))

    assert not result.valid
    assert "早于1900年" in result.message


def test_resident_id_with_unknown_region_names_the_address_code():
    body = "99999919900101001"
    result = check_resident_id(body + codes.resident_check_char(body))

    assert not result.valid
    assert result.message == "身份证号第1–6位地址码“999999”不存在"


def test_resident_id_with_historic_region_is_accepted():
    # 512201 was a city district of 万县 (1992-1997), now in Chongqing.
    body = "51220119700101001"
    result = check_resident_id(body + codes.resident_check_char(body))

    assert result.valid, result.message


def test_resident_id_of_taiwan_residence_permit_is_accepted():
    body = "83000019900101001"
    result = check_resident_id(body + codes.resident_check_char(body))

    assert result.valid, result.message


def test_resident_id_with_several_faults_names_each():
    result = check_resident_id("999999199902300000")

    assert not result.valid
    assert "地址码“999999”不存在" in result.message
    assert "出生日期“19990230”不是有效日期" in result.message
    assert "第18位校验码错误" in result.message
    assert result.message.count("；") == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "请填写身份证号"),
        ("360102970220013", "这是15位的旧身份证号，请填写18位公民身份号码"),
        ("3601021997022001", "身份证号应为18位，当前为16位"),
        ("36010219970220A13X", "身份证号前17位应全部为数字"),
        ("36010219970220013Y", "身份证号第18位应为数字或 X"),
    ],
)
def test_malformed_resident_id_names_the_problem(value, message):
    result = check_resident_id(value)

    assert not result.valid
    assert result.message == message


# Investment project codes


@pytest.mark.parametrize(
    "value",
    [
        "2020-511602-44-01-012345",
        "20205116024401012345",
        "2020－511602－44－01－012345",
    ],
)
def test_project_code_of_the_right_form_is_valid_and_hyphenated(value):
    result = check_project_code(value)

    assert result.valid, result.message
    assert result.normalized == "2020-511602-44-01-012345"


def test_project_code_names_each_wrong_part():
    result = check_project_code("2020-51160-44-1-012345")

    assert not result.valid
    assert "第2段（行政区划码）应为6位数字，当前为“51160”" in result.message
    assert "第4段（项目类型代码）应为2位数字，当前为“1”" in result.message


def test_project_code_with_wrong_number_of_parts_shows_the_form():
    result = check_project_code("2020-511602-44")

    assert not result.valid
    assert "2020-511602-44-01-012345" in result.message


def test_project_code_with_unknown_region_is_valid_but_warned():
    result = check_project_code("2020-111111-44-01-012345")

    assert result.valid
    assert result.warnings == ["投资项目代码中的行政区划码“111111”不存在，请核对"]


def test_empty_project_code_asks_for_one():
    assert check_project_code("  ").message == "请填写投资项目代码"


# Translations


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12",
        "360102970220013",
        "36010219970220A13X",
        "36010219970220013Y",
        "999999199902300000",
        "360102180002300000",
    ],
)
def test_every_resident_id_message_is_translated(value):
    result = check_resident_id(value)

    assert CJK.search(result.message), result.message


@pytest.mark.parametrize(
    "value",
    [
        "",
        "12",
        "91511602MA62X0QW1I",
        "TE5116020105116050",
        "36010219970220013X",
        "111111111111111111",
        "91320505MA1F0M2E40",
    ],
)
def test_every_credit_code_message_is_translated(value):
    result = check_uscc(value)

    assert result.message or result.warnings
    for text in filter(None, [result.message, *result.warnings]):
        assert CJK.search(text), text


def test_every_code_message_is_translated():
    # The messages live in the parties catalogue (see parties/locale/README);
    # a makemessages run that drops them must not go unnoticed.
    for name in codes.USCC_DEPARTMENT_NAMES.values():
        assert CJK.search(str(name)), name
    for _pattern, name, form in codes._PROJECT_SEGMENTS:
        assert CJK.search(str(name)), name
        assert CJK.search(str(form)), form
    for value in ["", "1-2", "2020-1-2-3-4", "2020-111111-44-01-012345"]:
        result = check_project_code(value)
        for text in [result.message, *result.warnings]:
            assert not text or CJK.search(text), text


@pytest.mark.parametrize("region", ["320594", "320571"])
def test_development_zone_region_of_a_known_prefecture_is_valid_but_warned(region):
    # 苏州工业园区 registers under codes GB/T 2260 does not list.
    body = f"91{region}MA1MXX0Q"
    body += codes.organisation_check_char(body[8:16])
    value = body + codes.uscc_check_char(body)

    result = check_uscc(value)

    assert result.valid is True
    assert any("GB/T 2260" in warning for warning in result.warnings)


def test_unknown_county_of_an_unknown_prefecture_is_still_refused():
    body = "91119994MA1MXX0Q"
    body += codes.organisation_check_char(body[8:16])

    result = check_uscc(body + codes.uscc_check_char(body))

    assert result.valid is False
    assert "119994" in result.message

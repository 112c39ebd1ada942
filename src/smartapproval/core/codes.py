"""Check resident ID numbers, credit codes and investment project codes.

Each check normalises what the user typed (full-width characters, spaces,
lower case), then says whether the code is valid and, if not, which part is
wrong, in the active language (Chinese by default). Warnings point at things
that are allowed but worth a second look; they never make a code invalid.

Rules applied:

* resident ID number (GB 11643-1999): 17 digits and a MOD 11-2 check
  character (digit or X); the address code must be a region code that exists
  or existed; the birth date must be a real date, not before 1900 and not
  after today (Beijing date);
* unified social credit code (GB 32100-2015): 18 characters of the 31-symbol
  alphabet; a registration department and organisation category pair from
  the standard's table; a region code that exists or existed; the MOD 31
  check character. The GB 11714 check of the organisation code (positions
  9–17) only warns: every real code in our sample passes it, but the code
  printed on the licence is the authority, and the MOD 31 check character
  already catches typing errors;
* investment project code (GB/T 40058-2021): form only, five segments.
"""

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from stdnum import numdb

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CodeCheck:
    """The outcome of a code check.

    ``normalized`` is the code as it should be stored (upper case, no
    spaces); ``message`` is empty for a valid code and otherwise names every
    wrong part; ``warnings`` are for the user to confirm.
    """

    valid: bool
    normalized: str
    message: str = ""
    warnings: list[str] = field(default_factory=list)


def normalize_code(value: str | None) -> str:
    """Fold full-width characters, drop whitespace and upper-case the value."""
    if not value:
        return ""
    folded = unicodedata.normalize("NFKC", str(value))
    return "".join(folded.split()).upper()


def _result(normalized: str, errors: list[str], warnings: list[str]) -> CodeCheck:
    separator = pgettext("between two error messages", " ")
    return CodeCheck(
        valid=not errors,
        normalized=normalized,
        message=separator.join(str(error) for error in errors),
        warnings=[str(warning) for warning in warnings],
    )


# Region codes (GB/T 2260)


# Region codes that are not administrative divisions but appear in valid
# codes: 100000 is the registration authority at national level in credit
# codes of central bodies; 830000 is the address code of residence permits
# for Taiwan residents (810000 and 820000 are in the division table).
_USCC_EXTRA_REGIONS = frozenset({"100000"})
_RESIDENT_EXTRA_REGIONS = frozenset({"830000"})


@functools.cache
def known_region_codes() -> frozenset[str]:
    """Return every six-digit region code that exists or ever existed.

    The table is python-stdnum's ``cn/loc`` (the Wikipedia lists of GB/T
    2260 codes since 1980), which holds provinces (``510000``), prefectures
    (``511600``), their ``01`` city districts (``511601``) and counties.
    A prefecture ``XXYY00`` with at least one county ``XXYYzz`` counts even if
    a future edition of the table leaves it out, and so does a province.
    """
    codes: set[str] = set()
    for _length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        for province in _expand(low, high):
            for _length2, low2, high2, _props2, _children2 in children:
                codes.update(province + rest for rest in _expand(low2, high2))

    derived = {code[:4] + "00" for code in codes} | {
        code[:2] + "0000" for code in codes
    }
    return frozenset(codes | derived)


@functools.cache
def _resident_regions() -> frozenset[str]:
    return known_region_codes() | _RESIDENT_EXTRA_REGIONS


@functools.cache
def _in_known_prefecture(region: str) -> bool:
    """Tell whether ``region`` is a county code under a known prefecture."""
    return region[4:] != "00" and f"{region[:4]}00" in known_region_codes()


def _uscc_regions() -> frozenset[str]:
    return known_region_codes() | _USCC_EXTRA_REGIONS


def _expand(low: str, high: str) -> list[str]:
    if low == high:
        return [low]
    width = len(low)
    return [str(n).zfill(width) for n in range(int(low), int(high) + 1)]


# Resident ID numbers (GB 11643-1999)


_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_CHECK = "10X98765432"


def resident_check_char(body: str) -> str:
    """Return the MOD 11-2 check character for the first 17 digits."""
    total = sum(
        int(char) * weight for char, weight in zip(body, _RESIDENT_WEIGHTS, strict=True)
    )
    return _RESIDENT_CHECK[total % 11]


def _beijing_today() -> date:
    return timezone.localdate(timezone=BEIJING)


def check_resident_id(value: str) -> CodeCheck:
    """Check a resident ID number (公民身份号码, GB 11643-1999)."""
    code = normalize_code(value)
    if not code:
        return _result(code, [_("Enter the resident ID number.")], [])
    if len(code) == 15 and code.isdigit():
        return _result(
            code,
            [
                _(
                    "This is an old 15-digit ID number; enter the 18-digit "
                    "resident ID number."
                )
            ],
            [],
        )
    if len(code) != 18:
        return _result(
            code,
            [
                _("A resident ID number has 18 characters, not %(count)d.")
                % {"count": len(code)}
            ],
            [],
        )
    if not code[:17].isascii() or not code[:17].isdigit():
        return _result(
            code, [_("Characters 1–17 of a resident ID number must be digits.")], []
        )
    if code[17] not in "0123456789X":
        return _result(
            code,
            [_("Character 18 of a resident ID number must be a digit or X.")],
            [],
        )

    errors = []
    region = code[:6]
    if region not in _resident_regions():
        errors.append(
            _("The address code “%(code)s” (characters 1–6) does not exist.")
            % {"code": region}
        )
    errors.extend(_birth_date_errors(code[6:14]))
    expected = resident_check_char(code[:17])
    if code[17] != expected:
        errors.append(
            _(
                "The check character (character 18) of the resident ID number "
                "is wrong; it should be %(expected)s."
            )
            % {"expected": expected}
        )

    return _result(code, errors, [])


def _birth_date_errors(digits: str) -> list[str]:
    try:
        born = date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return [
            _("The birth date “%(value)s” (characters 7–14) is not a real date.")
            % {"value": digits}
        ]
    if born.year < 1900:
        return [
            _("The birth date %(date)s (characters 7–14) is before 1900.")
            % {"date": born.isoformat()}
        ]
    if born > _beijing_today():
        return [
            _("The birth date %(date)s (characters 7–14) is in the future.")
            % {"date": born.isoformat()}
        ]
    return []


# Unified social credit codes (GB 32100-2015)


USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# Registration department (position 1) and the organisation categories
# (position 2) each may register, from GB 32100-2015 with amendment No. 1
# (2016), table 1 "登记管理部门和机构类别代码". Checked on 2026-12-03 against
# the table as published by the national organisation code centre and
# reproduced e.g. at https://osuse.cn/post/10002590.html: religion (7) has
# categories 1 (宗教活动场所), 2 (宗教院校) and 9 only, and justice (3) has
# no category 6.
USCC_CATEGORIES = {
    "1": "1239",  # 机构编制: 机关, 事业单位, 群众团体, 其他
    "2": "19",  # 外交: 外国常驻新闻机构, 其他
    "3": "123459",  # 司法行政: 律师, 公证, 基层法律服务, 司法鉴定, 仲裁, 其他
    "4": "19",  # 文化: 外国在华文化中心, 其他
    "5": "1239",  # 民政: 社会团体, 民办非企业单位, 基金会, 其他
    "6": "129",  # 旅游: 外国/港澳台旅游部门常驻代表机构, 其他
    "7": "129",  # 宗教: 宗教活动场所, 宗教院校, 其他
    "8": "19",  # 工会: 基层工会, 其他
    "9": "123",  # 工商: 企业, 个体工商户, 农民专业合作社
    "A": "19",  # 中央军委改革和编制办公室: 军队事业单位, 其他
    "N": "1239",  # 农业: 组级, 村级, 乡镇级集体经济组织, 其他
    "Y": "1",  # 其他
}
USCC_DEPARTMENT_NAMES = {
    "1": pgettext_lazy("USCC registration department", "organisation establishment"),
    "2": pgettext_lazy("USCC registration department", "foreign affairs"),
    "3": pgettext_lazy("USCC registration department", "justice administration"),
    "4": pgettext_lazy("USCC registration department", "culture"),
    "5": pgettext_lazy("USCC registration department", "civil affairs"),
    "6": pgettext_lazy("USCC registration department", "tourism"),
    "7": pgettext_lazy("USCC registration department", "religious affairs"),
    "8": pgettext_lazy("USCC registration department", "trade unions"),
    "9": pgettext_lazy("USCC registration department", "industry and commerce"),
    "A": pgettext_lazy(
        "USCC registration department",
        "Central Military Commission establishment office",
    ),
    "N": pgettext_lazy("USCC registration department", "agriculture"),
    "Y": pgettext_lazy("USCC registration department", "other"),
}


def uscc_check_char(body: str) -> str:
    """Return the MOD 31 check character for the first 17 characters."""
    total = sum(
        USCC_ALPHABET.index(char) * weight
        for char, weight in zip(body, _USCC_WEIGHTS, strict=True)
    )
    return USCC_ALPHABET[(31 - total % 31) % 31]


def organisation_check_char(body: str) -> str:
    """Return the GB 11714 check character for an 8-character code body."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(
        int(char, 36) * weight for char, weight in zip(body, weights, strict=True)
    )
    remainder = 11 - total % 11
    return {10: "X", 11: "0"}.get(remainder, str(remainder))


def check_uscc(value: str) -> CodeCheck:
    """Check a unified social credit code (统一社会信用代码, GB 32100-2015)."""
    code = normalize_code(value)
    if not code:
        return _result(code, [_("Enter the unified social credit code.")], [])
    if len(code) != 18:
        return _result(
            code,
            [
                _("A unified social credit code has 18 characters, not %(count)d.")
                % {"count": len(code)}
            ],
            [],
        )
    for position, char in enumerate(code, start=1):
        if char not in USCC_ALPHABET:
            return _result(
                code,
                [
                    _(
                        "Character %(position)d “%(char)s” cannot appear in a "
                        "unified social credit code (digits and capital letters "
                        "except I, O, Z, S and V)."
                    )
                    % {"position": position, "char": char}
                ],
                [],
            )

    errors = []
    warnings = []
    department, category, region = code[0], code[1], code[2:8]
    if department not in USCC_CATEGORIES:
        errors.append(
            _("The registration department code “%(char)s” (character 1) is not valid.")
            % {"char": department}
        )
    elif category not in USCC_CATEGORIES[department]:
        errors.append(
            _(
                "The organisation category code “%(char)s” (character 2) does not "
                "exist for registration department %(department)s (%(name)s)."
            )
            % {
                "char": category,
                "department": department,
                "name": USCC_DEPARTMENT_NAMES[department],
            }
        )
    region_known = region in _uscc_regions()
    if not region_known and not _in_known_prefecture(region):
        errors.append(
            _("The region code “%(code)s” (characters 3–8) does not exist.")
            % {"code": region}
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        errors.append(
            _(
                "The check character (character 18) of the unified social credit "
                "code is wrong; it should be %(expected)s."
            )
            % {"expected": expected}
        )

    organisation = code[8:17]
    if not errors and organisation_check_char(organisation[:8]) != organisation[8]:
        warnings.append(
            _(
                "The organisation code “%(code)s” (characters 9–17) fails the "
                "GB 11714 check; compare it with the licence."
            )
            % {"code": organisation}
        )
    if not region_known and not errors:
        # Development zones (苏州工业园区 320594, say) register bodies under
        # codes of their own that GB/T 2260 does not list; real codes carry
        # them, so an unknown county inside a known prefecture only warns.
        warnings.append(
            _(
                "The region code “%(code)s” (characters 3–8) is not in GB/T 2260; "
                "it may be a development zone's code. Compare it with the licence."
            )
            % {"code": region}
        )
    # A resident ID typed into the credit-code field can pass both checksums
    # (case 8b); make the user look again before it is stored.
    if check_resident_id(code).valid:
        warnings.append(
            _("This looks like a resident ID number, not a unified social credit code.")
        )

    return _result(code, errors, warnings)


# Investment project codes (GB/T 40058-2021)


_PROJECT_SEGMENTS = (
    (
        re.compile(r"\d{4}"),
        pgettext_lazy("project code part", "year"),
        gettext_lazy("4 digits"),
    ),
    (
        re.compile(r"\d{6}"),
        pgettext_lazy("project code part", "region code"),
        gettext_lazy("6 digits"),
    ),
    (
        re.compile(r"\d{2}"),
        pgettext_lazy("project code part", "industry code"),
        gettext_lazy("2 digits"),
    ),
    (
        re.compile(r"\d{2}"),
        pgettext_lazy("project code part", "project type code"),
        gettext_lazy("2 digits"),
    ),
    (
        re.compile(r"[0-9A-Z]{6}"),
        pgettext_lazy("project code part", "serial number"),
        gettext_lazy("6 digits or capital letters"),
    ),
)


def check_project_code(value: str) -> CodeCheck:
    """Check the form of an investment project code (投资项目代码).

    The form is year-region-industry-type-serial, for example
    ``2020-511602-44-01-012345``; the code may be typed without hyphens.
    Only the form is checked: the national platform that assigns the codes
    is the authority on whether one exists. An unknown region code warns.
    """
    code = normalize_code(value).replace("—", "-").replace("–", "-")
    if not code:
        return _result(code, [_("Enter the investment project code.")], [])
    if "-" not in code and len(code) == 20:
        code = "-".join((code[:4], code[4:10], code[10:12], code[12:14], code[14:]))
    parts = code.split("-")
    if len(parts) != len(_PROJECT_SEGMENTS):
        return _result(
            code,
            [
                _(
                    "An investment project code has five parts, "
                    "year-region-industry-type-serial, for example "
                    "2020-511602-44-01-012345."
                )
            ],
            [],
        )

    errors = []
    warnings = []
    for number, (part, (pattern, name, form)) in enumerate(
        zip(parts, _PROJECT_SEGMENTS, strict=True), start=1
    ):
        if not pattern.fullmatch(part):
            errors.append(
                _(
                    "Part %(number)d of the project code (%(name)s) should be "
                    "%(form)s, not “%(value)s”."
                )
                % {"number": number, "name": name, "form": form, "value": part}
            )
    if not errors and parts[1] not in known_region_codes():
        warnings.append(
            _("The region code “%(code)s” in the project code does not exist.")
            % {"code": parts[1]}
        )

    return _result(code, errors, warnings)

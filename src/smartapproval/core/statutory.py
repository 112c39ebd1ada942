"""Statutory holidays of a year whose official schedule is not known yet.

The Regulations on National Annual and Commemorative Holidays (全国年节及纪念日
放假办法), as revised in 2024 and in force from 2025, give every citizen 13
days off: 元旦 1 day (1 January), 春节 4 days (除夕 to 正月初三), 清明节 1 day
(the day of the Qingming solar term), 劳动节 2 days (1 and 2 May), 端午节 1 day
(五月初五), 中秋节 1 day (八月十五) and 国庆节 3 days (1 to 3 October).

What the regulations leave to the State Council's yearly notice stays unknown
until that notice is imported: the days given in lieu of a holiday that falls
on a weekend (art. 6) and the weekends turned into working days. A year
computed here therefore has statutory days off and weekends only, and every
date in it is provisional. Deliberate simplification: the 2024 rules are
applied to any year without an official schedule, including years before
2025, which only lack one when an administrator removed it.

Lunar dates come from the ``lunar_python`` package (MIT), which is not a
declared dependency yet. Without it the three lunar holidays cannot be placed:
they are left out, the gap is logged once per year, and the year stays
provisional like any other computed year.
"""

import datetime
import functools
from dataclasses import dataclass

import structlog
from chinese_calendar import get_solar_terms

log = structlog.get_logger(__name__)

NEW_YEAR = "元旦"
SPRING_FESTIVAL = "春节"
QINGMING = "清明节"
LABOUR_DAY = "劳动节"
DRAGON_BOAT = "端午节"
MID_AUTUMN = "中秋节"
NATIONAL_DAY = "国庆节"

# get_solar_terms covers these years; the lunar package covers more.
FIRST_COMPUTABLE_YEAR = 1901
LAST_COMPUTABLE_YEAR = 2100


class LunarCalendarUnavailableError(RuntimeError):
    """No lunar calendar package is installed to place the lunar holidays."""


@dataclass(frozen=True)
class StatutoryYear:
    """The statutory days off of one year, by date, with their names."""

    year: int
    holidays: dict[datetime.date, str]
    lunar_holidays_known: bool


def lunar_to_gregorian(year: int, month: int, day: int) -> datetime.date:
    """Return the Gregorian date of a day of a (non-leap) lunar month."""
    try:
        from lunar_python import Lunar
    except ImportError as exc:
        raise LunarCalendarUnavailableError(
            "install lunar_python to compute lunar holidays"
        ) from exc

    solar = Lunar.fromYmd(year, month, day).getSolar()

    return datetime.date(solar.getYear(), solar.getMonth(), solar.getDay())


def qingming_day(year: int) -> datetime.date:
    """Return the day of the Qingming solar term (4 or 5 April, Beijing)."""
    terms = get_solar_terms(datetime.date(year, 4, 1), datetime.date(year, 4, 30))
    for day, name in terms:
        if name == "清明":
            return day
    raise LookupError(f"no Qingming term found in April {year}")


@functools.lru_cache(maxsize=256)
def statutory_year(year: int) -> StatutoryYear:
    """Compute the statutory days off of ``year`` under the 2024 rules."""
    if not FIRST_COMPUTABLE_YEAR <= year <= LAST_COMPUTABLE_YEAR:
        raise ValueError(f"statutory holidays are computed for 1901-2100, not {year}")

    days: list[tuple[datetime.date, str]] = [
        (datetime.date(year, 1, 1), NEW_YEAR),
        (qingming_day(year), QINGMING),
        (datetime.date(year, 5, 1), LABOUR_DAY),
        (datetime.date(year, 5, 2), LABOUR_DAY),
        (datetime.date(year, 10, 1), NATIONAL_DAY),
        (datetime.date(year, 10, 2), NATIONAL_DAY),
        (datetime.date(year, 10, 3), NATIONAL_DAY),
    ]
    lunar_known = True
    try:
        # 除夕 is the eve of 正月初一, whether the twelfth month has 29 or 30
        # days; 正月初一 falls between 21 January and 20 February.
        first_day = lunar_to_gregorian(year, 1, 1)
        for offset in range(-1, 3):
            days.append((first_day + datetime.timedelta(days=offset), SPRING_FESTIVAL))
        days.append((lunar_to_gregorian(year, 5, 5), DRAGON_BOAT))
        days.append((lunar_to_gregorian(year, 8, 15), MID_AUTUMN))
    except LunarCalendarUnavailableError:
        lunar_known = False
        log.warning("calendar_lunar_holidays_unknown", year=year)

    holidays: dict[datetime.date, str] = {}
    for day, name in days:
        if day in holidays and name not in holidays[day]:
            # 中秋节 can fall on 1-3 October (as in 2028): one day off, two names.
            holidays[day] = f"{holidays[day]}、{name}"
        else:
            holidays[day] = name

    return StatutoryYear(
        year=year,
        holidays=dict(sorted(holidays.items())),
        lunar_holidays_known=lunar_known,
    )

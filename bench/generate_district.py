"""Generate a district year of applicants and cases for the benchmarks.

    .venv/bin/python bench/generate_district.py --cases 100000 --persons 50000 \\
        --enterprises 8000 --year 2026 --seed 1 [--open-share 0.06] \\
        [--database-url URL] [--replace]

The script migrates its own database (``var/bench/district.sqlite3`` unless
``--database-url`` or ``DATABASE_URL`` names another), seeds the calendar,
imports the catalogue shipped with the catalogue app and publishes most of its
items with bench time limits (legal 20, promised 5 to 15 working days). Then
it writes persons and enterprises of the Suzhou region with valid codes, and
cases over the published items as the district stands at 17:30 on the last
working day of the year: most closed, some in review, suspended or waiting
for a correction, a few refused, withdrawn or terminated.

The rows are fixtures, written with bulk inserts in batches: going through
the services would take hours for 100,000 cases, and the lifecycle
benchmark exercises them instead. Deliberate simplifications: no audit rows
for the generated history (each case gets its timeline), review tasks only
for open cases, no applicant accounts and no material files. Deadlines,
pauses and case numbers follow the project's own rules (``cases.deadlines``
on top of ``core.deadlines``, ``cases.numbering``), so recomputing them
changes nothing until the calendar changes.
"""

import argparse
import bisect
import io
import itertools
import random
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    # Run as a script: make ``bench`` importable from the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

if __name__ == "__main__":
    # Models can only be imported once Django is set up on the bench database.
    _pre = argparse.ArgumentParser(add_help=False)
    common.database_url_argument(_pre)
    common.django_setup(
        common.resolve_database_url(_pre.parse_known_args()[0].database_url)
    )

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.test import override_settings  # noqa: E402
from faker import Faker  # noqa: E402

from smartapproval.accounts.models import (  # noqa: E402
    ApplicantKind,
    Role,
    User,
)
from smartapproval.cases import routes  # noqa: E402
from smartapproval.cases.deadlines import (  # noqa: E402
    ComputedDue,
    case_dues_apply,
    case_dues_compute,
    due_compute,
    pause_working_days,
)
from smartapproval.cases.models import (  # noqa: E402
    Case,
    CaseAction,
    CaseEvent,
    CaseNumberSequence,
    CasePause,
    CaseStatus,
    Channel,
    Decision,
    PauseKind,
    Task,
    TaskOutcome,
    TaskStatus,
)
from smartapproval.cases.numbering import format_case_number  # noqa: E402
from smartapproval.catalogue.models import (  # noqa: E402
    ApplicantScope,
    ItemStatus,
    MaterialRequirement,
    ServiceItem,
)
from smartapproval.core import deadlines as workdays  # noqa: E402
from smartapproval.core.calendar import calendar_snapshot  # noqa: E402
from smartapproval.core.codes import (  # noqa: E402
    organisation_check_char,
    resident_check_char,
    uscc_check_char,
)
from smartapproval.core.models import LimitUnit  # noqa: E402
from smartapproval.parties.models import Enterprise, Person  # noqa: E402

BEIJING = ZoneInfo("Asia/Shanghai")
SHIPPED_CATALOGUE = common.ROOT / "src" / "smartapproval" / "catalogue" / "data"
BATCH_SIZE = 5000
DEFAULT_OPEN_SHARE = 0.06

# Items the bench publishes, and the limits it gives them.
PUBLISHED_SHARE = 0.85
LEGAL_LIMIT_DAYS = 20
PROMISED_LIMIT_DAYS = (5, 15)
PUBLISHED_BEFORE = timedelta(days=45)

PERSON_SHARE = 0.72
ONLINE_SHARE = 0.55
# Zipf exponent of item popularity: a few items take most of the cases.
ITEM_POPULARITY = 1.05

# Intake by weekday (Monday peak); index 5 and 6 are adjusted working
# weekends (调休上班), which are quieter.
WEEKDAY_WEIGHTS = (1.4, 1.1, 1.0, 1.0, 0.85, 0.7, 0.7)
# Intake by half hour from 08:30 to 17:30: morning and afternoon peaks, a
# quieter lunch.
HALF_HOUR_WEIGHTS = (
    0.6, 1.2, 1.5, 1.5, 1.3, 1.0, 0.7, 0.4, 0.4,
    0.6, 0.9, 1.2, 1.3, 1.2, 1.0, 0.8, 0.6, 0.4,
)  # fmt: skip
OPENING = clock_time(8, 30)
CLOSING = clock_time(17, 30)

# Statuses outside the clock as a district sees them at the end of its year;
# they share what --open-share leaves. Open cases are in review or suspended.
SETTLED_MIX = {
    CaseStatus.CLOSED: 91.0,
    CaseStatus.NOT_ACCEPTED: 3.0,
    CaseStatus.WITHDRAWN: 1.8,
    CaseStatus.CORRECTION_REQUESTED: 1.2,
    CaseStatus.RESULT_ISSUED: 0.6,
    CaseStatus.SUBMITTED: 0.6,
    CaseStatus.DECIDED: 0.4,
    CaseStatus.TERMINATED: 0.2,
}
SUSPENDED_SHARE_OF_OPEN = 0.15
DENIED_SHARE = 0.04
PAUSED_SHARE = 0.08

REFUSAL_REASONS = (
    "申请材料不齐全且无法当场补正",
    "申请事项不属于本部门职权范围",
    "申请人不具备申请资格",
    "申请事项依法不需要取得行政许可",
)
DENIAL_REASONS = (
    "不符合法定条件",
    "现场核查不符合要求",
    "申请材料内容与实际情况不符",
)
WITHDRAWAL_REASONS = ("申请人主动撤回", "材料需重新准备", "")
TERMINATION_REASONS = ("申请人死亡或者丧失行为能力", "法人或者其他组织依法终止")
CORRECTION_FALLBACK = "申请书（签字不全）"
PAUSES = {
    PauseKind.CORRECTION: (40, "等待申请人补充材料"),
    PauseKind.EXPERT_REVIEW: (20, "组织专家评审"),
    PauseKind.INSPECTION: (15, "现场勘验核查"),
    PauseKind.TESTING: (10, "产品检验检测"),
    PauseKind.HEARING: (10, "依申请举行听证"),
    PauseKind.OTHER: (5, "其他法定程序"),
}


@dataclass(frozen=True)
class Region:
    """A region code of the Suzhou area, with the years it was in use."""

    code: str
    name: str
    first_year: int
    last_year: int | None
    weight: float


# Address codes of resident ID numbers (GB/T 2260) of Suzhou and its
# counties, with the years each was in use: a number keeps the code of the
# place and year it was first issued. 320571 (苏州工业园区) is not in the
# division table and is refused by core.codes, so it is not used.
RESIDENT_REGIONS = (
    Region("320500", "苏州市", 1983, None, 0.2),
    Region("320502", "沧浪区", 1983, 2012, 0.35),
    Region("320503", "平江区", 1983, 2012, 0.35),
    Region("320504", "金阊区", 1983, 2012, 0.3),
    Region("320505", "虎丘区", 2000, None, 0.8),
    Region("320506", "吴中区", 2000, None, 1.2),
    Region("320507", "相城区", 2000, None, 0.8),
    Region("320508", "姑苏区", 2012, None, 1.0),
    Region("320509", "吴江区", 2012, None, 1.3),
    Region("320511", "郊区", 1983, 2000, 0.4),
    Region("320520", "常熟市", 1983, 1986, 1.5),
    Region("320521", "沙洲县", 1983, 1986, 1.2),
    Region("320522", "太仓县", 1983, 1993, 0.8),
    Region("320523", "昆山县", 1983, 1989, 1.0),
    Region("320524", "吴县", 1983, 1995, 1.2),
    Region("320525", "吴江县", 1983, 1992, 1.3),
    Region("320581", "常熟市", 1989, None, 1.5),
    Region("320582", "张家港市", 1989, None, 1.2),
    Region("320583", "昆山市", 1989, None, 1.6),
    Region("320584", "吴江市", 1992, 2012, 1.3),
    Region("320585", "太仓市", 1993, None, 0.8),
    Region("320586", "吴县市", 1995, 2000, 1.2),
)
# Resident ID numbers were first issued in 1984; a person born earlier has
# the code of the place they lived in then.
FIRST_ISSUE_YEAR = 1984

# Where people and enterprises are today: current districts with a few real
# roads each. 苏州工业园区 appears in addresses, not in codes.
DISTRICTS = {
    "姑苏区": ("320508", ("人民路", "干将西路", "十全街", "凤凰街", "平江路")),
    "吴中区": ("320506", ("东吴北路", "宝带西路", "吴中大道", "越溪路")),
    "相城区": ("320507", ("阳澄湖西路", "相城大道", "华元路", "齐门北大街")),
    "虎丘区": ("320505", ("狮山路", "长江路", "竹园路", "金山路")),
    "吴江区": ("320509", ("中山南路", "鲈乡北路", "仲英大道", "流虹路")),
    "苏州工业园区": ("320500", ("星湖街", "现代大道", "苏州大道东", "金鸡湖大道")),
    "常熟市": ("320581", ("海虞北路", "青墩塘路", "黄河路", "琴川路")),
    "张家港市": ("320582", ("暨阳路", "人民中路", "长安路", "沙洲西路")),
    "昆山市": ("320583", ("前进中路", "人民南路", "马鞍山路", "柏庐路")),
    "太仓市": ("320585", ("上海东路", "县府街", "郑和路", "常胜路")),
}
DISTRICT_WEIGHTS = (1.0, 1.2, 0.8, 0.8, 1.3, 1.0, 1.5, 1.2, 1.6, 0.8)

# USCC registration department and category (GB 32100): enterprises,
# individual businesses, farmers' cooperatives, private non-enterprise units.
USCC_KINDS = (("91", 80), ("92", 15), ("93", 3), ("52", 2))
ORGANISATION_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
INDUSTRIES = (
    "科技", "电子", "机械", "贸易", "建设工程", "物流", "餐饮管理", "纺织",
    "新材料", "医疗器械", "信息技术", "环保科技", "精密制造", "生物科技",
)  # fmt: skip
SHOPS = ("便利店", "餐饮店", "五金店", "美发店", "水果店", "服装店")


@dataclass
class GenerateSummary:
    """What a run wrote."""

    persons: int = 0
    enterprises: int = 0
    items_published: int = 0
    cases: int = 0
    tasks: int = 0
    pauses: int = 0
    events: int = 0
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass
class _Party:
    kind: str
    pk: int
    name: str
    code: str
    phone: str


@dataclass
class _Plan:
    """One case's life in working-day indices of the year, before it is built."""

    status: str
    item: ServiceItem
    party: _Party
    channel: str
    submitted: int
    accepted: int | None = None
    # The working day the case left its status before the current one: the
    # decision, the refusal, the withdrawal, the correction request.
    decided: int | None = None
    issued: int | None = None
    closed: int | None = None
    pause_first: int | None = None
    pause_last: int | None = None
    submitted_at: datetime | None = None


class _Calendar:
    """The working days of the year, read once, with the intake weights."""

    def __init__(self, year: int) -> None:
        days = []
        day = date(year, 1, 1)
        while day.year == year:
            if workdays.is_workday(day):
                days.append(day)
            day += timedelta(days=1)
        self.days = days
        self.last = len(days) - 1
        self.cumulative = list(
            itertools.accumulate(WEEKDAY_WEIGHTS[d.weekday()] for d in days)
        )
        self.slots = list(itertools.accumulate(HALF_HOUR_WEIGHTS))

    def pick(self, rng: random.Random, low: int, high: int) -> int:
        """Pick a working day index in [low, high] by intake weight."""
        low = max(0, min(low, self.last))
        high = max(low, min(high, self.last))
        floor = self.cumulative[low - 1] if low else 0.0
        point = floor + rng.random() * (self.cumulative[high] - floor)
        return min(bisect.bisect_right(self.cumulative, point, low, high + 1), high)

    def moment(
        self, rng: random.Random, index: int, after: datetime | None = None
    ) -> datetime:
        """Return a time in office hours on working day ``index``, after ``after``."""
        day = self.days[min(index, self.last)]
        if after is not None and after.astimezone(BEIJING).date() == day:
            return after + timedelta(minutes=rng.randint(2, 40))
        slot = bisect.bisect_right(self.slots, rng.random() * self.slots[-1])
        minutes = OPENING.hour * 60 + OPENING.minute + 30 * slot + rng.randint(0, 29)
        return datetime.combine(day, clock_time(minutes // 60, minutes % 60), BEIJING)


class _DueMemo:
    """Remember due dates: thousands of cases share a start day and a limit."""

    def __init__(self) -> None:
        self._dues: dict[tuple, ComputedDue] = {}
        self._adds: dict[tuple, workdays.Deadline] = {}
        self._spans: dict[tuple, int] = {}

    def due(self, start: date, value: int, unit: str, extra: int) -> ComputedDue:
        key = (start, value, unit, extra)
        if key not in self._dues:
            self._dues[key] = due_compute(start, value, unit, extra)
        return self._dues[key]

    def add(self, start: date, days: int) -> workdays.Deadline:
        key = (start, days)
        if key not in self._adds:
            self._adds[key] = workdays.add_working_days(start, days)
        return self._adds[key]

    def pause_days(self, accepted_on: date, first: date, last: date) -> int:
        key = (accepted_on, first, last)
        if key not in self._spans:
            self._spans[key] = pause_working_days(
                accepted_on=accepted_on, first=first, last=last
            )
        return self._spans[key]


# Codes


def resident_id(rng: random.Random, *, born: date, male: bool) -> str:
    """Make a valid resident ID number of the Suzhou region for a birth date."""
    issued = max(born.year, FIRST_ISSUE_YEAR)
    regions = [
        r
        for r in RESIDENT_REGIONS
        if r.first_year <= issued and (r.last_year is None or issued <= r.last_year)
    ]
    region = rng.choices(regions, weights=[r.weight for r in regions])[0]
    # Digit 17 is odd for men and even for women (GB 11643, 4.3).
    serial = rng.randint(0, 99) * 10 + rng.choice(
        (1, 3, 5, 7, 9) if male else (0, 2, 4, 6, 8)
    )
    body = f"{region.code}{born:%Y%m%d}{serial:03d}"
    return body + resident_check_char(body)


def uscc(rng: random.Random, *, kind: str, region: str) -> str:
    """Make a valid USCC with a valid GB 11714 organisation code inside."""
    if kind == "91" and rng.random() < 0.75:
        # Codes issued since 2015 carry an organisation code starting "MA".
        body = "MA" + "".join(rng.choices(ORGANISATION_ALPHABET, k=6))
    else:
        body = f"{rng.randint(0, 99_999_999):08d}"
    organisation = body + organisation_check_char(body)
    code = kind + region + organisation
    return code + uscc_check_char(code)


def _birth_date(rng: random.Random, reference: date) -> date:
    # Applicants are adults, most of them of working age.
    age_days = int(rng.triangular(18, 85, 38) * 365.25)
    return reference - timedelta(days=age_days)


def _address(rng: random.Random) -> tuple[str, str]:
    district = rng.choices(list(DISTRICTS), weights=DISTRICT_WEIGHTS)[0]
    region, roads = DISTRICTS[district]
    address = f"江苏省苏州市{district}{rng.choice(roads)}{rng.randint(1, 999)}号"
    if rng.random() < 0.7:
        building, floor = rng.randint(1, 40), rng.randint(1, 18)
        address += f"{building}幢{floor}{rng.randint(1, 4):02d}室"
    return address[:200], region


# Applicants


def persons_create(
    *, count: int, rng: random.Random, faker: Faker, reference: date
) -> list[_Party]:
    """Write ``count`` persons with valid resident ID numbers."""
    parties: list[_Party] = []
    seen: set[str] = set()
    rows: list[Person] = []
    for _ in range(count):
        male = rng.random() < 0.5
        born = _birth_date(rng, reference)
        number = resident_id(rng, born=born, male=male)
        while number in seen:
            number = resident_id(rng, born=born, male=male)
        seen.add(number)
        rows.append(
            Person(
                name=faker.name_male() if male else faker.name_female(),
                id_number=number,
                phone=faker.phone_number(),
                address=_address(rng)[0],
            )
        )
        if len(rows) == BATCH_SIZE:
            parties.extend(_persons_insert(rows))
            rows = []
    parties.extend(_persons_insert(rows))

    return parties


def _persons_insert(rows: list[Person]) -> list[_Party]:
    with transaction.atomic():
        Person.objects.bulk_create(rows)
    return [
        _Party(ApplicantKind.PERSON, p.pk, p.name, p.id_number, p.phone) for p in rows
    ]


def enterprises_create(
    *,
    count: int,
    rng: random.Random,
    faker: Faker,
    persons: Sequence[_Party],
    reference: date,
) -> list[_Party]:
    """Write ``count`` enterprises with valid USCCs; persons represent them."""
    kinds, weights = zip(*USCC_KINDS, strict=True)
    seen: set[str] = set()
    rows: list[Enterprise] = []
    for _ in range(count):
        kind = rng.choices(kinds, weights=weights)[0]
        address, region = _address(rng)
        code = uscc(rng, kind=kind, region=region)
        while code in seen:
            code = uscc(rng, kind=kind, region=region)
        seen.add(code)
        if persons:
            representative = rng.choice(persons)
            rep_name, rep_id = representative.name, representative.code
        else:
            male = rng.random() < 0.5
            rep_name = faker.name_male() if male else faker.name_female()
            rep_id = resident_id(rng, born=_birth_date(rng, reference), male=male)
        rows.append(
            Enterprise(
                name=_enterprise_name(kind, faker, rng, address, rep_name),
                uscc=code,
                legal_representative=rep_name,
                legal_representative_id_number=rep_id,
                address=address,
                phone=faker.phone_number(),
            )
        )

    parties: list[_Party] = []
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        with transaction.atomic():
            Enterprise.objects.bulk_create(batch)
        parties.extend(
            _Party(ApplicantKind.ENTERPRISE, e.pk, e.name, e.uscc, e.phone)
            for e in batch
        )
    return parties


def _enterprise_name(
    kind: str, faker: Faker, rng: random.Random, address: str, person: str
) -> str:
    place = address[6:].split("区")[0].split("市")[0][:4] or "苏州"
    brand = faker.company_prefix()
    if kind == "92":
        return f"{place}{brand}{rng.choice(SHOPS)}"
    if kind == "93":
        return f"{place}{person[0]}家{rng.choice(('果蔬', '水产', '稻米'))}专业合作社"
    if kind == "52":
        return f"苏州市{brand}{rng.choice(('职业培训学校', '养老服务中心'))}"
    return f"苏州{brand}{rng.choice(INDUSTRIES)}有限公司"


# Catalogue and staff


def items_publish(*, rng: random.Random, year: int) -> list[ServiceItem]:
    """Publish most imported drafts with bench limits; return the published items.

    Bench data: the limits are set on the rows directly, not through
    ``item_publish``, which would want materials and a confirmed limit.
    """
    published_at = datetime(year, 1, 1, 9, 0, tzinfo=BEIJING) - PUBLISHED_BEFORE
    drafts = list(ServiceItem.objects.filter(status=ItemStatus.DRAFT).order_by("pk"))
    chosen = [item for item in drafts if rng.random() < PUBLISHED_SHARE]
    for item in chosen:
        item.legal_limit_value = LEGAL_LIMIT_DAYS
        item.legal_limit_unit = LimitUnit.WORKING_DAYS
        item.legal_limit_confirmed = True
        item.promised_limit_value = rng.randint(*PROMISED_LIMIT_DAYS)
        item.promised_limit_unit = LimitUnit.WORKING_DAYS
        item.status = ItemStatus.PUBLISHED
        item.published_at = published_at
    with transaction.atomic():
        ServiceItem.objects.bulk_update(
            chosen,
            [
                "legal_limit_value",
                "legal_limit_unit",
                "legal_limit_confirmed",
                "promised_limit_value",
                "promised_limit_unit",
                "status",
                "published_at",
            ],
            batch_size=500,
        )

    return list(
        ServiceItem.objects.filter(
            status=ItemStatus.PUBLISHED, legal_limit_value__isnull=False
        ).order_by("pk")
    )


def staff_create(
    *, departments: Sequence[int], faker: Faker
) -> dict[int, tuple[User, User]]:
    """Create a window clerk and a reviewer per department, without passwords."""
    users = []
    for department_id in departments:
        for role in (Role.CLERK, Role.REVIEWER):
            users.append(
                User(
                    username=f"bench-{role}-{department_id}",
                    name=faker.name(),
                    role=role,
                    department_id=department_id,
                    password=make_password(None),
                )
            )
    with transaction.atomic():
        User.objects.bulk_create(users)
    by_key = {(u.department_id, u.role): u for u in users}

    return {
        d: (by_key[(d, Role.CLERK)], by_key[(d, Role.REVIEWER)]) for d in departments
    }


# Case plans


def _status_counts(total: int, open_share: float) -> dict[str, int]:
    shares = {
        CaseStatus.IN_REVIEW: open_share * (1 - SUSPENDED_SHARE_OF_OPEN),
        CaseStatus.SUSPENDED: open_share * SUSPENDED_SHARE_OF_OPEN,
    }
    settled = sum(SETTLED_MIX.values())
    for status, weight in SETTLED_MIX.items():
        shares[status] = (1 - open_share) * weight / settled

    # Largest remainder: the counts add up to ``total`` exactly.
    exact = {status: share * total for status, share in shares.items()}
    counts = {status: int(value) for status, value in exact.items()}
    rest = total - sum(counts.values())
    for status in sorted(exact, key=lambda s: counts[s] - exact[s])[:rest]:
        counts[status] += 1
    return counts


def _review_days(rng: random.Random, promised: int, legal: int) -> int:
    """Working days from acceptance to decision: mostly within the promise."""
    draw = rng.random()
    if draw < 0.90:
        return rng.randint(1, max(1, promised))
    if draw < 0.98:
        return rng.randint(min(promised + 1, legal), legal)
    return rng.randint(legal + 1, legal + 5)


def _plan(
    rng: random.Random,
    cal: _Calendar,
    status: str,
    plan: _Plan,
    legal: int,
    promised: int,
) -> None:
    """Place the case's steps on working days so they fit its status."""
    last = cal.last
    lag = (
        0 if plan.channel == Channel.WINDOW else rng.choices((0, 1, 2), (50, 35, 15))[0]
    )

    if status == CaseStatus.CLOSED:
        paused = rng.randint(1, 10) if rng.random() < PAUSED_SHARE else 0
        review = _review_days(rng, promised, legal)
        issue, close = rng.randint(0, 1), rng.randint(0, 2)
        s = cal.pick(rng, 0, last - (lag + paused + review + issue + close))
        plan.submitted, plan.accepted = s, min(s + lag, last)
        if paused:
            plan.pause_first = min(plan.accepted + 1, last)
            plan.pause_last = min(plan.accepted + paused, last)
        plan.decided = min(plan.accepted + paused + review, last)
        plan.issued = min(plan.decided + issue, last)
        plan.closed = min(plan.issued + close, last)
    elif status == CaseStatus.NOT_ACCEPTED:
        plan.submitted = cal.pick(rng, 0, last - 1)
        plan.decided = min(plan.submitted + int(plan.channel == Channel.ONLINE), last)
    elif status == CaseStatus.WITHDRAWN:
        if rng.random() < 0.5:
            plan.submitted = cal.pick(rng, 0, last - 3)
            plan.decided = plan.submitted + rng.randint(0, 3)
        else:
            plan.submitted = cal.pick(rng, 0, last - lag - promised)
            plan.accepted = plan.submitted + lag
            plan.decided = min(plan.accepted + rng.randint(1, promised), last)
    elif status == CaseStatus.TERMINATED:
        plan.submitted = cal.pick(rng, 0, last - lag - legal)
        plan.accepted = plan.submitted + lag
        plan.decided = min(plan.accepted + rng.randint(1, legal), last)
    elif status in (CaseStatus.DECIDED, CaseStatus.RESULT_ISSUED):
        decided = last - rng.randint(0, 1 if status == CaseStatus.DECIDED else 3)
        plan.accepted = max(0, decided - _review_days(rng, promised, legal))
        plan.submitted = max(0, plan.accepted - lag)
        plan.decided = max(decided, plan.accepted + 1)
        if status == CaseStatus.RESULT_ISSUED:
            plan.issued = min(plan.decided + rng.randint(0, 1), last)
    elif status == CaseStatus.CORRECTION_REQUESTED:
        plan.submitted = cal.pick(rng, last - 9, last)
        plan.decided = min(plan.submitted + rng.randint(0, 1), last)
    elif status == CaseStatus.SUBMITTED:
        plan.channel = Channel.ONLINE
        plan.submitted = cal.pick(rng, last - 1, last)
    elif status == CaseStatus.IN_REVIEW:
        draw = rng.random()
        if draw < 0.85:
            elapsed = rng.randint(0, promised)
        elif draw < 0.97:
            elapsed = rng.randint(min(promised + 1, legal), legal)
        else:
            elapsed = rng.randint(legal + 1, legal + 10)
        paused = rng.randint(1, 10) if rng.random() < PAUSED_SHARE * 1.5 else 0
        plan.accepted = max(0, last - elapsed - paused)
        plan.submitted = max(0, plan.accepted - lag)
        if paused and plan.accepted + paused < last:
            plan.pause_first = plan.accepted + 1
            plan.pause_last = plan.accepted + paused
    elif status == CaseStatus.SUSPENDED:
        before, so_far = rng.randint(1, promised), rng.randint(0, 15)
        plan.accepted = max(0, last - before - so_far)
        plan.submitted = max(0, plan.accepted - lag)
        plan.pause_first = min(plan.accepted + before, last)
    else:
        raise ValueError(f"no plan for status {status!r}")


def _plans(
    *,
    count: int,
    open_share: float,
    rng: random.Random,
    cal: _Calendar,
    items: Sequence[ServiceItem],
    persons: Sequence[_Party],
    enterprises: Sequence[_Party],
) -> list[_Plan]:
    if not items:
        raise ValueError("no published item with limits: cannot generate cases")
    if not persons and not enterprises:
        raise ValueError("no applicant: generate persons or enterprises")
    order = list(items)
    rng.shuffle(order)
    popularity = list(
        itertools.accumulate(
            1 / rank**ITEM_POPULARITY for rank in range(1, len(order) + 1)
        )
    )

    statuses = [
        status
        for status, n in _status_counts(count, open_share).items()
        for _ in range(n)
    ]
    rng.shuffle(statuses)
    plans = []
    for status in statuses:
        item = rng.choices(order, cum_weights=popularity)[0]
        wants_person = {
            ApplicantScope.PERSON: True,
            ApplicantScope.ENTERPRISE: False,
        }.get(item.applicant_scope, rng.random() < PERSON_SHARE)
        pool = persons if (wants_person and persons) or not enterprises else enterprises
        plan = _Plan(
            status=status,
            item=item,
            party=rng.choice(pool),
            channel=Channel.ONLINE if rng.random() < ONLINE_SHARE else Channel.WINDOW,
            submitted=0,
        )
        legal = item.legal_limit_value
        promised = item.promised_limit_value if item.promised_limit_value else legal
        _plan(rng, cal, status, plan, legal, promised)
        plan.submitted_at = cal.moment(rng, plan.submitted)
        plans.append(plan)

    plans.sort(key=lambda p: p.submitted_at)
    return plans


# Building the rows


@dataclass
class _Rows:
    cases: list[Case] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    pauses: list[CasePause] = field(default_factory=list)
    events: list[CaseEvent] = field(default_factory=list)


class _CaseBuilder:
    """Turn plans into rows: the case, its timeline, pauses and open tasks."""

    def __init__(
        self,
        *,
        rng: random.Random,
        faker: Faker,
        cal: _Calendar,
        staff: dict[int, tuple[User, User]],
        corrections: dict[int, list[dict]],
        region_code: str,
    ) -> None:
        self.rng = rng
        self.faker = faker
        self.cal = cal
        self.staff = staff
        self.corrections = corrections
        self.region_code = region_code
        self.memo = _DueMemo()
        self.sequences: Counter = Counter()

    def build(self, plan: _Plan, rows: _Rows) -> None:
        rng, cal = self.rng, self.cal
        item, party = plan.item, plan.party
        clerk, reviewer = self.staff[item.department_id]
        day = cal.days[plan.submitted]
        self.sequences[day] += 1
        person = party.kind == ApplicantKind.PERSON

        case = Case(
            number=format_case_number(
                region_code=self.region_code, day=day, sequence=self.sequences[day]
            ),
            item=item,
            item_version=item.version,
            department_id=item.department_id,
            channel=plan.channel,
            status=plan.status,
            applicant_kind=party.kind,
            person_id=party.pk if person else None,
            enterprise_id=None if person else party.pk,
            applicant_name=party.name,
            applicant_code=party.code,
            contact_name=party.name if person else self.faker.name(),
            contact_phone=party.phone if person else self.faker.phone_number(),
            registered_by=clerk if plan.channel == Channel.WINDOW else None,
            submitted_at=plan.submitted_at,
            created_at=plan.submitted_at,
        )
        events = _Timeline(case, rows.events)
        applicant = party.name[:100]
        events.add(
            CaseAction.REGISTER
            if plan.channel == Channel.WINDOW
            else CaseAction.SUBMIT,
            "",
            CaseStatus.SUBMITTED,
            clerk.name if plan.channel == Channel.WINDOW else applicant,
            plan.submitted_at,
        )
        now = plan.submitted_at

        if plan.accepted is not None:
            now = self._accept(case, plan, clerk, events)
        if plan.status == CaseStatus.SUSPENDED:
            # The nodes before the suspension were done before it began.
            now = self._open_tasks(case, plan, reviewer, events, rows, now)
            now = self._pause(case, plan, reviewer, events, rows, now)
        elif plan.pause_first is not None:
            now = self._pause(case, plan, reviewer, events, rows, now)
        if plan.status == CaseStatus.IN_REVIEW:
            now = self._open_tasks(case, plan, reviewer, events, rows, now)

        status = plan.status
        if status == CaseStatus.NOT_ACCEPTED:
            case.refusal_reason = rng.choice(REFUSAL_REASONS)
            now = case.closed_at = cal.moment(rng, plan.decided, now)
            events.add(
                CaseAction.REFUSE,
                CaseStatus.SUBMITTED,
                status,
                clerk.name,
                now,
                case.refusal_reason,
            )
        elif status == CaseStatus.CORRECTION_REQUESTED:
            case.correction_items = self.corrections.get(item.pk) or [
                {"requirement_id": None, "name": CORRECTION_FALLBACK}
            ]
            now = cal.moment(rng, plan.decided, now)
            events.add(
                CaseAction.REQUEST_CORRECTION,
                CaseStatus.SUBMITTED,
                status,
                clerk.name,
                now,
                "; ".join(entry["name"] for entry in case.correction_items),
            )
        elif status in (CaseStatus.WITHDRAWN, CaseStatus.TERMINATED):
            action = (
                CaseAction.WITHDRAW
                if status == CaseStatus.WITHDRAWN
                else CaseAction.TERMINATE
            )
            reasons = (
                WITHDRAWAL_REASONS
                if status == CaseStatus.WITHDRAWN
                else TERMINATION_REASONS
            )
            now = case.closed_at = cal.moment(rng, plan.decided, now)
            before = (
                CaseStatus.IN_REVIEW
                if plan.accepted is not None
                else CaseStatus.SUBMITTED
            )
            label = applicant if status == CaseStatus.WITHDRAWN else "中心管理员"
            events.add(action, before, status, label, now, rng.choice(reasons))
        elif status in (
            CaseStatus.DECIDED,
            CaseStatus.RESULT_ISSUED,
            CaseStatus.CLOSED,
        ):
            now = self._decide(case, plan, clerk, reviewer, events, now)

        case.updated_at = now
        rows.cases.append(case)

    def _accept(
        self, case: Case, plan: _Plan, clerk: User, events: "_Timeline"
    ) -> datetime:
        item = plan.item
        case.accepted_at = self.cal.moment(self.rng, plan.accepted, plan.submitted_at)
        case.accepted_on = self.cal.days[plan.accepted]
        case.legal_limit_value = item.legal_limit_value
        case.legal_limit_unit = item.legal_limit_unit
        case.promised_limit_value = (
            item.promised_limit_value
            if item.promised_limit_value is not None
            else item.legal_limit_value
        )
        case.promised_limit_unit = (
            item.promised_limit_unit
            if item.promised_limit_value is not None
            else item.legal_limit_unit
        )
        # Generated history runs on the sequential route: a BPMN route's
        # engine state cannot be written in bulk (bench/README.md).
        case.route_key = routes.SEQUENTIAL_ROUTE_KEY
        self._dues(case)
        events.add(
            CaseAction.ACCEPT,
            CaseStatus.SUBMITTED,
            CaseStatus.ACCEPTED,
            clerk.name,
            case.accepted_at,
        )
        started = case.accepted_at + timedelta(minutes=1)
        events.add(
            CaseAction.START_REVIEW,
            CaseStatus.ACCEPTED,
            CaseStatus.IN_REVIEW,
            clerk.name,
            started,
        )
        return started

    def _dues(self, case: Case) -> None:
        case_dues_apply(
            case,
            case_dues_compute(
                case,
                paused_working_days=case.paused_working_days,
                compute=self.memo.due,
            ),
        )

    def _pause(
        self,
        case: Case,
        plan: _Plan,
        reviewer: User,
        events: "_Timeline",
        rows: _Rows,
        now: datetime,
    ) -> datetime:
        kinds = list(PAUSES)
        kind = self.rng.choices(kinds, weights=[PAUSES[k][0] for k in kinds])[0]
        first = self.cal.days[plan.pause_first]
        pause = CasePause(
            case=case,
            kind=kind,
            reason=PAUSES[kind][1],
            started_on=first,
            started_by=reviewer,
        )
        rows.pauses.append(pause)
        began = self.cal.moment(self.rng, plan.pause_first, now)
        events.add(
            CaseAction.SUSPEND,
            CaseStatus.IN_REVIEW,
            CaseStatus.SUSPENDED,
            reviewer.name,
            began,
            pause.reason,
        )
        if plan.pause_last is None:
            return began

        pause.ended_on = self.cal.days[plan.pause_last]
        pause.working_days = self.memo.pause_days(
            case.accepted_on, first, pause.ended_on
        )
        case.paused_working_days = pause.working_days
        self._dues(case)
        resumed = self.cal.moment(self.rng, plan.pause_last, began)
        events.add(
            CaseAction.RESUME,
            CaseStatus.SUSPENDED,
            CaseStatus.IN_REVIEW,
            reviewer.name,
            resumed,
            f"暂停 {pause.working_days} 个工作日",
        )
        return resumed

    def _nodes(self, case: Case) -> list[tuple[str, str, int]]:
        route = routes.route_get(case.route_key)
        if not isinstance(route, routes.SequentialRoute):
            raise RuntimeError(
                f"route {route.key} is not sequential: cannot plan tasks"
            )
        limits = route.node_limits(case)
        return [(node.key, node.name, limits[node.key]) for node in route.nodes]

    def _open_tasks(
        self,
        case: Case,
        plan: _Plan,
        reviewer: User,
        events: "_Timeline",
        rows: _Rows,
        now: datetime,
    ) -> datetime:
        """Open the task the case waits on; the nodes before it are done.

        A past pause began the day after acceptance, so it held the first
        node: that task's due date moved by the paused working days (as
        case_resume shifts open tasks) and every later node started later.
        """
        paused = case.paused_working_days
        if plan.status == CaseStatus.SUSPENDED:
            active = plan.pause_first - plan.accepted - 1
        else:
            active = self.cal.last - plan.accepted - paused
        nodes = self._nodes(case)

        created = case.accepted_at + timedelta(minutes=1)
        begin = 0
        for position, (key, name, limit) in enumerate(nodes):
            first = position == 0
            task = Task(
                case=case,
                node_key=key,
                name=name,
                department_id=case.department_id,
                started_on=self.cal.days[
                    plan.accepted + (0 if first else paused) + begin
                ],
                limit_working_days=limit,
                paused_working_days=paused if first else 0,
                created_at=created,
            )
            due = self.memo.add(task.started_on, limit + task.paused_working_days)
            task.due_on, task.due_provisional = due.due, due.provisional
            rows.tasks.append(task)
            if active < begin + limit or position == len(nodes) - 1:
                return now

            now = self.cal.moment(self.rng, plan.accepted + paused + begin + limit, now)
            task.status = TaskStatus.DONE
            task.outcome = TaskOutcome.APPROVE
            task.completed_at, task.completed_by = now, reviewer
            task.opinion = "同意"
            events.add(
                CaseAction.COMPLETE_TASK,
                CaseStatus.IN_REVIEW,
                CaseStatus.IN_REVIEW,
                reviewer.name,
                now,
                name,
            )
            created = now
            begin += limit
        return now

    def _decide(
        self,
        case: Case,
        plan: _Plan,
        clerk: User,
        reviewer: User,
        events: "_Timeline",
        now: datetime,
    ) -> datetime:
        rng, cal = self.rng, self.cal
        for _key, name, _limit in self._nodes(case):
            events.add(
                CaseAction.COMPLETE_TASK,
                CaseStatus.IN_REVIEW,
                CaseStatus.IN_REVIEW,
                reviewer.name,
                now,
                name,
            )
            now += timedelta(minutes=rng.randint(5, 90))
        denied = rng.random() < DENIED_SHARE
        case.decision = Decision.DENIED if denied else Decision.APPROVED
        case.decision_reason = rng.choice(DENIAL_REASONS) if denied else ""
        now = case.decided_at = max(cal.moment(rng, plan.decided, now), now)
        events.add(
            CaseAction.DECIDE,
            CaseStatus.IN_REVIEW,
            CaseStatus.DECIDED,
            reviewer.name,
            now,
            case.decision_reason,
        )
        if plan.issued is None:
            return now

        now = cal.moment(rng, plan.issued, now)
        events.add(
            CaseAction.ISSUE_RESULT,
            CaseStatus.DECIDED,
            CaseStatus.RESULT_ISSUED,
            clerk.name,
            now,
        )
        if plan.closed is None:
            return now

        now = case.closed_at = cal.moment(rng, plan.closed, now)
        events.add(
            CaseAction.CLOSE,
            CaseStatus.RESULT_ISSUED,
            CaseStatus.CLOSED,
            clerk.name,
            now,
        )
        return now


class _Timeline:
    """Collect a case's timeline events in order."""

    def __init__(self, case: Case, events: list[CaseEvent]) -> None:
        self.case = case
        self.events = events

    def add(
        self,
        action: str,
        status_from: str,
        status_to: str,
        actor_label: str,
        at: datetime,
        note: str = "",
    ) -> None:
        self.events.append(
            CaseEvent(
                case=self.case,
                action=action,
                status_from=status_from,
                status_to=status_to,
                actor_label=actor_label[:100],
                note=note,
                at=at,
            )
        )


@contextmanager
def _timestamps_as_given(*fields: models.DateTimeField) -> Iterator[None]:
    """Let bulk inserts keep the generated creation times.

    ``auto_now`` and ``auto_now_add`` would stamp every row with the time of
    the run; the year's history needs its own times.
    """
    saved = [(f, f.auto_now, f.auto_now_add) for f in fields]
    try:
        for f in fields:
            f.auto_now = f.auto_now_add = False
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def _rows_insert(rows: _Rows) -> None:
    with transaction.atomic():
        Case.objects.bulk_create(rows.cases)
        for row in itertools.chain(rows.tasks, rows.pauses, rows.events):
            row.case_id = row.case.pk
        Task.objects.bulk_create(rows.tasks)
        CasePause.objects.bulk_create(rows.pauses)
        CaseEvent.objects.bulk_create(rows.events)


def _corrections() -> dict[int, list[dict]]:
    """The first required material of each item, as a correction asks for it."""
    first: dict[int, list[dict]] = {}
    for requirement in MaterialRequirement.objects.filter(required=True).order_by(
        "item_id", "order"
    ):
        first.setdefault(
            requirement.item_id,
            [{"requirement_id": requirement.pk, "name": requirement.name}],
        )
    return first


def generate(
    *,
    cases: int,
    persons: int,
    enterprises: int,
    year: int,
    seed: int,
    open_share: float = DEFAULT_OPEN_SHARE,
    catalogue: Path = SHIPPED_CATALOGUE,
    progress: Callable[[str], None] | None = None,
) -> GenerateSummary:
    """Write a district year into the (migrated, case-free) current database.

    ``open_share`` is the share of cases in review or suspended at the end
    of the year (1.0: every case). Same arguments and seed, same rows.
    """
    say = progress or (lambda text: None)
    started = datetime.now(tz=BEIJING)
    rng = random.Random(seed)
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    summary = GenerateSummary()
    if not 0 <= open_share <= 1:
        raise ValueError("open_share is a share from 0 to 1")
    if Case.objects.exists():
        raise RuntimeError(
            "the database already holds cases: use a fresh one or --replace"
        )

    # No case exists yet, so the calendar-changed hooks have nothing to
    # recompute; the enqueued task would only linger in the queue.
    with override_settings(SMARTAPPROVAL_CALENDAR_CHANGED_HOOKS=[]):
        call_command("seed_calendar", stdout=io.StringIO())
    # The shipped catalogue has a few rows the importer warns about.
    call_command(
        "import_catalogue", str(catalogue), stdout=io.StringIO(), stderr=io.StringIO()
    )
    items = items_publish(rng=rng, year=year)
    summary.items_published = len(items)
    say(f"catalogue: {len(items)} items published")

    reference = min(date(year, 1, 1), workdays.beijing_today())
    person_parties = persons_create(
        count=persons, rng=rng, faker=faker, reference=reference
    )
    summary.persons = len(person_parties)
    say(f"persons: {summary.persons}")
    enterprise_parties = enterprises_create(
        count=enterprises,
        rng=rng,
        faker=faker,
        persons=person_parties,
        reference=reference,
    )
    summary.enterprises = len(enterprise_parties)
    say(f"enterprises: {summary.enterprises}")

    staff = staff_create(
        departments=sorted({item.department_id for item in items}), faker=faker
    )
    with calendar_snapshot():
        cal = _Calendar(year)
        plans = _plans(
            count=cases,
            open_share=open_share,
            rng=rng,
            cal=cal,
            items=items,
            persons=person_parties,
            enterprises=enterprise_parties,
        )
        say(f"cases planned: {len(plans)} over {len(cal.days)} working days")
        builder = _CaseBuilder(
            rng=rng,
            faker=faker,
            cal=cal,
            staff=staff,
            corrections=_corrections(),
            region_code=settings.SMARTAPPROVAL_REGION_CODE,
        )
        with _timestamps_as_given(
            Case._meta.get_field("created_at"),
            Case._meta.get_field("updated_at"),
            Task._meta.get_field("created_at"),
            CaseEvent._meta.get_field("at"),
        ):
            for start in range(0, len(plans), BATCH_SIZE):
                rows = _Rows()
                for plan in plans[start : start + BATCH_SIZE]:
                    builder.build(plan, rows)
                _rows_insert(rows)
                summary.cases += len(rows.cases)
                summary.tasks += len(rows.tasks)
                summary.pauses += len(rows.pauses)
                summary.events += len(rows.events)
                summary.statuses.update(c.status for c in rows.cases)
                say(f"cases: {summary.cases}/{len(plans)}")

    # Numbers taken later in the bench database continue each day's sequence.
    CaseNumberSequence.objects.bulk_create(
        CaseNumberSequence(region_code=builder.region_code, day=day, last=last)
        for day, last in builder.sequences.items()
    )
    summary.seconds = (datetime.now(tz=BEIJING) - started).total_seconds()
    return summary


# Command line


def _replace_database(url: str) -> None:
    """Start from an empty database: delete the SQLite file or recreate the
    PostgreSQL database."""
    path = common.sqlite_path(url)
    connection.close()
    if path is not None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return

    name = connection.settings_dict["NAME"]
    with connection._nodb_cursor() as cursor:
        quoted = connection.ops.quote_name(name)
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cursor.execute(f"CREATE DATABASE {quoted}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--persons", type=int, default=50_000)
    parser.add_argument("--enterprises", type=int, default=8_000)
    parser.add_argument("--year", type=int, default=workdays.beijing_today().year)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--open-share",
        type=float,
        default=DEFAULT_OPEN_SHARE,
        help="Share of cases in review or suspended at the year's end (1.0: all).",
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="Delete the SQLite file, or drop and create the PostgreSQL database.",
    )
    common.database_url_argument(parser)
    args = parser.parse_args(argv)
    url = common.resolve_database_url(args.database_url)

    watch = common.Stopwatch()
    watch.say(f"database: {common.database_label(url)}")
    if args.replace:
        _replace_database(url)
    with watch.lap("migrate"):
        call_command("migrate", verbosity=0)
    with watch.lap("generate"):
        try:
            summary = generate(
                cases=args.cases,
                persons=args.persons,
                enterprises=args.enterprises,
                year=args.year,
                seed=args.seed,
                open_share=args.open_share,
                progress=watch.say,
            )
        except (ValueError, RuntimeError) as exc:
            sys.exit(str(exc))
    with watch.lap("analyze"), connection.cursor() as cursor:
        # Fresh planner statistics, as autovacuum would gather after a bulk
        # load: without them PostgreSQL picks plans that double the
        # recompute's time.
        cursor.execute("ANALYZE")

    statuses = ", ".join(f"{s} {n}" for s, n in summary.statuses.most_common())
    print(
        f"\n{summary.cases} cases ({statuses}); {summary.tasks} tasks, "
        f"{summary.pauses} pauses, {summary.events} timeline events; "
        f"{summary.persons} persons, {summary.enterprises} enterprises, "
        f"{summary.items_published} published items.\n"
        f"Total {watch.total:.1f} s (generation {summary.seconds:.1f} s, "
        f"{summary.cases / max(summary.seconds, 1e-9):.0f} cases/s); "
        f"peak RSS {common.peak_rss_mib():.0f} MiB."
    )


if __name__ == "__main__":
    main()

"""Fixtures of the cases tests: calendar, frozen clock, people and an item."""

import datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from smartapproval.cases import routes
from smartapproval.cases.tests import factories as f
from smartapproval.core.calendar import calendar_cache_clear, calendar_seed_from_package

BEIJING = ZoneInfo("Asia/Shanghai")


class FrozenClock:
    """The moment ``django.utils.timezone.now`` answers while a test runs."""

    def __init__(self, moment: datetime.datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime.datetime:
        return self.moment

    def at(self, year, month, day, hour=10, minute=0) -> datetime.datetime:
        """Move to a Beijing wall-clock time."""
        self.moment = datetime.datetime(year, month, day, hour, minute, tzinfo=BEIJING)
        return self.moment

    def on(self, day: datetime.date, hour=10) -> datetime.datetime:
        return self.at(day.year, day.month, day.day, hour)


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clock():
    """Freeze time at 2024-09-02 10:00 Beijing; move it with ``clock.at``."""
    frozen = FrozenClock(datetime.datetime(2024, 9, 2, 10, 0, tzinfo=BEIJING))
    with mock.patch("django.utils.timezone.now", side_effect=frozen):
        yield frozen


def _seed(years):
    calendar_cache_clear()
    calendar_seed_from_package(years=years)
    calendar_cache_clear()


@pytest.fixture
def calendar(db):
    """The official schedules of 2024 to 2026, from the package."""
    _seed([2024, 2025, 2026])
    yield
    calendar_cache_clear()


@pytest.fixture
def department(db):
    return f.DepartmentFactory()


@pytest.fixture
def other_department(db):
    return f.DepartmentFactory()


@pytest.fixture
def item(department):
    item = f.ServiceItemFactory(department=department)
    f.MaterialRequirementFactory(item=item, order=1, name="申请书")
    f.MaterialRequirementFactory(item=item, order=2, name="身份证明")
    f.MaterialRequirementFactory(item=item, order=3, name="其他材料", required=False)
    return item


@pytest.fixture
def applicant(db):
    return f.ApplicantFactory()


@pytest.fixture
def other_applicant(db):
    return f.ApplicantFactory()


@pytest.fixture
def clerk(department):
    return f.ClerkFactory(department=department)


@pytest.fixture
def reviewer(department):
    return f.ReviewerFactory(department=department)


@pytest.fixture
def reviewer2(department):
    """A second reviewer: separation of duties gives each node its own hand."""
    return f.ReviewerFactory(department=department)


@pytest.fixture
def approver(department):
    """The department's leader, who completes the last node (审批)."""
    return f.ReviewerFactory(department=department)


@pytest.fixture
def manager(db):
    return f.ManagerFactory()


@pytest.fixture
def other_clerk(other_department):
    return f.ClerkFactory(department=other_department)


@pytest.fixture
def other_reviewer(other_department):
    return f.ReviewerFactory(department=other_department)


class DirectRoute:
    """A route without review steps: the reviewer decides the case directly."""

    key = "direct-test"

    def start(self, case):
        return []

    def on_task_completed(self, task, outcome):
        raise AssertionError("a direct route has no tasks")


@pytest.fixture
def direct_item(item):
    """The item, run on a route without steps while the test lasts."""
    routes.register_route(DirectRoute())
    routes.assign_route(
        implementation_code=item.implementation_code, key=DirectRoute.key
    )
    yield item
    routes._ITEM_ROUTES.pop(item.implementation_code, None)
    routes._ROUTES.pop(DirectRoute.key, None)

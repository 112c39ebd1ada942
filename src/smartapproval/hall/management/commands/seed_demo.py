"""Create the demo accounts the README lists, one per role, on first start.

The feasibility-study department has a window clerk and three reviewers:
``reviewer`` (牵头部门初审), ``reviewer2`` (the revisions the co-departments
ask for) and ``approver`` (牵头部门决定, the department's leader); each of its
two co-departments has one reviewer, ``planner`` and ``resources``. On an
item of the single-department route the three do 审查, 审核 and 审批.

Every account gets the password ``demo12345``. The command only ever
creates: an account that exists is left as it is, so a password its user
changed stays changed. Staff of a department the catalogue import has not
created yet are skipped with a warning and created by a later run. With
``SMARTAPPROVAL_DEMO=0`` no account is created.

The codes are made up and pass every check without a warning: the
enterprise's USCC (GB 32100, with a valid GB 11714 organisation code inside,
region 450721) and the citizen's resident ID (GB 11643, region 511602, born
after the region code was created in 1998).
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from django.core.management.base import BaseCommand
from django.db import IntegrityError, transaction

from smartapproval.accounts.models import ApplicantKind, Department, Role, User
from smartapproval.audit.services import audit_record
from smartapproval.core.api import ServiceError
from smartapproval.core.env import env
from smartapproval.hall.services import applicant_register

log = structlog.get_logger(__name__)

DEMO_PASSWORD = "demo12345"  # noqa: S105 - the published demo password
# The department of 政府投资项目审批——可行性研究报告审批, created by the
# import of feasibility-study-approval.json.
FEASIBILITY_DEPARTMENT = "灵山县发展和改革局"
# A department of the district catalogue, to show that staff see only their
# own department's cases.
OTHER_DEPARTMENT = "区发改局"
# The feasibility study's co-departments, created by the import of its item.
PLANNING_DEPARTMENT = "城市规划行政主管部门"
RESOURCES_DEPARTMENT = "自然资源行政主管部门"
DEMO_USCC = "91450721MA5L3K8D3Y"
DEMO_RESIDENT_ID = "511602199905122342"


@dataclass(frozen=True)
class DemoStaff:
    """A member of staff to create, with the department they belong to."""

    username: str
    name: str
    role: str
    department: str | None = None
    superuser: bool = False


DEMO_STAFF = (
    DemoStaff("admin", "系统管理员", Role.ADMIN, superuser=True),
    DemoStaff("manager", "周主任", Role.MANAGER),
    DemoStaff("clerk", "陈受理", Role.CLERK, FEASIBILITY_DEPARTMENT),
    # One reviewer per node of the review route: the same person may not
    # complete two nodes of one case (separation of duties).
    DemoStaff("reviewer", "刘审查", Role.REVIEWER, FEASIBILITY_DEPARTMENT),
    DemoStaff("reviewer2", "赵审核", Role.REVIEWER, FEASIBILITY_DEPARTMENT),
    DemoStaff("approver", "孙局长", Role.REVIEWER, FEASIBILITY_DEPARTMENT),
    DemoStaff("clerk2", "王窗口", Role.CLERK, OTHER_DEPARTMENT),
    # The co-departments of the feasibility study review in parallel.
    DemoStaff("planner", "吴规划", Role.REVIEWER, PLANNING_DEPARTMENT),
    DemoStaff("resources", "郑资源", Role.REVIEWER, RESOURCES_DEPARTMENT),
)

DEMO_APPLICANTS = (
    {
        "username": "enterprise",
        "name": "灵山县演示城建投资有限公司",
        "phone": "0777-6000001",
        "kind": ApplicantKind.ENTERPRISE,
        "enterprise_name": "灵山县演示城建投资有限公司",
        "uscc": DEMO_USCC,
        "legal_representative": "李建国",
    },
    {
        "username": "citizen",
        "name": "张晓明",
        "phone": "13800138000",
        "kind": ApplicantKind.PERSON,
        "id_number": DEMO_RESIDENT_ID,
    },
)


@transaction.atomic
def demo_staff_create(*, staff: DemoStaff, department: Department | None) -> User:
    """Create one demo member of staff and record it in the audit trail."""
    user = User(
        username=staff.username,
        name=staff.name,
        role=staff.role,
        department=department,
        is_staff=staff.superuser,
        is_superuser=staff.superuser,
    )
    user.set_password(DEMO_PASSWORD)
    user.save()

    audit_record(
        actor=None,
        actor_label="seed_demo",
        action="user_created",
        target=user,
        after={"role": user.role, "department_id": user.department_id},
    )

    log.info("demo_user_created", user_id=user.pk, role=user.role)
    return user


def demo_accounts_seed() -> dict[str, str]:
    """Create the missing demo accounts; return what happened to each one.

    The outcome of an account is ``created``, ``exists`` or
    ``skipped: <reason>``.
    """
    outcome: dict[str, str] = {}
    existing = set(
        User.objects.filter(
            username__in=[s.username for s in DEMO_STAFF]
            + [a["username"] for a in DEMO_APPLICANTS]
        ).values_list("username", flat=True)
    )

    for staff in DEMO_STAFF:
        if staff.username in existing:
            outcome[staff.username] = "exists"
            continue
        department = None
        if staff.department:
            department = Department.objects.filter(name=staff.department).first()
            if department is None:
                log.warning("demo_department_missing", username=staff.username)
                outcome[staff.username] = (
                    f"skipped: department {staff.department} not found, "
                    "import the catalogue first"
                )
                continue
        outcome[staff.username] = _created_unless_raced(
            demo_staff_create, staff=staff, department=department
        )

    for applicant in DEMO_APPLICANTS:
        if applicant["username"] in existing:
            outcome[applicant["username"]] = "exists"
            continue
        outcome[applicant["username"]] = _created_unless_raced(
            applicant_register, actor=None, password=DEMO_PASSWORD, **applicant
        )

    return outcome


def _created_unless_raced(create: Callable[..., User], **kwargs: Any) -> str:
    """Call ``create``; another seeding run may have created the account."""
    try:
        create(**kwargs)
    except IntegrityError:
        return "exists"
    except ServiceError as exc:
        if exc.code != "username_taken":
            raise
        return "exists"

    return "created"


class Command(BaseCommand):
    help = "Create the demo accounts (password demo12345); never changes one."

    def handle(self, *args: Any, **options: Any) -> None:
        if not env("SMARTAPPROVAL_DEMO", True):
            self.stdout.write("Demo accounts: none created (SMARTAPPROVAL_DEMO=0).")
            return

        outcome = demo_accounts_seed()

        for username, result in outcome.items():
            if result != "exists" or options["verbosity"] > 1:
                self.stdout.write(f"Demo account {username}: {result}")

"""seed_demo: one demo account per role, created once and never changed."""

import pytest
from django.core.management import call_command

from smartapproval.accounts.models import ApplicantKind, Role, User
from smartapproval.accounts.services import department_ensure
from smartapproval.audit.models import AuditEntry
from smartapproval.core import codes
from smartapproval.hall.management.commands.seed_demo import (
    DEMO_PASSWORD,
    DEMO_RESIDENT_ID,
    DEMO_USCC,
    FEASIBILITY_DEPARTMENT,
    OTHER_DEPARTMENT,
    PLANNING_DEPARTMENT,
    RESOURCES_DEPARTMENT,
)
from smartapproval.parties.models import Enterprise, Person

USERNAMES = {
    "admin",
    "manager",
    "clerk",
    "reviewer",
    "reviewer2",
    "approver",
    "planner",
    "resources",
    "clerk2",
    "enterprise",
    "citizen",
}
ROUTE_HANDLERS = ("reviewer", "reviewer2", "approver")


@pytest.fixture
def departments():
    feasibility, _ = department_ensure(
        actor=None, name=FEASIBILITY_DEPARTMENT, code="114507210081153718"
    )
    other, _ = department_ensure(
        actor=None, name=OTHER_DEPARTMENT, code="11511602MB1542853R"
    )
    for name in (PLANNING_DEPARTMENT, RESOURCES_DEPARTMENT):
        department_ensure(actor=None, name=name, code=f"CO-{name}")
    return feasibility, other


def seed(**options):
    call_command("seed_demo", verbosity=0, **options)


@pytest.mark.django_db
def test_creates_one_account_per_role_with_the_demo_password(departments):
    seed()

    users = {user.username: user for user in User.objects.all()}
    assert set(users) == USERNAMES
    assert all(user.check_password(DEMO_PASSWORD) for user in users.values())
    assert {name: users[name].role for name in USERNAMES} == {
        "admin": Role.ADMIN,
        "manager": Role.MANAGER,
        "clerk": Role.CLERK,
        "reviewer": Role.REVIEWER,
        "reviewer2": Role.REVIEWER,
        "approver": Role.REVIEWER,
        "planner": Role.REVIEWER,
        "resources": Role.REVIEWER,
        "clerk2": Role.CLERK,
        "enterprise": Role.APPLICANT,
        "citizen": Role.APPLICANT,
    }
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert not users["manager"].is_superuser


@pytest.mark.django_db
def test_staff_belong_to_the_feasibility_study_department_or_the_other(
    departments,
):
    feasibility, other = departments

    seed()

    assert User.objects.get(username="clerk").department == feasibility
    for username in ROUTE_HANDLERS:
        assert User.objects.get(username=username).department == feasibility
    assert User.objects.get(username="clerk2").department == other
    assert User.objects.get(username="planner").department.name == PLANNING_DEPARTMENT
    assert (
        User.objects.get(username="resources").department.name == RESOURCES_DEPARTMENT
    )
    assert User.objects.get(username="manager").department is None


@pytest.mark.django_db
def test_enterprise_is_recorded_in_the_enterprise_library(departments):
    seed()

    user = User.objects.get(username="enterprise")
    enterprise = Enterprise.objects.get(uscc=DEMO_USCC)
    assert user.applicant_kind == ApplicantKind.ENTERPRISE
    assert enterprise.account == user
    assert enterprise.legal_representative


@pytest.mark.django_db
def test_citizen_is_recorded_in_the_person_library(departments):
    seed()

    user = User.objects.get(username="citizen")
    assert user.applicant_kind == ApplicantKind.PERSON
    assert Person.objects.get(id_number=DEMO_RESIDENT_ID).account == user


@pytest.mark.parametrize(
    ("check", "value"),
    [(codes.check_uscc, DEMO_USCC), (codes.check_resident_id, DEMO_RESIDENT_ID)],
)
def test_demo_codes_pass_their_checks_without_warnings(check, value):
    result = check(value)

    assert result.valid, result.message
    assert result.warnings == []


@pytest.mark.django_db
def test_second_run_keeps_a_changed_password_and_adds_nothing(departments):
    seed()
    clerk = User.objects.get(username="clerk")
    clerk.set_password("changed-by-the-clerk")
    clerk.save()
    counts = (User.objects.count(), Enterprise.objects.count(), Person.objects.count())

    seed()

    clerk.refresh_from_db()
    assert clerk.check_password("changed-by-the-clerk")
    assert not clerk.check_password(DEMO_PASSWORD)
    assert counts == (
        User.objects.count(),
        Enterprise.objects.count(),
        Person.objects.count(),
    )


@pytest.mark.django_db
def test_no_account_is_created_when_demo_is_off(departments, monkeypatch):
    monkeypatch.setenv("SMARTAPPROVAL_DEMO", "0")

    seed()

    assert not User.objects.exists()


@pytest.mark.django_db
def test_staff_of_a_missing_department_are_created_by_a_later_run():
    seed()

    created = set(User.objects.values_list("username", flat=True))
    assert created == {"admin", "manager", "enterprise", "citizen"}

    department_ensure(actor=None, name=FEASIBILITY_DEPARTMENT, code="1")
    department_ensure(actor=None, name=OTHER_DEPARTMENT, code="2")
    department_ensure(actor=None, name=PLANNING_DEPARTMENT, code="3")
    department_ensure(actor=None, name=RESOURCES_DEPARTMENT, code="4")
    seed()

    assert set(User.objects.values_list("username", flat=True)) == USERNAMES


@pytest.mark.django_db
def test_every_created_account_is_in_the_audit_trail(departments):
    seed()

    audited = set(
        AuditEntry.objects.filter(target_type="accounts.user").values_list(
            "target_id", flat=True
        )
    )
    assert audited == {str(pk) for pk in User.objects.values_list("pk", flat=True)}


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2_outside_the_tests(departments, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]

    seed()

    assert User.objects.get(username="admin").password.startswith("argon2")

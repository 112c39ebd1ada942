"""Factories for cases tests: departments, people, items, cases, tasks."""

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from smartapproval.accounts.models import ApplicantKind, Department, Role, User
from smartapproval.cases import services
from smartapproval.cases.models import Case, CaseStatus, Channel, Task
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.catalogue.models import (
    ItemStatus,
    ItemType,
    MaterialRequirement,
    ServiceItem,
)
from smartapproval.core.codes import (
    organisation_check_char,
    resident_check_char,
    uscc_check_char,
)
from smartapproval.core.models import LimitUnit
from smartapproval.parties.models import Person

PASSWORD = "correct horse 42"


def resident_id(n: int) -> str:
    """A made-up resident ID number with a valid check character."""
    body = f"11010519900101{n % 1000:03d}"
    return body + resident_check_char(body)


def uscc(n: int) -> str:
    """A made-up unified social credit code that passes every check."""
    organisation = f"MA{n % 1000000:06d}"
    organisation += organisation_check_char(organisation)
    body = "91320505" + organisation
    return body + uscc_check_char(body)


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    code = factory.Sequence(lambda n: f"11511602CS{n:07d}")
    name = factory.Sequence(lambda n: f"广安区测试{n}局")
    region_code = "511602"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"case-user{n}")
    name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.APPLICANT
    applicant_kind = ApplicantKind.PERSON

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        user = model_class(*args, **kwargs)
        user.set_password(password)
        user.save()
        return user


class ApplicantFactory(UserFactory):
    pass


class ClerkFactory(UserFactory):
    role = Role.CLERK
    applicant_kind = ""
    department = factory.SubFactory(DepartmentFactory)


class ReviewerFactory(ClerkFactory):
    role = Role.REVIEWER


class ManagerFactory(UserFactory):
    role = Role.MANAGER
    applicant_kind = ""
    department = None


class ServiceItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceItem

    implementation_code = factory.Sequence(
        lambda n: f"11511602CS0000001-{n:06d}-000-1-00"
    )
    name = factory.Sequence(lambda n: f"测试许可事项{n}")
    item_type = ItemType.LICENSING
    department = factory.SubFactory(DepartmentFactory)
    legal_limit_value = 20
    legal_limit_unit = LimitUnit.WORKING_DAYS
    legal_limit_confirmed = True
    promised_limit_value = 5
    promised_limit_unit = LimitUnit.WORKING_DAYS
    status = ItemStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class MaterialRequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MaterialRequirement

    item = factory.SubFactory(ServiceItemFactory)
    order = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"申请材料{n}")
    required = True


class CaseFactory(factory.django.DjangoModelFactory):
    """A case in a given status, written directly (no service) for reads."""

    class Meta:
        model = Case

    number = factory.Sequence(lambda n: f"511602-20240101-{n + 900000:06d}")
    item = factory.SubFactory(ServiceItemFactory)
    item_version = 1
    department = factory.LazyAttribute(lambda case: case.item.department)
    channel = Channel.ONLINE
    status = CaseStatus.SUBMITTED
    applicant_kind = ApplicantKind.PERSON
    applicant_account = factory.SubFactory(ApplicantFactory)
    applicant_name = "李四"
    applicant_code = factory.Sequence(resident_id)
    contact_name = "李四"
    contact_phone = "13800138000"
    submitted_at = factory.LazyFunction(timezone.now)


class TaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Task

    case = factory.SubFactory(CaseFactory, status=CaseStatus.IN_REVIEW)
    node_key = "review"
    name = "审查"
    department = factory.LazyAttribute(lambda task: task.case.department)


def person_applicant(n: int = 1, **overrides) -> dict:
    """The applicant part of a submission by a natural person."""
    return {
        "kind": ApplicantKind.PERSON,
        "name": "王五",
        "code": resident_id(n),
        "contact_phone": "13900139000",
        **overrides,
    }


def enterprise_applicant(n: int = 1, **overrides) -> dict:
    """The applicant part of a submission by an enterprise."""
    return {
        "kind": ApplicantKind.ENTERPRISE,
        "name": "广安测试有限公司",
        "code": uscc(n),
        "legal_representative": "赵六",
        "contact_phone": "0826-2222222",
        **overrides,
    }


def pdf(name: str = "申请书.pdf", body: bytes = b"content") -> SimpleUploadedFile:
    """A small file that really is a PDF."""
    return SimpleUploadedFile(
        name, b"%PDF-1.4\n" + body + b"\n%%EOF\n", content_type="application/pdf"
    )


def png(name: str = "照片.png") -> SimpleUploadedFile:
    """A small file that really is a PNG."""
    return SimpleUploadedFile(
        name, b"\x89PNG\r\n\x1a\n" + b"\x00" * 32, content_type="image/png"
    )


def all_materials(item) -> list:
    """One PDF for every material the item lists."""
    return [
        MaterialUpload(file=pdf(f"{req.name}.pdf"), requirement_id=req.pk)
        for req in item.materials.all()
    ]


def account_for(applicant, n: int):
    """Return the account that applies online as test person ``n``.

    An account applies online only in its own name: the first person it
    applies as becomes its identity. Another person ``n`` gets an account of
    its own, made once per (account, n).
    """
    code = resident_id(n)
    own = Person.objects.filter(account=applicant).first()
    if own is None or own.id_number == code:
        return applicant
    taken = Person.objects.filter(id_number=code).select_related("account").first()
    if taken is not None and taken.account is not None:
        return taken.account
    return ApplicantFactory(username=f"{applicant.username}-as-{n}")


def submitted_case(*, item, applicant, n: int = 1, materials=None, key: str = ""):
    """Submit a case online through the service, with every material.

    As the account of test person ``n`` (``account_for``).
    """
    return services.case_submit(
        actor=account_for(applicant, n),
        item=item,
        applicant=person_applicant(n),
        form_data={"purpose": "测试"},
        materials=all_materials(item) if materials is None else materials,
        idempotency_key=key,
    ).case


def accepted_case(*, item, applicant, clerk, n: int = 1):
    """Submit and accept a case; it is then in review with its first task."""
    case = submitted_case(item=item, applicant=applicant, n=n)
    return services.case_accept(case=case, actor=clerk)

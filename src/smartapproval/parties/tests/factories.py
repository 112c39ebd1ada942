import factory

from smartapproval.accounts.models import ApplicantKind, Role, User
from smartapproval.core.codes import (
    organisation_check_char,
    resident_check_char,
    uscc_check_char,
)
from smartapproval.parties.models import Enterprise, Person


def resident_id(serial: int, *, region: str = "511602", born: str = "19850312") -> str:
    """Return a valid made-up resident ID number."""
    body = f"{region}{born}{serial % 1000:03d}"
    return body + resident_check_char(body)


def credit_code(serial: int, *, region: str = "511602") -> str:
    """Return a valid made-up credit code of an enterprise (91…)."""
    organisation = f"MA6{serial % 100000:05d}"
    body = f"91{region}{organisation}{organisation_check_char(organisation)}"
    return body + uscc_check_char(body)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"party-user-{n}")
    name = "李四"
    phone = "13900139000"
    role = Role.APPLICANT
    applicant_kind = ApplicantKind.PERSON


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = "王五"
    id_number = factory.Sequence(resident_id)
    phone = "13712345678"
    address = "四川省广安市广安区建设路1号"


class EnterpriseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enterprise

    name = factory.Sequence(lambda n: f"广安第{n}建设有限公司")
    uscc = factory.Sequence(credit_code)
    legal_representative = "赵六"
    legal_representative_id_number = factory.Sequence(
        lambda n: resident_id(n, born="19700101")
    )
    address = "四川省广安市广安区中桥路8号"
    phone = "08262345678"

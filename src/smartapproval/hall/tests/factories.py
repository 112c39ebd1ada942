import factory
from django.utils import timezone

from smartapproval.accounts.tests.factories import DepartmentFactory
from smartapproval.cases.models import Case, CaseEvent, CaseStatus, Channel
from smartapproval.catalogue.models import (
    ItemStatus,
    ItemType,
    MaterialRequirement,
    ServiceItem,
)
from smartapproval.core.models import LimitUnit


class ServiceItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceItem

    implementation_code = factory.Sequence(lambda n: f"11511602MB1234567X{n:06d}0000")
    basic_code = factory.Sequence(lambda n: f"0001{n:08d}")
    name = factory.Sequence(lambda n: f"食品经营许可{n}")
    item_type = ItemType.LICENSING
    department = factory.SubFactory(DepartmentFactory)
    region_code = "511602"
    legal_limit_value = 20
    legal_limit_unit = LimitUnit.WORKING_DAYS
    legal_limit_confirmed = True
    promised_limit_value = 5
    promised_limit_unit = LimitUnit.WORKING_DAYS
    on_site_visits = 1
    handling_modes = factory.LazyFunction(lambda: ["window", "online"])
    status = ItemStatus.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class MaterialRequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MaterialRequirement

    item = factory.SubFactory(ServiceItemFactory)
    order = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"申请书{n}")
    required = True
    originals = 1
    copies = 0


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    number = factory.Sequence(lambda n: f"511602-20241008-{n:05d}")
    item = factory.SubFactory(ServiceItemFactory)
    item_version = 1
    department = factory.LazyAttribute(lambda case: case.item.department)
    channel = Channel.ONLINE
    status = CaseStatus.ACCEPTED
    applicant_kind = "person"
    applicant_name = "李四"
    applicant_code = "36010219970220013X"
    contact_name = "李四"
    contact_phone = "13900139000"
    submitted_at = factory.LazyFunction(timezone.now)


class CaseEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseEvent

    case = factory.SubFactory(CaseFactory)
    action = "accept"
    status_from = CaseStatus.SUBMITTED
    status_to = CaseStatus.ACCEPTED

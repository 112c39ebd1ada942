import factory

from smartapproval.accounts.models import Department, Role, User
from smartapproval.catalogue.models import (
    ItemStatus,
    ItemType,
    MaterialRequirement,
    ServiceItem,
)
from smartapproval.core.models import LimitUnit


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"测试部门{n}")
    code = factory.Sequence(lambda n: f"11511301TEST{n:06d}")
    region_code = "511602"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.APPLICANT


class AdminUserFactory(UserFactory):
    username = factory.Sequence(lambda n: f"admin{n}")
    role = Role.ADMIN
    is_staff = True
    is_superuser = True


class ServiceItemFactory(factory.django.DjangoModelFactory):
    """A draft item that meets every publication rule but publication."""

    class Meta:
        model = ServiceItem

    implementation_code = factory.Sequence(
        lambda n: f"511A{n:010d}-511602000000-000-11511301TEST000001-1-00"
    )
    basic_code = factory.Sequence(lambda n: f"511A{n:010d}")
    name = factory.Sequence(lambda n: f"测试事项{n}")
    item_type = ItemType.PUBLIC_SERVICE
    department = factory.SubFactory(DepartmentFactory)
    region_code = "511602"
    legal_limit_value = 20
    legal_limit_unit = LimitUnit.WORKING_DAYS
    legal_limit_confirmed = True
    promised_limit_value = 5
    promised_limit_unit = LimitUnit.WORKING_DAYS
    status = ItemStatus.DRAFT


class MaterialRequirementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MaterialRequirement

    item = factory.SubFactory(ServiceItemFactory)
    order = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"申请材料{n}")
    copies = 1

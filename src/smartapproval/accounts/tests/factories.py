import factory

from smartapproval.accounts.models import ApplicantKind, Department, Role, User

PASSWORD = "correct horse 42"


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    code = factory.Sequence(lambda n: f"11511602MB{n:07d}X")
    name = factory.Sequence(lambda n: f"广安区第{n}局")
    region_code = "511602"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"user{n}")
    name = "张三"
    phone = "13800138000"
    role = Role.APPLICANT
    applicant_kind = ApplicantKind.PERSON

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", PASSWORD)
        user = model_class(*args, **kwargs)
        user.set_password(password)
        user.save()
        return user


class StaffFactory(UserFactory):
    role = Role.REVIEWER
    applicant_kind = ""
    department = factory.SubFactory(DepartmentFactory)


class AdminFactory(UserFactory):
    role = Role.ADMIN
    applicant_kind = ""
    is_staff = True
    is_superuser = True

import factory

from smartapproval.accounts.models import Role, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"audit-user-{n}")
    name = "孙八"
    phone = "13712345678"
    role = Role.APPLICANT

import pytest
from django.urls import reverse

from smartapproval.accounts.models import ApplicantKind, Role, User
from smartapproval.accounts.tests.factories import UserFactory
from smartapproval.audit.models import AuditEntry
from smartapproval.core import codes
from smartapproval.core.api import ServiceError
from smartapproval.hall import services
from smartapproval.parties.models import Enterprise, Person

pytestmark = pytest.mark.django_db

# Made-up codes from the shared failure cases (cases 6 and 8).
VALID_ID = "36010219970220013X"
BAD_CHECKSUM_ID = "360102199702200131"
# Valid, but its organisation code fails GB 11714: the check only warns.
WARNED_USCC = "91320505MA1F0M2E40"


def made_up_uscc() -> str:
    """Return a credit code that passes every check without a warning."""
    organisation = "34567890"
    body = "91511602" + organisation + codes.organisation_check_char(organisation)
    return body + codes.uscc_check_char(body)


VALID_USCC = made_up_uscc()


def person_form(**overrides):
    data = {
        "username": "zhangsan",
        "password1": "a long enough passphrase 9",
        "password2": "a long enough passphrase 9",
        "name": "张三",
        "phone": "13800138000",
        "applicant_kind": "person",
        "id_number": VALID_ID,
    }
    return {**data, **overrides}


def enterprise_form(**overrides):
    data = {
        **person_form(applicant_kind="enterprise", id_number=""),
        "enterprise_name": "苏州某某科技有限公司",
        "uscc": VALID_USCC,
        "legal_representative": "王五",
    }
    return {**data, **overrides}


def test_registration_page_renders_in_chinese(client):
    response = client.get(reverse("hall:register"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "注册" in page
    assert "公民身份号码" in page
    assert "统一社会信用代码" in page


def test_person_registers_logs_in_and_is_in_the_person_library(client):
    response = client.post(reverse("hall:register"), person_form())

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")
    user = User.objects.get(username="zhangsan")
    assert user.role == Role.APPLICANT
    assert user.applicant_kind == ApplicantKind.PERSON
    assert user.check_password("a long enough passphrase 9")
    person = Person.objects.get(id_number=VALID_ID)
    assert person.account == user
    assert person.name == "张三"
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditEntry.objects.filter(
        action="user_registered", target_id=str(user.pk)
    ).exists()


def test_enterprise_registers_into_the_enterprise_library(client):
    response = client.post(reverse("hall:register"), enterprise_form())

    assert response.status_code == 302
    enterprise = Enterprise.objects.get(uscc=VALID_USCC)
    assert enterprise.name == "苏州某某科技有限公司"
    assert enterprise.legal_representative == "王五"
    assert enterprise.account.username == "zhangsan"
    assert not Person.objects.exists()


def test_bad_id_number_is_refused_in_chinese_and_nothing_is_saved(client):
    response = client.post(
        reverse("hall:register"), person_form(id_number=BAD_CHECKSUM_ID)
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "校验码" in errors["id_number"][0]
    assert "校验码" in response.content.decode()
    assert not User.objects.exists()
    assert not Person.objects.exists()
    assert not AuditEntry.objects.exists()


def test_bad_credit_code_is_refused_next_to_its_field(client):
    response = client.post(
        reverse("hall:register"), enterprise_form(uscc="91320505MA1EUHUX70")
    )

    assert response.status_code == 200
    assert "uscc" in response.context["form"].errors
    assert not User.objects.exists()
    assert not Enterprise.objects.exists()


def test_credit_code_with_a_warning_needs_confirmation(client):
    response = client.post(reverse("hall:register"), enterprise_form(uscc=WARNED_USCC))

    assert response.status_code == 200
    message = response.context["form"].errors["uscc"][0]
    assert "GB 11714" in message
    assert "请勾选确认" in message
    assert not User.objects.exists()

    confirmed = client.post(
        reverse("hall:register"),
        enterprise_form(uscc=WARNED_USCC, uscc_confirmed="on"),
    )

    assert confirmed.status_code == 302
    assert Enterprise.objects.filter(uscc=WARNED_USCC).exists()


def test_resident_id_typed_as_credit_code_is_not_stored(client):
    # Case 8b: an ID number in the credit-code field.
    response = client.post(
        reverse("hall:register"), enterprise_form(uscc=VALID_ID, uscc_confirmed="on")
    )

    assert response.status_code == 200
    assert "uscc" in response.context["form"].errors
    assert not Enterprise.objects.exists()
    assert not User.objects.exists()


def test_kind_specific_fields_are_required(client):
    person = client.post(reverse("hall:register"), person_form(id_number=""))
    enterprise = client.post(
        reverse("hall:register"), enterprise_form(enterprise_name="", uscc="")
    )

    assert "id_number" in person.context["form"].errors
    assert {"enterprise_name", "uscc"} <= set(enterprise.context["form"].errors)
    assert "必填项" in person.content.decode()
    assert not User.objects.exists()


def test_bad_phone_and_mismatched_passwords_are_refused(client):
    response = client.post(
        reverse("hall:register"),
        person_form(phone="12345", password2="something else 9"),
    )

    errors = response.context["form"].errors
    assert "11 位手机号码" in errors["phone"][0]
    assert "两次输入的密码不一致" in errors["password2"][0]
    assert not User.objects.exists()


def test_taken_username_is_refused(client):
    UserFactory(username="zhangsan")

    response = client.post(reverse("hall:register"), person_form())

    assert "该用户名已被使用" in response.context["form"].errors["username"][0]
    assert not Person.objects.exists()


def test_id_number_of_another_account_is_refused(client):
    owner = UserFactory()
    Person.objects.create(name="原主", id_number=VALID_ID, account=owner)

    response = client.post(reverse("hall:register"), person_form(name="冒用者"))

    assert "已注册" in response.context["form"].errors["id_number"][0]
    assert Person.objects.get(id_number=VALID_ID).name == "原主"
    assert not User.objects.filter(username="zhangsan").exists()


def test_signing_up_does_not_claim_a_record_known_from_a_window_case():
    # Nothing online proves the new account is that person: the record a
    # clerk made from the ID card stays as it was, unlinked.
    Person.objects.create(name="张三", id_number=VALID_ID, phone="13900000000")

    user = services.applicant_register(
        actor=None,
        username="zhangsan",
        password="a long enough passphrase 9",
        name="张三",
        phone="13800138000",
        kind=ApplicantKind.PERSON,
        id_number=VALID_ID.lower(),
    )

    person = Person.objects.get(id_number=VALID_ID)
    assert user.pk is not None
    assert person.account is None
    assert person.phone == "13900000000"


def test_service_refuses_an_unknown_applicant_kind():
    with pytest.raises(ServiceError) as raised:
        services.applicant_register(
            actor=None,
            username="x",
            password="a long enough passphrase 9",
            name="x",
            phone="13800138000",
            kind="robot",
        )

    assert raised.value.field == "applicant_kind"
    assert not User.objects.exists()


def test_signed_in_user_is_sent_home_from_the_registration_page(client):
    client.force_login(UserFactory())

    response = client.get(reverse("hall:register"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:home")

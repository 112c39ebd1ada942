import pytest
from django.test import Client

from smartapproval.accounts.models import Role
from smartapproval.core.masking import mask_id_number
from smartapproval.parties.tests.factories import (
    EnterpriseFactory,
    PersonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PERSONS = "/admin/parties/person/"


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


def test_person_list_shows_masked_id_numbers(admin_client):
    person = PersonFactory()

    page = admin_client.get(PERSONS).content.decode()

    assert mask_id_number(person.id_number) in page
    assert person.id_number not in page


def test_person_search_matches_the_exact_id_number_only(admin_client):
    person = PersonFactory(name="王小明")
    PersonFactory(name="李华")

    exact = admin_client.get(PERSONS, {"q": person.id_number.lower()})
    partial = admin_client.get(PERSONS, {"q": person.id_number[:8]})

    assert list(exact.context["cl"].result_list) == [person]
    assert list(partial.context["cl"].result_list) == []


def test_person_detail_is_read_only_and_masked(admin_client):
    person = PersonFactory()

    page = admin_client.get(f"{PERSONS}{person.pk}/change/")

    assert page.status_code == 200
    assert person.id_number not in page.content.decode()
    assert admin_client.get(f"{PERSONS}add/").status_code == 403
    assert admin_client.post(f"{PERSONS}{person.pk}/delete/").status_code == 403


def test_enterprise_search_matches_the_exact_credit_code(admin_client):
    target = EnterpriseFactory()
    EnterpriseFactory()

    response = admin_client.get("/admin/parties/enterprise/", {"q": target.uscc})

    assert list(response.context["cl"].result_list) == [target]
    assert target.legal_representative_id_number not in response.content.decode()

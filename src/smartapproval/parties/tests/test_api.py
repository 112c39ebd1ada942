import pytest
from rest_framework.test import APIClient

from smartapproval.accounts.models import ApplicantKind, Role
from smartapproval.audit.models import AuditEntry
from smartapproval.cases.tests.factories import CaseFactory, DepartmentFactory
from smartapproval.core.masking import mask_id_number, mask_phone
from smartapproval.parties.tests.factories import (
    EnterpriseFactory,
    PersonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

PERSONS = "/api/v1/applicants/persons/"
ENTERPRISES = "/api/v1/applicants/enterprises/"


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _with_cases_of(user, *parties):
    """Put ``user`` in a department that has a case of each of ``parties``."""
    department = DepartmentFactory()
    user.department = department
    user.save()
    for party in parties:
        field = "enterprise" if hasattr(party, "uscc") else "person"
        CaseFactory(item__department=department, **{field: party})
    return user


@pytest.fixture
def person():
    return PersonFactory(phone="13712345678")


@pytest.fixture
def enterprise():
    return EnterpriseFactory(phone="08262345678")


class TestMasking:
    @pytest.mark.parametrize("role", [Role.CLERK, Role.MANAGER, Role.ADMIN])
    def test_every_staff_role_sees_masked_numbers(self, role, person, enterprise):
        user = _with_cases_of(UserFactory(role=role), person, enterprise)
        client = _client(user)

        body = client.get(f"{PERSONS}{person.pk}/").json()
        company = client.get(f"{ENTERPRISES}{enterprise.pk}/").json()

        assert body["id_number"] == mask_id_number(person.id_number)
        assert body["id_number"] != person.id_number
        assert body["phone"] == "137****5678"
        assert body["pii_masked"] is True
        assert company["uscc"] == enterprise.uscc
        assert company["legal_representative_id_number"] == mask_id_number(
            enterprise.legal_representative_id_number
        )
        assert company["phone"] == mask_phone("08262345678")

    def test_applicant_sees_own_entry_masked(self):
        user = UserFactory()
        own = PersonFactory(account=user)

        body = _client(user).get(PERSONS).json()

        assert [row["id"] for row in body["results"]] == [own.pk]
        assert body["results"][0]["id_number"] == mask_id_number(own.id_number)

    @pytest.mark.parametrize("role", [Role.CLERK, Role.MANAGER])
    def test_list_masks_every_row_for_staff(self, role):
        people = PersonFactory.create_batch(3, name="王五")
        user = _with_cases_of(UserFactory(role=role), *people)

        body = _client(user).get(PERSONS, {"q": "王"}).json()

        assert body["count"] == 3
        assert all("*" in row["id_number"] for row in body["results"])
        assert all("*" in row["phone"] for row in body["results"])

    def test_list_search_by_exact_id_number(self, person):
        PersonFactory()
        client = _client(UserFactory(role=Role.CLERK))

        body = client.get(PERSONS, {"q": person.id_number}).json()

        assert [row["id"] for row in body["results"]] == [person.pk]
        assert body["results"][0]["id_number"] == mask_id_number(person.id_number)
        assert "hint" not in body

    @pytest.mark.parametrize("path", [PERSONS, ENTERPRISES])
    def test_staff_list_without_a_search_is_empty_with_a_hint(
        self, path, person, enterprise
    ):
        client = _client(UserFactory(role=Role.CLERK))

        body = client.get(path).json()

        assert body["count"] == 0
        assert body["results"] == []
        assert "证件号码" in body["hint"]


class TestScope:
    def test_applicant_gets_404_for_someone_elses_entry(self, person):
        response = _client(UserFactory()).get(f"{PERSONS}{person.pk}/")

        assert response.status_code == 404
        assert response.json()["message"] == "未找到该资源。"

    @pytest.mark.parametrize("role", [Role.REVIEWER, Role.REGULATOR])
    def test_roles_outside_the_library_get_404(self, role, person, enterprise):
        client = _client(UserFactory(role=role))

        assert client.get(PERSONS).status_code == 404
        assert client.get(f"{PERSONS}{person.pk}/").status_code == 404
        assert client.get(f"{ENTERPRISES}{enterprise.pk}/").status_code == 404

    def test_anonymous_user_is_refused(self, person):
        response = APIClient().get(f"{PERSONS}{person.pk}/")

        assert response.status_code in {401, 403}


class TestReveal:
    def test_manager_reveals_id_number_and_the_reveal_is_audited(self, person):
        manager = UserFactory(role=Role.MANAGER)

        response = _client(manager).post(
            f"{PERSONS}{person.pk}/reveal", {"field": "id_number"}, format="json"
        )

        assert response.status_code == 200
        assert response.json() == {"field": "id_number", "value": person.id_number}
        entry = AuditEntry.objects.get(action="pii_revealed")
        assert entry.actor == manager
        assert entry.target_type == "parties.person"
        assert entry.target_id == str(person.pk)
        assert entry.after == {"field": "id_number"}
        assert person.id_number not in repr(
            [entry.before, entry.after, entry.note, entry.target_label]
        )

    def test_clerk_reveals_a_number_and_the_reveal_is_audited(self, person):
        clerk = _with_cases_of(UserFactory(role=Role.CLERK), person)

        response = _client(clerk).post(
            f"{PERSONS}{person.pk}/reveal", {"field": "phone"}, format="json"
        )

        assert response.status_code == 200
        assert response.json()["value"] == "13712345678"
        assert AuditEntry.objects.filter(actor=clerk).count() == 1

    def test_admin_reveals_representative_id_of_an_enterprise(self, enterprise):
        response = _client(UserFactory(role=Role.ADMIN)).post(
            f"{ENTERPRISES}{enterprise.pk}/reveal",
            {"field": "legal_representative_id_number"},
            format="json",
        )

        assert response.json()["value"] == enterprise.legal_representative_id_number
        assert AuditEntry.objects.filter(action="pii_revealed").count() == 1

    def test_field_that_cannot_be_revealed_is_a_400_naming_field(self, person):
        response = _client(UserFactory(role=Role.MANAGER)).post(
            f"{PERSONS}{person.pk}/reveal", {"field": "address"}, format="json"
        )

        assert response.status_code == 400
        assert response.json()["field"] == "field"
        assert response.json()["message"].startswith("只能查看以下号码的完整内容")
        assert not AuditEntry.objects.exists()

    def test_applicant_cannot_reveal_even_their_own_entry(self):
        user = UserFactory()
        own = PersonFactory(account=user)

        response = _client(user).post(
            f"{PERSONS}{own.pk}/reveal", {"field": "id_number"}, format="json"
        )

        assert response.status_code == 403
        assert not AuditEntry.objects.exists()

    def test_reviewer_gets_404_on_reveal(self, person):
        response = _client(UserFactory(role=Role.REVIEWER)).post(
            f"{PERSONS}{person.pk}/reveal", {"field": "id_number"}, format="json"
        )

        assert response.status_code == 404
        assert not AuditEntry.objects.exists()


class TestPrefill:
    def test_applicant_gets_prefill_from_their_latest_entry(self):
        user = UserFactory(applicant_kind=ApplicantKind.ENTERPRISE, name="经办人甲")
        enterprise = EnterpriseFactory(account=user)

        response = _client(user).get("/api/v1/applicants/prefill")

        assert response.status_code == 200
        assert response.json()["applicant_code"] == enterprise.uscc
        assert response.json()["applicant_kind"] == "enterprise"


class TestClerkScope:
    """A clerk opens only applicants of their own department's cases."""

    def test_clerk_of_another_department_gets_404_on_detail_and_reveal(
        self, person, enterprise
    ):
        _with_cases_of(UserFactory(role=Role.CLERK), person, enterprise)
        outsider = _client(_with_cases_of(UserFactory(role=Role.CLERK)))

        detail = outsider.get(f"{PERSONS}{person.pk}/")
        company = outsider.get(f"{ENTERPRISES}{enterprise.pk}/")
        reveal = outsider.post(
            f"{PERSONS}{person.pk}/reveal", {"field": "id_number"}, format="json"
        )

        assert (detail.status_code, company.status_code) == (404, 404)
        assert reveal.status_code == 404
        assert person.id_number not in reveal.content.decode()
        assert not AuditEntry.objects.filter(action="pii_revealed").exists()

    def test_clerk_of_another_department_finds_a_person_only_by_exact_code(
        self, person
    ):
        _with_cases_of(UserFactory(role=Role.CLERK), person)
        outsider = _client(_with_cases_of(UserFactory(role=Role.CLERK)))

        by_name = outsider.get(PERSONS, {"q": person.name[:1]}).json()
        by_code = outsider.get(PERSONS, {"q": person.id_number}).json()

        assert by_name["count"] == 0
        assert [row["id"] for row in by_code["results"]] == [person.pk]
        assert by_code["results"][0]["id_number"] == mask_id_number(person.id_number)

    def test_clerk_without_a_department_opens_nobody(self, person):
        clerk = UserFactory(role=Role.CLERK)

        assert _client(clerk).get(f"{PERSONS}{person.pk}/").status_code == 404

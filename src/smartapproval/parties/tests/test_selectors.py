from datetime import timedelta

import pytest
from django.utils import timezone

from smartapproval.accounts.models import ApplicantKind, Role
from smartapproval.parties.selectors import (
    applicant_prefill,
    enterprise_list_for_user,
    enterprise_visible_to,
    person_list_for_user,
    person_visible_to,
)
from smartapproval.parties.tests.factories import (
    EnterpriseFactory,
    PersonFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _touch(instance, *, days_ago):
    # updated_at is auto_now; set it with an update to order entries.
    type(instance).objects.filter(pk=instance.pk).update(
        updated_at=timezone.now() - timedelta(days=days_ago)
    )


class TestApplicantPrefill:
    def test_person_applicant_gets_their_person_entry(self):
        user = UserFactory(applicant_kind=ApplicantKind.PERSON)
        person = PersonFactory(account=user, name="王五", phone="13712345678")

        prefill = applicant_prefill(user=user)

        assert prefill == {
            "applicant_kind": "person",
            "applicant_name": "王五",
            "applicant_code": person.id_number,
            "contact_name": "王五",
            "contact_phone": "13712345678",
            "legal_representative": "",
            "address": person.address,
        }

    def test_enterprise_applicant_gets_the_latest_enterprise_entry(self):
        user = UserFactory(applicant_kind=ApplicantKind.ENTERPRISE, name="经办人甲")
        older = EnterpriseFactory(account=user)
        latest = EnterpriseFactory(account=user, legal_representative="钱七")
        PersonFactory(account=user)
        _touch(older, days_ago=3)
        _touch(latest, days_ago=1)

        prefill = applicant_prefill(user=user)

        assert prefill["applicant_kind"] == "enterprise"
        assert prefill["applicant_code"] == latest.uscc
        assert prefill["legal_representative"] == "钱七"
        assert prefill["contact_name"] == "经办人甲"

    def test_account_without_kind_gets_the_entry_changed_last(self):
        user = UserFactory(applicant_kind="")
        person = PersonFactory(account=user)
        enterprise = EnterpriseFactory(account=user)
        _touch(enterprise, days_ago=5)

        prefill = applicant_prefill(user=user)

        assert prefill["applicant_code"] == person.id_number

    def test_enterprise_contact_is_a_person_never_the_company_name(self):
        user = UserFactory(
            applicant_kind=ApplicantKind.ENTERPRISE, name="灵山县演示城建投资有限公司"
        )
        EnterpriseFactory(
            account=user,
            name="灵山县演示城建投资有限公司",
            legal_representative="李建国",
        )

        prefill = applicant_prefill(user=user)

        assert prefill["applicant_name"] == "灵山县演示城建投资有限公司"
        assert prefill["contact_name"] == "李建国"

    def test_enterprise_account_with_no_entry_leaves_the_company_name_empty(self):
        user = UserFactory(applicant_kind=ApplicantKind.ENTERPRISE, name="经办人甲")

        prefill = applicant_prefill(user=user)

        assert prefill["applicant_name"] == ""
        assert prefill["contact_name"] == "经办人甲"

    def test_account_with_no_entry_gets_its_own_name_and_phone(self):
        user = UserFactory(name="李四", phone="13900139000")
        PersonFactory()

        prefill = applicant_prefill(user=user)

        assert prefill["applicant_kind"] == "person"
        assert prefill["applicant_name"] == "李四"
        assert prefill["applicant_code"] == ""
        assert prefill["contact_phone"] == "13900139000"


class TestLibraryLists:
    @pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
    def test_library_staff_must_search_and_never_list_everyone(self, role):
        people = PersonFactory.create_batch(3, name="王五")
        EnterpriseFactory.create_batch(2)
        user = UserFactory(role=role)

        assert not person_list_for_user(user=user).exists()
        assert not person_list_for_user(user=user, query="  ").exists()
        assert not enterprise_list_for_user(user=user).exists()
        assert person_list_for_user(user=user, query="王").count() == 3
        assert list(person_visible_to(user=user).order_by("pk")) == people
        assert enterprise_visible_to(user=user).count() == 2

    def test_applicant_sees_only_entries_linked_to_their_account(self):
        user = UserFactory()
        own = PersonFactory(account=user)
        PersonFactory(account=UserFactory())
        PersonFactory()

        assert list(person_list_for_user(user=user)) == [own]
        assert not enterprise_list_for_user(user=user).exists()

    @pytest.mark.parametrize("role", [Role.REVIEWER, Role.REGULATOR])
    def test_reviewers_and_regulators_see_nothing(self, role):
        PersonFactory(account=None)
        user = UserFactory(role=role)

        assert not person_list_for_user(user=user).exists()

    def test_search_finds_exact_code_phone_or_part_of_name(self):
        clerk = UserFactory(role=Role.MANAGER)
        wang = PersonFactory(name="王小明", phone="13711112222")
        PersonFactory(name="李华", phone="13733334444")

        def found(query):
            return list(person_list_for_user(user=clerk, query=query))

        assert found(wang.id_number.lower()) == [wang]
        assert found("137 1111 2222") == [wang]
        assert found("小明") == [wang]
        assert found(wang.id_number[:10]) == []

    def test_search_finds_enterprise_by_credit_code(self):
        clerk = UserFactory(role=Role.CLERK)
        target = EnterpriseFactory()
        EnterpriseFactory()

        assert list(enterprise_list_for_user(user=clerk, query=target.uscc)) == [target]

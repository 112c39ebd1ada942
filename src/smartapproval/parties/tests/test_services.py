import threading

import pytest
from django.db import connection
from structlog.testing import capture_logs

from smartapproval.audit.models import AuditEntry
from smartapproval.core.api import ServiceError
from smartapproval.parties.models import Enterprise, Person
from smartapproval.parties.services import (
    enterprise_record,
    party_violation_record,
    person_record,
)
from smartapproval.parties.tests.factories import (
    UserFactory,
    credit_code,
    resident_id,
)

pytestmark = pytest.mark.django_db

ID = resident_id(7)
USCC = credit_code(7)


def _entries(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def _person(**overrides):
    values = {
        "actor": None,
        "name": "王五",
        "id_number": ID,
        "phone": "13712345678",
        "address": "广安区建设路1号",
    }
    return person_record(**{**values, **overrides})


def _enterprise(**overrides):
    values = {
        "actor": None,
        "name": "广安建设有限公司",
        "uscc": USCC,
        "legal_representative": "赵六",
        "legal_representative_id_number": ID,
        "address": "广安区中桥路8号",
        "phone": "08262345678",
    }
    return enterprise_record(**{**values, **overrides})


class TestPersonRecord:
    def test_new_person_is_created_and_audited_with_its_values(self):
        clerk = UserFactory(role="clerk")

        person = _person(actor=clerk)

        assert Person.objects.get() == person
        [entry] = _entries("person_created")
        assert entry.actor == clerk
        assert entry.target_id == str(person.pk)
        assert entry.after == {
            "name": "王五",
            "id_number": ID,
            "phone": "13712345678",
            "address": "广安区建设路1号",
            "account": None,
        }

    def test_recording_the_same_person_twice_keeps_one_entry_and_one_audit_row(self):
        first = _person()
        second = _person(id_number=f" {ID[:6]} {ID[6:]} ")

        assert first.pk == second.pk
        assert Person.objects.count() == 1
        assert AuditEntry.objects.count() == 1

    def test_lowercase_x_finds_the_entry_stored_with_capital_x(self):
        id_number = "51160219850312018X"
        stored = _person(id_number=id_number)

        found = _person(id_number=id_number.lower())

        assert found.pk == stored.pk
        assert found.id_number == id_number

    def test_changed_phone_is_stored_and_audited_with_before_and_after(self):
        person = _person()

        _person(phone="13800000001", address="")

        person.refresh_from_db()
        assert person.phone == "13800000001"
        assert person.address == "广安区建设路1号"
        [entry] = _entries("person_changed")
        assert entry.before == {"phone": "13712345678"}
        assert entry.after == {"phone": "13800000001"}

    def test_account_is_linked_once_and_never_taken_from_another_account(self):
        owner, other = UserFactory(), UserFactory()
        person = _person()

        _person(account=owner)
        _person(account=other)

        person.refresh_from_db()
        assert person.account == owner
        [entry] = _entries("person_changed")
        assert entry.after == {"account": owner.pk}

    def test_invalid_id_number_is_refused_naming_the_field_in_chinese(self):
        with pytest.raises(ServiceError) as caught:
            _person(id_number="360102199702200131")

        assert caught.value.field == "id_number"
        assert caught.value.message == "身份证号第18位校验码错误，应为 X"
        assert not Person.objects.exists()

    def test_empty_name_is_refused(self):
        with pytest.raises(ServiceError) as caught:
            _person(name="  ")

        assert caught.value.field == "name"

    def test_phone_with_letters_is_refused(self):
        with pytest.raises(ServiceError) as caught:
            _person(phone="call me")

        assert caught.value.field == "phone"

    def test_logs_carry_ids_but_no_personal_data(self):
        with capture_logs() as logs:
            _person()
            _person(phone="13800000001")

        events = [log["event"] for log in logs]
        assert {"person_created", "person_changed"} <= set(events)
        text = repr(logs)
        for secret in [ID, "王五", "13712345678", "13800000001"]:
            assert secret not in text


class TestEnterpriseRecord:
    def test_new_enterprise_is_created_and_audited(self):
        enterprise = _enterprise()

        assert Enterprise.objects.get() == enterprise
        [entry] = _entries("enterprise_created")
        assert entry.after["uscc"] == USCC
        assert entry.after["legal_representative_id_number"] == ID
        assert entry.note == ""

    def test_recording_again_updates_changed_fields_only(self):
        enterprise = _enterprise()

        _enterprise(uscc=USCC.lower(), legal_representative="钱七", phone="")
        _enterprise(uscc=USCC, legal_representative="钱七")

        enterprise.refresh_from_db()
        assert enterprise.legal_representative == "钱七"
        assert enterprise.phone == "08262345678"
        [entry] = _entries("enterprise_changed")
        assert entry.before == {"legal_representative": "赵六"}
        assert entry.after == {"legal_representative": "钱七"}

    def test_registered_name_keeps_full_width_brackets(self):
        enterprise = _enterprise(name="阿里巴巴（中国）有限公司")

        assert enterprise.name == "阿里巴巴（中国）有限公司"

    def test_invalid_credit_code_is_refused_naming_the_field(self):
        with pytest.raises(ServiceError) as caught:
            _enterprise(uscc="111111111111111115")

        assert caught.value.field == "uscc"
        assert "行政区划码“111111”不存在" in caught.value.message

    def test_resident_id_in_credit_code_field_is_refused(self):
        with pytest.raises(ServiceError) as caught:
            _enterprise(uscc="36010219970220013X")

        assert caught.value.field == "uscc"
        assert not Enterprise.objects.exists()

    def test_credit_code_that_also_reads_as_resident_id_is_stored_with_a_note(self):
        _enterprise(uscc="13110119800101020X")

        [entry] = _entries("enterprise_created")
        assert "这看起来是身份证号" in entry.note

    def test_invalid_representative_id_is_refused_naming_the_field(self):
        with pytest.raises(ServiceError) as caught:
            _enterprise(legal_representative_id_number="12345")

        assert caught.value.field == "legal_representative_id_number"

    def test_missing_legal_representative_is_refused(self):
        with pytest.raises(ServiceError) as caught:
            _enterprise(legal_representative="")

        assert caught.value.field == "legal_representative"


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_records_of_a_new_person_make_one_entry():
    barrier = threading.Barrier(2)
    failures = []

    def record(phone):
        try:
            barrier.wait(timeout=10)
            person_record(actor=None, name="王五", id_number=ID, phone=phone)
        except Exception as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=record, args=(phone,))
        for phone in ["13700000001", "13700000002"]
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Person.objects.count() == 1
    assert len(_entries("person_created")) == 1
    assert len(_entries("person_changed")) == 1


class TestOnlineApplication:
    """An online application changes only its own account's entry."""

    def test_entry_of_another_account_is_refused_and_left_alone(self):
        owner, stranger = UserFactory(), UserFactory()
        person = _person(account=owner)

        with pytest.raises(ServiceError) as error:
            _person(
                actor=stranger,
                account=stranger,
                online=True,
                name="冒名者",
                phone="13800000009",
            )

        assert error.value.status == 409
        assert error.value.field == "id_number"
        assert error.value.message == (
            "该证件号码已由其他账号登记，请使用本人账号申请或到窗口办理"
        )
        person.refresh_from_db()
        assert (person.name, person.phone, person.account) == (
            "王五",
            "13712345678",
            owner,
        )

    def test_enterprise_of_another_account_is_refused_and_left_alone(self):
        owner, stranger = UserFactory(), UserFactory()
        enterprise = _enterprise(account=owner)

        with pytest.raises(ServiceError) as error:
            _enterprise(actor=stranger, account=stranger, online=True, name="冒名公司")

        assert (error.value.status, error.value.field) == (409, "uscc")
        enterprise.refresh_from_db()
        assert (enterprise.name, enterprise.account) == ("广安建设有限公司", owner)

    def test_unlinked_entry_is_neither_changed_nor_linked(self):
        applicant = UserFactory()
        person = _person()

        found = _person(
            actor=applicant, account=applicant, online=True, name="另一个名字"
        )

        assert found.pk == person.pk
        person.refresh_from_db()
        assert (person.name, person.account) == ("王五", None)
        assert not _entries("person_changed")

    def test_own_entry_is_updated_and_a_missing_one_created_linked(self):
        applicant = UserFactory()

        created = _person(actor=applicant, account=applicant, online=True)
        updated = _person(
            actor=applicant, account=applicant, online=True, phone="13800000001"
        )

        assert created.pk == updated.pk
        assert (updated.account, updated.phone) == (applicant, "13800000001")
        assert len(_entries("person_changed")) == 1

    def test_window_registration_may_update_an_entry_of_an_account(self):
        owner, clerk = UserFactory(), UserFactory(role="clerk")
        _person(account=owner)

        person = _person(actor=clerk, phone="13800000002")

        assert (person.phone, person.account) == ("13800000002", owner)
        assert _entries("person_changed")[0].actor == clerk


class TestPartyViolationRecord:
    def test_a_violation_is_flagged_and_audited_with_its_reason_and_source(self):
        person = _person()
        clerk = UserFactory()

        party_violation_record(
            actor=clerk, party=person, reason="承诺不实", source="511602-1"
        )

        person.refresh_from_db()
        assert person.has_violation is True
        (entry,) = _entries("person_violation_recorded")
        assert entry.actor == clerk
        assert entry.note == "承诺不实"
        assert entry.before == {"has_violation": False}
        assert entry.after == {"has_violation": True, "source": "511602-1"}

    def test_a_second_violation_is_audited_again(self):
        enterprise = _enterprise()

        party_violation_record(actor=None, party=enterprise, reason="一")
        party_violation_record(actor=None, party=enterprise, reason="二")

        entries = _entries("enterprise_violation_recorded")
        assert [e.note for e in entries] == ["一", "二"]
        assert entries[1].before == {"has_violation": True}

    def test_a_violation_needs_a_reason(self):
        person = _person()

        with pytest.raises(ServiceError) as error:
            party_violation_record(actor=None, party=person, reason="  ")

        assert error.value.field == "reason"
        person.refresh_from_db()
        assert person.has_violation is False

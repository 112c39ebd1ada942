import pytest
from django.db import transaction

from smartapproval.accounts.models import Role
from smartapproval.audit.models import AuditEntry
from smartapproval.audit.services import audit_reveal
from smartapproval.audit.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_reveal_returns_the_value_and_audits_the_field_not_the_value():
    subject = UserFactory(phone="13712345678")
    manager = UserFactory(role=Role.MANAGER)

    value = audit_reveal(actor=manager, target=subject, field="phone")

    assert value == "13712345678"
    entry = AuditEntry.objects.get()
    assert entry.action == "pii_revealed"
    assert entry.actor == manager
    assert entry.actor_label == manager.username
    assert entry.target_type == "accounts.user"
    assert entry.target_id == str(subject.pk)
    assert entry.after == {"field": "phone"}
    assert entry.before is None
    assert "13712345678" not in repr([entry.note, entry.target_label])


def test_reveal_reads_the_stored_value_not_a_stale_instance():
    subject = UserFactory(phone="13712345678")
    type(subject).objects.filter(pk=subject.pk).update(phone="13800000001")

    value = audit_reveal(actor=None, target=subject, field="phone")

    assert value == "13800000001"


def test_reveal_of_unknown_field_raises_and_audits_nothing():
    subject = UserFactory()

    with pytest.raises(ValueError, match="no field 'no_such_field'"):
        audit_reveal(actor=None, target=subject, field="no_such_field")

    assert not AuditEntry.objects.exists()


def test_reveal_runs_in_its_own_transaction_and_joins_an_outer_one():
    subject = UserFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        audit_reveal(actor=None, target=subject, field="phone")
        raise RuntimeError("the caller's transaction fails afterwards")

    assert not AuditEntry.objects.exists()
    audit_reveal(actor=None, target=subject, field="phone")
    assert AuditEntry.objects.count() == 1

import pytest
from django.db import transaction
from django.test import Client

from smartapproval.accounts.models import Role
from smartapproval.audit.services import audit_record
from smartapproval.audit.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ENTRIES = "/admin/audit/auditentry/"


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(UserFactory(role=Role.ADMIN, is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def entry():
    with transaction.atomic():
        return audit_record(actor=None, action="user_created", target=UserFactory())


def test_audit_list_and_detail_can_be_read(admin_client, entry):
    assert admin_client.get(ENTRIES).status_code == 200
    page = admin_client.get(f"{ENTRIES}{entry.pk}/change/")

    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_audit_entries_cannot_be_added_changed_or_deleted(admin_client, entry):
    assert admin_client.get(f"{ENTRIES}add/").status_code == 403
    assert admin_client.post(f"{ENTRIES}{entry.pk}/delete/").status_code == 403
    response = admin_client.post(f"{ENTRIES}{entry.pk}/change/", {"action": "tampered"})

    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.action == "user_created"

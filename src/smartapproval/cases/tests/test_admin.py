"""The admin shows cases read-only, with the applicant's code masked."""

import pytest

from smartapproval.accounts.models import Role
from smartapproval.cases import services
from smartapproval.cases.tests import factories as f

pytestmark = pytest.mark.usefixtures("calendar", "clock")


@pytest.fixture
def admin_client(client, db):
    admin = f.UserFactory(
        role=Role.ADMIN, applicant_kind="", is_staff=True, is_superuser=True
    )
    client.force_login(admin)
    return client


def test_case_list_and_page_mask_the_applicants_code(
    admin_client, item, applicant, clerk
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

    listing = admin_client.get("/admin/cases/case/")
    page = admin_client.get(f"/admin/cases/case/{case.pk}/change/")

    assert listing.status_code == 200
    assert page.status_code == 200
    for response in (listing, page):
        content = response.content.decode()
        assert case.number in content
        assert case.applicant_code not in content
        assert case.applicant_code[-4:] in content


def test_cases_cannot_be_added_or_deleted_in_the_admin(admin_client, item, applicant):
    case = f.submitted_case(item=item, applicant=applicant)

    assert admin_client.get("/admin/cases/case/add/").status_code == 403
    assert admin_client.get(f"/admin/cases/case/{case.pk}/delete/").status_code == 403


@pytest.mark.parametrize("path", ["/admin/cases/task/", "/admin/cases/voidcasenumber/"])
def test_task_and_void_number_lists_open(admin_client, path):
    assert admin_client.get(path).status_code == 200


def test_a_cases_commitment_is_shown_read_only(admin_client, item, applicant, clerk):
    site = f.MaterialRequirementFactory(
        item=item, order=4, name="场地使用证明", deferrable=True
    )
    case = f.submitted_case(
        item=item,
        applicant=applicant,
        materials=[m for m in f.all_materials(item) if m.requirement_id != site.pk],
    )
    case = services.case_accept_conditionally(
        case=case,
        actor=clerk,
        deferred=[site.pk],
        working_days=3,
        applicant_agreed=True,
    )
    commitment = case.commitments.get()

    page = admin_client.get(f"/admin/cases/case/{case.pk}/change/")
    detail = admin_client.get(f"/admin/cases/commitment/{commitment.pk}/change/")

    assert page.status_code == 200
    assert "承诺补交期限" in page.content.decode()
    assert "2024年9月5日" in page.content.decode()
    assert detail.status_code == 200
    assert "场地使用证明" in detail.content.decode()
    assert admin_client.get("/admin/cases/commitment/add/").status_code == 403

"""容缺受理 and 告知承诺 on the staff workbench: accept, supply, verify."""

import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from smartapproval.cases import services
from smartapproval.cases.models import (
    Case,
    CaseStatus,
    CommitmentStatus,
    Decision,
    ResultStatus,
)
from smartapproval.cases.tests import factories as f
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.parties.models import Person

D = datetime.date

pytestmark = pytest.mark.usefixtures("calendar", "clock")


def page(response) -> str:
    return response.content.decode()


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def site_proof(item):
    item.promised_limit_value = 10
    item.save()
    return f.MaterialRequirementFactory(
        item=item, order=4, name="场地使用证明", deferrable=True
    )


@pytest.fixture
def submitted(item, site_proof, applicant):
    """Submitted on 2024-09-02 with every material but the site proof."""
    return f.submitted_case(
        item=item,
        applicant=applicant,
        materials=[
            MaterialUpload(file=f.pdf(f"{req.name}.pdf"), requirement_id=req.pk)
            for req in item.materials.exclude(pk=site_proof.pk)
        ],
    )


@pytest.fixture
def deferred(submitted, site_proof, clerk):
    return services.case_accept_conditionally(
        case=submitted,
        actor=clerk,
        deferred=[site_proof.pk],
        working_days=10,
        applicant_agreed=True,
    )


def accept_url(case):
    return reverse("cases:case_action", args=[case.number, "accept_conditionally"])


class TestStaffPage:
    def test_the_accept_area_offers_the_deferrable_materials_and_the_deadline(
        self, client, submitted, site_proof, clerk
    ):
        client.force_login(clerk)

        html = page(client.get(reverse("cases:case_detail", args=[submitted.number])))

        assert "容缺受理" in html
        assert accept_url(submitted) in html
        assert "4. 场地使用证明" in html
        assert "申请人已签署按期补交的承诺书" in html
        assert "不得晚于今日受理的承诺办结日期：2024-09-14。" in html
        # Only deferrable materials are offered.
        assert (
            "1. 申请书" not in html.split("accept_conditionally")[1].split("</form>")[0]
        )

    def test_the_clerk_accepts_conditionally_and_the_page_shows_the_commitment(
        self, client, submitted, site_proof, clerk
    ):
        client.force_login(clerk)

        response = client.post(
            accept_url(submitted),
            {
                "accept_conditionally-deferred": [site_proof.pk],
                "accept_conditionally-working_days": "10",
                "accept_conditionally-applicant_agreed": "on",
            },
            follow=True,
        )

        html = page(response)
        case = fresh(submitted)
        assert case.status == CaseStatus.IN_REVIEW
        assert "已容缺受理，审查已开始。" in html
        assert "承诺补交期限" in html
        assert "2024-09-14" in html
        assert "2024-10-12" in html
        assert "待补交" in html
        assert "场地使用证明" in html
        assert "补交容缺材料" in html  # the clerk's upload form

    def test_a_late_deadline_is_refused_next_to_its_field_and_nothing_changes(
        self, client, submitted, site_proof, clerk
    ):
        client.force_login(clerk)

        response = client.post(
            accept_url(submitted),
            {
                "accept_conditionally-deferred": [site_proof.pk],
                "accept_conditionally-due_on": "2024-09-20",
                "accept_conditionally-applicant_agreed": "on",
            },
        )

        html = page(response)
        assert response.status_code == 400
        assert "承诺期限：2024-09-20 晚于办件的承诺办结日期 2024-09-14。" in html
        assert 'value="2024-09-20"' in html
        assert fresh(submitted).status == CaseStatus.SUBMITTED

    def test_an_applicant_with_a_violation_is_not_offered_it(
        self, client, submitted, clerk
    ):
        Person.objects.filter(pk=submitted.person_id).update(has_violation=True)
        client.force_login(clerk)

        html = page(client.get(reverse("cases:case_detail", args=[submitted.number])))

        assert accept_url(submitted) not in html
        assert "申请人有失信记录，不提供容缺受理。" in html
        # The plain acceptance is still there.
        assert reverse("cases:case_action", args=[submitted.number, "accept"]) in html

    def test_the_clerk_records_the_deferred_material(
        self, client, deferred, site_proof, clerk
    ):
        client.force_login(clerk)

        response = client.post(
            reverse("cases:case_supply_deferred", args=[deferred.number]),
            {f"material_{site_proof.pk}": f.pdf("场地使用证明.pdf")},
            follow=True,
        )

        assert "容缺材料已登记。" in page(response)
        assert deferred.commitments.get().status == CommitmentStatus.FULFILLED

    def test_an_empty_supply_is_refused_in_chinese(self, client, deferred, clerk):
        client.force_login(clerk)

        response = client.post(
            reverse("cases:case_supply_deferred", args=[deferred.number]), {}
        )

        assert response.status_code == 400
        assert "请至少选择一项容缺材料的文件。" in page(response)

    def test_the_reviewer_records_a_false_commitment_with_its_reason(
        self, client, item, direct_item, applicant, clerk, reviewer
    ):
        item.notify_commit_allowed = True
        item.save()
        item.materials.filter(name="身份证明").update(commitment_replaces=True)
        case = services.case_submit(
            actor=applicant,
            item=item,
            applicant=f.person_applicant(),
            form_data={},
            materials=[
                MaterialUpload(file=f.pdf("申请书.pdf"), requirement_id=req.pk)
                for req in item.materials.filter(name="申请书")
            ],
            notify_commit=True,
        ).case
        case = services.case_accept(case=case, actor=clerk)
        case = services.case_decide(
            case=case, actor=reviewer, decision=Decision.APPROVED
        )
        services.case_issue_result(case=case, actor=clerk)
        task = case.tasks.get()
        client.force_login(reviewer)

        inbox = page(client.get(reverse("cases:inbox")))
        html = page(client.get(reverse("cases:case_detail", args=[case.number])))
        refused = client.post(
            reverse("cases:task_verify", args=[task.pk]),
            {f"verify{task.pk}-outcome": "commitment_false"},
        )
        done = client.post(
            reverse("cases:task_verify", args=[task.pk]),
            {
                f"verify{task.pk}-outcome": "commitment_false",
                f"verify{task.pk}-reason": "经核查，身份证明与承诺不符",
            },
            follow=True,
        )

        assert "告知承诺核查" in inbox
        assert "告知承诺核查" in html
        assert "承诺属实" in html and "承诺不实" in html
        assert refused.status_code == 400
        assert "请填写承诺不实的理由。" in page(refused)
        assert "告知承诺核查：承诺不实。" in page(done)
        case.refresh_from_db()
        assert case.result_document.status == ResultStatus.REVOKED
        assert Person.objects.get(pk=case.person_id).has_violation is True

"""容缺受理 and 告知承诺 through the API: accept, supply, submit, verify."""

import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from smartapproval.cases import services
from smartapproval.cases.models import (
    Case,
    Decision,
    TaskKind,
    TaskStatus,
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


class TestApi:
    def test_accept_conditionally_and_read_the_commitment(
        self, submitted, site_proof, clerk
    ):
        url = f"/api/v1/cases/{submitted.number}/accept_conditionally/"

        refused = api_for(clerk).post(
            url,
            {"deferred": [site_proof.pk], "working_days": 11, "applicant_agreed": True},
            format="json",
        )
        response = api_for(clerk).post(
            url,
            {"deferred": [site_proof.pk], "working_days": 10, "applicant_agreed": True},
            format="json",
        )

        assert refused.status_code == 400
        assert refused.json()["field"] == "working_days"
        assert refused.json()["message"].startswith("承诺期限：")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "in_review"
        (commitment,) = body["commitments"]
        assert commitment["kind"] == "deferral"
        assert commitment["kind_label"] == "容缺受理"
        assert commitment["due_on"] == "2024-09-14"
        assert commitment["cutoff_on"] == "2024-10-12"
        assert commitment["outstanding"] == ["场地使用证明"]

    def test_the_violation_refusal_is_a_409_in_chinese(
        self, submitted, site_proof, clerk
    ):
        Person.objects.filter(pk=submitted.person_id).update(has_violation=True)

        detail = api_for(clerk).get(f"/api/v1/cases/{submitted.number}/")
        response = api_for(clerk).post(
            f"/api/v1/cases/{submitted.number}/accept_conditionally/",
            {"deferred": [site_proof.pk], "working_days": 5, "applicant_agreed": True},
            format="json",
        )

        assert detail.json()["conditional_acceptance_offered"] is False
        assert response.status_code == 409
        assert response.json()["message"] == "申请人有失信记录，不适用容缺受理。"

    def test_the_applicant_supplies_the_deferred_material(
        self, deferred, site_proof, applicant
    ):
        response = api_for(applicant).post(
            f"/api/v1/cases/{deferred.number}/supply_deferred/",
            {f"material_{site_proof.pk}": f.pdf("场地使用证明.pdf")},
            format="multipart",
        )

        assert response.status_code == 200
        (commitment,) = response.json()["commitments"]
        assert commitment["status"] == "fulfilled"
        assert commitment["materials"][0]["supplied_on"] == "2024-09-02"

    def test_submit_with_the_commitment_and_verify_it(
        self, item, direct_item, applicant, clerk, reviewer
    ):
        item.notify_commit_allowed = True
        item.save()
        item.materials.filter(name="身份证明").update(commitment_replaces=True)

        guide = api_for(applicant).get(f"/api/v1/catalogue/items/{item.pk}/")
        submitted = api_for(applicant).post(
            "/api/v1/cases/",
            {
                "item": item.pk,
                "applicant": f.person_applicant(),
                "notify_commit": True,
            },
            format="json",
        )
        case = Case.objects.get(number=submitted.json()["number"])
        # The application form is still needed; the commitment replaces the
        # proof only.
        form = item.materials.get(name="申请书")
        services.case_add_materials(
            case=case,
            actor=applicant,
            materials=[MaterialUpload(file=f.pdf(), requirement_id=form.pk)],
        )
        case = services.case_accept(case=case, actor=clerk)
        services.case_decide(case=case, actor=reviewer, decision=Decision.APPROVED)
        inbox = api_for(reviewer).get("/api/v1/tasks/")
        task = case.tasks.get(kind=TaskKind.VERIFICATION)
        wrong = api_for(reviewer).post(
            f"/api/v1/tasks/{task.pk}/complete/", {"outcome": "approve"}, format="json"
        )
        verified = api_for(reviewer).post(
            f"/api/v1/tasks/{task.pk}/verify/",
            {"outcome": "commitment_confirmed"},
            format="json",
        )

        notify = guide.json()["notify_commit"]
        assert notify["offered"] is True
        assert notify["replaces"] == [2]
        assert notify["verification_limit_value"] == 30
        assert submitted.status_code == 201
        assert submitted.json()["commitments"][0]["statement"] == notify["statement"]
        assert [t["kind"] for t in inbox.json()["results"]] == ["verification"]
        assert wrong.status_code == 409
        assert verified.status_code == 200
        assert verified.json()["status"] == TaskStatus.DONE
        assert verified.json()["outcome"] == "commitment_confirmed"

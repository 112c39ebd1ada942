"""The applicant's side of 容缺受理 and 告知承诺: promise, upload, apply."""

import datetime
from unittest import mock

import pytest
from django.urls import reverse

from smartapproval.cases import services
from smartapproval.cases.models import Case, CommitmentStatus
from smartapproval.cases.tests import factories as f
from smartapproval.cases.tests.conftest import BEIJING, FrozenClock
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.core.calendar import calendar_cache_clear, calendar_seed_from_package
from smartapproval.parties.models import Person

pytestmark = pytest.mark.django_db


def page(response) -> str:
    return response.content.decode()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def clock():
    """2024-09-02 10:00 Beijing, with the 2024 schedule; ``clock.at`` moves it."""
    calendar_cache_clear()
    calendar_seed_from_package(years=[2024])
    calendar_cache_clear()
    frozen = FrozenClock(datetime.datetime(2024, 9, 2, 10, 0, tzinfo=BEIJING))
    with mock.patch("django.utils.timezone.now", side_effect=frozen):
        yield frozen
    calendar_cache_clear()


@pytest.fixture
def item(clock):
    item = f.ServiceItemFactory(promised_limit_value=10)
    f.MaterialRequirementFactory(item=item, order=1, name="申请书")
    f.MaterialRequirementFactory(item=item, order=2, name="身份证明")
    return item


@pytest.fixture
def site_proof(item):
    return f.MaterialRequirementFactory(
        item=item, order=3, name="场地使用证明", deferrable=True
    )


@pytest.fixture
def applicant(db):
    return f.ApplicantFactory()


@pytest.fixture
def deferred(item, site_proof, applicant):
    """Accepted on 2024-09-02 with the site proof promised in 10 wd."""
    clerk = f.ClerkFactory(department=item.department)
    case = f.submitted_case(
        item=item,
        applicant=applicant,
        materials=[
            MaterialUpload(file=f.pdf(f"{req.name}.pdf"), requirement_id=req.pk)
            for req in item.materials.exclude(pk=site_proof.pk)
        ],
    )
    return services.case_accept_conditionally(
        case=case,
        actor=clerk,
        deferred=[site_proof.pk],
        working_days=10,
        applicant_agreed=True,
    )


class TestCommitmentPages:
    def test_the_applicant_sees_the_promise_and_uploads_the_material(
        self, client, deferred, site_proof, applicant
    ):
        client.force_login(applicant)
        url = reverse("hall:case_detail", args=[deferred.number])

        html = page(client.get(url))
        response = client.post(
            reverse("hall:case_supply_deferred", args=[deferred.number]),
            {f"material_{site_proof.pk}": f.pdf("场地使用证明.pdf")},
            follow=True,
        )

        assert "您承诺补交的材料" in html
        assert "您承诺于 2024-09-14 前补交以下材料" in html
        assert "2024-10-12 后仍未补齐的，申请将被退件" in html
        assert "承诺书" in html
        assert "2024年9月14日前补交以下材料：场地使用证明" in html
        assert "承诺补交的材料已提交，谢谢。" in page(response)
        assert deferred.commitments.get().status == CommitmentStatus.FULFILLED

    def test_a_returned_application_tells_the_applicant_why(
        self, client, deferred, applicant, clock
    ):
        clock.at(2024, 10, 13, hour=0, minute=5)
        services.commitments_enforce()
        client.force_login(applicant)

        html = page(client.get(reverse("hall:case_detail", args=[deferred.number])))

        assert "您的申请已退件" in html
        assert "截至 2024-10-12 仍未补齐" in html
        assert "退件" in html

    def test_the_apply_form_offers_the_commitment_and_drops_the_replaced_file(
        self, client, item, applicant
    ):
        item.notify_commit_allowed = True
        item.save()
        proof = item.materials.get(name="身份证明")
        proof.commitment_replaces = True
        proof.save()
        form = item.materials.get(name="申请书")
        client.force_login(applicant)
        url = reverse("hall:apply", args=[item.implementation_code])
        data = {
            "idempotency_key": "k-1",
            "applicant_kind": "person",
            "person_name": "王五",
            "id_number": f.resident_id(1),
            "contact_phone": "13900139000",
            f"material_{form.pk}": f.pdf("申请书.pdf"),
        }

        html = page(client.get(url))
        without = client.post(url, data)
        data[f"material_{form.pk}"] = f.pdf("申请书.pdf")
        committed = client.post(url, {**data, "notify_commit": "on"}, follow=True)

        assert "以本承诺代替提交以下材料：身份证明" in html
        assert "承诺后免交" in html
        assert without.status_code == 200
        assert "请为该材料选择文件，或勾选告知承诺代替提交。" in page(without)
        case = Case.objects.get()
        assert committed.redirect_chain
        assert case.commitments.get().statement in page(committed)

    def test_an_applicant_with_a_violation_is_not_offered_the_commitment(
        self, client, item, applicant
    ):
        item.notify_commit_allowed = True
        item.save()
        item.materials.filter(name="身份证明").update(commitment_replaces=True)
        Person.objects.create(
            name="王五",
            id_number=f.resident_id(3),
            account=applicant,
            has_violation=True,
        )
        client.force_login(applicant)

        html = page(client.get(reverse("hall:apply", args=[item.implementation_code])))

        assert "您有失信记录，不适用告知承诺制" in html
        assert 'name="notify_commit"' not in html

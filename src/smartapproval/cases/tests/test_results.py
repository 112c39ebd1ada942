"""Decision documents and e-licences: issue, verify, revoke, reuse."""

import datetime
import hashlib
import importlib
import json
import threading
import time
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.http import Http404
from django.urls import reverse

from smartapproval.accounts.models import Role, User
from smartapproval.audit.models import AuditEntry
from smartapproval.cases import results, routes, selectors, services
from smartapproval.cases.models import (
    CaseMaterial,
    CaseStatus,
    Decision,
    ResultDocument,
    ResultKind,
    ResultStatus,
    TaskStatus,
)
from smartapproval.cases.results import result_title_for
from smartapproval.cases.tests import factories as f
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.catalogue.models import ItemType
from smartapproval.core.api import ServiceError
from smartapproval.parties.models import Person

pytestmark = pytest.mark.django_db

REVIEW_RIGHTS = {
    "reconsideration": "自知道该行政行为之日起六十日内申请行政复议",
    "litigation": "自知道行政行为之日起六个月内提起行政诉讼",
}


def issued(case, *, reviewer, clerk, decision=Decision.APPROVED, reason=""):
    case = services.case_decide(
        case=case, actor=reviewer, decision=decision, reason=reason
    )
    services.case_issue_result(case=case, actor=clerk)
    return ResultDocument.objects.get(case=case)


@pytest.fixture
def licence(direct_item, applicant, clerk, reviewer, clock):
    direct_item.result_name = "关于×××项目可行性研究报告的批复"
    direct_item.save()
    case = f.submitted_case(item=direct_item, applicant=applicant)
    case.form_data = {"project_name": "广安大道改造"}
    case.save()
    case = services.case_accept(case=case, actor=clerk)
    return issued(case, reviewer=reviewer, clerk=clerk)


@pytest.mark.parametrize(
    ("project", "title"),
    [
        ("广安大道改造", "关于广安大道改造项目可行性研究报告的批复"),
        ("城南小学迁建项目", "关于城南小学迁建项目可行性研究报告的批复"),
    ],
)
def test_result_title_puts_the_project_in_without_doubling_its_word(
    direct_item, applicant, project, title
):
    direct_item.result_name = "关于×××项目可行性研究报告的批复"
    case = f.submitted_case(item=direct_item, applicant=applicant)
    case.form_data = {"project_name": project}
    case.decision = Decision.APPROVED

    assert result_title_for(case, ResultKind.LICENCE) == title


class TestResultIssue:
    def test_approval_of_a_licensing_item_issues_a_numbered_licence(
        self, licence, applicant, settings
    ):
        case = licence.case

        assert licence.kind == ResultKind.LICENCE
        assert licence.status == ResultStatus.VALID
        assert licence.number == (f"511602-{licence.department_id:03d}-2024-00001")
        assert licence.issued_on == datetime.date(2024, 9, 2)
        assert licence.title == "关于广安大道改造项目可行性研究报告的批复"
        assert licence.holder_name == case.applicant_name
        assert licence.holder_code == case.applicant_code
        assert licence.person == case.person
        assert licence.person.account == applicant
        assert len(licence.verification_token) >= 20
        content = licence.file.read()
        assert content.startswith(b"%PDF")
        assert hashlib.sha256(content).hexdigest() == licence.sha256
        assert case.status == CaseStatus.RESULT_ISSUED
        assert AuditEntry.objects.get(action="result_document_issued").after[
            "number"
        ] == (licence.number)

    def test_licence_content_carries_the_qr_url_and_the_holder(self, licence):
        content = results.result_content(licence)

        assert content.verify_url == (
            f"http://127.0.0.1:8000/verify/{licence.verification_token}/"
        )
        assert content.verification_code == licence.verification_token
        assert content.heading == "电子证照"
        assert content.holder_name == licence.holder_name
        assert content.department == licence.department.name
        assert content.review_rights == []

    def test_public_url_comes_from_the_setting(self, licence, settings):
        settings.SMARTAPPROVAL_PUBLIC_URL = "https://zwfw.example.cn/"

        content = results.result_content(licence)

        assert content.verify_url.startswith("https://zwfw.example.cn/verify/")

    def test_denial_issues_a_decision_naming_the_reason_and_review_rights(
        self, direct_item, applicant, clerk, reviewer, clock
    ):
        direct_item.review_channels = REVIEW_RIGHTS
        direct_item.save()
        case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)

        document = issued(
            case,
            reviewer=reviewer,
            clerk=clerk,
            decision=Decision.DENIED,
            reason="选址不符合国土空间规划",
        )
        content = results.result_content(document)

        assert document.kind == ResultKind.DECISION
        assert content.heading == "不予行政许可决定书"
        assert any("选址不符合国土空间规划" in p for p in content.paragraphs)
        rights = "".join(content.review_rights)
        assert "行政复议：" + REVIEW_RIGHTS["reconsideration"] in rights
        assert "行政诉讼：" + REVIEW_RIGHTS["litigation"] in rights
        assert results.licences_for_holder(user=applicant).count() == 0

    def test_approval_of_a_public_service_issues_a_decision(
        self, direct_item, applicant, clerk, reviewer, clock
    ):
        direct_item.item_type = ItemType.PUBLIC_SERVICE
        direct_item.save()
        case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)

        document = issued(case, reviewer=reviewer, clerk=clerk)

        assert document.kind == ResultKind.DECISION
        assert results.result_content(document).review_rights == []

    def test_numbers_follow_each_other_within_the_department_and_year(
        self, direct_item, applicant, clerk, reviewer, clock
    ):
        first = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)
        second = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)

        one = issued(first, reviewer=reviewer, clerk=clerk)
        two = issued(second, reviewer=reviewer, clerk=clerk)

        assert (one.sequence, two.sequence) == (1, 2)
        assert one.number != two.number
        assert one.verification_token != two.verification_token

    def test_a_draft_drawn_before_the_locks_is_kept_when_it_still_holds(
        self, direct_item, applicant, clerk, reviewer, clock, monkeypatch
    ):
        case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)
        case = services.case_decide(case=case, actor=reviewer, decision="approved")
        draft = results.result_draft(case=case)
        drawn = []
        monkeypatch.setattr(
            results, "document_render", lambda content: drawn.append(content)
        )

        document = results.result_issue(case=case, actor=clerk, draft=draft)

        assert drawn == []
        assert document.file.read() == draft.pdf
        assert document.verification_token == draft.token
        assert document.number == draft.content.number

    def test_a_draft_whose_number_was_taken_meanwhile_is_drawn_again(
        self, direct_item, applicant, clerk, reviewer, clock
    ):
        first = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)
        second = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)
        for case in (first, second):
            services.case_decide(case=case, actor=reviewer, decision="approved")
        draft = results.result_draft(case=second)
        services.case_issue_result(case=first, actor=clerk)

        document = results.result_issue(case=second, actor=clerk, draft=draft)

        assert draft.content.number.endswith("-00001")
        assert document.number.endswith("-00002")
        assert document.file.read() != draft.pdf
        assert results.result_content(document).number == document.number

    def test_issuing_draws_no_draft_for_whom_may_not_issue(
        self, direct_item, applicant, clerk, reviewer, clock, monkeypatch
    ):
        case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)
        case = services.case_decide(case=case, actor=reviewer, decision="approved")
        monkeypatch.setattr(results, "result_draft", pytest.fail)

        with pytest.raises(ServiceError) as error:
            services.case_issue_result(case=case, actor=reviewer)

        assert error.value.status == 403
        assert not ResultDocument.objects.exists()

    def test_a_second_document_for_one_case_is_refused(self, licence, clerk):
        with pytest.raises(ServiceError) as error:
            results.result_issue(case=licence.case, actor=clerk)

        assert error.value.status == 409
        assert ResultDocument.objects.count() == 1


def _wait_until_waiting_on_a_lock(pid: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid]
            )
            row = cursor.fetchone()
            if row and row[0] == "Lock":
                return
            time.sleep(0.02)
    raise AssertionError("the issuing transaction never waited")


@pytest.mark.django_db(transaction=True)
def test_issuing_while_the_holder_applies_again_does_not_deadlock(
    direct_item, applicant, clerk, reviewer, clock
):
    """A new application of the holder, in the same department, meanwhile.

    The application locks the holder's library entry, then writes rows that
    refer to the department; issuing holds the department's numbering lock
    and, at commit, checks the document's reference to the holder. A FOR
    UPDATE lock on the department made that a deadlock on PostgreSQL (a
    500 for one of them in the lifecycle benchmark).
    """
    if connection.vendor != "postgresql":
        pytest.skip("row lock modes are PostgreSQL's; SQLite has one writer")
    case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)
    case = services.case_decide(case=case, actor=reviewer, decision="approved")
    holding = threading.Event()
    issuing: list[int] = []
    errors: list[BaseException] = []

    def apply_again():
        try:
            with transaction.atomic():
                Person.objects.select_for_update().get(pk=case.person_id)
                holding.set()
                while not issuing:
                    time.sleep(0.01)
                _wait_until_waiting_on_a_lock(issuing[0])
                User.objects.create(
                    username="new-clerk", role=Role.CLERK, department=case.department
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def issue():
        try:
            holding.wait(10)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                issuing.append(cursor.fetchone()[0])
            services.case_issue_result(case=case, actor=clerk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            issuing.append(0)
        finally:
            connection.close()

    threads = [threading.Thread(target=apply_again), threading.Thread(target=issue)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert errors == []
    assert ResultDocument.objects.filter(case=case).count() == 1
    assert User.objects.filter(username="new-clerk").exists()


class TestResultRevoke:
    def test_revocation_needs_a_reason(self, licence, reviewer):
        with pytest.raises(ServiceError) as error:
            results.result_revoke(document=licence, actor=reviewer, reason="  ")

        assert error.value.field == "reason"
        assert error.value.message == "撤销须说明理由。"
        licence.refresh_from_db()
        assert licence.status == ResultStatus.VALID

    def test_revocation_is_recorded_and_a_second_one_is_refused(
        self, licence, reviewer
    ):
        results.result_revoke(document=licence, actor=reviewer, reason="以欺骗手段取得")

        licence.refresh_from_db()
        assert licence.status == ResultStatus.REVOKED
        assert licence.revoked_by == reviewer
        assert licence.revoked_reason == "以欺骗手段取得"
        entry = AuditEntry.objects.get(action="result_document_revoked")
        assert entry.after == {"status": "revoked"}
        with pytest.raises(ServiceError) as error:
            results.result_revoke(document=licence, actor=reviewer, reason="再次")
        assert error.value.status == 409

    def test_staff_of_another_department_cannot_revoke(
        self, licence, other_reviewer, applicant
    ):
        for actor in (other_reviewer, applicant):
            with pytest.raises(Http404):
                results.result_revoke(document=licence, actor=actor, reason="越权")

        licence.refresh_from_db()
        assert licence.status == ResultStatus.VALID

    def test_a_manager_may_revoke(self, licence, manager):
        results.result_revoke(document=licence, actor=manager, reason="依法撤销")

        licence.refresh_from_db()
        assert licence.status == ResultStatus.REVOKED

    def test_a_reason_over_2000_characters_is_refused(self, licence, reviewer):
        with pytest.raises(ServiceError) as error:
            results.result_revoke(document=licence, actor=reviewer, reason="理" * 2001)

        assert (error.value.field, error.value.code) == ("reason", "max_length")
        assert error.value.message == "理由最多2000个字。"
        licence.refresh_from_db()
        assert licence.status == ResultStatus.VALID
        results.result_revoke(document=licence, actor=reviewer, reason="理" * 2000)

    def test_the_staff_page_refuses_a_20000_character_reason(
        self, licence, reviewer, client
    ):
        client.force_login(reviewer)

        response = client.post(
            reverse("cases:result_revoke", args=[licence.pk]),
            {"reason": "理" * 20000},
            follow=True,
        )

        assert "理由最多2000个字。" in response.content.decode()
        licence.refresh_from_db()
        assert licence.status == ResultStatus.VALID

    def test_the_revocation_is_a_step_of_the_case_for_applicant_and_staff(
        self, licence, reviewer, applicant, client
    ):
        case = licence.case

        results.result_revoke(document=licence, actor=reviewer, reason="以欺骗手段取得")

        event = selectors.case_timeline_for_applicant(case).get(action="revoke_result")
        assert (event.step, event.note) == (licence.number, "以欺骗手段取得")
        assert event.status_from == event.status_to == case.status
        client.force_login(case.applicant_account)
        page = client.get(reverse("hall:case_detail", args=[case.number]))
        assert "撤销结果文书" in page.content.decode()
        assert "以欺骗手段取得" in page.content.decode()
        client.force_login(reviewer)
        staff = client.get(reverse("cases:case_detail", args=[case.number]))
        assert "撤销结果文书" in staff.content.decode()


class TestVerification:
    def test_page_shows_valid_then_revoked_with_the_date(
        self, licence, reviewer, client, clock
    ):
        url = reverse("hall:verify", kwargs={"token": licence.verification_token})

        page = client.get(url).content.decode()
        assert "有效" in page
        assert licence.number in page
        assert licence.title in page
        assert licence.department.name in page

        clock.at(2024, 9, 5)
        results.result_revoke(document=licence, actor=reviewer, reason="违法取得")
        page = client.get(url).content.decode()
        assert "已撤销" in page
        assert "2024-09-05" in page
        assert "违法取得" not in page

    def test_page_never_shows_the_holders_code_phone_or_full_name(
        self, licence, client
    ):
        case = licence.case
        url = reverse("hall:verify", kwargs={"token": licence.verification_token})

        page = client.get(url).content.decode()

        assert case.applicant_code not in page
        assert case.contact_phone not in page
        assert case.applicant_name not in page
        assert case.applicant_name[0] + "*" in page

    def test_an_enterprise_holder_is_named_in_full(self, licence, client):
        licence.holder_name = "广安测试有限公司"
        licence.person = None
        licence.enterprise = f_enterprise()
        licence.save()

        public = results.result_verify(token=licence.verification_token)

        assert public["holder"] == "广安测试有限公司"
        assert "holder_code" not in public

    def test_unknown_token_gets_a_neutral_404(self, licence, client):
        response = client.get(reverse("hall:verify", kwargs={"token": "nope"}))

        assert response.status_code == 404
        assert "未找到该文书或证照" in response.content.decode()


def f_enterprise():
    from smartapproval.parties.models import Enterprise

    return Enterprise.objects.create(
        name="广安测试有限公司", uscc=f.uscc(7), legal_representative="赵六"
    )


class TestLicenceStandsInForAMaterial:
    def _submit(self, item, actor, licence_materials, *, n=2):
        first, *others = list(item.materials.order_by("order"))
        return services.case_submit(
            actor=actor,
            item=item,
            applicant=f.person_applicant(n),
            form_data={},
            materials=[
                MaterialUpload(file=f.pdf(f"{req.name}.pdf"), requirement_id=req.pk)
                for req in others
            ],
            licence_materials={first.pk: licence_materials},
        )

    def test_own_licence_stands_in_for_a_material_of_the_next_application(
        self, licence, applicant, item
    ):
        next_item = f.ServiceItemFactory(department=item.department)
        f.MaterialRequirementFactory(item=next_item, order=1, name="可行性研究报告批复")
        f.MaterialRequirementFactory(item=next_item, order=2, name="申请书")
        assert list(results.licences_for_holder(user=applicant)) == [licence]

        case = self._submit(next_item, applicant, licence.pk, n=1).case

        material = case.materials.get(requirement__name="可行性研究报告批复")
        assert material.original_name == f"{licence.title}.pdf"
        assert material.sha256 == licence.sha256
        assert material.file.name != licence.file.name
        assert material.file.read().startswith(b"%PDF")
        assert selectors.case_missing_materials(case) == []

    def test_someone_elses_licence_is_refused(self, licence, other_applicant, item):
        with pytest.raises(ServiceError) as error:
            self._submit(item, other_applicant, licence.pk, n=3)

        assert error.value.code == "not_holder"
        assert error.value.message == "只能使用本人的电子证照。"
        assert not other_applicant.cases.exists()

    def test_a_revoked_licence_is_refused(self, licence, applicant, reviewer, item):
        results.result_revoke(document=licence, actor=reviewer, reason="违法取得")

        with pytest.raises(ServiceError) as error:
            self._submit(item, applicant, licence.pk, n=1)

        assert error.value.status == 409
        assert error.value.code == "revoked"
        assert results.licences_for_holder(user=applicant).count() == 0

    def test_the_apply_page_and_the_api_offer_the_applicants_licences(
        self, licence, applicant, item, client
    ):
        from rest_framework.test import APIClient

        next_item = f.ServiceItemFactory(department=item.department)
        proof = f.MaterialRequirementFactory(
            item=next_item, order=1, name="可行性研究报告批复"
        )
        form = f.MaterialRequirementFactory(item=next_item, order=2, name="申请书")
        client.force_login(applicant)
        url = reverse("hall:apply", args=[next_item.implementation_code])
        page = client.get(url).content.decode()
        assert f'name="licence_{proof.pk}"' in page
        assert licence.number in page

        response = client.post(
            url,
            {
                "idempotency_key": "licence-1",
                "applicant_kind": "person",
                "person_name": "王五",
                "id_number": f.resident_id(1),
                "contact_phone": "13900139000",
                f"licence_{proof.pk}": str(licence.pk),
                f"material_{form.pk}": f.pdf("申请书.pdf"),
            },
        )

        assert response.status_code == 302
        case = applicant.cases.get(item=next_item)
        assert case.materials.get(requirement=proof).sha256 == licence.sha256
        api = APIClient()
        api.force_authenticate(applicant)
        listed = api.get("/api/v1/licences/").json()["results"]
        assert [row["number"] for row in listed] == [licence.number]


FEASIBILITY_JSON = (
    Path(__file__).resolve().parents[2]
    / "catalogue/data/feasibility-study-approval.json"
)


def feasibility_material_names() -> list[str]:
    data = json.loads(FEASIBILITY_JSON.read_text(encoding="utf-8"))
    return [material["name"] for material in data["materials"]]


class TestLicenceStandsOnlyForItsOwnMaterial:
    """The feasibility approval is 可行性研究报告的批复, nothing else."""

    @pytest.mark.parametrize(
        "name",
        [
            "可行性研究报告批复",
            "项目可行性研究报告的批复文件",
            "《关于×××项目可行性研究报告的批复》",
            "发展改革部门出具的可行性研究报告批复（复印件）",
        ],
    )
    def test_a_material_naming_the_approval_takes_it(self, licence, name):
        requirement = f.MaterialRequirementFactory(name=name)

        assert results.licence_stands_for(document=licence, requirement=requirement)

    @pytest.mark.parametrize("name", feasibility_material_names())
    def test_no_material_of_the_feasibility_item_takes_its_own_approval(
        self, licence, name
    ):
        # Among them the report itself, 项目建议书批复 and 节能审查意见: other
        # documents, some of them other items' results.
        requirement = f.MaterialRequirementFactory(name=name)

        assert not results.licence_stands_for(document=licence, requirement=requirement)

    def test_a_project_proposal_approval_stands_for_its_feasibility_material(
        self, licence
    ):
        item = licence.case.item
        item.name = "政府投资项目审批——项目建议书审批"
        item.result_name = "某县发展和改革局关于×××项目建议书的批复"
        item.save()

        matching = [
            name
            for name in feasibility_material_names()
            if results.licence_stands_for(
                document=licence,
                requirement=f.MaterialRequirementFactory(name=name),
            )
        ]

        assert [name[:7] for name in matching] == ["项目建议书批复"]

    def test_an_explicit_list_names_the_result_or_the_item_code(self, licence):
        item = licence.case.item
        by_name = f.MaterialRequirementFactory(
            name="前置审批文件", accepts_results=["项目可行性研究报告批复"]
        )
        by_code = f.MaterialRequirementFactory(
            name="前置审批文件", accepts_results=[item.implementation_code]
        )
        other = f.MaterialRequirementFactory(
            name="可行性研究报告批复", accepts_results=["节能审查意见"]
        )

        assert results.licence_stands_for(document=licence, requirement=by_name)
        assert results.licence_stands_for(document=licence, requirement=by_code)
        # The list, when given, is the whole answer: the name no longer is.
        assert not results.licence_stands_for(document=licence, requirement=other)

    def test_without_a_result_name_the_item_name_and_a_result_word_match(self, licence):
        item = licence.case.item
        item.result_name = ""
        item.name = "食品经营许可"
        item.save()

        assert results.licence_stands_for(
            document=licence,
            requirement=f.MaterialRequirementFactory(name="食品经营许可证副本"),
        )
        assert not results.licence_stands_for(
            document=licence,
            requirement=f.MaterialRequirementFactory(name="食品经营许可申请书"),
        )

    def test_the_service_refuses_a_licence_for_another_material(
        self, licence, applicant, item
    ):
        with pytest.raises(ServiceError) as error:
            TestLicenceStandsInForAMaterial()._submit(item, applicant, licence.pk, n=1)

        assert error.value.code == "licence_not_for_material"
        assert error.value.message == (
            f"电子证照《{licence.title}》（{licence.number}）不能替代材料"
            "“申请书”：该证照并非这份材料。"
        )
        assert list(applicant.cases.all()) == [licence.case]

    def test_the_apply_form_offers_a_licence_only_beside_its_material(
        self, licence, applicant, item, client
    ):
        next_item = f.ServiceItemFactory(department=item.department)
        proof = f.MaterialRequirementFactory(
            item=next_item, order=1, name="可行性研究报告批复"
        )
        report = f.MaterialRequirementFactory(
            item=next_item, order=2, name="可行性研究报告"
        )
        client.force_login(applicant)
        url = reverse("hall:apply", args=[next_item.implementation_code])

        page = client.get(url).content.decode()

        assert f'name="licence_{proof.pk}"' in page
        assert f'name="licence_{report.pk}"' not in page

    def test_the_api_refuses_a_licence_for_another_material(
        self, licence, applicant, item
    ):
        from rest_framework.test import APIClient

        first, second, _ = item.materials.order_by("order")
        api = APIClient()
        api.force_authenticate(applicant)

        response = api.post(
            "/api/v1/cases/",
            {
                "item": item.pk,
                "applicant": f.person_applicant(1),
                "licence_materials": {str(first.pk): licence.pk},
            },
            format="json",
        )

        assert response.status_code == 400
        body = response.json()
        assert body["field"] == "licence_materials"
        assert "“申请书”" in body["message"]
        assert licence.number in body["message"]
        assert list(applicant.cases.all()) == [licence.case]

    @pytest.mark.parametrize("spelling", ["json", "parts"])
    def test_a_multipart_submission_keeps_its_licence_however_spelled(
        self, licence, applicant, item, spelling
    ):
        from rest_framework.test import APIClient

        next_item = f.ServiceItemFactory(department=item.department)
        proof = f.MaterialRequirementFactory(
            item=next_item, order=1, name="可行性研究报告批复"
        )
        form = f.MaterialRequirementFactory(item=next_item, order=2, name="申请书")
        api = APIClient()
        api.force_authenticate(applicant)
        if spelling == "json":
            licences = {"licence_materials": json.dumps({str(proof.pk): licence.pk})}
        else:
            licences = {f"licence_materials.{proof.pk}": str(licence.pk)}

        response = api.post(
            "/api/v1/cases/",
            {
                "item": next_item.pk,
                "applicant": json.dumps(f.person_applicant(1)),
                f"material_{form.pk}": f.pdf("申请书.pdf"),
                **licences,
            },
            format="multipart",
        )

        assert response.status_code == 201, response.content.decode()
        case = applicant.cases.get(item=next_item)
        assert case.materials.get(requirement=proof).licence == licence


class TestRevokedLicenceMaterial:
    """Case B used licence L as a material; then L's case revoked it."""

    @pytest.fixture
    def next_item(self, item):
        next_item = f.ServiceItemFactory(department=item.department)
        f.MaterialRequirementFactory(item=next_item, order=1, name="可行性研究报告批复")
        f.MaterialRequirementFactory(item=next_item, order=2, name="申请书")
        return next_item

    @pytest.fixture
    def direct_next_item(self, next_item, direct_item):
        # direct_item registered the route without steps.
        routes.assign_route(
            implementation_code=next_item.implementation_code, key="direct-test"
        )
        yield next_item
        routes._ITEM_ROUTES.pop(next_item.implementation_code, None)

    def _used(self, item, licence, applicant, clerk):
        case = (
            TestLicenceStandsInForAMaterial()
            ._submit(item, applicant, licence.pk, n=1)
            .case
        )
        return services.case_accept(case=case, actor=clerk)

    def _revoke(self, licence, reviewer, clock):
        clock.at(2024, 9, 4)
        results.result_revoke(document=licence, actor=reviewer, reason="违法取得")

    def _replace(self, case, actor, item):
        proof = item.materials.get(order=1)
        services.case_add_materials(
            case=case,
            actor=actor,
            materials=[
                MaterialUpload(file=f.pdf("新批复.pdf"), requirement_id=proof.pk)
            ],
        )

    def test_the_stand_in_keeps_the_licence_it_copies(
        self, licence, applicant, clerk, next_item
    ):
        case = self._used(next_item, licence, applicant, clerk)

        material = case.materials.get(requirement__order=1)
        assert material.licence == licence
        assert not material.licence_revoked
        assert selectors.case_revoked_licence_materials(case) == []

    def test_the_staff_page_flags_the_material_as_revoked_with_the_date(
        self, licence, applicant, clerk, reviewer, next_item, clock, client
    ):
        case = self._used(next_item, licence, applicant, clerk)
        self._revoke(licence, reviewer, clock)
        client.force_login(clerk)

        page = client.get(reverse("cases:case_detail", args=[case.number]))

        assert (
            f"电子证照 {licence.number} 已撤销（2024-09-04）" in page.content.decode()
        )

    def test_the_api_material_says_the_licence_was_revoked(
        self, licence, applicant, clerk, reviewer, next_item, clock
    ):
        from rest_framework.test import APIClient

        case = self._used(next_item, licence, applicant, clerk)
        self._revoke(licence, reviewer, clock)
        api = APIClient()
        api.force_authenticate(clerk)

        materials = api.get(f"/api/v1/cases/{case.number}/").json()["materials"]

        used = next(m for m in materials if m["licence"] is not None)
        assert used["licence"] == licence.pk
        assert used["licence_number"] == licence.number
        assert used["licence_revoked"] is True
        assert used["licence_revoked_on"] == "2024-09-04"
        others = [m for m in materials if m["licence"] is None]
        assert [m["licence_revoked"] for m in others] == [False]

    def test_a_direct_approval_waits_until_the_material_is_replaced(
        self, licence, applicant, clerk, reviewer, direct_next_item, clock
    ):
        case = self._used(direct_next_item, licence, applicant, clerk)
        self._revoke(licence, reviewer, clock)

        with pytest.raises(ServiceError) as error:
            services.case_decide(case=case, actor=reviewer, decision=Decision.APPROVED)

        assert error.value.status == 409
        assert error.value.code == "licence_material_revoked"
        assert error.value.message == (
            "材料“可行性研究报告批复”所用的电子证照已撤销"
            f"（{licence.number}，2024-09-04 撤销）：更换该材料后方可准予。"
        )
        case.refresh_from_db()
        assert case.status == CaseStatus.IN_REVIEW
        services.case_suspend(
            case=case, actor=reviewer, kind="correction", reason="证照已撤销"
        )
        self._replace(case, applicant, direct_next_item)
        services.case_resume(case=case, actor=reviewer)
        case = services.case_decide(
            case=case, actor=reviewer, decision=Decision.APPROVED
        )
        assert case.decision == Decision.APPROVED

    def test_a_denial_is_not_held_up(
        self, licence, applicant, clerk, reviewer, direct_next_item, clock
    ):
        case = self._used(direct_next_item, licence, applicant, clerk)
        self._revoke(licence, reviewer, clock)

        case = services.case_decide(
            case=case, actor=reviewer, decision=Decision.DENIED, reason="证照已撤销"
        )

        assert case.decision == Decision.DENIED

    def test_the_deciding_task_cannot_approve_until_the_material_is_replaced(
        self,
        licence,
        applicant,
        clerk,
        reviewer,
        reviewer2,
        approver,
        next_item,
        clock,
    ):
        from rest_framework.test import APIClient

        case = self._used(next_item, licence, applicant, clerk)
        self._revoke(licence, reviewer, clock)

        def complete(handler):
            task = case.tasks.get(status=TaskStatus.OPEN)
            api = APIClient()
            api.force_authenticate(handler)
            return task, api.post(
                f"/api/v1/tasks/{task.pk}/complete/",
                {"outcome": "approved", "opinion": "同意"},
            )

        for handler in (reviewer, reviewer2):
            assert complete(handler)[1].status_code == 200
        task, refused = complete(approver)

        assert refused.status_code == 409
        assert "可行性研究报告批复" in refused.json()["message"]
        assert "已撤销" in refused.json()["message"]
        task.refresh_from_db()
        assert task.status == TaskStatus.OPEN
        services.case_suspend(
            case=case, actor=approver, kind="correction", reason="证照已撤销"
        )
        self._replace(case, applicant, next_item)
        services.case_resume(case=case, actor=approver)
        assert complete(approver)[1].status_code == 200
        case.refresh_from_db()
        assert case.decision == Decision.APPROVED

    def test_the_applicant_replaces_the_material_on_the_page_during_review(
        self, licence, applicant, clerk, reviewer, next_item, clock, client
    ):
        case = self._used(next_item, licence, applicant, clerk)
        assert case.status == CaseStatus.IN_REVIEW
        self._revoke(licence, reviewer, clock)
        client.force_login(applicant)
        page_url = reverse("hall:case_detail", args=[case.number])
        proof = next_item.materials.get(order=1)
        other = next_item.materials.get(order=2)

        page = client.get(page_url).content.decode()
        assert "您使用的电子证照已被撤销" in page
        assert f'name="material_{proof.pk}"' in page
        assert f'name="material_{other.pk}"' not in page
        # Only the revoked material may be replaced this way.
        with pytest.raises(ServiceError) as refused:
            services.case_add_materials(
                case=case,
                actor=applicant,
                materials=[
                    MaterialUpload(file=f.pdf("别的.pdf"), requirement_id=other.pk)
                ],
            )
        assert refused.value.code == "no_revision_open"

        handed = client.post(
            reverse("hall:case_replace_licence_material", args=[case.number]),
            {f"material_{proof.pk}": f.pdf("新批复.pdf")},
        )

        assert handed.status_code == 302
        assert selectors.case_revoked_licence_materials(case) == []
        assert "您使用的电子证照已被撤销" not in client.get(page_url).content.decode()

    def test_a_file_handed_in_beside_the_licence_covers_the_material(
        self, licence, applicant, clerk, reviewer, next_item, clock
    ):
        proof = next_item.materials.get(order=1)
        form = next_item.materials.get(order=2)
        case = services.case_submit(
            actor=applicant,
            item=next_item,
            applicant=f.person_applicant(1),
            form_data={},
            materials=[
                MaterialUpload(file=f.pdf("批复原件.pdf"), requirement_id=proof.pk),
                MaterialUpload(file=f.pdf("申请书.pdf"), requirement_id=form.pk),
            ],
            licence_materials={proof.pk: licence.pk},
        ).case
        self._revoke(licence, reviewer, clock)

        assert selectors.case_revoked_licence_materials(case) == []
        assert services.case_accept(case=case, actor=clerk).status == (
            CaseStatus.IN_REVIEW
        )

    def test_a_window_registration_refuses_licences_instead_of_dropping_them(
        self, licence, clerk, next_item
    ):
        from rest_framework.test import APIClient

        proof = next_item.materials.get(order=1)
        api = APIClient()
        api.force_authenticate(clerk)

        response = api.post(
            "/api/v1/cases/",
            {
                "item": next_item.pk,
                "applicant": f.person_applicant(1),
                "licence_materials": {str(proof.pk): licence.pk},
            },
            format="json",
        )

        assert response.status_code == 400
        assert response.json()["code"] == "licence_online_only"
        assert "仅在网上申请时" in response.json()["message"]

    def test_acceptance_waits_until_the_material_is_replaced(
        self, licence, applicant, clerk, reviewer, next_item, clock
    ):
        case = (
            TestLicenceStandsInForAMaterial()
            ._submit(next_item, applicant, licence.pk, n=1)
            .case
        )
        self._revoke(licence, reviewer, clock)

        with pytest.raises(ServiceError) as error:
            services.case_accept(case=case, actor=clerk)

        assert error.value.status == 409
        assert error.value.field == "materials"
        assert "可行性研究报告批复" in error.value.message
        self._replace(case, applicant, next_item)
        case = services.case_accept(case=case, actor=clerk)
        assert case.status == CaseStatus.IN_REVIEW

    def test_the_migration_links_earlier_stand_ins_to_their_licence(
        self, licence, applicant, clerk, next_item
    ):
        from django.apps import apps

        migration = importlib.import_module(
            "smartapproval.cases.migrations.0012_case_material_licence"
        )
        case = self._used(next_item, licence, applicant, clerk)
        CaseMaterial.objects.update(licence=None)

        migration.link_licence_copies(apps, None)

        linked = CaseMaterial.objects.exclude(licence=None)
        assert [(m.case, m.requirement.order) for m in linked] == [(case, 1)]

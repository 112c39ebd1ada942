"""The cases API: scoped reads, every action, Chinese errors with the field."""

import json
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from smartapproval.cases.models import Case, CaseStatus, TaskStatus
from smartapproval.cases.tests import factories as f

pytestmark = pytest.mark.usefixtures("calendar", "clock")

LONG_NAME = "材料说明" * 22 + "补充" + ".pdf"


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def case(item, applicant, clerk):
    return f.accepted_case(item=item, applicant=applicant, clerk=clerk)


@pytest.fixture
def submitted(item, applicant):
    return f.submitted_case(item=item, applicant=applicant)


def url(number, verb=""):
    return f"/api/v1/cases/{number}/" + (f"{verb}/" if verb else "")


class TestSubmitApi:
    def payload(self, item, n=1, **applicant):
        return {
            "item": item.pk,
            "applicant": f.person_applicant(n, **applicant),
            "form_data": {"purpose": "开办"},
        }

    def test_json_submission_creates_a_case(self, item, applicant):
        response = client_for(applicant).post(
            "/api/v1/cases/", self.payload(item), format="json"
        )

        assert response.status_code == 201
        body = response.json()
        assert body["status"] == "submitted"
        assert body["status_label"] == "已提交"
        assert body["duplicate_warning"] is False
        assert Case.objects.get().number == body["number"]

    def test_same_idempotency_key_returns_the_same_case(self, item, applicant):
        client = client_for(applicant)
        headers = {"Idempotency-Key": "abc-123"}

        first = client.post(
            "/api/v1/cases/", self.payload(item), format="json", headers=headers
        )
        second = client.post(
            "/api/v1/cases/", self.payload(item), format="json", headers=headers
        )

        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["number"] == second.json()["number"]
        assert Case.objects.count() == 1

    def test_repeat_without_key_is_flagged_as_possible_duplicate(self, item, applicant):
        client = client_for(applicant)
        client.post("/api/v1/cases/", self.payload(item), format="json")

        again = client.post("/api/v1/cases/", self.payload(item), format="json")

        assert again.status_code == 201
        assert again.json()["duplicate_warning"] is True

    def test_multipart_submission_with_files(self, item, applicant):
        first, second = item.materials.order_by("order")[:2]
        response = client_for(applicant).post(
            "/api/v1/cases/",
            {
                "item": item.pk,
                "applicant": json.dumps(f.person_applicant(1)),
                "form_data": json.dumps({"purpose": "开办"}),
                f"material_{first.pk}": f.pdf(LONG_NAME),
                f"material_{second.pk}": f.pdf("身份证.pdf"),
                "material": f.png(),
            },
            format="multipart",
        )

        assert response.status_code == 201, response.json()
        names = sorted(m["original_name"] for m in response.json()["materials"])
        assert names == sorted([LONG_NAME, "身份证.pdf", "照片.png"])

    def test_invalid_code_answers_in_chinese_with_the_field(self, item, applicant):
        response = client_for(applicant).post(
            "/api/v1/cases/",
            self.payload(item, code="110105199001010011"),
            format="json",
        )

        assert response.status_code == 400
        body = response.json()
        assert body["field"] == "applicant.code"
        assert body["message"].startswith("公民身份号码：")

    def test_bad_file_answers_in_chinese_naming_the_file(self, item, applicant):
        response = client_for(applicant).post(
            "/api/v1/cases/",
            {
                "item": item.pk,
                "applicant": json.dumps(f.person_applicant(1)),
                "material": f.pdf("假.exe"),
            },
            format="multipart",
        )

        assert response.status_code == 400
        assert "“假.exe”" in response.json()["message"]
        assert response.json()["field"] == "materials"

    def test_clerk_registers_a_window_case(self, item, clerk):
        response = client_for(clerk).post(
            "/api/v1/cases/", self.payload(item), format="json"
        )

        assert response.status_code == 201
        assert response.json()["channel"] == "window"

    def test_anonymous_user_must_sign_in(self, item):
        response = APIClient().post("/api/v1/cases/", self.payload(item), format="json")

        assert response.status_code in {401, 403}


class TestReadApi:
    def test_list_is_scoped(
        self, case, applicant, other_applicant, other_clerk, manager
    ):
        def numbers(user):
            response = client_for(user).get("/api/v1/cases/")
            assert response.status_code == 200
            return [row["number"] for row in response.json()["results"]]

        assert numbers(applicant) == [case.number]
        assert numbers(manager) == [case.number]
        assert numbers(other_applicant) == []
        assert numbers(other_clerk) == []

    def test_detail_shows_full_codes_to_the_departments_clerk_only(
        self, case, clerk, reviewer, applicant
    ):
        full = client_for(clerk).get(url(case.number)).json()
        masked = client_for(reviewer).get(url(case.number)).json()
        own = client_for(applicant).get(url(case.number)).json()

        assert full["applicant_code"] == case.applicant_code
        assert full["contact_phone"] == case.contact_phone
        assert masked["applicant_code"] == "110105********" + case.applicant_code[-4:]
        assert masked["contact_phone"] == "139****9000"
        assert own["applicant_code"] != case.applicant_code
        assert own["tasks"] == []
        assert [t["name"] for t in masked["tasks"]] == ["审查"]
        assert masked["deadline"]["promised"]["due"] == "2024-09-09"
        assert masked["clock"]["colour"] == "green"
        assert [e["action_label"] for e in masked["timeline"]] == [
            "提交",
            "受理",
            "开始审查",
        ]

    def test_detail_reads_tasks_and_materials_without_a_query_each(
        self, case, reviewer, other_department
    ):
        client = client_for(reviewer)
        client.get(url(case.number))  # the calendar is read once per process
        with CaptureQueriesContext(connection) as one_task:
            client.get(url(case.number))
        f.TaskFactory(case=case, node_key="co-a", department=other_department)
        f.TaskFactory(case=case, node_key="co-b", department=other_department)
        with CaptureQueriesContext(connection) as three_tasks:
            body = client.get(url(case.number)).json()

        assert len(body["tasks"]) == 3
        assert len(body["materials"]) == 3
        assert body["materials"][0]["requirement_name"] == "申请书"
        assert len(three_tasks) == len(one_task)

    @pytest.mark.parametrize("who", ["other_clerk", "other_applicant"])
    def test_detail_out_of_scope_is_404_in_chinese(self, case, who, request):
        response = client_for(request.getfixturevalue(who)).get(url(case.number))

        assert response.status_code == 404
        assert response.json()["message"] == "未找到该资源。"


class TestActionApi:
    def test_clerk_accepts(self, submitted, clerk):
        response = client_for(clerk).post(url(submitted.number, "accept"))

        assert response.status_code == 200
        assert response.json()["status"] == "in_review"
        assert response.json()["promised_due"] == "2024-09-09"

    def test_illegal_transition_is_409_in_chinese(self, case, clerk):
        response = client_for(clerk).post(url(case.number, "accept"))

        assert response.status_code == 409
        assert response.json()["message"] == "办件当前状态为“审查中”，不能执行“受理”"
        assert response.json()["field"] == "status"

    def test_refusal_without_reason_names_the_field(self, submitted, clerk):
        response = client_for(clerk).post(url(submitted.number, "refuse"), {})

        assert response.status_code == 400
        assert response.json() == {
            "message": "请填写不予受理的理由。",
            "field": "reason",
            "code": "required",
            "errors": [{"field": "reason", "message": "请填写不予受理的理由。"}],
        }

    def test_a_reason_longer_than_the_pages_allow_is_refused(self, submitted, clerk):
        response = client_for(clerk).post(
            url(submitted.number, "refuse"), {"reason": "理" * 2001}
        )

        assert response.status_code == 400
        assert response.json()["field"] == "reason"
        submitted.refresh_from_db()
        assert submitted.status == CaseStatus.SUBMITTED

    def test_role_outside_the_table_is_403(self, submitted, reviewer):
        response = client_for(reviewer).post(url(submitted.number, "accept"))

        assert response.status_code == 403
        assert response.json()["message"] == "您的角色不能执行“受理”。"

    def test_staff_of_another_department_get_404_on_actions(
        self, submitted, other_clerk
    ):
        response = client_for(other_clerk).post(url(submitted.number, "accept"))

        assert response.status_code == 404
        submitted.refresh_from_db()
        assert submitted.status == CaseStatus.SUBMITTED

    def test_correction_round_trip(self, item, applicant, clerk):
        case = f.submitted_case(item=item, applicant=applicant, materials=[])
        asked = client_for(clerk).post(
            url(case.number, "request_correction"),
            {"items": ["签字不清晰"], "note": "请一次补齐"},
            format="json",
        )
        assert asked.status_code == 200
        items = asked.json()["correction_items"]
        assert [i["name"] for i in items] == ["申请书", "身份证明", "签字不清晰"]

        parts = {
            f"material_{i['requirement_id']}": f.pdf(f"{i['name']}.pdf")
            for i in items
            if i["requirement_id"]
        }
        supplied = client_for(applicant).post(
            url(case.number, "supply_correction"), parts, format="multipart"
        )

        assert supplied.status_code == 200, supplied.json()
        assert supplied.json()["status"] == "submitted"

    def test_suspend_resume_extend_decide_issue_close(
        self, case, reviewer, reviewer2, approver, clerk, clock
    ):
        api = client_for(reviewer)
        clock.at(2024, 9, 3)
        assert (
            api.post(
                url(case.number, "suspend"), {"kind": "hearing", "reason": "听证"}
            ).status_code
            == 200
        )
        clock.at(2024, 9, 5)
        resumed = api.post(
            url(case.number, "resume"), {"materials_received_on": "2024-09-04"}
        )
        assert resumed.status_code == 200
        assert resumed.json()["paused_working_days"] == 2
        extended = api.post(url(case.number, "extend"), {"days": 3, "reason": "复杂"})
        assert extended.status_code == 200
        again = api.post(url(case.number, "extend"), {"days": 3, "reason": "复杂"})
        assert again.status_code == 409
        direct = api.post(
            url(case.number, "decide"), {"decision": "approved", "reason": ""}
        )
        assert direct.status_code == 409
        assert direct.json()["message"] == "审查流程尚未完成，不能直接作出决定"
        # Each node by its own hand; the last one decides.
        for handler in (reviewer, reviewer2, approver):
            task = case.tasks.get(status=TaskStatus.OPEN)
            done = client_for(handler).post(
                f"/api/v1/tasks/{task.pk}/complete/",
                {"outcome": "approved", "opinion": "同意"},
            )
            assert done.status_code == 200, done.json()
        decided = client_for(clerk).get(url(case.number)).json()
        assert decided["decision_label"] == "准予许可"
        assert decided["decision_reason"] == ""
        assert (
            client_for(clerk).post(url(case.number, "issue_result")).status_code == 200
        )
        closed = client_for(clerk).post(url(case.number, "close"), {"note": "已领证"})
        assert closed.json()["status_label"] == "已办结"

    def test_withdraw_by_another_applicant_is_404(
        self, case, applicant, other_applicant
    ):
        assert (
            client_for(other_applicant).post(url(case.number, "withdraw")).status_code
            == 404
        )
        response = client_for(applicant).post(
            url(case.number, "withdraw"), {"reason": "撤回"}
        )
        assert response.json()["status"] == "withdrawn"

    def test_manager_terminates(self, case, manager):
        response = client_for(manager).post(
            url(case.number, "terminate"), {"reason": "注销"}
        )

        assert response.status_code == 200
        assert response.json()["status"] == "terminated"


class TestMaterialsApi:
    def test_upload_and_download_keep_the_original_name(
        self, submitted, applicant, clerk
    ):
        uploaded = client_for(applicant).post(
            f"/api/v1/cases/{submitted.number}/materials/",
            {"material": [f.pdf(LONG_NAME, b"one"), f.pdf(LONG_NAME, b"two")]},
            format="multipart",
        )
        assert uploaded.status_code == 201
        first, second = uploaded.json()

        response = client_for(clerk).get(first["download_url"])

        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment;")
        # RFC 6266: the charset name is case-insensitive; Django writes utf-8.
        assert f"filename*=UTF-8''{quote(LONG_NAME)}".lower() in disposition.lower()
        assert quote(LONG_NAME) in disposition
        assert b"".join(response.streaming_content).startswith(b"%PDF-")
        assert first["id"] != second["id"]

    @pytest.mark.parametrize("who", ["other_clerk", "other_applicant"])
    def test_download_out_of_scope_is_404(self, submitted, who, request):
        material = submitted.materials.first()

        response = client_for(request.getfixturevalue(who)).get(
            f"/api/v1/materials/{material.pk}/download"
        )

        assert response.status_code == 404

    def test_upload_by_another_applicant_is_404(self, submitted, other_applicant):
        response = client_for(other_applicant).post(
            f"/api/v1/cases/{submitted.number}/materials/",
            {"material": f.pdf()},
            format="multipart",
        )

        assert response.status_code == 404
        assert submitted.materials.count() == 3


class TestTasksApi:
    def test_an_applicant_reads_no_task_and_no_internal_opinion(
        self, case, applicant, reviewer
    ):
        task = case.tasks.get()
        client_for(reviewer).post(
            f"/api/v1/tasks/{task.pk}/complete/",
            {"outcome": "approved", "opinion": "内部意见：同意"},
        )
        owner = f.account_for(applicant, 1)

        read = client_for(owner).get(f"/api/v1/tasks/{task.pk}/")
        detail = client_for(owner).get(f"/api/v1/cases/{case.number}/").json()

        assert read.status_code == 404
        assert detail["tasks"] == []
        assert "内部意见" not in json.dumps(detail, ensure_ascii=False)
        assert all(event["actor_label"] == "" for event in detail["timeline"])

    def test_inbox_is_the_departments(self, case, reviewer, other_reviewer, clock):
        clock.at(2024, 9, 3)
        mine = client_for(reviewer).get("/api/v1/tasks/").json()["results"]
        theirs = client_for(other_reviewer).get("/api/v1/tasks/").json()["results"]

        assert [t["case"] for t in mine] == [case.number]
        # 审查 (2 working days) opened 2024-09-02; one day is left on 09-03.
        assert mine[0]["clock"]["colour"] == "yellow"
        assert theirs == []

    def test_inbox_has_no_review_tasks_for_a_clerk(self, case, clerk):
        tasks = client_for(clerk).get("/api/v1/tasks/").json()["results"]

        assert tasks == []

    def test_complete_then_complete_again_is_409(self, case, reviewer):
        task = case.tasks.get()
        api = client_for(reviewer)

        done = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"outcome": "approved"})
        again = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"outcome": "approved"})

        assert done.status_code == 200
        assert done.json()["status"] == TaskStatus.DONE
        assert again.status_code == 409
        assert again.json()["message"] == "该任务已办理，不能重复办理。"

    def test_deny_without_opinion_names_the_field(self, case, reviewer):
        task = case.tasks.get()

        response = client_for(reviewer).post(
            f"/api/v1/tasks/{task.pk}/complete/", {"outcome": "rejected"}
        )

        assert response.status_code == 400
        assert response.json()["field"] == "opinion"

    def test_a_bad_answer_is_refused_naming_the_field_in_chinese(self, case, reviewer):
        task = case.tasks.get()
        api = client_for(reviewer)

        bogus = api.post(f"/api/v1/tasks/{task.pk}/complete/", {"outcome": "bogus"})
        nobody = api.post(f"/api/v1/tasks/{task.pk}/transfer/", {"to_user": "abc"})

        assert bogus.status_code == 400
        assert bogus.json()["message"].startswith("办理结果：")
        assert "bogus" in bogus.json()["message"]
        assert nobody.status_code == 400
        assert nobody.json()["message"].startswith("转办人员：")

    def test_task_of_another_department_is_404(self, case, other_reviewer):
        task = case.tasks.get()

        response = client_for(other_reviewer).post(
            f"/api/v1/tasks/{task.pk}/complete/", {"outcome": "approved"}
        )

        assert response.status_code == 404
        task.refresh_from_db()
        assert task.status == TaskStatus.OPEN


def test_schema_documents_every_case_action(db):
    response = APIClient().get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    for verb in ["accept", "refuse", "suspend", "resume", "extend", "decide"]:
        operation = paths[f"/api/v1/cases/{{number}}/{verb}/"]["post"]
        assert "409" in operation["responses"]
    assert "/api/v1/tasks/{id}/complete/" in paths

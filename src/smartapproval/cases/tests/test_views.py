"""The staff workbench pages: inbox, search, the case page and its actions."""

import datetime
from urllib.parse import quote

import pytest
from django.template import Context, Template
from django.urls import reverse

from smartapproval.audit.models import AuditEntry
from smartapproval.cases import services
from smartapproval.cases.deadlines import Clock, Colour
from smartapproval.cases.models import (
    Case,
    CasePause,
    CaseStatus,
    Decision,
    Task,
    TaskStatus,
)
from smartapproval.cases.tests import factories as f
from smartapproval.cases.uploads import MaterialUpload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen(clock, calendar, settings):
    """Every page here runs on Monday 2024-09-02 10:00 with the 2024 schedule.

    A task turns yellow with one working day left.
    """
    settings.SMARTAPPROVAL_WARNING_DAYS = 1


def page(response) -> str:
    return response.content.decode()


def case_url(case: Case) -> str:
    return reverse("cases:case_detail", args=[case.number])


def action_url(case: Case, verb: str) -> str:
    return reverse("cases:case_action", args=[case.number, verb])


def fresh(case: Case) -> Case:
    return Case.objects.get(pk=case.pk)


# Inbox


def worklist(response, status: str) -> list[Case]:
    [entry] = [w for w in response.context["worklists"] if w.status == status]
    return entry.cases


def test_reviewer_inbox_lists_their_tasks_and_todays_intake_in_chinese(
    client, item, applicant, clerk, reviewer
):
    in_review = f.accepted_case(item=item, applicant=applicant, clerk=clerk, n=1)
    f.submitted_case(item=item, applicant=applicant, n=2)
    client.force_login(reviewer)

    response = client.get(reverse("cases:inbox"))

    assert response.status_code == 200
    html = page(response)
    assert "工作台" in html
    assert "待办任务" in html
    assert "今日收件" in html
    assert response.context["received_today"] == 2
    assert [t.case for t in response.context["tasks"]] == [in_review]
    assert "审查" in html
    assert "正常" in html
    # Accepting is the window's work, not the reviewer's.
    assert "待受理" not in html


def test_clerk_inbox_lists_cases_to_accept_issue_and_close_not_review_tasks(
    client, item, applicant, clerk, direct_item, reviewer
):
    waiting = f.submitted_case(item=item, applicant=applicant, n=1)
    f.accepted_case(item=item, applicant=applicant, clerk=clerk, n=2)
    decided = services.case_decide(
        case=f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk, n=3),
        actor=reviewer,
        decision=Decision.APPROVED,
    )
    issued = services.case_issue_result(
        case=services.case_decide(
            case=f.accepted_case(
                item=direct_item, applicant=applicant, clerk=clerk, n=4
            ),
            actor=reviewer,
            decision=Decision.APPROVED,
        ),
        actor=clerk,
    )
    client.force_login(clerk)

    response = client.get(reverse("cases:inbox"))

    html = page(response)
    assert worklist(response, CaseStatus.SUBMITTED) == [waiting]
    assert worklist(response, CaseStatus.DECIDED) == [decided]
    assert worklist(response, CaseStatus.RESULT_ISSUED) == [issued]
    for title in ("待受理", "待出证", "待办结", "准予许可"):
        assert title in html
    assert response.context["tasks"] == []
    assert "待办任务" not in html


def test_reviewer_inbox_leaves_out_a_step_they_may_not_take(
    client, item, applicant, clerk, reviewer, reviewer2
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(
        task=case.tasks.get(status=TaskStatus.OPEN), actor=reviewer, outcome="approved"
    )

    client.force_login(reviewer)
    own = client.get(reverse("cases:inbox")).context["tasks"]
    client.force_login(reviewer2)
    colleague = client.get(reverse("cases:inbox")).context["tasks"]

    assert own == []
    assert [task.node_key for task in colleague] == ["check"]


def test_manager_inbox_watches_everything_read_only(
    client, item, applicant, clerk, manager
):
    in_review = f.accepted_case(item=item, applicant=applicant, clerk=clerk, n=1)
    waiting = f.submitted_case(item=item, applicant=applicant, n=2)
    client.force_login(manager)

    response = client.get(reverse("cases:inbox"))
    case_page = page(client.get(case_url(in_review)))

    assert [t.case for t in response.context["tasks"]] == [in_review]
    assert worklist(response, CaseStatus.SUBMITTED) == [waiting]
    assert response.context["read_only"] is True
    assert "完成本环节" not in case_page


@pytest.mark.parametrize(
    ("today", "words"),
    [
        # The first task (审查, 2 working days) is due 2024-09-04.
        (datetime.date(2024, 9, 3), "预警"),
        (datetime.date(2024, 9, 5), "超期"),
    ],
)
def test_inbox_names_the_signal_of_a_task_in_words(
    client, clock, item, applicant, clerk, reviewer, today, words
):
    f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    clock.on(today)
    client.force_login(reviewer)

    html = page(client.get(reverse("cases:inbox")))

    assert f"signal--{'yellow' if words == '预警' else 'red'}" in html
    assert words in html


def test_an_overdue_badge_says_overdue_once():
    clock = Clock(colour=Colour.RED, due=None, running=True, label="超期 4 个工作日")
    html = Template("{% load workbench %}{% signal clock %}").render(
        Context({"clock": clock})
    )

    assert "signal--red" in html
    assert html.count("超期") == 1
    assert "超期 4 个工作日" in html


def test_inbox_is_not_for_applicants_and_asks_strangers_to_log_in(client, applicant):
    anonymous = client.get(reverse("cases:inbox"))
    client.force_login(applicant)
    as_applicant = client.get(reverse("cases:inbox"))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("accounts:login"))
    assert as_applicant.status_code == 404


@pytest.mark.parametrize("who", ["other_reviewer", "other_clerk"])
def test_inbox_shows_only_the_own_departments_work(
    client, item, applicant, clerk, who, request
):
    f.accepted_case(item=item, applicant=applicant, clerk=clerk, n=1)
    f.submitted_case(item=item, applicant=applicant, n=2)
    client.force_login(request.getfixturevalue(who))

    response = client.get(reverse("cases:inbox"))

    assert response.context["tasks"] == []
    assert all(entry.cases == [] for entry in response.context["worklists"])
    assert response.context["received_today"] == 0


# Search


def test_case_list_finds_by_number_or_applicant_name_within_scope(
    client, item, applicant, clerk, other_clerk
):
    first = f.submitted_case(item=item, applicant=applicant, n=1)
    second = services.case_submit(
        actor=f.ApplicantFactory(),
        item=item,
        applicant=f.person_applicant(2, name="赵敏"),
        form_data={},
        materials=[],
    ).case
    client.force_login(clerk)

    by_number = client.get(reverse("cases:case_list"), {"q": first.number})
    by_name = client.get(reverse("cases:case_list"), {"q": "赵敏"})
    client.force_login(other_clerk)
    other = client.get(reverse("cases:case_list"), {"q": first.number})

    assert list(by_number.context["page"].object_list) == [first]
    assert list(by_name.context["page"].object_list) == [second]
    assert "办件查询" in page(by_name)
    assert list(other.context["page"].object_list) == []


def test_case_list_filters_by_status(client, item, applicant, clerk):
    waiting = f.submitted_case(item=item, applicant=applicant, n=1)
    accepted = f.accepted_case(item=item, applicant=applicant, clerk=clerk, n=2)
    client.force_login(clerk)

    response = client.get(reverse("cases:case_list"), {"status": "in_review"})

    assert list(response.context["page"].object_list) == [accepted]
    assert waiting.number not in page(response)


# The case page and its scope


def test_case_page_shows_applicant_item_materials_timeline_in_chinese(
    client, item, applicant, reviewer
):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(reviewer)

    response = client.get(case_url(case))

    assert response.status_code == 200
    html = page(response)
    assert f"办件 {case.number}" in html
    assert "已提交" in html
    assert case.item.name in html
    assert "申请书.pdf" in html
    assert "办理过程" in html
    assert "受理后开始计算办理时限" in html
    material = case.materials.first()
    assert reverse("cases:material_download", args=[material.pk]) in html


def test_staff_of_another_department_get_404_on_page_action_and_download(
    client, item, applicant, other_clerk
):
    case = f.submitted_case(item=item, applicant=applicant)
    material = case.materials.first()
    client.force_login(other_clerk)

    responses = [
        client.get(case_url(case)),
        client.post(action_url(case, "accept")),
        client.post(reverse("cases:case_reveal", args=[case.number, "contact_phone"])),
        client.get(reverse("cases:material_download", args=[material.pk])),
    ]

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert fresh(case).status == CaseStatus.SUBMITTED
    assert not AuditEntry.objects.filter(action="pii_revealed").exists()


def test_reviewer_sees_masked_numbers_and_reveal_writes_an_audit_row(
    client, item, applicant, reviewer
):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(reviewer)

    html = page(client.get(case_url(case)))
    response = client.post(
        reverse("cases:case_reveal", args=[case.number, "applicant_code"]),
        HTTP_HX_REQUEST="true",
    )

    assert case.applicant_code not in html
    assert case.applicant_code[:6] + "********" + case.applicant_code[-4:] in html
    assert "139****9000" in html
    assert "查看完整号码" in html
    assert response.status_code == 200
    assert case.applicant_code in page(response)
    assert "<html" not in page(response)
    entry = AuditEntry.objects.get(action="pii_revealed")
    assert entry.actor == reviewer
    assert entry.target_id == str(case.pk)
    assert entry.after == {"field": "applicant_code"}


def test_reveal_without_htmx_shows_the_whole_page_with_the_value(
    client, item, applicant, reviewer
):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(reviewer)

    response = client.post(
        reverse("cases:case_reveal", args=[case.number, "contact_phone"])
    )

    assert response.status_code == 200
    assert "13900139000" in page(response)
    assert AuditEntry.objects.filter(action="pii_revealed").count() == 1


def test_reveal_of_another_field_is_not_found(client, item, applicant, reviewer):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(reviewer)

    response = client.post(
        reverse("cases:case_reveal", args=[case.number, "applicant_name"])
    )

    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="pii_revealed").exists()


def test_clerk_of_the_department_sees_full_numbers_without_a_reveal(
    client, item, applicant, clerk
):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(clerk)

    html = page(client.get(case_url(case)))

    assert case.applicant_code in html
    assert "13900139000" in html
    assert "查看完整号码" not in html


# Actions through the page


def test_clerk_accepts_through_the_page(client, item, applicant, clerk):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(clerk)

    html = page(client.get(case_url(case)))
    response = client.post(action_url(case, "accept"), follow=True)

    assert "受理" in html
    assert action_url(case, "accept") in html
    assert fresh(case).status == CaseStatus.IN_REVIEW
    assert "已受理，办件进入审查。" in page(response)
    assert "2024-09-09" in page(response)  # 5 working days from 09-02


def test_accepting_twice_answers_409_with_a_chinese_message(
    client, item, applicant, clerk
):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(clerk)

    client.post(action_url(case, "accept"))
    again = client.post(action_url(case, "accept"))

    assert again.status_code == 409
    assert "不能执行“受理”" in page(again)
    assert Task.objects.filter(case=case).count() == 1


def test_refusal_without_a_reason_is_refused_in_chinese_and_changes_nothing(
    client, item, applicant, clerk
):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(clerk)

    response = client.post(action_url(case, "refuse"), {"refuse-reason": " "})

    assert response.status_code == 400
    assert fresh(case).status == CaseStatus.SUBMITTED
    html = page(response)
    assert "理由" in html
    assert 'role="alert"' in html
    assert '<details class="action-details action-details--danger" open>' in html


def test_refusal_with_a_reason_through_the_page(client, item, applicant, clerk):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(clerk)

    client.post(action_url(case, "refuse"), {"refuse-reason": "不属于本部门职权"})

    case = fresh(case)
    assert case.status == CaseStatus.NOT_ACCEPTED
    assert case.refusal_reason == "不属于本部门职权"


def test_correction_request_lists_ticked_materials_and_free_text(
    client, item, applicant, clerk
):
    first = item.materials.get(order=1)
    case = f.submitted_case(
        item=item, applicant=applicant, materials=f.all_materials(item)[:1]
    )
    client.force_login(clerk)

    form_html = page(client.get(case_url(case)))
    client.post(
        action_url(case, "request_correction"),
        {
            "request_correction-materials": [str(first.pk)],
            "request_correction-other": "营业执照副本\n\n",
            "request_correction-note": "请加盖公章",
        },
    )

    case = fresh(case)
    assert case.status == CaseStatus.CORRECTION_REQUESTED
    assert [e["name"] for e in case.correction_items] == [
        "身份证明",
        "申请书",
        "营业执照副本",
    ]
    assert case.correction_note == "请加盖公章"
    # Every material is offered; the missing required one is ticked.
    assert "其他材料" in form_html
    second = item.materials.get(order=2)
    assert f'value="{second.pk}" ' in form_html
    assert "checked" in form_html.split(f'value="{second.pk}"')[1].split(">")[0]


def test_suspend_and_resume_through_the_page_show_the_pause(
    client, clock, item, applicant, clerk, reviewer
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    client.force_login(reviewer)
    clock.at(2024, 9, 9)

    client.post(
        action_url(case, "suspend"),
        {"suspend-kind": "expert_review", "suspend-reason": "组织专家评审"},
    )
    clock.at(2024, 9, 11)
    suspended = page(client.get(case_url(case)))
    client.post(
        action_url(case, "resume"), {"resume-materials_received_on": "2024-09-10"}
    )

    assert "暂停中，已暂停 3 个工作日" in suspended
    assert "signal--paused" in suspended
    case = fresh(case)
    assert case.status == CaseStatus.IN_REVIEW
    assert case.paused_working_days == 2
    pause = CasePause.objects.get(case=case)
    assert (pause.started_on, pause.ended_on) == (
        datetime.date(2024, 9, 9),
        datetime.date(2024, 9, 10),
    )
    html = page(client.get(case_url(case)))
    assert "专家评审" in html
    assert "期限已顺延 2 个工作日" in html


def test_extension_through_the_page_and_a_second_one_is_refused(
    client, item, applicant, clerk, reviewer
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    client.force_login(reviewer)

    client.post(
        action_url(case, "extend"), {"extend-days": "5", "extend-reason": "案情复杂"}
    )
    html = page(client.get(case_url(case)))
    again = client.post(
        action_url(case, "extend"), {"extend-days": "2", "extend-reason": "再延"}
    )

    assert fresh(case).extension_days == 5
    assert "案情复杂" in html
    assert again.status_code == 409
    assert fresh(case).extension_days == 5


def test_an_extension_of_letters_is_refused_by_the_form(
    client, item, applicant, clerk, reviewer
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    client.force_login(reviewer)

    response = client.post(
        action_url(case, "extend"), {"extend-days": "五", "extend-reason": "x"}
    )

    assert response.status_code == 400
    assert fresh(case).extension_days == 0
    assert "请修改标出的内容" in page(response)


def test_review_steps_issue_and_close_through_the_page(
    client, item, applicant, clerk, reviewer, reviewer2, approver
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

    for handler in (reviewer, reviewer2, approver):
        client.force_login(handler)
        task = Task.objects.get(case=case, status=TaskStatus.OPEN)
        html = page(client.get(case_url(case)))
        assert reverse("cases:task_complete", args=[task.pk]) in html
        # The last node decides; the page offers no direct decision.
        assert action_url(case, "decide") not in html
        response = client.post(
            reverse("cases:task_complete", args=[task.pk]),
            {f"task{task.pk}-outcome": "approved", f"task{task.pk}-opinion": "同意"},
            follow=True,
        )
    decided = fresh(case)
    client.force_login(clerk)
    client.post(action_url(case, "issue_result"), {"issue_result-note": ""})
    closed = client.post(action_url(case, "close"), follow=True)

    assert decided.status == CaseStatus.DECIDED
    assert decided.decision == Decision.APPROVED
    assert "审查已完成，决定：准予许可" in page(response)
    assert fresh(case).status == CaseStatus.CLOSED
    assert "已办结" in page(closed)


def test_completing_a_task_twice_answers_409(client, item, applicant, clerk, reviewer):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    task = Task.objects.get(case=case)
    client.force_login(reviewer)
    data = {f"task{task.pk}-outcome": "approved", f"task{task.pk}-opinion": ""}

    client.post(reverse("cases:task_complete", args=[task.pk]), data)
    again = client.post(reverse("cases:task_complete", args=[task.pk]), data)

    assert again.status_code == 409
    assert "该任务已办理，不能重复办理。" in page(again)
    assert Task.objects.filter(case=case).count() == 2


def test_a_denial_needs_an_opinion(client, item, applicant, clerk, reviewer):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    task = Task.objects.get(case=case)
    client.force_login(reviewer)

    response = client.post(
        reverse("cases:task_complete", args=[task.pk]),
        {f"task{task.pk}-outcome": "rejected", f"task{task.pk}-opinion": ""},
    )

    assert response.status_code == 400
    assert Task.objects.get(pk=task.pk).status == TaskStatus.OPEN


def test_a_step_of_another_node_by_the_same_person_is_refused_on_the_page(
    client, item, applicant, clerk, reviewer
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    client.force_login(reviewer)
    first = Task.objects.get(case=case)
    client.post(
        reverse("cases:task_complete", args=[first.pk]),
        {f"task{first.pk}-outcome": "approved", f"task{first.pk}-opinion": ""},
    )
    second = Task.objects.get(case=case, status=TaskStatus.OPEN)

    html = page(client.get(case_url(case)))
    response = client.post(
        reverse("cases:task_complete", args=[second.pk]),
        {f"task{second.pk}-outcome": "approved", f"task{second.pk}-opinion": ""},
    )

    assert reverse("cases:task_complete", args=[second.pk]) not in html
    assert "同事办理" in html
    assert response.status_code == 409
    assert "同一人不能办理同一办件的两个审批环节" in page(response)
    assert Task.objects.get(pk=second.pk).status == TaskStatus.OPEN


def test_case_page_shows_the_address_the_applicant_typed(
    client, item, applicant, clerk
):
    case = services.case_submit(
        actor=applicant,
        item=item,
        applicant=f.enterprise_applicant(
            7, address="广安区中桥路8号", legal_representative="赵六"
        ),
        form_data={},
        materials=[],
    ).case
    client.force_login(clerk)

    html = page(client.get(case_url(case)))

    assert "地址" in html
    assert "广安区中桥路8号" in html
    assert "赵六" in html


def test_a_direct_decision_during_review_is_refused_on_the_page(
    client, item, applicant, clerk, reviewer
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    client.force_login(reviewer)

    response = client.post(
        action_url(case, "decide"),
        {"decide-decision": "approved", "decide-reason": ""},
    )

    assert response.status_code == 409
    assert "审查流程尚未完成，不能直接作出决定" in page(response)
    assert fresh(case).status == CaseStatus.IN_REVIEW
    assert Task.objects.get(case=case).status == TaskStatus.OPEN


def test_a_reviewer_decides_a_denial_with_its_reason(
    client, direct_item, applicant, clerk, reviewer
):
    case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)
    client.force_login(reviewer)
    assert action_url(case, "decide") in page(client.get(case_url(case)))

    client.post(
        action_url(case, "decide"),
        {"decide-decision": "denied", "decide-reason": "不符合规划"},
    )

    case = fresh(case)
    assert (case.status, case.decision) == (CaseStatus.DECIDED, Decision.DENIED)
    assert case.decision_reason == "不符合规划"


def test_a_manager_terminates_through_the_page(client, item, applicant, clerk, manager):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    client.force_login(manager)

    html = page(client.get(case_url(case)))
    client.post(action_url(case, "terminate"), {"terminate-reason": "申请人主体注销"})

    assert "终止办理" in html
    assert fresh(case).status == CaseStatus.TERMINATED


def test_an_action_the_role_may_not_take_is_not_offered_and_refused(
    client, item, applicant, reviewer
):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(reviewer)

    html = page(client.get(case_url(case)))
    response = client.post(action_url(case, "accept"))

    assert action_url(case, "accept") not in html
    assert response.status_code == 403
    assert fresh(case).status == CaseStatus.SUBMITTED


def test_unknown_action_is_not_found(client, item, applicant, clerk):
    case = f.submitted_case(item=item, applicant=applicant)
    client.force_login(clerk)

    assert client.post(action_url(case, "approve_everything")).status_code == 404


# Deadline explanation


def test_case_page_explains_holidays_and_a_provisional_year(
    client, clock, item, applicant, clerk
):
    clock.at(2026, 12, 24)
    case = f.submitted_case(item=item, applicant=applicant)
    services.case_accept(case=case, actor=clerk)
    client.force_login(clerk)

    html = page(client.get(case_url(case)))

    assert "受理日期" in html
    assert "2026-12-24" in html
    assert "期限为暂定：2027 年节假日安排尚未发布" in html
    assert "元旦" in html
    assert "周末" in html


# Downloads


def test_download_keeps_the_original_chinese_name(client, item, applicant, clerk):
    name = "可行性研究报告" * 10 + ".pdf"
    case = f.submitted_case(
        item=item,
        applicant=applicant,
        materials=[
            MaterialUpload(file=f.pdf(name), requirement_id=item.materials.first().pk)
        ],
    )
    material = case.materials.get()
    client.force_login(clerk)

    response = client.get(reverse("cases:material_download", args=[material.pk]))

    assert response.status_code == 200
    assert f"filename*=utf-8''{quote(name)}" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4")


def test_applicant_downloads_own_material_but_not_anothers(
    client, item, applicant, other_applicant
):
    case = f.submitted_case(item=item, applicant=applicant)
    material = case.materials.first()

    client.force_login(applicant)
    own = client.get(reverse("cases:material_download", args=[material.pk]))
    client.force_login(other_applicant)
    other = client.get(reverse("cases:material_download", args=[material.pk]))

    assert own.status_code == 200
    assert other.status_code == 404


def test_applicant_timeline_names_each_review_step_without_opinions(
    client, item, applicant, clerk, reviewer, reviewer2, approver
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    for handler, opinion in ((reviewer, "内部意见甲"), (reviewer2, "内部意见乙")):
        client.force_login(handler)
        task = Task.objects.get(case=case, status=TaskStatus.OPEN)
        client.post(
            reverse("cases:task_complete", args=[task.pk]),
            {f"task{task.pk}-outcome": "approved", f"task{task.pk}-opinion": opinion},
        )

    client.force_login(applicant)
    html = page(client.get(reverse("hall:case_detail", args=[case.number])))

    assert "办理环节：审查" in html
    assert "办理环节：审核" in html
    assert "内部意见" not in html


def test_an_action_the_role_may_not_take_says_so_before_the_form(
    client, item, applicant, clerk
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    client.force_login(clerk)

    response = client.post(action_url(case, "decide"), {})

    assert response.status_code == 403
    assert "您的角色不能执行" in page(response)
    assert fresh(case).status == CaseStatus.IN_REVIEW

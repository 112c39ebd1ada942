"""Parallel review through the services, and the approval verbs.

The feasibility route: the lead department's preliminary check, then
城市规划 and 自然资源 review in parallel (each may ask for a revision), then
the lead department decides. Case 12 (a refusal) and the verbs: send back,
transfer, delegate, co-signers, countersign (all / any) and urge.
"""

import datetime
import threading

import pytest
from django.db import connection
from django.http import Http404
from django.urls import reverse
from rest_framework.test import APIClient

from smartapproval.audit.models import AuditEntry
from smartapproval.cases import deadlines, selectors, services
from smartapproval.cases.models import (
    CaseStatus,
    Decision,
    ResultKind,
    SignerStatus,
    Task,
    TaskStatus,
)
from smartapproval.cases.results import result_content
from smartapproval.cases.tests import factories as f
from smartapproval.cases.tests.test_parallel import THREE_BRANCHES
from smartapproval.cases.tests.test_workflow import FEASIBILITY, at
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.catalogue.processes import process_import
from smartapproval.core.api import ServiceError

pytestmark = pytest.mark.usefixtures("calendar", "clock")

PLANNING, RESOURCES = "城市规划行政主管部门", "自然资源行政主管部门"


@pytest.fixture
def co(db):
    """The two co-departments, each with two reviewers and a clerk."""
    departments = {
        name: f.DepartmentFactory(name=name) for name in (PLANNING, RESOURCES)
    }
    return {
        name: {
            "department": department,
            "reviewers": [f.ReviewerFactory(department=department) for _ in range(2)],
            "clerk": f.ClerkFactory(department=department),
        }
        for name, department in departments.items()
    }


@pytest.fixture
def feasibility(item, co):
    process_import(actor=None, item=item, xml=FEASIBILITY.read_bytes())
    return item


def open_task(case, node_key):
    return Task.objects.get(case=case, node_key=node_key, status=TaskStatus.OPEN)


def fresh(case):
    case.refresh_from_db()
    return case


@pytest.fixture
def dispatched(feasibility, applicant, clerk, reviewer):
    """A case accepted and checked by the lead: both co-reviews are open."""
    case = f.accepted_case(item=feasibility, applicant=applicant, clerk=clerk)
    services.task_complete(
        task=open_task(case, "lead_preliminary"), actor=reviewer, outcome="done"
    )
    return case


def hand_in_revision(case, applicant, clock, name="修改稿.pdf"):
    """The applicant uploads a revised file a minute later, from the hall."""
    clock.moment += datetime.timedelta(minutes=1)
    form = case.item.materials.order_by("order").first()
    return services.case_add_materials(
        case=case,
        actor=f.account_for(applicant, 1),
        materials=[MaterialUpload(file=f.pdf(name), requirement_id=form.pk)],
    )


def planner(co, n=0):
    return co[PLANNING]["reviewers"][n]


def resourcer(co, n=0):
    return co[RESOURCES]["reviewers"][n]


# The whole round ---------------------------------------------------------------


def test_revision_then_approval_with_conditions_ends_in_a_licence_with_them(
    dispatched, co, reviewer2, approver, clerk, clock, applicant, client
):
    case = dispatched
    planning = open_task(case, "planning_review")
    assert planning.answers == [
        "approved",
        "approved_with_conditions",
        "revision_required",
        "rejected",
    ]

    with pytest.raises(ServiceError) as no_opinion:
        services.task_complete(
            task=planning, actor=planner(co), outcome="revision_required"
        )
    assert no_opinion.value.field == "opinion"
    services.task_complete(
        task=planning,
        actor=planner(co),
        outcome="revision_required",
        opinion="补充用地规划图",
    )
    # The applicant reads what to revise and who asks; other opinions stay
    # with the staff.
    told = selectors.case_timeline_for_applicant(case).get(action="request_revision")
    assert (told.step, told.note) == (PLANNING, "补充用地规划图")
    revision = open_task(case, "planning_revision")
    assert revision.department == case.department
    assert revision.answers == ["revised"]
    hand_in_revision(case, applicant, clock, "用地规划图.pdf")
    client.force_login(applicant)
    page = client.get(reverse("hall:case_detail", args=[case.number]))
    assert "已提交，等待部门办理：" in page.content.decode()
    assert "用地规划图.pdf" in page.content.decode()
    services.task_complete(task=revision, actor=reviewer2, outcome="revised")

    clock.at(2024, 9, 4, 9)
    again = open_task(case, "planning_review")
    assert again.pk != planning.pk
    services.task_complete(task=again, actor=planner(co), outcome="approved")
    services.task_complete(
        task=open_task(case, "resources_review"),
        actor=resourcer(co),
        outcome="approved_with_conditions",
        opinion="施工前完成压覆矿产查询",
    )

    decision = open_task(case, "lead_decision")
    assert decision.decides
    assert decision.answers == ["approved", "denied", "another_round"]
    assert services.answer_label(decision, "approved") == "准予许可"
    services.task_complete(task=decision, actor=approver, outcome="approved")

    case = fresh(case)
    assert (case.status, case.decision) == (CaseStatus.DECIDED, Decision.APPROVED)
    services.case_issue_result(case=case, actor=clerk)
    document = fresh(case).result_document
    assert document.kind == ResultKind.LICENCE
    paragraphs = result_content(document).paragraphs
    assert "本许可附下列条件：" in paragraphs
    assert f"{RESOURCES}：施工前完成压覆矿产查询" in paragraphs
    assert Task.objects.filter(case=case, node_key="lead_decision").count() == 1
    # The applicant's page says the conditions too, not only the PDF.
    client.force_login(case.applicant_account)
    page = client.get(reverse("hall:case_detail", args=[case.number]))
    assert "许可条件" in page.content.decode()
    assert f"{RESOURCES}：施工前完成压覆矿产查询" in page.content.decode()


def test_refusal_denies_at_once_names_the_department_case_12(
    dispatched, co, clerk, clock
):
    case = dispatched
    clock.at(2024, 9, 3, 10)
    services.task_complete(
        task=open_task(case, "planning_review"), actor=planner(co), outcome="approved"
    )
    resources = open_task(case, "resources_review")

    clock.at(2024, 9, 4, 10)
    with pytest.raises(ServiceError) as no_reason:
        services.task_complete(
            task=resources, actor=resourcer(co), outcome="rejected", opinion=" "
        )
    assert (no_reason.value.field, no_reason.value.status) == ("opinion", 400)
    assert fresh(case).status == CaseStatus.IN_REVIEW

    services.task_complete(
        task=resources,
        actor=resourcer(co),
        outcome="rejected",
        opinion="疏散通道宽度不足",
    )

    case = fresh(case)
    assert (case.status, case.decision) == (CaseStatus.DECIDED, Decision.DENIED)
    assert case.decision_reason == f"{RESOURCES}不同意：疏散通道宽度不足"
    assert not case.tasks.filter(status=TaskStatus.OPEN).exists()
    # The applicant's written decision names the department, its reason and
    # the review rights; no licence is ever issued.
    services.case_issue_result(case=case, actor=clerk)
    document = fresh(case).result_document
    assert document.kind == ResultKind.DECISION
    content = result_content(document)
    assert f"理由：{RESOURCES}不同意：疏散通道宽度不足" in content.paragraphs
    assert any("行政复议" in line for line in content.review_rights)


def test_applicant_page_names_the_refuser_the_reason_and_the_rights_case_12(
    dispatched, co, applicant, client
):
    case = dispatched
    services.task_complete(
        task=open_task(case, "resources_review"),
        actor=resourcer(co),
        outcome="rejected",
        opinion="疏散通道宽度不足",
    )
    client.force_login(applicant)

    page = client.get(reverse("hall:case_detail", args=[case.number]))

    text = page.content.decode()
    assert f"{RESOURCES}不同意：疏散通道宽度不足" in text
    assert "救济途径" in text
    assert "六十日内申请行政复议" in text
    assert "六个月内提起行政诉讼" in text


def test_a_late_answer_after_a_refusal_is_refused_with_409_case_12(
    three_branch, co, reviewer, approver
):
    case, people = three_branch
    services.task_complete(
        task=open_task(case, "market_review"),
        actor=people["市场监管局"],
        outcome="approved",
    )
    services.task_complete(
        task=open_task(case, "fire_review"),
        actor=people["消防救援大队"],
        outcome="rejected",
        opinion="疏散通道宽度不足",
    )
    health = Task.objects.get(case=case, node_key="health_review")
    assert health.status == TaskStatus.CANCELLED

    with pytest.raises(ServiceError) as late:
        services.task_complete(
            task=health, actor=people["卫生健康局"], outcome="approved"
        )
    assert late.value.status == 409

    # On this route the lead decides: it may deny, never approve.
    decision = open_task(case, "lead_decision")
    with pytest.raises(ServiceError) as approve:
        services.task_complete(task=decision, actor=approver, outcome="approved")
    assert (approve.value.status, approve.value.code) == (
        409,
        "refused_by_co_department",
    )
    assert "消防救援大队不同意：疏散通道宽度不足" in approve.value.message
    services.task_complete(
        task=decision, actor=approver, outcome="denied", opinion="消防不同意"
    )
    assert fresh(case).decision == Decision.DENIED


@pytest.fixture
def three_branch(item, applicant, clerk, reviewer):
    people = {}
    for name in ("市场监管局", "消防救援大队", "卫生健康局"):
        people[name] = f.ReviewerFactory(department=f.DepartmentFactory(name=name))
    process_import(actor=None, item=item, xml=THREE_BRANCHES.read_bytes())
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(
        task=open_task(case, "lead_preliminary"), actor=reviewer, outcome="done"
    )
    return case, people


def test_the_join_fires_once_per_round_however_often_a_branch_loops(
    dispatched, co, reviewer, reviewer2, approver
):
    case = dispatched
    for n in range(3):
        services.task_complete(
            task=open_task(case, "planning_review"),
            actor=planner(co),
            outcome="revision_required",
            opinion=f"第{n + 1}次补正",
        )
        # The other branch's answer in the middle of the loop does not close
        # the round.
        if n == 1:
            services.task_complete(
                task=open_task(case, "resources_review"),
                actor=resourcer(co),
                outcome="approved",
            )
        assert not Task.objects.filter(case=case, node_key="lead_decision").exists()
        services.task_complete(
            task=open_task(case, "planning_revision"),
            actor=reviewer2,
            outcome="revised",
            opinion="窗口收到纸质补正材料",
        )
    services.task_complete(
        task=open_task(case, "planning_review"), actor=planner(co), outcome="approved"
    )

    assert Task.objects.filter(case=case, node_key="lead_decision").count() == 1
    # Another round has its own join, which fires once more.
    services.task_complete(
        task=open_task(case, "lead_decision"),
        actor=approver,
        outcome="another_round",
        opinion="规划调整后再次征求意见",
    )
    services.task_complete(
        task=open_task(case, "lead_preliminary"), actor=reviewer, outcome="done"
    )
    rounds = set(
        Task.objects.filter(case=case, node_key="planning_review").values_list(
            "round", flat=True
        )
    )
    assert rounds == {1, 2}
    services.task_complete(
        task=open_task(case, "resources_review"),
        actor=resourcer(co),
        outcome="approved",
    )
    assert Task.objects.filter(case=case, node_key="lead_decision").count() == 1
    services.task_complete(
        task=open_task(case, "planning_review"), actor=planner(co), outcome="approved"
    )
    assert Task.objects.filter(case=case, node_key="lead_decision").count() == 2


# Send back ---------------------------------------------------------------------


def test_a_co_department_sends_the_case_back_to_the_lead_check(
    dispatched, co, reviewer
):
    case = dispatched
    planning = open_task(case, "planning_review")
    services.task_complete(
        task=open_task(case, "resources_review"),
        actor=resourcer(co),
        outcome="approved",
    )
    targets = services.task_send_back_targets(task=planning)
    assert [(t.node_key, t.name) for t in targets] == [
        ("lead_preliminary", "牵头部门初审")
    ]

    services.task_send_back(
        task=planning,
        actor=planner(co),
        node_key="lead_preliminary",
        reason="申报材料与项目建议书不一致",
    )

    assert open_task(case, "lead_preliminary").department == case.department
    assert not case.tasks.filter(status=TaskStatus.OPEN, round__isnull=False).exists()
    # The round starts afresh: both co-departments review again.
    services.task_complete(
        task=open_task(case, "lead_preliminary"), actor=reviewer, outcome="done"
    )
    assert {t.node_key for t in case.tasks.filter(status=TaskStatus.OPEN)} == {
        "planning_review",
        "resources_review",
    }
    entry = AuditEntry.objects.get(action="task_sent_back")
    assert entry.after["to"] == "lead_preliminary"


# Transfer and delegate -----------------------------------------------------------


def test_transfer_within_the_department_hands_the_task_to_one_person(dispatched, co):
    case = dispatched
    task = open_task(case, "planning_review")
    first, second = co[PLANNING]["reviewers"]

    with pytest.raises(ServiceError) as no_reason:
        services.task_transfer(task=task, actor=first, to_user_id=second.pk, reason="")
    assert no_reason.value.field == "reason"
    services.task_transfer(
        task=task, actor=first, to_user_id=second.pk, reason="由规划科办理"
    )

    task.refresh_from_db()
    assert task.assignee == second
    with pytest.raises(ServiceError) as taken:
        services.task_complete(task=task, actor=first, outcome="approved")
    assert taken.value.status == 403
    services.task_complete(task=task, actor=second, outcome="approved")
    assert AuditEntry.objects.filter(action="task_transferred").count() == 1


def test_only_the_centre_transfers_a_task_to_another_department(
    dispatched, co, manager
):
    case = dispatched
    task = open_task(case, "planning_review")
    elsewhere = resourcer(co)

    with pytest.raises(ServiceError) as refused:
        services.task_transfer(
            task=task, actor=planner(co), to_user_id=elsewhere.pk, reason="非本部门"
        )
    assert refused.value.status == 403

    services.task_transfer(
        task=task, actor=manager, to_user_id=elsewhere.pk, reason="分办错误"
    )
    task.refresh_from_db()
    assert (task.department, task.assignee) == (co[RESOURCES]["department"], elsewhere)


def test_a_delegate_acts_for_the_handler_who_stays_responsible(dispatched, co):
    case = dispatched
    task = open_task(case, "planning_review")
    handler, colleague = co[PLANNING]["reviewers"]
    outsider = f.ReviewerFactory(department=co[PLANNING]["department"])

    services.task_delegate(task=task, actor=handler, to_user_id=colleague.pk)
    task.refresh_from_db()
    assert (task.assignee, task.delegate) == (handler, colleague)
    with pytest.raises(ServiceError):
        services.task_complete(task=task, actor=outsider, outcome="approved")

    services.task_complete(task=task, actor=colleague, outcome="approved")

    task.refresh_from_db()
    assert task.completed_by == colleague
    event = case.events.filter(action="complete_task").last()
    assert f"受{handler}委托" in event.note


def test_delegating_again_to_the_same_delegate_is_refused(dispatched, co):
    task = open_task(dispatched, "planning_review")
    handler, colleague = co[PLANNING]["reviewers"]
    services.task_delegate(task=task, actor=handler, to_user_id=colleague.pk)

    with pytest.raises(ServiceError) as again:
        services.task_delegate(task=task, actor=handler, to_user_id=colleague.pk)

    assert (again.value.status, again.value.code) == (409, "already_delegated")
    assert str(colleague) in again.value.message and "委托" in again.value.message
    assert AuditEntry.objects.filter(action="task_delegated").count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_delegations_make_one(dispatched, co):
    task = open_task(dispatched, "planning_review")
    handler, colleague = co[PLANNING]["reviewers"]
    done: list = []
    refused: list = []
    start = threading.Barrier(3)

    def send():
        try:
            start.wait()
            services.task_delegate(task=task, actor=handler, to_user_id=colleague.pk)
            done.append(True)
        except ServiceError as exc:
            refused.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (len(done), refused) == (1, ["already_delegated"] * 2)
    assert task.log.filter(kind="delegate").count() == 1
    assert AuditEntry.objects.filter(action="task_delegated").count() == 1
    assert dispatched.events.filter(action="delegate_task").count() == 1


# Co-signers and countersignatures ------------------------------------------------


def test_a_co_signer_signs_before_the_handler_answers(dispatched, co):
    case = dispatched
    task = open_task(case, "planning_review")
    handler, cosigner = co[PLANNING]["reviewers"]

    services.task_cosigners_add(task=task, actor=handler, user_ids=[cosigner.pk])
    with pytest.raises(ServiceError) as waiting:
        services.task_complete(task=task, actor=handler, outcome="approved")
    assert (waiting.value.status, waiting.value.code) == (409, "cosigners_pending")

    with pytest.raises(ServiceError) as no_opinion:
        services.task_sign(task=task, actor=cosigner, outcome="rejected")
    assert no_opinion.value.field == "opinion"
    services.task_sign(
        task=task, actor=cosigner, outcome="approved", opinion="同意，注意退线"
    )
    with pytest.raises(ServiceError) as twice:
        services.task_sign(task=task, actor=cosigner, outcome="approved")
    assert (twice.value.status, twice.value.code) == (409, "already_signed")
    services.task_complete(task=task, actor=handler, outcome="approved")

    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.signers.get().status == SignerStatus.SIGNED


def test_the_task_api_tells_a_signer_the_answers_to_sign_with(dispatched, co):
    from rest_framework.test import APIClient

    task = open_task(dispatched, "planning_review")
    handler, cosigner = co[PLANNING]["reviewers"]
    services.task_cosigners_add(task=task, actor=handler, user_ids=[cosigner.pk])

    def read(user):
        api = APIClient()
        api.force_authenticate(user)
        return api.get(f"/api/v1/tasks/{task.pk}/").json()

    assert [(a["value"], a["label"]) for a in read(cosigner)["sign_answers"]] == [
        ("approved", "同意"),
        ("rejected", "不同意"),
    ]
    assert read(handler)["sign_answers"] == []


def test_countersign_all_takes_the_most_severe_answer(dispatched, co, reviewer2):
    case = dispatched
    task = open_task(case, "planning_review")
    first, second = co[PLANNING]["reviewers"]

    services.task_countersign(task=task, actor=first, user_ids=[second.pk], mode="all")
    with pytest.raises(ServiceError) as alone:
        services.task_complete(task=task, actor=first, outcome="approved")
    assert alone.value.code == "countersign_pending"

    services.task_sign(task=task, actor=first, outcome="approved")
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    services.task_sign(
        task=task, actor=second, outcome="revision_required", opinion="补充日照分析"
    )

    task.refresh_from_db()
    assert (task.status, task.outcome) == (TaskStatus.DONE, "revision_required")
    assert "补充日照分析" in task.opinion
    assert open_task(case, "planning_revision")


def test_countersign_any_lets_the_first_signature_decide(dispatched, co):
    case = dispatched
    task = open_task(case, "resources_review")
    first, second = co[RESOURCES]["reviewers"]
    services.task_countersign(task=task, actor=first, user_ids=[second.pk], mode="any")

    services.task_sign(task=task, actor=second, outcome="approved")

    task.refresh_from_db()
    assert (task.status, task.outcome) == (TaskStatus.DONE, "approved")
    signer = task.signers.get(user=first)
    assert signer.status == SignerStatus.CANCELLED
    with pytest.raises(ServiceError) as late:
        services.task_sign(task=task, actor=first, outcome="approved")
    assert late.value.status == 409


def test_a_signer_must_be_a_reviewer_of_the_task_department(dispatched, co):
    task = open_task(dispatched, "planning_review")

    with pytest.raises(ServiceError) as refused:
        services.task_cosigners_add(
            task=task, actor=planner(co), user_ids=[resourcer(co).pk]
        )

    assert refused.value.field == "signers"
    assert not task.signers.exists()


# Urge ----------------------------------------------------------------------------


def test_the_lead_department_urges_a_co_department(dispatched, co, clerk, manager):
    case = dispatched
    task = open_task(case, "planning_review")

    services.task_urge(task=task, actor=clerk, note="请尽快出具意见")
    services.task_urge(task=task, actor=manager)

    task.refresh_from_db()
    assert task.urge_count == 2
    assert AuditEntry.objects.filter(action="task_urged").count() == 2
    # Another co-department's staff do not urge it, nor see it.
    with pytest.raises(Http404):
        services.task_urge(task=task, actor=co[RESOURCES]["clerk"])


# Node clocks ---------------------------------------------------------------------


def test_a_node_turns_yellow_at_its_warning_and_red_past_its_limit(dispatched):
    task = open_task(dispatched, "planning_review")
    # Opened Monday 2024-09-02 10:00; 3 working days, warning when 1 is left.
    assert task.due_at == at(2024, 9, 5, 17)
    assert task.warn_at == at(2024, 9, 4, 17)

    colours = [
        deadlines.task_clock(task, now=moment).colour
        for moment in (
            at(2024, 9, 4, 16),
            at(2024, 9, 4, 17, 30),
            at(2024, 9, 5, 17, 1),
        )
    ]

    assert colours == ["green", "yellow", "red"]


def test_a_working_hour_clock_stands_still_on_the_paused_days(
    item, applicant, clerk, reviewer, reviewer2, approver, clock
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    services.task_complete(
        task=open_task(case, "review"), actor=reviewer, outcome="approved"
    )
    services.task_complete(
        task=open_task(case, "check"), actor=reviewer2, outcome="approved"
    )
    approve = open_task(case, "approve")
    # 4 office hours from Monday 10:00, yellow with 1 left.
    assert (approve.due_at, approve.warn_at) == (at(2024, 9, 2, 14), at(2024, 9, 2, 13))

    clock.at(2024, 9, 2, 11)
    services.case_suspend(case=case, actor=approver, kind="testing", reason="检测")
    assert deadlines.task_clock(approve, now=at(2024, 9, 3, 16)).colour == "green"
    clock.at(2024, 9, 5, 9)
    services.case_resume(
        case=case, actor=approver, materials_received_on=datetime.date(2024, 9, 4)
    )

    approve.refresh_from_db()
    # Paused 09-02 to 09-04 (whole days): the clock runs again on 09-05 at
    # 09:00 and the node's 4 hours end at 13:00, never in the paused days.
    assert approve.paused_working_days == 3
    assert (approve.due_at, approve.warn_at) == (at(2024, 9, 5, 13), at(2024, 9, 5, 12))
    assert deadlines.task_clock(approve, now=at(2024, 9, 5, 9, 30)).colour == "green"


def test_a_working_day_clock_gets_its_paused_days_back(dispatched, approver, clock):
    task = open_task(dispatched, "planning_review")
    assert task.due_on == datetime.date(2024, 9, 5)

    clock.at(2024, 9, 3, 10)
    services.case_suspend(
        case=dispatched, actor=approver, kind="expert_review", reason="专家评审"
    )
    clock.at(2024, 9, 10, 10)
    services.case_resume(
        case=dispatched,
        actor=approver,
        materials_received_on=datetime.date(2024, 9, 9),
    )

    task.refresh_from_db()
    # 09-03 to 09-06 and 09-09 paused (5 working days): 3 working days
    # counted from 09-10, 09-11, 09-12.
    assert task.paused_working_days == 5
    assert task.due_on == datetime.date(2024, 9, 12)
    assert task.due_at == at(2024, 9, 12, 17)


def test_a_calendar_change_moves_open_node_clocks_once(dispatched):
    task = open_task(dispatched, "planning_review")
    before = task.due_at

    summary = deadlines.open_deadlines_recompute(years=[2024])

    task.refresh_from_db()
    assert task.due_at == before
    assert summary.tasks_changed == 0
    assert datetime.date(2024, 9, 5) == task.due_on


# Separation of duties through the verbs -------------------------------------------


def test_countersigning_a_node_counts_as_taking_it(
    feasibility, applicant, clerk, reviewer, reviewer2, approver, co
):
    # reviewer2 stays free for the decision: a lead department of only two
    # could not countersign this step at all.
    case = f.accepted_case(item=feasibility, applicant=applicant, clerk=clerk)
    check = open_task(case, "lead_preliminary")
    services.task_countersign(
        task=check, actor=reviewer, user_ids=[approver.pk], mode="all"
    )
    services.task_sign(task=check, actor=approver, outcome="done")
    services.task_sign(task=check, actor=reviewer, outcome="done")
    for name, actor in ((PLANNING, planner(co)), (RESOURCES, resourcer(co))):
        node = "planning_review" if name == PLANNING else "resources_review"
        services.task_complete(
            task=open_task(case, node), actor=actor, outcome="approved"
        )

    decision = open_task(case, "lead_decision")
    with pytest.raises(ServiceError) as refused:
        services.task_complete(task=decision, actor=approver, outcome="approved")

    assert (refused.value.status, refused.value.code) == (409, "separation_of_duties")


def test_a_countersign_with_the_whole_lead_department_is_refused(
    feasibility, applicant, clerk, reviewer, reviewer2, approver
):
    # As in the demo: the lead department is these three reviewers.
    case = f.accepted_case(item=feasibility, applicant=applicant, clerk=clerk)
    check = open_task(case, "lead_preliminary")

    for verb in (
        lambda: services.task_countersign(
            task=check,
            actor=reviewer,
            user_ids=[reviewer2.pk, approver.pk],
            mode="all",
        ),
        lambda: services.task_cosigners_add(
            task=check, actor=reviewer, user_ids=[reviewer2.pk, approver.pk]
        ),
    ):
        with pytest.raises(ServiceError) as refused:
            verb()
        assert (refused.value.status, refused.value.code) == (409, "no_one_left")
        assert "牵头部门决定" in refused.value.message
        assert case.department.name in refused.value.message

    check.refresh_from_db()
    assert (check.sign_mode, check.signers.count()) == ("", 0)
    assert not AuditEntry.objects.filter(
        action__in=["task_countersign_started", "task_cosigners_added"]
    ).exists()


def test_a_countersign_that_leaves_one_colleague_lets_them_decide(
    feasibility, applicant, clerk, reviewer, reviewer2, approver, co
):
    case = f.accepted_case(item=feasibility, applicant=applicant, clerk=clerk)
    check = open_task(case, "lead_preliminary")
    services.task_countersign(
        task=check, actor=reviewer, user_ids=[approver.pk], mode="all"
    )
    services.task_sign(task=check, actor=approver, outcome="done")
    services.task_sign(task=check, actor=reviewer, outcome="done")
    for node, actor in (
        ("planning_review", planner(co)),
        ("resources_review", resourcer(co)),
    ):
        services.task_complete(
            task=open_task(case, node), actor=actor, outcome="approved"
        )

    decision = open_task(case, "lead_decision")
    assert [t.pk for t in selectors.task_inbox_for_user(user=reviewer2)] == [
        decision.pk
    ]
    services.task_complete(task=decision, actor=reviewer2, outcome="approved")
    assert fresh(case).decision == Decision.APPROVED


def test_a_sequential_route_keeps_a_hand_for_its_later_steps(
    item, applicant, clerk, reviewer, reviewer2, approver
):
    case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
    review = open_task(case, "review")

    with pytest.raises(ServiceError) as refused:
        services.task_cosigners_add(
            task=review, actor=reviewer, user_ids=[reviewer2.pk, approver.pk]
        )

    assert refused.value.code == "no_one_left"
    assert "审核" in refused.value.message


def test_a_co_department_without_a_later_step_may_all_countersign(dispatched, co):
    task = open_task(dispatched, "planning_review")
    first, second = co[PLANNING]["reviewers"]

    services.task_countersign(task=task, actor=first, user_ids=[second.pk], mode="all")

    task.refresh_from_db()
    assert task.sign_mode == "all"


def test_revision_steps_do_not_use_up_the_lead_departments_hands(
    dispatched, co, reviewer, reviewer2, approver, applicant, clock
):
    case = dispatched
    for node, actor in (
        ("planning_review", planner(co)),
        ("resources_review", resourcer(co)),
    ):
        services.task_complete(
            task=open_task(case, node),
            actor=actor,
            outcome="revision_required",
            opinion="补充说明",
        )
    hand_in_revision(case, applicant, clock)
    # Both revisions by the same hand, the one who did the preliminary check.
    services.task_complete(
        task=open_task(case, "planning_revision"), actor=reviewer, outcome="revised"
    )
    services.task_complete(
        task=open_task(case, "resources_revision"), actor=reviewer, outcome="revised"
    )
    for node, actor in (
        ("planning_review", planner(co)),
        ("resources_review", resourcer(co)),
    ):
        services.task_complete(
            task=open_task(case, node), actor=actor, outcome="approved"
        )

    decision = open_task(case, "lead_decision")
    assert [t.pk for t in selectors.task_inbox_for_user(user=approver)] == [decision.pk]
    services.task_complete(task=decision, actor=approver, outcome="approved")
    assert fresh(case).decision == Decision.APPROVED


def test_a_delegate_cannot_transfer_the_handlers_task_away(dispatched, co):
    task = open_task(dispatched, "planning_review")
    handler, colleague = co[PLANNING]["reviewers"]
    services.task_delegate(task=task, actor=handler, to_user_id=colleague.pk)

    with pytest.raises(ServiceError) as refused:
        services.task_transfer(
            task=task, actor=colleague, to_user_id=colleague.pk, reason="我来办"
        )

    assert (refused.value.status, refused.value.code) == (403, "not_handler")
    task.refresh_from_db()
    assert (task.assignee, task.delegate) == (handler, colleague)


def test_a_transfer_withdraws_the_requests_to_sign(dispatched, co, manager):
    task = open_task(dispatched, "planning_review")
    handler, cosigner = co[PLANNING]["reviewers"]
    services.task_cosigners_add(task=task, actor=handler, user_ids=[cosigner.pk])

    services.task_transfer(
        task=task, actor=manager, to_user_id=resourcer(co).pk, reason="分办错误"
    )

    assert task.signers.get().status == SignerStatus.CANCELLED
    services.task_complete(task=task, actor=resourcer(co), outcome="approved")


def test_a_countersigned_denial_tells_the_applicant_the_reason_not_the_names(
    three_branch, reviewer2, approver
):
    case, people = three_branch
    services.task_complete(
        task=open_task(case, "market_review"),
        actor=people["市场监管局"],
        outcome="approved",
    )
    services.task_complete(
        task=open_task(case, "fire_review"),
        actor=people["消防救援大队"],
        outcome="rejected",
        opinion="疏散通道宽度不足",
    )
    decision = open_task(case, "lead_decision")
    services.task_countersign(
        task=decision, actor=approver, user_ids=[reviewer2.pk], mode="any"
    )

    services.task_sign(
        task=decision, actor=reviewer2, outcome="denied", opinion="消防不合格"
    )

    case = fresh(case)
    assert case.decision == Decision.DENIED
    assert case.decision_reason == "消防不合格"
    assert str(reviewer2) not in case.decision_reason


def test_an_answer_after_the_case_was_withdrawn_says_so(dispatched, co, applicant):
    task = open_task(dispatched, "planning_review")
    services.case_withdraw(case=dispatched, actor=f.account_for(applicant, 1))

    with pytest.raises(ServiceError) as late:
        services.task_complete(task=task, actor=planner(co), outcome="approved")

    assert late.value.status == 409
    assert "撤回" in late.value.message


def test_the_applicant_hands_in_the_revised_files_while_a_revision_is_open(
    dispatched, co, applicant, client
):
    case = dispatched
    owner = f.account_for(applicant, 1)
    form = case.item.materials.order_by("order").first()
    upload = [MaterialUpload(file=f.pdf("修改稿.pdf"), requirement_id=form.pk)]
    with pytest.raises(ServiceError) as early:
        services.case_add_materials(case=case, actor=owner, materials=upload)
    assert (early.value.status, early.value.code) == (409, "no_revision_open")

    services.task_complete(
        task=open_task(case, "planning_review"),
        actor=planner(co),
        outcome="revision_required",
        opinion="补充用地规划图",
    )
    client.force_login(owner)
    page = client.get(reverse("hall:case_detail", args=[case.number])).content.decode()
    assert "补充用地规划图" in page
    response = client.post(
        reverse("hall:case_supply_revision", args=[case.number]),
        {f"material_{form.pk}": f.pdf("用地规划图.pdf"), "note": "已补充"},
    )

    assert response.status_code == 302
    assert case.materials.filter(original_name="用地规划图.pdf").exists()
    assert case.events.filter(action="add_material", note__contains="已补充").exists()


# Revision steps wait for the revision --------------------------------------------


def _ask_planning_revision(case, co):
    services.task_complete(
        task=open_task(case, "planning_review"),
        actor=planner(co),
        outcome="revision_required",
        opinion="补充用地规划图",
    )
    return open_task(case, "planning_revision")


def test_a_revision_step_is_not_closed_before_the_revised_files_arrive(
    dispatched, co, reviewer2, applicant, clock
):
    case = dispatched
    revision = _ask_planning_revision(case, co)

    with pytest.raises(ServiceError) as early:
        services.task_complete(task=revision, actor=reviewer2, outcome="revised")

    assert (early.value.status, early.value.code) == (409, "revision_not_received")
    assert early.value.field == "opinion"
    assert "尚未提交修改后的文件" in early.value.message
    revision.refresh_from_db()
    assert revision.status == TaskStatus.OPEN
    assert [t.pk for t in selectors.case_open_revisions(case)] == [revision.pk]
    assert not Task.objects.filter(
        case=case, node_key="planning_review", status=TaskStatus.OPEN
    ).exists()

    hand_in_revision(case, applicant, clock, "用地规划图.pdf")
    services.task_complete(task=revision, actor=reviewer2, outcome="revised")
    assert open_task(case, "planning_review")


def test_files_of_the_application_do_not_count_as_the_revision(
    dispatched, co, reviewer2, clock
):
    case = dispatched
    assert case.materials.exists()
    clock.moment += datetime.timedelta(hours=1)

    revision = _ask_planning_revision(case, co)

    assert selectors.revision_files_received(revision) == []
    with pytest.raises(ServiceError):
        services.task_complete(task=revision, actor=reviewer2, outcome="revised")


def test_a_revision_handed_in_on_paper_is_closed_with_an_opinion_saying_so(
    dispatched, co, reviewer2
):
    case = dispatched
    revision = _ask_planning_revision(case, co)

    services.task_complete(
        task=revision,
        actor=reviewer2,
        outcome="revised",
        opinion="申请人在窗口递交了纸质用地规划图",
    )

    revision.refresh_from_db()
    assert (revision.status, revision.opinion) == (
        TaskStatus.DONE,
        "申请人在窗口递交了纸质用地规划图",
    )
    assert open_task(case, "planning_review")


def test_the_api_refuses_an_empty_revision_in_chinese(dispatched, co, reviewer2):
    revision = _ask_planning_revision(dispatched, co)
    api = APIClient()
    api.force_authenticate(reviewer2)

    response = api.post(
        f"/api/v1/tasks/{revision.pk}/complete/",
        {"outcome": "revised", "opinion": ""},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["field"] == "opinion"
    assert "尚未提交修改后的文件" in response.json()["message"]
    revision.refresh_from_db()
    assert revision.status == TaskStatus.OPEN


def test_the_staff_page_lists_the_revised_files_that_arrived(
    dispatched, co, reviewer2, applicant, clock, client
):
    case = dispatched
    _ask_planning_revision(case, co)
    client.force_login(reviewer2)
    url = reverse("cases:case_detail", args=[case.number])

    before = client.get(url).content.decode()
    assert "申请人尚未提交修改后的文件" in before

    hand_in_revision(case, applicant, clock, "用地规划图.pdf")
    after = client.get(url).content.decode()
    assert "要求修改补正以来已提交的修改文件" in after
    assert "用地规划图.pdf" in after
    assert "申请人尚未提交修改后的文件" not in after

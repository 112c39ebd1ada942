"""BPMN routes that wait: system steps, reported events and timers.

The MIWG reference models C.1.0 (a service task) and C.9.1 (a receive task
with boundary timers) run on real cases; crafted models cover the
event-based gateway and a route that would stop with nothing to move it.
"""

import datetime
import json
from pathlib import Path

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from smartapproval.audit.models import AuditEntry
from smartapproval.cases import selectors, services
from smartapproval.cases.models import (
    Case,
    CaseStatus,
    Decision,
    Task,
    TaskKind,
    TaskStatus,
)
from smartapproval.cases.tests import factories as f
from smartapproval.cases.tests.test_workflow import bpmn_case, open_tasks
from smartapproval.catalogue.processes import (
    process_import,
    workflow_open_tasks,
    workflow_restore,
    workflow_serialize,
)
from smartapproval.core.api import ServiceError

pytestmark = pytest.mark.usefixtures("calendar", "clock")

MIWG = Path(__file__).resolve().parents[2] / "catalogue/tests/data/bpmn"
BEIJING = datetime.timezone(datetime.timedelta(hours=8))


def import_route(item, xml: bytes) -> None:
    process_import(actor=None, item=item, xml=xml)


def miwg(item, name: str) -> None:
    import_route(item, (MIWG / f"{name}.bpmn").read_bytes())


def set_route_data(case: Case, **values) -> None:
    """Put variables into the route's open human tasks.

    C.1.0's gateways read ``approved`` and ``clarified``, which its tasks set
    through forms of another engine; the case app has no such form, so the
    test writes them where a form would.
    """
    case = Case.objects.get(pk=case.pk)
    workflow = workflow_restore(json.dumps(case.route_state["workflow"]))
    for open_task in workflow_open_tasks(workflow):
        workflow.get_task_from_id(open_task.id).set_data(**values)
    case.route_state["workflow"] = json.loads(workflow_serialize(workflow))
    case.save(update_fields=["route_state"])


def the_open(case: Case, **lookup) -> Task:
    return case.tasks.get(status=TaskStatus.OPEN, **lookup)


def complete(task: Task, actor, outcome: str, opinion: str = "") -> Task:
    return services.task_complete(
        task=task, actor=actor, outcome=outcome, opinion=opinion
    )


@pytest.fixture
def reviewers(department):
    """One hand per review node: separation of duties applies to them."""
    return [f.ReviewerFactory(department=department) for _ in range(5)]


# C.1.0: the service task -------------------------------------------------


def test_c_1_0_starts_on_a_case_and_its_state_round_trips(item):
    miwg(item, "C.1.0")

    case = bpmn_case(item)

    (task,) = open_tasks(case)
    assert (task.node_key, task.kind) == ("assignApprover", TaskKind.REVIEW)
    saved = Case.objects.get(pk=case.pk)
    workflow = workflow_restore(json.dumps(saved.route_state["workflow"]))
    assert [t.bpmn_id for t in workflow_open_tasks(workflow)] == ["assignApprover"]


def test_c_1_0_service_task_is_the_lead_departments_system_task(
    item, department, reviewers, approver
):
    miwg(item, "C.1.0")
    case = bpmn_case(item)
    assign, approve, clarify, transfer, _ = reviewers

    complete(the_open(case), assign, "done")
    # Not approved: the invoice goes to be clarified, then comes back.
    set_route_data(case, approved=False)
    complete(the_open(case, node_key="approveInvoice"), approve, "done")
    assert the_open(case).node_key == "reviewInvoice"
    set_route_data(case, clarified="yes")
    complete(the_open(case), clarify, "done")
    set_route_data(case, approved=True)
    complete(the_open(case, node_key="approveInvoice"), approve, "done")
    complete(the_open(case, node_key="prepareBankTransfer"), transfer, "done")

    system = the_open(case)
    assert system.kind == TaskKind.SYSTEM
    assert system.node_key == "archiveInvoice"
    assert system.name == "系统环节：Archive Invoice"
    assert system.department == department
    assert system.answers == ["done"]
    assert system.due_on is None
    assert system in selectors.task_inbox_for_user(user=assign)
    # No separation of duties: the first reviewer reports the step done.
    complete(system, assign, "done")

    # The route ended without a decision: the lead department decides.
    decision = the_open(case)
    assert (decision.kind, decision.decides) == (TaskKind.REVIEW, True)
    assert decision.department == department
    complete(decision, approver, "approved")
    case.refresh_from_db()
    assert case.decision == Decision.APPROVED
    assert AuditEntry.objects.filter(
        action="task_completed", target_id=str(system.pk)
    ).exists()


def test_c_1_0_a_clarification_that_fails_ends_at_the_lead_departments_decision(
    item, reviewers, approver
):
    miwg(item, "C.1.0")
    case = bpmn_case(item)
    assign, approve, clarify, *_ = reviewers

    complete(the_open(case), assign, "done")
    set_route_data(case, approved=False)
    complete(the_open(case), approve, "done")
    set_route_data(case, clarified="no")
    complete(the_open(case), clarify, "done")

    decision = the_open(case)
    assert decision.decides and decision.answers == ["approved", "denied"]
    complete(decision, approver, "denied", "发票无法核实")
    case.refresh_from_db()
    assert case.decision == Decision.DENIED


# C.9.1: a receive task with boundary timers ------------------------------


def test_c_9_1_the_lead_department_sees_the_wait(item, department, reviewer):
    miwg(item, "C.9.1")

    case = bpmn_case(item)

    (wait,) = open_tasks(case)
    assert wait.kind == TaskKind.SYSTEM
    assert wait.name == "等待：Wait for answer"
    assert wait.department == department
    assert wait.answers == ["occurred"]
    assert services.answer_label(wait, "occurred") == "已发生"
    assert wait in selectors.task_inbox_for_user(user=reviewer)
    assert case.route_wakes_at == datetime.datetime(2024, 9, 3, 10, tzinfo=BEIJING)


def test_c_9_1_document_received_through_the_api_leads_on(item, reviewer, approver):
    miwg(item, "C.9.1")
    case = bpmn_case(item)
    wait = the_open(case)
    api = APIClient()
    api.force_authenticate(reviewer)

    detail = api.get(f"/api/v1/tasks/{wait.pk}/").json()
    done = api.post(f"/api/v1/tasks/{wait.pk}/complete/", {"outcome": "occurred"})

    assert [a["value"] for a in detail["answers"]] == ["occurred"]
    assert done.status_code == 200, done.json()
    wait.refresh_from_db()
    assert (wait.status, wait.completed_by) == (TaskStatus.DONE, reviewer)
    # "Document received" ends the route; the timers no longer wait.
    decision = the_open(case)
    assert decision.decides
    case.refresh_from_db()
    assert case.route_wakes_at is None
    assert case.route_state["timers"] == []
    entry = AuditEntry.objects.get(action="task_completed", target_id=str(wait.pk))
    assert entry.after["outcome"] == "occurred"


def test_c_9_1_periodic_job_sends_the_reminder_then_offers_the_call(
    item, clock, reviewer
):
    miwg(item, "C.9.1")
    case = bpmn_case(item)
    wait = the_open(case)

    clock.at(2024, 9, 3, 9, 59)
    assert services.route_timers_fire().fired == 0

    # A day later the reminder goes out (a send task) and the wait goes on.
    clock.at(2024, 9, 3, 10, 5)
    assert services.route_timers_fire().fired == 1
    case.refresh_from_db()
    assert the_open(case) == wait
    assert case.route_wakes_at == datetime.datetime(2024, 9, 4, 10, tzinfo=BEIJING)
    fired = AuditEntry.objects.filter(
        action="route_timer_fired", target_id=str(case.pk)
    )
    assert fired.count() == 1

    # A week without the document: the call replaces the wait.
    clock.at(2024, 9, 9, 10, 5)
    summary = services.route_timers_fire()
    assert (summary.seen, summary.fired, summary.failed) == (1, 1, 0)
    call = the_open(case)
    assert (call.node_key, call.kind) == ("UserTask_CallCustomer", TaskKind.REVIEW)
    wait.refresh_from_db()
    assert wait.status == TaskStatus.CANCELLED
    assert fired.count() == 2
    # Run again: nothing is due any more.
    assert services.route_timers_fire().seen == 0


def test_the_scheduled_worker_task_fires_the_due_timers(item, clock):
    from smartapproval.cases.tasks import fire_route_timers
    from smartapproval.core.scheduler import PERIODIC_JOBS

    miwg(item, "C.9.1")
    case = bpmn_case(item)
    clock.at(2024, 9, 9, 10, 5)

    result = fire_route_timers.enqueue()

    assert result.return_value == {"seen": 1, "fired": 1, "failed": 0}
    assert the_open(case).node_key == "UserTask_CallCustomer"
    (job,) = [job for job in PERIODIC_JOBS if job.name == "fire_route_timers"]
    assert job.path == "smartapproval.cases.tasks.fire_route_timers"


def test_timers_of_a_case_no_longer_in_review_do_not_fire(item, clock):
    miwg(item, "C.9.1")
    case = bpmn_case(item)
    Case.objects.filter(pk=case.pk).update(status=CaseStatus.SUSPENDED)
    clock.at(2024, 9, 9, 10, 5)

    assert services.route_timers_fire().seen == 0
    assert the_open(case).kind == TaskKind.SYSTEM
    assert not AuditEntry.objects.filter(action="route_timer_fired").exists()


def test_c_9_1_case_page_says_what_the_route_waits_for_until_when(
    client, item, reviewer
):
    miwg(item, "C.9.1")
    case = bpmn_case(item)
    client.force_login(reviewer)

    page = client.get(reverse("cases:case_detail", args=[case.number]))

    text = page.content.decode()
    assert "等待：Wait for answer" in text
    assert "定时器“daily”：至 2024-09-03 10:00" in text
    assert "定时器“1 week”：至 2024-09-09 10:00" in text


def test_c_9_1_the_wait_is_completed_on_the_staff_case_page(client, item, reviewer):
    miwg(item, "C.9.1")
    case = bpmn_case(item)
    wait = the_open(case)
    client.force_login(reviewer)
    url = reverse("cases:task_complete", args=[wait.pk])

    page = client.get(reverse("cases:case_detail", args=[case.number]))
    done = client.post(url, {f"task{wait.pk}-outcome": "occurred"}, follow=True)

    assert url in page.content.decode()
    assert done.status_code == 200
    assert "等待：Wait for answer：已发生" in done.content.decode()
    wait.refresh_from_db()
    assert wait.status == TaskStatus.DONE


# Event-based gateway ------------------------------------------------------

EVENT_GATEWAY = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="d" targetNamespace="https://smartapproval.example/bpmn/tests">
  <bpmn:message id="m_document" name="document_received" />
  <bpmn:signal id="s_withdrawn" name="applicant_withdrew" />
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="ask" name="Ask for the document" />
    <bpmn:eventBasedGateway id="gateway" name="What comes first" />
    <bpmn:intermediateCatchEvent id="document" name="Document received">
      <bpmn:messageEventDefinition id="md" messageRef="m_document" />
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="withdrawn" name="Applicant withdrew">
      <bpmn:signalEventDefinition id="sd" signalRef="s_withdrawn" />
    </bpmn:intermediateCatchEvent>
    <bpmn:intermediateCatchEvent id="three_days" name="Three days">
      <bpmn:timerEventDefinition id="td">
        <bpmn:timeDuration>P3D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="check" name="Check the document" />
    <bpmn:userTask id="call" name="Call the applicant" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask" />
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="gateway" />
    <bpmn:sequenceFlow id="f3" sourceRef="gateway" targetRef="document" />
    <bpmn:sequenceFlow id="f4" sourceRef="gateway" targetRef="three_days" />
    <bpmn:sequenceFlow id="f5" sourceRef="gateway" targetRef="withdrawn" />
    <bpmn:sequenceFlow id="f6" sourceRef="document" targetRef="check" />
    <bpmn:sequenceFlow id="f7" sourceRef="withdrawn" targetRef="end" />
    <bpmn:sequenceFlow id="f8" sourceRef="three_days" targetRef="call" />
    <bpmn:sequenceFlow id="f9" sourceRef="check" targetRef="end" />
    <bpmn:sequenceFlow id="f10" sourceRef="call" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


@pytest.fixture
def gateway_case(item, reviewers):
    import_route(item, EVENT_GATEWAY)
    case = bpmn_case(item)
    complete(the_open(case), reviewers[0], "done")
    return case


def test_event_gateway_offers_one_answer_per_event_and_takes_the_chosen(
    gateway_case, reviewers
):
    wait = the_open(gateway_case)
    assert (wait.kind, wait.name) == (TaskKind.SYSTEM, "等待：What comes first")
    # The timer in between is no answer: the periodic job fires it.
    assert wait.answers == ["event_1", "event_3"]
    assert [services.answer_label(wait, a) for a in wait.answers] == [
        "Document received",
        "Applicant withdrew",
    ]
    gateway_case.refresh_from_db()
    assert [t.name for t in selectors.case_route_timers(gateway_case)] == ["Three days"]

    complete(wait, reviewers[0], "event_1")

    assert the_open(gateway_case).node_key == "check"
    gateway_case.refresh_from_db()
    assert gateway_case.route_wakes_at is None


def test_event_gateway_takes_the_event_after_its_timer(gateway_case, reviewers):
    complete(the_open(gateway_case), reviewers[0], "event_3")

    # "Applicant withdrew" ends the route: the lead department decides.
    decision = the_open(gateway_case)
    assert (decision.node_key, decision.decides) == ("route_end_decision", True)


def test_event_gateway_refuses_an_answer_it_does_not_offer(gateway_case, reviewers):
    wait = the_open(gateway_case)

    with pytest.raises(ServiceError) as refused:
        complete(wait, reviewers[0], "event_2")

    assert refused.value.code == "invalid_choice"
    assert the_open(gateway_case) == wait


def test_event_gateway_timer_fires_by_the_periodic_job(gateway_case, clock):
    wait = the_open(gateway_case)

    clock.at(2024, 9, 5, 10, 5)
    assert services.route_timers_fire().fired == 1

    assert the_open(gateway_case).node_key == "call"
    wait.refresh_from_db()
    assert wait.status == TaskStatus.CANCELLED


# A route nothing could move ------------------------------------------------


def test_a_gateway_whose_variable_no_task_set_refuses_the_step(item, reviewers):
    miwg(item, "C.1.0")
    case = bpmn_case(item)
    complete(the_open(case), reviewers[0], "done")
    task = the_open(case)

    with pytest.raises(ServiceError) as refused:
        complete(task, reviewers[1], "done")

    assert refused.value.code == "route_error"
    assert "Invoice approved? (invoice_approved)" in refused.value.message
    assert "approved" in refused.value.message
    assert "变量 approved，而尚未有任务设置它" in refused.value.message
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


CONDITIONAL_WAIT = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="d" targetNamespace="https://smartapproval.example/bpmn/tests">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="review" name="Review" />
    <bpmn:intermediateCatchEvent id="until_paid" name="Fee paid">
      <bpmn:conditionalEventDefinition id="cd">
        <bpmn:condition>False</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="until_paid" />
    <bpmn:sequenceFlow id="f3" sourceRef="until_paid" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_a_step_that_would_leave_the_route_stuck_is_refused(item, reviewer):
    import_route(item, CONDITIONAL_WAIT)
    case = bpmn_case(item)
    task = the_open(case)
    state = Case.objects.get(pk=case.pk).route_state

    # A condition nothing makes true: the route would wait forever.
    with pytest.raises(ServiceError) as refused:
        complete(task, reviewer, "done")

    assert refused.value.code == "route_stuck"
    assert "Fee paid (until_paid)" in refused.value.message
    assert "没有可办理的环节" in refused.value.message
    task.refresh_from_db()
    case.refresh_from_db()
    assert task.status == TaskStatus.OPEN
    assert case.route_state == state
    assert case.status == CaseStatus.IN_REVIEW
    assert not AuditEntry.objects.filter(action="task_completed").exists()


TIMER_ONLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="d" targetNamespace="https://smartapproval.example/bpmn/tests">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="publish" name="Publish the notice" />
    <bpmn:intermediateCatchEvent id="objections" name="Objection period">
      <bpmn:timerEventDefinition id="td">
        <bpmn:timeDuration>P5D</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="decide" name="Decide" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="publish" />
    <bpmn:sequenceFlow id="f2" sourceRef="publish" targetRef="objections" />
    <bpmn:sequenceFlow id="f3" sourceRef="objections" targetRef="decide" />
    <bpmn:sequenceFlow id="f4" sourceRef="decide" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""


def test_no_direct_decision_while_the_route_waits_on_its_timer(
    item, reviewers, approver, clock
):
    import_route(item, TIMER_ONLY)
    case = bpmn_case(item)
    complete(the_open(case), reviewers[0], "done")
    case.refresh_from_db()
    assert not case.tasks.filter(status=TaskStatus.OPEN).exists()
    assert case.route_wakes_at is not None

    with pytest.raises(ServiceError) as refused:
        services.case_decide(case=case, actor=approver, decision=Decision.APPROVED)

    assert refused.value.code == "route_waiting"
    assert "等待定时器（至 2024-09-07 10:00）" in refused.value.message
    case.refresh_from_db()
    assert (case.status, case.decision) == (CaseStatus.IN_REVIEW, "")

    clock.at(2024, 9, 10, 10, 5)
    services.route_timers_fire()
    assert the_open(case).node_key == "decide"

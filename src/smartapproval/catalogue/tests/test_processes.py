"""Review routes: validation of real BPMN files, shipped routes, storage."""

import json
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.utils import timezone
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from smartapproval.audit.models import AuditEntry
from smartapproval.catalogue import processes
from smartapproval.catalogue.models import ReviewProcess
from smartapproval.catalogue.processes import (
    IssueCode,
    ProcessRefusedError,
    process_for_item,
    process_import,
    process_install_shipped,
    process_validate,
    workflow_complete_task,
    workflow_open_tasks,
    workflow_refresh_timers,
    workflow_restore,
    workflow_serialize,
    workflow_start,
    workflow_system_steps,
)
from smartapproval.catalogue.tests.factories import (
    AdminUserFactory,
    ServiceItemFactory,
)
from smartapproval.core.api import ServiceError

DATA = Path(__file__).resolve().parent / "data" / "bpmn"
CRAFTED = DATA / "crafted"
SHIPPED = processes.SHIPPED_DIR


def refusal(path: Path) -> ProcessRefusedError:
    with pytest.raises(ProcessRefusedError) as caught:
        process_validate(path.read_bytes())
    return caught.value


def route_xml(condition: str, *, language: str | None = None) -> bytes:
    """A small executable process whose gateway uses ``condition``."""
    attribute = (
        f' xsi:type="bpmn:tFormalExpression" language="{language}"' if language else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    id="d" targetNamespace="https://smartapproval.example/bpmn/tests">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:userTask id="review" name="审查" />
    <bpmn:exclusiveGateway id="route" default="flow_default" />
    <bpmn:userTask id="approve" name="审批" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="review" />
    <bpmn:sequenceFlow id="flow_review" sourceRef="review" targetRef="route" />
    <bpmn:sequenceFlow id="flow_condition" sourceRef="route" targetRef="approve">
      <bpmn:conditionExpression{attribute}><![CDATA[{condition}]]></bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="flow_default" sourceRef="route" targetRef="end" />
    <bpmn:sequenceFlow id="flow_approve" sourceRef="approve" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>""".encode()


def complete(workflow, bpmn_id: str, *, outcome=None, **data) -> None:
    open_tasks = {task.bpmn_id: task for task in workflow_open_tasks(workflow)}
    assert bpmn_id in open_tasks, f"{bpmn_id} not open: {sorted(open_tasks)}"
    workflow_complete_task(
        workflow, task_id=open_tasks[bpmn_id].id, outcome=outcome, data=data
    )


def open_ids(workflow) -> list[str]:
    return sorted(task.bpmn_id for task in workflow_open_tasks(workflow))


def completed_count(workflow, bpmn_id: str) -> int:
    return len(
        [
            task
            for task in workflow.get_tasks(state=TaskState.COMPLETED)
            if task.task_spec.bpmn_id == bpmn_id
        ]
    )


class TestMiwgReferenceModels:
    """The 21 models of the BPMN MIWG test suite, as its README expects."""

    @pytest.mark.parametrize(
        ("name", "code", "fragment", "element_id"),
        [
            ("A.1.0", IssueCode.NOT_EXECUTABLE, "未声明可执行流程", None),
            ("A.2.0", IssueCode.NOT_EXECUTABLE, "未声明可执行流程", None),
            ("A.2.1", IssueCode.NOT_EXECUTABLE, "未声明可执行流程", None),
            ("A.3.0", IssueCode.NOT_EXECUTABLE, "未声明可执行流程", None),
            ("A.4.0", IssueCode.NOT_EXECUTABLE, "未声明可执行流程", None),
            ("A.4.1", IssueCode.NOT_EXECUTABLE, "未声明可执行流程", None),
            ("C.2.0", IssueCode.NOT_EXECUTABLE, "未声明可执行流程", None),
            ("C.8.0", IssueCode.NOT_EXECUTABLE, "未声明可执行流程", None),
            ("B.1.0", IssueCode.DATA_STORE, "不支持数据存储", "DS1373655174514"),
            ("B.2.0", IssueCode.DATA_STORE, "不支持数据存储", "DS1373638079677"),
            (
                "C.1.1",
                IssueCode.DATA_STORE,
                "不支持数据存储",
                "sid-14ef3d18-7218-4f57-98f0-bb595114754b",
            ),
            (
                "C.4.0",
                IssueCode.DATA_STORE,
                "不支持数据存储",
                "_d367181e-c25a-407e-a5fb-817a27698a30",
            ),
            (
                "C.5.0",
                IssueCode.DATA_STORE,
                "不支持数据存储",
                "_776bd6ca-5f18-432f-a748-f1930bfdf16e",
            ),
            (
                "C.6.0",
                IssueCode.DATA_ASSOCIATION,
                "不支持数据关联",
                "_22612d45-65ca-4a74-a6eb-53af7ebcb5ff",
            ),
            (
                "C.7.0",
                IssueCode.DATA_ASSOCIATION,
                "不支持数据关联",
                "_392c86ba-38b5-4dc9-b98d-f97ad4c2add5",
            ),
            (
                "C.8.1",
                IssueCode.DATA_ASSOCIATION,
                "不支持数据关联",
                "_2b960d84-feb1-46a9-a1a1-c300dd996b99",
            ),
            (
                "C.3.0",
                IssueCode.SUBPROCESS_START,
                "子流程没有开始事件",
                "_cd6f230f-13c3-4027-aa3e-57de601a1ab2",
            ),
            (
                "C.9.0",
                IssueCode.UNSUPPORTED,
                "引擎不支持这种元素（bpmn:businessRuleTask）",
                "BusinessRuleTask_CheckApplicationAutomatically",
            ),
            (
                "C.9.2",
                IssueCode.MULTI_INSTANCE,
                "既没有指定实例数",
                "CallActivity_RequestDocument",
            ),
        ],
    )
    def test_refused_with_its_own_reason_naming_the_element(
        self, name, code, fragment, element_id
    ):
        refused = refusal(DATA / f"{name}.bpmn")

        first = refused.issues[0]
        assert refused.code == code
        assert first.code == code
        assert fragment in first.message
        assert refused.message.startswith("流程文件无法导入：")
        assert fragment in refused.message
        if element_id is not None:
            assert first.element_id == element_id
            assert f"（id={element_id}）" in first.message
            assert first.tag.startswith("bpmn:")

    @pytest.mark.parametrize("name", ["C.6.0", "C.7.0"])
    def test_process_without_executable_flag_is_also_told(self, name):
        refused = refusal(DATA / f"{name}.bpmn")

        assert refused.issues[-1].code == IssueCode.NOT_EXECUTABLE
        assert "未声明可执行流程" in refused.issues[-1].message

    def test_c_9_0_also_names_feel_conditions_and_the_missing_called_process(self):
        refused = refusal(DATA / "C.9.0.bpmn")

        messages = [(issue.code, issue.message) for issue in refused.issues]
        assert (
            IssueCode.FOREIGN_LANGUAGE,
            "bpmn:sequenceFlow（id=SequenceFlow_ApplicationAccepted）：表达式 = "
            "approved 是 FEEL 表达式（Camunda 8）；本引擎只执行 Python 表达式",
        ) in messages
        assert any(
            code == IssueCode.CALL_ACTIVITY and "ManualCheck" in message
            for code, message in messages
        )

    @pytest.mark.parametrize("name", ["C.1.0", "C.9.1"])
    def test_executable_models_import_as_runnable(self, name):
        validated = process_validate((DATA / f"{name}.bpmn").read_bytes())

        assert validated.user_tasks
        assert validated.dry_run["ready"] or validated.dry_run["waiting"]

    def test_c_1_0_translates_its_juel_conditions_and_says_so(self):
        validated = process_validate((DATA / "C.1.0.bpmn").read_bytes())

        assert validated.process_id == "bpmn-miwg-test-case-c.1.0"
        assert [t["id"] for t in validated.user_tasks] == [
            "approveInvoice",
            "assignApprover",
            "reviewInvoice",
            "prepareBankTransfer",
        ]
        assert validated.user_tasks[0]["lane"] == "Approver"
        assert any(
            "${!approved}" in w and "not approved" in w for w in validated.warnings
        )
        assert any(
            "archiveInvoice" in w and "系统步骤" in w and "delegateExpression" in w
            for w in validated.warnings
        )

    @pytest.mark.django_db
    def test_c_1_0_runs_both_ways_through_its_gateways(self):
        process = process_import(
            actor=None,
            item=ServiceItemFactory(),
            xml=(DATA / "C.1.0.bpmn").read_bytes(),
        )
        workflow = workflow_start(process=process)

        # The message start event stands for the accepted case.
        assert open_ids(workflow) == ["assignApprover"]
        complete(workflow, "assignApprover", approver="demo")
        complete(workflow, "approveInvoice", approved=False)
        complete(workflow, "reviewInvoice", clarified="yes")
        complete(workflow, "approveInvoice", approved=True)
        complete(workflow, "prepareBankTransfer")

        # Archiving is another engine's Java bean: the route waits for this
        # system to do the step rather than pretend it was done.
        assert not workflow.completed
        (archive,) = workflow_system_steps(workflow)
        assert archive.bpmn_id == "archiveInvoice"
        workflow_complete_task(workflow, task_id=archive.id)
        assert workflow.completed
        assert completed_count(workflow, "invoiceProcessed") == 1
        assert completed_count(workflow, "approveInvoice") == 2

    @pytest.mark.django_db
    def test_c_1_0_state_waiting_on_its_service_task_round_trips(self):
        process = process_import(
            actor=None,
            item=ServiceItemFactory(),
            xml=(DATA / "C.1.0.bpmn").read_bytes(),
        )
        workflow = workflow_start(process=process)
        complete(workflow, "assignApprover", approver="demo")
        complete(workflow, "approveInvoice", approved=True)
        complete(workflow, "prepareBankTransfer")

        # The engine waits on the service task; its spec must serialize.
        restored = workflow_restore(workflow_serialize(workflow))

        (archive,) = workflow_system_steps(restored)
        assert archive.bpmn_id == "archiveInvoice"
        workflow_complete_task(restored, task_id=archive.id)
        assert restored.completed

    def test_a_process_that_starts_waiting_for_what_nobody_reports_is_refused(
        self,
    ):
        xml = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="d" targetNamespace="https://smartapproval.example/bpmn/tests">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:intermediateCatchEvent id="until_paid" name="Fee paid">
      <bpmn:conditionalEventDefinition id="cd">
        <bpmn:condition>False</bpmn:condition>
      </bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="review" name="Review" />
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="until_paid" />
    <bpmn:sequenceFlow id="f2" sourceRef="until_paid" targetRef="review" />
    <bpmn:sequenceFlow id="f3" sourceRef="review" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>"""

        with pytest.raises(ProcessRefusedError) as refused:
            process_validate(xml)

        (issue,) = refused.value.issues
        assert issue.code == IssueCode.DRY_RUN
        assert "试运行停在 Fee paid (until_paid)" in issue.message

    def test_a_process_whose_state_cannot_be_saved_is_refused_at_import(self):
        with mock.patch.object(
            processes,
            "workflow_serialize",
            side_effect=TypeError("Object of type X is not JSON serializable"),
        ):
            refused = refusal(DATA / "C.1.0.bpmn")

        (issue,) = refused.issues
        assert issue.code == IssueCode.STATE
        assert "流程状态无法随办件保存" in issue.message
        assert "bpmn-miwg-test-case-c.1.0" in issue.message

    @pytest.mark.django_db
    def test_c_9_1_waits_for_the_document_then_ends_when_it_comes(self):
        process = process_import(
            actor=None,
            item=ServiceItemFactory(),
            xml=(DATA / "C.9.1.bpmn").read_bytes(),
        )
        workflow = workflow_start(process=process)
        assert open_ids(workflow) == []
        assert not workflow.completed

        workflow.catch(
            BpmnEvent(MessageEventDefinition("MESSAGE_documentReceived"), {})
        )
        workflow.do_engine_steps()

        assert workflow.completed
        assert completed_count(workflow, "EndEvent_GotDocument") == 1

    @pytest.mark.django_db
    def test_c_9_1_offers_the_call_after_a_week_without_the_document(self):
        process = process_import(
            actor=None,
            item=ServiceItemFactory(),
            xml=(DATA / "C.9.1.bpmn").read_bytes(),
        )
        workflow = workflow_start(process=process)

        # The route's timers read the system's clock, as deadlines do.
        later = timezone.now() + timedelta(days=8)
        with mock.patch("django.utils.timezone.now", return_value=later):
            assert workflow_refresh_timers(workflow)

        assert open_ids(workflow) == ["UserTask_CallCustomer"]


class TestTraps:
    def test_spiffworkflow_alone_silently_drops_the_tasks_of_the_trap(self):
        parser = BpmnParser()
        parser.add_bpmn_file(str(CRAFTED / "flows-without-id.bpmn"))
        spec = parser.get_spec("single_department")
        workflow = BpmnWorkflow(spec)

        workflow.do_engine_steps()

        # Parsed without a word: the three review tasks are gone, the run
        # stops after the start event with nothing to do or wait for.
        assert not {"review", "check", "approve"} & set(spec.task_specs)
        assert workflow.get_tasks(state=TaskState.READY) == []
        assert workflow.get_tasks(state=TaskState.WAITING) == []

    def test_flows_without_id_are_refused(self):
        refused = refusal(CRAFTED / "flows-without-id.bpmn")

        assert refused.code == IssueCode.MISSING_ID
        assert len(refused.issues) == 4
        assert "bpmn:sequenceFlow（第 56 行，无 id）" in refused.issues[0].message
        assert "连线没有 id" in refused.message

    def test_process_that_ends_without_running_a_task_is_refused(self):
        refused = refusal(CRAFTED / "ends-without-tasks.bpmn")

        assert refused.code == IssueCode.ENDS_WITHOUT_TASKS
        assert "流程在未执行任何任务的情况下结束" in refused.message
        assert refused.issues[0].element_id == "ends_without_tasks"

    def test_spiffworkflow_fires_a_join_on_a_loop_early_in_the_second_round(self):
        parser = BpmnParser()
        parser.add_bpmn_file(str(CRAFTED / "join-in-loop.bpmn"))
        workflow = BpmnWorkflow(parser.get_spec("join_in_loop"))
        workflow.do_engine_steps()

        def run(bpmn_id, **data):
            task = next(
                t
                for t in workflow.get_tasks(state=TaskState.READY)
                if t.task_spec.bpmn_id == bpmn_id
            )
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()

        run("lead_preliminary")
        run("resources_review")
        run("planning_review")
        run("lead_decision", decision="another_round")
        run("lead_preliminary")
        run("planning_review")

        # Only one department answered, yet the lead is asked to decide.
        assert completed_count(workflow, "collect") == 2

    def test_join_on_a_loop_is_refused(self):
        refused = refusal(CRAFTED / "join-in-loop.bpmn")

        assert refused.code == IssueCode.JOIN_IN_LOOP
        assert refused.issues[0].element_id == "collect"
        assert "子流程" in refused.message


class TestExpressions:
    @pytest.mark.parametrize(
        ("condition", "python"),
        [
            ("${approved}", "approved"),
            ("${!approved}", "not approved"),
            ("${clarified == 'yes'}", "clarified == 'yes'"),
            ("#{a && b || c}", "a and b or c"),
            ("${amount ge 100 and not empty_flag}", "amount >= 100 and not empty_flag"),
            ('${x eq "it\\"s"}', "x == 'it\"s'"),
        ],
    )
    def test_simple_juel_is_translated(self, condition, python):
        assert processes._juel_to_python(condition) == python

    @pytest.mark.parametrize(
        "condition",
        [
            "${genderBean.getGenderString(gender)}",
            "${approved ? 'a' : 'b'}",
            "${empty list}",
            "${a.b}",
            "Hello ${name}",
            "${x is y}",
        ],
    )
    def test_juel_beyond_the_simple_kind_is_refused(self, condition):
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(route_xml(condition))

        assert caught.value.code == IssueCode.FOREIGN_LANGUAGE
        assert "JUEL" in caught.value.message
        assert caught.value.issues[0].element_id == "flow_condition"

    @pytest.mark.parametrize(
        ("language", "name"),
        [
            ("javascript", "JavaScript"),
            ("http://groovy.codehaus.org/", "Groovy"),
            ("https://www.omg.org/spec/DMN/20191111/FEEL/", "FEEL"),
        ],
    )
    def test_expression_in_another_language_is_refused(self, language, name):
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(route_xml("approved", language=language))

        assert caught.value.code == IssueCode.FOREIGN_LANGUAGE
        assert f"使用 {name} 语言" in caught.value.message

    def test_feel_expression_is_refused(self):
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(route_xml("= approved"))

        assert caught.value.code == IssueCode.FOREIGN_LANGUAGE
        assert "FEEL" in caught.value.message

    @pytest.mark.parametrize(
        "condition",
        [
            "__import__('os').system('id')",
            "approved.__class__",
            "open('/etc/passwd')",
            "[x for x in range(3)]",
        ],
    )
    def test_python_outside_the_safe_subset_is_refused(self, condition):
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(route_xml(condition))

        assert caught.value.code == IssueCode.INVALID_EXPRESSION
        assert "不允许的写法" in caught.value.message

    def test_condition_that_is_not_python_is_refused(self):
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(route_xml("Service Level == 'Premium'"))

        assert caught.value.code == IssueCode.INVALID_EXPRESSION
        assert "不是有效的 Python 表达式" in caught.value.message

    def test_safe_python_condition_is_accepted(self):
        validated = process_validate(
            route_xml('outcome in ("approved", "approved_with_conditions")')
        )

        assert [t["id"] for t in validated.user_tasks] == ["review", "approve"]
        assert validated.dry_run["ready"] == ["review"]


def single_department(old: str, new: str) -> bytes:
    """The shipped single-department route with one change."""
    text = (SHIPPED / "single-department.bpmn").read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1).encode()


class TestRouteChecks:
    @pytest.mark.parametrize(
        ("old", "new", "fragment"),
        [
            (
                'name="department_role" value="lead"',
                'name="department_role" value="boss"',
                "department_role 为 boss",
            ),
            (
                'name="limit_unit" value="working_days"',
                'name="limit_unit" value="days"',
                "时限单位 days 不是 working_days 或 working_hours",
            ),
            (
                'name="limit" value="2"',
                'name="limit" value="two"',
                "时限 two 不是正整数",
            ),
            (
                'name="outcome_variable" value="review_outcome"',
                'name="outcome_variable" value="class"',
                "outcome_variable class 不是合法的变量名",
            ),
            (
                'name="department_role" value="lead"',
                'name="department_role" value="co"',
                "协办部门任务需要用 department 属性写明协办部门",
            ),
        ],
    )
    def test_malformed_task_property_is_refused(self, old, new, fragment):
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(single_department(old, new))

        assert caught.value.code == IssueCode.TASK_PROPERTY
        assert caught.value.issues[0].element_id == "review"
        assert fragment in caught.value.message

    def test_element_no_flow_reaches_is_refused(self):
        xml = single_department(
            '<bpmn:endEvent id="end"',
            '<bpmn:userTask id="orphan" name="孤立任务" />\n'
            '    <bpmn:endEvent id="end"',
        )

        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(xml)

        assert caught.value.code == IssueCode.UNREACHABLE
        assert caught.value.issues[0].element_id == "orphan"
        assert "永远不会执行" in caught.value.message

    def test_script_task_is_refused(self):
        xml = single_department(
            '<bpmn:endEvent id="end"',
            '<bpmn:scriptTask id="calc" scriptFormat="python">'
            "<bpmn:script>import os</bpmn:script></bpmn:scriptTask>\n"
            '    <bpmn:endEvent id="end"',
        )

        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(xml)

        assert caught.value.code == IssueCode.UNSUPPORTED
        assert caught.value.issues[0].element_id == "calc"
        assert "不导入脚本任务" in caught.value.message

    def test_timer_start_event_is_refused(self):
        xml = single_department(
            "<bpmn:outgoing>flow_start</bpmn:outgoing>\n    </bpmn:startEvent>",
            "<bpmn:outgoing>flow_start</bpmn:outgoing>"
            '<bpmn:timerEventDefinition id="timer">'
            "<bpmn:timeDuration>P1D</bpmn:timeDuration>"
            "</bpmn:timerEventDefinition></bpmn:startEvent>",
        )

        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(xml)

        assert caught.value.code == IssueCode.START_EVENT
        assert "timerEventDefinition" in caught.value.message

    def test_listener_of_another_engine_is_refused(self):
        xml = single_department(
            "<spiffworkflow:properties>",
            '<camunda:executionListener xmlns:camunda="http://camunda.org/schema/'
            '1.0/bpmn" class="org.example.Audit" event="start" />\n'
            "        <spiffworkflow:properties>",
        )

        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(xml)

        assert caught.value.code == IssueCode.FOREIGN_LANGUAGE
        assert "camunda:executionListener" in caught.value.message

    def test_two_executable_main_processes_are_refused(self):
        xml = single_department(
            "  <bpmndi:BPMNDiagram",
            '  <bpmn:process id="other" isExecutable="true">'
            '<bpmn:startEvent id="s2" /><bpmn:userTask id="t2" />'
            '<bpmn:endEvent id="e2" />'
            '<bpmn:sequenceFlow id="f21" sourceRef="s2" targetRef="t2" />'
            '<bpmn:sequenceFlow id="f22" sourceRef="t2" targetRef="e2" />'
            "</bpmn:process>\n  <bpmndi:BPMNDiagram",
        )

        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(xml)

        assert caught.value.code == IssueCode.SEVERAL_EXECUTABLE
        assert "single_department, other" in caught.value.message


class TestDocument:
    def test_malformed_xml_is_refused_with_its_line(self):
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(b"<?xml version='1.0'?>\n<definitions>\n<process>")

        assert caught.value.code == IssueCode.MALFORMED
        assert "格式正确的 XML" in caught.value.message

    def test_other_namespace_is_refused(self):
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(b'<definitions xmlns="http://example.com/bpmn1"/>')

        assert caught.value.code == IssueCode.NOT_BPMN
        assert "http://www.omg.org/spec/BPMN/20100524/MODEL" in caught.value.message

    def test_doctype_is_refused(self):
        xml = (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM '
            b'"file:///etc/passwd">]><d>&x;</d>'
        )
        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(xml)

        assert caught.value.code == IssueCode.MALFORMED
        assert "DOCTYPE" in caught.value.message

    def test_file_against_the_bpmn_schema_is_refused(self):
        xml = route_xml("approved").replace(b'targetRef="review" ', b"")

        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(xml)

        assert caught.value.code == IssueCode.SCHEMA
        assert "BPMN 2.0 XML 模式" in caught.value.message

    def test_engine_refusal_is_translated_and_keeps_the_element(self):
        xml = route_xml("approved").replace(
            b'<bpmn:sequenceFlow id="flow_approve"',
            b'<bpmn:sequenceFlow id="flow_extra" sourceRef="review" '
            b'targetRef="end" />\n<bpmn:sequenceFlow id="flow_approve"',
        )

        with pytest.raises(ProcessRefusedError) as caught:
            process_validate(xml)

        assert caught.value.code == IssueCode.ENGINE
        assert caught.value.issues[0].element_id == "review"
        assert "只能有一条出口连线" in caught.value.message


class TestShippedRoutes:
    def test_single_department_route_reads_its_tasks_and_limits(self):
        validated = process_validate((SHIPPED / "single-department.bpmn").read_bytes())

        assert [
            (t["id"], t["name"], t["department_role"], t["limit"], t["limit_unit"])
            for t in validated.user_tasks
        ] == [
            ("review", "审查", "lead", 2, "working_days"),
            ("check", "审核", "lead", 1, "working_days"),
            ("approve", "审批", "lead", 4, "working_hours"),
        ]
        assert validated.warnings == []

    def test_feasibility_route_names_each_branch_department(self):
        validated = process_validate(
            (SHIPPED / "feasibility-parallel.bpmn").read_bytes()
        )

        tasks = {t["id"]: t for t in validated.user_tasks}
        assert tasks["planning_review"]["department_role"] == "co"
        assert tasks["planning_review"]["department"] == "城市规划行政主管部门"
        assert tasks["resources_review"]["department"] == "自然资源行政主管部门"
        assert tasks["planning_review"]["scope"] == "parallel_review"
        assert tasks["lead_decision"]["outcome_variable"] == "decision"
        assert tasks["planning_revision"]["limit"] is None

    @pytest.mark.django_db
    def test_single_department_route_runs_review_check_approve(self):
        (process,) = [
            p for p in process_install_shipped() if p.key == "single-department"
        ]
        workflow = workflow_start(process=process)

        steps = []
        for bpmn_id in ("review", "check", "approve"):
            steps.append(open_ids(workflow))
            complete(workflow, bpmn_id, outcome="approved")

        assert steps == [["review"], ["check"], ["approve"]]
        assert workflow.completed
        assert workflow.data["decision"] == "approved"

    @pytest.fixture
    def feasibility(self, db):
        (process,) = [
            p for p in process_install_shipped() if p.key == "feasibility-parallel"
        ]
        workflow = workflow_start(process=process)
        complete(workflow, "lead_preliminary")
        return workflow

    def test_both_co_departments_review_at_once_after_the_split(self, feasibility):
        tasks = {task.bpmn_id: task for task in workflow_open_tasks(feasibility)}

        assert sorted(tasks) == ["planning_review", "resources_review"]
        assert tasks["planning_review"].properties["department"] == (
            "城市规划行政主管部门"
        )
        assert tasks["resources_review"].properties["limit"] == "3"

    def test_join_fires_once_per_round_however_a_branch_loops(self, feasibility):
        workflow = feasibility

        # Round 1: natural resources answers first; urban planning asks for
        # two revisions before it answers.
        complete(workflow, "resources_review", outcome="approved")
        for _ in range(2):
            complete(workflow, "planning_review", outcome="revision_required")
            assert open_ids(workflow) == ["planning_revision"]
            complete(workflow, "planning_revision")
        assert completed_count(workflow, "collect") == 0
        complete(workflow, "planning_review", outcome="approved_with_conditions")
        assert completed_count(workflow, "collect") == 1
        assert open_ids(workflow) == ["lead_decision"]
        complete(workflow, "lead_decision", outcome="another_round")

        # Round 2, the other way round: planning answers first, resources
        # loops once. The join must wait for resources.
        complete(workflow, "lead_preliminary")
        complete(workflow, "planning_review", outcome="approved")
        assert open_ids(workflow) == ["resources_review"]
        assert completed_count(workflow, "collect") == 1
        complete(workflow, "resources_review", outcome="revision_required")
        complete(workflow, "resources_revision")
        assert completed_count(workflow, "collect") == 1
        complete(workflow, "resources_review", outcome="rejected")

        assert completed_count(workflow, "collect") == 2
        (decision,) = workflow_open_tasks(workflow)
        decision_task = workflow.get_task_from_id(decision.id)
        assert decision_task.data["planning_outcome"] == "approved"
        assert decision_task.data["resources_outcome"] == "rejected"
        complete(workflow, "lead_decision", outcome="rejected")
        assert workflow.completed
        assert completed_count(workflow, "planning_review") == 4
        assert completed_count(workflow, "resources_review") == 3

    def test_spiffworkflow_own_join_lets_a_stale_answer_win(self):
        parser = BpmnParser()
        parser.add_bpmn_file(str(SHIPPED / "feasibility-parallel.bpmn"))
        workflow = BpmnWorkflow(
            parser.get_spec("feasibility_parallel"),
            parser.get_subprocess_specs("feasibility_parallel"),
        )
        workflow.do_engine_steps()

        def run(bpmn_id, **data):
            task = next(
                t
                for t in workflow.get_tasks(state=TaskState.READY)
                if t.task_spec.bpmn_id == bpmn_id
            )
            task.set_data(**data)
            task.run()
            workflow.do_engine_steps()

        run("lead_preliminary")
        run("planning_review", planning_outcome="rejected")
        run("resources_review", resources_outcome="approved")
        run("lead_decision", decision="another_round")
        run("lead_preliminary")
        run("planning_review", planning_outcome="approved")
        run("resources_review", resources_outcome="approved")

        (decision,) = workflow.get_tasks(state=TaskState.READY)
        # The natural resources branch carried round 1's planning answer.
        assert decision.data["planning_outcome"] == "rejected"

    def test_lead_reads_the_answers_of_the_current_round(self, feasibility):
        complete(feasibility, "planning_review", outcome="rejected")
        complete(feasibility, "resources_review", outcome="approved")
        complete(feasibility, "lead_decision", outcome="another_round")
        complete(feasibility, "lead_preliminary")
        complete(feasibility, "planning_review", outcome="approved")
        complete(feasibility, "resources_review", outcome="approved_with_conditions")

        (decision,) = workflow_open_tasks(feasibility)
        data = feasibility.get_task_from_id(decision.id).data
        assert data["planning_outcome"] == "approved"
        assert data["resources_outcome"] == "approved_with_conditions"

    def test_route_state_survives_a_save_between_answers(self, feasibility):
        complete(feasibility, "planning_review", outcome="approved")

        restored = workflow_restore(workflow_serialize(feasibility))

        assert open_ids(restored) == ["resources_review"]
        complete(restored, "resources_review", outcome="revision_required")
        complete(restored, "resources_revision")
        complete(restored, "resources_review", outcome="approved")
        (decision,) = workflow_open_tasks(restored)
        assert decision.bpmn_id == "lead_decision"
        data = restored.get_task_from_id(decision.id).data
        assert (data["planning_outcome"], data["resources_outcome"]) == (
            "approved",
            "approved",
        )

    @pytest.mark.django_db
    @pytest.mark.parametrize("order", ["jsonb", "children_first"])
    def test_route_state_keeps_earlier_data_whatever_order_it_comes_back_in(
        self, order
    ):
        # PostgreSQL's jsonb returns object keys sorted (shorter first), not
        # in the order written; SpiffWorkflow stores a task's data as the
        # change from its parent's.
        process = process_import(
            actor=None,
            item=ServiceItemFactory(),
            xml=(DATA / "C.1.0.bpmn").read_bytes(),
        )
        workflow = workflow_start(process=process)
        complete(workflow, "assignApprover", approver="demo")
        state = json.loads(workflow_serialize(workflow))
        tasks = list(state["tasks"].items())
        if order == "jsonb":
            tasks.sort(key=lambda item: (len(item[0]), item[0].encode()))
        else:
            tasks.reverse()
        state["tasks"] = dict(tasks)

        restored = workflow_restore(json.dumps(state))

        (task,) = workflow_open_tasks(restored)
        assert restored.get_task_from_id(task.id).data["approver"] == "demo"
        complete(restored, "approveInvoice", approved=False)
        assert open_ids(restored) == ["reviewInvoice"]

    def test_task_that_is_not_open_cannot_be_completed(self, feasibility):
        (task,) = [
            t
            for t in feasibility.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.bpmn_id == "lead_preliminary"
        ]

        with pytest.raises(ServiceError) as caught:
            workflow_complete_task(feasibility, task_id=task.id, outcome="approved")

        assert caught.value.code == "task_not_open"
        assert caught.value.status == 409


@pytest.mark.django_db
class TestProcessImport:
    def test_import_stores_the_route_with_an_audit_row(self):
        actor = AdminUserFactory()
        item = ServiceItemFactory()
        xml = (SHIPPED / "single-department.bpmn").read_bytes()

        process = process_import(actor=actor, item=item, xml=xml)

        assert process.version == 1
        assert process.is_active
        assert process.process_id == "single_department"
        assert process.name == "单部门审批"
        assert process.uploaded_by == actor
        assert process.bpmn_xml == xml.decode()
        assert len(process.sha256) == 64
        assert [t["id"] for t in process.user_tasks] == ["review", "check", "approve"]
        entry = AuditEntry.objects.get(action="process_imported")
        assert entry.actor == actor
        assert entry.target_id == str(process.pk)
        assert entry.after["version"] == 1
        assert entry.after["item"] == item.implementation_code

    def test_new_upload_becomes_active_and_the_old_version_is_kept(self):
        item = ServiceItemFactory()
        first = process_import(
            actor=None, item=item, xml=(SHIPPED / "single-department.bpmn").read_bytes()
        )

        second = process_import(
            actor=None,
            item=item,
            xml=(SHIPPED / "feasibility-parallel.bpmn").read_bytes(),
        )

        first.refresh_from_db()
        assert second.version == 2
        assert second.is_active
        assert not first.is_active
        assert process_for_item(item=item) == second
        entry = AuditEntry.objects.filter(target_id=str(second.pk)).get()
        assert entry.before == {"id": first.pk, "version": 1}
        # A case started on version 1 still runs it.
        assert open_ids(workflow_start(process=first)) == ["review"]

    def test_versions_count_per_item(self):
        xml = (SHIPPED / "single-department.bpmn").read_bytes()

        one = process_import(actor=None, item=ServiceItemFactory(), xml=xml)
        other = process_import(actor=None, item=ServiceItemFactory(), xml=xml)

        assert (one.version, other.version) == (1, 1)

    def test_same_file_again_adds_no_version(self):
        item = ServiceItemFactory()
        xml = (SHIPPED / "single-department.bpmn").read_bytes()
        first = process_import(actor=None, item=item, xml=xml)

        again = process_import(actor=None, item=item, xml=xml)

        assert again == first
        assert ReviewProcess.objects.count() == 1
        assert AuditEntry.objects.filter(action="process_imported").count() == 1

    def test_refusal_stores_nothing(self):
        item = ServiceItemFactory()
        process_import(
            actor=None, item=item, xml=(SHIPPED / "single-department.bpmn").read_bytes()
        )

        with pytest.raises(ProcessRefusedError):
            process_import(
                actor=None,
                item=item,
                xml=(CRAFTED / "flows-without-id.bpmn").read_bytes(),
            )

        assert ReviewProcess.objects.count() == 1
        assert ReviewProcess.objects.get().is_active
        assert AuditEntry.objects.filter(action="process_imported").count() == 1

    def test_item_without_a_route_runs_on_the_single_department_template(self):
        item = ServiceItemFactory()
        assert process_for_item(item=item) is None

        templates = process_install_shipped()

        assert {(p.key, p.item_id, p.version) for p in templates} == {
            ("single-department", None, 1),
            ("feasibility-parallel", None, 1),
        }
        assert process_for_item(item=item).key == "single-department"
        assert process_install_shipped() == templates

    def test_route_needs_an_item_or_a_template_key(self):
        with pytest.raises(ServiceError) as caught:
            process_import(
                actor=None,
                item=None,
                xml=(SHIPPED / "single-department.bpmn").read_bytes(),
            )

        assert caught.value.code == "required"
        assert ReviewProcess.objects.count() == 0

    def test_file_in_gb18030_keeps_its_text_and_runs(self):
        text = (SHIPPED / "single-department.bpmn").read_text(encoding="utf-8")
        xml = text.replace('encoding="UTF-8"', 'encoding="GB18030"', 1).encode(
            "gb18030"
        )

        process = process_import(actor=None, item=ServiceItemFactory(), xml=xml)

        assert process.bpmn_xml.startswith('<?xml version="1.0" encoding="GB18030"?>')
        assert 'name="审查"' in process.bpmn_xml
        workflow = workflow_start(process=process)
        assert [task.name for task in workflow_open_tasks(workflow)] == ["审查"]


@pytest.mark.django_db
class TestImportProcessCommand:
    def test_command_imports_the_file_for_the_item(self, capsys):
        item = ServiceItemFactory()

        call_command(
            "import_process",
            item.implementation_code,
            str(SHIPPED / "feasibility-parallel.bpmn"),
        )

        process = ReviewProcess.objects.get(item=item)
        assert process.process_id == "feasibility_parallel"
        assert "第 1 版已启用" in capsys.readouterr().out

    def test_command_prints_the_chinese_refusal_and_fails(self, capsys):
        item = ServiceItemFactory()

        with pytest.raises(CommandError) as caught:
            call_command(
                "import_process",
                item.implementation_code,
                str(DATA / "B.1.0.bpmn"),
            )

        err = capsys.readouterr().err
        assert "流程文件无法导入" in err
        assert "bpmn:dataStore（id=DS1373655174514）：不支持数据存储" in err
        assert "未保存任何内容" in str(caught.value)
        assert ReviewProcess.objects.count() == 0

    def test_command_exits_with_code_1_on_refusal(self, capsys):
        item = ServiceItemFactory()

        with pytest.raises(SystemExit) as caught:
            ManagementUtility(
                [
                    "smartapproval",
                    "import_process",
                    item.implementation_code,
                    str(DATA / "A.1.0.bpmn"),
                ]
            ).execute()

        assert caught.value.code == 1
        assert "未声明可执行流程" in capsys.readouterr().err

    def test_command_refuses_an_unknown_item(self):
        with pytest.raises(CommandError) as caught:
            call_command("import_process", "NO-SUCH-CODE", str(DATA / "C.1.0.bpmn"))

        assert "NO-SUCH-CODE" in str(caught.value)

    def test_command_installs_the_shipped_templates(self, capsys):
        call_command("import_process", "--shipped")

        assert set(ReviewProcess.objects.values_list("key", flat=True)) == {
            "single-department",
            "feasibility-parallel",
        }
        out = capsys.readouterr().out
        assert out.count("审查路线模板") == 2
        assert out.count("已启用") == 2

"""Review routes (审查路线): BPMN 2.0 processes checked before they are kept.

A route is imported once and then run by SpiffWorkflow for every case of its
item, so the import refuses anything the engine would not run as drawn, with
a message that names the element (tag and id) and the reason, and stores
nothing then. Refusals are gathered in one pass, like a correction request
lists every missing material at once; the first one is the most basic.

The checks, in order: the file is well-formed BPMN 2.0 XML; it uses no data
store; it declares an executable process; then, in that process and the
processes it calls, every flow has an id, no data association, every
sub-process has one start event, every element type is one the engine runs,
multi-instance tasks say how many instances, every expression is Python
(JUEL conditions of the simple kind are translated), no parallel join sits
in a loop, every element can be reached, task properties are well-formed,
there is at least one human task. SpiffWorkflow's own parser then reads it,
and a dry run must reach a human task or wait for an event someone can
report or a timer, and its state must survive being saved and read back: a
process that ends without running any of its tasks is refused.

Deliberate simplifications, stated for the modeller in
``catalogue/bpmn/README.md``: expressions are a safe subset of Python (no
attribute access, no calls but a few built-ins); scripts do not run; the
vendor implementation of a service task is ignored, the route waits there
until this system completes the step (``workflow_system_steps``); a message
or signal the route waits for is reported by a person (``workflow_waits``,
``workflow_report_event``); a send task hands its message to this system;
timers count natural time on the system's clock (``workflow_refresh_timers``),
working-day limits are task properties the case app counts.
"""

import ast
import hashlib
import json
import keyword
import re
import uuid
from collections import defaultdict
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, BpmnValidator
from SpiffWorkflow.bpmn.parser.task_parsers import GatewayParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.util import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import (
    BasePythonScriptEngineEnvironment,
)
from SpiffWorkflow.bpmn.serializer import DEFAULT_CONFIG, BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    ParallelGatewayConverter,
)
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.defaults import (
    ManualTask,
    NoneTask,
    ParallelGateway,
    ServiceTask,
    UserTask,
)
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timers
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import (
    SignalEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import (
    MultipleEventDefinition,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import (
    SpiffWorkflowException,
    TaskNotFoundException,
    WorkflowException,
)
from SpiffWorkflow.spiff.parser.process import SPIFF_XSD
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from smartapproval.audit.services import audit_record
from smartapproval.catalogue.models import ReviewProcess, ServiceItem
from smartapproval.core.api import ServiceError

log = structlog.get_logger(__name__)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
SHIPPED_DIR = Path(__file__).resolve().parent / "bpmn"
SHIPPED_ITEM_ROUTES = SHIPPED_DIR / "items.json"
# The largest MIWG reference model is 240 kB; a route is far smaller.
MAX_XML_BYTES = 2 * 1024 * 1024

# Elements that carry a token; the engine parses only what flows reach.
FLOW_NODE_TAGS = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "scriptTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "implicitThrowEvent",
        "boundaryEvent",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
        "complexGateway",
        "callChoreography",
        "choreographyTask",
        "subChoreography",
    }
)
HUMAN_TASK_TAGS = frozenset({"userTask", "manualTask", "task"})
SYSTEM_STEP_TAGS = frozenset({"serviceTask", "sendTask"})
SCOPE_TAGS = frozenset({"process", "subProcess", "transaction", "adHocSubProcess"})
CONDITIONAL_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
JOIN_GATEWAYS = frozenset({"parallelGateway", "inclusiveGateway"})
# Event definitions SpiffWorkflow does not parse: the event would be taken
# as a plain one and the flow would silently skip what it means.
UNSUPPORTED_EVENT_DEFINITIONS = frozenset(
    {"compensateEventDefinition", "linkEventDefinition"}
)
START_EVENT_DEFINITIONS = frozenset({"messageEventDefinition"})
EXPRESSION_TAGS = {
    "conditionExpression": "condition",
    "condition": "condition",
    "loopCardinality": "condition",
    "completionCondition": "condition",
    "loopCondition": "condition",
    "timeDate": "timer",
    "timeDuration": "timer",
    "timeCycle": "timer",
}

VENDOR_NAMESPACES = {
    "http://camunda.org/schema/1.0/bpmn": "Camunda",
    "http://camunda.org/schema/zeebe/1.0": "Camunda 8 (Zeebe)",
    "http://activiti.org/bpmn": "Activiti",
    "http://flowable.org/bpmn": "Flowable",
    "http://www.jboss.org/drools": "jBPM",
}
# Vendor extensions that change data or flow: skipping them would change
# what the route does without anyone seeing it.
VENDOR_BEHAVIOUR_ELEMENTS = frozenset(
    {
        "executionListener",
        "taskListener",
        "inputOutput",
        "ioMapping",
        "script",
        "in",
        "out",
        "onEntry",
        "onExit",
    }
)
VENDOR_BEHAVIOUR_ATTRIBUTES = frozenset({"collection", "elementVariable"})
# Handled by the multi-instance check, which says more.
VENDOR_MULTI_INSTANCE = frozenset({"loopCharacteristics"})

# BPMN's default expression language; tools write it without meaning it.
UNSPECIFIED_LANGUAGES = frozenset({"", "http://www.w3.org/1999/XPath"})
PYTHON_LANGUAGES = frozenset(
    {"python", "text/python", "text/x-python", "application/x-python"}
)
LANGUAGE_NAMES = (
    ("feel", "FEEL"),
    ("javascript", "JavaScript"),
    ("ecmascript", "JavaScript"),
    ("groovy", "Groovy"),
    ("juel", "JUEL"),
    ("mvel", "MVEL"),
    ("java", "Java"),
    ("xpath", "XPath"),
)

DEPARTMENT_ROLES = frozenset({"lead", "co", "applicant"})
LIMIT_UNITS = frozenset({"working_days", "working_hours"})
# The answers a human task may give, as its ``answers`` property lists them.
# A co-department's review answers with the four of a parallel round; a task
# whose outcome variable is ``decision`` decides the case; a revision step
# reports the revision done; a task without an outcome is simply done.
REVIEW_ANSWERS = (
    "approved",
    "approved_with_conditions",
    "revision_required",
    "rejected",
)
DECISION_ANSWERS = ("approved", "denied")
REVISION_ANSWERS = ("revised",)
PLAIN_ANSWERS = ("done",)
ANSWERS = frozenset(
    {*REVIEW_ANSWERS, *DECISION_ANSWERS, *REVISION_ANSWERS, *PLAIN_ANSWERS}
    | {"another_round"}
)
DECISION_VARIABLE = "decision"
# What a co-department's refusal does to the case: deny it at once, or leave
# the decision to the lead department (which may then not approve).
REFUSAL_POLICIES = frozenset({"deny", "lead_decides"})

# Functions an expression may call; everything else is refused.
SAFE_FUNCTIONS: dict[str, Any] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "any": any,
    "all": all,
    "sum": sum,
    "int": int,
    "str": str,
    "bool": bool,
    "float": float,
    "round": round,
}
_SAFE_NODES = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.BinOp,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Compare,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    ast.Tuple,
    ast.Set,
    ast.Dict,
    ast.IfExp,
    ast.Subscript,
    ast.Slice,
    ast.Call,
)

_JUEL = re.compile(r"^\s*[$#]\{(?P<body>.*)\}\s*$", re.S)
_JUEL_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<number>\d+(?:\.\d+)?)
      | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()])
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.X,
)
_JUEL_WORDS = {
    "and": "and",
    "or": "or",
    "not": "not",
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "gt": ">",
    "le": "<=",
    "ge": ">=",
    "true": "True",
    "false": "False",
    "null": "None",
}
_JUEL_OPERATORS = {"&&": "and", "||": "or", "!": "not"}
_ISO_LIKE = re.compile(r"^(?:R\d*/|P|\d{4}-)")
_UNDEFINED_NAME = re.compile(r"name '(?P<name>[^']+)' is not defined")


class ProcessAction:
    """Audit action names of review routes."""

    IMPORTED = "process_imported"


class IssueCode:
    """Stable machine names of the reasons a process is refused."""

    MALFORMED = "malformed_xml"
    NOT_BPMN = "not_bpmn"
    SCHEMA = "schema"
    DATA_STORE = "data_store"
    NOT_EXECUTABLE = "not_executable"
    SEVERAL_EXECUTABLE = "several_executable"
    MISSING_ID = "missing_id"
    BROKEN_REFERENCE = "broken_reference"
    DATA_ASSOCIATION = "data_association"
    SUBPROCESS_START = "subprocess_start"
    START_EVENT = "start_event"
    UNSUPPORTED = "unsupported_element"
    MULTI_INSTANCE = "multi_instance"
    FOREIGN_LANGUAGE = "foreign_language"
    INVALID_EXPRESSION = "invalid_expression"
    CALL_ACTIVITY = "call_activity"
    JOIN_IN_LOOP = "join_in_loop"
    UNREACHABLE = "unreachable"
    TASK_PROPERTY = "task_property"
    NO_USER_TASK = "no_user_task"
    ENGINE = "engine"
    DRY_RUN = "dry_run"
    STATE = "state_not_saved"
    ENDS_WITHOUT_TASKS = "ends_without_tasks"


@dataclass(frozen=True)
class ProcessIssue:
    """One reason a process cannot run: what is wrong, and where."""

    code: str
    reason: str
    tag: str = ""
    element_id: str = ""
    line: int | None = None

    @property
    def message(self) -> str:
        if not self.tag:
            return self.reason
        if self.element_id:
            element = gettext("%(tag)s (id=%(id)s)") % {
                "tag": self.tag,
                "id": self.element_id,
            }
        else:
            element = gettext("%(tag)s on line %(line)s (no id)") % {
                "tag": self.tag,
                "line": self.line,
            }
        return gettext("%(element)s: %(reason)s") % {
            "element": element,
            "reason": self.reason,
        }


class ProcessRefusedError(ServiceError):
    """The file cannot become a route; ``issues`` says every reason."""

    SHOWN = 8

    def __init__(self, issues: list[ProcessIssue]):
        shown = gettext("; ").join(issue.message for issue in issues[: self.SHOWN])
        if len(issues) > self.SHOWN:
            shown += gettext("; and %(count)s more problems") % {
                "count": len(issues) - self.SHOWN
            }
        super().__init__(
            gettext("The process cannot be imported: %(reasons)s") % {"reasons": shown},
            field="bpmn_xml",
            code=issues[0].code,
        )
        self.issues = issues


@dataclass
class ValidatedProcess:
    """A process that passed every check, ready to be stored."""

    process_id: str
    name: str
    sha256: str
    text: str
    user_tasks: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    dry_run: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class WaitChoice:
    """One event a waiting route may be told happened (an answer)."""

    key: str
    bpmn_id: str
    name: str


@dataclass(frozen=True)
class RouteWait:
    """An event a running route waits for, at the engine task catching it.

    ``kind`` is ``event`` for messages and signals, which a person of the
    lead department reports (``choices``, one per event an event-based
    gateway waits for), or ``timer``, which fires by itself at ``due``.
    """

    id: uuid.UUID
    bpmn_id: str
    name: str
    kind: str
    choices: tuple[WaitChoice, ...] = ()
    due: datetime | None = None


WAIT_EVENT = "event"
WAIT_TIMER = "timer"
# Events a person can report: what comes from outside the route. Errors,
# escalations and cancellations are thrown inside it and wait for nothing.
REPORTED_EVENTS = (MessageEventDefinition, SignalEventDefinition)


@dataclass(frozen=True)
class OpenTask:
    """A human task of a running route that someone can now handle."""

    id: uuid.UUID
    bpmn_id: str
    name: str
    properties: dict[str, str]
    lane: str


# Validation ---------------------------------------------------------------


def process_validate(xml: bytes) -> ValidatedProcess:
    """Check a BPMN 2.0 file and prove by a dry run that the engine runs it.

    Raises ``ProcessRefusedError``, a ``ServiceError``, with every reason.
    """
    root = _parse(xml)
    checker = _Checker(root)
    checker.run()
    if checker.issues:
        raise ProcessRefusedError(checker.issues)

    spec, subprocess_specs = _engine_specs(checker)
    dry_run = _dry_run(checker, spec, subprocess_specs)
    if checker.issues:
        raise ProcessRefusedError(checker.issues)

    main = checker.main
    return ValidatedProcess(
        process_id=main.get("id"),
        name=" ".join((main.get("name") or main.get("id")).split())[:200],
        sha256=hashlib.sha256(xml).hexdigest(),
        text=_decode(xml, root),
        user_tasks=checker.user_tasks,
        warnings=checker.warnings,
        dry_run=dry_run,
    )


def _parse(xml: bytes) -> etree._Element:
    """Read the XML safely: no entities, no network, no DOCTYPE."""
    if len(xml) > MAX_XML_BYTES:
        raise ProcessRefusedError(
            [
                ProcessIssue(
                    IssueCode.MALFORMED,
                    gettext("The file is larger than %(size)s MB.")
                    % {"size": MAX_XML_BYTES // (1024 * 1024)},
                )
            ]
        )

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise ProcessRefusedError(
            [
                ProcessIssue(
                    IssueCode.MALFORMED,
                    gettext(
                        "The file is not well-formed XML (line %(line)s, column "
                        "%(column)s)."
                    )
                    % {"line": line, "column": column},
                )
            ]
        ) from exc
    if root.getroottree().docinfo.doctype:
        raise ProcessRefusedError(
            [
                ProcessIssue(
                    IssueCode.MALFORMED,
                    gettext(
                        "The file has a DOCTYPE declaration; for safety such "
                        "files are not read."
                    ),
                )
            ]
        )

    if root.tag != f"{{{BPMN_NS}}}definitions":
        raise ProcessRefusedError(
            [
                ProcessIssue(
                    IssueCode.NOT_BPMN,
                    gettext(
                        "The root element is %(tag)s, not the definitions "
                        "element of BPMN 2.0 (namespace %(namespace)s)."
                    )
                    % {"tag": _short_tag(root), "namespace": BPMN_NS},
                )
            ]
        )

    try:
        _schema().validate(root)
    except ValidationException as exc:
        raise ProcessRefusedError(
            [
                ProcessIssue(
                    IssueCode.SCHEMA,
                    gettext(
                        "The file does not follow the BPMN 2.0 XML schema (line "
                        "%(line)s): %(detail)s"
                    )
                    % {"line": exc.line_number, "detail": str(exc).strip()},
                )
            ]
        ) from exc

    return root


@cache
def _schema() -> BpmnValidator:
    # The BPMN 2.0 schema with SpiffWorkflow's extensions, so the task
    # properties of a route are checked too.
    return BpmnValidator(imports={"spiffworkflow": SPIFF_XSD})


def _decode(xml: bytes, root: etree._Element) -> str:
    encoding = root.getroottree().docinfo.encoding or "utf-8"
    return xml.decode(encoding)


def _short_tag(element: etree._Element) -> str:
    qname = etree.QName(element)
    if qname.namespace == BPMN_NS:
        return f"bpmn:{qname.localname}"
    prefix = VENDOR_NAMESPACES.get(qname.namespace or "")
    if prefix is None:
        return qname.localname
    return f"{element.prefix or prefix.lower()}:{qname.localname}"


def _local(element: etree._Element) -> str:
    if not isinstance(element.tag, str):
        return ""
    qname = etree.QName(element)
    return qname.localname if qname.namespace == BPMN_NS else ""


class _Checker:
    """Walk one document and gather every reason it cannot run.

    Also normalises the expressions it accepts in place (translated JUEL,
    quoted ISO 8601 timer values), so the tree can go to the engine.
    """

    def __init__(self, root: etree._Element):
        self.root = root
        self.issues: list[ProcessIssue] = []
        self.warnings: list[str] = []
        self.user_tasks: list[dict[str, Any]] = []
        self.processes = {p.get("id"): p for p in root.findall(f"{{{BPMN_NS}}}process")}
        self.main: etree._Element | None = None
        self.scanned: list[etree._Element] = []
        self.undeclared: list[etree._Element] = []
        self._ids: dict[str, etree._Element] | None = None

    def run(self) -> None:
        self._check_data_stores()
        if not self._select_processes():
            return
        self._check_ids()
        self._check_data_associations()
        self._check_start_events()
        self._check_element_types()
        self._check_multi_instance()
        self._check_expressions()
        self._check_vendor_extensions()
        self._check_call_activities()
        self._check_joins_in_loops()
        self._check_reachability()
        self._collect_user_tasks()
        if self.undeclared:
            for process in self.undeclared:
                self._add(
                    IssueCode.NOT_EXECUTABLE,
                    process,
                    gettext(
                        "no executable process declared: the process does not say "
                        'isExecutable="true", so it is taken as a description'
                    ),
                )

    # Helpers

    def _add(self, code: str, element: etree._Element | None, reason: str) -> None:
        if element is None:
            issue = ProcessIssue(code, reason)
        else:
            issue = ProcessIssue(
                code,
                reason,
                tag=_short_tag(element),
                element_id=element.get("id") or "",
                line=element.sourceline,
            )
        if issue not in self.issues:
            self.issues.append(issue)

    def _warn(self, element: etree._Element, reason: str) -> None:
        self.warnings.append(
            ProcessIssue(
                "warning", reason, _short_tag(element), element.get("id") or ""
            ).message
        )

    def _scanned_elements(self, local_name: str | None = None):
        for process in self.scanned:
            for element in process.iter():
                name = _local(element)
                if name and (local_name is None or name == local_name):
                    yield element

    def _scopes(self):
        """Yield every container of flow nodes in the scanned processes."""
        for process in self.scanned:
            yield process
            for element in process.iter():
                if _local(element) in SCOPE_TAGS - {"process"}:
                    yield element

    # Checks, most basic first

    def _check_data_stores(self) -> None:
        reason = gettext(
            "data stores are not supported: a route keeps its data in the case, "
            "not in a store shared with other processes"
        )
        for store in self.root.iter(f"{{{BPMN_NS}}}dataStore"):
            self._add(IssueCode.DATA_STORE, store, reason)
        for process in self.processes.values():
            if process.get("isExecutable") in ("false", "0"):
                continue
            for reference in process.iter(f"{{{BPMN_NS}}}dataStoreReference"):
                self._add(IssueCode.DATA_STORE, reference, reason)

    def _select_processes(self) -> bool:
        """Choose the process to run; False when there is none to check."""
        declared = [
            p for p in self.processes.values() if p.get("isExecutable") in ("true", "1")
        ]
        undeclared = [
            p for p in self.processes.values() if p.get("isExecutable") is None
        ]
        if not declared and not undeclared:
            self._add(
                IssueCode.NOT_EXECUTABLE,
                None,
                gettext(
                    "No executable process declared: every process of the file "
                    '(%(ids)s) says isExecutable="false", so it only describes '
                    "the work."
                )
                % {"ids": ", ".join(self.processes) or "-"},
            )
            return False

        if not declared:
            self.undeclared = undeclared
            self.scanned = undeclared
            self.main = undeclared[0]
            return True

        called = {
            element.get("calledElement")
            for process in declared
            for element in process.iter(f"{{{BPMN_NS}}}callActivity")
        }
        mains = [p for p in declared if p.get("id") not in called] or declared
        if len(mains) > 1:
            self._add(
                IssueCode.SEVERAL_EXECUTABLE,
                None,
                gettext(
                    "The file declares several executable processes (%(ids)s); a "
                    "route has exactly one main process."
                )
                % {"ids": ", ".join(p.get("id") for p in mains)},
            )
            return False

        self.main = mains[0]
        self.scanned = [self.main]
        for process in self.scanned:
            for call in process.iter(f"{{{BPMN_NS}}}callActivity"):
                target = self.processes.get(call.get("calledElement"))
                if target is not None and target not in self.scanned:
                    self.scanned.append(target)
        return True

    def _check_ids(self) -> None:
        ids = {e.get("id") for e in self.root.iter() if isinstance(e.tag, str)}
        for element in self._scanned_elements():
            name = _local(element)
            if name == "sequenceFlow":
                if not element.get("id"):
                    self._add(
                        IssueCode.MISSING_ID,
                        element,
                        gettext(
                            "the sequence flow has no id: the engine drops such "
                            "flows without a word, and with them everything after "
                            "them, so the process would run nothing"
                        ),
                    )
                for attribute in ("sourceRef", "targetRef"):
                    if element.get(attribute) not in ids:
                        self._add(
                            IssueCode.BROKEN_REFERENCE,
                            element,
                            gettext(
                                "%(attribute)s names %(ref)s, which is not an "
                                "element of this file"
                            )
                            % {
                                "attribute": attribute,
                                "ref": element.get(attribute) or "-",
                            },
                        )
            elif name in FLOW_NODE_TAGS and not element.get("id"):
                self._add(
                    IssueCode.MISSING_ID,
                    element,
                    gettext("the element has no id, so the engine cannot name it"),
                )

    def _check_data_associations(self) -> None:
        for element in self._scanned_elements():
            name = _local(element)
            if name in ("dataInputAssociation", "dataOutputAssociation"):
                self._add(
                    IssueCode.DATA_ASSOCIATION,
                    element.getparent(),
                    gettext(
                        "data associations (%(kind)s) are not supported: a route "
                        "passes data as variables of the task data, it does not "
                        "map data objects in and out of tasks"
                    )
                    % {"kind": f"bpmn:{name}"},
                )
        for element in self._scanned_elements("ioSpecification"):
            if (
                element.find(f"{{{BPMN_NS}}}dataInput") is not None
                or element.find(f"{{{BPMN_NS}}}dataOutput") is not None
            ):
                self._add(
                    IssueCode.DATA_ASSOCIATION,
                    element.getparent(),
                    gettext(
                        "declared data inputs and outputs (bpmn:ioSpecification) "
                        "are not supported: a route passes data as variables of "
                        "the task data"
                    ),
                )

    def _check_start_events(self) -> None:
        for scope in self._scopes():
            name = _local(scope)
            if name == "adHocSubProcess":
                continue
            starts = scope.findall(f"{{{BPMN_NS}}}startEvent")
            ends = scope.findall(f"{{{BPMN_NS}}}endEvent")
            if name == "process":
                self._check_process_start(scope, starts)
                continue
            if not starts:
                self._add(
                    IssueCode.SUBPROCESS_START,
                    scope,
                    gettext(
                        "the sub-process has no start event, so the engine "
                        "cannot enter it"
                    ),
                )
            elif len(starts) > 1:
                self._add(
                    IssueCode.SUBPROCESS_START,
                    scope,
                    gettext(
                        "the sub-process has %(count)s start events; the engine "
                        "needs exactly one"
                    )
                    % {"count": len(starts)},
                )
            if not ends:
                self._add(
                    IssueCode.SUBPROCESS_START,
                    scope,
                    gettext("the sub-process has no end event"),
                )

    def _check_process_start(
        self, process: etree._Element, starts: list[etree._Element]
    ) -> None:
        if not starts:
            self._add(
                IssueCode.START_EVENT,
                process,
                gettext("the process has no start event"),
            )
            return
        if process is self.main and len(starts) > 1:
            self._add(
                IssueCode.START_EVENT,
                process,
                gettext(
                    "the process has %(count)s start events; a route starts in "
                    "one place, when the case is accepted"
                )
                % {"count": len(starts)},
            )
        for start in starts:
            kinds = {
                _local(child) for child in start if _local(child).endswith("Definition")
            }
            if process is self.main and kinds - START_EVENT_DEFINITIONS:
                self._add(
                    IssueCode.START_EVENT,
                    start,
                    gettext(
                        "a route starts when its case is accepted, so its start "
                        "event is a plain or a message start event, not %(kind)s"
                    )
                    % {"kind": ", ".join(sorted(kinds))},
                )

    def _check_element_types(self) -> None:
        supported = _supported_tags()
        for element in self._scanned_elements():
            name = _local(element)
            if name == "scriptTask":
                self._add(
                    IssueCode.UNSUPPORTED,
                    element,
                    gettext(
                        "script tasks are not imported: an uploaded process must "
                        "not run code on the server"
                    ),
                )
            elif name in FLOW_NODE_TAGS and name not in supported:
                self._add(
                    IssueCode.UNSUPPORTED,
                    element,
                    gettext("the engine does not support this element type (%(kind)s)")
                    % {"kind": f"bpmn:{name}"},
                )
            elif name in UNSUPPORTED_EVENT_DEFINITIONS:
                self._add(
                    IssueCode.UNSUPPORTED,
                    element.getparent(),
                    gettext(
                        "the engine does not support %(kind)s: it would take the "
                        "event as a plain one and silently skip what it means"
                    )
                    % {"kind": f"bpmn:{name}"},
                )
            elif (
                name == "sequenceFlow"
                and element.find(f"{{{BPMN_NS}}}conditionExpression") is not None
            ):
                source = self._by_id().get(element.get("sourceRef"))
                if source is not None and _local(source) not in CONDITIONAL_GATEWAYS:
                    self._add(
                        IssueCode.UNSUPPORTED,
                        element,
                        gettext(
                            "only flows leaving an exclusive or inclusive gateway "
                            "may carry a condition; the engine ignores this one"
                        ),
                    )

    def _check_multi_instance(self) -> None:
        for loop in self._scanned_elements("multiInstanceLoopCharacteristics"):
            cardinality = loop.find(f"{{{BPMN_NS}}}loopCardinality")
            collection = loop.find(f"{{{BPMN_NS}}}loopDataInputRef")
            if cardinality is None and collection is None:
                reason = gettext(
                    "the multi-instance activity says neither how many instances "
                    "to run (bpmn:loopCardinality) nor which collection to run "
                    "over (bpmn:loopDataInputRef)"
                )
                vendor = [_short_tag(e) for e in loop.iter() if _is_vendor(e)]
                vendor += [
                    _attribute_label(loop, name)
                    for name in loop.attrib
                    if _is_vendor_name(name)
                ]
                if vendor:
                    reason += gettext(
                        "; the extension of another engine (%(names)s) does not "
                        "run here"
                    ) % {"names": ", ".join(vendor)}
                self._add(IssueCode.MULTI_INSTANCE, loop.getparent(), reason)
            elif cardinality is not None and collection is not None:
                self._add(
                    IssueCode.MULTI_INSTANCE,
                    loop.getparent(),
                    gettext(
                        "the multi-instance activity gives both a cardinality and "
                        "a collection; give one of them"
                    ),
                )

    def _check_expressions(self) -> None:
        default_language = self.root.get("expressionLanguage") or ""
        for element in self._scanned_elements():
            kind = EXPRESSION_TAGS.get(_local(element))
            if kind is None:
                continue
            if _local(element) == "condition" and _local(element.getparent()) != (
                "conditionalEventDefinition"
            ):
                continue
            language = element.get("language") or default_language
            owner = element.getparent()
            if _local(owner) in ("timerEventDefinition", "conditionalEventDefinition"):
                owner = owner.getparent()
            try:
                python, translated = _expression_to_python(
                    element.text or "", kind=kind, language=language
                )
            except _ExpressionError as refusal:
                self._add(refusal.code, owner, refusal.reason)
                continue
            if translated:
                self._warn(
                    owner,
                    gettext(
                        "the JUEL condition %(juel)s runs as the Python expression "
                        "%(python)s"
                    )
                    % {"juel": _clip(element.text), "python": python},
                )
            element.text = python

    def _check_vendor_extensions(self) -> None:
        for element in self._scanned_elements():
            name = _local(element)
            if name not in FLOW_NODE_TAGS | {"sequenceFlow", "process"}:
                continue
            ignored = [
                _attribute_label(element, attribute)
                for attribute in element.attrib
                if _is_vendor_name(attribute)
                and etree.QName(attribute).localname not in VENDOR_BEHAVIOUR_ATTRIBUTES
            ]
            for attribute in element.attrib:
                if (
                    _is_vendor_name(attribute)
                    and etree.QName(attribute).localname in VENDOR_BEHAVIOUR_ATTRIBUTES
                ):
                    self._refuse_vendor(element, _attribute_label(element, attribute))
            extensions = element.find(f"{{{BPMN_NS}}}extensionElements")
            for child in extensions if extensions is not None else ():
                if not _is_vendor(child):
                    continue
                local = etree.QName(child).localname
                if local in VENDOR_BEHAVIOUR_ELEMENTS:
                    self._refuse_vendor(element, _short_tag(child))
                elif local not in VENDOR_MULTI_INSTANCE:
                    ignored.append(_short_tag(child))
            if element.find(f"{{{BPMN_NS}}}potentialOwner") is not None:
                ignored.append("bpmn:potentialOwner")
            implementation = (
                gettext("; its implementation (%(names)s) is ignored")
                % {"names": ", ".join(sorted(set(ignored)))}
                if ignored
                else ""
            )
            if name == "serviceTask":
                self._warn(
                    element,
                    gettext(
                        "a system step: the route stops here until this system "
                        "completes the step%(ignored)s"
                    )
                    % {"ignored": implementation},
                )
            elif name == "sendTask":
                self._warn(
                    element,
                    gettext(
                        "a send step: the engine hands its message to this system "
                        "and goes on%(ignored)s"
                    )
                    % {"ignored": implementation},
                )
            elif ignored and name in HUMAN_TASK_TAGS:
                self._warn(
                    element,
                    gettext(
                        "settings of another engine are ignored (%(names)s); "
                        "tasks are assigned by their properties and lanes"
                    )
                    % {"names": ", ".join(sorted(set(ignored)))},
                )
            elif ignored:
                self._warn(
                    element,
                    gettext("settings of another engine are ignored (%(names)s)")
                    % {"names": ", ".join(sorted(set(ignored)))},
                )

    def _refuse_vendor(self, element: etree._Element, name: str) -> None:
        self._add(
            IssueCode.FOREIGN_LANGUAGE,
            element,
            gettext(
                "the extension %(name)s of another engine changes data or flow "
                "there; this engine would silently skip it"
            )
            % {"name": name},
        )

    def _check_call_activities(self) -> None:
        for call in self._scanned_elements("callActivity"):
            called = call.get("calledElement")
            target = self.processes.get(called)
            if not called:
                self._add(
                    IssueCode.CALL_ACTIVITY,
                    call,
                    gettext("the call activity does not name the process it calls"),
                )
            elif target is None:
                self._add(
                    IssueCode.CALL_ACTIVITY,
                    call,
                    gettext(
                        "the call activity calls the process %(called)s, which is "
                        "not in this file"
                    )
                    % {"called": called},
                )
            elif target.get("isExecutable") in ("false", "0"):
                self._add(
                    IssueCode.CALL_ACTIVITY,
                    call,
                    gettext(
                        "the call activity calls the process %(called)s, which "
                        'says isExecutable="false"'
                    )
                    % {"called": called},
                )

    def _check_joins_in_loops(self) -> None:
        for scope in self._scopes():
            graph = _Graph(scope)
            for node_id, node in graph.nodes.items():
                if (
                    _local(node) in JOIN_GATEWAYS
                    and graph.incoming[node_id] >= 2
                    and graph.on_cycle(node_id)
                ):
                    self._add(
                        IssueCode.JOIN_IN_LOOP,
                        node,
                        gettext(
                            "the joining gateway lies on a loop: in the next round "
                            "the engine counts the arrivals of the previous round "
                            "and joins too early; put the part that repeats into a "
                            "sub-process, one instance per round"
                        ),
                    )

    def _check_reachability(self) -> None:
        pending = list(self.scanned)
        while pending:
            scope = pending.pop()
            graph = _Graph(scope)
            reached = graph.reachable(ad_hoc=_local(scope) == "adHocSubProcess")
            for node_id, node in graph.nodes.items():
                if node_id not in reached:
                    self._add(
                        IssueCode.UNREACHABLE,
                        node,
                        gettext(
                            "no flow from a start event reaches this element, so "
                            "it never runs"
                        ),
                    )
                elif _local(node) in SCOPE_TAGS:
                    pending.append(node)

    def _collect_user_tasks(self) -> None:
        lanes = self._lanes()
        for element in self._scanned_elements():
            if _local(element) not in HUMAN_TASK_TAGS or not element.get("id"):
                continue
            scope = element.getparent()
            while _local(scope) not in SCOPE_TAGS:
                scope = scope.getparent()
            self.user_tasks.append(self._user_task(element, scope, lanes))
        if not self.user_tasks:
            self._add(
                IssueCode.NO_USER_TASK,
                self.main,
                gettext(
                    "the process has no human task (bpmn:userTask), so it cannot "
                    "be a review route"
                ),
            )

    def _user_task(
        self, element: etree._Element, scope: etree._Element, lanes: dict[str, str]
    ) -> dict[str, Any]:
        properties = _properties(element)
        role = properties.get("department_role", "")
        if role and role not in DEPARTMENT_ROLES:
            self._add(
                IssueCode.TASK_PROPERTY,
                element,
                gettext("department_role is %(value)s; use lead, co or applicant")
                % {"value": role},
            )
        if role == "co" and not properties.get("department"):
            self._add(
                IssueCode.TASK_PROPERTY,
                element,
                gettext(
                    "a co-department task needs a department property naming the "
                    "co-department"
                ),
            )
        variable = properties.get("outcome_variable", "")
        if variable and (
            not variable.isidentifier()
            or keyword.iskeyword(variable)
            or variable.startswith("_")
        ):
            self._add(
                IssueCode.TASK_PROPERTY,
                element,
                gettext("outcome_variable %(value)s is not a variable name")
                % {"value": variable},
            )

        answers = task_answers(properties)
        unknown = [answer for answer in answers if answer not in ANSWERS]
        if unknown:
            self._add(
                IssueCode.TASK_PROPERTY,
                element,
                gettext("the answers %(values)s are not known; use %(known)s")
                % {"values": ", ".join(unknown), "known": ", ".join(sorted(ANSWERS))},
            )
        elif "answers" in properties and not variable:
            self._add(
                IssueCode.TASK_PROPERTY,
                element,
                gettext("a task that lists answers needs an outcome_variable"),
            )
        policy = properties.get("on_refusal", "")
        if policy and policy not in REFUSAL_POLICIES:
            self._add(
                IssueCode.TASK_PROPERTY,
                element,
                gettext("on_refusal is %(value)s; use deny or lead_decides")
                % {"value": policy},
            )

        limit, unit = properties.get("limit", ""), properties.get("limit_unit", "")
        limit_value = None
        if limit or unit:
            if not re.fullmatch(r"[0-9]+", limit) or int(limit) == 0:
                self._add(
                    IssueCode.TASK_PROPERTY,
                    element,
                    gettext("the limit %(value)s is not a positive whole number")
                    % {"value": limit or "-"},
                )
            else:
                limit_value = int(limit)
            warning = properties.get("warning", "")
            if warning and (
                not re.fullmatch(r"[0-9]+", warning)
                or (limit_value is not None and int(warning) >= limit_value)
            ):
                self._add(
                    IssueCode.TASK_PROPERTY,
                    element,
                    gettext(
                        "the warning %(value)s is not a whole number smaller "
                        "than the limit"
                    )
                    % {"value": warning},
                )
            if unit not in LIMIT_UNITS:
                self._add(
                    IssueCode.TASK_PROPERTY,
                    element,
                    gettext(
                        "the limit unit %(value)s is not working_days or working_hours"
                    )
                    % {"value": unit or "-"},
                )

        loop = element.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
        multi_instance = None
        if loop is not None:
            cardinality = loop.find(f"{{{BPMN_NS}}}loopCardinality")
            collection = loop.find(f"{{{BPMN_NS}}}loopDataInputRef")
            multi_instance = {
                "mode": "sequential"
                if loop.get("isSequential") in ("true", "1")
                else "parallel",
                "cardinality": (cardinality.text or "").strip()
                if cardinality is not None
                else "",
                "collection": (collection.text or "").strip()
                if collection is not None
                else "",
            }

        return {
            "id": element.get("id"),
            "name": " ".join((element.get("name") or "").split()),
            "kind": _local(element),
            "scope": scope.get("id") or "",
            "lane": lanes.get(element.get("id"), ""),
            "department_role": role,
            "department": properties.get("department", ""),
            "outcome_variable": variable,
            "answers": list(answers),
            "limit": limit_value,
            "limit_unit": unit if limit_value else "",
            "multi_instance": multi_instance,
            "properties": properties,
        }

    def _lanes(self) -> dict[str, str]:
        lanes: dict[str, str] = {}
        for process in self.scanned:
            # Nested lanes come later in document order, so the innermost
            # lane a node sits in wins.
            for lane in process.iter(f"{{{BPMN_NS}}}lane"):
                for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
                    if ref.text:
                        lanes[ref.text.strip()] = (lane.get("name") or "").strip()
        return lanes

    def _by_id(self) -> dict[str, etree._Element]:
        if self._ids is None:
            self._ids = {
                e.get("id"): e
                for e in self.root.iter()
                if isinstance(e.tag, str) and e.get("id")
            }
        return self._ids


class _Graph:
    """The flow nodes of one scope and the sequence flows between them."""

    def __init__(self, scope: etree._Element):
        self.nodes = {
            child.get("id"): child
            for child in scope
            if _local(child) in FLOW_NODE_TAGS and child.get("id")
        }
        self.edges: dict[str, set[str]] = defaultdict(set)
        self.incoming: dict[str, int] = defaultdict(int)
        for flow in scope.findall(f"{{{BPMN_NS}}}sequenceFlow"):
            source, target = flow.get("sourceRef"), flow.get("targetRef")
            if source in self.nodes and target in self.nodes:
                self.edges[source].add(target)
                self.incoming[target] += 1
        for node_id, node in self.nodes.items():
            attached = node.get("attachedToRef")
            if _local(node) == "boundaryEvent" and attached in self.nodes:
                self.edges[attached].add(node_id)

    def _walk(self, starts: set[str]) -> set[str]:
        seen: set[str] = set()
        pending = list(starts)
        while pending:
            node_id = pending.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            pending.extend(self.edges[node_id])
        return seen

    def reachable(self, *, ad_hoc: bool = False) -> set[str]:
        starts = {
            node_id
            for node_id, node in self.nodes.items()
            if _local(node) == "startEvent"
            # Event sub-processes start on their own trigger.
            or node.get("triggeredByEvent") == "true"
            # Compensation handlers hang on associations, not flows.
            or node.get("isForCompensation") == "true"
            # An ad-hoc sub-process may start with any activity.
            or (ad_hoc and not self.incoming[node_id])
        }
        return self._walk(starts)

    def on_cycle(self, node_id: str) -> bool:
        return node_id in self._walk(set(self.edges[node_id]))


class _ExpressionError(Exception):
    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _expression_to_python(text: str, *, kind: str, language: str) -> tuple[str, bool]:
    """Return the Python form of an expression and whether it was translated.

    ``kind`` is ``condition`` or ``timer``. Raises ``_ExpressionError``.
    """
    body = text.strip()
    shown = _clip(body)
    if not body:
        raise _ExpressionError(
            IssueCode.INVALID_EXPRESSION, gettext("the expression is empty")
        )

    language_name = _language_name(language)
    if language_name:
        raise _ExpressionError(
            IssueCode.FOREIGN_LANGUAGE,
            gettext(
                "the expression %(text)s is written in %(language)s; this engine "
                "evaluates Python expressions"
            )
            % {"text": shown, "language": language_name},
        )
    if body.startswith("="):
        raise _ExpressionError(
            IssueCode.FOREIGN_LANGUAGE,
            gettext(
                "the expression %(text)s is FEEL (Camunda 8); this engine "
                "evaluates Python expressions"
            )
            % {"text": shown},
        )

    if kind == "timer" and _ISO_LIKE.match(body):
        if not _valid_iso_timer(body):
            raise _ExpressionError(
                IssueCode.INVALID_EXPRESSION,
                gettext("the timer value %(text)s is not valid ISO 8601")
                % {"text": shown},
            )
        return repr(body), False

    if "${" in body or "#{" in body:
        python = _juel_to_python(body) if kind == "condition" else None
        if python is None:
            raise _ExpressionError(
                IssueCode.FOREIGN_LANGUAGE,
                gettext(
                    "the expression %(text)s is JUEL (Camunda 7, Activiti, "
                    "Flowable) beyond what can be translated (variables, "
                    "constants, comparisons and logic); this engine evaluates "
                    "Python expressions"
                )
                % {"text": shown},
            )
        return python, True

    try:
        _compiled(body)
    except SyntaxError as exc:
        raise _ExpressionError(
            IssueCode.INVALID_EXPRESSION,
            gettext("the expression %(text)s is not a valid Python expression")
            % {"text": shown},
        ) from exc
    except ValueError as exc:
        raise _ExpressionError(
            IssueCode.INVALID_EXPRESSION,
            gettext(
                "the expression %(text)s uses something not allowed: only "
                "variables, constants, comparisons, logic, arithmetic and the "
                "functions %(functions)s"
            )
            % {"text": shown, "functions": ", ".join(SAFE_FUNCTIONS)},
        ) from exc
    return body, False


def _language_name(language: str) -> str:
    """Name a foreign expression language, or return "" for Python."""
    value = language.strip()
    if value in UNSPECIFIED_LANGUAGES or value.lower() in PYTHON_LANGUAGES:
        return ""
    lowered = value.lower()
    for fragment, name in LANGUAGE_NAMES:
        if fragment in lowered:
            return name
    return value


def _valid_iso_timer(value: str) -> bool:
    try:
        if value.upper().startswith("R"):
            TimerEventDefinition.parse_iso_recurring_interval(value)
        elif value.upper().startswith("P"):
            TimerEventDefinition.parse_iso_duration(value)
        else:
            TimerEventDefinition.get_datetime(value)
    except Exception:
        # The engine's ISO 8601 parsers raise bare exceptions.
        return False
    return True


def _juel_to_python(text: str) -> str | None:
    """Translate a simple JUEL expression, or return None.

    Only variables, string and number constants, comparisons and boolean
    logic are translated; property access, method calls, ``empty`` and the
    conditional operator are not, since their meaning differs in Python.
    """
    match = _JUEL.match(text)
    if match is None:
        return None
    body, position, tokens = match.group("body"), 0, []
    while body[position:].strip():
        token = _JUEL_TOKEN.match(body, position)
        if token is None:
            return None
        position = token.end()
        if token["string"]:
            tokens.append(repr(re.sub(r"\\(.)", r"\1", token["string"][1:-1])))
        elif token["number"]:
            tokens.append(token["number"])
        elif token["op"]:
            tokens.append(_JUEL_OPERATORS.get(token["op"], token["op"]))
        elif token["name"] in _JUEL_WORDS:
            tokens.append(_JUEL_WORDS[token["name"]])
        elif keyword.iskeyword(token["name"]) or token["name"] in (
            "empty",
            "div",
            "mod",
            "instanceof",
        ):
            return None
        else:
            tokens.append(token["name"])

    python = " ".join(tokens)
    try:
        _compiled(python)
    except (SyntaxError, ValueError):
        return None
    return python


@lru_cache(maxsize=1024)
def _compiled(expression: str):
    """Compile an expression of the safe subset; ValueError if outside it."""
    tree = ast.parse(expression.strip(), mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _SAFE_NODES):
            raise ValueError(type(node).__name__)
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise ValueError(node.id)
        if isinstance(node, ast.Call) and (
            not isinstance(node.func, ast.Name)
            or node.func.id not in SAFE_FUNCTIONS
            or node.keywords
        ):
            raise ValueError("call")
    return compile(tree, "<route expression>", "eval")


def _clip(text: str | None, size: int = 80) -> str:
    value = " ".join((text or "").split())
    return value if len(value) <= size else value[: size - 1] + "…"


def _is_vendor(element: etree._Element) -> bool:
    return (
        isinstance(element.tag, str)
        and etree.QName(element).namespace in VENDOR_NAMESPACES
    )


def _is_vendor_name(name: str) -> bool:
    return name.startswith("{") and etree.QName(name).namespace in VENDOR_NAMESPACES


def _attribute_label(element: etree._Element, name: str) -> str:
    qname = etree.QName(name)
    prefix = next(
        (p for p, ns in element.nsmap.items() if ns == qname.namespace and p), None
    )
    prefix = prefix or VENDOR_NAMESPACES[qname.namespace].split()[0].lower()
    return f"{prefix}:{qname.localname}"


def _properties(element: etree._Element) -> dict[str, str]:
    return {
        prop.get("name"): (prop.get("value") or "").strip()
        for prop in element.iterfind(
            f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/"
            f"{{{SPIFF_NS}}}property"
        )
        if prop.get("name")
    }


# The engine ---------------------------------------------------------------


class _RouteTaskParser(TaskParser):
    """Keep ``spiffworkflow:properties`` on the task spec as ``extensions``."""

    def parse_extensions(self, node=None):
        return SpiffTaskParser._parse_extensions(
            node if node is not None else self.node
        )


class RouteParallelGateway(ParallelGateway):
    """A parallel gateway whose join merges what each branch changed.

    SpiffWorkflow merges the data of the branches whole, in their order of
    arrival: the last branch brings back its stale copy of every variable
    another branch set, and wins. In a second round the lead would read the
    first round's answer of the department that answered first. Here each
    branch contributes only the variables it changed since the split; when
    two branches change the same variable, the later arrival wins.
    """

    def _run_hook(self, my_task):
        others = sorted(
            (
                task
                for task in my_task.workflow.tasks.values()
                if task.task_spec == self
                and task is not my_task
                and task.has_state(TaskState.FINISHED_MASK)
                and not my_task.is_descendant_of(task)
            ),
            key=lambda task: task.last_state_change,
        )
        arrivals = [task.parent for task in others] + [my_task.parent]
        baseline = _common_ancestor(arrivals).data
        merged = deepcopy(baseline)
        for arrival in arrivals:
            for key, value in arrival.data.items():
                if key not in baseline or baseline[key] != value:
                    merged[key] = deepcopy(value)

        for task in others:
            if task.has_state(TaskState.COMPLETED):
                task._drop_children(force=True)
        my_task.data = merged
        return True


def _common_ancestor(tasks: list[Task]) -> Task:
    def lineage(task: Task) -> list[Task]:
        chain = []
        while task is not None:
            chain.append(task)
            task = task.parent
        return chain

    first, *rest = tasks
    others = [{ancestor.id for ancestor in lineage(task)} for task in rest]
    return next(
        ancestor
        for ancestor in lineage(first)
        if all(ancestor.id in ids for ids in others)
    )


class _SystemClock(datetime):
    """``datetime`` for SpiffWorkflow's timer module, on this system's clock.

    SpiffWorkflow asks ``datetime.now`` when a route's timer starts and when
    it is checked; the routes must read the clock the rest of the system
    reads (``django.utils.timezone.now``), so that the case's deadlines and
    its route's timers agree, in tests as in production. Only that module's
    name is replaced; its timers stay SpiffWorkflow's own.
    """

    @classmethod
    def now(cls, tz=None):
        moment = timezone.now()
        if tz is None:
            moment = timezone.localtime(moment).replace(tzinfo=None)
        else:
            moment = moment.astimezone(tz)
        return cls.combine(moment.date(), moment.time(), moment.tzinfo)


spiff_timers.datetime = _SystemClock  # type: ignore[misc]


class RouteParser(BpmnParser):
    """SpiffWorkflow's BPMN parser with the task properties of routes.

    The plain parser is used rather than the Spiff one, which requires its
    own service-task operators and would refuse every imported service task.
    """

    OVERRIDE_PARSER_CLASSES = {
        full_tag("userTask"): (_RouteTaskParser, UserTask),
        full_tag("manualTask"): (_RouteTaskParser, ManualTask),
        full_tag("task"): (_RouteTaskParser, NoneTask),
        full_tag("serviceTask"): (_RouteTaskParser, ServiceTask),
        full_tag("parallelGateway"): (GatewayParser, RouteParallelGateway),
    }


@cache
def _supported_tags() -> frozenset[str]:
    tags = set(RouteParser.PARSER_CLASSES) | set(RouteParser.OVERRIDE_PARSER_CLASSES)
    return frozenset(etree.QName(tag).localname for tag in tags)


class _RouteEnvironment(BasePythonScriptEngineEnvironment):
    """Evaluate the safe expression subset; never run scripts."""

    def evaluate(self, expression, context, external_context=None):
        scope = {"__builtins__": {}, **SAFE_FUNCTIONS}
        scope.update(external_context or {})
        scope.update(context)
        # The expression passed _compiled's whitelist: no attribute access,
        # no names starting with "_", calls only to SAFE_FUNCTIONS.
        return eval(_compiled(expression), scope)  # noqa: S307

    def execute(self, script, context, external_context=None):
        raise WorkflowException("Review routes do not run scripts.")

    def call_service(self, context, **kwargs):
        raise WorkflowException("Review routes do not call services.")


@cache
def _script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=_RouteEnvironment())


@cache
def _serializer() -> BpmnWorkflowSerializer:
    # SpiffWorkflow's default configuration has no converter for its plain
    # ServiceTask (only the Spiff variant with operators has one), so the
    # serializer left the spec object in the state and JSON refused it. A
    # plain service task has nothing beyond a task spec's own attributes.
    config = {
        **DEFAULT_CONFIG,
        RouteParallelGateway: ParallelGatewayConverter,
        ServiceTask: BpmnTaskSpecConverter,
    }
    return BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))


def _engine_specs(
    checker: _Checker,
) -> tuple[BpmnProcessSpec | None, dict[str, BpmnProcessSpec]]:
    """Let SpiffWorkflow parse the checked tree; translate what it refuses."""
    for process in checker.scanned:
        process.set("isExecutable", "true")
    parser = RouteParser()
    try:
        parser.add_bpmn_xml(checker.root)
        process_id = checker.main.get("id")
        spec = parser.get_spec(process_id)
        subprocess_specs = parser.get_subprocess_specs(process_id)
    except ValidationException as exc:
        checker.issues.append(
            ProcessIssue(
                IssueCode.ENGINE,
                _engine_reason(str(exc)),
                tag=exc.tag or "",
                element_id=exc.id or "",
                line=exc.line_number or None,
            )
        )
        return None, {}
    except Exception as exc:
        # A bug of the parser must not let a file through.
        log.warning("process_engine_parse_failed", error=type(exc).__name__)
        checker.issues.append(
            ProcessIssue(
                IssueCode.ENGINE,
                gettext("the engine could not read the process: %(detail)s")
                % {"detail": _clip(str(exc), 200)},
            )
        )
        return None, {}
    return spec, subprocess_specs


# SpiffWorkflow's own refusals, in Chinese; the element id travels beside.
_ENGINE_MESSAGES = (
    (
        r"^There is no support implemented for this task type",
        gettext_noop("the engine does not support this element type"),
    ),
    (
        r"^A multiinstance task must specify a cardinality",
        gettext_noop(
            "the multi-instance activity says neither how many instances to run "
            "nor which collection to run over"
        ),
    ),
    (
        r"^A multiinstance task must specify exactly one",
        gettext_noop(
            "the multi-instance activity gives both a cardinality and a collection"
        ),
    ),
    (
        r"^Exactly one start event is required in a SubWorkflow Task; "
        r"found (?P<count>\d+)",
        gettext_noop("the sub-process needs exactly one start event, it has %(count)s"),
    ),
    (
        r"^A SubWorkflow Must contain an End event",
        gettext_noop("the sub-process has no end event"),
    ),
    (
        r"^Multiple outgoing flows are not supported",
        gettext_noop(
            "an activity or event may have only one outgoing flow; split the "
            "way with a gateway"
        ),
    ),
    (
        r"^Non-default exclusive outgoing sequence flow without condition",
        gettext_noop(
            "a flow leaving an exclusive or inclusive gateway needs a condition "
            "unless it is the gateway's default flow"
        ),
    ),
    (r"^No start event found", gettext_noop("the process has no start event")),
    (
        r"^Data Store with name (?P<name>.+) has no implementation",
        gettext_noop("the data store %(name)s is not supported"),
    ),
    (
        r"^Cannot resolve data(Input|Output)Association",
        gettext_noop("a data association cannot be resolved"),
    ),
    (
        r"^Process (?P<name>.+) is not executable",
        gettext_noop("the process %(name)s is not executable"),
    ),
    (r"^Duplicate process ID", gettext_noop("two processes have the same id")),
    (
        r'^No "calledElement" attribute',
        gettext_noop("the call activity does not name the process it calls"),
    ),
    (
        r"^A loopMaximum or loopCondition must be specified",
        gettext_noop("the loop needs a loopMaximum or a loopCondition"),
    ),
    (r"^Time Specification Error", gettext_noop("the timer value cannot be read")),
    (
        r"^Cancel Events may only be used with transactions",
        gettext_noop("cancel events may only be used on transactions"),
    ),
    (
        r"^Expected an? (?P<name>\w+) node",
        gettext_noop("the event refers to a %(name)s that the file does not define"),
    ),
    (
        r"^When looking for a task spec",
        gettext_noop("a sequence flow points to an element that does not exist"),
    ),
    (
        r"^The process '(?P<name>[^']+)' was not found",
        gettext_noop("the process %(name)s is not in this file"),
    ),
    (
        r"^Conditional event definition with missing condition",
        gettext_noop("the conditional event has no condition"),
    ),
    (
        r"^Unsupported Catch Event",
        gettext_noop("the boundary event has no event definition"),
    ),
)


def _engine_reason(message: str) -> str:
    for pattern, msgid in _ENGINE_MESSAGES:
        match = re.match(pattern, message.strip())
        if match:
            return gettext(msgid) % match.groupdict()
    return gettext("the engine refuses the process: %(detail)s") % {
        "detail": _clip(message, 200)
    }


def _dry_run(
    checker: _Checker,
    spec: BpmnProcessSpec | None,
    subprocess_specs: dict[str, BpmnProcessSpec],
) -> dict[str, list[str]]:
    """Start the process without handling any task and see where it stops."""
    if spec is None:
        return {}
    try:
        workflow = _new_workflow(spec, subprocess_specs, data={})
    except SpiffWorkflowException as exc:
        task = getattr(exc, "task", None)
        element = checker._by_id().get(task.task_spec.bpmn_id) if task else None
        checker._add(IssueCode.DRY_RUN, element, _dry_run_reason(exc))
        return {}
    except Exception as exc:
        # A bug of the engine must not let a file through.
        log.warning("process_dry_run_failed", error=type(exc).__name__)
        checker._add(IssueCode.DRY_RUN, checker.main, _dry_run_reason(exc))
        return {}

    workflow = _round_trip(checker, workflow)
    if workflow is None:
        return {}

    ready = [t.task_spec.bpmn_id for t in _ready_human_tasks(workflow)]
    waiting = [
        t.task_spec.bpmn_id or t.task_spec.name
        for t in workflow.get_tasks(state=TaskState.WAITING)
    ] + [t.task_spec.bpmn_id for t in _waiting_system_steps(workflow)]
    if ready:
        return {"ready": ready, "waiting": waiting}
    if workflow.completed:
        checker._add(
            IssueCode.ENDS_WITHOUT_TASKS,
            checker.main,
            gettext(
                "the process ends without running any task: started without any "
                "task being handled, it went straight from its start to its end "
                "and never offered one of its human tasks"
            ),
        )
    elif not waiting:
        checker._add(
            IssueCode.DRY_RUN,
            checker.main,
            gettext(
                "the process stops in the dry run with no task to handle and no "
                "event to wait for"
            ),
        )
    elif workflow_is_stuck(workflow):
        checker._add(
            IssueCode.DRY_RUN,
            checker.main,
            gettext(
                "the process stops in the dry run at %(element)s, waiting for "
                "something that no one in this system can report and that is "
                "not a timer"
            )
            % {"element": workflow_stopped_at(workflow)},
        )
    return {"ready": [], "waiting": waiting}


def _round_trip(checker: _Checker, workflow: BpmnWorkflow) -> BpmnWorkflow | None:
    """Save the dry run's state and read it back, as every case step does.

    A route whose state cannot be kept with its case would fail at the
    first case; refuse it here instead. Returns the restored workflow.
    """
    try:
        return workflow_restore(workflow_serialize(workflow))
    except Exception as exc:
        # Whatever the serializer trips on, the route cannot be kept.
        log.warning("process_state_not_saved", error=type(exc).__name__)
        checker._add(
            IssueCode.STATE,
            checker.main,
            gettext(
                "the state of the process cannot be saved with the case: %(detail)s"
            )
            % {"detail": _clip(str(exc), 200)},
        )
        return None


def _dry_run_reason(exc: Exception) -> str:
    detail = str(getattr(exc, "exception", None) or exc)
    missing = _UNDEFINED_NAME.search(detail)
    if missing:
        return gettext(
            "the dry run stops here: the expression uses the variable %(name)s, "
            "which no task has set when the case starts"
        ) % {"name": missing.group("name")}
    return gettext("the dry run stops here with an error: %(detail)s") % {
        "detail": _clip(detail, 200)
    }


def _new_workflow(
    spec: BpmnProcessSpec,
    subprocess_specs: dict[str, BpmnProcessSpec],
    *,
    data: dict[str, Any] | None,
) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=_script_engine())
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(data or {})
    workflow.do_engine_steps()

    # A message start event stands for the case being accepted.
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if (
            isinstance(task.task_spec, StartEvent)
            and isinstance(definition, MessageEventDefinition)
            and task.workflow is workflow
        ):
            workflow.catch(BpmnEvent(definition, payload=dict(data or {})))
            workflow.do_engine_steps()
            break
    return workflow


def _ready_human_tasks(workflow: BpmnWorkflow) -> list[Task]:
    return [
        task
        for task in workflow.get_tasks(state=TaskState.READY)
        if task.task_spec.manual
    ]


def _waiting_system_steps(workflow: BpmnWorkflow) -> list[Task]:
    # SpiffWorkflow leaves a plain service task STARTED: it runs nothing
    # itself and waits for the host to complete it.
    return [
        task
        for task in workflow.get_tasks(state=TaskState.STARTED)
        if isinstance(task.task_spec, ServiceTask)
    ]


# Storage ------------------------------------------------------------------


@transaction.atomic
def process_import(
    *,
    actor: Any,
    item: ServiceItem | None,
    xml: bytes,
    name: str = "",
    key: str = "",
) -> ReviewProcess:
    """Validate a BPMN file and keep it as the item's new active route.

    ``item`` None with a ``key`` imports a shipped template. Earlier versions
    stay, inactive, for the cases that started on them. Importing the same
    file as the active version changes nothing. On refusal nothing is kept.
    """
    if item is None and not key:
        raise ServiceError(
            gettext("A review route belongs to a service item or is a template."),
            field="item",
            code="required",
        )
    try:
        validated = process_validate(xml)
    except ProcessRefusedError as refusal:
        log.warning(
            "process_refused",
            item_code=item.implementation_code if item else key,
            codes=sorted({issue.code for issue in refusal.issues}),
        )
        raise

    if item is not None:
        ServiceItem.objects.select_for_update().get(pk=item.pk)
        scope = Q(item=item)
    else:
        scope = Q(item__isnull=True, key=key)
    current = (
        ReviewProcess.objects.select_for_update(of=("self",))
        .filter(scope, is_active=True)
        .order_by("-version")
        .first()
    )
    if current is not None and current.sha256 == validated.sha256:
        log.info("process_unchanged", review_process_id=current.pk)
        return current

    latest = ReviewProcess.objects.filter(scope).aggregate(v=Max("version"))["v"]
    ReviewProcess.objects.filter(scope, is_active=True).update(is_active=False)
    try:
        with transaction.atomic():
            process = ReviewProcess.objects.create(
                item=item,
                key=key,
                version=(latest or 0) + 1,
                process_id=validated.process_id,
                name=(name or validated.name)[:200],
                bpmn_xml=validated.text,
                sha256=validated.sha256,
                user_tasks=validated.user_tasks,
                warnings=validated.warnings,
                is_active=True,
                uploaded_by=actor if getattr(actor, "pk", None) else None,
            )
    except IntegrityError as exc:
        raise ServiceError(
            gettext(
                "Another import of a route for the same item ran at the same "
                "time; try again."
            ),
            field="bpmn_xml",
            code="conflict",
            status=409,
        ) from exc

    audit_record(
        actor=actor,
        action=ProcessAction.IMPORTED,
        target=process,
        before={"id": current.pk, "version": current.version} if current else None,
        after={
            "item": item.implementation_code if item else None,
            "key": key,
            "version": process.version,
            "process_id": process.process_id,
            "sha256": process.sha256,
            "user_tasks": [task["id"] for task in process.user_tasks],
            "warnings": process.warnings,
        },
        actor_label="" if getattr(actor, "pk", None) else "process-import",
    )

    log.info(
        "process_imported",
        review_process_id=process.pk,
        item_code=item.implementation_code if item else key,
        version=process.version,
        bpmn_process_id=process.process_id,
    )
    return process


def process_install_shipped(*, actor: Any = None) -> list[ReviewProcess]:
    """Import the route templates shipped in ``catalogue/bpmn/`` by file name,
    and the routes of the shipped items (``bpmn/items.json``).

    A template whose file did not change keeps its version. An item's
    shipped route is installed only while the item has no route of its own:
    a version an administrator uploaded is never replaced.
    """
    installed = [
        process_import(actor=actor, item=None, key=path.stem, xml=path.read_bytes())
        for path in sorted(SHIPPED_DIR.glob("*.bpmn"))
    ]
    assignments = json.loads(SHIPPED_ITEM_ROUTES.read_text(encoding="utf-8"))
    for code, stem in sorted(assignments.items()):
        if code.startswith("_"):
            continue
        item = ServiceItem.objects.filter(implementation_code=code).first()
        if item is None or item.review_processes.exists():
            continue
        path = SHIPPED_DIR / f"{stem}.bpmn"
        installed.append(process_import(actor=actor, item=item, xml=path.read_bytes()))
    return installed


def process_for_item(*, item: ServiceItem) -> ReviewProcess | None:
    """Return the route a new case of ``item`` starts on.

    The item's active route, else the active single-department template.
    """
    own = ReviewProcess.objects.filter(item=item, is_active=True).first()
    if own is not None:
        return own
    return ReviewProcess.objects.filter(
        item__isnull=True, key="single-department", is_active=True
    ).first()


# Running ------------------------------------------------------------------


def process_spec(
    process: ReviewProcess,
) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """Return the engine's specs of a stored route (main, called and inner)."""
    return _specs_for(process.sha256, process.bpmn_xml)


@lru_cache(maxsize=64)
def _specs_for(
    sha256: str, text: str
) -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    root = _parse(_xml_bytes(text))
    checker = _Checker(root)
    checker.run()
    if checker.issues:
        # The route passed these checks when it was imported; only a change
        # of the checks can bring this.
        raise ProcessRefusedError(checker.issues)
    spec, subprocess_specs = _engine_specs(checker)
    if spec is None:
        raise ProcessRefusedError(checker.issues)
    return spec, subprocess_specs


def _xml_bytes(text: str) -> bytes:
    # The stored text lost its original encoding; restate it as UTF-8.
    declaration = re.match(r"^\s*<\?xml[^>]*\?>", text)
    if declaration:
        text = '<?xml version="1.0" encoding="UTF-8"?>' + text[declaration.end() :]
    return text.encode("utf-8")


def workflow_start(
    *, process: ReviewProcess, data: dict[str, Any] | None = None
) -> BpmnWorkflow:
    """Start a route for a case and run it up to its first human tasks."""
    spec, subprocess_specs = process_spec(process)
    return _new_workflow(spec, subprocess_specs, data=data)


def workflow_open_tasks(workflow: BpmnWorkflow) -> list[OpenTask]:
    """List the human tasks someone can handle now, for the inboxes."""
    return [_open_task(task) for task in _ready_human_tasks(workflow)]


def workflow_system_steps(workflow: BpmnWorkflow) -> list[OpenTask]:
    """List the service tasks the route waits on for this system to do."""
    return [_open_task(task) for task in _waiting_system_steps(workflow)]


def workflow_waits(workflow: BpmnWorkflow) -> list[RouteWait]:
    """List the events the route waits for: reported ones and timers.

    An event-based gateway is one wait with a choice per event it waits
    for; its timers are waits of their own.
    """
    waits: list[RouteWait] = []
    catching = sorted(
        (
            task
            for task in workflow.event_manager.tasks.values()
            if task.state == TaskState.WAITING
        ),
        key=lambda task: task.task_spec.bpmn_id or task.task_spec.name,
    )
    for task in catching:
        spec = task.task_spec
        definition = spec.event_definition
        name = _element_name(spec)
        if isinstance(definition, MultipleEventDefinition):
            choices = []
            for index, each in enumerate(definition.event_definitions):
                target = spec.outputs[index] if index < len(spec.outputs) else spec
                if isinstance(each, TimerEventDefinition):
                    waits.append(_timer_wait(task, each, _element_name(target)))
                elif isinstance(each, REPORTED_EVENTS):
                    choices.append(
                        WaitChoice(
                            f"event_{index + 1}",
                            target.bpmn_id or "",
                            _element_name(target),
                        )
                    )
            if choices:
                waits.append(
                    RouteWait(task.id, spec.bpmn_id, name, WAIT_EVENT, tuple(choices))
                )
        elif isinstance(definition, TimerEventDefinition):
            waits.append(_timer_wait(task, definition, name))
        elif isinstance(definition, REPORTED_EVENTS):
            choice = WaitChoice("occurred", spec.bpmn_id, name)
            waits.append(RouteWait(task.id, spec.bpmn_id, name, WAIT_EVENT, (choice,)))
    return waits


def _element_name(spec: Any) -> str:
    return " ".join((spec.bpmn_name or spec.bpmn_id or spec.name).split())


def _timer_wait(task: Task, definition: TimerEventDefinition, name: str) -> RouteWait:
    spec = task.task_spec
    return RouteWait(
        task.id, spec.bpmn_id, name, WAIT_TIMER, due=_timer_due(task, definition)
    )


def _timer_due(task: Task, definition: TimerEventDefinition) -> datetime | None:
    """Return when the timer fires next, as the engine computed it."""
    value = definition.details(task).value
    if isinstance(value, dict):
        return None
    try:
        if isinstance(definition, TimeDateEventDefinition):
            due = TimerEventDefinition.parse_time_or_duration(value)
        else:
            due = TimerEventDefinition.get_datetime(value)
    except Exception:
        # Not computed yet, or a value the engine's parsers refuse.
        return None
    return due if isinstance(due, datetime) else None


def workflow_report_event(
    workflow: BpmnWorkflow, *, task_id: uuid.UUID, choice: str
) -> None:
    """Tell the route that the event it waits for at ``task_id`` happened.

    ``choice`` is the key of one of the wait's choices; for an event-based
    gateway, the event taken. The engine then runs on.
    """
    wait = next(
        (
            wait
            for wait in workflow_waits(workflow)
            if wait.id == task_id and wait.kind == WAIT_EVENT
        ),
        None,
    )
    keys = [each.key for each in wait.choices] if wait else []
    if wait is None or choice not in keys:
        raise ServiceError(
            gettext("This task cannot be handled now."),
            field="task",
            code="task_not_open",
            status=409,
        )
    task = workflow.get_task_from_id(task_id)
    definition = task.task_spec.event_definition
    if isinstance(definition, MultipleEventDefinition):
        # The key numbers the gateway's events, timers included.
        definition = definition.event_definitions[int(choice.split("_")[1]) - 1]
    # Deliver to this task only: another part of the route waiting for the
    # same message has not been told it came.
    event = BpmnEvent(definition, payload={})
    try:
        task.task_spec.catch(task, event)
        task.task_spec._update(task)
    except SpiffWorkflowException as exc:
        raise _engine_refusal(exc) from exc
    _engine_steps(workflow)


def workflow_refresh_timers(workflow: BpmnWorkflow) -> bool:
    """Fire the route's timers that are due and run on; True if any fired."""
    before = _engine_snapshot(workflow)
    try:
        workflow.refresh_timers()
    except SpiffWorkflowException as exc:
        raise _engine_refusal(exc) from exc
    _engine_steps(workflow)
    return _engine_snapshot(workflow) != before


def _engine_snapshot(workflow: BpmnWorkflow) -> dict[Any, Any]:
    return {task.id: task.state for task in workflow.get_tasks()}


def workflow_stopped_at(workflow: BpmnWorkflow) -> str:
    """Name the element a route stopped at when nothing can move it."""
    unfinished = [
        task
        for task in workflow.get_tasks(state=TaskState.WAITING | TaskState.STARTED)
        if task.task_spec.bpmn_id
    ]
    if not unfinished:
        unfinished = sorted(
            (
                task
                for task in workflow.get_tasks(state=TaskState.COMPLETED)
                if task.task_spec.bpmn_id
            ),
            key=lambda task: task.last_state_change,
            reverse=True,
        )
    if not unfinished:
        return workflow.spec.name
    spec = unfinished[0].task_spec
    return f"{_element_name(spec)} ({spec.bpmn_id})"


def workflow_is_stuck(workflow: BpmnWorkflow) -> bool:
    """Tell whether nothing can move the route on: no task, no wait, no timer."""
    if workflow.is_completed():
        return False
    return not (
        _ready_human_tasks(workflow)
        or _waiting_system_steps(workflow)
        or workflow_waits(workflow)
    )


def _open_task(task: Task) -> OpenTask:
    return OpenTask(
        id=task.id,
        bpmn_id=task.task_spec.bpmn_id,
        name=" ".join((task.task_spec.bpmn_name or task.task_spec.bpmn_id).split()),
        properties=_task_properties(task),
        lane=task.task_spec.lane or "",
    )


def task_answers(properties: dict[str, str]) -> tuple[str, ...]:
    """Return the answers a human task with ``properties`` may give.

    The ``answers`` property lists them (comma-separated); without it a
    co-department's review gives the four answers of a parallel round, a
    task setting ``decision`` approves or denies, a revision step reports
    the revision and any other task is done.
    """
    listed = properties.get("answers", "")
    if listed:
        return tuple(part.strip() for part in listed.split(",") if part.strip())
    variable = properties.get("outcome_variable", "")
    if properties.get("revision_for"):
        return REVISION_ANSWERS
    if not variable:
        return PLAIN_ANSWERS
    if variable == DECISION_VARIABLE:
        return DECISION_ANSWERS
    if properties.get("department_role") == "co":
        return REVIEW_ANSWERS
    return ("approved", "rejected")


def _task_properties(task: Task) -> dict[str, str]:
    extensions = getattr(task.task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}))


def workflow_complete_task(
    workflow: BpmnWorkflow,
    *,
    task_id: uuid.UUID,
    data: dict[str, Any] | None = None,
    outcome: str | None = None,
) -> None:
    """Complete an open human task or system step and run the engine on.

    ``outcome`` goes into the task's ``outcome_variable``, the variable the
    route's gateways read.
    """
    try:
        task = workflow.get_task_from_id(task_id)
    except TaskNotFoundException:
        task = None
    human = task is not None and task.state == TaskState.READY and task.task_spec.manual
    system = (
        task is not None
        and task.state == TaskState.STARTED
        and isinstance(task.task_spec, ServiceTask)
    )
    if not (human or system):
        raise ServiceError(
            gettext("This task cannot be handled now."),
            field="task",
            code="task_not_open",
            status=409,
        )
    values = dict(data or {})
    if outcome is not None:
        variable = _task_properties(task).get("outcome_variable")
        if not variable:
            raise ServiceError(
                gettext("This task takes no outcome."),
                field="outcome",
                code="no_outcome",
            )
        values[variable] = outcome

    task.set_data(**values)
    try:
        if human:
            task.run()
        else:
            task.complete()
    except SpiffWorkflowException as exc:
        raise _engine_refusal(exc) from exc
    _engine_steps(workflow)


def _engine_steps(workflow: BpmnWorkflow) -> None:
    """Run the engine on; an element it cannot pass refuses the step."""
    try:
        workflow.do_engine_steps()
    except SpiffWorkflowException as exc:
        raise _engine_refusal(exc) from exc


def _engine_refusal(exc: SpiffWorkflowException) -> ServiceError:
    """Say, in the user's language, where and why the route cannot go on.

    The calling service's transaction is rolled back and the engine's state
    as changed so far is never saved, so the case stays as it was.
    """
    task = getattr(exc, "task", None)
    spec = getattr(task, "task_spec", None)
    if spec is not None and getattr(spec, "bpmn_id", None):
        element = f"{_element_name(spec)} ({spec.bpmn_id})"
    else:
        element = gettext("the route")
    # The engine wraps the expression's own error (a NameError for a
    # variable nobody set) as the context of its exception.
    inner = getattr(exc, "exception", None) or exc.__cause__ or exc.__context__
    detail = str(exc)
    missing = _UNDEFINED_NAME.search(f"{inner} {detail}")
    if missing:
        reason = gettext(
            "the expression uses the variable %(name)s, which no task has set"
        ) % {"name": missing.group("name")}
    else:
        reason = _clip(detail, 200)
    log.warning("route_engine_refused", error=type(exc).__name__)
    return ServiceError(
        gettext("The route cannot go on at %(element)s: %(reason)s.")
        % {"element": element, "reason": reason},
        field="route",
        code="route_error",
        status=409,
    )


def workflow_serialize(workflow: BpmnWorkflow) -> str:
    """Write a running route's state as JSON, to keep with its case."""
    return _serializer().serialize_json(workflow)


def workflow_restore(state: str) -> BpmnWorkflow:
    """Read a route's state back, with the safe expression engine."""
    serializer = _serializer()
    dct = json.loads(state, cls=serializer.json_decoder_cls)
    serializer.migrate(dct)
    _parents_first(dct)
    for subprocess in dct.get("subprocesses", {}).values():
        _parents_first(subprocess)
    workflow = serializer.from_dict(dct)
    workflow.script_engine = _script_engine()
    return workflow


def _parents_first(workflow_dict: dict[str, Any]) -> None:
    """Put each task of a stored workflow after its parent.

    SpiffWorkflow stores a task's data as the change from its parent's and
    restores it only when the parent was restored before it, in the order of
    the stored mapping: PostgreSQL's jsonb keeps object keys sorted, not in
    the order written, and the data set by earlier steps would be lost.
    """
    tasks = workflow_dict.get("tasks")
    root = workflow_dict.get("root")
    if not tasks or root not in tasks:
        return
    ordered: dict[str, Any] = {}
    pending = [root]
    while pending:
        task_id = pending.pop()
        entry = tasks.get(task_id)
        if entry is None or task_id in ordered:
            continue
        ordered[task_id] = entry
        pending.extend(reversed(entry.get("children") or []))
    for task_id, entry in tasks.items():
        ordered.setdefault(task_id, entry)
    workflow_dict["tasks"] = ordered

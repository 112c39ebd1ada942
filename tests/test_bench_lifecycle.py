"""The HTTP benchmark's client follows a route it does not know in advance.

``bench/lifecycle_http.py`` is timed by hand, never here; this runs its
client logic once through the real API (Django's test client standing in
for the HTTP connection) on the item's own route and on the shipped BPMN
route with two co-department reviews in parallel, and checks how it picks
who completes a task and with which answer.
"""

import json
from collections import defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client as DjangoClient

from bench.lifecycle_http import (
    LifecycleError,
    Recorder,
    Setup,
    Staff,
    accounts_prepare,
    lifecycle,
    task_actor,
    task_outcome,
)
from smartapproval.accounts.services import department_ensure
from smartapproval.cases import routes
from smartapproval.cases.models import (
    Case,
    CaseMaterial,
    CaseStatus,
    Task,
    TaskStatus,
)
from smartapproval.catalogue.management.commands.import_catalogue import SHIPPED_DATA
from smartapproval.catalogue.models import MaterialRequirement, ServiceItem
from smartapproval.catalogue.processes import SHIPPED_DIR, process_import
from smartapproval.hall.management.commands.seed_demo import FEASIBILITY_DEPARTMENT

CO_DEPARTMENTS = ("城市规划行政主管部门", "自然资源行政主管部门")


class ApiClient:
    """The benchmark's client over Django's test client instead of a socket."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.client = DjangoClient()

    def request(
        self, kind, method, path, *, token=None, body=None, headers=None, expect=(200,)
    ) -> dict:
        headers = dict(headers or {})
        content_type = headers.pop("Content-Type", "application/octet-stream")
        if token:
            headers["Authorization"] = f"Token {token}"
        response = self.client.generic(
            method, path, data=body or b"", content_type=content_type, headers=headers
        )
        self.recorder.add(kind, 0.0)
        if response.status_code not in expect:
            raise LifecycleError(
                f"{kind} {path}: {response.status_code} {response.content[:300]!r}"
            )
        return response.json()

    def post_json(self, kind, path, token, payload) -> dict:
        return self.request(
            kind,
            "POST",
            path,
            token=token,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )


@pytest.fixture
def world(db, settings, tmp_path):
    """The shipped feasibility item, the calendar and the demo accounts."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_calendar", stdout=StringIO())
    call_command(
        "import_catalogue",
        str(SHIPPED_DATA / "feasibility-study-approval.json"),
        stdout=StringIO(),
        stderr=StringIO(),
    )
    call_command("seed_demo", stdout=StringIO())
    return ServiceItem.objects.get(department__name=FEASIBILITY_DEPARTMENT)


@pytest.fixture
def parallel_route(world):
    """The item on the shipped BPMN route while the test lasts."""
    for n, name in enumerate(CO_DEPARTMENTS):
        department_ensure(actor=None, name=name, code=f"11450721MB000{n}")
    process_import(
        actor=None,
        item=world,
        xml=(SHIPPED_DIR / "feasibility-parallel.bpmn").read_bytes(),
    )
    routes.assign_route(implementation_code=world.implementation_code, key="bpmn")
    yield
    routes._ITEM_ROUTES.pop(world.implementation_code, None)


def run_cases(item: ServiceItem, count: int) -> Recorder:
    setup = accounts_prepare(item=item.pk, applicants=2, reviewers_per_department=3)
    recorder = Recorder()
    client = ApiClient(recorder)
    for n in range(count):
        lifecycle(client, setup, n)
    return recorder


def test_cases_run_to_the_end_on_the_items_route(world):
    recorder = run_cases(world, 2)

    assert set(Case.objects.values_list("status", flat=True)) == {CaseStatus.CLOSED}
    assert not Task.objects.filter(status=TaskStatus.OPEN).exists()
    done = Task.objects.filter(status=TaskStatus.DONE)
    assert len(recorder.latencies["task_complete"]) == done.count() >= 6
    for case in Case.objects.all():
        nodes_by_hand = defaultdict(set)
        for node, hand in case.tasks.values_list("node_key", "completed_by_id"):
            nodes_by_hand[hand].add(node)
        # Separation of duties: nobody completed two nodes of one case.
        assert all(len(nodes) == 1 for nodes in nodes_by_hand.values())
    assert len(recorder.latencies["close"]) == 2
    # A complete application: a file for each required material.
    required = MaterialRequirement.objects.filter(item=world, required=True)
    assert required.exists()
    assert CaseMaterial.objects.count() == 2 * required.count()


def test_cases_run_to_the_end_with_parallel_co_department_reviews(
    world, parallel_route
):
    run_cases(world, 1)

    case = Case.objects.get()
    assert case.status == CaseStatus.CLOSED
    departments = set(case.tasks.values_list("department__name", flat=True))
    assert set(CO_DEPARTMENTS) <= departments
    assert not case.tasks.filter(status=TaskStatus.OPEN).exists()


def staff(*names: str) -> list[Staff]:
    return [Staff(name, f"token-{name}") for name in names]


SETUP = Setup(
    item=1,
    applicants=["a"],
    reviewers={"牵头部门": staff("lead1", "lead2"), "7": staff("co1")},
    clerks={},
)


@pytest.mark.parametrize(
    ("answers", "outcome"),
    [
        (None, "approve"),
        ([], "approve"),
        (["approved", "approved_with_conditions", "revision_required"], "approved"),
        (["approve", "deny", "return"], "approve"),
        (["denied", "another_round", "approved"], "approved"),
        (["done"], "done"),
        ([{"value": "done", "label": "办理完成"}], "done"),
        (
            [{"value": "rejected", "label": "不同意"}, {"value": "approved"}],
            "approved",
        ),
    ],
)
def test_outcome_is_the_first_approving_answer_offered(answers, outcome):
    task = {"name": "审查"} if answers is None else {"name": "审查", "answers": answers}

    assert task_outcome(task) == outcome


def test_a_task_without_an_approving_answer_is_a_failure_not_a_guess():
    with pytest.raises(LifecycleError):
        task_outcome({"name": "审查", "answers": ["rejected", "denied"]})


def test_actor_is_free_of_other_nodes_of_the_case():
    task = {"id": 3, "node_key": "decision", "department": "牵头部门"}

    assert task_actor(task, SETUP, {}).username == "lead1"
    assert task_actor(task, SETUP, {"preliminary": {"lead1"}}).username == "lead2"
    # The same node again (after a return) is the same person's.
    assert task_actor(task, SETUP, {"decision": {"lead1"}}).username == "lead1"
    with pytest.raises(LifecycleError):
        task_actor(task, SETUP, {"preliminary": {"lead1"}, "check": {"lead2"}})


@pytest.mark.parametrize("department", ["7", 7, {"id": 7, "name": "规划"}])
def test_department_is_found_by_name_or_id(department):
    task = {"id": 4, "node_key": "planning", "department": department}

    assert task_actor(task, SETUP, {}).username == "co1"

"""Lifecycle throughput over HTTP, against a bare view in the same run.

Prepares a benchmark database as ``serve`` does (migrate, cache table,
static files, calendar, the shipped catalogue, demo accounts), adds N
applicant accounts and enough reviewers in every department, each with an
API token, then starts gunicorn with ``serve``'s own command line (its
workers, threads and timeouts; ``bench.settings_bench`` adds the bare view
to the same workers) on a free loopback port. For each client count it
measures, with that many concurrent clients on keep-alive connections:

- **bare**: ``POST /bench/bare/``, one INSERT in one transaction, before and
  after the lifecycle phase (the faster run counts);
- **lifecycle**: per case, through the REST API: submit (applicant,
  multipart with a PDF for each required material and an Idempotency-Key)
  → accept (clerk) → every
  open task the case detail lists, until none is left → issue_result →
  close (clerk). The client follows the route generically: each open task
  is completed by a member of staff of the task's department who has not
  completed another node of this case (separation of duties), with the
  first of "approved", "approve", "done" that the task's ``answers`` offer
  ("approve" when it lists none). Reading the case detail between steps is
  a GET, counted apart from the writes. So the sequential route of today
  (审查 → 审核 → 审批) and a BPMN route with parallel co-department reviews
  run without a change here.

It prints, per client count, complete cases per second, the mean and p95
latency of each kind of write, the ratio of the mean write to the mean bare
request, the load average, and at the end the peak RSS (VmHWM) of every
gunicorn worker; then it stops the server.

    .venv/bin/python bench/lifecycle_http.py [--clients 4,8,16] [--cases 200]
        [--database-url postgres://postgres@127.0.0.1:5432/sa_bench_http]
        [--profile sql|cprofile] [--json var/bench/http/figures.json]

SQLite: ``var/bench/http/lifecycle.sqlite3``, recreated on every run.
PostgreSQL: the database named in the URL (``sa_bench*`` only) is dropped
and created again, and dropped at the end unless ``--keep``.
"""

import argparse
import http.client
import json
import os
import pstats
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BENCH_VAR_DIR,
    database_label,
    sqlite_path,
)

HTTP_DIR = BENCH_VAR_DIR / "http"
DEFAULT_DATABASE_URL = f"sqlite:///{HTTP_DIR / 'lifecycle.sqlite3'}"
SETTINGS = "bench.settings_bench"
ROOT = Path(__file__).resolve().parent.parent
# A minimal PDF: the upload check looks at the extension and the signature.
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WRITES = ("submit", "accept", "task_complete", "issue_result", "close")
# The outcome a bench reviewer picks from a task's answers, best first; a task
# that lists no answers (the sequential route of today) takes the default.
OUTCOME_PREFERENCE = ("approved", "approve", "done")
DEFAULT_OUTCOME = "approve"
# Rounds of "read the case, complete its open tasks" before a case counts as
# stuck: a route that loops is a failure, not an endless benchmark.
MAX_STEPS = 20
# Set on Ctrl-C: every client stops after its current case.
stopping = threading.Event()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--clients",
        default="4,8,16",
        help="concurrent clients, one run per comma-separated count",
    )
    parser.add_argument("--cases", type=int, default=200, help="cases per run")
    parser.add_argument("--bare-requests", type=int, default=1000, help="per bare run")
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", 3)),
        help="gunicorn workers (serve reads WEB_CONCURRENCY, default 3)",
    )
    parser.add_argument(
        "--threads", type=int, help="override serve's --threads (experiments)"
    )
    parser.add_argument(
        "--conn-max-age", type=int, help="override CONN_MAX_AGE (experiments)"
    )
    parser.add_argument(
        "--sqlite-synchronous",
        choices=("OFF", "NORMAL", "FULL", "EXTRA"),
        help="override PRAGMA synchronous (experiments)",
    )
    parser.add_argument("--applicants", type=int, default=20)
    parser.add_argument(
        "--reviewers-per-department",
        type=int,
        default=3,
        help="bench reviewers added where a department has fewer",
    )
    parser.add_argument(
        "--timeout", type=float, default=600, help="seconds for each phase"
    )
    parser.add_argument(
        "--profile",
        choices=("sql", "cprofile"),
        help="time requests and SQL inside the workers (bench/profiling.py)",
    )
    parser.add_argument("--keep", action="store_true", help="keep a PostgreSQL db")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)
    args.clients = [int(count) for count in str(args.clients).split(",") if count]
    return args


# -- the database -------------------------------------------------------------


def pg_admin(url: str, sql: str) -> None:
    """Run one statement on the server's ``postgres`` database."""
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql)


def reset_database(url: str) -> None:
    path = sqlite_path(url)
    if path is not None:
        if path.resolve().parent != HTTP_DIR.resolve():
            sys.exit(f"refusing a SQLite file outside {HTTP_DIR}: {path}")
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    name = urlsplit(url).path.lstrip("/")
    if not name.startswith("sa_bench"):
        sys.exit(f"refusing to drop a database not named sa_bench*: {name}")
    pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    pg_admin(url, f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    if sqlite_path(url) is None:
        name = urlsplit(url).path.lstrip("/")
        pg_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Staff:
    """A member of staff the clients act as."""

    username: str
    token: str


@dataclass
class Setup:
    """What the clients need: the item, and whom to act as.

    ``reviewers`` and ``clerks`` map a department, by name and by id (as
    text), to its staff who may complete tasks, and to its window clerks.
    ``materials`` are the item's required materials: a submission carries
    a PDF for each, as a complete application does.
    """

    item: int
    applicants: list[str]
    reviewers: dict[str, list[Staff]]
    clerks: dict[str, list[Staff]]
    materials: list[int] = field(default_factory=list)


def prepare(*, applicants: int, reviewers_per_department: int) -> Setup:
    """Fill the bench database as ``serve`` would, plus accounts and tokens."""
    import django
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from smartapproval.catalogue.models import ItemStatus, ServiceItem
    from smartapproval.hall.management.commands.seed_demo import (
        FEASIBILITY_DEPARTMENT,
    )

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    call_command("seed_calendar", verbosity=0)
    catalogue = Path(apps.get_app_config("catalogue").path) / "data"
    call_command("import_catalogue", str(catalogue), verbosity=0)
    call_command("seed_demo", verbosity=0)

    item = ServiceItem.objects.get(
        department__name=FEASIBILITY_DEPARTMENT, status=ItemStatus.PUBLISHED
    )
    setup = accounts_prepare(
        item=item.pk,
        applicants=applicants,
        reviewers_per_department=reviewers_per_department,
    )
    connections.close_all()
    return setup


def accounts_prepare(
    *, item: int, applicants: int, reviewers_per_department: int
) -> Setup:
    """Create the bench accounts and a token for every account the clients use.

    Every department gets reviewers up to ``reviewers_per_department`` (bench
    accounts without a password: they sign in with their token only), so a
    route may send a task to any department and separation of duties still
    leaves someone to complete it. Who may complete a task is read from the
    product's role table, not assumed here.
    """
    from rest_framework.authtoken.models import Token

    from smartapproval.accounts.models import Department, Role, User
    from smartapproval.cases.models import CaseAction
    from smartapproval.cases.transitions import role_may
    from smartapproval.catalogue.models import MaterialRequirement

    completing = [
        role for role in Role.values if role_may(role, CaseAction.COMPLETE_TASK)
    ]
    for department in Department.objects.order_by("pk"):
        have = User.objects.filter(
            department=department, role__in=completing, is_active=True
        ).count()
        for n in range(have, reviewers_per_department):
            user = User(
                username=f"bench-reviewer-{department.pk}-{n}",
                name=f"压测审查员{department.pk}-{n}",
                role=completing[0],
                department=department,
            )
            user.set_unusable_password()
            user.save()

    reviewers: dict[str, list[Staff]] = defaultdict(list)
    clerks: dict[str, list[Staff]] = defaultdict(list)
    staff = (
        User.objects.filter(
            department__isnull=False,
            is_active=True,
            role__in=[*completing, Role.CLERK],
        )
        .select_related("department")
        .order_by("department_id", "pk")
    )
    for user in staff:
        member = Staff(user.username, Token.objects.get_or_create(user=user)[0].key)
        target = reviewers if user.role in completing else clerks
        for key in (user.department.name, str(user.department_id)):
            target[key].append(member)

    applicant_tokens = []
    for n in range(applicants):
        user = User.objects.create(
            username=f"bench-applicant-{n}",
            name=f"申请人{n}",
            role=Role.APPLICANT,
            applicant_kind="enterprise",
            phone="0777-6000001",
        )
        applicant_tokens.append(Token.objects.create(user=user).key)

    materials = MaterialRequirement.objects.filter(item_id=item, required=True)
    return Setup(
        item=item,
        applicants=applicant_tokens,
        reviewers=dict(reviewers),
        clerks=dict(clerks),
        materials=list(materials.order_by("order", "pk").values_list("pk", flat=True)),
    )


# -- the server ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_argv(port: int, workers: int, threads: int | None) -> list[str]:
    """Return ``serve``'s gunicorn command line, the threads overridden if asked."""
    from smartapproval.core.management.commands.serve import child_processes

    children = child_processes(
        host="127.0.0.1", port=port, workers=workers, access_log=False
    )
    argv = next(child.argv for child in children if child.name == "web")
    if threads is not None:
        argv = [arg for arg in argv if not arg.startswith("--threads=")]
        argv.append(f"--threads={threads}")
    return argv


def start_server(argv: list[str], env: dict[str, str], log_path: Path):
    log = log_path.open("wb")
    process = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    port = int(next(a for a in argv if a.startswith("--bind=")).rsplit(":", 1)[1])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn exited with {process.returncode}; see {log_path}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    stop_server(process)
    sys.exit("gunicorn did not listen within 60 s")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """Return the user and system CPU time ``pid`` has used, in seconds."""
    # /proc/<pid>/stat: the name in parentheses may hold spaces; utime and
    # stime are the 12th and 13th fields after it.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def server_cpu_seconds(master: int) -> float:
    """Return the CPU time of every gunicorn worker so far."""
    return sum(cpu_seconds(pid) for pid in worker_pids(master))


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- the clients --------------------------------------------------------------


class LifecycleError(Exception):
    """A step of a case answered otherwise than the lifecycle expects."""


@dataclass
class Recorder:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies[kind].append(seconds)


class Client:
    """One keep-alive connection, as one browser or API client would hold."""

    def __init__(self, port: int, recorder: Recorder):
        self.port = port
        self.recorder = recorder
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(
        self,
        kind: str,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: bytes | None = None,
        headers: dict | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> dict:
        headers = dict(headers or {})
        if token:
            headers["Authorization"] = f"Token {token}"
        begin = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            raise
        self.recorder.add(kind, time.perf_counter() - begin)
        if response.status not in expect:
            raise LifecycleError(f"{kind} {path}: {response.status} {data[:300]!r}")
        return json.loads(data) if data else {}

    def post_json(self, kind: str, path: str, token: str, payload: dict) -> dict:
        return self.request(
            kind,
            "POST",
            path,
            token=token,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )


def multipart(
    fields: dict[str, str], files: dict[str, tuple[str, bytes]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, (filename, content) in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def bench_uscc(n: int) -> str:
    """A made-up credit code (region 450721) that passes every check."""
    from smartapproval.core.codes import organisation_check_char, uscc_check_char

    organisation = f"MB{n:06d}"
    body = "91450721" + organisation + organisation_check_char(organisation)
    return body + uscc_check_char(body)


def applicant_payload(account: int) -> dict:
    """The enterprise of applicant account ``account``: its own code."""
    return {
        "kind": "enterprise",
        "name": f"灵山县压测建设有限公司{account}",
        "code": bench_uscc(account),
        "contact_phone": "0777-6000001",
        "contact_name": "李建国",
        "legal_representative": "李建国",
    }


def department_key(department) -> str:
    """Name a task's or case's department as ``Setup`` keys it.

    Today's API gives the department's name; an id or an object with ``id``
    or ``name`` works too.
    """
    if isinstance(department, dict):
        department = department.get("id", department.get("name"))
    return str(department)


def open_tasks(detail: dict) -> list[dict]:
    return [task for task in detail.get("tasks", []) if task["status"] == "open"]


def task_outcome(task: dict) -> str:
    """Pick the approving outcome the task accepts.

    ``answers`` lists values, or objects with a ``value`` (and a label).
    """
    answers = [
        answer.get("value") if isinstance(answer, dict) else answer
        for answer in task.get("answers") or []
    ]
    if not answers:
        return DEFAULT_OUTCOME
    for outcome in OUTCOME_PREFERENCE:
        if outcome in answers:
            return outcome
    raise LifecycleError(
        f"task {task.get('name')!r} offers none of {OUTCOME_PREFERENCE}: {answers}"
    )


def task_actor(task: dict, setup: Setup, done_by: dict[str, set[str]]) -> Staff:
    """Pick a member of the task's department free to complete it.

    ``done_by`` maps each node of the case to who completed it: whoever
    completed another node may not take this one (separation of duties);
    the same node again, after a return, is theirs.
    """
    key = department_key(task.get("department"))
    node = str(task.get("node_key") or task["id"])
    excluded = {
        username
        for other, usernames in done_by.items()
        if other != node
        for username in usernames
    }
    for member in setup.reviewers.get(key, []):
        if member.username not in excluded:
            return member
    raise LifecycleError(
        f"no reviewer of department {key!r} is free for task {task.get('name')!r}"
    )


def lifecycle(client: Client, setup: Setup, n: int) -> None:
    """One case from submission to closing, every step over HTTP."""
    account = n % len(setup.applicants)
    files = {
        f"material_{requirement}": (f"材料{requirement}.pdf", PDF)
        for requirement in setup.materials
    } or {"material": ("可行性研究报告.pdf", PDF)}
    body, content_type = multipart(
        {
            "item": str(setup.item),
            "applicant": json.dumps(applicant_payload(account)),
            "form_data": json.dumps({"project": f"压测项目{n}"}),
        },
        files,
    )
    case = client.request(
        "submit",
        "POST",
        "/api/v1/cases/",
        token=setup.applicants[account],
        body=body,
        headers={"Content-Type": content_type, "Idempotency-Key": uuid.uuid4().hex},
        expect=(201,),
    )
    number = case["number"]
    url = f"/api/v1/cases/{number}/"
    clerks = setup.clerks.get(department_key(case["department"]))
    if not clerks:
        raise LifecycleError(f"no clerk prepared for {case['department']!r}")
    clerk = clerks[0].token

    detail = client.post_json("accept", url + "accept/", clerk, {})
    done_by: dict[str, set[str]] = defaultdict(set)
    for _step in range(MAX_STEPS):
        tasks = open_tasks(detail)
        if not tasks:
            break
        # Parallel branches are all open at once: complete each, then read
        # the case again for what the route opened next.
        for task in tasks:
            member = task_actor(task, setup, done_by)
            client.post_json(
                "task_complete",
                f"/api/v1/tasks/{task['id']}/complete/",
                member.token,
                {"outcome": task_outcome(task), "opinion": "同意"},
            )
            done_by[str(task.get("node_key") or task["id"])].add(member.username)
        detail = client.request("read_detail", "GET", url, token=clerk)
    else:
        raise LifecycleError(f"{number} still has open tasks after {MAX_STEPS} rounds")
    if detail["status"] != "decided":
        raise LifecycleError(f"{number} has no open task but is {detail['status']}")

    client.post_json("issue_result", url + "issue_result/", clerk, {"note": ""})
    closed = client.post_json("close", url + "close/", clerk, {"note": "办结"})
    if closed["status"] != "closed":
        raise LifecycleError(f"{number} ended as {closed['status']}")


def bare(client: Client, setup: Setup, n: int) -> None:
    body = f"note=row{n}".encode()
    client.request(
        "bare",
        "POST",
        "/bench/bare/",
        body=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        expect=(201,),
    )


@dataclass
class Phase:
    """What one phase measured.

    ``server_cpu`` is the CPU time the gunicorn workers used during the
    phase, ``client_cpu`` the benchmark's own (its clients share the
    machine's cores with the server).
    """

    recorder: Recorder
    seconds: float
    done: int
    failures: list[str]
    load: tuple[float, float]  # 1-minute load average at start and end
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    def latencies(self, kind: str) -> list[float]:
        return self.recorder.latencies.get(kind, [])


def run_phase(
    job: Callable[[Client, Setup, int], None],
    count: int,
    clients: int,
    port: int,
    setup: Setup,
    timeout: float,
    master: int | None = None,
) -> Phase:
    """Run ``count`` jobs on ``clients`` threads; return timings and failures."""
    recorder = Recorder()
    counter = iter(range(count))
    lock = threading.Lock()
    failures: list[str] = []
    done = [0]
    deadline = time.monotonic() + timeout

    def worker() -> None:
        client = Client(port, recorder)
        while time.monotonic() < deadline and not stopping.is_set():
            with lock:
                n = next(counter, None)
            if n is None:
                return
            try:
                job(client, setup, n)
            except (
                LifecycleError,
                OSError,
                http.client.HTTPException,
                KeyError,
            ) as exc:
                with lock:
                    failures.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                done[0] += 1

    load_before = os.getloadavg()[0]
    server_before = server_cpu_seconds(master) if master else 0.0
    client_before = time.process_time()
    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        try:
            for future in [pool.submit(worker) for _ in range(clients)]:
                future.result()
        except KeyboardInterrupt:
            # Ctrl-C: the clients finish the case at hand, then the server
            # is stopped (main's finally).
            stopping.set()
            raise
    seconds = time.perf_counter() - begin
    return Phase(
        recorder,
        seconds,
        done[0],
        failures,
        (load_before, os.getloadavg()[0]),
        server_cpu=(server_cpu_seconds(master) - server_before) if master else 0.0,
        client_cpu=time.process_time() - client_before,
    )


def mean_ms(values: list[float]) -> float:
    return statistics.fmean(values) * 1000 if values else float("nan")


def p95_ms(values: list[float]) -> float:
    if len(values) < 2:
        return mean_ms(values)
    return statistics.quantiles(values, n=20)[-1] * 1000


def run_clients(clients: int, args, port: int, setup: Setup, master: int) -> dict:
    """Bare, lifecycle, bare with ``clients`` clients; return the figures."""
    timeout = args.timeout
    bare_before = run_phase(
        bare, args.bare_requests, clients, port, setup, timeout, master
    )
    life = run_phase(lifecycle, args.cases, clients, port, setup, timeout, master)
    bare_after = run_phase(
        bare, args.bare_requests, clients, port, setup, timeout, master
    )

    bare_runs = [bare_before, bare_after]
    best = min(bare_runs, key=lambda phase: mean_ms(phase.latencies("bare")))
    bare_mean = mean_ms(best.latencies("bare"))
    writes = [s for kind in WRITES for s in life.latencies(kind)]
    kinds = [kind for kind in (*WRITES, "read_detail") if life.latencies(kind)]
    return {
        "clients": clients,
        "ratio": round(mean_ms(writes) / bare_mean, 2),
        "cases": life.done,
        "failures": len(life.failures),
        "failure_examples": life.failures[:5],
        "seconds": round(life.seconds, 2),
        "cases_per_s": round(life.done / life.seconds, 2),
        "write_requests": len(writes),
        "write_mean_ms": round(mean_ms(writes), 1),
        "write_p95_ms": round(p95_ms(writes), 1),
        "per_kind": {
            kind: {
                "n": len(life.latencies(kind)),
                "mean_ms": round(mean_ms(life.latencies(kind)), 1),
                "p95_ms": round(p95_ms(life.latencies(kind)), 1),
            }
            for kind in kinds
        },
        "bare_mean_ms": round(bare_mean, 2),
        "bare_p95_ms": round(p95_ms(best.latencies("bare")), 2),
        "bare_per_s": round(best.done / best.seconds, 1),
        "bare_means_ms": [round(mean_ms(p.latencies("bare")), 2) for p in bare_runs],
        "bare_failures": sum(len(p.failures) for p in bare_runs),
        # CPU per complete case and per bare request: what the figures above
        # cost the machine, less sensitive to other work than the seconds.
        "server_cpu_ms_per_case": round(life.server_cpu / max(life.done, 1) * 1000, 1),
        "client_cpu_ms_per_case": round(life.client_cpu / max(life.done, 1) * 1000, 1),
        "server_cpu_ms_per_bare": round(best.server_cpu / max(best.done, 1) * 1000, 2),
        "server_cpu_share": round(
            life.server_cpu / life.seconds / (os.cpu_count() or 1), 2
        ),
        "load": [round(bare_before.load[0], 2), round(bare_after.load[1], 2)],
    }


def print_run(run: dict) -> None:
    print(
        f"\n{run['clients']} clients: ratio {run['ratio']}x (mean write "
        f"{run['write_mean_ms']} ms / bare {run['bare_mean_ms']} ms), "
        f"{run['cases_per_s']} cases/s ({run['cases']} cases in {run['seconds']} s, "
        f"{run['failures']} failed), load {run['load'][0]}→{run['load'][1]}",
        flush=True,
    )
    print(f"  {'kind':<14}{'n':>6}{'mean ms':>10}{'p95 ms':>10}{'× bare':>8}")
    for kind, figures in run["per_kind"].items():
        print(
            f"  {kind:<14}{figures['n']:>6}{figures['mean_ms']:>10}"
            f"{figures['p95_ms']:>10}{figures['mean_ms'] / run['bare_mean_ms']:>8.1f}"
        )
    print(
        f"  {'all writes':<14}{run['write_requests']:>6}{run['write_mean_ms']:>10}"
        f"{run['write_p95_ms']:>10}{run['ratio']:>8.1f}"
    )
    print(
        f"  {'bare':<14}{'':>6}{run['bare_mean_ms']:>10}{run['bare_p95_ms']:>10}"
        f"{1:>8.1f}  ({run['bare_per_s']} req/s; runs {run['bare_means_ms']} ms)"
    )
    print(
        f"  server CPU {run['server_cpu_ms_per_case']} ms per case "
        f"({run['server_cpu_share']:.0%} of the cores), bare "
        f"{run['server_cpu_ms_per_bare']} ms per request; "
        f"client CPU {run['client_cpu_ms_per_case']} ms per case"
    )
    for failure in run["failure_examples"]:
        print("  failure:", failure)


# -- the profile --------------------------------------------------------------


def profile_report(directory: Path, top: int = 25) -> dict:
    """Add up what every worker's profiling middleware wrote; print it."""
    requests: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    sql: dict[str, dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0.0])
    )
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        for kind, (count, seconds, cpu) in data["requests"].items():
            requests[kind][0] += count
            requests[kind][1] += seconds
            requests[kind][2] += cpu
        for kind, verbs in data["sql"].items():
            for verb, (count, seconds) in verbs.items():
                sql[kind][verb][0] += count
                sql[kind][verb][1] += seconds

    report = {}
    print("\nInside the workers, per request (ms; statements per request):")
    for kind, (count, seconds, cpu) in sorted(requests.items()):
        verbs = sql.get(kind, {})
        in_sql = sum(spent for verb, (_n, spent) in verbs.items() if verb != "HELD")
        per = {
            verb: (round(n / count, 1), round(spent / count * 1000, 2))
            for verb, (n, spent) in sorted(verbs.items(), key=lambda v: -v[1][1])
        }
        report[kind] = {
            "n": count,
            "mean_ms": round(seconds / count * 1000, 2),
            "cpu_ms": round(cpu / count * 1000, 2),
            "sql_ms": round(in_sql / count * 1000, 2),
            "sql": per,
        }
        print(
            f"  {kind}: n={count} mean {seconds / count * 1000:.1f}, "
            f"CPU {cpu / count * 1000:.1f}, in SQL {in_sql / count * 1000:.1f}, "
            f"outside SQL {(seconds - in_sql) / count * 1000:.1f}"
        )
        print(
            "    " + ", ".join(f"{verb} {n}× {ms} ms" for verb, (n, ms) in per.items())
        )

    merged: dict[str, pstats.Stats] = {}
    for path in sorted(directory.glob("*-*.pstats")):
        kind = path.stem.split("-", 1)[1]
        if kind in merged:
            merged[kind].add(str(path))
        else:
            merged[kind] = pstats.Stats(str(path))
    for kind, stats in merged.items():
        target = directory / f"all-{kind}.pstats"
        stats.dump_stats(target)
        print(f"\ncProfile of {kind} (merged: {target}), by cumulative time:")
        stats.sort_stats("cumulative").print_stats(top)
    return report


# -- the run ------------------------------------------------------------------


def main() -> None:
    args = parse_args()
    url = args.database_url
    if sqlite_path(url) is None and not url.startswith("postgres"):
        sys.exit("give a sqlite:/// or postgres:// URL")
    HTTP_DIR.mkdir(parents=True, exist_ok=True)
    media = HTTP_DIR / "media"
    shutil.rmtree(media, ignore_errors=True)
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE=SETTINGS,
        MEDIA_ROOT=str(media),
        STATIC_ROOT=str(HTTP_DIR / "static"),
    )
    # The server logs as production does (INFO unless LOG_LEVEL says
    # otherwise, into gunicorn.log); the preparation here stays quiet.
    server_log_level = os.environ.get("LOG_LEVEL", "INFO")
    os.environ["LOG_LEVEL"] = "WARNING"
    began = time.perf_counter()
    started = datetime.now().astimezone()
    print(f"database: {database_label(url)}", flush=True)
    reset_database(url)
    setup = prepare(
        applicants=args.applicants,
        reviewers_per_department=args.reviewers_per_department,
    )
    print(f"prepared in {time.perf_counter() - began:.1f} s", flush=True)

    port = free_port()
    argv = server_argv(port, args.workers, args.threads)
    env = {**os.environ, "LOG_LEVEL": server_log_level}
    env["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), env.get("PYTHONPATH")])
    )
    if args.conn_max_age is not None:
        env["BENCH_CONN_MAX_AGE"] = str(args.conn_max_age)
    if args.sqlite_synchronous:
        env["BENCH_SQLITE_SYNCHRONOUS"] = args.sqlite_synchronous
    profile_dir = HTTP_DIR / "profile"
    if args.profile:
        shutil.rmtree(profile_dir, ignore_errors=True)
        env.update(BENCH_PROFILE=args.profile, BENCH_PROFILE_DIR=str(profile_dir))
    print("server:", " ".join(argv[1:]), flush=True)
    server = start_server(argv, env, HTTP_DIR / "gunicorn.log")
    results: dict = {
        "database": database_label(url),
        "started": started.isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "server": argv[1:],
        "overrides": {
            key: env[key]
            for key in ("BENCH_CONN_MAX_AGE", "BENCH_SQLITE_SYNCHRONOUS")
            if key in env
        },
        "profile": args.profile,
        "runs": [],
    }
    try:
        # Warm-up: every worker and thread imports, connects and renders
        # once (the first PDF loads its fonts) before the clock runs.
        warm_clients = max(args.clients)
        run_phase(bare, 10 * warm_clients, warm_clients, port, setup, 60)
        warm = run_phase(lifecycle, 2 * warm_clients, warm_clients, port, setup, 180)
        if warm.failures:
            sys.exit(f"warm-up failed: {warm.failures[0]}")

        for clients in args.clients:
            run = run_clients(clients, args, port, setup, server.pid)
            results["runs"].append(run)
            print_run(run)
        hwm = {pid: vm_hwm_mib(pid) for pid in worker_pids(server.pid)}
        results["worker_peak_rss_mib"] = [round(v, 1) for v in hwm.values()]
        results["master_peak_rss_mib"] = round(vm_hwm_mib(server.pid), 1)
    finally:
        stop_server(server)

    print(
        f"\ngunicorn worker peak RSS (VmHWM, MiB): {results['worker_peak_rss_mib']}, "
        f"master {results['master_peak_rss_mib']}",
        flush=True,
    )
    if args.profile:
        results["inside"] = profile_report(profile_dir)
    if not args.keep:
        drop_database(url)
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

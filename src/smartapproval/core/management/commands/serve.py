"""Run the whole platform on one machine: web server, worker and scheduler.

Before anything listens, the launcher brings the database up to date:
migrations, static files, the working-day calendar, the shipped catalogue on
first start and the demo accounts. It then runs gunicorn (static files served
by whitenoise), the django-tasks-db worker and the scheduler as child
processes, stops them all on Ctrl-C or SIGTERM, and exits non-zero as soon as
one of them dies on its own.

The steps of other apps are called by command name: ``core`` imports no app
to its right (docs/architecture.md).
"""

import ctypes
import functools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import structlog
from django.apps import apps
from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from smartapproval.core.env import env

log = structlog.get_logger(__name__)

# Gunicorn waits 30 s for requests in flight (its graceful timeout).
STOP_TIMEOUT = 35
READY_TIMEOUT = 60
POLL_INTERVAL = 0.5
DEMO_USERS = (
    "enterprise / citizen / clerk / reviewer / reviewer2 / approver / planner / "
    "resources / clerk2 / manager / admin"
)
DEMO_PASSWORD = "demo12345"  # noqa: S105 - the published demo password


@dataclass(frozen=True)
class Child:
    """A process the launcher starts and watches."""

    name: str
    argv: list[str]


def child_processes(
    *, host: str, port: int, workers: int, access_log: bool, log_level: str = "info"
) -> list[Child]:
    """Return the web server, the task worker and the scheduler to start."""
    python = sys.executable
    bind_host = f"[{host}]" if ":" in host and not host.startswith("[") else host
    web = [
        python,
        "-m",
        "gunicorn",
        "smartapproval.wsgi:application",
        f"--bind={bind_host}:{port}",
        f"--workers={workers}",
        "--worker-class=gthread",
        "--threads=4",
        "--timeout=60",
        "--graceful-timeout=30",
        "--no-control-socket",
        # Gunicorn's own lines (start, workers booting) follow LOG_LEVEL.
        f"--log-level={log_level.lower()}",
    ]
    if access_log:
        web.append("--access-logfile=-")

    return [
        Child("web", web),
        # One worker for every queue; the reloader would orphan its child.
        Child(
            "worker",
            [
                python,
                "-m",
                "smartapproval",
                "db_worker",
                "--queue-name=*",
                "--no-reload",
            ],
        ),
        Child("scheduler", [python, "-m", "smartapproval", "run_scheduler"]),
    ]


def local_address(host: str) -> str:
    """Return the address a browser on this machine uses to reach ``host``."""
    host = host.strip("[]")
    if host in {"", "0.0.0.0"}:  # noqa: S104 - the wildcard, never bound here
        return "127.0.0.1"
    if host == "::":
        return "::1"

    return host


def port_free(host: str, port: int) -> bool:
    """Return whether the web server could bind ``host:port`` now."""
    address = host.strip("[]")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As gunicorn does, so a port left in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            return False

    return True


def welcome_line(*, host: str, port: int, demo: bool) -> str:
    """Return the console line that says where to go and how to sign in."""
    address = local_address(host)
    if ":" in address:
        address = f"[{address}]"
    url = f"http://{address}:{port}/"
    if demo:
        return (
            f"智慧审批已启动: {url}  演示账号 {DEMO_USERS}，"
            f"密码 {DEMO_PASSWORD}（见 README）  按 Ctrl-C 停止"
        )

    return f"智慧审批已启动: {url}  请用管理员账号登录（smartapproval createsuperuser）"


def _stop_with_launcher(launcher_pid: int) -> None:
    """Have Linux send the child SIGTERM when the launcher dies.

    Runs in the child before exec. Without it a launcher killed outright
    (SIGKILL, out of memory) would leave its children serving, since each
    sits in its own process group.
    """
    if sys.platform != "linux":
        return
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    # The launcher may have died before the request took effect.
    if os.getppid() != launcher_pid:
        os.kill(os.getpid(), signal.SIGTERM)


class Supervisor:
    """Start child processes, watch them, and stop them all together."""

    def __init__(self, children: list[Child]):
        self.children = children
        self.processes: dict[str, subprocess.Popen] = {}
        self.stop_requested = threading.Event()

    def start(self) -> None:
        for child in self.children:
            # Each child gets its own process group, so a Ctrl-C at the
            # terminal reaches the launcher alone and each child is sent
            # exactly one SIGTERM by stop().
            self.processes[child.name] = subprocess.Popen(  # noqa: S603
                child.argv,
                process_group=0,
                preexec_fn=functools.partial(_stop_with_launcher, os.getpid()),
            )
            log.info("serve_child_started", child=child.name)

    def request_stop(self, signum: int, frame: FrameType | None = None) -> None:
        log.info("serve_stopping", signal=signal.Signals(signum).name)
        self.stop_requested.set()

    def dead_child(self) -> tuple[str, int] | None:
        """Return the name and exit code of a child that has exited."""
        for name, process in self.processes.items():
            code = process.poll()
            if code is not None:
                return name, code
        return None

    def wait_until_listening(self, host: str, port: int, timeout: float) -> bool:
        """Wait for the web server to accept connections; False if stopped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stop_requested.is_set() or self.dead_child():
                return False
            try:
                with socket.create_connection((host, port), timeout=1):
                    return True
            except OSError:
                self.stop_requested.wait(0.2)
        raise CommandError(f"The web server did not listen on port {port}.")

    def watch(self) -> tuple[str, int] | None:
        """Block until a stop is requested or a child dies; return the dead."""
        while not self.stop_requested.wait(POLL_INTERVAL):
            dead = self.dead_child()
            if dead:
                return dead
        return None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Ask every child to stop, then kill those that do not in time."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, process in self.processes.items():
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log.warning("serve_child_killed", child=name)
                process.kill()
                process.wait()
        log.info("serve_stopped")


class Command(BaseCommand):
    help = (
        "Run the platform: migrate, seed, then serve with gunicorn, the task "
        "worker and the scheduler until Ctrl-C."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        host = env("HOST", "127.0.0.1")
        port = env("PORT", 8000)
        demo = env("SMARTAPPROVAL_DEMO", True)
        verbosity = options["verbosity"]
        if not port_free(host, port):
            raise CommandError(
                f"Port {port} on {host} is in use: stop the other server or set PORT."
            )

        self.prepare(verbosity=verbosity)

        supervisor = Supervisor(
            child_processes(
                host=host,
                port=port,
                workers=env("WEB_CONCURRENCY", 3),
                access_log=env("ACCESS_LOG", False),
                log_level=settings.LOG_LEVEL,
            )
        )
        self.run(supervisor, host=host, port=port, demo=demo)

    def prepare(self, *, verbosity: int) -> None:
        """Bring the database and static files up to date before serving."""
        quiet = max(verbosity - 1, 0)
        call_command("migrate", interactive=False, verbosity=quiet)
        # The database cache (rate limits) lives outside the migrations.
        call_command("createcachetable", verbosity=quiet)
        call_command("collectstatic", interactive=False, verbosity=quiet)
        self.call_if_present("seed_calendar", verbosity=verbosity)
        if not apps.get_model("catalogue", "ServiceItem").objects.exists():
            self.call_if_present(
                "import_catalogue", str(catalogue_dir()), verbosity=verbosity
            )
        # Review routes: the shipped templates, and the shipped items' own
        # routes (never over one an administrator uploaded).
        self.call_if_present("import_process", "--shipped", verbosity=quiet)
        self.call_if_present("seed_demo", verbosity=verbosity)

        # The children open their own connections; the launcher needs none.
        connections.close_all()

    def call_if_present(self, name: str, *args: str, **options: Any) -> None:
        if name not in get_commands():
            log.warning("serve_step_missing", command=name)
            return
        log.info("serve_step", command=name)
        call_command(name, *args, **options)

    def run(self, supervisor: Supervisor, *, host: str, port: int, demo: bool) -> None:
        """Start the children and hold until a signal or a child's death."""
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, supervisor.request_stop)

        supervisor.start()
        try:
            if supervisor.wait_until_listening(
                local_address(host), port, READY_TIMEOUT
            ):
                self.stdout.write(welcome_line(host=host, port=port, demo=demo))
                self.stdout.flush()
            dead = supervisor.watch()
        finally:
            supervisor.stop()

        if dead:
            name, code = dead
            log.error("serve_child_died", child=name, returncode=code)
            raise CommandError(f"{name} exited with code {code}; stopped the rest.")


def catalogue_dir() -> Path:
    """Return the catalogue to import: the configured one or the shipped copy."""
    if settings.SMARTAPPROVAL_CATALOGUE_DIR:
        return Path(settings.SMARTAPPROVAL_CATALOGUE_DIR)

    return Path(apps.get_app_config("catalogue").path) / "data"

"""The launcher: gunicorn, worker and scheduler, started and stopped together."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from smartapproval.core.management.commands import serve

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def listener(port: int) -> list[str]:
    """Return a child that listens on ``port`` until it is stopped."""
    code = (
        "import socket, time\n"
        "s = socket.socket()\n"
        "s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port})); s.listen()\n"
        "time.sleep(600)\n"
    )
    return [sys.executable, "-c", code]


@pytest.fixture
def restore_signals():
    saved = {
        s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def test_web_server_is_gunicorn_with_the_configured_workers():
    web, worker, scheduler = serve.child_processes(
        host="127.0.0.1", port=8123, workers=5, access_log=False
    )

    assert web.argv[1:4] == ["-m", "gunicorn", "smartapproval.wsgi:application"]
    assert "--bind=127.0.0.1:8123" in web.argv
    assert "--workers=5" in web.argv
    assert "--timeout=60" in web.argv
    assert not any(arg.startswith("--access-logfile") for arg in web.argv)
    assert worker.argv[3:] == ["db_worker", "--queue-name=*", "--no-reload"]
    assert scheduler.argv[-1] == "run_scheduler"


def test_access_log_and_ipv6_host_are_passed_to_gunicorn():
    web = serve.child_processes(host="::1", port=8000, workers=3, access_log=True)[0]

    assert "--bind=[::1]:8000" in web.argv
    assert "--access-logfile=-" in web.argv


def test_gunicorn_logs_at_the_configured_level():
    quiet = serve.child_processes(
        host="127.0.0.1", port=8000, workers=3, access_log=False, log_level="WARNING"
    )[0]

    assert "--log-level=warning" in quiet.argv


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/"),
        ("0.0.0.0", "http://127.0.0.1:8000/"),  # noqa: S104
        ("::", "http://[::1]:8000/"),
        ("localhost", "http://localhost:8000/"),
    ],
)
def test_welcome_line_names_a_reachable_address(host, url):
    line = serve.welcome_line(host=host, port=8000, demo=True)

    assert line.startswith(f"智慧审批已启动: {url}")
    named = line.split("演示账号 ")[1].split("，")[0].split(" / ")
    assert named == [
        "enterprise",
        "citizen",
        "clerk",
        "reviewer",
        "reviewer2",
        "approver",
        "planner",
        "resources",
        "clerk2",
        "manager",
        "admin",
    ]
    assert "demo12345" in line


def test_welcome_line_without_demo_accounts_gives_no_password():
    line = serve.welcome_line(host="127.0.0.1", port=9000, demo=False)

    assert "http://127.0.0.1:9000/" in line
    assert "demo12345" not in line


def test_a_port_in_use_is_refused_before_anything_starts():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        assert serve.port_free("127.0.0.1", port) is False
    assert serve.port_free("127.0.0.1", port) is True


def test_launcher_exits_non_zero_and_stops_the_rest_when_a_child_dies(
    restore_signals,
):
    port = free_port()
    dying = [sys.executable, "-c", "import time; time.sleep(1); raise SystemExit(3)"]
    supervisor = serve.Supervisor(
        [
            serve.Child("web", listener(port)),
            serve.Child("worker", dying),
            serve.Child("scheduler", SLEEPER),
        ]
    )

    with pytest.raises(CommandError, match="worker exited with code 3"):
        serve.Command().run(supervisor, host="127.0.0.1", port=port, demo=True)

    assert supervisor.processes["web"].returncode == -signal.SIGTERM
    assert supervisor.processes["scheduler"].returncode == -signal.SIGTERM


def test_stop_kills_a_child_that_ignores_sigterm():
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(600)\n",
    ]
    supervisor = serve.Supervisor([serve.Child("worker", stubborn)])
    supervisor.processes["worker"] = subprocess.Popen(  # noqa: S603
        stubborn, stdout=subprocess.PIPE
    )
    supervisor.processes["worker"].stdout.readline()

    supervisor.stop(timeout=0.5)

    assert supervisor.processes["worker"].returncode == -signal.SIGKILL


def test_children_stop_when_the_launcher_is_killed_outright(tmp_path):
    pids = tmp_path / "pids.txt"
    script = (
        "import sys, time\n"
        "from smartapproval.core.management.commands import serve\n"
        f"sleeper = {SLEEPER!r}\n"
        "supervisor = serve.Supervisor(\n"
        "    [serve.Child('a', sleeper), serve.Child('b', sleeper)]\n"
        ")\n"
        "supervisor.start()\n"
        f"with open({str(pids)!r}, 'w') as out:\n"
        "    out.write(' '.join(str(p.pid) for p in supervisor.processes.values()))\n"
        "time.sleep(600)\n"
    )
    launcher = subprocess.Popen([sys.executable, "-c", script])  # noqa: S603
    deadline = time.monotonic() + 30
    while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
        time.sleep(0.1)
    children = [int(pid) for pid in pids.read_text().split()]

    launcher.kill()
    launcher.wait()

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in children):
        time.sleep(0.1)
    survivors = [pid for pid in children if alive(pid)]
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors == []


def alive(pid: int) -> bool:
    """Return whether ``pid`` runs (a zombie awaiting its reaper counts dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_serve_starts_the_platform_and_stops_cleanly_on_sigterm(tmp_path):
    """Run ``smartapproval serve`` as a user would, on a fresh SQLite file."""
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "TASKS_", "SMARTAPPROVAL_"))
    }
    env.update(
        SMARTAPPROVAL_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
        PORT=str(port),
        WEB_CONCURRENCY="2",
        PYTHONUNBUFFERED="1",
    )
    out = tmp_path / "stdout.txt"
    err = tmp_path / "stderr.txt"
    with out.open("w") as stdout, err.open("w") as stderr:
        launcher = subprocess.Popen(
            [sys.executable, "-m", "smartapproval", "serve"],
            env=env,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        welcome = wait_for_line(out, "智慧审批已启动", launcher, err)

        assert f"http://127.0.0.1:{port}/" in welcome
        with urllib.request.urlopen(  # noqa: S310 - loopback only
            f"http://127.0.0.1:{port}/admin/login/", timeout=60
        ) as response:
            assert response.status == 200
        with urllib.request.urlopen(  # noqa: S310 - loopback only
            f"http://127.0.0.1:{port}/static/admin/css/base.css", timeout=60
        ) as response:
            assert response.status == 200
        children = child_pids(launcher.pid)
        assert len(children) == 3

        launcher.send_signal(signal.SIGTERM)
        assert launcher.wait(timeout=60) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in children)
    finally:
        if launcher.poll() is None:
            launcher.terminate()
            try:
                launcher.wait(timeout=60)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait()


def wait_for_line(path: Path, text: str, process, err: Path, timeout=240) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in path.read_text().splitlines():
            if text in line:
                return line
        if process.poll() is not None:
            pytest.fail(f"serve exited early:\n{err.read_text()[-3000:]}")
        time.sleep(0.5)
    pytest.fail(f"serve did not start in {timeout} s:\n{err.read_text()[-3000:]}")


def child_pids(parent: int) -> list[int]:
    """Return the live processes whose parent is ``parent`` (Linux /proc)."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z":
            pids.append(int(stat.parent.name))
    return pids

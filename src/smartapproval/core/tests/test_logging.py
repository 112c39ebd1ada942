"""Gunicorn's access log: JSON lines when ACCESS_LOG is set, none otherwise."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from smartapproval.core.logging import logging_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve_one_request(tmp_path: Path, *, access_log: str) -> list[str]:
    """Run gunicorn as `serve` does, fetch a static file, return stderr lines."""
    port = _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "SMARTAPPROVAL_", "ACCESS_LOG"))
    }
    env.update(SMARTAPPROVAL_VAR_DIR=str(tmp_path), ACCESS_LOG=access_log)
    err = tmp_path / "stderr.txt"
    with err.open("w") as stderr:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter
            [
                sys.executable,
                "-m",
                "gunicorn",
                "smartapproval.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                "--workers=1",
                "--access-logfile=-",
                "--no-control-socket",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(  # noqa: S310 - loopback only
                    f"http://127.0.0.1:{port}/static/css/smartapproval.css",
                    timeout=10,
                ) as response:
                    assert response.status == 200
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(err.read_text()[-3000:])
                time.sleep(0.2)
        time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)

    return err.read_text().splitlines()


def _access_records(lines: list[str]) -> list[dict]:
    records = []
    for line in lines:
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "gunicorn.access":
                records.append(record)
    return records


def test_access_log_on_writes_one_json_record_per_request(tmp_path):
    records = _access_records(_serve_one_request(tmp_path, access_log="1"))

    assert len(records) == 1
    assert "GET /static/css/smartapproval.css" in records[0]["event"]
    assert records[0]["level"] == "info"


def test_access_log_off_writes_no_access_lines(tmp_path):
    lines = _serve_one_request(tmp_path, access_log="0")

    assert _access_records(lines) == []
    assert not any("GET /static/" in line for line in lines)


def test_access_logger_propagates_to_the_json_handler():
    config = logging_config("INFO", access_log=True)["loggers"]["gunicorn.access"]

    assert config == {"level": "INFO", "propagate": True}
    assert logging_config("INFO")["loggers"]["gunicorn.access"]["level"] == "WARNING"

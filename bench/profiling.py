"""Where a request of the HTTP benchmark spends its time, inside a worker.

Only ``bench.settings_bench`` installs this middleware, and only when
``BENCH_PROFILE`` names what to record; it never runs in the product:

- ``sql``: per kind of request (method and URL name), the wall time and the
  CPU time (of the thread serving it) of the request, and the wall time of
  its SQL statements by their first word (BEGIN, SELECT, INSERT, UPDATE,
  COMMIT…), with their counts. A ``BEGIN IMMEDIATE`` that waits is SQLite's
  write lock; a slow ``COMMIT`` is an fsync. ``HELD`` is how long the
  outermost transaction lasted, from its BEGIN to its COMMIT: on SQLite,
  how long every other writer was kept waiting.
- ``cprofile``: the above plus cProfile (wall clock) of every request,
  aggregated per kind. It slows every request down by about half; use it to
  rank functions, never for the figures.

Each worker writes ``<BENCH_PROFILE_DIR>/<pid>.json`` (and one
``<pid>-<kind>.pstats`` per kind with cProfile) when it exits and every
few seconds, and ``lifecycle_http.py --profile`` adds them up.
"""

import atexit
import cProfile
import json
import os
import pstats
import threading
import time
from collections import defaultdict
from pathlib import Path

from django.db import connection
from django.db.backends.base.base import BaseDatabaseWrapper

DUMP_EVERY = 5.0
# The statements of the request this thread serves: COMMIT and the opening
# of a connection do not go through a cursor, so execute_wrapper misses them.
_current = threading.local()


class _Totals:
    """What one worker measured, per kind of request."""

    def __init__(self, directory: Path, with_cprofile: bool) -> None:
        self.directory = directory
        self.with_cprofile = with_cprofile
        self.lock = threading.Lock()
        self.requests: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
        self.sql: dict[str, dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(lambda: [0, 0.0])
        )
        self.profiles: dict[str, pstats.Stats] = {}
        self.dumped = time.monotonic()
        directory.mkdir(parents=True, exist_ok=True)
        atexit.register(self.dump)

    def add(self, kind, seconds, cpu, statements, profile) -> None:
        with self.lock:
            entry = self.requests[kind]
            entry[0] += 1
            entry[1] += seconds
            entry[2] += cpu
            for verb, (count, spent) in statements.items():
                slot = self.sql[kind][verb]
                slot[0] += count
                slot[1] += spent
            if profile is not None:
                if kind in self.profiles:
                    self.profiles[kind].add(profile)
                else:
                    self.profiles[kind] = pstats.Stats(profile)
            due = time.monotonic() - self.dumped > DUMP_EVERY
        if due:
            self.dump()

    def dump(self) -> None:
        with self.lock:
            self.dumped = time.monotonic()
            data = {
                "requests": dict(self.requests),
                "sql": {kind: dict(verbs) for kind, verbs in self.sql.items()},
            }
            pid = os.getpid()
            path = self.directory / f"{pid}.json"
            path.with_suffix(".tmp").write_text(json.dumps(data))
            path.with_suffix(".tmp").replace(path)
            for kind, stats in self.profiles.items():
                name = kind.replace(" ", "_").replace("/", "_")
                stats.dump_stats(self.directory / f"{pid}-{name}.pstats")


_totals: _Totals | None = None


def _statement_verb(sql: str) -> str:
    words = sql.lstrip().split(None, 2)
    verb = words[0].upper() if words else "?"
    if verb == "BEGIN" and len(words) > 1:
        return f"BEGIN {words[1].upper()}"
    return verb


def _add(statements, verb: str, seconds: float) -> None:
    slot = statements[verb]
    slot[0] += 1
    slot[1] += seconds


def _timed_method(name: str, verb: str, *, ends_transaction: bool = False) -> None:
    original = getattr(BaseDatabaseWrapper, name)

    def timed(self, *args, **kwargs):
        statements = getattr(_current, "statements", None)
        if statements is None:
            return original(self, *args, **kwargs)
        begin = time.perf_counter()
        try:
            return original(self, *args, **kwargs)
        finally:
            end = time.perf_counter()
            _add(statements, verb, end - begin)
            opened = getattr(_current, "opened", None)
            if ends_transaction and opened is not None:
                _add(statements, "HELD", end - opened)
                _current.opened = None

    setattr(BaseDatabaseWrapper, name, timed)


def _mark_transaction_start() -> None:
    # PostgreSQL has no BEGIN statement of its own: the transaction starts
    # when autocommit goes off (on SQLite, right after BEGIN IMMEDIATE).
    original = BaseDatabaseWrapper.set_autocommit

    def marked(self, autocommit, *args, **kwargs):
        result = original(self, autocommit, *args, **kwargs)
        if not autocommit and getattr(_current, "statements", None) is not None:
            _current.opened = time.perf_counter()
        return result

    BaseDatabaseWrapper.set_autocommit = marked


class ProfileMiddleware:
    """Time each request and its SQL; profile it when asked to."""

    def __init__(self, get_response):
        global _totals
        self.get_response = get_response
        mode = os.environ.get("BENCH_PROFILE", "")
        if _totals is None:
            _timed_method("_commit", "COMMIT", ends_transaction=True)
            _timed_method("_rollback", "ROLLBACK", ends_transaction=True)
            _timed_method("connect", "CONNECT")
            _mark_transaction_start()
            _totals = _Totals(
                Path(os.environ.get("BENCH_PROFILE_DIR", "var/bench/http/profile")),
                with_cprofile=mode == "cprofile",
            )

    def __call__(self, request):
        statements: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])

        def timed(execute, sql, params, many, context):
            begin = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                end = time.perf_counter()
                verb = _statement_verb(sql)
                _add(statements, verb, end - begin)
                if verb.startswith("BEGIN"):
                    _current.opened = end

        profile = cProfile.Profile() if _totals.with_cprofile else None
        _current.statements = statements
        _current.opened = None
        cpu = time.thread_time()
        begin = time.perf_counter()
        with connection.execute_wrapper(timed):
            if profile is not None:
                profile.enable()
            try:
                response = self.get_response(request)
            finally:
                if profile is not None:
                    profile.disable()
                _current.statements = None
        seconds = time.perf_counter() - begin
        cpu = time.thread_time() - cpu

        match = getattr(request, "resolver_match", None)
        kind = f"{request.method} {match.url_name if match else request.path}"
        _totals.add(kind, seconds, cpu, statements, profile)
        return response

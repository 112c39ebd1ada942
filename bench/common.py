"""What the benchmarks share: a database of their own, timing and memory.

The benchmarks never run on the development database. Without
``--database-url`` or ``DATABASE_URL`` they use a SQLite file under
``var/bench/``; the generator refuses a database that already holds cases
unless told to replace it.
"""

import argparse
import os
import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_VAR_DIR = ROOT / "var" / "bench"
DEFAULT_DATABASE_URL = f"sqlite:///{BENCH_VAR_DIR / 'district.sqlite3'}"
DEV_DATABASE = ROOT / "var" / "smartapproval.sqlite3"


def database_url_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--database-url`` to a benchmark's command line."""
    parser.add_argument(
        "--database-url",
        help=(
            "Database to use (dj-database-url form). Default: $DATABASE_URL, "
            f"else {DEFAULT_DATABASE_URL}."
        ),
    )


def resolve_database_url(explicit: str | None) -> str:
    """Return the benchmark database: the option, the environment, or var/bench."""
    url = explicit or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    path = sqlite_path(url)
    if path is not None and path.resolve() == DEV_DATABASE.resolve():
        sys.exit(f"refusing to benchmark on the development database {path}")
    return url


def sqlite_path(url: str) -> Path | None:
    """Return the file of a ``sqlite:///`` URL, None for any other database."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        return None
    # As dj-database-url reads it: sqlite:///relative, sqlite:////absolute.
    return Path(parts.path[1:])


def django_setup(database_url: str) -> None:
    """Point Django at ``database_url`` and set it up.

    Called before any model is imported. The embedded run's secret key and
    static root stay where they are; only the database moves. Logs stay at
    WARNING unless LOG_LEVEL says otherwise: the recompute logs one line per
    run, the services one per change.
    """
    import django

    path = sqlite_path(database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smartapproval.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    django.setup()


def database_label(url: str) -> str:
    """Name the database without credentials, for the printed report."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return f"SQLite {sqlite_path(url)}"
    host = parts.hostname or "localhost"
    return f"{parts.scheme} {host}/{parts.path.lstrip('/')}"


def peak_rss_mib() -> float:
    """Return this process's peak resident set size in MiB (Linux: KiB units)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Stopwatch:
    """Time named steps and print each as it ends."""

    echo: bool = True
    started: float = field(default_factory=time.perf_counter)
    laps: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def lap(self, name: str) -> Iterator[None]:
        begin = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - begin
            self.laps[name] = self.laps.get(name, 0.0) + seconds
            self.say(f"{name}: {seconds:.2f} s")

    def say(self, text: str) -> None:
        if self.echo:
            elapsed = time.perf_counter() - self.started
            print(f"[{elapsed:7.1f} s] {text}", flush=True)

    @property
    def total(self) -> float:
        return time.perf_counter() - self.started

"""Count failed attempts per client in the shared cache, and refuse too many.

The counters live in Django's default cache, the database cache in every
deployment (settings.CACHES), so all gunicorn workers see the same count.
Deliberate simplification: the cache has no atomic append, so two failures
of one client at the same instant may count once; a client gains at most a
few extra tries that way, never an unlimited number.
"""

import hashlib
from dataclasses import dataclass
from time import time as _now

from django.core.cache import cache


@dataclass(frozen=True)
class FailureLimit:
    """At most ``limit`` failures per client in ``window`` seconds."""

    scope: str
    limit: int
    window: int

    def exceeded(self, client: str) -> bool:
        """Return whether ``client`` has used up its failures for now."""
        return len(self._recent(client, now=_now())) >= self.limit

    def record_failure(self, client: str) -> int:
        """Count one failure of ``client``; return its failures in the window."""
        now = _now()
        failures = [*self._recent(client, now=now), now][-self.limit :]
        cache.set(self._key(client), failures, timeout=self.window)

        return len(failures)

    def _recent(self, client: str, *, now: float) -> list[float]:
        failures = cache.get(self._key(client)) or []
        return [moment for moment in failures if moment > now - self.window]

    def _key(self, client: str) -> str:
        # Hashed: the cache table need not hold client addresses in clear.
        digest = hashlib.sha256(client.encode()).hexdigest()[:32]
        return f"failures:{self.scope}:{digest}"

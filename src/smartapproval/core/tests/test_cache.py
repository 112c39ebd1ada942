"""The shared database cache and the failure counter built on it."""

from unittest import mock

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from smartapproval.core.management.commands import serve
from smartapproval.core.ratelimit import FailureLimit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_cache_is_the_database_table_every_worker_shares():
    assert settings.CACHES["default"]["BACKEND"] == (
        "django.core.cache.backends.db.DatabaseCache"
    )
    # Django's test database creation runs createcachetable.
    assert "smartapproval_cache" in connection.introspection.table_names()

    cache.set("probe", 42)

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM smartapproval_cache")
        assert cursor.fetchone()[0] == 1
    assert cache.get("probe") == 42


def test_serve_creates_the_cache_table_before_serving():
    called = []
    with (
        mock.patch.object(
            serve, "call_command", side_effect=lambda name, *a, **k: called.append(name)
        ),
        mock.patch.object(serve.Command, "call_if_present"),
        # The test's own connection must stay open.
        mock.patch.object(serve, "connections"),
    ):
        serve.Command().prepare(verbosity=0)

    assert called.index("createcachetable") == called.index("migrate") + 1


def test_failure_limit_counts_per_client_within_the_window():
    limit = FailureLimit(scope="test", limit=2, window=60)
    with mock.patch("smartapproval.core.ratelimit._now", return_value=1000.0):
        assert limit.record_failure("192.0.2.1") == 1
        assert not limit.exceeded("192.0.2.1")
        assert limit.record_failure("192.0.2.1") == 2
        assert limit.exceeded("192.0.2.1")
        assert not limit.exceeded("192.0.2.2")
    with mock.patch("smartapproval.core.ratelimit._now", return_value=1061.0):
        assert not limit.exceeded("192.0.2.1")


def test_failure_limit_keeps_no_client_address_in_clear():
    FailureLimit(scope="test", limit=2, window=60).record_failure("192.0.2.1")

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM smartapproval_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert keys
    assert not any("192.0.2.1" in key for key in keys)

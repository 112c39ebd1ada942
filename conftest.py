"""Settings every test runs with, and the browser the browser tests drive.

Tests hash passwords with MD5 (Argon2 is slow on purpose), run background
tasks at once in the test's own process, and have login lockout off; a test
that exercises lockout sets ``settings.AXES_ENABLED = True`` itself.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(autouse=True, scope="session")
def _static_root():
    # Whitenoise warns on every request when STATIC_ROOT is missing; the
    # tests serve static files through the finders instead.
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_ENABLED = False
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}
    }


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Return Debian's Chromium for Playwright's ``executable_path``."""
    return chromium_executable()


def chromium_executable(path: Path = CHROMIUM) -> str:
    """Return ``path``, or end the test: fail in CI (which installs it), skip
    elsewhere, so a laptop without Chromium still runs ``make test``.
    """
    if path.exists():
        return str(path)

    reason = f"Chromium not found at {path}: apt-get install chromium"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)

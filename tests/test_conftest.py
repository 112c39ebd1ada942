"""The settings and the browser fixture every test gets from conftest.py."""

from pathlib import Path

import pytest
from django.conf import settings
from django_tasks import task_backends
from django_tasks.backends.immediate import ImmediateBackend

from conftest import chromium_executable


def test_tests_hash_fast_and_do_not_lock_logins():
    assert settings.PASSWORD_HASHERS == [
        "django.contrib.auth.hashers.MD5PasswordHasher"
    ]
    assert settings.AXES_ENABLED is False


def test_tasks_run_at_once_in_tests():
    assert isinstance(task_backends["default"], ImmediateBackend)


def test_chromium_is_returned_when_installed(tmp_path):
    browser = tmp_path / "chromium"
    browser.touch()

    assert chromium_executable(browser) == str(browser)


def test_missing_chromium_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        chromium_executable(Path("/nonexistent/chromium"))


def test_missing_chromium_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="Chromium not found"):
        chromium_executable(Path("/nonexistent/chromium"))

"""The API documentation works offline and its schema is warning-free."""

import re
from io import StringIO

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def test_docs_page_loads_swagger_ui_from_our_own_static_files():
    response = Client().get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assets = ASSET.findall(page)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "cdn" not in page.lower()
    assert "//" not in "".join(assets)


def test_schema_has_no_enum_naming_warnings(capsys):
    call_command("spectacular", "--validate", "--file", "/dev/null", stdout=StringIO())

    captured = capsys.readouterr()
    assert "Warning" not in captured.err + captured.out

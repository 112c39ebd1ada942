"""The import_catalogue command and its hyphenated CLI name."""

import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from smartapproval import __main__ as cli
from smartapproval.catalogue.models import ServiceItem

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.mark.django_db
class TestImportCatalogueCommand:
    def test_imports_the_shipped_data_and_prints_counts_in_chinese(self):
        out, err = StringIO(), StringIO()

        call_command("import_catalogue", str(DATA), stdout=out, stderr=err)

        assert ServiceItem.objects.count() == 1136
        assert out.getvalue().strip() == (
            "新增 1136 个事项，更新 0 个，未变 0 个；新增部门 37 个；错误 0 条。"
        )
        assert "第 167 行" in err.getvalue()

    def test_without_a_path_imports_the_shipped_data(self, settings):
        settings.SMARTAPPROVAL_CATALOGUE_DIR = ""

        call_command("import_catalogue", stdout=StringIO(), stderr=StringIO())

        assert ServiceItem.objects.count() == 1136

    def test_rows_with_errors_fail_the_command_after_importing_the_rest(self, tmp_path):
        lines = (DATA / "guangan-511602-items.csv").read_text().splitlines()[:3]
        path = tmp_path / "items.csv"
        path.write_text("\n".join([*lines, "区教科体局,未分类,,X-1,1,X,511602"]) + "\n")

        with pytest.raises(CommandError, match="有 1 行未导入"):
            call_command(
                "import_catalogue", str(path), stdout=StringIO(), stderr=StringIO()
            )

        assert ServiceItem.objects.count() == 2

    def test_missing_path_is_a_command_error(self, tmp_path):
        with pytest.raises(CommandError, match="找不到事项目录文件或目录"):
            call_command("import_catalogue", str(tmp_path / "none"))


def test_hyphenated_command_name_is_accepted(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "argv", ["smartapproval", "import-catalogue", "x.csv"])
    monkeypatch.setattr("django.core.management.execute_from_command_line", seen.append)

    cli.main()

    assert seen == [["smartapproval", "import_catalogue", "x.csv"]]


def test_options_are_not_rewritten(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "argv", ["smartapproval", "--version"])
    monkeypatch.setattr("django.core.management.execute_from_command_line", seen.append)

    cli.main()

    assert seen == [["smartapproval", "--version"]]


def test_cli_help_of_the_hyphenated_name_runs():
    result = subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "smartapproval", "import-catalogue", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0
    assert "import_catalogue" in result.stdout

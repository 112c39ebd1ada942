"""Seeding, importing and editing the working-day calendar."""

import datetime
import json
import threading

import pytest
import structlog
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from smartapproval.audit.models import AuditEntry
from smartapproval.core import deadlines
from smartapproval.core.api import ServiceError
from smartapproval.core.calendar import (
    PACKAGE_MARKER,
    SCHEDULE_DIR,
    _package_day,
    calendar_day_update,
    calendar_import_schedule,
    calendar_seed_from_package,
    schedule_from_file,
    schedule_from_package,
)
from smartapproval.core.models import CalendarDay, CalendarSource, CalendarYear
from smartapproval.core.tests.factories import CalendarAdminFactory, schedule_2026

D = datetime.date.fromisoformat
pytestmark = pytest.mark.django_db

HOOK_CALLS: list[list[int]] = []


def record_hook(*, years: list[int]) -> None:
    HOOK_CALLS.append(years)


def failing_hook(*, years: list[int]) -> None:
    raise RuntimeError("recompute is down")


@pytest.fixture
def hooks(settings):
    settings.SMARTAPPROVAL_CALENDAR_CHANGED_HOOKS = [f"{__name__}.record_hook"]
    HOOK_CALLS.clear()
    return HOOK_CALLS


@pytest.fixture
def admin_user():
    return CalendarAdminFactory()


# Seeding from the chinesecalendar package.


@pytest.mark.parametrize(
    ("day", "kind", "name"),
    [
        ("2019-01-01", "holiday", "元旦"),
        ("2019-02-05", "holiday", "春节"),
        ("2019-04-05", "holiday", "清明节"),
        ("2019-05-01", "holiday", "劳动节"),
        ("2019-06-07", "holiday", "端午节"),
        ("2019-09-13", "holiday", "中秋节"),
        ("2019-10-01", "holiday", "国庆节"),
        ("2019-04-28", "adjusted_workday", "劳动节"),
        ("2019-04-27", "weekend", ""),
        ("2019-04-26", "workday", ""),
        ("2015-09-03", "holiday", "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"),
        (
            "2015-09-06",
            "adjusted_workday",
            "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
        ),
    ],
)
def test_seed_keeps_holiday_names_in_chinese(day, kind, name):
    calendar_seed_from_package(years=[2015, 2019])

    row = CalendarDay.objects.get(pk=D(day))

    assert (row.kind, row.holiday_name, row.source) == (kind, name, "chinesecalendar")
    assert row.is_workday is (kind in ("workday", "adjusted_workday"))


def test_seed_stores_every_day_of_the_year_and_audits_it():
    changed = calendar_seed_from_package(years=[2024])

    assert changed == [2024]
    assert CalendarDay.objects.filter(date__year=2024).count() == 366
    year = CalendarYear.objects.get(pk=2024)
    assert (year.source, year.note) == ("chinesecalendar", PACKAGE_MARKER)
    entry = AuditEntry.objects.get(action="calendar_year_seeded")
    assert (entry.target_id, entry.actor_label) == ("2024", "calendar")
    assert entry.after["days_created"] == 366


def test_seed_again_changes_nothing_and_costs_one_query(django_assert_num_queries):
    calendar_seed_from_package(years=[2024, 2025])

    with django_assert_num_queries(1):
        assert calendar_seed_from_package(years=[2024, 2025]) == []

    assert AuditEntry.objects.filter(action="calendar_year_seeded").count() == 2


def test_seed_never_overwrites_an_official_year_or_an_edited_day(admin_user):
    calendar_seed_from_package(years=[2024, 2026])
    calendar_day_update(
        actor=admin_user, day=D("2024-10-09"), kind="holiday", holiday_name="临时放假"
    )
    calendar_import_schedule(actor=admin_user, data=schedule_2026())
    # A newer package version would look at both years again.
    CalendarYear.objects.filter(pk=2024).update(note="chinesecalendar 1.10.0")
    CalendarDay.objects.filter(pk=D("2024-10-10")).update(kind="holiday")

    changed = calendar_seed_from_package(years=[2024, 2026])

    assert changed == [2024]
    edited = CalendarDay.objects.get(pk=D("2024-10-09"))
    assert (edited.kind, edited.source) == ("holiday", "admin")
    assert CalendarDay.objects.get(pk=D("2024-10-10")).kind == "workday"
    assert set(
        CalendarDay.objects.filter(date__year=2026).values_list("source", flat=True)
    ) == {"official"}
    assert CalendarYear.objects.get(pk=2024).note == PACKAGE_MARKER


def test_seed_refuses_a_year_the_package_does_not_cover():
    with pytest.raises(ServiceError) as error:
        calendar_seed_from_package(years=[2030])

    assert error.value.message == (
        "chinesecalendar 软件包没有 2030 年的数据，仅包含 2004 年至 2026 年。"
    )


def test_seed_command_loads_all_years_once(capsys):
    call_command("seed_calendar")
    first = capsys.readouterr().out
    call_command("seed_calendar")
    second = capsys.readouterr().out

    assert "2004" in first and "2026" in first
    assert second.strip() == "Calendar already up to date."
    assert CalendarYear.objects.count() == 23


def test_seed_calls_the_hooks_for_the_years_it_changed(
    hooks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        calendar_seed_from_package(years=[2019, 2020])

    assert hooks == [[2019, 2020]]


# Importing an official schedule.


def test_shipped_2026_schedule_matches_the_package(admin_user):
    calendar_import_schedule(actor=admin_user, data=schedule_2026())

    rows = CalendarDay.objects.filter(date__year=2026)
    assert rows.count() == 365
    for row in rows:
        assert (row.kind, row.is_workday, row.holiday_name) == _package_day(row.date)
        assert row.source == "official"
    assert schedule_2026()["holidays"] == schedule_from_package(2026)["holidays"]


def test_import_replaces_the_year_audits_and_calls_the_hooks(
    admin_user, hooks, django_capture_on_commit_callbacks
):
    calendar_seed_from_package(years=[2026])
    data = schedule_2026()
    # Suppose the notice moved the make-up day of 元旦.
    data["adjusted_workdays"][0] = {"date": "2026-01-10", "for": "元旦"}

    with django_capture_on_commit_callbacks(execute=True):
        year = calendar_import_schedule(actor=admin_user, data=data)

    assert (year.source, year.note) == ("official", data["note"])
    assert CalendarDay.objects.get(pk=D("2026-01-04")).kind == "weekend"
    assert CalendarDay.objects.get(pk=D("2026-01-10")).is_workday is True
    entry = AuditEntry.objects.get(action="calendar_schedule_imported")
    assert entry.actor == admin_user
    assert entry.before["adjusted_workdays"]["2026-01-04"] == "元旦"
    assert "2026-01-04" not in entry.after["adjusted_workdays"]
    assert entry.after["holidays"]["2026-02-15"] == "春节"
    assert hooks == [[2026]]


def test_a_missing_hook_is_logged_and_the_import_stands(
    admin_user, settings, django_capture_on_commit_callbacks
):
    settings.SMARTAPPROVAL_CALENDAR_CHANGED_HOOKS = [
        "smartapproval.cases.no_such_module.calendar_changed",
        f"{__name__}.failing_hook",
    ]

    with (
        structlog.testing.capture_logs() as logs,
        django_capture_on_commit_callbacks(execute=True),
    ):
        calendar_import_schedule(actor=admin_user, data=schedule_2026())

    events = [(log["event"], log["log_level"]) for log in logs]
    assert ("calendar_hook_missing", "warning") in events
    assert ("calendar_hook_failed", "error") in events
    assert CalendarYear.objects.filter(pk=2026, source="official").exists()


def _with(data: dict, path: str, value) -> dict:
    """Set ``value`` at a dotted path like ``holidays.1.from``."""
    target = data
    *parents, last = path.split(".")
    for key in parents:
        target = target[int(key) if key.isdigit() else key]
    if value is _DELETE:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        (
            "holidays.1.from",
            "2026-02-30",
            "holidays[1].from",
            "第 2 项假期（春节）：“2026-02-30”不是 YYYY-MM-DD 格式的有效日期。",
        ),
        (
            "holidays.0.to",
            "2026/01/03",
            "holidays[0].to",
            "第 1 项假期（元旦）：“2026/01/03”不是 YYYY-MM-DD 格式的有效日期。",
        ),
        (
            "holidays.0.from",
            "2025-12-31",
            "holidays[0].from",
            "第 1 项假期（元旦）：2025-12-31 不在 2026 年内。",
        ),
        (
            "holidays.2.to",
            "2026-04-01",
            "holidays[2].to",
            "第 3 项假期（清明节）的结束日期早于开始日期。",
        ),
        (
            "holidays.5.to",
            "2026-10-02",
            "holidays[6]",
            "第 7 项假期（国庆节）：2026-10-01 已包含在第 6 项假期中。",
        ),
        (
            "holidays.3.name",
            " ",
            "holidays[3].name",
            "第 4 项假期须填写名称（name），不超过 40 个字。",
        ),
        (
            "adjusted_workdays.1.date",
            "2026-02-16",
            "adjusted_workdays[1].date",
            "第 2 项调休上班日：2026-02-16 是星期一，不是星期六或星期日。",
        ),
        (
            "adjusted_workdays.2.date",
            "2026-02-21",
            "adjusted_workdays[2].date",
            "2026-02-21 既是第 2 项假期（春节）中的休息日，又是第 3 项调休上班日。",
        ),
        (
            "adjusted_workdays.2.date",
            "2026-02-14",
            "adjusted_workdays[2].date",
            "第 3 项调休上班日：2026-02-14 与第 2 项调休上班日重复。",
        ),
        (
            "adjusted_workdays.0.date",
            "2027-01-02",
            "adjusted_workdays[0].date",
            "第 1 项调休上班日：2027-01-02 不在 2026 年内。",
        ),
        (
            "adjusted_workdays.0.for",
            "",
            "adjusted_workdays[0].for",
            "第 1 项调休上班日：请在 for 中写明所调休的节日（不超过 40 个字）。",
        ),
        (
            "year",
            "2026",
            "year",
            "年份（year）应为 2004 至 2100 之间的整数。",
        ),
        ("holidays", [], "holidays", "放假安排中须列出该年度的假期（holidays）。"),
        ("holidayz", [], "holidayz", "放假安排中有无法识别的字段“holidayz”。"),
        (
            "holidays.0",
            {"name": "元旦", "from": "2026-01-01"},
            "holidays[0]",
            "第 1 项假期应包含且仅包含 name、from、to。",
        ),
        ("year", _DELETE, "year", "年份（year）应为 2004 至 2100 之间的整数。"),
    ],
)
def test_a_wrong_entry_is_named_and_nothing_is_stored(
    admin_user, path, value, field, message
):
    data = _with(schedule_2026(), path, value)

    with pytest.raises(ServiceError) as error:
        calendar_import_schedule(actor=admin_user, data=data)

    assert (error.value.field, error.value.message) == (field, message)
    assert not CalendarDay.objects.exists()
    assert not CalendarYear.objects.exists()
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"year": 2026,', "放假安排文件不是有效的 JSON（第 1 行第 15 列）。"),
        ("{}".encode("utf-16"), "放假安排文件应为 UTF-8 编码的 JSON。"),
    ],
)
def test_a_file_that_is_not_utf8_json_is_refused(content, message):
    with pytest.raises(ServiceError) as error:
        schedule_from_file(content)

    assert error.value.message == message


def test_a_list_is_not_a_schedule(admin_user):
    with pytest.raises(ServiceError) as error:
        calendar_import_schedule(actor=admin_user, data=[2026])

    assert "JSON 对象" in error.value.message


def test_import_command_loads_the_shipped_file(capsys):
    call_command("import_calendar", str(SCHEDULE_DIR / "2026.json"))

    assert "2026" in capsys.readouterr().out
    assert CalendarYear.objects.get(pk=2026).source == "official"
    entry = AuditEntry.objects.get(action="calendar_schedule_imported")
    assert entry.actor is None and entry.actor_label == "calendar"


def test_import_command_reports_the_wrong_entry(tmp_path):
    data = _with(schedule_2026(), "holidays.1.from", "2026-02-30")
    path = tmp_path / "2026.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    with pytest.raises(CommandError, match=r"第 2 项假期.*\[holidays\[1\]\.from\]"):
        call_command("import_calendar", str(path))

    assert not CalendarYear.objects.exists()


# Editing one day.


def test_day_update_marks_the_day_admin_and_audits_before_and_after(
    admin_user, hooks, django_capture_on_commit_callbacks
):
    calendar_seed_from_package(years=[2024])

    with django_capture_on_commit_callbacks(execute=True):
        row = calendar_day_update(
            actor=admin_user,
            day=D("2024-10-09"),
            kind="holiday",
            holiday_name="临时放假",
            note="区政府通知",
        )

    assert (row.kind, row.is_workday, row.source) == ("holiday", False, "admin")
    entry = AuditEntry.objects.get(action="calendar_day_updated")
    assert (entry.actor, entry.target_id) == (admin_user, "2024-10-09")
    assert entry.before["kind"] == "workday"
    assert entry.after == {
        "kind": "holiday",
        "is_workday": False,
        "holiday_name": "临时放假",
        "source": "admin",
        "note": "区政府通知",
    }
    assert hooks == [[2024]]
    assert deadlines.is_workday(D("2024-10-09")) is False


@pytest.mark.parametrize(
    ("day", "kind", "name", "field", "message"),
    [
        ("2024-10-09", "weekend", "", "kind", "只有星期六或星期日可以设为周末。"),
        (
            "2024-10-09",
            "adjusted_workday",
            "国庆节",
            "kind",
            "只有星期六或星期日可以设为调休上班日。",
        ),
        (
            "2024-10-13",
            "workday",
            "",
            "kind",
            "星期六或星期日不能设为普通工作日，请设为调休上班日。",
        ),
        (
            "2024-10-09",
            "holiday",
            "",
            "holiday_name",
            "请填写该日放假或调休所对应的节日名称。",
        ),
        (
            "2030-10-09",
            "holiday",
            "临时放假",
            "date",
            "日历中还没有 2030 年的数据，请先导入该年度放假安排。",
        ),
    ],
)
def test_day_update_refuses_a_kind_the_date_cannot_have(
    admin_user, day, kind, name, field, message
):
    calendar_seed_from_package(years=[2024])

    with pytest.raises(ServiceError) as error:
        calendar_day_update(actor=admin_user, day=D(day), kind=kind, holiday_name=name)

    assert (error.value.field, error.value.message) == (field, message)
    assert not AuditEntry.objects.filter(action="calendar_day_updated").exists()


def test_saving_a_day_unchanged_writes_nothing(admin_user):
    calendar_seed_from_package(years=[2024])

    calendar_day_update(actor=admin_user, day=D("2024-10-09"), kind="workday")

    assert CalendarDay.objects.get(pk=D("2024-10-09")).source == "chinesecalendar"
    assert not AuditEntry.objects.filter(action="calendar_day_updated").exists()


# The admin.


def test_admin_edit_of_a_day_goes_through_the_service(
    client, admin_user, hooks, django_capture_on_commit_callbacks
):
    calendar_seed_from_package(years=[2024])
    client.force_login(admin_user)
    url = reverse("admin:core_calendarday_change", args=["2024-10-09"])

    assert client.get(url).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"kind": "holiday", "holiday_name": "临时放假", "note": ""}
        )

    assert response.status_code == 302
    row = CalendarDay.objects.get(pk=D("2024-10-09"))
    assert (row.kind, row.source) == ("holiday", "admin")
    entry = AuditEntry.objects.get(action="calendar_day_updated")
    assert entry.actor == admin_user
    assert hooks == [[2024]]


def test_admin_edit_shows_the_rule_broken_in_chinese(client, admin_user):
    calendar_seed_from_package(years=[2024])
    client.force_login(admin_user)
    url = reverse("admin:core_calendarday_change", args=["2024-10-09"])

    response = client.post(url, {"kind": "weekend", "holiday_name": "", "note": ""})

    assert response.status_code == 200
    assert "只有星期六或星期日可以设为周末。" in response.content.decode()
    assert CalendarDay.objects.get(pk=D("2024-10-09")).source == "chinesecalendar"


def test_admin_lists_days_and_years(client, admin_user):
    calendar_seed_from_package(years=[2024])
    client.force_login(admin_user)

    days = client.get(reverse("admin:core_calendarday_changelist"))
    years = client.get(reverse("admin:core_calendaryear_changelist"))

    assert days.status_code == 200
    assert years.status_code == 200
    assert reverse("admin:core_calendaryear_import") in years.content.decode()


def test_admin_import_page_stores_the_uploaded_schedule(
    client, admin_user, hooks, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    url = reverse("admin:core_calendaryear_import")

    assert client.get(url).status_code == 200
    with (
        open(SCHEDULE_DIR / "2026.json", "rb") as file,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(url, {"file": file})

    assert response.status_code == 302
    assert CalendarYear.objects.get(pk=2026).source == CalendarSource.OFFICIAL
    assert AuditEntry.objects.get(action="calendar_schedule_imported").actor == (
        admin_user
    )
    assert hooks == [[2026]]


def test_admin_import_page_names_the_wrong_entry(client, admin_user, tmp_path):
    client.force_login(admin_user)
    data = _with(schedule_2026(), "adjusted_workdays.1.date", "2026-02-16")
    path = tmp_path / "2026.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    with open(path, "rb") as file:
        response = client.post(
            reverse("admin:core_calendaryear_import"), {"file": file}
        )

    assert response.status_code == 200
    assert "第 2 项调休上班日：2026-02-16 是星期一" in response.content.decode()
    assert not CalendarYear.objects.exists()


def test_admin_import_without_a_file_says_the_file_is_missing(client, admin_user):
    client.force_login(admin_user)

    response = client.post(reverse("admin:core_calendaryear_import"), {})

    assert response.status_code == 200
    assert "该字段是必填项" in response.content.decode()
    assert not CalendarYear.objects.exists()


def test_admin_import_needs_the_permission(client):
    staff = CalendarAdminFactory(is_superuser=False)
    client.force_login(staff)

    response = client.get(reverse("admin:core_calendaryear_import"))

    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_two_processes_seeding_at_once_load_the_year_once():
    barrier = threading.Barrier(2)
    results, errors = [], []

    def seed():
        try:
            barrier.wait(timeout=10)
            results.append(calendar_seed_from_package(years=[2024]))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=seed) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(results) == [[], [2024]]
    assert CalendarDay.objects.filter(date__year=2024).count() == 366
    assert AuditEntry.objects.filter(action="calendar_year_seeded").count() == 1

"""Case numbers: readable, unique under concurrency, gaps explained."""

import datetime
import threading

import pytest
from django.db import connection

from smartapproval.cases import numbering
from smartapproval.cases.models import CaseNumberSequence, VoidCaseNumber


@pytest.mark.django_db
def test_number_has_region_beijing_date_and_six_digit_sequence(settings, clock):
    settings.SMARTAPPROVAL_REGION_CODE = "511602"
    # 2026-12-03 17:00 UTC is already 2026-12-04 in Beijing.
    clock.moment = datetime.datetime(2026, 12, 3, 17, 0, tzinfo=datetime.UTC)

    first = numbering.case_number_take()
    second = numbering.case_number_take()

    assert first == "511602-20261204-000001"
    assert second == "511602-20261204-000002"


@pytest.mark.django_db
def test_sequence_restarts_each_day_and_per_region():
    day = datetime.date(2024, 10, 8)

    numbering.case_number_take(day=day)
    other_day = numbering.case_number_take(day=day + datetime.timedelta(days=1))
    other_region = numbering.case_number_take(day=day, region_code="511621")

    assert other_day.endswith("-20241009-000001")
    assert other_region == "511621-20241008-000001"


@pytest.mark.django_db
def test_void_number_is_recorded_with_reason_once():
    numbering.case_number_void(number="511602-20241008-000007", reason="failed")
    numbering.case_number_void(number="511602-20241008-000007", reason="again")

    void = VoidCaseNumber.objects.get()
    assert void.reason == "failed"


@pytest.mark.django_db(transaction=True)
def test_concurrent_takers_never_get_the_same_number():
    day = datetime.date(2024, 10, 8)
    numbers: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def take():
        try:
            start.wait()
            for _ in range(5):
                numbers.append(numbering.case_number_take(day=day))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(numbers) == 40
    assert len(set(numbers)) == 40
    assert CaseNumberSequence.objects.get(day=day).last == 40

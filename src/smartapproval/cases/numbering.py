"""Case numbers: region code, Beijing date and a daily sequence, never reused.

A number is taken in its own short transaction, so a slow registration does
not hold the sequence row locked for everybody else. The price is that an
attempt which fails after taking its number leaves a gap; the number is then
recorded as void with the reason, so e-monitoring can explain every gap.
"""

from datetime import date

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from smartapproval.cases.models import CaseNumberSequence, VoidCaseNumber
from smartapproval.core import deadlines as workdays

log = structlog.get_logger(__name__)


def format_case_number(*, region_code: str, day: date, sequence: int) -> str:
    """Spell a case number: ``511602-20261203-000042``."""
    return f"{region_code}-{day:%Y%m%d}-{sequence:06d}"


def case_number_take(*, day: date | None = None, region_code: str = "") -> str:
    """Take the next case number of the region for the Beijing date ``day``.

    Runs in its own transaction: call it before the registration's
    transaction opens, not inside it.
    """
    region_code = region_code or settings.SMARTAPPROVAL_REGION_CODE
    day = day or workdays.beijing_today()

    with transaction.atomic():
        sequence = _sequence_locked(region_code=region_code, day=day)
        sequence.last += 1
        sequence.save(update_fields=["last"])
        number = format_case_number(
            region_code=region_code, day=day, sequence=sequence.last
        )

    log.debug("case_number_taken", region_code=region_code, sequence=sequence.last)
    return number


def _sequence_locked(*, region_code: str, day: date) -> CaseNumberSequence:
    rows = CaseNumberSequence.objects.select_for_update()
    try:
        return rows.get(region_code=region_code, day=day)
    except CaseNumberSequence.DoesNotExist:
        pass

    # The first number of the day: two workers may both try to create the
    # row; the loser waits for the winner's row and locks it.
    try:
        with transaction.atomic():
            return CaseNumberSequence.objects.create(
                region_code=region_code, day=day, last=0
            )
    except IntegrityError:
        return rows.get(region_code=region_code, day=day)


def case_number_void(*, number: str, reason: str) -> VoidCaseNumber:
    """Record that ``number`` was taken by an attempt that failed.

    Runs in its own transaction so the record survives the failed attempt's
    rollback.
    """
    with transaction.atomic():
        void, _created = VoidCaseNumber.objects.get_or_create(
            number=number, defaults={"reason": reason[:200]}
        )

    log.info("case_number_voided", reason=reason[:200])
    return void

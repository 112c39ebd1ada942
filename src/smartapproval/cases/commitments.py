"""Rules and texts of the applicant's commitments (承诺).

Two ways a case goes ahead on the applicant's word instead of a document:

- 容缺受理 (conditional acceptance). A window clerk accepts a case with
  named secondary materials missing: only materials the item marks
  ``deferrable``, never a required one that is not. The applicant promises
  to supply them by a day no later than the case's promised deadline. From
  the day after that day the case is paused (awaiting materials); if they
  are still missing after the cut-off, ``SMARTAPPROVAL_DEFERRAL_CUTOFF_DAYS``
  working days (15) counted from the promised day, the application is
  returned (退件) at the start of the next day. A material arriving on or
  before the cut-off day ends the pause that day. An applicant with a
  recorded violation (``has_violation``) is not offered it.
- 告知承诺制 (notify-and-commit). An item allows it and marks the materials
  the commitment replaces (``commitment_replaces``): the published lists
  name the proofs a commitment stands in for, never the application form.
  The applicant ticks the statement when applying, and those materials are
  no longer required. After an approval the lead department verifies the
  commitment within the item's ``verification_limit_value`` working days,
  counted on the calendar from the decision date. A false commitment
  revokes the result and records a violation in the applicant's library
  entry. An applicant with a recorded violation is not offered it either
  (a false commitment is a bar until the record is cleared).

The statements are legal text the applicant signs, in Chinese, and are not
interface text: like the decision documents they are not translated. An
item may publish its own notify-and-commit statement; the catalogue writes
it (``catalogue.selectors.item_commitment_statement``), since the hall and
the catalogue API show it before there is a case.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings

from smartapproval.accounts.models import ApplicantKind
from smartapproval.cases.models import (
    Case,
    Commitment,
    CommitmentKind,
    CommitmentMaterial,
    CommitmentStatus,
    Task,
    TaskKind,
)
from smartapproval.catalogue import selectors as catalogue
from smartapproval.catalogue.models import MaterialRequirement, ServiceItem
from smartapproval.core import deadlines as workdays
from smartapproval.core.models import LimitUnit

# The verification step's official name, shown as it is, like the names of
# the review steps.
VERIFICATION_NODE_KEY = "verification"
VERIFICATION_TASK_NAME = "告知承诺核查"


def cutoff_working_days() -> int:
    """Return the working days after the promised day before a return."""
    return int(settings.SMARTAPPROVAL_DEFERRAL_CUTOFF_DAYS)


def deferral_cutoff(due_on: date) -> workdays.Deadline:
    """Return the last day a deferred material may still arrive (case 11).

    Counted on the calendar from the promised day, which is not counted; the
    application is returned at the start of the day after.
    """
    return workdays.add_working_days(due_on, cutoff_working_days())


def promised_due_if_accepted(item: ServiceItem, day: date) -> date | None:
    """Return the promised deadline a case of ``item`` accepted on ``day``
    would get, for the acceptance form's hint (the service checks the one
    acceptance computes)."""
    value, unit = item.promised_limit_value, item.promised_limit_unit
    if value is None:
        value, unit = item.legal_limit_value, item.legal_limit_unit
    if value is None:
        return None
    return workdays.compute_due(day, value, LimitUnit(unit)).due


def deferrable_requirements(item: ServiceItem) -> list[MaterialRequirement]:
    """List the item's materials a clerk may accept the case without."""
    return list(item.materials.filter(deferrable=True).order_by("order"))


def notify_requirements(item: ServiceItem) -> list[MaterialRequirement]:
    """List the materials a notify-and-commit statement replaces."""
    return catalogue.item_commitment_requirements(item)


def notify_offered(item: ServiceItem) -> bool:
    """Tell whether applicants of ``item`` may commit instead of proving.

    The item must allow it and name at least one material the commitment
    replaces: a commitment that replaces nothing is not offered.
    """
    return bool(notify_requirements(item))


def _you(applicant_kind: str) -> str:
    return "本单位" if applicant_kind == ApplicantKind.ENTERPRISE else "本人"


def _spelled(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def deferral_statement(*, applicant_kind: str, names: list[str], due_on: date) -> str:
    """Write the promise of a conditional acceptance (容缺受理承诺书)."""
    you = _you(applicant_kind)
    return (
        f"{you}承诺：于{_spelled(due_on)}前补交以下材料：{'、'.join(names)}，"
        f"并对所补交材料的真实性负责。逾期未补交的，自承诺期限届满次日起办件"
        f"暂停计时；承诺期限届满后{cutoff_working_days()}个工作日内仍未补齐的，"
        f"{you}同意按退件处理。"
    )


def notify_statement(item: ServiceItem) -> str:
    """Write the statement of a notify-and-commit application (告知承诺书)."""
    return catalogue.item_commitment_statement(item)


def case_commitment(case: Case, kind: str) -> Commitment | None:
    """Return the case's commitment of ``kind``, or None."""
    return case.commitments.filter(kind=kind).first()


def outstanding_materials(commitment: Commitment | None) -> list[CommitmentMaterial]:
    """List the deferred materials of an open commitment not yet supplied."""
    if commitment is None or commitment.status != CommitmentStatus.OPEN:
        return []
    return list(
        commitment.materials.filter(supplied_on__isnull=True).order_by(
            "requirement__order", "pk"
        )
    )


def deferral_outstanding(case: Case) -> list[CommitmentMaterial]:
    """List the case's deferred materials still to come under 容缺受理."""
    return outstanding_materials(case_commitment(case, CommitmentKind.DEFERRAL))


def replaced_requirement_ids(case: Case) -> set[int]:
    """Return the requirements the case's notify-and-commit statement replaces."""
    return set(
        CommitmentMaterial.objects.filter(
            commitment__case=case,
            commitment__kind=CommitmentKind.NOTIFICATION,
            requirement__isnull=False,
        ).values_list("requirement_id", flat=True)
    )


def deferred_requirement_ids(case: Case) -> set[int]:
    """Return the requirements a conditional acceptance of the case deferred."""
    return set(
        CommitmentMaterial.objects.filter(
            commitment__case=case,
            commitment__kind=CommitmentKind.DEFERRAL,
            requirement__isnull=False,
        ).values_list("requirement_id", flat=True)
    )


def applicant_has_violation(case: Case) -> bool:
    """Tell whether the case's applicant has a violation on record (失信)."""
    party = case.person if case.person_id else case.enterprise
    return bool(party is not None and party.has_violation)


def deferrable_missing(case: Case) -> list[MaterialRequirement]:
    """List the deferrable materials the case has no file for yet."""
    supplied = set(
        case.materials.filter(requirement__isnull=False).values_list(
            "requirement_id", flat=True
        )
    )
    return [req for req in deferrable_requirements(case.item) if req.pk not in supplied]


def conditional_acceptance_offered(case: Case) -> bool:
    """Tell whether the window may offer 容缺受理 for ``case`` (case 11).

    A deferrable material must be missing, and the applicant must have no
    violation on record.
    """
    return bool(deferrable_missing(case)) and not applicant_has_violation(case)


def verification_task_open(case: Case, *, started_on: date) -> Task:
    """Open the lead department's verification of the case's commitment.

    Its due date counts the item's verification limit in working days from
    ``started_on`` (the decision date), on the calendar like any task.
    """
    limit = case.item.verification_limit_value or 1
    deadline = workdays.add_working_days(started_on, limit)
    return Task.objects.create(
        case=case,
        kind=TaskKind.VERIFICATION,
        node_key=VERIFICATION_NODE_KEY,
        name=VERIFICATION_TASK_NAME,
        department_id=case.department_id,
        started_on=started_on,
        limit_working_days=limit,
        due_on=deadline.due,
        due_provisional=deadline.provisional,
    )


@dataclass(frozen=True)
class CommitmentView:
    """A commitment as the case pages show it: materials, outstanding, dates."""

    commitment: Commitment
    materials: list[CommitmentMaterial]
    outstanding: list[CommitmentMaterial]
    cutoff: date | None = None


def case_commitment_views(case: Case) -> list[CommitmentView]:
    """Return the case's commitments with what is outstanding and the cut-off."""
    views = []
    for commitment in case.commitments.prefetch_related("materials__requirement"):
        cutoff = None
        if commitment.kind == CommitmentKind.DEFERRAL and commitment.due_on:
            cutoff = deferral_cutoff(commitment.due_on).due
        views.append(
            CommitmentView(
                commitment=commitment,
                materials=sorted(
                    commitment.materials.all(),
                    key=lambda m: (m.requirement.order if m.requirement else 0, m.pk),
                ),
                outstanding=outstanding_materials(commitment),
                cutoff=cutoff,
            )
        )
    return views

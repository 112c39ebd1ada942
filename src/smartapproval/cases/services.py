"""Everything that can happen to a case: ``grep "def case_"`` lists it.

Each service checks who acts (department scope, then role), locks the case
row, checks the transition table, changes the case, writes a timeline event
and an audit row in the same transaction, and leaves side effects to
``transaction.on_commit``. Staff of another department, other applicants
and anyone else get a 404, as if the case did not exist.
"""

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Any

import structlog
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from smartapproval.accounts.models import ApplicantKind, Role, User
from smartapproval.audit.services import audit_record
from smartapproval.cases import (
    deadlines,
    numbering,
    results,
    routes,
    selectors,
    transitions,
    uploads,
)
from smartapproval.cases.models import (
    Case,
    CaseAction,
    CaseEvent,
    CaseMaterial,
    CasePause,
    CaseStatus,
    Channel,
    Decision,
    PauseKind,
    Task,
    TaskOutcome,
    TaskStatus,
)
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.catalogue.models import ApplicantScope, ServiceItem
from smartapproval.core import codes
from smartapproval.core import deadlines as workdays
from smartapproval.core.api import ServiceError
from smartapproval.parties import selectors as party_selectors
from smartapproval.parties import services as parties
from smartapproval.parties.models import Enterprise, Person

log = structlog.get_logger(__name__)

# A read, kept importable from here for the workbench pages that call it as
# services.case_missing_materials; selectors.case_missing_materials is its home.
case_missing_materials = selectors.case_missing_materials

A = CaseAction
# An identical submission without a key within this window is flagged as a
# possible duplicate (case 17); it is still accepted.
DUPLICATE_WINDOW = timedelta(minutes=10)
_PHONE = re.compile(r"\+?[0-9][0-9-]{5,18}[0-9]")

AUDIT_ACTIONS: dict[str, str] = {
    A.SUBMIT: "case_submitted",
    A.REGISTER: "case_submitted",
    A.ADD_MATERIAL: "case_materials_added",
    A.ACCEPT: "case_accepted",
    A.REFUSE: "case_refused",
    A.REQUEST_CORRECTION: "case_correction_requested",
    A.SUPPLY_CORRECTION: "case_correction_supplied",
    A.START_REVIEW: "case_review_started",
    A.SUSPEND: "case_suspended",
    A.RESUME: "case_resumed",
    A.EXTEND: "case_extended",
    A.DECIDE: "case_decided",
    A.ISSUE_RESULT: "case_result_issued",
    A.CLOSE: "case_closed",
    A.WITHDRAW: "case_withdrawn",
    A.TERMINATE: "case_terminated",
}


@dataclass(frozen=True)
class SubmitResult:
    """The case a submission produced or found again.

    ``created`` is False when the idempotency key named an existing case;
    ``duplicate_warning`` is True when the same content came from the same
    applicant within ten minutes without a key ("可能重复提交"); ``warnings``
    are the code checks' warnings for the applicant to confirm.
    """

    case: Case
    created: bool
    duplicate_warning: bool = False
    warnings: tuple[str, ...] = ()


# Who may act


def _not_found() -> Http404:
    return Http404(gettext("No such case."))


def _sees_department(actor: User, department_id: int | None) -> bool:
    if not getattr(actor, "is_staff_member", False):
        return False
    return actor.sees_all_departments or actor.department_id == department_id


def _ensure_may_act(case: Case, actor: User, action: str) -> None:
    """Check the actor's scope (404) and then the role table (403)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise _not_found()

    if actor.role == Role.APPLICANT or action in transitions.APPLICANT_ACTIONS:
        if case.applicant_account_id is None or case.applicant_account_id != actor.pk:
            raise _not_found()
    elif not _sees_department(actor, case.department_id):
        raise _not_found()

    transitions.ensure_role(actor, action)


def _ensure_may_complete(task: Task, actor: User) -> None:
    if actor is None or not _sees_department(actor, task.department_id):
        raise Http404(gettext("No such task."))
    transitions.ensure_role(actor, A.COMPLETE_TASK)


def _ensure_other_node_not_done_by(task: Task, actor: User) -> None:
    """Refuse a second node of the same case's route to the same person.

    Separation of duties: whoever examined a case (审查) may not also check
    (审核) or approve (审批) it. The same node again after a return is
    allowed.
    """
    if selectors.task_excluded_for_user(task=task, user=actor):
        raise ServiceError(
            gettext("The same person cannot handle two review steps of one case."),
            field="task",
            code="separation_of_duties",
            status=409,
        )


# Recording


def _actor_label(actor: User | None) -> str:
    if actor is None:
        return "system"
    return str(actor)[:100]


def _lock(case: Case) -> Case:
    try:
        return Case.objects.select_for_update().get(pk=case.pk)
    except Case.DoesNotExist:
        raise _not_found() from None


def _record(
    *,
    case: Case,
    actor: User | None,
    action: str,
    status_from: str,
    note: str = "",
    after: dict[str, Any] | None = None,
) -> None:
    """Write the timeline event and the audit row, and log after commit."""
    CaseEvent.objects.create(
        case=case,
        action=action,
        status_from=status_from,
        status_to=case.status,
        actor_label=_actor_label(actor),
        note=note,
    )
    audit_record(
        actor=actor,
        action=AUDIT_ACTIONS[action],
        target=case,
        before={"status": status_from} if status_from else None,
        after={"status": case.status, **(after or {})},
        note=note,
    )

    transaction.on_commit(
        partial(
            log.info,
            AUDIT_ACTIONS[action],
            case_id=case.pk,
            item_id=case.item_id,
            status=case.status,
        )
    )


def _move(case: Case, action: str) -> str:
    """Set the status the table names for ``action``; return the old one."""
    status_from = case.status
    target = transitions.target_status(action)
    if target is not None:
        case.status = target
    return status_from


def _required_text(value: str | None, *, field: str, message: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ServiceError(message, field=field, code="required")
    return text


@contextmanager
def _files_removed_on_failure() -> Iterator[list[str]]:
    """Remove files stored in the block if the block fails."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        uploads.stored_files_remove(stored)
        raise


def _tasks_cancel(case: Case) -> int:
    return case.tasks.filter(status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)


def _open_pause_close(case: Case, *, last: date) -> CasePause | None:
    pause = (
        case.pauses.select_for_update()
        .filter(ended_on__isnull=True)
        .order_by("-started_on", "-pk")
        .first()
    )
    if pause is None:
        return None
    pause.ended_on = max(last, pause.started_on)
    pause.working_days = deadlines.pause_working_days(
        accepted_on=case.accepted_on, first=pause.started_on, last=pause.ended_on
    )
    pause.save(update_fields=["ended_on", "working_days"])
    return pause


# Submission


def _applicant_clean(applicant: dict, item: ServiceItem) -> tuple[dict, list[str]]:
    """Validate the applicant's data; return it normalised, with warnings."""
    kind = (applicant.get("kind") or "").strip()
    if kind not in ApplicantKind.values:
        raise ServiceError(
            gettext("Choose whether a person or an enterprise applies."),
            field="applicant.kind",
            code="invalid_choice",
        )
    scope = item.applicant_scope
    if scope != ApplicantScope.BOTH and scope != kind:
        raise ServiceError(
            gettext("This item does not accept applications from a %(kind)s.")
            % {"kind": ApplicantKind(kind).label},
            field="applicant.kind",
            code="applicant_kind_not_allowed",
        )

    name = " ".join(
        _required_text(
            applicant.get("name"),
            field="applicant.name",
            message=gettext("Enter the applicant's name."),
        ).split()
    )
    # The person library keeps 60 characters of a name, the enterprise
    # library 200.
    longest = 60 if kind == ApplicantKind.PERSON else 200
    if len(name) > longest:
        raise ServiceError(
            gettext("The applicant's name is at most %(count)s characters.")
            % {"count": longest},
            field="applicant.name",
            code="too_long",
        )
    if kind == ApplicantKind.PERSON:
        check = codes.check_resident_id(applicant.get("code") or "")
        field_label = gettext("Resident ID number")
    else:
        check = codes.check_uscc(applicant.get("code") or "")
        field_label = gettext("Unified social credit code")
    if not check.valid:
        raise ServiceError(
            gettext("%(field)s: %(message)s")
            % {
                "field": field_label,
                "message": check.message or gettext("Enter a valid code."),
            },
            field="applicant.code",
            code="invalid_code",
        )
    warnings = list(check.warnings)

    cleaned = {
        "kind": kind,
        "name": name,
        "code": check.normalized,
        "address": (applicant.get("address") or "").strip()[:200],
        "legal_representative": "",
        "legal_representative_id_number": "",
    }
    if kind == ApplicantKind.ENTERPRISE:
        cleaned["legal_representative"] = _required_text(
            applicant.get("legal_representative"),
            field="applicant.legal_representative",
            message=gettext("Enter the legal representative."),
        )[:60]
        rep_id = (applicant.get("legal_representative_id_number") or "").strip()
        if rep_id:
            rep_check = codes.check_resident_id(rep_id)
            if not rep_check.valid:
                raise ServiceError(
                    gettext("%(field)s: %(message)s")
                    % {
                        "field": gettext("Legal representative's ID number"),
                        "message": rep_check.message,
                    },
                    field="applicant.legal_representative_id_number",
                    code="invalid_code",
                )
            cleaned["legal_representative_id_number"] = rep_check.normalized

    default_contact = (
        cleaned["legal_representative"]
        if kind == ApplicantKind.ENTERPRISE
        else cleaned["name"]
    )
    cleaned["contact_name"] = (
        (applicant.get("contact_name") or "").strip() or default_contact
    )[:60]
    phone = "".join(
        unicodedata.normalize("NFKC", applicant.get("contact_phone") or "").split()
    )
    if not _PHONE.fullmatch(phone):
        raise ServiceError(
            gettext("Enter a contact phone number of 7 to 20 digits."),
            field="applicant.contact_phone",
            code="invalid_phone",
        )
    cleaned["contact_phone"] = phone

    return cleaned, warnings


def _ensure_item_open(item: ServiceItem) -> None:
    if not item.is_published:
        raise ServiceError(
            gettext("This item is not open for applications."),
            field="item",
            code="item_not_published",
        )
    today = workdays.beijing_today()
    if (item.valid_from and today < item.valid_from) or (
        item.valid_to and today > item.valid_to
    ):
        raise ServiceError(
            gettext("This item is not open for applications."),
            field="item",
            code="item_not_valid",
        )


def _fingerprint(
    item: ServiceItem,
    applicant: dict,
    form_data: dict,
    checked: list[uploads.CheckedUpload],
) -> str:
    content = {
        "item": item.pk,
        "applicant": applicant,
        "form": form_data,
        "files": sorted(
            [c.requirement.pk if c.requirement else 0, c.sha256] for c in checked
        ),
    }
    raw = json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def _case_by_key(
    *, account: User | None, registered_by: User | None, key: str
) -> Case | None:
    if account is not None:
        rows = Case.objects.filter(applicant_account=account)
    else:
        rows = Case.objects.filter(
            applicant_account__isnull=True, registered_by=registered_by
        )
    return rows.filter(idempotency_key=key).first()


def _recent_duplicate(
    *, item: ServiceItem, account: User | None, code: str, fingerprint: str
) -> bool:
    rows = Case.objects.filter(
        item=item,
        content_hash=fingerprint,
        submitted_at__gte=timezone.now() - DUPLICATE_WINDOW,
    )
    if account is not None:
        rows = rows.filter(applicant_account=account)
    else:
        rows = rows.filter(applicant_code=code)
    return rows.exists()


# The applicant field a refusal of the libraries concerns.
_PARTY_FIELDS = {
    "id_number": "applicant.code",
    "uscc": "applicant.code",
    "name": "applicant.name",
    "phone": "applicant.contact_phone",
    "address": "applicant.address",
    "legal_representative": "applicant.legal_representative",
    "legal_representative_id_number": "applicant.legal_representative_id_number",
}


def _applicant_record(
    *, actor: User, applicant: dict, account: User | None, online: bool
) -> Person | Enterprise:
    """Record the applicant in the library under the libraries' rule.

    An online application changes only the entry of the applicant's own
    account and is refused for another account's entry; a window
    registration, where the clerk checked the ID card, may update any entry.
    The case keeps its own copy of what was typed either way.
    """
    try:
        if applicant["kind"] == ApplicantKind.PERSON:
            return parties.person_record(
                actor=actor,
                name=applicant["name"],
                id_number=applicant["code"],
                phone=applicant["contact_phone"],
                address=applicant["address"],
                account=account,
                online=online,
            )
        return parties.enterprise_record(
            actor=actor,
            name=applicant["name"],
            uscc=applicant["code"],
            legal_representative=applicant["legal_representative"],
            legal_representative_id_number=applicant["legal_representative_id_number"],
            address=applicant["address"],
            phone=applicant["contact_phone"],
            account=account,
            online=online,
        )
    except ServiceError as error:
        error.field = _PARTY_FIELDS.get(error.field or "", error.field)
        raise


def _case_create(
    *,
    actor: User,
    item: ServiceItem,
    applicant: dict,
    form_data: dict | None,
    materials: list[MaterialUpload],
    idempotency_key: str,
    channel: str,
    account: User | None,
    registered_by: User | None,
    action: str,
    licence_materials: dict[int, int] | None = None,
) -> SubmitResult:
    # Check everything before a number is taken or a file is stored.
    _ensure_item_open(item)
    cleaned, warnings = _applicant_clean(applicant or {}, item)
    form_data = dict(form_data or {})
    checked = uploads.uploads_check(list(materials or []), item_id=item.pk)
    key = (idempotency_key or "").strip()
    if len(key) > Case._meta.get_field("idempotency_key").max_length:
        raise ServiceError(
            gettext("The idempotency key is too long."),
            field="idempotency_key",
            code="invalid",
        )

    # The same key gives back the same case: a double click or a retry.
    if key:
        existing = _case_by_key(account=account, registered_by=registered_by, key=key)
        if existing is not None:
            log.info("case_submission_replayed", case_id=existing.pk)
            return SubmitResult(case=existing, created=False)

    # Another account's library entry is refused before a number is taken.
    if action == A.SUBMIT and account is not None:
        try:
            party_selectors.party_online_ensure_claimable(
                kind=cleaned["kind"], code=cleaned["code"], account=account
            )
        except ServiceError as error:
            error.field = "applicant.code"
            raise

    fingerprint = _fingerprint(item, cleaned, form_data, checked)
    duplicate = not key and _recent_duplicate(
        item=item, account=account, code=cleaned["code"], fingerprint=fingerprint
    )

    # Taken and committed before the registration's own transaction.
    number = numbering.case_number_take()

    stored: list[str] = []
    try:
        with transaction.atomic():
            case = _case_insert(
                actor=actor,
                item=item,
                number=number,
                applicant=cleaned,
                form_data=form_data,
                checked=checked,
                key=key,
                fingerprint=fingerprint,
                channel=channel,
                account=account,
                registered_by=registered_by,
                action=action,
                stored=stored,
                licence_materials=licence_materials or {},
            )
    except IntegrityError:
        uploads.stored_files_remove(stored)
        existing = (
            _case_by_key(account=account, registered_by=registered_by, key=key)
            if key
            else None
        )
        if existing is None:
            numbering.case_number_void(
                number=number, reason="submission failed: IntegrityError"
            )
            raise
        # A concurrent request with the same key won the race.
        numbering.case_number_void(
            number=number, reason="duplicate submission with the same key"
        )
        return SubmitResult(case=existing, created=False)
    except BaseException as exc:
        uploads.stored_files_remove(stored)
        numbering.case_number_void(
            number=number, reason=f"submission failed: {type(exc).__name__}"
        )
        raise

    return SubmitResult(
        case=case,
        created=True,
        duplicate_warning=duplicate,
        warnings=tuple(warnings),
    )


def _case_insert(
    *,
    actor: User,
    item: ServiceItem,
    number: str,
    applicant: dict,
    form_data: dict,
    checked: list[uploads.CheckedUpload],
    key: str,
    fingerprint: str,
    channel: str,
    account: User | None,
    registered_by: User | None,
    action: str,
    stored: list[str],
    licence_materials: dict[int, int],
) -> Case:
    # The case row goes first: a concurrent twin with the same key waits on
    # its unique index here, before anything else is written.
    case = Case.objects.create(
        number=number,
        item=item,
        item_version=item.version,
        department_id=item.department_id,
        channel=channel,
        status=CaseStatus.SUBMITTED,
        applicant_kind=applicant["kind"],
        applicant_account=account,
        applicant_name=applicant["name"],
        applicant_code=applicant["code"],
        contact_name=applicant["contact_name"],
        contact_phone=applicant["contact_phone"],
        applicant_address=applicant["address"],
        legal_representative=applicant["legal_representative"],
        registered_by=registered_by,
        form_data=form_data,
        idempotency_key=key,
        content_hash=fingerprint,
        submitted_at=timezone.now(),
    )

    party = _applicant_record(
        actor=actor, applicant=applicant, account=account, online=action == A.SUBMIT
    )
    if applicant["kind"] == ApplicantKind.PERSON:
        case.person = party
        case.save(update_fields=["person"])
    else:
        case.enterprise = party
        case.save(update_fields=["enterprise"])

    for upload in checked:
        uploads.material_store(case=case, checked=upload, actor=actor, stored=stored)
    for requirement_id, document_id in licence_materials.items():
        results.result_material_attach(
            case=case,
            requirement_id=requirement_id,
            document_id=document_id,
            account=account,
            actor=actor,
            stored=stored,
        )

    _record(
        case=case,
        actor=actor,
        action=action,
        status_from="",
        after={
            "number": number,
            "channel": channel,
            "materials": len(checked),
            **({"licences": len(licence_materials)} if licence_materials else {}),
        },
    )
    return case


def case_submit(
    *,
    actor: User,
    item: ServiceItem,
    applicant: dict,
    form_data: dict,
    materials: list[MaterialUpload],
    idempotency_key: str = "",
    channel: str = Channel.ONLINE,
    licence_materials: dict[int, int] | None = None,
) -> SubmitResult:
    """Submit an application online for ``item`` on the applicant's account.

    ``applicant`` holds ``kind`` (person or enterprise), ``name``, ``code``
    (resident ID number or USCC), ``contact_phone`` and optionally
    ``contact_name``, ``address``, ``legal_representative`` and
    ``legal_representative_id_number``. The same ``idempotency_key`` from the
    same account always gives back the same case. Call it outside a
    transaction: the case number is taken in its own.

    The applicant libraries change only for an entry linked to the actor's
    account (or a new one, linked to it); a code whose entry belongs to
    another account is refused with a 409 on ``applicant.code``, and an
    unlinked entry is left as the window recorded it. The case keeps what
    was typed, address included.

    ``licence_materials`` maps a material requirement's id to the id of one
    of the applicant's own valid e-licences, which then stands in for that
    material (``results.result_material_attach``); another holder's or a
    revoked licence is refused and nothing is submitted.
    """
    transitions.ensure_role(actor, A.SUBMIT)

    return _case_create(
        actor=actor,
        item=item,
        applicant=applicant,
        form_data=form_data,
        materials=materials,
        idempotency_key=idempotency_key,
        channel=channel,
        account=actor,
        registered_by=None,
        action=A.SUBMIT,
        licence_materials=licence_materials,
    )


def case_register(
    *,
    actor: User,
    item: ServiceItem,
    applicant: dict,
    form_data: dict,
    materials: list[MaterialUpload],
    idempotency_key: str = "",
    applicant_account: User | None = None,
) -> SubmitResult:
    """Register an application a window clerk received for an item of their own
    department.

    Takes the same ``applicant`` fields as ``case_submit``. Without an
    applicant account the key is unique per clerk.
    """
    transitions.ensure_role(actor, A.REGISTER)
    if actor.department_id != item.department_id:
        raise ServiceError(
            gettext("You can only register cases for your own department's items."),
            field="item",
            code="other_department",
            status=403,
        )

    return _case_create(
        actor=actor,
        item=item,
        applicant=applicant,
        form_data=form_data,
        materials=materials,
        idempotency_key=idempotency_key,
        channel=Channel.WINDOW,
        account=applicant_account,
        registered_by=actor,
        action=A.REGISTER,
    )


@transaction.atomic
def case_add_materials(
    *, case: Case, actor: User, materials: list[MaterialUpload]
) -> list[CaseMaterial]:
    """Add files to a case not yet under review (applicant or window clerk)."""
    case = _lock(case)
    _ensure_may_act(case, actor, A.ADD_MATERIAL)
    transitions.ensure_allowed(case, A.ADD_MATERIAL)
    if not materials:
        raise ServiceError(
            gettext("Choose at least one file."), field="materials", code="required"
        )
    checked = uploads.uploads_check(list(materials), item_id=case.item_id)

    with _files_removed_on_failure() as stored:
        added = [
            uploads.material_store(case=case, checked=c, actor=actor, stored=stored)
            for c in checked
        ]
        _record(
            case=case,
            actor=actor,
            action=A.ADD_MATERIAL,
            status_from=case.status,
            note=", ".join(m.original_name for m in added),
            after={"materials": [m.pk for m in added]},
        )

    return added


# Window actions


def _limits_of(item: ServiceItem) -> tuple[int, str, int, str]:
    legal, promised = item.legal_limit_value, item.promised_limit_value
    if legal is None and promised is None:
        raise ServiceError(
            gettext(
                "This item has no time limit yet; it cannot be accepted until "
                "an administrator sets one."
            ),
            field="item",
            code="item_without_limits",
            status=409,
        )
    if legal is None:
        return promised, item.promised_limit_unit, promised, item.promised_limit_unit
    if promised is None:
        return legal, item.legal_limit_unit, legal, item.legal_limit_unit
    return legal, item.legal_limit_unit, promised, item.promised_limit_unit


@transaction.atomic
def case_accept(*, case: Case, actor: User) -> Case:
    """Accept the case: start its clock and its review route.

    The limits are copied from the item as they stand now; the deadlines
    count from the Beijing date of acceptance. A deadline that used a year
    without an official schedule is marked provisional.
    """
    case = _lock(case)
    _ensure_may_act(case, actor, A.ACCEPT)
    transitions.ensure_allowed(case, A.ACCEPT)
    legal, legal_unit, promised, promised_unit = _limits_of(case.item)

    now = timezone.now()
    case.accepted_at = now
    case.accepted_on = workdays.beijing_date(now)
    case.legal_limit_value, case.legal_limit_unit = legal, legal_unit
    case.promised_limit_value, case.promised_limit_unit = promised, promised_unit
    case.paused_working_days = 0
    dues = deadlines.case_dues_compute(case)
    deadlines.case_dues_apply(case, dues)
    status_from = _move(case, A.ACCEPT)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.ACCEPT,
        status_from=status_from,
        after={
            "accepted_on": case.accepted_on.isoformat(),
            "legal_due": deadlines.iso_date(case.legal_due),
            "promised_due": deadlines.iso_date(case.promised_due),
            "due_provisional": case.due_provisional,
            "provisional_years": dues.provisional_years,
        },
    )

    route = routes.route_for(case.item)
    case.route_key = route.key
    status_from = _move(case, A.START_REVIEW)
    case.save(update_fields=["route_key", "status", "updated_at"])
    tasks = route.start(case)
    _record(
        case=case,
        actor=actor,
        action=A.START_REVIEW,
        status_from=status_from,
        note=", ".join(task.name for task in tasks),
        after={"route": route.key, "tasks": [task.pk for task in tasks]},
    )

    return case


@transaction.atomic
def case_refuse(*, case: Case, actor: User, reason: str) -> Case:
    """Refuse to accept the case (不予受理), with the reason the applicant sees."""
    case = _lock(case)
    _ensure_may_act(case, actor, A.REFUSE)
    transitions.ensure_allowed(case, A.REFUSE)
    reason = _required_text(
        reason, field="reason", message=gettext("Give the reason for not accepting.")
    )

    case.refusal_reason = reason
    case.closed_at = timezone.now()
    status_from = _move(case, A.REFUSE)
    case.save()
    _record(
        case=case, actor=actor, action=A.REFUSE, status_from=status_from, note=reason
    )

    return case


@transaction.atomic
def case_request_correction(
    *,
    case: Case,
    actor: User,
    items: list[int | str] | None = None,
    note: str = "",
) -> Case:
    """Ask the applicant for every missing or faulty material at once (补正).

    Every required material the case has no file for is listed, plus the
    ``items`` the clerk names: requirement ids, or free text for anything
    else. The clock does not start.
    """
    case = _lock(case)
    _ensure_may_act(case, actor, A.REQUEST_CORRECTION)
    transitions.ensure_allowed(case, A.REQUEST_CORRECTION)

    requirements = {req.pk: req for req in case.item.materials.all()}
    entries = selectors.case_missing_materials(case)
    listed = {entry["requirement_id"] for entry in entries}
    for item in items or []:
        text = str(item).strip()
        if isinstance(item, int) or text.isdigit():
            requirement = requirements.get(int(text))
            if requirement is None:
                raise ServiceError(
                    gettext("Material %(id)s is not a material of this item.")
                    % {"id": text},
                    field="items",
                    code="unknown_requirement",
                )
            if requirement.pk not in listed:
                entries.append(
                    {"requirement_id": requirement.pk, "name": requirement.name}
                )
                listed.add(requirement.pk)
        elif text:
            entries.append({"requirement_id": None, "name": text[:300]})
    if not entries:
        raise ServiceError(
            gettext("List every material the applicant must supply or correct."),
            field="items",
            code="required",
        )

    case.correction_items = entries
    case.correction_note = (note or "").strip()
    status_from = _move(case, A.REQUEST_CORRECTION)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.REQUEST_CORRECTION,
        status_from=status_from,
        note="; ".join(entry["name"] for entry in entries),
        after={"correction_items": entries},
    )

    return case


@transaction.atomic
def case_supply_correction(
    *,
    case: Case,
    actor: User,
    materials: list[MaterialUpload],
    note: str = "",
) -> Case:
    """Hand in the requested materials; the case goes back to the window."""
    case = _lock(case)
    _ensure_may_act(case, actor, A.SUPPLY_CORRECTION)
    transitions.ensure_allowed(case, A.SUPPLY_CORRECTION)
    checked = uploads.uploads_check(list(materials or []), item_id=case.item_id)
    if not checked:
        raise ServiceError(
            gettext("Upload the materials asked for."),
            field="materials",
            code="required",
        )
    supplied = {c.requirement.pk for c in checked if c.requirement}
    missing = [
        entry["name"]
        for entry in case.correction_items
        if entry.get("requirement_id") and entry["requirement_id"] not in supplied
    ]
    if missing:
        raise ServiceError(
            gettext("These materials are still missing: %(names)s.")
            % {"names": "、".join(missing)},
            field="materials",
            code="correction_incomplete",
        )

    with _files_removed_on_failure() as stored:
        added = [
            uploads.material_store(case=case, checked=c, actor=actor, stored=stored)
            for c in checked
        ]
        status_from = _move(case, A.SUPPLY_CORRECTION)
        case.save()
        _record(
            case=case,
            actor=actor,
            action=A.SUPPLY_CORRECTION,
            status_from=status_from,
            note=(note or "").strip(),
            after={"materials": [m.pk for m in added]},
        )

    return case


@transaction.atomic
def case_suspend(*, case: Case, actor: User, kind: str, reason: str) -> Case:
    """Stop the case's clock from today for a procedure the law does not count.

    Today is the first paused day (the day the notice is issued).
    """
    case = _lock(case)
    _ensure_may_act(case, actor, A.SUSPEND)
    transitions.ensure_allowed(case, A.SUSPEND)
    if kind not in PauseKind.values:
        raise ServiceError(
            gettext("Choose why the case is suspended."),
            field="kind",
            code="invalid_choice",
        )
    reason = _required_text(
        reason, field="reason", message=gettext("Give the reason for the suspension.")
    )

    pause = CasePause.objects.create(
        case=case,
        kind=kind,
        reason=reason,
        started_on=workdays.beijing_today(),
        started_by=actor,
    )
    status_from = _move(case, A.SUSPEND)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.SUSPEND,
        status_from=status_from,
        note=reason,
        after={"pause": pause.pk, "kind": kind, "started_on": str(pause.started_on)},
    )

    return case


@transaction.atomic
def case_resume(
    *, case: Case, actor: User, materials_received_on: date | None = None
) -> Case:
    """Restart the clock; the pause ends on the day materials were received.

    The pause covers its first day through ``materials_received_on``
    (default today), both paused; the clock runs again the day after. Its
    working days are added to the legal and promised deadlines and to the
    open tasks' due dates.
    """
    case = _lock(case)
    _ensure_may_act(case, actor, A.RESUME)
    transitions.ensure_allowed(case, A.RESUME)
    today = workdays.beijing_today()
    pause = (
        case.pauses.select_for_update()
        .filter(ended_on__isnull=True)
        .order_by("-started_on", "-pk")
        .first()
    )
    last = materials_received_on or today
    if pause is not None and not (pause.started_on <= last <= today):
        raise ServiceError(
            gettext(
                "The day the materials were received must be between the "
                "first day of the suspension and today."
            ),
            field="materials_received_on",
            code="invalid_date",
        )
    before = {
        "legal_due": deadlines.iso_date(case.legal_due),
        "promised_due": deadlines.iso_date(case.promised_due),
    }

    paused_now = 0
    if pause is not None:
        pause = _open_pause_close(case, last=last)
        paused_now = pause.working_days
    case.paused_working_days = sum(
        p.working_days or 0 for p in case.pauses.filter(ended_on__isnull=False)
    )
    deadlines.case_dues_apply(case, deadlines.case_dues_compute(case))
    status_from = _move(case, A.RESUME)
    case.save()
    if pause is not None:
        _tasks_shift(case, pause)
    _record(
        case=case,
        actor=actor,
        action=A.RESUME,
        status_from=status_from,
        note=gettext("Paused %(days)s working days") % {"days": paused_now},
        after={
            **{f"{k}_before": v for k, v in before.items()},
            "legal_due": deadlines.iso_date(case.legal_due),
            "promised_due": deadlines.iso_date(case.promised_due),
            "paused_working_days": paused_now,
            "pause_ended_on": str(last),
        },
    )

    return case


def _tasks_shift(case: Case, pause: CasePause) -> None:
    """Move open tasks' due dates by the working days the pause held them."""
    for task in case.tasks.select_for_update().filter(status=TaskStatus.OPEN):
        if task.started_on is None or task.limit_working_days is None:
            continue
        # A task already overdue when the pause began stays overdue.
        if task.due_on is not None and task.due_on < pause.started_on:
            continue
        held = deadlines.pause_working_days(
            accepted_on=task.started_on, first=pause.started_on, last=pause.ended_on
        )
        if not held:
            continue
        task.paused_working_days += held
        due = deadlines.task_due_compute(task)
        task.due_on, task.due_provisional = due.due, due.provisional
        task.save(update_fields=["paused_working_days", "due_on", "due_provisional"])


@transaction.atomic
def case_extend(*, case: Case, actor: User, days: int, reason: str) -> Case:
    """Extend the case's deadlines once, approved by the acting reviewer or
    manager; the days are added to the legal and promised deadlines."""
    case = _lock(case)
    _ensure_may_act(case, actor, A.EXTEND)
    transitions.ensure_allowed(case, A.EXTEND)
    if case.extension_days:
        raise ServiceError(
            gettext("This case has already been extended once."),
            field="days",
            code="extension_used",
            status=409,
        )
    reason = _required_text(
        reason, field="reason", message=gettext("Give the reason for the extension.")
    )
    limit = case.legal_limit_value or 0
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= limit:
        raise ServiceError(
            gettext("An extension is from 1 to %(limit)s working days.")
            % {"limit": limit},
            field="days",
            code="invalid_days",
        )
    before = {
        "legal_due": deadlines.iso_date(case.legal_due),
        "promised_due": deadlines.iso_date(case.promised_due),
    }

    case.extension_days = days
    case.extension_reason = reason
    case.extension_approved_by = actor
    case.extension_approved_at = timezone.now()
    deadlines.case_dues_apply(case, deadlines.case_dues_compute(case))
    status_from = _move(case, A.EXTEND)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.EXTEND,
        status_from=status_from,
        note=reason,
        after={
            **{f"{k}_before": v for k, v in before.items()},
            "extension_days": days,
            "legal_due": deadlines.iso_date(case.legal_due),
            "promised_due": deadlines.iso_date(case.promised_due),
        },
    )

    return case


@transaction.atomic
def case_withdraw(*, case: Case, actor: User, reason: str = "") -> Case:
    """Withdraw the application at the applicant's request, before a decision."""
    case = _lock(case)
    _ensure_may_act(case, actor, A.WITHDRAW)
    transitions.ensure_allowed(case, A.WITHDRAW)

    _open_pause_close(case, last=workdays.beijing_today())
    cancelled = _tasks_cancel(case)
    case.closed_at = timezone.now()
    status_from = _move(case, A.WITHDRAW)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.WITHDRAW,
        status_from=status_from,
        note=(reason or "").strip(),
        after={"tasks_cancelled": cancelled},
    )

    return case


@transaction.atomic
def case_decide(*, case: Case, actor: User, decision: str, reason: str = "") -> Case:
    """Record the decision: approve, or deny with the reason the applicant gets.

    Only for a case in review without open route tasks: while the review
    chain runs, its last node decides (``task_complete``), and a direct
    decision is refused with a 409. Only a denial's reason reaches the
    applicant; a reason given with an approval stays in the audit trail.
    """
    case = _lock(case)
    _ensure_may_act(case, actor, A.DECIDE)
    transitions.ensure_allowed(case, A.DECIDE)
    if case.tasks.filter(status=TaskStatus.OPEN).exists():
        raise ServiceError(
            gettext(
                "The review steps are not finished; the decision cannot be "
                "made directly."
            ),
            field="decision",
            code="review_not_finished",
            status=409,
        )

    return _decide(case=case, actor=actor, decision=decision, reason=reason)


def _decide(*, case: Case, actor: User, decision: str, reason: str) -> Case:
    """Decide the locked case; the caller checked who acts and when."""
    if decision not in Decision.values:
        raise ServiceError(
            gettext("Choose approve or deny."), field="decision", code="invalid_choice"
        )
    reason = (reason or "").strip()
    if decision == Decision.DENIED and not reason:
        raise ServiceError(
            gettext("A denial needs the reason."), field="reason", code="required"
        )
    # Approval opinions are internal; the applicant gets a denial's reason.
    public_reason = reason if decision == Decision.DENIED else ""

    cancelled = _tasks_cancel(case)
    case.decision = decision
    case.decision_reason = public_reason
    case.decided_at = timezone.now()
    status_from = _move(case, A.DECIDE)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.DECIDE,
        status_from=status_from,
        note=public_reason,
        after={
            "decision": decision,
            "tasks_cancelled": cancelled,
            **({"internal_reason": reason} if reason and not public_reason else {}),
        },
    )

    return case


def case_issue_result(*, case: Case, actor: User, note: str = "") -> Case:
    """Hand the decision document or licence to the applicant (出证/送达).

    Writes the numbered PDF (``results.result_issue``) in the same
    transaction. The PDF is drawn before the case is locked when the actor
    may issue it (``results.result_draft``) and kept if the document under
    the locks says the same, so other writers do not wait for the drawing;
    the checks that count are made again under the lock.
    """
    draft = None
    current = Case.objects.filter(pk=case.pk).first()
    if current is not None and _may_act_now(current, actor, A.ISSUE_RESULT):
        draft = results.result_draft(case=current)

    return _case_issue_result(case=case, actor=actor, note=note, draft=draft)


def _may_act_now(case: Case, actor: User, action: str) -> bool:
    """Tell whether ``action`` would pass its checks on ``case`` as read."""
    try:
        _ensure_may_act(case, actor, action)
        transitions.ensure_allowed(case, action)
    except (Http404, ServiceError):
        return False
    return True


@transaction.atomic
def _case_issue_result(
    *, case: Case, actor: User, note: str, draft: results.ResultDraft | None
) -> Case:
    case = _lock(case)
    _ensure_may_act(case, actor, A.ISSUE_RESULT)
    transitions.ensure_allowed(case, A.ISSUE_RESULT)

    document = results.result_issue(case=case, actor=actor, draft=draft)

    status_from = _move(case, A.ISSUE_RESULT)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.ISSUE_RESULT,
        status_from=status_from,
        note=(note or "").strip(),
        after={"document": document.number},
    )

    return case


@transaction.atomic
def case_close(*, case: Case, actor: User, note: str = "") -> Case:
    """Close the case after its result was issued (办结)."""
    case = _lock(case)
    _ensure_may_act(case, actor, A.CLOSE)
    transitions.ensure_allowed(case, A.CLOSE)

    case.closed_at = timezone.now()
    status_from = _move(case, A.CLOSE)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.CLOSE,
        status_from=status_from,
        note=(note or "").strip(),
    )

    return case


@transaction.atomic
def case_terminate(*, case: Case, actor: User, reason: str) -> Case:
    """End an open case without a decision (终止), with the reason."""
    case = _lock(case)
    _ensure_may_act(case, actor, A.TERMINATE)
    transitions.ensure_allowed(case, A.TERMINATE)
    reason = _required_text(
        reason, field="reason", message=gettext("Give the reason for terminating.")
    )

    _open_pause_close(case, last=workdays.beijing_today())
    cancelled = _tasks_cancel(case)
    case.closed_at = timezone.now()
    status_from = _move(case, A.TERMINATE)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=A.TERMINATE,
        status_from=status_from,
        note=reason,
        after={"tasks_cancelled": cancelled},
    )

    return case


# Review tasks


@transaction.atomic
def task_complete(*, task: Task, actor: User, outcome: str, opinion: str = "") -> Task:
    """Complete a review task with an outcome; the route opens the next step.

    Deny and return need an opinion. At the route's last step, approve or
    deny decides the case.
    """
    # Lock the case before the task, the order every service keeps.
    case = Case.objects.select_for_update().get(pk=task.case_id)
    try:
        task = Task.objects.select_for_update().get(pk=task.pk)
    except Task.DoesNotExist:
        raise Http404(gettext("No such task.")) from None
    _ensure_may_complete(task, actor)
    if task.status != TaskStatus.OPEN:
        raise ServiceError(
            gettext("This task has already been completed."),
            field="task",
            code="task_closed",
            status=409,
        )
    transitions.ensure_allowed(case, A.COMPLETE_TASK)
    _ensure_other_node_not_done_by(task, actor)
    if outcome not in TaskOutcome.values:
        raise ServiceError(
            gettext("Choose approve, deny or return."),
            field="outcome",
            code="invalid_choice",
        )
    opinion = (opinion or "").strip()
    if outcome in {TaskOutcome.DENY, TaskOutcome.RETURN} and not opinion:
        raise ServiceError(
            gettext("Give your opinion when you deny or return."),
            field="opinion",
            code="required",
        )

    task.case = case
    task.status = TaskStatus.DONE
    task.outcome = outcome
    task.opinion = opinion
    task.completed_at = timezone.now()
    task.completed_by = actor
    task.save()
    label = TaskOutcome(outcome).label
    CaseEvent.objects.create(
        case=case,
        action=A.COMPLETE_TASK,
        status_from=case.status,
        status_to=case.status,
        actor_label=_actor_label(actor),
        step=task.name,
        note=f"{task.name}: {label}" + (f": {opinion}" if opinion else ""),
    )
    audit_record(
        actor=actor,
        action="task_completed",
        target=task,
        before={"status": TaskStatus.OPEN},
        after={"status": task.status, "outcome": outcome, "case": case.number},
        note=opinion,
    )

    step = routes.route_get(case.route_key).on_task_completed(task, outcome)
    if step.finished:
        # The route's last node decides: the case is locked and the actor
        # checked above. An approving opinion stays on the task.
        transitions.ensure_role(actor, A.DECIDE)
        transitions.ensure_allowed(case, A.DECIDE)
        _decide(case=case, actor=actor, decision=step.decision, reason=opinion)

    transaction.on_commit(
        partial(
            log.info,
            "task_completed",
            task_id=task.pk,
            case_id=case.pk,
            outcome=outcome,
            next_tasks=[t.pk for t in step.tasks],
        )
    )
    return task

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
from django.db.models import Q
from django.http import Http404
from django.utils import formats, timezone
from django.utils.translation import gettext

from smartapproval.accounts.models import ApplicantKind, Role, User
from smartapproval.audit.services import audit_record
from smartapproval.cases import (
    commitments,
    deadlines,
    numbering,
    parallel,
    results,
    routes,
    selectors,
    transitions,
    uploads,
)
from smartapproval.cases.models import (
    CLOCK_STATUSES,
    OUTCOMES_NEEDING_OPINION,
    Case,
    CaseAction,
    CaseEvent,
    CaseMaterial,
    CasePause,
    CaseStatus,
    Channel,
    Commitment,
    CommitmentKind,
    CommitmentMaterial,
    CommitmentStatus,
    Decision,
    PauseKind,
    ResultDocument,
    SignerKind,
    SignerStatus,
    SignMode,
    Task,
    TaskActionKind,
    TaskKind,
    TaskLog,
    TaskOutcome,
    TaskSigner,
    TaskStatus,
    VerificationOutcome,
)
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.catalogue.models import (
    ApplicantScope,
    MaterialRequirement,
    ServiceItem,
)
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
# One urge per person and task within this time: a handler is told once.
URGE_INTERVAL = timedelta(hours=1)
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
    A.ACCEPT_CONDITIONALLY: "case_accepted_conditionally",
    A.SUPPLY_DEFERRED: "case_deferred_materials_supplied",
    A.RETURN: "case_returned",
    A.VERIFY_COMMITMENT: "case_commitment_verified",
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
    notify_commit: bool = False,
) -> str:
    content = {
        "item": item.pk,
        "applicant": applicant,
        "form": form_data,
        "files": sorted(
            [c.requirement.pk if c.requirement else 0, c.sha256] for c in checked
        ),
    }
    if notify_commit:
        content["notify_commit"] = True
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


def _notify_violation_error() -> ServiceError:
    return ServiceError(
        gettext(
            "The applicant has a violation on record: notify-and-commit is not "
            "available; submit the materials instead."
        ),
        field="notify_commit",
        code="applicant_has_violation",
        status=409,
    )


def _notify_requirements(item: ServiceItem, applicant: dict) -> list:
    """Check a choice of notify-and-commit; return the materials it replaces."""
    requirements = commitments.notify_requirements(item)
    if not requirements:
        raise ServiceError(
            gettext("This service does not offer notify-and-commit."),
            field="notify_commit",
            code="notify_commit_not_offered",
        )
    if party_selectors.party_violation_on_record(
        kind=applicant["kind"], code=applicant["code"]
    ):
        raise _notify_violation_error()
    return requirements


def _notify_commitment_record(
    *,
    case: Case,
    actor: User,
    party: Person | Enterprise,
    requirements: list[MaterialRequirement],
) -> Commitment:
    """Keep the notify-and-commit statement the applicant agreed to."""
    # Checked again on the locked library entry.
    if party.has_violation:
        raise _notify_violation_error()

    commitment = Commitment.objects.create(
        case=case,
        kind=CommitmentKind.NOTIFICATION,
        statement=commitments.notify_statement(case.item),
        recorded_by=actor,
    )
    CommitmentMaterial.objects.bulk_create(
        CommitmentMaterial(commitment=commitment, requirement=req, name=req.name)
        for req in requirements
    )
    audit_record(
        actor=actor,
        action="commitment_recorded",
        target=commitment,
        after={
            "case": case.number,
            "kind": commitment.kind,
            "materials": [req.pk for req in requirements],
        },
        note=commitment.statement,
    )

    return commitment


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
    notify_commit: bool = False,
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

    replaced = _notify_requirements(item, cleaned) if notify_commit else []
    # Only the account's own identity, checked before a number is taken.
    if action == A.SUBMIT and account is not None:
        try:
            party_selectors.party_online_ensure_own(
                kind=cleaned["kind"], code=cleaned["code"], account=account
            )
        except ServiceError as error:
            error.field = "applicant.code"
            raise
        # The name is the identity's, as the library holds it: an online
        # form cannot rename a company or a person (its code alone proves
        # nothing about the name typed beside it).
        own = party_selectors.party_own_record(
            kind=cleaned["kind"], code=cleaned["code"], account=account
        )
        if own is not None:
            cleaned["name"] = own.name
            if isinstance(own, Enterprise):
                cleaned["legal_representative"] = own.legal_representative
                if own.legal_representative_id_number:
                    cleaned["legal_representative_id_number"] = (
                        own.legal_representative_id_number
                    )

    fingerprint = _fingerprint(item, cleaned, form_data, checked, bool(replaced))
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
                notify_replaced=replaced,
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
    notify_replaced: list[MaterialRequirement],
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
    if notify_replaced:
        _notify_commitment_record(
            case=case, actor=actor, party=party, requirements=notify_replaced
        )

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
            **({"notify_commit": True} if notify_replaced else {}),
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
    notify_commit: bool = False,
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
    revoked licence, or one that is not that material
    (``results.licence_stands_for``), is refused and nothing is submitted.

    ``notify_commit`` True is the applicant's choice to commit instead of
    proving (告知承诺制), where the item offers it: the statement is kept
    with the case and the materials it replaces are no longer required.
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
        notify_commit=notify_commit,
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
    notify_commit: bool = False,
) -> SubmitResult:
    """Register an application a window clerk received for an item of their own
    department.

    Takes the same ``applicant`` fields as ``case_submit``, and
    ``notify_commit`` when the applicant signed the item's commitment at the
    window. Without an applicant account the key is unique per clerk.
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
        notify_commit=notify_commit,
    )


def _replaces_revoked_licences(case: Case, materials: list[MaterialUpload]) -> bool:
    """Whether every file replaces a material whose e-licence was revoked."""
    replaceable = {
        material.requirement_id
        for material in selectors.case_revoked_licence_materials(case)
    }
    return bool(materials) and all(
        upload.requirement_id in replaceable for upload in materials
    )


@transaction.atomic
def case_add_materials(
    *, case: Case, actor: User, materials: list[MaterialUpload], note: str = ""
) -> list[CaseMaterial]:
    """Add files to a case (applicant or window clerk).

    Before review, or while suspended; in review only while a
    co-department's revision is open, for the revised files, or to replace
    a material whose e-licence was revoked since it was handed in.
    """
    case = _lock(case)
    _ensure_may_act(case, actor, A.ADD_MATERIAL)
    transitions.ensure_allowed(case, A.ADD_MATERIAL)
    if (
        case.status == CaseStatus.IN_REVIEW
        and not _replaces_revoked_licences(case, materials)
        and not selectors.case_open_revisions(case)
    ):
        raise ServiceError(
            gettext(
                "During the review, files are added only when a department "
                "asks for a revision, or to replace a material whose e-licence "
                "was revoked."
            ),
            field="materials",
            code="no_revision_open",
            status=409,
        )
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
        names = "、".join(m.original_name for m in added)
        _record(
            case=case,
            actor=actor,
            action=A.ADD_MATERIAL,
            status_from=case.status,
            note=f"{names}：{note.strip()}" if (note or "").strip() else names,
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


def _missing_names(case: Case, deferring: frozenset[int]) -> str:
    """Name the required materials still missing, less those ``deferring``."""
    return "、".join(
        entry["name"]
        for entry in selectors.case_missing_materials(case)
        if entry["requirement_id"] not in deferring
    )


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

    return _accept(case=case, actor=actor, action=A.ACCEPT)


def _accept(
    *,
    case: Case,
    actor: User,
    action: str,
    note: str = "",
    after: dict[str, Any] | None = None,
    deferring: frozenset[int] = frozenset(),
) -> Case:
    """Start the locked case's clock and its review route.

    The one way into review: a plain acceptance and a conditional one
    (``action``) differ only in the timeline step and what it records, and
    in the materials (``deferring``) that may follow.
    """
    legal, legal_unit, promised, promised_unit = _limits_of(case.item)
    missing = _missing_names(case, deferring)
    if missing:
        # Accepting starts the clock: what is missing is asked for first,
        # all at once (补正).
        raise ServiceError(
            gettext(
                "These required materials are missing: %(names)s. Ask the "
                "applicant to supply them before accepting."
            )
            % {"names": missing},
            field="materials",
            code="materials_missing",
            status=409,
        )
    _ensure_no_revoked_licence_material(case, accepting=True)

    now = timezone.now()
    case.accepted_at = now
    case.accepted_on = workdays.beijing_date(now)
    case.legal_limit_value, case.legal_limit_unit = legal, legal_unit
    case.promised_limit_value, case.promised_limit_unit = promised, promised_unit
    case.paused_working_days = 0
    dues = deadlines.case_dues_compute(case)
    deadlines.case_dues_apply(case, dues)
    status_from = _move(case, action)
    case.save()
    _record(
        case=case,
        actor=actor,
        action=action,
        status_from=status_from,
        note=note,
        after={
            "accepted_on": case.accepted_on.isoformat(),
            "legal_due": deadlines.iso_date(case.legal_due),
            "promised_due": deadlines.iso_date(case.promised_due),
            "due_provisional": case.due_provisional,
            "provisional_years": dues.provisional_years,
            **(after or {}),
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

    return _suspend(
        case=case,
        actor=actor,
        kind=kind,
        reason=reason,
        started_on=workdays.beijing_today(),
    )


def _suspend(
    *, case: Case, actor: User | None, kind: str, reason: str, started_on: date
) -> Case:
    """Pause the locked case's clock from ``started_on``; the caller checked."""
    pause = CasePause.objects.create(
        case=case,
        kind=kind,
        reason=reason,
        started_on=started_on,
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
    _ensure_not_waiting_for_deferred(case, pause)
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

    return _resume(case=case, actor=actor, last=last)


def _resume(*, case: Case, actor: User | None, last: date) -> Case:
    """Restart the locked case's clock; its open pause ends on ``last``.

    The paused working days are added to the deadlines and the open tasks'
    due dates. The caller checked who acts and the day.
    """
    before = {
        "legal_due": deadlines.iso_date(case.legal_due),
        "promised_due": deadlines.iso_date(case.promised_due),
    }

    paused_now = 0
    pause = _open_pause_close(case, last=last)
    if pause is not None:
        paused_now = pause.working_days or 0
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
    """Move open tasks' clocks past the days the pause held them."""
    for task in case.tasks.select_for_update().filter(status=TaskStatus.OPEN):
        if task.started_on is None:
            continue
        # A node clock stands still on the paused days (cases.deadlines).
        clock = deadlines.task_node_clock(task)
        if clock is not None:
            changed = deadlines.task_node_clock_apply(task, clock)
            if changed:
                task.save(update_fields=changed)
            continue
        # A task already overdue when the pause began stays overdue.
        if task.due_on is not None and task.due_on < pause.started_on:
            continue
        held = deadlines.pause_working_days(
            accepted_on=task.started_on, first=pause.started_on, last=pause.ended_on
        )
        if not held or task.limit_working_days is None:
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
    if case.route_wakes_at is not None:
        # The route waits on a timer with no task open; its next step, not a
        # direct decision, moves the case on.
        raise ServiceError(
            gettext(
                "The review route is waiting for its timer (until %(moment)s); "
                "the decision cannot be made directly."
            )
            % {
                "moment": formats.date_format(
                    timezone.localtime(case.route_wakes_at), "Y-m-d H:i"
                )
            },
            field="decision",
            code="route_waiting",
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
    if decision == Decision.APPROVED:
        _ensure_no_deferred_outstanding(case)
        _ensure_no_revoked_licence_material(case)
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
    if decision == Decision.APPROVED:
        _verification_open(case=case, actor=actor)

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
#
# A task is handled by a reviewer of its department, or by its assignee once
# it was transferred to a person, or by the assignee's delegate. Every verb
# locks the case, then the task, writes a timeline event, a task log entry
# and an audit row in the same transaction.


def _task_lock(task: Task) -> tuple[Case, Task]:
    # Lock the case before the task, the order every service keeps.
    try:
        case = Case.objects.select_for_update().get(pk=task.case_id)
        task = Task.objects.select_for_update().get(pk=task.pk)
    except (Case.DoesNotExist, Task.DoesNotExist):
        raise Http404(gettext("No such task.")) from None
    task.case = case
    return case, task


def _ensure_task_open(task: Task) -> None:
    parallel.task_ensure_open(task)
    if task.status != TaskStatus.OPEN:
        raise ServiceError(
            gettext("This task has already been completed."),
            field="task",
            code="task_closed",
            status=409,
        )


def _ensure_handler(task: Task, actor: User) -> None:
    """Check that ``actor`` handles ``task`` now: scope, role, assignment."""
    _ensure_may_complete(task, actor)
    if task.kind == TaskKind.VERIFICATION:
        raise ServiceError(
            gettext(
                "This is the verification of a commitment: record whether the "
                "commitment is true."
            ),
            field="task",
            code="verification_task",
            status=409,
        )
    if task.assignee_id and actor.pk not in {task.assignee_id, task.delegate_id}:
        raise ServiceError(
            gettext("This task is assigned to %(name)s.") % {"name": task.assignee},
            field="task",
            code="assigned_to_other",
            status=403,
        )
    _ensure_other_node_not_done_by(task, actor)


def _task_record(
    *,
    case: Case,
    task: Task,
    actor: User,
    kind: str,
    action: str,
    audit_action: str,
    note: str = "",
    data: dict[str, Any] | None = None,
    before: dict[str, Any] | None = None,
) -> None:
    TaskLog.objects.create(
        task=task, kind=kind, actor=actor, note=note, data=data or {}
    )
    CaseEvent.objects.create(
        case=case,
        action=action,
        status_from=case.status,
        status_to=case.status,
        actor_label=_actor_label(actor),
        step=task.name,
        note=note,
    )
    audit_record(
        actor=actor,
        action=audit_action,
        target=task,
        before=before,
        after={"case": case.number, **(data or {})},
        note=note,
    )


def _answers_of(task: Task) -> tuple[str, ...]:
    return tuple(task.answers) or routes.SEQUENTIAL_ANSWERS


def _answer_clean(task: Task, outcome: str, opinion: str) -> str:
    answers = _answers_of(task)
    if outcome not in answers:
        raise ServiceError(
            gettext("Choose one of: %(answers)s.")
            % {"answers": "、".join(answer_label(task, a) for a in answers)},
            field="outcome",
            code="invalid_choice",
        )
    opinion = (opinion or "").strip()
    if outcome in OUTCOMES_NEEDING_OPINION and not opinion:
        raise ServiceError(
            gettext("Give your opinion when you answer “%(answer)s”.")
            % {"answer": answer_label(task, outcome)},
            field="opinion",
            code="required",
        )
    return opinion


def _ensure_revision_received(task: Task, opinion: str) -> None:
    """Refuse to close a revision step before the revision came in.

    Closing it reopens the co-department's review: without a revised file
    handed in since the step opened, the handler says in the opinion what
    was received otherwise, e.g. papers handed in at the window.
    """
    if not selectors.task_is_revision_step(task) or opinion:
        return
    if selectors.revision_files_received(task):
        return
    raise ServiceError(
        gettext(
            "No revised file has been handed in since the revision was asked "
            "for. Wait for the applicant's files, or say in the opinion what "
            "was received otherwise (for example papers at the window)."
        ),
        field="opinion",
        code="revision_not_received",
        status=409,
    )


def answer_label(task: Task, outcome: str) -> str:
    """Name an answer as the task's handler reads it.

    On the node that decides the case, approved and denied are 准予许可 and
    不予许可; elsewhere they are a reviewer's opinion.
    """
    if task.decides and outcome in DECISION_LABELS:
        return str(DECISION_LABELS[TaskOutcome(outcome)])
    if outcome in (task.answer_labels or {}):
        return str(task.answer_labels[outcome])
    for choices in (TaskOutcome, VerificationOutcome):
        try:
            return str(choices(outcome).label)
        except ValueError:
            continue
    return outcome


def task_answers_of(task: Task) -> tuple[str, ...]:
    """Return the answers ``task`` takes: its route's, or a verification's."""
    if task.kind == TaskKind.VERIFICATION:
        return tuple(VerificationOutcome.values)
    return _answers_of(task)


DECISION_LABELS = {
    TaskOutcome.APPROVED: Decision.APPROVED.label,
    TaskOutcome.DENIED: Decision.DENIED.label,
}


def _task_finish(
    *,
    case: Case,
    task: Task,
    actor: User,
    outcome: str,
    opinion: str,
    note: str = "",
    reason: str | None = None,
) -> routes.RouteStep:
    """Close the locked task with ``outcome`` and let the route go on.

    ``reason`` is what a denial tells the applicant, ``opinion`` by default.
    """
    route = routes.route_get(case.route_key)
    route.answer_check(task, outcome)

    task.status = TaskStatus.DONE
    task.outcome = outcome
    task.opinion = opinion
    task.completed_at = timezone.now()
    task.completed_by = actor
    task.save()
    label = answer_label(task, outcome)
    CaseEvent.objects.create(
        case=case,
        action=A.COMPLETE_TASK,
        status_from=case.status,
        status_to=case.status,
        actor_label=_actor_label(actor),
        step=task.name,
        note=f"{task.name}: {label}"
        + (f": {opinion}" if opinion else "")
        + (f" ({note})" if note else ""),
    )
    audit_record(
        actor=actor,
        action="task_completed",
        target=task,
        before={"status": TaskStatus.OPEN},
        after={"status": task.status, "outcome": outcome, "case": case.number},
        note=opinion,
    )
    if outcome == TaskOutcome.REVISION_REQUIRED:
        # What to revise is meant for the applicant, unlike other opinions.
        CaseEvent.objects.create(
            case=case,
            action=A.REQUEST_REVISION,
            status_from=case.status,
            status_to=case.status,
            actor_label=_actor_label(actor),
            step=task.department.name,
            note=opinion,
        )

    step = route.on_task_completed(task, outcome)
    if step.finished:
        # The route decides: the case is locked and the actor checked. An
        # approving opinion stays on the task; a denial names its reason.
        transitions.ensure_role(actor, A.DECIDE)
        transitions.ensure_allowed(case, A.DECIDE)
        _decide(
            case=case,
            actor=actor,
            decision=step.decision,
            reason=step.reason or (opinion if reason is None else reason),
        )
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
    return step


@transaction.atomic
def task_complete(*, task: Task, actor: User, outcome: str, opinion: str = "") -> Task:
    """Answer a review task; the route opens the next step or decides.

    The answers a task takes are the route's (``Task.answers``); refusing,
    denying, asking for a revision or approving with conditions needs an
    opinion. A task waiting for co-signers, or decided by countersigners,
    cannot be answered directly.
    """
    case, task = _task_lock(task)
    _ensure_handler(task, actor)
    _ensure_task_open(task)
    transitions.ensure_allowed(case, A.COMPLETE_TASK)
    opinion = _answer_clean(task, outcome, opinion)
    _ensure_revision_received(task, opinion)
    if task.sign_mode:
        raise ServiceError(
            gettext(
                "The countersigners decide this task; it cannot be answered alone."
            ),
            field="task",
            code="countersign_pending",
            status=409,
        )
    pending = list(
        task.signers.filter(status=SignerStatus.PENDING).select_related("user")
    )
    if pending:
        raise ServiceError(
            gettext("Waiting for the co-signers: %(names)s.")
            % {"names": "、".join(str(signer.user) for signer in pending)},
            field="task",
            code="cosigners_pending",
            status=409,
        )

    note = ""
    if task.delegate_id == actor.pk and task.assignee_id:
        note = gettext("on behalf of %(name)s") % {"name": task.assignee}
    _task_finish(
        case=case, task=task, actor=actor, outcome=outcome, opinion=opinion, note=note
    )
    return task


def task_send_back_targets(*, task: Task) -> list:
    """List the earlier steps ``task`` may send its case back to."""
    if task.status != TaskStatus.OPEN:
        return []
    return list(routes.route_get(task.case.route_key).send_back_targets(task))


@transaction.atomic
def task_send_back(*, task: Task, actor: User, node_key: str, reason: str) -> Task:
    """Send the case back to an earlier step (退回), with the reason.

    The earlier step opens again for its department; what was done after it
    is undone and its open tasks are no longer needed.
    """
    case, task = _task_lock(task)
    _ensure_handler(task, actor)
    _ensure_task_open(task)
    transitions.ensure_allowed(case, A.SEND_BACK)
    reason = _required_text(
        reason, field="reason", message=gettext("Give the reason for sending back.")
    )
    route = routes.route_get(case.route_key)

    task.status = TaskStatus.DONE
    task.outcome = TaskOutcome.SENT_BACK
    task.opinion = reason
    task.completed_at = timezone.now()
    task.completed_by = actor
    task.save()
    step = route.send_back(task, node_key)
    _task_record(
        case=case,
        task=task,
        actor=actor,
        kind=TaskActionKind.SEND_BACK,
        action=A.SEND_BACK,
        audit_action="task_sent_back",
        note=reason,
        data={"to": node_key, "opened": [t.pk for t in step.tasks]},
        before={"status": TaskStatus.OPEN},
    )
    return task


def _staff_user(pk: int | None, *, field: str) -> User:
    user = (
        User.objects.filter(pk=pk, is_active=True, role=Role.REVIEWER).first()
        if pk
        else None
    )
    if user is None:
        raise ServiceError(
            gettext("Choose an active reviewer."), field=field, code="invalid_choice"
        )
    return user


@transaction.atomic
def task_transfer(*, task: Task, actor: User, to_user_id: int, reason: str) -> Task:
    """Hand the task over to another reviewer (转办), who then handles it alone.

    A reviewer transfers within the task's department; a centre manager may
    also send a misrouted task to a reviewer of another department.
    """
    case, task = _task_lock(task)
    if not actor.sees_all_departments:
        _ensure_handler(task, actor)
    elif not _sees_department(actor, task.department_id):
        raise Http404(gettext("No such task."))
    transitions.ensure_role(actor, A.TRANSFER_TASK)
    _ensure_task_open(task)
    transitions.ensure_allowed(case, A.TRANSFER_TASK)
    if task.delegate_id == actor.pk and task.assignee_id != actor.pk:
        raise ServiceError(
            gettext("A delegate acts on the task; only its handler transfers it."),
            field="task",
            code="not_handler",
            status=403,
        )
    if task.sign_mode:
        raise ServiceError(
            gettext("The countersigners decide this task; it cannot be transferred."),
            field="task",
            code="countersign_pending",
            status=409,
        )
    reason = _required_text(
        reason, field="reason", message=gettext("Give the reason for the transfer.")
    )
    to_user = _staff_user(to_user_id, field="to_user")
    if to_user.pk == actor.pk or to_user.pk == task.assignee_id:
        raise ServiceError(
            gettext("The task is already yours to handle."),
            field="to_user",
            code="same_user",
        )
    if to_user.department_id != task.department_id and not actor.sees_all_departments:
        raise ServiceError(
            gettext(
                "A task can be transferred only within its department; ask the "
                "centre to send it to another department."
            ),
            field="to_user",
            code="other_department",
            status=403,
        )
    if selectors.task_excluded_for_user(task=task, user=to_user):
        raise ServiceError(
            gettext("%(name)s has handled another step of this case.")
            % {"name": to_user},
            field="to_user",
            code="separation_of_duties",
            status=409,
        )

    before = {
        "department": task.department_id,
        "assignee": task.assignee_id,
        "delegate": task.delegate_id,
    }
    task.department_id = to_user.department_id
    task.assignee = to_user
    task.delegate = None
    task.save(update_fields=["department", "assignee", "delegate"])
    # The new handler decides whom to ask: earlier requests to sign lapse.
    withdrawn = task.signers.filter(status=SignerStatus.PENDING).update(
        status=SignerStatus.CANCELLED
    )
    _task_record(
        case=case,
        task=task,
        actor=actor,
        kind=TaskActionKind.TRANSFER,
        action=A.TRANSFER_TASK,
        audit_action="task_transferred",
        note=reason,
        data={
            "to_user": to_user.pk,
            "department": to_user.department_id,
            "signers_withdrawn": withdrawn,
        },
        before=before,
    )
    return task


@transaction.atomic
def task_delegate(*, task: Task, actor: User, to_user_id: int, note: str = "") -> Task:
    """Let a colleague act for the task's handler (委托), who stays responsible.

    The handler of an unassigned task takes it on and delegates it; the
    delegate's answer is recorded as given on the handler's behalf.
    """
    case, task = _task_lock(task)
    _ensure_handler(task, actor)
    _ensure_task_open(task)
    transitions.ensure_allowed(case, A.DELEGATE_TASK)
    if task.assignee_id and actor.pk != task.assignee_id:
        raise ServiceError(
            gettext("Only the task's handler can delegate it."),
            field="task",
            code="not_handler",
            status=403,
        )
    to_user = _staff_user(to_user_id, field="to_user")
    if to_user.department_id != task.department_id or to_user.pk == actor.pk:
        raise ServiceError(
            gettext("Delegate to another reviewer of the same department."),
            field="to_user",
            code="other_department",
        )
    # Checked under the task's row lock: of two identical requests racing,
    # the second finds the delegation made and changes nothing.
    if task.delegate_id == to_user.pk:
        raise ServiceError(
            gettext("The task is already delegated to %(name)s.") % {"name": to_user},
            field="to_user",
            code="already_delegated",
            status=409,
        )
    if selectors.task_excluded_for_user(task=task, user=to_user):
        raise ServiceError(
            gettext("%(name)s has handled another step of this case.")
            % {"name": to_user},
            field="to_user",
            code="separation_of_duties",
            status=409,
        )

    before = {"assignee": task.assignee_id, "delegate": task.delegate_id}
    task.assignee = actor
    task.delegate = to_user
    task.save(update_fields=["assignee", "delegate"])
    _task_record(
        case=case,
        task=task,
        actor=actor,
        kind=TaskActionKind.DELEGATE,
        action=A.DELEGATE_TASK,
        audit_action="task_delegated",
        note=(note or "").strip(),
        data={"delegate": to_user.pk},
        before=before,
    )
    return task


def _signers_clean(task: Task, actor: User, user_ids: list[int]) -> list[User]:
    ids = list(dict.fromkeys(int(pk) for pk in user_ids or []))
    if not ids:
        raise ServiceError(
            gettext("Choose at least one signer."), field="signers", code="required"
        )
    users = list(
        User.objects.filter(
            pk__in=ids,
            is_active=True,
            role=Role.REVIEWER,
            department_id=task.department_id,
        )
    )
    if len(users) != len(ids):
        raise ServiceError(
            gettext("Signers are active reviewers of the task's department."),
            field="signers",
            code="invalid_choice",
        )
    taken = set(
        task.signers.exclude(status=SignerStatus.CANCELLED).values_list(
            "user_id", flat=True
        )
    )
    for user in users:
        if user.pk == actor.pk or user.pk in taken:
            raise ServiceError(
                gettext("%(name)s already signs this task.") % {"name": user},
                field="signers",
                code="duplicate",
            )
        if selectors.task_excluded_for_user(task=task, user=user):
            raise ServiceError(
                gettext("%(name)s has handled another step of this case.")
                % {"name": user},
                field="signers",
                code="separation_of_duties",
                status=409,
            )
    return users


def _ensure_department_keeps_hands(
    *, case: Case, task: Task, actor: User, signers: list[User]
) -> None:
    """Refuse signers who would leave a later node of the department to nobody.

    Whoever signs a step has handled it, so separation of duties keeps them
    from the case's other steps: asking every colleague to sign would leave
    the department's next step, e.g. the lead's decision, in no inbox. Each
    node of the task's department the route may still reach needs one
    person of the department who may complete it.
    """
    later = routes.route_get(case.route_key).later_nodes(task)
    if not later:
        return
    signing = {actor.pk, *(user.pk for user in signers)}
    signing.update(
        task.signers.exclude(status=SignerStatus.CANCELLED).values_list(
            "user_id", flat=True
        )
    )
    people = User.objects.filter(
        is_active=True,
        role__in=transitions.ACTION_ROLES[A.COMPLETE_TASK],
        department_id=task.department_id,
    )
    # This node's earlier completion no longer stands once the task is done;
    # its signers and handler take it now.
    handled = []
    for person in people:
        nodes = selectors.case_nodes_handled_by(case=case, user=person)
        nodes.discard(task.node_key)
        if person.pk in signing:
            nodes.add(task.node_key)
        handled.append(nodes)

    for node in later:
        if not any(nodes <= {node.node_key} for nodes in handled):
            raise ServiceError(
                gettext(
                    "Then nobody of %(department)s could take the step "
                    "“%(step)s” of this case: whoever signs a step may not "
                    "handle another step of the same case. Ask fewer "
                    "colleagues to sign."
                )
                % {"department": task.department.name, "step": node.name},
                field="signers",
                code="no_one_left",
                status=409,
            )


@transaction.atomic
def task_cosigners_add(
    *, task: Task, actor: User, user_ids: list[int], note: str = ""
) -> Task:
    """Ask colleagues to sign the task before its handler answers it (加签)."""
    case, task = _task_lock(task)
    _ensure_handler(task, actor)
    _ensure_task_open(task)
    transitions.ensure_allowed(case, A.ADD_SIGNER)
    if task.sign_mode:
        raise ServiceError(
            gettext("The countersigners decide this task already."),
            field="task",
            code="countersign_pending",
            status=409,
        )
    users = _signers_clean(task, actor, user_ids)
    _ensure_department_keeps_hands(case=case, task=task, actor=actor, signers=users)

    TaskSigner.objects.bulk_create(
        TaskSigner(task=task, user=user, kind=SignerKind.COSIGNER, added_by=actor)
        for user in users
    )
    _task_record(
        case=case,
        task=task,
        actor=actor,
        kind=TaskActionKind.ADD_COSIGNER,
        action=A.ADD_SIGNER,
        audit_action="task_cosigners_added",
        note=(note or "").strip(),
        data={"signers": [user.pk for user in users]},
    )
    return task


@transaction.atomic
def task_countersign(
    *, task: Task, actor: User, user_ids: list[int], mode: str, note: str = ""
) -> Task:
    """Let several reviewers decide the task together (会签 or 或签).

    ``mode`` "all": every signer answers and the task takes the most severe
    answer; "any": the first answer decides and the other signers are no
    longer needed. The handler becomes one of the signers.
    """
    case, task = _task_lock(task)
    _ensure_handler(task, actor)
    _ensure_task_open(task)
    transitions.ensure_allowed(case, A.ADD_SIGNER)
    if mode not in {SignMode.ALL, SignMode.ANY}:
        raise ServiceError(
            gettext("Choose whether all must sign or any one may sign."),
            field="mode",
            code="invalid_choice",
        )
    if task.sign_mode:
        raise ServiceError(
            gettext("The countersigners decide this task already."),
            field="task",
            code="countersign_pending",
            status=409,
        )
    if task.signers.filter(status=SignerStatus.PENDING).exists():
        raise ServiceError(
            gettext("Wait for the co-signers first."),
            field="task",
            code="cosigners_pending",
            status=409,
        )
    users = [actor, *_signers_clean(task, actor, user_ids)]
    _ensure_department_keeps_hands(case=case, task=task, actor=actor, signers=users)

    task.sign_mode = mode
    task.save(update_fields=["sign_mode"])
    TaskSigner.objects.bulk_create(
        TaskSigner(task=task, user=user, kind=SignerKind.COUNTERSIGNER, added_by=actor)
        for user in users
    )
    _task_record(
        case=case,
        task=task,
        actor=actor,
        kind=TaskActionKind.COUNTERSIGN,
        action=A.ADD_SIGNER,
        audit_action="task_countersign_started",
        note=(note or "").strip(),
        data={"mode": mode, "signers": [user.pk for user in users]},
    )
    return task


def sign_answers(task: Task, kind: str) -> list[tuple[str, str]]:
    """The answers a signer of ``kind`` signs ``task`` with, and their words.

    A co-signer agrees or not (同意/不同意: the task's own words, such as
    准予许可, are the handler's); a countersigner answers as the handler.
    """
    if kind == SignerKind.COSIGNER:
        return [
            (outcome.value, str(outcome.label))
            for outcome in (TaskOutcome.APPROVED, TaskOutcome.REJECTED)
        ]
    return [(answer, answer_label(task, answer)) for answer in _answers_of(task)]


@transaction.atomic
def task_sign(
    *, task: Task, actor: User, outcome: str, opinion: str = ""
) -> TaskSigner:
    """Sign a task as a co-signer or countersigner, with an answer.

    A co-signer answers approved or rejected, for the handler to read. A
    countersigner answers as the task's handler would; the last signature
    (all) or the first (any) completes the task.
    """
    case, task = _task_lock(task)
    _ensure_task_open(task)
    signer = (
        task.signers.select_for_update()
        .filter(user=actor, status=SignerStatus.PENDING)
        .first()
    )
    if signer is None or actor.department_id != task.department_id:
        if (
            actor.department_id == task.department_id
            and task.signers.filter(user=actor, status=SignerStatus.SIGNED).exists()
        ):
            # A second click, or the same answer sent twice: say so.
            raise ServiceError(
                gettext("You have already signed this task."),
                field="task",
                code="already_signed",
                status=409,
            )
        raise Http404(gettext("No such task."))
    transitions.ensure_role(actor, A.SIGN_TASK)
    transitions.ensure_allowed(case, A.SIGN_TASK)
    if signer.kind == SignerKind.COSIGNER:
        if outcome not in {TaskOutcome.APPROVED, TaskOutcome.REJECTED}:
            raise ServiceError(
                gettext("Choose approved or rejected."),
                field="outcome",
                code="invalid_choice",
            )
        opinion = (opinion or "").strip()
        if outcome == TaskOutcome.REJECTED and not opinion:
            raise ServiceError(
                gettext("Give your opinion when you reject."),
                field="opinion",
                code="required",
            )
    else:
        _ensure_other_node_not_done_by(task, actor)
        opinion = _answer_clean(task, outcome, opinion)
        _ensure_revision_received(task, opinion)
        routes.route_get(case.route_key).answer_check(task, outcome)

    signer.status = SignerStatus.SIGNED
    signer.outcome = outcome
    signer.opinion = opinion
    signer.signed_at = timezone.now()
    signer.save()
    _task_record(
        case=case,
        task=task,
        actor=actor,
        kind=TaskActionKind.SIGN,
        action=A.SIGN_TASK,
        audit_action="task_signed",
        note=f"{answer_label(task, outcome)}" + (f": {opinion}" if opinion else ""),
        data={"signer": signer.pk, "kind": signer.kind, "outcome": outcome},
    )

    if signer.kind == SignerKind.COUNTERSIGNER:
        _countersign_settle(case=case, task=task, actor=actor)
    return signer


def _countersign_settle(*, case: Case, task: Task, actor: User) -> None:
    """Complete a countersigned task once its mode is satisfied."""
    signers = list(
        task.signers.filter(kind=SignerKind.COUNTERSIGNER)
        .exclude(status=SignerStatus.CANCELLED)
        .select_related("user")
    )
    signed = [s for s in signers if s.status == SignerStatus.SIGNED]
    if task.sign_mode == SignMode.ALL and len(signed) < len(signers):
        return

    if task.sign_mode == SignMode.ANY:
        task.signers.filter(status=SignerStatus.PENDING).update(
            status=SignerStatus.CANCELLED
        )
        outcome = signed[-1].outcome
    else:
        outcome = parallel.most_severe([s.outcome for s in signed])
    opinion = "；".join(
        f"{s.user}：{answer_label(task, s.outcome)}"
        + (f"，{s.opinion}" if s.opinion else "")
        for s in signed
    )
    # The applicant reads the reasons of the answer that decided, not who
    # gave them.
    reason = "；".join(s.opinion for s in signed if s.outcome == outcome and s.opinion)
    _task_finish(
        case=case,
        task=task,
        actor=actor,
        outcome=outcome,
        opinion=opinion,
        note=str(SignMode(task.sign_mode).label),
        reason=reason,
    )


@transaction.atomic
def task_urge(*, task: Task, actor: User, note: str = "") -> Task:
    """Urge the handler of an open task (催办).

    The centre's managers urge any task; the case's lead department urges
    the tasks of its co-departments and its own.
    """
    try:
        case = Case.objects.select_for_update().get(pk=task.case_id)
    except Case.DoesNotExist:
        raise Http404(gettext("No such task.")) from None
    if not (
        actor.sees_all_departments
        or (
            getattr(actor, "is_staff_member", False)
            and actor.department_id == case.department_id
        )
    ):
        raise Http404(gettext("No such task."))
    transitions.ensure_role(actor, A.URGE_TASK)
    task = Task.objects.select_for_update().get(pk=task.pk)
    task.case = case
    _ensure_task_open(task)
    transitions.ensure_allowed(case, A.URGE_TASK)
    recent = task.log.filter(
        kind=TaskActionKind.URGE,
        actor=actor,
        at__gte=timezone.now() - URGE_INTERVAL,
    ).exists()
    if recent:
        raise ServiceError(
            gettext("You urged this task less than an hour ago."),
            field="task",
            code="urged_recently",
            status=409,
        )

    task.urge_count += 1
    task.last_urged_at = timezone.now()
    task.save(update_fields=["urge_count", "last_urged_at"])
    _task_record(
        case=case,
        task=task,
        actor=actor,
        kind=TaskActionKind.URGE,
        action=A.URGE_TASK,
        audit_action="task_urged",
        note=(note or "").strip(),
        data={"count": task.urge_count},
    )
    # The handler's and their leader's inboxes show the urge; messages to
    # them go out once the centre has a messaging channel (DESIGN §3).
    transaction.on_commit(
        partial(
            log.info,
            "task_urged",
            task_id=task.pk,
            case_id=case.pk,
            department_id=task.department_id,
            count=task.urge_count,
        )
    )
    return task


# Commitments: conditional acceptance (容缺受理) and notify-and-commit (告知承诺制)
# The rules are described in cases/commitments.py.


def _ensure_not_waiting_for_deferred(case: Case, pause: CasePause | None) -> None:
    """Refuse to end by hand the pause a missed 容缺 promise started.

    That pause ends when the last deferred material arrives
    (``case_supply_deferred``); a reviewer cannot wave the materials away.
    """
    if pause is None:
        return
    commitment = case.commitments.filter(
        kind=CommitmentKind.DEFERRAL, status=CommitmentStatus.OPEN, pause=pause
    ).first()
    if commitment is None:
        return

    names = [m.name for m in commitments.outstanding_materials(commitment)]
    raise ServiceError(
        gettext(
            "The case waits for the deferred materials (%(names)s); it resumes "
            "when they are supplied."
        )
        % {"names": "、".join(names)},
        field="status",
        code="waiting_for_deferred_materials",
        status=409,
    )


def _ensure_no_deferred_outstanding(case: Case) -> None:
    """Refuse an approval while deferred materials are still to come."""
    outstanding = commitments.deferral_outstanding(case)
    if not outstanding:
        return

    raise ServiceError(
        gettext(
            "The deferred materials are not all in yet (%(names)s): the case "
            "can be approved once they are supplied."
        )
        % {"names": "、".join(m.name for m in outstanding)},
        field="decision",
        code="deferred_materials_outstanding",
        status=409,
    )


def _ensure_no_revoked_licence_material(case: Case, *, accepting: bool = False) -> None:
    """Refuse an acceptance or approval on an e-licence revoked since it was used.

    The case holds a copy of the licence, which a revocation leaves as it
    was; the case waits until the applicant replaces the material.
    """
    revoked = selectors.case_revoked_licence_materials(case)
    if not revoked:
        return

    if accepting:
        message = gettext(
            "The e-licence used for the material %(materials)s was revoked "
            "(%(licences)s). Ask the applicant to replace the material before "
            "accepting."
        )
    else:
        message = gettext(
            "The e-licence used for the material %(materials)s was revoked "
            "(%(licences)s): the case can be approved once the material is "
            "replaced."
        )
    raise ServiceError(
        message
        % {
            "materials": "、".join(
                m.requirement.name if m.requirement else m.original_name
                for m in revoked
            ),
            "licences": "；".join(
                gettext("%(number)s, revoked on %(date)s")
                % {
                    "number": m.licence.number,
                    "date": formats.date_format(m.licence_revoked_on, "Y-m-d"),
                }
                for m in revoked
            ),
        },
        field="materials" if accepting else "decision",
        code="licence_material_revoked",
        status=409,
    )


def _verification_open(*, case: Case, actor: User | None) -> Task | None:
    """Open the verification of an approved notify-and-commit case."""
    commitment = commitments.case_commitment(case, CommitmentKind.NOTIFICATION)
    if commitment is None or commitment.status != CommitmentStatus.OPEN:
        return None
    decided_on = workdays.beijing_date(case.decided_at or timezone.now())

    task = commitments.verification_task_open(case, started_on=decided_on)
    audit_record(
        actor=actor,
        action="verification_task_opened",
        target=task,
        after={
            "case": case.number,
            "started_on": decided_on.isoformat(),
            "due_on": deadlines.iso_date(task.due_on),
            "limit_working_days": task.limit_working_days,
        },
    )

    transaction.on_commit(
        partial(log.info, "verification_task_opened", task_id=task.pk, case_id=case.pk)
    )
    return task


def _deferred_requirements(case: Case, deferred: list[int | str]) -> list:
    """Check the materials a clerk names for 容缺; return them in order."""
    requirements = {req.pk: req for req in case.item.materials.all()}
    supplied = set(
        case.materials.filter(requirement__isnull=False).values_list(
            "requirement_id", flat=True
        )
    )
    chosen = {}
    for raw in deferred or []:
        text = str(raw).strip()
        requirement = requirements.get(int(text)) if text.isdigit() else None
        if requirement is None:
            raise ServiceError(
                gettext("Material %(id)s is not a material of this item.")
                % {"id": text},
                field="deferred",
                code="unknown_requirement",
            )
        if not requirement.deferrable:
            raise ServiceError(
                gettext(
                    "“%(name)s” may not be deferred: only the materials the "
                    "item marks as deferrable may follow the acceptance."
                )
                % {"name": requirement.name},
                field="deferred",
                code="not_deferrable",
            )
        if requirement.pk in supplied:
            raise ServiceError(
                gettext("“%(name)s” has already been supplied.")
                % {"name": requirement.name},
                field="deferred",
                code="already_supplied",
            )
        chosen[requirement.pk] = requirement
    if not chosen:
        raise ServiceError(
            gettext("Tick the materials the applicant will supply later."),
            field="deferred",
            code="required",
        )

    return sorted(chosen.values(), key=lambda req: req.order)


def _commitment_due(
    *, today: date, due_on: date | None, working_days: int | None
) -> tuple[date, str]:
    """Return the promised day and the field it was given in."""
    label = gettext("Commitment deadline")
    if (due_on is None) == (working_days is None):
        raise ServiceError(
            gettext("%(field)s: give a date or a number of working days, not both.")
            % {"field": label},
            field="due_on",
            code="required",
        )
    if working_days is not None:
        if (
            not isinstance(working_days, int)
            or isinstance(working_days, bool)
            or working_days < 1
        ):
            raise ServiceError(
                gettext("%(field)s: give at least 1 working day.") % {"field": label},
                field="working_days",
                code="invalid_days",
            )
        return workdays.add_working_days(today, working_days).due, "working_days"
    if due_on is None or due_on <= today:
        raise ServiceError(
            gettext("%(field)s: the day must be after today.") % {"field": label},
            field="due_on",
            code="invalid_date",
        )
    if not workdays.is_workday(due_on):
        # Materials are handed in at the window, which is closed that day.
        raise ServiceError(
            gettext(
                "%(field)s: %(day)s is not a working day; choose a day the "
                "centre is open."
            )
            % {"field": label, "day": due_on.isoformat()},
            field="due_on",
            code="not_a_working_day",
        )
    return due_on, "due_on"


@transaction.atomic
def case_accept_conditionally(
    *,
    case: Case,
    actor: User,
    deferred: list[int | str],
    due_on: date | None = None,
    working_days: int | None = None,
    applicant_agreed: bool = False,
) -> Case:
    """Accept the case with named secondary materials to follow (容缺受理).

    Only materials the item marks ``deferrable`` may be ``deferred``; a
    required material that is not, missing, refuses it (ask for a
    correction instead). The promised day is ``due_on`` or ``working_days``
    from today, no later than the case's promised deadline, and the
    applicant must have signed the commitment (``applicant_agreed``), whose
    text is kept with the case. Refused with a 409 when the applicant has
    a violation on record. The clock and the review route start exactly as
    for ``case_accept``; a refused deadline rolls the acceptance back.
    """
    case = _lock(case)
    _ensure_may_act(case, actor, A.ACCEPT_CONDITIONALLY)
    transitions.ensure_allowed(case, A.ACCEPT_CONDITIONALLY)
    if commitments.applicant_has_violation(case):
        raise ServiceError(
            gettext(
                "The applicant has a violation on record: conditional "
                "acceptance is not available."
            ),
            field="applicant",
            code="applicant_has_violation",
            status=409,
        )
    requirements = _deferred_requirements(case, deferred)
    deferring = frozenset(req.pk for req in requirements)
    missing = _missing_names(case, deferring)
    if missing:
        raise ServiceError(
            gettext(
                "These required materials are missing and not deferred: "
                "%(names)s. Defer them too if the item allows it, or ask the "
                "applicant for a correction."
            )
            % {"names": missing},
            field="deferred",
            code="required_materials_missing",
            status=409,
        )
    today = workdays.beijing_today()
    due, due_field = _commitment_due(
        today=today, due_on=due_on, working_days=working_days
    )
    if not applicant_agreed:
        raise ServiceError(
            gettext("The applicant must sign the commitment to supply the materials."),
            field="applicant_agreed",
            code="required",
        )
    names = [req.name for req in requirements]

    case = _accept(
        case=case,
        actor=actor,
        deferring=deferring,
        action=A.ACCEPT_CONDITIONALLY,
        note=gettext("To be supplied by %(day)s: %(names)s")
        % {"day": due.isoformat(), "names": "、".join(names)},
        after={
            "deferred": [req.pk for req in requirements],
            "commitment_due_on": due.isoformat(),
        },
    )
    limit_due = case.promised_due or case.legal_due
    if limit_due is not None and due > limit_due:
        # Raised inside the transaction: the acceptance above is undone.
        raise ServiceError(
            gettext(
                "%(field)s: %(day)s is later than the case's promised "
                "deadline %(deadline)s."
            )
            % {
                "field": gettext("Commitment deadline"),
                "day": due.isoformat(),
                "deadline": limit_due.isoformat(),
            },
            field=due_field,
            code="commitment_after_deadline",
        )

    commitment = Commitment.objects.create(
        case=case,
        kind=CommitmentKind.DEFERRAL,
        statement=commitments.deferral_statement(
            applicant_kind=case.applicant_kind, names=names, due_on=due
        ),
        due_on=due,
        recorded_by=actor,
    )
    CommitmentMaterial.objects.bulk_create(
        CommitmentMaterial(commitment=commitment, requirement=req, name=req.name)
        for req in requirements
    )
    audit_record(
        actor=actor,
        action="commitment_recorded",
        target=commitment,
        after={
            "case": case.number,
            "kind": commitment.kind,
            "due_on": due.isoformat(),
            "cutoff_on": commitments.deferral_cutoff(due).due.isoformat(),
            "materials": [req.pk for req in requirements],
        },
        note=commitment.statement,
    )

    return case


def case_supply_deferred(
    *,
    case: Case,
    actor: User,
    materials: list[MaterialUpload],
    note: str = "",
) -> Case:
    """Hand in deferred materials of a 容缺受理 case (补交容缺材料).

    The applicant online (own case) or a window clerk. Some may come now and
    the rest later; with the last one the commitment is fulfilled, and a
    case paused for them resumes: the pause ends today and its working days
    are added back. After the cut-off the case is already returned and the
    files are refused. Call it outside a transaction, or in one that does
    not roll back on a refusal: a late day the daily job has not seen yet
    pauses or returns the case first, and that stands.
    """
    _ensure_may_act(case, actor, A.SUPPLY_DEFERRED)
    pending = case.commitments.filter(
        kind=CommitmentKind.DEFERRAL, status=CommitmentStatus.OPEN
    ).first()
    if pending is not None:
        _deferral_enforce(commitment_id=pending.pk, today=workdays.beijing_today())

    return _deferred_supply(case=case, actor=actor, materials=materials, note=note)


@transaction.atomic
def _deferred_supply(
    *, case: Case, actor: User, materials: list[MaterialUpload], note: str
) -> Case:
    case = _lock(case)
    _ensure_may_act(case, actor, A.SUPPLY_DEFERRED)
    commitment = (
        Commitment.objects.select_for_update()
        .filter(case=case, kind=CommitmentKind.DEFERRAL)
        .first()
    )
    if commitment is None:
        raise ServiceError(
            gettext("This case was not accepted with deferred materials."),
            field="materials",
            code="no_deferred_materials",
            status=409,
        )
    if commitment.status == CommitmentStatus.LAPSED:
        raise ServiceError(
            gettext(
                "Too late: the application was returned on %(day)s because the "
                "deferred materials had not been supplied by %(cutoff)s."
            )
            % {
                "day": (commitment.closed_on or workdays.beijing_today()).isoformat(),
                "cutoff": commitments.deferral_cutoff(commitment.due_on).due.isoformat()
                if commitment.due_on
                else "—",
            },
            field="materials",
            code="application_returned",
            status=409,
        )
    transitions.ensure_allowed(case, A.SUPPLY_DEFERRED)
    outstanding = commitments.outstanding_materials(commitment)
    if not outstanding:
        raise ServiceError(
            gettext("Every deferred material has already been supplied."),
            field="materials",
            code="nothing_outstanding",
            status=409,
        )
    checked = uploads.uploads_check(list(materials or []), item_id=case.item_id)
    if not checked:
        raise ServiceError(
            gettext("Upload the deferred materials."),
            field="materials",
            code="required",
        )
    entries = {m.requirement_id: m for m in outstanding if m.requirement_id}
    for upload in checked:
        if upload.requirement is None or upload.requirement.pk not in entries:
            raise ServiceError(
                gettext(
                    "The file “%(name)s” is not for one of the deferred "
                    "materials still to come."
                )
                % {"name": upload.original_name},
                field="materials",
                code="not_deferred",
            )
    today = workdays.beijing_today()

    with _files_removed_on_failure() as stored:
        added = [
            uploads.material_store(case=case, checked=c, actor=actor, stored=stored)
            for c in checked
        ]
        supplied = []
        for material in added:
            entry = entries.get(material.requirement_id)
            if entry is None or entry.supplied_on is not None:
                continue
            entry.supplied_on = today
            entry.material = material
            entry.save(update_fields=["supplied_on", "material"])
            supplied.append(entry)
        remaining = commitments.outstanding_materials(commitment)
        _record(
            case=case,
            actor=actor,
            action=A.SUPPLY_DEFERRED,
            status_from=case.status,
            note="、".join(entry.name for entry in supplied),
            after={
                "materials": [m.pk for m in added],
                "outstanding": [entry.name for entry in remaining],
                **({"applicant_note": note.strip()} if (note or "").strip() else {}),
            },
        )

        if not remaining:
            _deferral_fulfil(case=case, commitment=commitment, actor=actor, today=today)

    return case


def _deferral_fulfil(
    *, case: Case, commitment: Commitment, actor: User, today: date
) -> None:
    """Close a kept 容缺 promise; resume the case paused for it."""
    commitment.status = CommitmentStatus.FULFILLED
    commitment.closed_on = today
    commitment.save(update_fields=["status", "closed_on"])
    audit_record(
        actor=actor,
        action="commitment_fulfilled",
        target=commitment,
        before={"status": CommitmentStatus.OPEN},
        after={"status": commitment.status, "closed_on": today.isoformat()},
    )

    waiting = (
        case.status == CaseStatus.SUSPENDED
        and commitment.pause_id is not None
        and case.pauses.filter(pk=commitment.pause_id, ended_on__isnull=True).exists()
    )
    if waiting:
        # The day the last material came is the pause's last day.
        _resume(case=case, actor=actor, last=today)


@dataclass
class EnforceSummary:
    """What one run of the daily 容缺 job did."""

    seen: int = 0
    suspended: int = 0
    returned: int = 0
    voided: int = 0
    failed: int = 0


def commitments_enforce(*, today: date | None = None) -> EnforceSummary:
    """Pause or return the cases whose 容缺 promise has not been kept.

    The daily job (``cases.tasks.enforce_deferral_commitments``). From the
    day after the promised day a running case is paused (awaiting
    materials); after the cut-off it is returned (退件). A promise whose
    case ended otherwise (withdrawn, denied) is no longer needed. Each
    commitment is handled in its own transaction with the case row locked
    and its state read again under the lock, so a second run, or two
    workers at once, change nothing more.
    """
    today = today or workdays.beijing_today()
    ids = list(
        Commitment.objects.filter(
            kind=CommitmentKind.DEFERRAL, status=CommitmentStatus.OPEN
        )
        .filter(Q(due_on__lt=today) | ~Q(case__status__in=CLOCK_STATUSES))
        .order_by("pk")
        .values_list("pk", flat=True)
    )

    summary = EnforceSummary(seen=len(ids))
    for pk in ids:
        try:
            outcome = _deferral_enforce(commitment_id=pk, today=today)
        except Exception:
            # One broken case must not keep the others from their deadline.
            log.exception("deferral_commitment_enforce_failed", commitment_id=pk)
            summary.failed += 1
            continue
        if outcome:
            setattr(summary, outcome, getattr(summary, outcome) + 1)

    log.info(
        "deferral_commitments_enforced",
        today=today.isoformat(),
        seen=summary.seen,
        suspended=summary.suspended,
        returned=summary.returned,
        voided=summary.voided,
        failed=summary.failed,
    )
    return summary


@transaction.atomic
def _deferral_enforce(*, commitment_id: int, today: date) -> str:
    """Bring one 容缺 case in line with its promise; name what was done.

    Returns "suspended", "returned", "voided" or "" (nothing to do).
    """
    case_id = (
        Commitment.objects.filter(pk=commitment_id)
        .values_list("case_id", flat=True)
        .first()
    )
    if case_id is None:
        return ""
    # The case first, then the commitment: the order every service locks in.
    case = Case.objects.select_for_update().get(pk=case_id)
    commitment = Commitment.objects.select_for_update().get(pk=commitment_id)
    if commitment.status != CommitmentStatus.OPEN or commitment.due_on is None:
        return ""

    if case.status not in CLOCK_STATUSES:
        commitment.status = CommitmentStatus.VOID
        commitment.closed_on = today
        commitment.save(update_fields=["status", "closed_on"])
        audit_record(
            actor=None,
            action="commitment_voided",
            target=commitment,
            before={"status": CommitmentStatus.OPEN},
            after={"status": commitment.status, "case_status": case.status},
        )
        return "voided"

    outstanding = commitments.outstanding_materials(commitment)
    if not outstanding or today <= commitment.due_on:
        return ""
    cutoff = commitments.deferral_cutoff(commitment.due_on).due
    paused = case.status == CaseStatus.SUSPENDED or commitment.pause_id is not None
    if not paused:
        # Paused from the day after the promised day, even when the job did
        # not run that day.
        _deferral_pause(
            case=case,
            commitment=commitment,
            due_on=commitment.due_on,
            outstanding=outstanding,
            today=today,
        )
    if today > cutoff:
        _application_return(
            case=case,
            commitment=commitment,
            due_on=commitment.due_on,
            outstanding=outstanding,
            cutoff=cutoff,
            today=today,
        )
        return "returned"

    # Already paused: for these materials, or for another procedure whose
    # pause holds the clock anyway.
    return "" if paused else "suspended"


def _deferral_pause(
    *,
    case: Case,
    commitment: Commitment,
    due_on: date,
    outstanding: list[CommitmentMaterial],
    today: date,
) -> None:
    """Pause the case from the day after the promised day (awaiting materials)."""
    started_on = due_on + timedelta(days=1)
    # Never over a pause already counted, should one have ended since.
    last_ended = (
        case.pauses.filter(ended_on__isnull=False)
        .order_by("-ended_on")
        .values_list("ended_on", flat=True)
        .first()
    )
    if last_ended is not None and last_ended >= started_on:
        started_on = last_ended + timedelta(days=1)
    started_on = min(started_on, today)
    reason = gettext("Deferred materials not supplied by %(day)s: %(names)s") % {
        "day": due_on.isoformat(),
        "names": "、".join(m.name for m in outstanding),
    }

    _suspend(
        case=case,
        actor=None,
        kind=PauseKind.CORRECTION,
        reason=reason,
        started_on=started_on,
    )
    commitment.pause = case.pauses.filter(ended_on__isnull=True).latest(
        "started_on", "pk"
    )
    commitment.save(update_fields=["pause"])


def _application_return(
    *,
    case: Case,
    commitment: Commitment,
    due_on: date,
    outstanding: list[CommitmentMaterial],
    cutoff: date,
    today: date,
) -> None:
    """Return the application (退件): the materials missed the cut-off."""
    reason = gettext(
        "Application returned: the deferred materials (%(names)s) promised by "
        "%(due)s were not supplied by the cut-off %(cutoff)s."
    ) % {
        "names": "、".join(m.name for m in outstanding),
        "due": due_on.isoformat(),
        "cutoff": cutoff.isoformat(),
    }

    # The case waited through the cut-off day; it ends the day after.
    _open_pause_close(case, last=min(cutoff, today))
    cancelled = _tasks_cancel(case)
    case.closed_at = timezone.now()
    status_from = _move(case, A.RETURN)
    case.save()
    commitment.status = CommitmentStatus.LAPSED
    commitment.closed_on = today
    commitment.outcome_note = reason
    commitment.save(update_fields=["status", "closed_on", "outcome_note"])
    _record(
        case=case,
        actor=None,
        action=A.RETURN,
        status_from=status_from,
        note=reason,
        after={
            "tasks_cancelled": cancelled,
            "commitment_due_on": due_on.isoformat(),
            "cutoff_on": cutoff.isoformat(),
            "outstanding": [m.name for m in outstanding],
        },
    )
    audit_record(
        actor=None,
        action="commitment_lapsed",
        target=commitment,
        before={"status": CommitmentStatus.OPEN},
        after={"status": commitment.status, "closed_on": today.isoformat()},
        note=reason,
    )


@transaction.atomic
def task_verify(*, task: Task, actor: User, outcome: str, reason: str = "") -> Task:
    """Record what the verification of a notify-and-commit case found (核查).

    "Commitment confirmed" closes the task and the commitment. "Commitment
    false" needs the reason: the case's result is revoked with it
    (``results.result_revoke``) and a violation is recorded in the
    applicant's library entry. A false finding waits for the result to be
    issued, since there is nothing to revoke before; separation of duties
    of the review route does not apply to this later check.
    """
    case = Case.objects.select_for_update().get(pk=task.case_id)
    try:
        task = Task.objects.select_for_update().get(pk=task.pk)
    except Task.DoesNotExist:
        raise Http404(gettext("No such task.")) from None
    if actor is None or not _sees_department(actor, task.department_id):
        raise Http404(gettext("No such task."))
    transitions.ensure_role(actor, A.VERIFY_COMMITMENT)
    if task.kind != TaskKind.VERIFICATION:
        raise ServiceError(
            gettext("This is a review step, not the verification of a commitment."),
            field="task",
            code="not_verification",
            status=409,
        )
    if task.status != TaskStatus.OPEN:
        raise ServiceError(
            gettext("This task has already been completed."),
            field="task",
            code="task_closed",
            status=409,
        )
    transitions.ensure_allowed(case, A.VERIFY_COMMITMENT)
    if outcome not in VerificationOutcome.values:
        raise ServiceError(
            gettext("Choose whether the commitment is confirmed or false."),
            field="outcome",
            code="invalid_choice",
        )
    reason = (reason or "").strip()
    if outcome == VerificationOutcome.FALSE and not reason:
        raise ServiceError(
            gettext("Give the reason why the commitment is false."),
            field="reason",
            code="required",
        )
    commitment = (
        Commitment.objects.select_for_update()
        .filter(case=case, kind=CommitmentKind.NOTIFICATION)
        .first()
    )
    if commitment is None:
        raise ServiceError(
            gettext("This case has no commitment to verify."),
            field="task",
            code="no_commitment",
            status=409,
        )
    document = ResultDocument.objects.filter(case=case).first()
    if outcome == VerificationOutcome.FALSE and document is None:
        raise ServiceError(
            gettext(
                "The result has not been issued yet: a false commitment is "
                "recorded once there is a result to revoke."
            ),
            field="outcome",
            code="result_not_issued",
            status=409,
        )
    today = workdays.beijing_today()

    task.status = TaskStatus.DONE
    task.outcome = outcome
    task.opinion = reason
    task.completed_at = timezone.now()
    task.completed_by = actor
    task.save()
    commitment.status = (
        CommitmentStatus.FULFILLED
        if outcome == VerificationOutcome.CONFIRMED
        else CommitmentStatus.FALSE
    )
    commitment.closed_on = today
    commitment.outcome_note = reason
    commitment.save(update_fields=["status", "closed_on", "outcome_note"])
    revoked = False
    if outcome == VerificationOutcome.FALSE and document is not None:
        if document.is_valid:
            results.result_revoke(document=document, actor=actor, reason=reason)
            revoked = True
        party = case.person if case.person_id else case.enterprise
        if party is not None:
            parties.party_violation_record(
                actor=actor, party=party, reason=reason, source=case.number
            )

    label = VerificationOutcome(outcome).label
    audit_record(
        actor=actor,
        action="verification_completed",
        target=task,
        before={"status": TaskStatus.OPEN},
        after={"status": task.status, "outcome": outcome, "case": case.number},
        note=reason,
    )
    _record(
        case=case,
        actor=actor,
        action=A.VERIFY_COMMITMENT,
        status_from=case.status,
        note=f"{label}: {reason}" if reason else str(label),
        after={
            "task": task.pk,
            "outcome": outcome,
            "commitment": commitment.status,
            "result_revoked": revoked,
        },
    )

    return task


# Route timers


@dataclass
class TimersSummary:
    """What one run of the route timers did."""

    seen: int = 0
    fired: int = 0
    failed: int = 0


def route_timers_fire() -> TimersSummary:
    """Fire the BPMN timers that are due on the cases in review.

    The periodic job (``cases.tasks.fire_route_timers``). Each case is run
    in its own transaction with its row locked and its state read again
    under the lock, so a second run, or two workers at once, fire nothing
    twice; one broken case does not keep the others waiting.
    """
    ids = list(
        Case.objects.filter(
            status=CaseStatus.IN_REVIEW, route_wakes_at__lte=timezone.now()
        )
        .order_by("route_wakes_at", "pk")
        .values_list("pk", flat=True)
    )
    summary = TimersSummary(seen=len(ids))
    for pk in ids:
        try:
            fired = case_route_timers_fire(case_id=pk)
        except Exception:
            log.exception("route_timers_fire_failed", case_id=pk)
            summary.failed += 1
            continue
        summary.fired += int(fired)

    log.info(
        "route_timers_fired",
        seen=summary.seen,
        fired=summary.fired,
        failed=summary.failed,
    )
    return summary


@transaction.atomic
def case_route_timers_fire(*, case_id: int) -> bool:
    """Fire the due timers of one case's route; True when the route moved."""
    case = Case.objects.select_for_update().get(pk=case_id)
    if case.status != CaseStatus.IN_REVIEW:
        return False
    route = routes.route_get(case.route_key)
    before = sorted(
        case.tasks.filter(status=TaskStatus.OPEN).values_list("pk", flat=True)
    )
    timers = [timer["name"] for timer in case.route_state.get("timers", [])]

    step = route.timers_fire(case)
    if step is None:
        return False

    audit_record(
        actor=None,
        action="route_timer_fired",
        target=case,
        before={"open_tasks": before, "timers": timers},
        after={
            "case": case.number,
            "opened": [task.pk for task in step.tasks],
            "timers": [timer["name"] for timer in case.route_state.get("timers", [])],
        },
        actor_label="route-timers",
    )
    return True

"""Results of cases: decision documents and e-licences (决定书/电子证照).

``result_issue`` writes the document when the clerk issues the result,
``result_revoke`` revokes it, ``result_verify`` answers the public
verification page and ``licences_for_holder`` lists an applicant's licence
library. Which document a case gets:

* approved, and the item is an administrative licence (行政许可) or its
  result type names a licence or approval document: an e-licence
  (电子证照) titled with the item's result name;
* approved otherwise: a decision document (决定书);
* denied: a decision document not to grant (不予许可决定书) that names the
  reason and the applicant's rights of review (行政复议, 行政诉讼).

The documents' wording is Chinese legal text, not interface text: it is not
translated. Deliberate simplification: no licence carries an expiry date yet
(``valid_until`` stays empty, "长期有效"), as the catalogue has no validity
period for results.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

import structlog
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from smartapproval.accounts.models import ApplicantKind, Department, User
from smartapproval.audit.services import audit_record
from smartapproval.cases import parallel, selectors
from smartapproval.cases.documents import DocumentContent, document_render
from smartapproval.cases.models import (
    Case,
    CaseAction,
    CaseEvent,
    CaseMaterial,
    Decision,
    ResultDocument,
    ResultKind,
    ResultStatus,
)
from smartapproval.catalogue.models import (
    ItemType,
    MaterialRequirement,
    ServiceItem,
)
from smartapproval.core import deadlines as workdays
from smartapproval.core.api import ServiceError
from smartapproval.core.masking import mask_name

log = structlog.get_logger(__name__)

# Result types of the catalogue (and words of free-text ones) that make an
# approval an e-licence rather than a plain decision document.
LICENCE_RESULT_TYPES = frozenset(
    {"licence", "license", "certificate", "approval_document", "permit"}
)
LICENCE_RESULT_WORDS = ("证", "批复", "许可")
# Keys of the application form that may carry the project's name, which
# replaces the placeholder in result names such as "关于×××项目…的批复".
PROJECT_NAME_KEYS = ("project_name", "项目名称")
PLACEHOLDERS = ("×××", "XXX", "xxx")
# What the name of a material that is a licence goes on with after the name
# of the issuing item (可行性研究报告 + 批复, 食品经营许可 + 证).
RESULT_NAME_ENDINGS = ("批复", "许可证", "证", "许可决定", "决定", "意见书", "意见")
# Verbs an item's name ends with that its result's name does not carry.
ITEM_NAME_VERBS = ("审批", "核发", "核准", "审查", "办理", "申请")
# Marks a material's name and a result's name differ in without naming
# another document: title brackets, quotes, spaces and the possessive 的.
_NAME_NOISE = str.maketrans("", "", "《》〈〉<>“”\"'‘’ \u3000的")
# Shorter keys (批复, 证照) would match any material naming a document kind.
_MIN_KEY = 4
# Statutory defaults when the item lists no review channels: Administrative
# Reconsideration Law art. 20, Administrative Litigation Law art. 46.
DEFAULT_REVIEW_RIGHTS = {
    "reconsideration": "自知道该行政行为之日起六十日内申请行政复议",
    "litigation": "自知道或者应当知道作出行政行为之日起六个月内提起行政诉讼",
}


# Content


def public_url() -> str:
    """Return the centre's public address, without a trailing slash."""
    return settings.SMARTAPPROVAL_PUBLIC_URL.rstrip("/")


def result_verify_url(token: str) -> str:
    """Return the absolute address of the verification page of ``token``."""
    return public_url() + reverse("hall:verify", kwargs={"token": token})


def result_kind_for(case: Case) -> str:
    """Decide which document the decided ``case`` ends with."""
    if case.decision != Decision.APPROVED:
        return ResultKind.DECISION
    item = case.item
    result_type = (item.result_type or "").strip().lower()
    if item.item_type == ItemType.LICENSING or result_type in LICENCE_RESULT_TYPES:
        return ResultKind.LICENCE
    if any(word in result_type for word in LICENCE_RESULT_WORDS):
        return ResultKind.LICENCE
    return ResultKind.DECISION


def result_title_for(case: Case, kind: str) -> str:
    """Name the document: the item's result, with the project's name in it."""
    item = case.item
    project = ""
    for key in PROJECT_NAME_KEYS:
        value = (case.form_data or {}).get(key)
        if isinstance(value, str) and value.strip():
            project = value.strip()
            break

    if case.decision == Decision.DENIED:
        if item.item_type == ItemType.LICENSING:
            return f"关于{item.name}申请的不予许可决定"
        return f"关于{item.name}申请的不予办理决定"
    title = (item.result_name or "").strip()
    if title and project:
        for placeholder in PLACEHOLDERS:
            if placeholder in title:
                before, after = title.split(placeholder, 1)
                if project.endswith("项目") and after.startswith("项目"):
                    # "×××项目" with "城南小学项目": one 项目, not two.
                    after = after[len("项目") :]
                return (before + project + after)[:300]
        return f"{title}（{project}）"[:300]
    if title:
        return title[:300]
    if kind == ResultKind.LICENCE:
        return f"{item.name}准予许可决定"[:300]
    return f"关于{item.name}的办理决定"[:300]


def review_rights_of(case: Case) -> list[str]:
    """The applicant's rights of review of a decision on ``case``, as lines."""
    channels = dict(DEFAULT_REVIEW_RIGHTS)
    channels.update(
        {
            key: str(value).strip()
            for key, value in (case.item.review_channels or {}).items()
            if key in DEFAULT_REVIEW_RIGHTS and str(value).strip()
        }
    )
    return [
        "如不服本决定，可以依法申请行政复议或者提起行政诉讼：",
        "行政复议：" + channels["reconsideration"] + "。",
        "行政诉讼：" + channels["litigation"] + "。",
    ]


def conditions_of(case: Case) -> list[str]:
    """The conditions co-departments approved with, in the last round."""
    latest = selectors.case_latest_round(case)
    if latest is None:
        return []
    conditions = [
        f"{branch.department}：{branch.opinion}"
        for branch in parallel.round_result(case=case, round=latest).branches
        if branch.outcome == parallel.Answer.APPROVED_WITH_CONDITIONS
    ]
    if not conditions:
        return []
    return ["本许可附下列条件：", *conditions]


def result_content(document: ResultDocument) -> DocumentContent:
    """Say what ``document`` states, as the PDF renderer draws it."""
    case = document.case
    item = case.item
    you = "你" if case.applicant_kind == ApplicantKind.PERSON else "你单位"
    submitted = workdays.beijing_date(case.submitted_at) if case.submitted_at else None
    applied = (
        f"{you}于{submitted.year}年{submitted.month}月{submitted.day}日"
        if submitted
        else you
    )
    review_rights: list[str] = []

    if case.decision == Decision.DENIED:
        heading = (
            "不予行政许可决定书"
            if item.item_type == ItemType.LICENSING
            else "不予办理决定书"
        )
        paragraphs = [
            f"{applied}提出的{item.name}申请（办件编号：{case.number}），"
            "经审查，不符合法定条件、标准，根据有关规定，决定"
            + ("不予许可。" if item.item_type == ItemType.LICENSING else "不予办理。"),
            f"理由：{case.decision_reason}",
        ]
        review_rights = review_rights_of(case)
    elif document.kind == ResultKind.LICENCE:
        heading = "电子证照"
        paragraphs = [
            f"{applied}提出的{item.name}申请（办件编号：{case.number}），"
            "经审查，符合法定条件、标准，决定准予许可，特发此证。",
            *conditions_of(case),
            "本证照与纸质证照具有同等法律效力，可扫描下方二维码核验。",
        ]
    else:
        heading = "决定书"
        paragraphs = [
            f"{applied}提出的{item.name}申请（办件编号：{case.number}），"
            "经审查，符合规定条件，决定予以办理。",
        ]

    return DocumentContent(
        heading=heading,
        department=document.department.name,
        title=document.title,
        number=document.number,
        issued_on=document.issued_on,
        holder_label="申请人" if document.kind == ResultKind.DECISION else "持证人",
        holder_name=document.holder_name,
        paragraphs=paragraphs,
        review_rights=review_rights,
        valid_until=document.valid_until,
        verify_url=result_verify_url(document.verification_token),
        verification_code=document.verification_token,
    )


# Services


def _number_next(
    *, department: Department, year: int, locked: bool = True
) -> tuple[int, str]:
    """Take the department's next number of ``year`` under its row lock.

    ``locked=False`` only guesses it, for a draft: another document of the
    department may take the number first.
    """
    # The department row serialises issuing within the department; numbers
    # are never reused because documents are revoked, never deleted. NO KEY
    # (PostgreSQL): a plain FOR UPDATE also blocks every insert that refers
    # to the department (cases, tasks, staff), and an application of the
    # holder in the department meanwhile made a deadlock with the document's
    # reference to the holder.
    if locked:
        Department.objects.select_for_update(no_key=True).get(pk=department.pk)
    last = ResultDocument.objects.filter(department=department, year=year).aggregate(
        last=Max("sequence")
    )["last"]
    sequence = (last or 0) + 1
    region = department.region_code or settings.SMARTAPPROVAL_REGION_CODE

    return sequence, f"{region}-{department.pk:03d}-{year}-{sequence:05d}"


def _document_new(*, case: Case, locked: bool, token: str) -> ResultDocument:
    """Build (without saving) the decided case's document as of now."""
    kind = result_kind_for(case)
    issued_on = workdays.beijing_today()
    sequence, number = _number_next(
        department=case.department, year=issued_on.year, locked=locked
    )
    return ResultDocument(
        case=case,
        kind=kind,
        number=number,
        year=issued_on.year,
        sequence=sequence,
        title=result_title_for(case, kind),
        holder_name=case.applicant_name,
        holder_code=case.applicant_code,
        person_id=case.person_id,
        enterprise_id=case.enterprise_id,
        department=case.department,
        issued_on=issued_on,
        verification_token=token,
    )


@dataclass(frozen=True)
class ResultDraft:
    """A document drawn before the locks, with what it says."""

    content: DocumentContent
    pdf: bytes
    token: str


def result_draft(*, case: Case) -> ResultDraft | None:
    """Draw the PDF the decided ``case`` will most likely get, without a lock.

    Drawing takes longer than the rest of issuing (tens of milliseconds);
    under the department's row lock it kept every other issuing of the
    department waiting, and on SQLite every write. ``result_issue`` keeps
    the draft only if the document under the locks says exactly the same:
    same number, date, holder and text; otherwise it draws again. None
    for a case without a decision.
    """
    case = Case.objects.select_related("item", "department").get(pk=case.pk)
    if not case.decision:
        return None

    document = _document_new(case=case, locked=False, token=secrets.token_urlsafe(16))
    content = result_content(document)

    return ResultDraft(
        content=content, pdf=document_render(content), token=document.verification_token
    )


@transaction.atomic
def result_issue(
    *, case: Case, actor: User | None, draft: ResultDraft | None = None
) -> ResultDocument:
    """Write the decided case's document as a numbered PDF with a QR code.

    Called by ``case_issue_result`` inside its transaction, with the case
    row locked and the actor checked. One document per case: a second call
    is refused with a 409. ``draft`` (``result_draft``) is used when it says
    what the document says now.
    """
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("item")
        .get(pk=case.pk)
    )
    if not case.decision:
        raise ServiceError(
            gettext("The case has no decision yet."),
            field="case",
            code="not_decided",
            status=409,
        )
    if ResultDocument.objects.filter(case=case).exists():
        raise ServiceError(
            gettext("The result document of this case was already issued."),
            field="case",
            code="already_issued",
            status=409,
        )

    document = _document_new(
        case=case,
        locked=True,
        token=draft.token if draft else secrets.token_urlsafe(16),
    )
    content = result_content(document)
    if draft is not None and draft.content == content:
        pdf = draft.pdf
    else:
        pdf = document_render(content)
        if draft is not None:
            log.debug("result_document_redrawn", case_id=case.pk)
    document.sha256 = hashlib.sha256(pdf).hexdigest()
    document.file.save("result.pdf", ContentFile(pdf), save=False)
    try:
        document.save()
    except BaseException:
        default_storage.delete(document.file.name)
        raise

    audit_record(
        actor=actor,
        action="result_document_issued",
        target=document,
        after={
            "case": case.number,
            "kind": document.kind,
            "number": document.number,
            "sha256": document.sha256,
        },
    )
    transaction.on_commit(
        partial(
            log.info,
            "result_document_issued",
            case_id=case.pk,
            document_id=document.pk,
            kind=document.kind,
        )
    )

    return document


# The longest reason for a revocation, as for the other reasons of a case.
REASON_LIMIT = 2000


def _ensure_may_revoke(document: ResultDocument, actor: User | None) -> None:
    staff = actor is not None and getattr(actor, "is_staff_member", False)
    if not staff or not (
        actor.sees_all_departments or actor.department_id == document.department_id
    ):
        raise Http404(gettext("No such document."))


@transaction.atomic
def result_revoke(
    *, document: ResultDocument, actor: User, reason: str
) -> ResultDocument:
    """Revoke a document (撤销) with the reason; it stays on record as revoked.

    Staff of the issuing department or a centre manager only; others get a
    404. A revoked document stops standing in for materials at once.
    """
    _ensure_may_revoke(document, actor)
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError(
            gettext("A revocation needs the reason."), field="reason", code="required"
        )
    if len(reason) > REASON_LIMIT:
        raise ServiceError(
            gettext("The reason is at most %(count)s characters.")
            % {"count": REASON_LIMIT},
            field="reason",
            code="max_length",
        )
    # The case first, then the document: the order every service locks in.
    case = Case.objects.select_for_update().get(pk=document.case_id)
    document = ResultDocument.objects.select_for_update().get(pk=document.pk)
    if document.status == ResultStatus.REVOKED:
        raise ServiceError(
            gettext("The document is already revoked."),
            field="document",
            code="already_revoked",
            status=409,
        )

    document.status = ResultStatus.REVOKED
    document.revoked_at = timezone.now()
    document.revoked_reason = reason
    document.revoked_by = actor
    document.save(
        update_fields=["status", "revoked_at", "revoked_reason", "revoked_by"]
    )

    # The applicant and the staff follow the revocation on the case's
    # timeline (办理过程), with its reason.
    CaseEvent.objects.create(
        case=case,
        action=CaseAction.REVOKE_RESULT,
        status_from=case.status,
        status_to=case.status,
        actor_label=str(actor)[:100],
        step=document.number,
        note=reason,
    )
    audit_record(
        actor=actor,
        action="result_document_revoked",
        target=document,
        before={"status": ResultStatus.VALID},
        after={"status": ResultStatus.REVOKED},
        note=reason,
    )
    transaction.on_commit(
        partial(
            log.info,
            "result_document_revoked",
            case_id=document.case_id,
            document_id=document.pk,
        )
    )

    return document


def result_material_attach(
    *,
    case: Case,
    requirement_id: int,
    document_id: int,
    account: User | None,
    actor: User,
    stored: list[str],
) -> CaseMaterial:
    """Let one of the applicant's valid licences stand in for a material.

    Call inside the case's transaction. The licence's PDF is copied under a
    generated name, so a later revocation does not change what the case
    holds; the copy keeps the licence's SHA-256 and a link to it, which
    flags the material once the licence is revoked. Another holder's
    licence, a revoked one, a decision document or a licence that is not
    the material (``licence_stands_for``) is refused.
    """
    requirement = MaterialRequirement.objects.filter(
        pk=requirement_id, item_id=case.item_id
    ).first()
    if requirement is None:
        raise ServiceError(
            gettext("The material is not one of this item's."),
            field="licence_materials",
            code="invalid",
        )
    document = (
        licences_for_holder(user=account, include_revoked=True)
        .select_for_update(of=("self",))
        .filter(pk=document_id)
        .first()
        if account is not None
        else None
    )
    if document is None:
        raise ServiceError(
            gettext("You can only use your own e-licences."),
            field="licence_materials",
            code="not_holder",
            status=403,
        )
    if document.status != ResultStatus.VALID:
        raise ServiceError(
            gettext("The e-licence %(number)s was revoked and cannot be used.")
            % {"number": document.number},
            field="licence_materials",
            code="revoked",
            status=409,
        )
    if not licence_stands_for(document=document, requirement=requirement):
        raise ServiceError(
            gettext(
                "The e-licence %(title)s (%(number)s) cannot stand in for the "
                "material %(material)s: it is not that document."
            )
            % {
                "title": document.title,
                "number": document.number,
                "material": requirement.name,
            },
            field="licence_materials",
            code="licence_not_for_material",
        )

    with document.file.open("rb") as handle:
        content = handle.read()
    material = CaseMaterial(
        case=case,
        requirement=requirement,
        original_name=f"{document.title}.pdf"[-255:],
        content_type="application/pdf",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor if getattr(actor, "pk", None) else None,
        licence=document,
    )
    material.file.save("licence.pdf", ContentFile(content), save=False)
    stored.append(material.file.name)
    material.save()

    audit_record(
        actor=actor,
        action="result_document_used",
        target=document,
        after={"case": case.number, "material": material.pk},
    )
    log.info(
        "result_document_used",
        case_id=case.pk,
        document_id=document.pk,
        material_id=material.pk,
    )
    return material


# Which licence stands for which material


def _name_normal(text: str) -> str:
    text = (text or "").translate(_NAME_NOISE)
    for placeholder in PLACEHOLDERS:
        text = text.replace(placeholder, "")
    return text


def _result_key(item: ServiceItem) -> str:
    """Return the part of ``item``'s result name every licence of it shares.

    "某局关于×××项目可行性研究报告的批复" gives "可行性研究报告批复": the
    issuer and the project differ from one licence to the next, the document
    issued (what follows 关于) does not.
    """
    name = (item.result_name or "").rsplit("关于", 1)[-1]
    return _name_normal(name).removeprefix("项目")


def _item_key(item: ServiceItem) -> str:
    """Return ``item``'s name without its parent and the verb of handling it."""
    name = _name_normal(item.name.rsplit("——", 1)[-1]).removeprefix("项目")
    for verb in ITEM_NAME_VERBS:
        if name.endswith(verb) and len(name) - len(verb) >= _MIN_KEY:
            return name.removesuffix(verb)
    return name


def _named_in(key: str, text: str, *, ending: bool) -> bool:
    """Whether ``text`` names ``key``, followed by a result word if ``ending``."""
    if len(key) < _MIN_KEY:
        return False
    start = text.find(key)
    while start >= 0:
        rest = text[start + len(key) :]
        if not ending or rest.startswith(RESULT_NAME_ENDINGS):
            return True
        start = text.find(key, start + 1)
    return False


def licence_stands_for(
    *, document: ResultDocument, requirement: MaterialRequirement
) -> bool:
    """Whether the licence ``document`` is the material ``requirement`` asks for.

    A requirement that lists the results it accepts (``accepts_results``)
    takes a licence of an item it names by code, or whose result or name it
    names. Otherwise its own name must name the licence's result
    ("可行性研究报告批复" for "关于×××项目可行性研究报告的批复"), or the issuing
    item followed by a result word (可行性研究报告 + 批复): a feasibility
    approval does not stand in for the feasibility report it approved.
    """
    if document.kind != ResultKind.LICENCE:
        return False
    item = document.case.item
    result_key = _result_key(item)
    item_key = _item_key(item)

    accepted = [entry for entry in requirement.accepts_results or [] if entry]
    if accepted:
        codes = {item.implementation_code, item.basic_code} - {""}
        for entry in accepted:
            if entry.strip() in codes:
                return True
            named = _name_normal(entry).removeprefix("项目")
            if _named_in(result_key, named, ending=False) or (
                len(named) >= _MIN_KEY and named in result_key
            ):
                return True
            if _named_in(item_key, named, ending=True) or named == item_key:
                return True
        return False

    name = _name_normal(requirement.name)
    return _named_in(result_key, name, ending=False) or _named_in(
        item_key, name, ending=True
    )


def licences_for_requirement(
    *, licences: list[ResultDocument], requirement: MaterialRequirement
) -> list[ResultDocument]:
    """Return those of ``licences`` that may stand in for ``requirement``."""
    return [
        document
        for document in licences
        if licence_stands_for(document=document, requirement=requirement)
    ]


# Selectors


def result_verify(*, token: str) -> dict[str, Any] | None:
    """Return what the public may know of the document ``token`` names.

    Title, number, department, dates and status, and the holder: a person's
    name masked to the family name, an enterprise's name in full. Never a
    code, a phone or the revocation's reason, which may name people.
    None for an unknown token.
    """
    document = (
        ResultDocument.objects.select_related("department")
        .filter(verification_token=token)
        .first()
        if token
        else None
    )
    if document is None:
        return None

    person = document.enterprise_id is None and (
        document.person_id is not None
        or document.case.applicant_kind == ApplicantKind.PERSON
    )
    revoked_on: date | None = (
        workdays.beijing_date(document.revoked_at) if document.revoked_at else None
    )

    return {
        "kind": document.kind,
        "kind_label": document.get_kind_display(),
        "title": document.title,
        "number": document.number,
        "department": document.department.name,
        "issued_on": document.issued_on,
        "valid_until": document.valid_until,
        "status": document.status,
        "is_valid": document.status == ResultStatus.VALID,
        "revoked_on": revoked_on,
        "holder": mask_name(document.holder_name) if person else document.holder_name,
    }


def licences_for_holder(
    *, user: User | None, include_revoked: bool = False
) -> QuerySet[ResultDocument]:
    """Return the e-licences of ``user``'s persons and enterprises (证照库).

    The holder is the person or enterprise linked to the account, so a
    licence of a case registered at the window counts too.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return ResultDocument.objects.none()
    documents = ResultDocument.objects.filter(
        Q(person__account=user) | Q(enterprise__account=user),
        kind=ResultKind.LICENCE,
    ).select_related("department", "case__item")
    if not include_revoked:
        documents = documents.filter(status=ResultStatus.VALID)
    return documents


def result_get_for_user(*, user: User | None, pk: int) -> ResultDocument:
    """Return document ``pk`` if ``user`` may see its case or holds it, else 404."""
    visible = selectors.case_list_for_user(user=user).values("pk")
    document = (
        ResultDocument.objects.select_related("case", "department")
        .filter(Q(case__in=visible) | Q(pk__in=licences_for_holder(user=user)))
        .filter(pk=pk)
        .first()
    )
    if document is None:
        raise Http404(gettext("No such document."))
    return document

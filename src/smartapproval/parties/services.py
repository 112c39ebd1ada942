"""Write the person and enterprise libraries.

Every case records its applicant here; the entry is keyed by the resident ID
number or the unified social credit code, so recording the same applicant
again updates one entry instead of adding a second.

Who may change an entry depends on who vouches for the data. A window clerk
has checked the ID card or the licence, so a window registration updates the
entry (audited). An online application only proves who holds the account:
it updates an entry linked to that account, creates a missing entry linked
to it, leaves an unlinked entry (known from a window case) untouched and
unlinked, and is refused when the entry belongs to another account.
"""

import re
import unicodedata
from typing import Any

import structlog
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from smartapproval.accounts.models import User
from smartapproval.audit.services import audit_record
from smartapproval.core import codes
from smartapproval.core.api import ServiceError
from smartapproval.parties import selectors
from smartapproval.parties.models import Enterprise, Person

log = structlog.get_logger(__name__)

_PHONE = re.compile(r"\+?[0-9][0-9-]{4,19}")


@transaction.atomic
def person_record(
    *,
    actor: User | None,
    name: str,
    id_number: str,
    phone: str = "",
    address: str = "",
    account: User | None = None,
    online: bool = False,
) -> Person:
    """Add a natural person to the library, or bring their entry up to date.

    The person is found by resident ID number. A changed name, phone or
    address replaces the stored one; an empty phone or address keeps it.

    A window registration (``online`` False) may update any entry and links
    ``account`` when the entry has no account yet; an entry already linked
    to another account keeps that link. An online application by
    ``account`` (``online`` True) updates the entry only if it is linked to
    ``account``, or creates it linked to ``account``; an entry linked to
    another account is refused with a 409 on ``id_number``, and an unlinked
    entry is returned unchanged and unlinked (the case keeps its own copy of
    what was typed).
    """
    check = codes.check_resident_id(id_number)
    if not check.valid:
        raise ServiceError(check.message, field="id_number", code="invalid_id_number")
    values = {
        "name": _required_text(name, field="name", max_length=60),
        "phone": _phone(phone, field="phone"),
        "address": _optional_text(address, field="address", max_length=200),
    }

    person, created = _lock_or_create(
        Person,
        lookup={"id_number": check.normalized},
        defaults={**values, "account": account},
    )
    if not created and online and not _claimable(person, account, field="id_number"):
        return person
    if created:
        audit_record(
            actor=actor,
            action="person_created",
            target=person,
            after=_snapshot(person, ("name", "id_number", "phone", "address")),
        )
        log.info("person_created", person_id=person.pk)
        return person

    before, after = _apply(person, values, account=account)
    if after:
        person.save(update_fields=[*after.keys(), "updated_at"])
        audit_record(
            actor=actor,
            action="person_changed",
            target=person,
            before=before,
            after=after,
        )
        log.info("person_changed", person_id=person.pk, fields=sorted(after))

    return person


@transaction.atomic
def enterprise_record(
    *,
    actor: User | None,
    name: str,
    uscc: str,
    legal_representative: str,
    legal_representative_id_number: str = "",
    address: str = "",
    phone: str = "",
    account: User | None = None,
    online: bool = False,
) -> Enterprise:
    """Add a legal person to the library, or bring its entry up to date.

    The enterprise is found by unified social credit code. Changed values
    replace the stored ones; an empty optional value keeps the stored one.
    ``account`` and ``online`` follow the rule of :func:`person_record`: an
    online application changes only the entry linked to its own account,
    is refused (409 on ``uscc``) for an entry of another account and leaves
    an unlinked entry as it is. Warnings of the code check (for example a
    code that looks like a resident ID number) go into the audit row so the
    entry is never stored silently.
    """
    check = codes.check_uscc(uscc)
    if not check.valid:
        raise ServiceError(check.message, field="uscc", code="invalid_uscc")
    representative_id = ""
    if (legal_representative_id_number or "").strip():
        id_check = codes.check_resident_id(legal_representative_id_number)
        if not id_check.valid:
            raise ServiceError(
                id_check.message,
                field="legal_representative_id_number",
                code="invalid_id_number",
            )
        representative_id = id_check.normalized
    values = {
        "name": _required_text(name, field="name", max_length=200),
        "legal_representative": _required_text(
            legal_representative, field="legal_representative", max_length=60
        ),
        "legal_representative_id_number": representative_id,
        "address": _optional_text(address, field="address", max_length=200),
        "phone": _phone(phone, field="phone"),
    }
    note = "\n".join(check.warnings)
    if check.warnings:
        log.warning("enterprise_code_warned", warnings=len(check.warnings))

    enterprise, created = _lock_or_create(
        Enterprise,
        lookup={"uscc": check.normalized},
        defaults={**values, "account": account},
    )
    if not created and online and not _claimable(enterprise, account, field="uscc"):
        return enterprise
    if created:
        audit_record(
            actor=actor,
            action="enterprise_created",
            target=enterprise,
            after=_snapshot(enterprise, ("name", "uscc", *values.keys())),
            note=note,
        )
        log.info("enterprise_created", enterprise_id=enterprise.pk)
        return enterprise

    before, after = _apply(enterprise, values, account=account)
    if after:
        enterprise.save(update_fields=[*after.keys(), "updated_at"])
        audit_record(
            actor=actor,
            action="enterprise_changed",
            target=enterprise,
            before=before,
            after=after,
            note=note,
        )
        log.info(
            "enterprise_changed", enterprise_id=enterprise.pk, fields=sorted(after)
        )

    return enterprise


@transaction.atomic
def party_violation_record(
    *,
    actor: User | None,
    party: Person | Enterprise,
    reason: str,
    source: str = "",
) -> Person | Enterprise:
    """Record a violation (失信) against a person's or an enterprise's entry.

    Sets ``has_violation``, which bars the applicant from conditional
    acceptance and notify-and-commit until the record is cleared. Each
    violation writes an audit row with its reason and where it was found
    (``source``, a case number for instance), also when the entry already
    had one.
    """
    reason = _clean(reason)
    if not reason:
        raise ServiceError(
            _("Give the reason for the violation record."),
            field="reason",
            code="required",
        )
    model = type(party)
    party = model._default_manager.select_for_update().get(pk=party.pk)
    before = party.has_violation

    if not before:
        party.has_violation = True
        party.save(update_fields=["has_violation", "updated_at"])
    action = (
        "person_violation_recorded"
        if model is Person
        else ("enterprise_violation_recorded")
    )
    audit_record(
        actor=actor,
        action=action,
        target=party,
        before={"has_violation": before},
        after={"has_violation": True, "source": source[:100]},
        note=reason,
    )

    log.info(action, party_id=party.pk, already_recorded=before)
    return party


def _lock_or_create(
    model: type[models.Model], *, lookup: dict[str, str], defaults: dict[str, Any]
) -> tuple[Any, bool]:
    """Return the locked row for ``lookup``, creating it if there is none.

    Two requests may record the same new applicant at once: the loser of the
    insert race gets an IntegrityError inside its savepoint and then locks
    the winner's row.
    """
    try:
        return model._default_manager.select_for_update().get(**lookup), False
    except model.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            return model._default_manager.create(**lookup, **defaults), True
    except IntegrityError:
        log.warning("party_insert_race", model=model._meta.label_lower)
        return model._default_manager.select_for_update().get(**lookup), False


def _claimable(
    instance: Person | Enterprise, account: User | None, *, field: str
) -> bool:
    """Tell whether an online application by ``account`` may change the entry.

    True for the entry linked to ``account``; False for an unlinked entry,
    which stays as the window recorded it; a refusal for an entry linked to
    another account, whose holder would otherwise find a stranger's data in
    their next application.
    """
    if account is not None and instance.account_id == account.pk:
        return True
    if instance.account_id is None:
        log.info(
            "party_unlinked_entry_kept",
            model=instance._meta.label_lower,
            party_id=instance.pk,
        )
        return False

    log.warning(
        "party_claimed_by_other_account",
        model=instance._meta.label_lower,
        party_id=instance.pk,
        account_id=account.pk if account is not None else None,
    )
    raise selectors.party_of_other_account_error(field=field)


def _apply(
    instance: models.Model, values: dict[str, str], *, account: User | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Copy changed values onto ``instance``; return (before, after) of them."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    required = {"name", "legal_representative"}
    for name, value in values.items():
        current = getattr(instance, name)
        if value == current or (not value and name not in required):
            continue
        before[name], after[name] = current, value
        setattr(instance, name, value)

    if account is not None and instance.account_id != account.pk:
        if instance.account_id is None:
            before["account"], after["account"] = None, account.pk
            instance.account = account
        else:
            # The entry belongs to someone else's account; the applicant may
            # be acting for them, so record the case but keep the link.
            log.warning(
                "party_account_link_kept",
                model=instance._meta.label_lower,
                party_id=instance.pk,
                account_id=account.pk,
            )

    return before, after


def _snapshot(instance: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    snapshot = {name: getattr(instance, name) for name in fields}
    snapshot["account"] = instance.account_id
    return snapshot


def _clean(value: str | None) -> str:
    # Names keep their full-width brackets: "（中国）" is the registered name.
    return " ".join((value or "").split())


def _required_text(value: str | None, *, field: str, max_length: int) -> str:
    text = _clean(value)
    if not text:
        raise ServiceError(_("This field is required."), field=field, code="required")
    return _limit(text, field=field, max_length=max_length)


def _optional_text(value: str | None, *, field: str, max_length: int) -> str:
    return _limit(_clean(value), field=field, max_length=max_length)


def _limit(text: str, *, field: str, max_length: int) -> str:
    if len(text) > max_length:
        raise ServiceError(
            _("Use at most %(count)d characters.") % {"count": max_length},
            field=field,
            code="too_long",
        )
    return text


def _phone(value: str | None, *, field: str) -> str:
    phone = "".join(unicodedata.normalize("NFKC", value or "").split())
    if phone and not _PHONE.fullmatch(phone):
        raise ServiceError(
            _("Enter a phone number of digits, for example 13800000000."),
            field=field,
            code="invalid_phone",
        )
    return phone

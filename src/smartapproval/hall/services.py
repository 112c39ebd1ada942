"""Writes of the online hall: an applicant signs up."""

import structlog
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from smartapproval.accounts.models import ApplicantKind, Role, User
from smartapproval.audit.services import audit_record
from smartapproval.core import codes
from smartapproval.core.api import ServiceError
from smartapproval.parties import services as parties
from smartapproval.parties.models import Enterprise, Person

log = structlog.get_logger(__name__)


@transaction.atomic
def applicant_register(
    *,
    actor: User | None,
    username: str,
    password: str,
    name: str,
    phone: str,
    kind: str,
    id_number: str = "",
    enterprise_name: str = "",
    uscc: str = "",
    legal_representative: str = "",
    uscc_confirmed: bool = False,
) -> User:
    """Create an applicant's account and record them in the libraries.

    A natural person is recorded in the person library with their resident
    ID number; an enterprise in the enterprise library with its unified social
    credit code. ``actor`` is None when the applicant signs up themselves.
    Any refused code leaves nothing behind: account and library entry are
    one transaction. A credit code the check only warns about (it looks like
    a resident ID number, say) is taken once the applicant has confirmed it
    against the licence (``uscc_confirmed``).

    Signing up proves no identity, so it follows the rule of an online
    application: a library record that a window clerk made from the ID card
    is neither changed nor linked to the new account.
    """
    if kind == ApplicantKind.PERSON:
        id_number = _checked_code(codes.check_resident_id, id_number, "id_number")
    elif kind == ApplicantKind.ENTERPRISE:
        uscc = _checked_code(codes.check_uscc, uscc, "uscc", confirmed=uscc_confirmed)
    else:
        raise ServiceError(
            _("Choose whether you apply as a person or an enterprise."),
            field="applicant_kind",
        )

    user = User(
        username=username,
        name=name,
        phone=phone,
        role=Role.APPLICANT,
        applicant_kind=kind,
    )
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise ServiceError(
            _("This username is taken."), field="username", code="username_taken"
        ) from exc

    if kind == ApplicantKind.PERSON:
        _ensure_unclaimed(Person, id_number=id_number)
        parties.person_record(
            actor=actor or user,
            name=name,
            id_number=id_number,
            phone=phone,
            account=user,
            online=True,
        )
    else:
        _ensure_unclaimed(Enterprise, uscc=uscc)
        try:
            parties.enterprise_record(
                actor=actor or user,
                name=enterprise_name,
                uscc=uscc,
                legal_representative=legal_representative,
                phone=phone,
                account=user,
                online=True,
            )
        except ServiceError as error:
            # The library's "name" is the enterprise's; the form's is the
            # contact person's.
            if error.field == "name":
                error.field = "enterprise_name"
            raise

    audit_record(
        actor=actor or user,
        action="user_registered",
        target=user,
        after={"role": user.role, "applicant_kind": kind},
    )

    log.info("applicant_registered", user_id=user.pk, applicant_kind=kind)
    return user


def _ensure_unclaimed(model: type[Person] | type[Enterprise], **code: str) -> None:
    """Refuse a code that another account has already registered with.

    Signing up again with someone's code would otherwise let a stranger
    rewrite the library entry that prefills that person's applications.
    """
    if model.objects.filter(**code, account__isnull=False).exists():
        field = "id_number" if model is Person else "uscc"
        raise ServiceError(
            _(
                "An account is already registered with this code. Log in to "
                "it, or ask the service centre for help."
            ),
            field=field,
            code="code_registered",
            status=409,
        )


def _checked_code(check, value: str, field: str, *, confirmed: bool = False) -> str:
    """Return the normalised code, or refuse it with the checker's reason.

    A code with warnings is refused until the applicant confirms it, so that
    a resident ID number typed into the credit-code field is never stored
    silently (case 8b).
    """
    result = check(value)
    if not result.valid:
        raise ServiceError(result.message, field=field, code="invalid_code")
    if result.warnings and not confirmed:
        message = " ".join(
            [*result.warnings, _("If the code is right, tick the box to confirm it.")]
        )
        raise ServiceError(message, field=field, code="code_needs_confirmation")

    return result.normalized

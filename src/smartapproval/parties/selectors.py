"""Read the person and enterprise libraries with the rules of who sees what.

Centre managers and administrators search the whole library. A window
clerk opens only the entries of applicants with a case in the clerk's own
department, and beyond them finds an entry only by its exact ID number or
credit code (read off the card at the window). A search needs a term, so
nobody browses everyone; numbers come masked, and a full number only through
the audited reveal. An applicant sees only the entries linked to their own
account. Everyone else sees nothing.
"""

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from smartapproval.accounts.models import FULL_PII_ROLES, ApplicantKind, Role, User
from smartapproval.core import codes
from smartapproval.core.api import ServiceError
from smartapproval.parties.models import Enterprise, Person

LIBRARY_ROLES = frozenset({Role.CLERK, Role.MANAGER, Role.ADMIN})


def library_searchable_by(user: User) -> bool:
    """Whether ``user`` may search the whole library and reveal numbers."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.role in LIBRARY_ROLES


def library_visible_to(user: User) -> bool:
    """Whether ``user`` may see any library entry (staff, or own as applicant)."""
    return library_searchable_by(user) or (
        user.is_authenticated and user.role == Role.APPLICANT
    )


def full_pii_visible_to(user: User) -> bool:
    """Whether ``user``'s role sees a case's ID and phone numbers unmasked.

    Only for the case pages of the user's own department, where the clerk
    checks the ID card; the library itself always answers masked.
    """
    return user.is_authenticated and user.role in FULL_PII_ROLES


def library_query_missing(*, user: User, query: str) -> bool:
    """Tell whether a staff search of the library lacks its search term."""
    return library_searchable_by(user) and not " ".join((query or "").split())


def person_list_for_user(*, user: User, query: str = "") -> QuerySet[Person]:
    """Return the persons ``user`` may see, matching ``query``.

    ``query`` matches a resident ID number or phone number exactly, or a
    part of the name. Staff must search: without a term they get nothing,
    never the whole library. An applicant gets their own entries.
    """
    if library_query_missing(user=user, query=query):
        return Person.objects.none()

    return _found(
        Person.objects.all(),
        person_visible_to(user=user),
        user=user,
        query=query,
        code_field="id_number",
    )


def person_visible_to(*, user: User) -> QuerySet[Person]:
    """Return every person ``user`` may open one by one (detail, reveal)."""
    if library_searchable_by(user):
        return _department_scoped(Person.objects.all(), user=user)
    if library_visible_to(user):
        return Person.objects.filter(account=user)
    return Person.objects.none()


def enterprise_list_for_user(*, user: User, query: str = "") -> QuerySet[Enterprise]:
    """Return the enterprises ``user`` may see, matching ``query``.

    ``query`` matches a credit code or phone number exactly, or a part of the
    name. Staff must search, as for :func:`person_list_for_user`.
    """
    if library_query_missing(user=user, query=query):
        return Enterprise.objects.none()

    return _found(
        Enterprise.objects.all(),
        enterprise_visible_to(user=user),
        user=user,
        query=query,
        code_field="uscc",
    )


def enterprise_visible_to(*, user: User) -> QuerySet[Enterprise]:
    """Return every enterprise ``user`` may open one by one (detail, reveal)."""
    if library_searchable_by(user):
        return _department_scoped(Enterprise.objects.all(), user=user)
    if library_visible_to(user):
        return Enterprise.objects.filter(account=user)
    return Enterprise.objects.none()


def _sees_whole_library(user: User) -> bool:
    return user.is_superuser or user.role in {Role.MANAGER, Role.ADMIN}


def _department_scoped(rows: QuerySet, *, user: User) -> QuerySet:
    """Limit a clerk to the applicants of their own department's cases."""
    if _sees_whole_library(user):
        return rows
    if user.department_id is None:
        return rows.none()
    # By the reverse name of Case's foreign key: parties may not import cases.
    return rows.filter(cases__department_id=user.department_id).distinct()


def _found(
    everyone: QuerySet, visible: QuerySet, *, user: User, query: str, code_field: str
) -> QuerySet:
    """Match ``query`` in what ``user`` sees, or an exact code in the library."""
    matched = visible.filter(_search(query, code_field=code_field))
    if not library_searchable_by(user) or _sees_whole_library(user):
        return matched
    code = codes.normalize_code(" ".join((query or "").split()))
    exact = everyone.filter(**{code_field: code}).values("pk")
    return everyone.filter(Q(pk__in=matched.values("pk")) | Q(pk__in=exact))


def _search(query: str, *, code_field: str) -> Q:
    text = " ".join((query or "").split())
    if not text:
        return Q()
    code = codes.normalize_code(text)
    return (
        Q(**{code_field: code})
        | Q(phone=code.replace("-", ""))
        | Q(name__icontains=text)
    )


def party_of_other_account_error(*, field: str) -> ServiceError:
    """The refusal of an online application with another account's code."""
    return ServiceError(
        gettext(
            "This ID number is registered by another account. Apply from your "
            "own account or at a service window."
        ),
        field=field,
        code="party_of_other_account",
        status=409,
    )


def party_own_identity(*, account: User) -> tuple[str, str] | None:
    """Return the kind and code an account applies under online, if it has one.

    The entry of the kind the account declares, else its most recent one.
    """
    persons = Person.objects.filter(account=account).order_by("-updated_at", "-pk")
    enterprises = Enterprise.objects.filter(account=account).order_by(
        "-updated_at", "-pk"
    )
    person, enterprise = persons.first(), enterprises.first()
    if enterprise and (
        account.applicant_kind == ApplicantKind.ENTERPRISE or person is None
    ):
        return ApplicantKind.ENTERPRISE, enterprise.uscc
    if person:
        return ApplicantKind.PERSON, person.id_number
    return None


def party_own_record(
    *, kind: str, code: str, account: User
) -> Person | Enterprise | None:
    """Return the account's own library entry of ``kind`` with ``code``."""
    if kind == ApplicantKind.PERSON:
        return Person.objects.filter(account=account, id_number=code).first()
    return Enterprise.objects.filter(account=account, uscc=code).first()


def party_online_ensure_own(*, kind: str, code: str, account: User) -> None:
    """Refuse an online application in a name the account does not hold.

    An account applies online as the person or enterprise linked to it (its
    real-name identity, recorded at sign-up or by its first application). An
    account without any identity yet may name a code the libraries do not
    know, which its application then records; anyone else's code, a code a
    window recorded, or a second identity of the same kind is refused (403):
    applying for somebody else is done at a service window, where the clerk
    sees the ID card or the business licence.
    """
    party_online_ensure_claimable(kind=kind, code=code, account=account)
    if kind == ApplicantKind.PERSON:
        own = Person.objects.filter(account=account)
        known = Person.objects.filter(id_number=code)
        field = "id_number"
    else:
        own = Enterprise.objects.filter(account=account)
        known = Enterprise.objects.filter(uscc=code)
        field = "uscc"
    if own.filter(**{field: code}).exists():
        return
    holds_any = (
        Person.objects.filter(account=account).exists()
        or Enterprise.objects.filter(account=account).exists()
    )
    if holds_any or known.exists():
        raise ServiceError(
            gettext(
                "Online you apply in your own account's name. To apply for "
                "somebody else, go to a service window with their ID card or "
                "business licence."
            ),
            field=field,
            code="not_own_identity",
            status=403,
        )


def party_online_ensure_claimable(*, kind: str, code: str, account: User) -> None:
    """Refuse an online application whose code belongs to another account.

    ``code`` is the normalised resident ID number (``kind`` person) or credit
    code (``kind`` enterprise). A check before anything is written; the
    library services check again under a row lock.
    """
    if kind == ApplicantKind.PERSON:
        rows, field = Person.objects.filter(id_number=code), "id_number"
    else:
        rows, field = Enterprise.objects.filter(uscc=code), "uscc"
    if rows.filter(account__isnull=False).exclude(account=account).exists():
        raise party_of_other_account_error(field=field)


def party_violation_on_record(*, kind: str, code: str) -> bool:
    """Tell whether the library holds a violation against ``code`` (失信).

    ``code`` is the normalised resident ID number (``kind`` person) or
    credit code (``kind`` enterprise); an applicant not yet in the library
    has none.
    """
    if kind == ApplicantKind.PERSON:
        rows = Person.objects.filter(id_number=code)
    else:
        rows = Enterprise.objects.filter(uscc=code)
    return rows.filter(has_violation=True).exists()


def applicant_prefill(*, user: User) -> dict[str, str]:
    """Return the fields of the next application form for ``user``.

    The data come from the library entry linked to the account that changed
    last, of the applicant kind the account declares if it has one; an
    account with no entry yet gets its own name and phone. The contact is
    always a person: for an enterprise the account's name, or the legal
    representative when the account carries the enterprise's name.
    """
    persons = Person.objects.filter(account=user).order_by("-updated_at", "-pk")
    enterprises = Enterprise.objects.filter(account=user).order_by("-updated_at", "-pk")
    person, enterprise = persons.first(), enterprises.first()
    if user.applicant_kind == ApplicantKind.PERSON and person:
        enterprise = None
    elif user.applicant_kind == ApplicantKind.ENTERPRISE and enterprise:
        person = None
    elif person and enterprise:
        if enterprise.updated_at > person.updated_at:
            person = None
        else:
            enterprise = None

    if person:
        return _prefill(
            kind=ApplicantKind.PERSON,
            name=person.name,
            code=person.id_number,
            contact_name=person.name,
            contact_phone=person.phone or user.phone,
            address=person.address,
        )
    if enterprise:
        return _prefill(
            kind=ApplicantKind.ENTERPRISE,
            name=enterprise.name,
            code=enterprise.uscc,
            contact_name=_contact_person(user, enterprise),
            contact_phone=user.phone or enterprise.phone,
            legal_representative=enterprise.legal_representative,
            address=enterprise.address,
        )
    # An enterprise account's name is its contact person's, not the
    # enterprise's: the enterprise's name comes only from the library.
    is_enterprise = user.applicant_kind == ApplicantKind.ENTERPRISE
    return _prefill(
        kind=user.applicant_kind,
        name="" if is_enterprise else user.name,
        contact_name=user.name,
        contact_phone=user.phone,
    )


def _contact_person(user: User, enterprise: Enterprise) -> str:
    name = " ".join((user.name or "").split())
    if not name or name == " ".join(enterprise.name.split()):
        return enterprise.legal_representative
    return name


def _prefill(
    *,
    kind: str,
    name: str = "",
    code: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    legal_representative: str = "",
    address: str = "",
) -> dict[str, Any]:
    return {
        "applicant_kind": str(kind or ""),
        "applicant_name": name,
        "applicant_code": code,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "legal_representative": legal_representative,
        "address": address,
    }

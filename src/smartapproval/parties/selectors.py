"""Read the person and enterprise libraries with the rules of who sees what.

Window clerks, centre managers and administrators search the whole library:
the library is the centre's, not a department's. An applicant sees only the
entries linked to their own account. Everyone else sees nothing.
"""

from typing import Any

from django.db.models import Q, QuerySet

from smartapproval.accounts.models import FULL_PII_ROLES, ApplicantKind, Role, User
from smartapproval.core import codes
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
    """Whether ``user`` sees ID and phone numbers unmasked without a reveal."""
    return user.is_authenticated and user.role in FULL_PII_ROLES


def person_list_for_user(*, user: User, query: str = "") -> QuerySet[Person]:
    """Return the persons ``user`` may see, matching ``query`` if given.

    ``query`` matches a resident ID number or phone number exactly, or a
    part of the name.
    """
    if library_searchable_by(user):
        persons = Person.objects.all()
    elif library_visible_to(user):
        persons = Person.objects.filter(account=user)
    else:
        persons = Person.objects.none()

    return persons.filter(_search(query, code_field="id_number"))


def enterprise_list_for_user(*, user: User, query: str = "") -> QuerySet[Enterprise]:
    """Return the enterprises ``user`` may see, matching ``query`` if given.

    ``query`` matches a credit code or phone number exactly, or a part of the
    name.
    """
    if library_searchable_by(user):
        enterprises = Enterprise.objects.all()
    elif library_visible_to(user):
        enterprises = Enterprise.objects.filter(account=user)
    else:
        enterprises = Enterprise.objects.none()

    return enterprises.filter(_search(query, code_field="uscc"))


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


def applicant_prefill(*, user: User) -> dict[str, str]:
    """Return the fields of the next application form for ``user``.

    The data come from the library entry linked to the account that changed
    last, of the applicant kind the account declares if it has one; an
    account with no entry yet gets its own name and phone.
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
            contact_name=user.name or enterprise.legal_representative,
            contact_phone=user.phone or enterprise.phone,
            legal_representative=enterprise.legal_representative,
            address=enterprise.address,
        )
    return _prefill(
        kind=user.applicant_kind,
        name=user.name,
        contact_name=user.name,
        contact_phone=user.phone,
    )


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

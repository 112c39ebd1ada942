"""The one table of what may happen to a case, from which status, and by whom.

Every service that changes a case checks this table first. An action whose
``target`` is None leaves the status as it is (an extension, a completed
review task, a material added).
"""

from dataclasses import dataclass

from django.utils.translation import gettext

from smartapproval.accounts.models import Role
from smartapproval.cases.models import CaseAction, CaseStatus
from smartapproval.core.api import ServiceError

S = CaseStatus
A = CaseAction


@dataclass(frozen=True)
class Transition:
    """An action allowed from some statuses, leading to one status (or none)."""

    sources: frozenset[str]
    target: str | None


# Statuses in which the case is still running and may be withdrawn by the
# applicant (before a decision) or terminated by the centre.
_BEFORE_DECISION = frozenset(
    {
        S.DRAFT,
        S.SUBMITTED,
        S.CORRECTION_REQUESTED,
        S.ACCEPTED,
        S.IN_REVIEW,
        S.SUSPENDED,
    }
)
_OPEN = _BEFORE_DECISION - {S.DRAFT}

TRANSITIONS: dict[str, Transition] = {
    A.SUBMIT: Transition(frozenset({S.DRAFT}), S.SUBMITTED),
    A.REGISTER: Transition(frozenset({S.DRAFT}), S.SUBMITTED),
    # In review only while a co-department's revision is open (the service
    # checks): the revised files come in then.
    A.ADD_MATERIAL: Transition(
        frozenset(
            {S.DRAFT, S.SUBMITTED, S.CORRECTION_REQUESTED, S.IN_REVIEW, S.SUSPENDED}
        ),
        None,
    ),
    A.ACCEPT: Transition(frozenset({S.SUBMITTED}), S.ACCEPTED),
    A.REFUSE: Transition(frozenset({S.SUBMITTED}), S.NOT_ACCEPTED),
    A.REQUEST_CORRECTION: Transition(frozenset({S.SUBMITTED}), S.CORRECTION_REQUESTED),
    A.SUPPLY_CORRECTION: Transition(frozenset({S.CORRECTION_REQUESTED}), S.SUBMITTED),
    A.START_REVIEW: Transition(frozenset({S.ACCEPTED}), S.IN_REVIEW),
    A.COMPLETE_TASK: Transition(frozenset({S.IN_REVIEW}), None),
    A.SEND_BACK: Transition(frozenset({S.IN_REVIEW}), None),
    A.REQUEST_REVISION: Transition(frozenset({S.IN_REVIEW}), None),
    A.TRANSFER_TASK: Transition(frozenset({S.IN_REVIEW, S.SUSPENDED}), None),
    A.DELEGATE_TASK: Transition(frozenset({S.IN_REVIEW, S.SUSPENDED}), None),
    A.ADD_SIGNER: Transition(frozenset({S.IN_REVIEW}), None),
    A.SIGN_TASK: Transition(frozenset({S.IN_REVIEW}), None),
    A.URGE_TASK: Transition(frozenset({S.IN_REVIEW}), None),
    A.SUSPEND: Transition(frozenset({S.ACCEPTED, S.IN_REVIEW}), S.SUSPENDED),
    A.RESUME: Transition(frozenset({S.SUSPENDED}), S.IN_REVIEW),
    A.EXTEND: Transition(frozenset({S.ACCEPTED, S.IN_REVIEW, S.SUSPENDED}), None),
    A.DECIDE: Transition(frozenset({S.IN_REVIEW}), S.DECIDED),
    A.ISSUE_RESULT: Transition(frozenset({S.DECIDED}), S.RESULT_ISSUED),
    A.CLOSE: Transition(frozenset({S.RESULT_ISSUED}), S.CLOSED),
    A.WITHDRAW: Transition(_BEFORE_DECISION, S.WITHDRAWN),
    A.TERMINATE: Transition(_OPEN, S.TERMINATED),
    A.RECOMPUTE_DEADLINE: Transition(
        frozenset({S.ACCEPTED, S.IN_REVIEW, S.SUSPENDED}), None
    ),
    # 容缺受理: accepted with named secondary materials to follow.
    A.ACCEPT_CONDITIONALLY: Transition(frozenset({S.SUBMITTED}), S.ACCEPTED),
    A.SUPPLY_DEFERRED: Transition(
        frozenset({S.ACCEPTED, S.IN_REVIEW, S.SUSPENDED}), None
    ),
    # 退件: the deferred materials did not come by the cut-off.
    A.RETURN: Transition(
        frozenset({S.ACCEPTED, S.IN_REVIEW, S.SUSPENDED}), S.TERMINATED
    ),
    # 告知承诺核查 follows the approval, whatever happened to the case since:
    # supervision after the decision, like revoking its result.
    A.VERIFY_COMMITMENT: Transition(
        frozenset({S.DECIDED, S.RESULT_ISSUED, S.CLOSED}), None
    ),
    # 撤销: the issued result loses its effect; the case keeps its status.
    A.REVOKE_RESULT: Transition(frozenset({S.RESULT_ISSUED, S.CLOSED}), None),
}

# Actions a case in a final status still allows: they record what
# supervision found and change neither the status nor the case's clock.
AFTER_CLOSING_ACTIONS = frozenset({A.VERIFY_COMMITMENT, A.REVOKE_RESULT})

# Who may act. Staff act only on their own department's cases (managers on
# every department's); the applicant only on their own case. Administrators
# see everything but run the catalogue, not cases. RECOMPUTE_DEADLINE is done
# by the system alone.
ACTION_ROLES: dict[str, frozenset[str]] = {
    A.SUBMIT: frozenset({Role.APPLICANT}),
    A.SUPPLY_CORRECTION: frozenset({Role.APPLICANT}),
    A.WITHDRAW: frozenset({Role.APPLICANT}),
    A.ADD_MATERIAL: frozenset({Role.APPLICANT, Role.CLERK}),
    A.REGISTER: frozenset({Role.CLERK}),
    A.ACCEPT: frozenset({Role.CLERK}),
    A.REFUSE: frozenset({Role.CLERK}),
    A.REQUEST_CORRECTION: frozenset({Role.CLERK}),
    A.ISSUE_RESULT: frozenset({Role.CLERK}),
    A.CLOSE: frozenset({Role.CLERK}),
    A.START_REVIEW: frozenset({Role.CLERK}),
    A.COMPLETE_TASK: frozenset({Role.REVIEWER}),
    A.SEND_BACK: frozenset({Role.REVIEWER}),
    # Recorded when a co-department's review asks for a revision.
    A.REQUEST_REVISION: frozenset({Role.REVIEWER}),
    A.TRANSFER_TASK: frozenset({Role.REVIEWER, Role.MANAGER}),
    A.DELEGATE_TASK: frozenset({Role.REVIEWER}),
    A.ADD_SIGNER: frozenset({Role.REVIEWER}),
    A.SIGN_TASK: frozenset({Role.REVIEWER}),
    # The lead department's window and reviewers chase their co-departments;
    # the centre chases everyone (e-monitoring).
    A.URGE_TASK: frozenset({Role.REVIEWER, Role.CLERK, Role.MANAGER}),
    A.DECIDE: frozenset({Role.REVIEWER}),
    A.SUSPEND: frozenset({Role.REVIEWER}),
    A.RESUME: frozenset({Role.REVIEWER}),
    A.EXTEND: frozenset({Role.REVIEWER, Role.MANAGER}),
    A.TERMINATE: frozenset({Role.MANAGER}),
    A.RECOMPUTE_DEADLINE: frozenset(),
    A.ACCEPT_CONDITIONALLY: frozenset({Role.CLERK}),
    A.SUPPLY_DEFERRED: frozenset({Role.APPLICANT, Role.CLERK}),
    # Done by the system alone, when the cut-off has passed.
    A.RETURN: frozenset(),
    A.VERIFY_COMMITMENT: frozenset({Role.REVIEWER}),
    # Staff of the issuing department or the centre (results.result_revoke).
    A.REVOKE_RESULT: frozenset({Role.CLERK, Role.REVIEWER, Role.MANAGER, Role.ADMIN}),
}

# Actions only the applicant who owns the case may take.
APPLICANT_ACTIONS = frozenset({A.SUPPLY_CORRECTION, A.WITHDRAW})


def target_status(action: str) -> str | None:
    """Return the status ``action`` leads to, or None if it keeps the status."""
    return TRANSITIONS[action].target


def is_allowed(status: str, action: str) -> bool:
    """Tell whether ``action`` may run on a case in ``status``."""
    return status in TRANSITIONS[action].sources


def ensure_allowed(case, action: str) -> None:
    """Refuse ``action`` with a 409 when the case's status does not allow it."""
    if is_allowed(case.status, action):
        return

    raise ServiceError(
        gettext("The case is currently “%(status)s” and cannot be “%(action)s”")
        % {
            "status": CaseStatus(case.status).label,
            "action": CaseAction(action).label,
        },
        field="status",
        code="transition_not_allowed",
        status=409,
    )


def role_may(role: str, action: str) -> bool:
    """Tell whether a user of ``role`` may take ``action`` at all."""
    return role in ACTION_ROLES[action]


def ensure_role(actor, action: str) -> None:
    """Refuse ``action`` with a 403 when the actor's role may not take it."""
    if actor is not None and role_may(getattr(actor, "role", ""), action):
        return

    raise ServiceError(
        gettext("Your role does not allow “%(action)s”.")
        % {"action": CaseAction(action).label},
        code="role_not_allowed",
        status=403,
    )


def actions_from(status: str) -> list[str]:
    """List the actions the table allows from ``status`` (for the pages)."""
    return [action for action, t in TRANSITIONS.items() if status in t.sources]

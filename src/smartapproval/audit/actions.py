"""Labels of the audit actions the apps write, for people reading the trail.

The audit app sits left of the apps that write most actions, so it cannot
import their names; the codes are listed here by value. An action missing
from the list is shown as its code.
"""

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    # Accounts and permissions.
    "user_created": _("User created"),
    "user_changed": _("User changed"),
    "user_registered": _("Applicant registered"),
    "department_created": _("Department created"),
    "department_changed": _("Department changed"),
    "api_token_issued": _("API token issued"),
    "pii_revealed": _("Personal data revealed"),
    # Working-day calendar.
    "calendar_day_updated": _("Calendar day changed"),
    "calendar_schedule_imported": _("Holiday schedule imported"),
    "calendar_year_seeded": _("Calendar year loaded"),
    "calendar_year_removed": _("Calendar year removed"),
    # Catalogue.
    "item_created": _("Service item created"),
    "item_updated": _("Service item changed"),
    "item_legal_limit_confirmed": _("Legal time limit confirmed"),
    "item_published": _("Service item published"),
    "item_withdrawn": _("Service item withdrawn"),
    "process_imported": _("Review route imported"),
    # Applicant libraries.
    "person_created": _("Person recorded"),
    "person_changed": _("Person changed"),
    "enterprise_created": _("Enterprise recorded"),
    "enterprise_changed": _("Enterprise changed"),
    "person_violation_recorded": _("Violation recorded against a person"),
    "enterprise_violation_recorded": _("Violation recorded against an enterprise"),
    # Cases.
    "case_submitted": _("Case submitted"),
    "case_materials_added": _("Materials added"),
    "case_accepted": _("Case accepted"),
    "case_refused": _("Case refused"),
    "case_correction_requested": _("Correction requested"),
    "case_correction_supplied": _("Correction supplied"),
    "case_review_started": _("Review started"),
    "case_suspended": _("Case suspended"),
    "case_resumed": _("Case resumed"),
    "case_extended": _("Time limit extended"),
    "case_decided": _("Case decided"),
    "case_result_issued": _("Result issued"),
    "case_closed": _("Case closed"),
    "case_withdrawn": _("Case withdrawn"),
    "case_terminated": _("Case terminated"),
    "case_deadline_recomputed": _("Deadline recomputed"),
    "task_completed": _("Review task completed"),
    "task_due_recomputed": _("Task deadline recomputed"),
    # Review verbs and the route.
    "task_cancelled": _("Review task no longer needed"),
    "task_sent_back": _("Sent back to an earlier step"),
    "task_transferred": _("Review task transferred"),
    "task_delegated": _("Review task delegated"),
    "task_cosigners_added": _("Co-signers added"),
    "task_countersign_started": _("Countersign started"),
    "task_signed": _("Signed"),
    "task_urged": _("Review task urged"),
    "route_timer_fired": _("Route timer fired"),
    # Results.
    "result_document_issued": _("Result document issued"),
    "result_document_revoked": _("Result document revoked"),
    "result_document_used": _("E-licence used as a material"),
    # Commitments: conditional acceptance and notify-and-commit.
    "case_accepted_conditionally": _("Case accepted with deferred materials"),
    "case_deferred_materials_supplied": _("Deferred materials supplied"),
    "case_returned": _("Application returned"),
    "case_commitment_verified": _("Commitment verified"),
    "commitment_recorded": _("Commitment recorded"),
    "commitment_fulfilled": _("Commitment fulfilled"),
    "commitment_lapsed": _("Commitment not kept in time"),
    "commitment_voided": _("Commitment no longer needed"),
    "verification_task_opened": _("Verification task opened"),
    "verification_completed": _("Verification completed"),
}


def action_label(action: str) -> str:
    """Return the action's label in the active language, or its code."""
    label = ACTION_LABELS.get(action)

    return str(label) if label is not None else action

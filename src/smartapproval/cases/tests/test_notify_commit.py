"""Notify-and-commit (告知承诺制): the choice, the statement, the verification."""

import datetime

import pytest
from django.http import Http404

from smartapproval.audit.models import AuditEntry
from smartapproval.cases import selectors, services
from smartapproval.cases.models import (
    Case,
    CaseAction,
    CaseStatus,
    CommitmentKind,
    CommitmentStatus,
    Decision,
    ResultStatus,
    TaskKind,
    TaskOutcome,
    TaskStatus,
    VerificationOutcome,
    VoidCaseNumber,
)
from smartapproval.cases.tests import factories as f
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.core.api import ServiceError
from smartapproval.parties.models import Person

D = datetime.date

pytestmark = pytest.mark.usefixtures("calendar")


@pytest.fixture
def notify_item(item):
    """The item, its 身份证明 replaced by a commitment under 告知承诺制."""
    item.notify_commit_allowed = True
    item.save()
    item.materials.filter(name="身份证明").update(commitment_replaces=True)
    return item


def without_proof(item):
    return [
        MaterialUpload(file=f.pdf(f"{req.name}.pdf"), requirement_id=req.pk)
        for req in item.materials.all()
        if req.name != "身份证明"
    ]


def committed_case(item, applicant, n=1, **kwargs):
    return services.case_submit(
        actor=applicant,
        item=item,
        applicant=f.person_applicant(n),
        form_data={},
        materials=without_proof(item),
        notify_commit=True,
        **kwargs,
    ).case


@pytest.fixture
def approved(clock, notify_item, direct_item, applicant, clerk, reviewer):
    """A committed case accepted and approved on 2024-09-02 (Mon)."""
    case = committed_case(notify_item, applicant)
    case = services.case_accept(case=case, actor=clerk)
    return services.case_decide(case=case, actor=reviewer, decision=Decision.APPROVED)


def issued(case, clerk):
    return services.case_issue_result(case=case, actor=clerk)


class TestChoice:
    def test_replaced_materials_are_not_required_at_acceptance(
        self, clock, notify_item, applicant
    ):
        case = committed_case(notify_item, applicant)

        commitment = case.commitments.get()
        assert commitment.kind == CommitmentKind.NOTIFICATION
        assert commitment.status == CommitmentStatus.OPEN
        assert [m.name for m in commitment.materials.all()] == ["身份证明"]
        assert notify_item.name in commitment.statement
        assert "以本承诺代替提交以下材料：身份证明" in commitment.statement
        assert selectors.case_missing_materials(case) == []
        submitted = AuditEntry.objects.get(action="case_submitted")
        assert submitted.after["notify_commit"] is True
        assert AuditEntry.objects.filter(action="commitment_recorded").count() == 1

    def test_without_the_commitment_the_material_is_still_missing(
        self, clock, notify_item, applicant
    ):
        case = services.case_submit(
            actor=applicant,
            item=notify_item,
            applicant=f.person_applicant(),
            form_data={},
            materials=without_proof(notify_item),
        ).case

        assert not case.commitments.exists()
        assert [e["name"] for e in selectors.case_missing_materials(case)] == [
            "身份证明"
        ]

    def test_the_items_own_statement_is_kept_with_the_case(
        self, clock, notify_item, applicant
    ):
        notify_item.commitment_statement = (
            "本人承诺符合申请条件，愿承担不实承诺的法律责任。"
        )
        notify_item.save()

        case = committed_case(notify_item, applicant)

        assert case.commitments.get().statement == notify_item.commitment_statement

    def test_an_item_that_does_not_offer_it_refuses_before_a_number_is_taken(
        self, clock, item, applicant
    ):
        with pytest.raises(ServiceError) as error:
            committed_case(item, applicant)

        assert error.value.field == "notify_commit"
        assert error.value.code == "notify_commit_not_offered"
        assert not Case.objects.exists()
        assert not VoidCaseNumber.objects.exists()

    def test_an_item_that_replaces_no_material_does_not_offer_it(
        self, clock, item, applicant
    ):
        item.notify_commit_allowed = True
        item.save()

        with pytest.raises(ServiceError) as error:
            committed_case(item, applicant)

        assert error.value.code == "notify_commit_not_offered"

    def test_an_applicant_with_a_violation_cannot_commit(
        self, clock, notify_item, applicant
    ):
        Person.objects.create(
            name="王五", id_number=f.resident_id(1), has_violation=True
        )

        with pytest.raises(ServiceError) as error:
            committed_case(notify_item, applicant)

        assert error.value.status == 409
        assert error.value.field == "notify_commit"
        assert not Case.objects.exists()

    def test_a_window_clerk_registers_a_commitment_signed_at_the_window(
        self, clock, notify_item, clerk
    ):
        result = services.case_register(
            actor=clerk,
            item=notify_item,
            applicant=f.person_applicant(),
            form_data={},
            materials=without_proof(notify_item),
            notify_commit=True,
        )

        assert result.case.commitments.get().recorded_by == clerk


class TestVerificationTask:
    def test_approval_opens_the_verification_for_the_lead_department(self, approved):
        task = approved.tasks.get()

        assert task.kind == TaskKind.VERIFICATION
        assert task.name == "告知承诺核查"
        assert task.department == approved.department
        assert task.status == TaskStatus.OPEN
        assert task.started_on == D(2024, 9, 2)
        assert task.limit_working_days == 30
        # 30 working days on the calendar: National Day skipped, 09-14 and
        # 09-29 worked.
        assert task.due_on == D(2024, 10, 18)
        assert AuditEntry.objects.filter(action="verification_task_opened").exists()

    def test_the_limit_is_the_items_and_counts_from_the_decision_date(
        self, clock, notify_item, direct_item, applicant, clerk, reviewer
    ):
        notify_item.verification_limit_value = 5
        notify_item.save()
        clock.at(2024, 9, 27)
        case = services.case_accept(
            case=committed_case(notify_item, applicant), actor=clerk
        )

        case = services.case_decide(
            case=case, actor=reviewer, decision=Decision.APPROVED
        )

        # 09-29 (Sun*), 09-30, then 10-08 to 10-10 after National Day.
        assert case.tasks.get().due_on == D(2024, 10, 10)

    def test_a_denial_opens_no_verification(
        self, clock, notify_item, direct_item, applicant, clerk, reviewer
    ):
        case = services.case_accept(
            case=committed_case(notify_item, applicant), actor=clerk
        )

        case = services.case_decide(
            case=case, actor=reviewer, decision=Decision.DENIED, reason="不符合条件"
        )

        assert not case.tasks.exists()

    def test_a_case_without_a_commitment_gets_no_verification(
        self, clock, notify_item, direct_item, applicant, clerk, reviewer
    ):
        case = f.submitted_case(item=notify_item, applicant=applicant)
        case = services.case_accept(case=case, actor=clerk)

        case = services.case_decide(
            case=case, actor=reviewer, decision=Decision.APPROVED
        )

        assert not case.tasks.exists()

    def test_it_does_not_hold_up_the_result_or_the_closing(self, approved, clerk):
        case = issued(approved, clerk)
        case = services.case_close(case=case, actor=clerk)

        assert case.status == CaseStatus.CLOSED
        assert case.tasks.get().status == TaskStatus.OPEN

    def test_it_waits_in_the_reviewers_inbox_after_they_approved(
        self, clock, notify_item, applicant, clerk, reviewer, reviewer2, approver
    ):
        case = services.case_accept(
            case=committed_case(notify_item, applicant), actor=clerk
        )
        for actor in (reviewer, reviewer2, approver):
            task = case.tasks.get(status=TaskStatus.OPEN)
            services.task_complete(task=task, actor=actor, outcome=TaskOutcome.APPROVED)
        case.refresh_from_db()
        assert case.decision == Decision.APPROVED

        inbox = selectors.task_inbox_for_user(user=approver)

        assert [t.kind for t in inbox] == [TaskKind.VERIFICATION]
        assert not selectors.task_excluded_for_user(task=inbox[0], user=approver)

    def test_the_review_step_form_cannot_complete_it(self, approved, reviewer):
        with pytest.raises(ServiceError) as error:
            services.task_complete(
                task=approved.tasks.get(), actor=reviewer, outcome=TaskOutcome.APPROVED
            )

        assert error.value.status == 409
        assert error.value.code == "verification_task"


class TestVerify:
    def test_confirmed_closes_the_task_and_the_commitment(
        self, clock, approved, clerk, reviewer
    ):
        case = issued(approved, clerk)
        clock.at(2024, 9, 20)

        task = services.task_verify(
            task=case.tasks.get(),
            actor=reviewer,
            outcome=VerificationOutcome.CONFIRMED,
        )

        assert task.status == TaskStatus.DONE
        assert task.outcome == VerificationOutcome.CONFIRMED
        assert task.completed_by == reviewer
        commitment = case.commitments.get()
        assert commitment.status == CommitmentStatus.FULFILLED
        assert commitment.closed_on == D(2024, 9, 20)
        assert case.result_document.status == ResultStatus.VALID
        assert case.events.filter(action=CaseAction.VERIFY_COMMITMENT).count() == 1

    def test_false_revokes_the_result_and_records_a_violation(
        self, clock, approved, clerk, reviewer
    ):
        case = services.case_close(case=issued(approved, clerk), actor=clerk)
        clock.at(2024, 9, 25)

        services.task_verify(
            task=case.tasks.get(),
            actor=reviewer,
            outcome=VerificationOutcome.FALSE,
            reason="现场核查发现场地与承诺不符",
        )

        case.refresh_from_db()
        document = case.result_document
        assert case.status == CaseStatus.CLOSED
        assert document.status == ResultStatus.REVOKED
        assert document.revoked_reason == "现场核查发现场地与承诺不符"
        assert document.revoked_by == reviewer
        assert case.commitments.get().status == CommitmentStatus.FALSE
        assert Person.objects.get(pk=case.person_id).has_violation is True
        violation = AuditEntry.objects.get(action="person_violation_recorded")
        assert violation.actor == reviewer
        assert violation.note == "现场核查发现场地与承诺不符"
        assert violation.after["source"] == case.number
        assert AuditEntry.objects.filter(action="result_document_revoked").exists()
        event = case.events.get(action=CaseAction.VERIFY_COMMITMENT)
        assert "现场核查发现场地与承诺不符" in event.note

    def test_false_needs_a_reason(self, approved, clerk, reviewer):
        case = issued(approved, clerk)

        with pytest.raises(ServiceError) as error:
            services.task_verify(
                task=case.tasks.get(), actor=reviewer, outcome=VerificationOutcome.FALSE
            )

        assert error.value.field == "reason"
        assert case.tasks.get().status == TaskStatus.OPEN

    def test_false_before_the_result_is_issued_is_refused(self, approved, reviewer):
        with pytest.raises(ServiceError) as error:
            services.task_verify(
                task=approved.tasks.get(),
                actor=reviewer,
                outcome=VerificationOutcome.FALSE,
                reason="不实",
            )

        assert error.value.status == 409
        assert error.value.code == "result_not_issued"
        assert Person.objects.get(pk=approved.person_id).has_violation is False

    def test_a_verified_task_is_not_verified_again(self, approved, clerk, reviewer):
        task = approved.tasks.get()
        services.task_verify(
            task=task, actor=reviewer, outcome=VerificationOutcome.CONFIRMED
        )

        with pytest.raises(ServiceError) as error:
            services.task_verify(
                task=task, actor=reviewer, outcome=VerificationOutcome.CONFIRMED
            )

        assert error.value.code == "task_closed"

    def test_another_departments_reviewer_gets_a_404(self, approved, other_reviewer):
        with pytest.raises(Http404):
            services.task_verify(
                task=approved.tasks.get(),
                actor=other_reviewer,
                outcome=VerificationOutcome.CONFIRMED,
            )

    def test_a_clerk_may_not_verify(self, approved, clerk):
        with pytest.raises(ServiceError) as error:
            services.task_verify(
                task=approved.tasks.get(),
                actor=clerk,
                outcome=VerificationOutcome.CONFIRMED,
            )

        assert error.value.status == 403

    def test_a_review_step_is_not_verified(
        self, clock, item, applicant, clerk, reviewer
    ):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        with pytest.raises(ServiceError) as error:
            services.task_verify(
                task=case.tasks.get(),
                actor=reviewer,
                outcome=VerificationOutcome.CONFIRMED,
            )

        assert error.value.code == "not_verification"

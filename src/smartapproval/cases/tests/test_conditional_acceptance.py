"""Conditional acceptance (容缺受理): promise, pause, resume or return (case 11)."""

import datetime

import pytest

from smartapproval.audit.models import AuditEntry
from smartapproval.cases import commitments, deadlines, services
from smartapproval.cases.models import (
    CaseAction,
    CaseEvent,
    CaseStatus,
    Commitment,
    CommitmentKind,
    CommitmentStatus,
    Decision,
    PauseKind,
    TaskOutcome,
    TaskStatus,
)
from smartapproval.cases.tests import factories as f
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.core.api import ServiceError
from smartapproval.core.deadlines import add_working_days
from smartapproval.parties.models import Person

D = datetime.date

pytestmark = pytest.mark.usefixtures("calendar")


@pytest.fixture
def site_proof(item):
    """A secondary material the item lets the window defer (容缺)."""
    return f.MaterialRequirementFactory(
        item=item, order=4, name="场地使用证明", deferrable=True
    )


@pytest.fixture
def item10(item, site_proof):
    """Case 11's item: 10 working days promised, 20 legal."""
    item.promised_limit_value = 10
    item.legal_limit_value = 20
    item.save()
    return item


@pytest.fixture
def direct10(item10, direct_item):
    """Case 11's item on a route without steps: the reviewer decides."""
    return item10


def without(item, *names):
    """One PDF for every material of the item but the ``names``."""
    return [
        MaterialUpload(file=f.pdf(f"{req.name}.pdf"), requirement_id=req.pk)
        for req in item.materials.all()
        if req.name not in names
    ]


def submitted_without_site_proof(item, applicant, n=1):
    return f.submitted_case(
        item=item, applicant=applicant, n=n, materials=without(item, "场地使用证明")
    )


def accept_conditionally(case, clerk, requirement, **kwargs):
    kwargs.setdefault("working_days", 10)
    return services.case_accept_conditionally(
        case=case,
        actor=clerk,
        deferred=[requirement.pk],
        applicant_agreed=True,
        **kwargs,
    )


def site_proof_upload(requirement, name="场地使用证明.pdf"):
    return [MaterialUpload(file=f.pdf(name), requirement_id=requirement.pk)]


def run_job_at(clock, day):
    """Run the daily job as the scheduler does, just after midnight."""
    clock.at(day.year, day.month, day.day, hour=0, minute=5)
    return services.commitments_enforce()


@pytest.fixture
def case11(clock, direct10, site_proof, applicant, clerk):
    """容缺受理 on 2024-09-02 (Mon), the site proof promised in 10 wd."""
    clock.at(2024, 9, 2)
    case = submitted_without_site_proof(direct10, applicant)
    return accept_conditionally(case, clerk, site_proof, working_days=10)


class TestCase11:
    def test_case11_promise_period_ends_on_the_mid_autumn_make_up_saturday(
        self, case11
    ):
        commitment = case11.commitments.get()

        assert case11.status == CaseStatus.IN_REVIEW
        assert case11.accepted_on == D(2024, 9, 2)
        assert case11.promised_due == D(2024, 9, 14)
        assert commitment.kind == CommitmentKind.DEFERRAL
        assert commitment.due_on == D(2024, 9, 14)
        assert [m.name for m in commitment.materials.all()] == ["场地使用证明"]
        counted = add_working_days(D(2024, 9, 2), 10).counted
        assert counted == [
            *[D(2024, 9, day) for day in (3, 4, 5, 6)],
            *[D(2024, 9, day) for day in (9, 10, 11, 12, 13)],
            D(2024, 9, 14),
        ]
        assert "2024年9月14日前补交以下材料：场地使用证明" in commitment.statement

    def test_case11_missing_document_pauses_the_case_from_the_next_day(
        self, clock, case11
    ):
        assert run_job_at(clock, D(2024, 9, 14)).suspended == 0
        case11.refresh_from_db()
        assert case11.status == CaseStatus.IN_REVIEW

        summary = run_job_at(clock, D(2024, 9, 15))

        case11.refresh_from_db()
        pause = case11.pauses.get()
        assert summary.suspended == 1
        assert case11.status == CaseStatus.SUSPENDED
        assert pause.kind == PauseKind.CORRECTION
        assert pause.started_on == D(2024, 9, 15)
        assert pause.ended_on is None
        assert "场地使用证明" in pause.reason
        assert case11.commitments.get().pause == pause
        event = case11.events.get(action=CaseAction.SUSPEND)
        assert event.actor_label == "system"

    def test_case11_cutoff_is_the_national_day_make_up_saturday(self, case11):
        cutoff = commitments.deferral_cutoff(D(2024, 9, 14))

        assert cutoff.due == D(2024, 10, 12)
        assert cutoff.counted == [
            D(2024, 9, 18),
            D(2024, 9, 19),
            D(2024, 9, 20),
            *[D(2024, 9, day) for day in (23, 24, 25, 26, 27)],
            D(2024, 9, 29),
            D(2024, 9, 30),
            *[D(2024, 10, day) for day in (8, 9, 10, 11)],
            D(2024, 10, 12),
        ]
        skipped = {day.date for day in cutoff.skipped}
        assert {D(2024, 9, 15), D(2024, 9, 16), D(2024, 9, 17)} <= skipped
        assert {D(2024, 10, day) for day in range(1, 8)} <= skipped

    def test_case11_document_on_the_cutoff_day_resumes_and_issues_without_overdue(
        self, clock, case11, site_proof, applicant, reviewer, clerk
    ):
        for day in (D(2024, 9, 15), D(2024, 9, 30), D(2024, 10, 12)):
            run_job_at(clock, day)
        case11.refresh_from_db()
        assert case11.status == CaseStatus.SUSPENDED
        clock.at(2024, 10, 12, hour=9)
        paused = deadlines.case_clock(case11)
        assert paused.colour == deadlines.Colour.GREEN
        assert paused.paused_working_days == 15

        case = services.case_supply_deferred(
            case=case11, actor=applicant, materials=site_proof_upload(site_proof)
        )

        case.refresh_from_db()
        pause = case.pauses.get()
        commitment = case.commitments.get()
        assert case.status == CaseStatus.IN_REVIEW
        assert (pause.started_on, pause.ended_on, pause.working_days) == (
            D(2024, 9, 15),
            D(2024, 10, 12),
            15,
        )
        assert commitment.status == CommitmentStatus.FULFILLED
        assert commitment.closed_on == D(2024, 10, 12)
        assert commitment.materials.get().supplied_on == D(2024, 10, 12)
        # The 15 paused working days are added back: 10 + 15 from 09-02.
        assert case.paused_working_days == 15
        assert case.promised_due == D(2024, 10, 12)
        assert case.legal_due == add_working_days(D(2024, 9, 2), 35).due
        clock_now = deadlines.case_clock(case)
        assert clock_now.colour != deadlines.Colour.RED
        assert clock_now.overdue_working_days == 0

        clock.at(2024, 10, 12, hour=11)
        services.case_decide(case=case, actor=reviewer, decision=Decision.APPROVED)
        services.case_issue_result(case=case, actor=clerk)
        case.refresh_from_db()
        assert case.status == CaseStatus.RESULT_ISSUED
        assert case.result_document.issued_on <= case.promised_due

        # The next morning's job leaves the case alone.
        summary = run_job_at(clock, D(2024, 10, 13))
        case.refresh_from_db()
        assert summary.returned == 0
        assert case.status == CaseStatus.RESULT_ISSUED

    def test_case11_document_on_the_next_monday_is_too_late_the_case_was_returned(
        self, clock, case11, site_proof, applicant
    ):
        run_job_at(clock, D(2024, 9, 15))
        summary = run_job_at(clock, D(2024, 10, 13))

        case11.refresh_from_db()
        assert summary.returned == 1
        assert case11.status == CaseStatus.TERMINATED
        assert case11.closed_at is not None
        commitment = case11.commitments.get()
        assert commitment.status == CommitmentStatus.LAPSED
        returned = case11.events.get(action=CaseAction.RETURN)
        assert returned.status_to == CaseStatus.TERMINATED
        assert "场地使用证明" in returned.note
        assert "2024-10-12" in returned.note
        assert case11.pauses.get().ended_on == D(2024, 10, 12)

        clock.at(2024, 10, 14, hour=9)
        with pytest.raises(ServiceError) as error:
            services.case_supply_deferred(
                case=case11, actor=applicant, materials=site_proof_upload(site_proof)
            )

        assert error.value.status == 409
        assert error.value.code == "application_returned"
        assert "2024-10-12" in error.value.message
        assert case11.materials.filter(requirement=site_proof).count() == 0

    def test_case11_applicant_with_bad_credit_is_not_offered_conditional_acceptance(
        self, clock, direct10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(direct10, applicant)
        Person.objects.filter(pk=case.person_id).update(has_violation=True)

        with pytest.raises(ServiceError) as error:
            accept_conditionally(case, clerk, site_proof)

        assert error.value.status == 409
        assert error.value.code == "applicant_has_violation"
        assert "失信" in error.value.message or "违法" in error.value.message
        case.refresh_from_db()
        assert case.status == CaseStatus.SUBMITTED
        assert not Commitment.objects.exists()


class TestAcceptConditionally:
    def test_a_late_return_is_made_before_a_supply_the_job_has_not_seen(
        self, clock, case11, site_proof, applicant
    ):
        # The scheduler was down from 09-15 to 10-14.
        clock.at(2024, 10, 14, hour=9)

        with pytest.raises(ServiceError) as error:
            services.case_supply_deferred(
                case=case11, actor=applicant, materials=site_proof_upload(site_proof)
            )

        assert error.value.code == "application_returned"
        case11.refresh_from_db()
        assert case11.status == CaseStatus.TERMINATED
        pause = case11.pauses.get()
        assert (pause.started_on, pause.ended_on) == (D(2024, 9, 15), D(2024, 10, 12))

    def test_a_deadline_after_the_promised_deadline_is_refused_naming_the_field(
        self, clock, direct10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(direct10, applicant)

        with pytest.raises(ServiceError) as by_days:
            accept_conditionally(case, clerk, site_proof, working_days=11)
        with pytest.raises(ServiceError) as by_date:
            accept_conditionally(
                case, clerk, site_proof, working_days=None, due_on=D(2024, 9, 18)
            )

        assert by_days.value.field == "working_days"
        assert by_days.value.message == (
            "承诺期限：2024-09-18 晚于办件的承诺办结日期 2024-09-14。"
        )
        assert by_date.value.field == "due_on"
        case.refresh_from_db()
        assert case.status == CaseStatus.SUBMITTED
        assert case.accepted_on is None
        assert not case.tasks.exists()
        assert not case.events.filter(
            action__in=[CaseAction.ACCEPT_CONDITIONALLY, CaseAction.START_REVIEW]
        ).exists()
        assert not Commitment.objects.exists()

    def test_the_promised_deadline_itself_may_be_the_commitment_deadline(
        self, clock, direct10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(direct10, applicant)

        case = accept_conditionally(
            case, clerk, site_proof, working_days=None, due_on=D(2024, 9, 14)
        )

        assert case.commitments.get().due_on == D(2024, 9, 14)

    def test_a_material_not_marked_deferrable_cannot_be_deferred(
        self, clock, direct10, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        form = direct10.materials.get(name="申请书")
        case = f.submitted_case(
            item=direct10, applicant=applicant, materials=without(direct10, "申请书")
        )

        with pytest.raises(ServiceError) as error:
            accept_conditionally(case, clerk, form)

        assert error.value.field == "deferred"
        assert error.value.code == "not_deferrable"
        assert "申请书" in error.value.message

    def test_a_missing_required_material_still_refuses_conditional_acceptance(
        self, clock, direct10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = f.submitted_case(
            item=direct10,
            applicant=applicant,
            materials=without(direct10, "身份证明", "场地使用证明"),
        )

        with pytest.raises(ServiceError) as error:
            accept_conditionally(case, clerk, site_proof)

        assert error.value.status == 409
        assert error.value.code == "required_materials_missing"
        assert "身份证明" in error.value.message
        # Asked for instead, every missing material is listed, the
        # deferrable one too: it was not deferred.
        case = services.case_request_correction(case=case, actor=clerk)
        assert [e["name"] for e in case.correction_items] == [
            "身份证明",
            "场地使用证明",
        ]

    def test_the_applicants_signature_is_required(
        self, clock, direct10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(direct10, applicant)

        with pytest.raises(ServiceError) as error:
            services.case_accept_conditionally(
                case=case, actor=clerk, deferred=[site_proof.pk], working_days=5
            )

        assert error.value.field == "applicant_agreed"

    def test_a_date_and_a_number_of_days_together_are_refused(
        self, clock, direct10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(direct10, applicant)

        with pytest.raises(ServiceError) as error:
            accept_conditionally(
                case, clerk, site_proof, working_days=3, due_on=D(2024, 9, 5)
            )

        assert error.value.field == "due_on"

    def test_a_day_the_centre_is_closed_is_refused_as_commitment_deadline(
        self, clock, direct10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(direct10, applicant)

        with pytest.raises(ServiceError) as error:
            # Sunday 2024-09-08; the make-up Saturday 09-14 is accepted above.
            accept_conditionally(
                case, clerk, site_proof, working_days=None, due_on=D(2024, 9, 8)
            )

        assert (error.value.field, error.value.code) == ("due_on", "not_a_working_day")
        assert "2024-09-08 不是工作日" in error.value.message
        assert not Commitment.objects.exists()

    def test_only_a_window_clerk_accepts_conditionally(
        self, clock, direct10, site_proof, applicant, reviewer
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(direct10, applicant)

        with pytest.raises(ServiceError) as error:
            accept_conditionally(case, reviewer, site_proof)

        assert error.value.status == 403

    def test_acceptance_is_audited_with_the_commitment(self, case11, clerk):
        accepted = AuditEntry.objects.get(action="case_accepted_conditionally")
        recorded = AuditEntry.objects.get(action="commitment_recorded")

        assert accepted.actor == clerk
        assert accepted.after["commitment_due_on"] == "2024-09-14"
        assert accepted.after["promised_due"] == "2024-09-14"
        assert recorded.after["cutoff_on"] == "2024-10-12"
        assert case11.events.filter(action=CaseAction.START_REVIEW).exists()


class TestDeferredSupply:
    def test_supply_before_the_deadline_fulfils_the_commitment_without_a_pause(
        self, clock, case11, site_proof, clerk
    ):
        clock.at(2024, 9, 10)

        case = services.case_supply_deferred(
            case=case11, actor=clerk, materials=site_proof_upload(site_proof)
        )

        assert case.status == CaseStatus.IN_REVIEW
        assert not case.pauses.exists()
        assert case.commitments.get().status == CommitmentStatus.FULFILLED
        assert case.events.filter(action=CaseAction.SUPPLY_DEFERRED).count() == 1
        assert run_job_at(clock, D(2024, 9, 15)).seen == 0

    def test_some_now_and_the_rest_later(self, clock, item10, direct_item, applicant):
        clerk = f.ClerkFactory(department=item10.department)
        plan = f.MaterialRequirementFactory(
            item=item10, order=5, name="平面图", deferrable=True
        )
        site = item10.materials.get(name="场地使用证明")
        clock.at(2024, 9, 2)
        case = f.submitted_case(
            item=item10,
            applicant=applicant,
            materials=without(item10, "场地使用证明", "平面图"),
        )
        case = services.case_accept_conditionally(
            case=case,
            actor=clerk,
            deferred=[plan.pk, site.pk],
            working_days=5,
            applicant_agreed=True,
        )

        clock.at(2024, 9, 3)
        services.case_supply_deferred(
            case=case, actor=applicant, materials=site_proof_upload(plan, "平面图.pdf")
        )

        commitment = case.commitments.get()
        assert commitment.status == CommitmentStatus.OPEN
        assert [m.name for m in commitments.outstanding_materials(commitment)] == [
            "场地使用证明"
        ]

    def test_a_file_for_another_material_is_refused_and_nothing_is_kept(
        self, clock, case11, applicant, direct10
    ):
        form = direct10.materials.get(name="申请书")
        clock.at(2024, 9, 3)

        with pytest.raises(ServiceError) as error:
            services.case_supply_deferred(
                case=case11, actor=applicant, materials=site_proof_upload(form)
            )

        assert error.value.code == "not_deferred"
        assert case11.materials.filter(requirement=form).count() == 1

    def test_another_applicant_gets_a_404(self, clock, case11, site_proof):
        from django.http import Http404

        stranger = f.ApplicantFactory()
        clock.at(2024, 9, 3)

        with pytest.raises(Http404):
            services.case_supply_deferred(
                case=case11, actor=stranger, materials=site_proof_upload(site_proof)
            )

    def test_an_approval_waits_for_the_deferred_materials(
        self, clock, case11, site_proof, reviewer, applicant
    ):
        clock.at(2024, 9, 10)

        with pytest.raises(ServiceError) as error:
            services.case_decide(
                case=case11, actor=reviewer, decision=Decision.APPROVED
            )

        assert error.value.status == 409
        assert "场地使用证明" in error.value.message
        services.case_supply_deferred(
            case=case11, actor=applicant, materials=site_proof_upload(site_proof)
        )
        case = services.case_decide(
            case=case11, actor=reviewer, decision=Decision.APPROVED
        )
        assert case.status == CaseStatus.DECIDED

    def test_the_pause_for_deferred_materials_is_not_ended_by_hand(
        self, clock, case11, reviewer
    ):
        run_job_at(clock, D(2024, 9, 15))
        clock.at(2024, 9, 20)

        with pytest.raises(ServiceError) as error:
            services.case_resume(case=case11, actor=reviewer)

        assert error.value.code == "waiting_for_deferred_materials"
        case11.refresh_from_db()
        assert case11.status == CaseStatus.SUSPENDED


class TestDailyJob:
    def test_the_worker_task_the_scheduler_enqueues_pauses_the_case(
        self, clock, case11
    ):
        from smartapproval.cases.tasks import enforce_deferral_commitments

        clock.at(2024, 9, 15, hour=0, minute=5)
        result = enforce_deferral_commitments.enqueue()

        assert result.return_value["suspended"] == 1
        case11.refresh_from_db()
        assert case11.status == CaseStatus.SUSPENDED

    def test_running_twice_changes_nothing_more(self, clock, case11):
        run_job_at(clock, D(2024, 9, 15))
        again = run_job_at(clock, D(2024, 9, 15))
        later = run_job_at(clock, D(2024, 9, 20))

        assert (again.suspended, later.suspended) == (0, 0)
        assert case11.pauses.count() == 1
        assert case11.events.filter(action=CaseAction.SUSPEND).count() == 1
        assert AuditEntry.objects.filter(action="case_suspended").count() == 1

        run_job_at(clock, D(2024, 10, 13))
        run_job_at(clock, D(2024, 10, 13))
        run_job_at(clock, D(2024, 10, 20))
        assert case11.events.filter(action=CaseAction.RETURN).count() == 1

    def test_a_late_first_run_still_pauses_from_the_day_after_the_deadline(
        self, clock, case11
    ):
        run_job_at(clock, D(2024, 9, 20))

        assert case11.pauses.get().started_on == D(2024, 9, 15)

    def test_a_case_already_suspended_for_a_hearing_is_only_returned(
        self, clock, case11, reviewer
    ):
        clock.at(2024, 9, 12)
        services.case_suspend(
            case=case11, actor=reviewer, kind=PauseKind.HEARING, reason="听证"
        )

        assert run_job_at(clock, D(2024, 9, 15)).suspended == 0
        assert run_job_at(clock, D(2024, 10, 13)).returned == 1
        case11.refresh_from_db()
        assert case11.status == CaseStatus.TERMINATED

    def test_a_withdrawn_case_no_longer_needs_its_materials(
        self, clock, case11, applicant
    ):
        clock.at(2024, 9, 5)
        services.case_withdraw(case=case11, actor=applicant)

        summary = run_job_at(clock, D(2024, 9, 6))

        assert summary.voided == 1
        assert case11.commitments.get().status == CommitmentStatus.VOID
        assert run_job_at(clock, D(2024, 10, 20)).seen == 0

    def test_the_return_cancels_the_open_review_steps(
        self, clock, item10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(item10, applicant)
        case = accept_conditionally(case, clerk, site_proof, working_days=5)
        assert case.tasks.filter(status=TaskStatus.OPEN).count() == 1

        run_job_at(clock, D(2024, 9, 10))
        run_job_at(
            clock, add_working_days(D(2024, 9, 9), 15).due + datetime.timedelta(1)
        )

        case.refresh_from_db()
        assert case.status == CaseStatus.TERMINATED
        assert not case.tasks.filter(status=TaskStatus.OPEN).exists()
        assert case.tasks.filter(status=TaskStatus.CANCELLED).count() == 1

    def test_open_review_steps_move_with_the_pause_when_the_material_comes(
        self, clock, item10, site_proof, applicant, clerk, reviewer
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(item10, applicant)
        # Promised by 09-04; 审查's own limit runs to 09-04 too.
        case = accept_conditionally(case, clerk, site_proof, working_days=2)
        clock.at(2024, 9, 4)
        services.task_complete(
            task=case.tasks.get(), actor=reviewer, outcome=TaskOutcome.APPROVED
        )
        check = case.tasks.get(status=TaskStatus.OPEN)
        assert check.due_on == D(2024, 9, 5)

        run_job_at(clock, D(2024, 9, 5))
        clock.at(2024, 9, 10)
        services.case_supply_deferred(
            case=case,
            actor=case.applicant_account,
            materials=site_proof_upload(site_proof),
        )

        check.refresh_from_db()
        # Paused 09-05 to 09-10: 4 working days added to 审核's due date.
        assert check.paused_working_days == 4
        assert check.due_on == D(2024, 9, 11)
        case.refresh_from_db()
        assert case.status == CaseStatus.IN_REVIEW
        assert CaseEvent.objects.filter(case=case, action=CaseAction.RESUME).exists()


class TestPlainAcceptance:
    def test_a_deferrable_material_missing_needs_the_commitment(
        self, clock, direct10, site_proof, applicant, clerk
    ):
        clock.at(2024, 9, 2)
        case = submitted_without_site_proof(direct10, applicant)

        with pytest.raises(ServiceError) as refused:
            services.case_accept(case=case, actor=clerk)

        assert (refused.value.status, refused.value.code) == (409, "materials_missing")
        assert "场地使用证明" in refused.value.message
        case.refresh_from_db()
        assert case.status == CaseStatus.SUBMITTED
        assert not case.commitments.exists()

"""Case services: submission, window actions, decisions; audit and events."""

import datetime
import threading
from unittest import mock

import pytest
from django.db import connection
from django.http import Http404

from smartapproval.audit.models import AuditEntry
from smartapproval.cases import services
from smartapproval.cases.models import (
    Case,
    CaseAction,
    CaseEvent,
    CaseMaterial,
    CaseNumberSequence,
    CaseStatus,
    Channel,
    Decision,
    TaskStatus,
    VoidCaseNumber,
)
from smartapproval.cases.tests import factories as f
from smartapproval.cases.uploads import MaterialUpload
from smartapproval.catalogue.models import ApplicantScope, ItemStatus
from smartapproval.core.api import ServiceError
from smartapproval.parties.models import Enterprise, Person
from smartapproval.parties.selectors import applicant_prefill

pytestmark = pytest.mark.usefixtures("calendar", "clock")


def audit_actions(case) -> list[str]:
    return list(
        AuditEntry.objects.filter(target_type="cases.case", target_id=str(case.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )


def event_actions(case) -> list[str]:
    return list(case.events.order_by("id").values_list("action", flat=True))


def submit(item, actor, *, n=1, key="", materials=None, **applicant):
    return services.case_submit(
        actor=actor,
        item=item,
        applicant=f.person_applicant(n, **applicant),
        form_data={"purpose": "测试"},
        materials=f.all_materials(item) if materials is None else materials,
        idempotency_key=key,
    )


class TestSubmit:
    def test_submission_creates_a_numbered_case_with_materials_and_audit(
        self, item, applicant, clock
    ):
        result = submit(item, applicant)

        case = result.case
        assert result.created is True
        assert result.duplicate_warning is False
        assert case.number == "511602-20240902-000001"
        assert case.status == CaseStatus.SUBMITTED
        assert case.channel == Channel.ONLINE
        assert case.department == item.department
        assert case.applicant_account == applicant
        assert case.submitted_at == clock.moment
        assert case.materials.count() == 3
        assert Person.objects.get(id_number=f.resident_id(1)) == case.person
        assert event_actions(case) == [CaseAction.SUBMIT]
        entry = AuditEntry.objects.get(action="case_submitted")
        assert entry.actor == applicant
        assert entry.after["number"] == case.number

    def test_enterprise_applicant_is_recorded_in_the_enterprise_library(
        self, item, applicant
    ):
        result = services.case_submit(
            actor=applicant,
            item=item,
            applicant=f.enterprise_applicant(3),
            form_data={},
            materials=[],
        )

        enterprise = Enterprise.objects.get(uscc=f.uscc(3))
        assert result.case.enterprise == enterprise
        assert result.case.contact_name == "赵六"

    def test_unpublished_item_is_refused(self, item, applicant):
        item.status = ItemStatus.DRAFT
        item.save()

        with pytest.raises(ServiceError) as error:
            submit(item, applicant)

        assert error.value.field == "item"
        assert error.value.message == "该事项目前不接受申请。"

    def test_applicant_kind_outside_the_items_scope_is_refused(self, item, applicant):
        item.applicant_scope = ApplicantScope.ENTERPRISE
        item.save()

        with pytest.raises(ServiceError) as error:
            submit(item, applicant)

        assert error.value.field == "applicant.kind"
        assert "自然人" in error.value.message

    def test_invalid_id_number_is_refused_naming_the_field_before_a_number_is_taken(
        self, item, applicant
    ):
        bad = f.resident_id(1)[:-1] + ("0" if f.resident_id(1)[-1] != "0" else "1")

        with pytest.raises(ServiceError) as error:
            submit(item, applicant, code=bad)

        assert error.value.field == "applicant.code"
        assert error.value.message.startswith("公民身份号码：")
        assert Case.objects.count() == 0
        assert VoidCaseNumber.objects.count() == 0

    def test_bad_phone_is_refused(self, item, applicant):
        with pytest.raises(ServiceError) as error:
            submit(item, applicant, contact_phone="abc")

        assert error.value.field == "applicant.contact_phone"

    def test_only_applicants_submit_online(self, item, clerk):
        with pytest.raises(ServiceError) as error:
            submit(item, clerk)

        assert error.value.status == 403

    def test_same_key_returns_the_same_case(self, item, applicant):
        first = submit(item, applicant, key="k-1")
        again = submit(item, applicant, key="k-1")

        assert again.created is False
        assert again.case.pk == first.case.pk
        assert Case.objects.count() == 1
        assert AuditEntry.objects.filter(action="case_submitted").count() == 1

    def test_same_key_from_another_account_is_another_case(
        self, item, applicant, other_applicant
    ):
        first = submit(item, applicant, key="k-1")
        second = submit(item, other_applicant, n=2, key="k-1")

        assert second.created is True
        assert second.case.pk != first.case.pk

    def test_identical_submission_without_key_within_ten_minutes_warns(
        self, item, applicant, clock
    ):
        submit(item, applicant)
        clock.moment += datetime.timedelta(minutes=2)

        second = submit(item, applicant)

        assert second.created is True
        assert second.duplicate_warning is True

    def test_identical_submission_after_ten_minutes_does_not_warn(
        self, item, applicant, clock
    ):
        submit(item, applicant)
        clock.moment += datetime.timedelta(minutes=11)

        assert submit(item, applicant).duplicate_warning is False

    def test_different_content_does_not_warn(self, item, applicant):
        submit(item, applicant)

        assert submit(item, applicant, name="王六").duplicate_warning is False

    def test_failed_attempt_voids_its_number_and_removes_its_files(
        self, item, applicant, settings
    ):
        with (
            mock.patch(
                "smartapproval.cases.services.audit_record",
                side_effect=RuntimeError("disk full"),
            ),
            pytest.raises(RuntimeError),
        ):
            submit(item, applicant)

        assert Case.objects.count() == 0
        assert CaseMaterial.objects.count() == 0
        void = VoidCaseNumber.objects.get()
        assert void.number.endswith("-000001")
        assert "RuntimeError" in void.reason
        stored = settings.MEDIA_ROOT / "materials"
        assert not stored.exists() or list(stored.iterdir()) == []

        # The next case takes the next number: a void number is never reused.
        assert submit(item, applicant).case.number.endswith("-000002")


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submit_with_one_key_makes_one_case(calendar):
    """Case 17: a double click and a retry carry the same key."""
    item = f.ServiceItemFactory()
    applicant = f.ApplicantFactory()
    results: list = []
    errors: list = []
    start = threading.Barrier(3)

    def send():
        try:
            start.wait()
            results.append(submit(item, applicant, key="double-click", materials=[]))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Case.objects.count() == 1
    case = Case.objects.get()
    assert {result.case.number for result in results} == {case.number}
    assert sum(result.created for result in results) == 1
    assert AuditEntry.objects.filter(action="case_submitted").count() == 1
    # Every number a losing request took is void, never silently missing.
    taken = CaseNumberSequence.objects.get().last
    assert taken == 1 + VoidCaseNumber.objects.count()
    assert case.number not in VoidCaseNumber.objects.values_list("number", flat=True)


class TestApplicantLibrary:
    """Online applications never rewrite another applicant's library entry."""

    def test_another_accounts_resident_id_is_refused_and_the_victim_unchanged(
        self, item, applicant, other_applicant
    ):
        submit(item, applicant, name="王五", address="建设路1号")
        numbers = VoidCaseNumber.objects.count()

        with pytest.raises(ServiceError) as error:
            submit(
                item,
                other_applicant,
                name="冒名者",
                contact_phone="13800000009",
                address="别处",
            )

        assert error.value.status == 409
        assert error.value.field == "applicant.code"
        assert error.value.message == (
            "该证件号码已由其他账号登记，请使用本人账号申请或到窗口办理"
        )
        person = Person.objects.get(id_number=f.resident_id(1))
        assert (person.name, person.phone, person.address, person.account) == (
            "王五",
            "13900139000",
            "建设路1号",
            applicant,
        )
        assert Case.objects.filter(applicant_account=other_applicant).count() == 0
        # Refused before a case number was taken.
        assert VoidCaseNumber.objects.count() == numbers
        prefill = applicant_prefill(user=applicant)
        assert (prefill["applicant_name"], prefill["address"]) == ("王五", "建设路1号")

    def test_another_accounts_credit_code_is_refused_and_the_victim_unchanged(
        self, item, applicant, other_applicant
    ):
        def apply(actor, **values):
            return services.case_submit(
                actor=actor,
                item=item,
                applicant=f.enterprise_applicant(3, **values),
                form_data={},
                materials=[],
            )

        apply(applicant, address="中桥路8号")

        with pytest.raises(ServiceError) as error:
            apply(other_applicant, name="冒名公司", legal_representative="冒名者")

        assert (error.value.status, error.value.field) == (409, "applicant.code")
        enterprise = Enterprise.objects.get(uscc=f.uscc(3))
        assert (enterprise.name, enterprise.legal_representative) == (
            "广安测试有限公司",
            "赵六",
        )
        assert enterprise.account == applicant
        prefill = applicant_prefill(user=applicant)
        assert (prefill["applicant_name"], prefill["legal_representative"]) == (
            "广安测试有限公司",
            "赵六",
        )

    def test_a_concurrent_claim_is_refused_by_the_library_under_its_lock(
        self, item, applicant, other_applicant
    ):
        submit(item, applicant)

        # The check before the number passes (as when two requests race);
        # the library refuses under its row lock and the number is voided.
        with (
            mock.patch("smartapproval.parties.selectors.party_online_ensure_own"),
            pytest.raises(ServiceError) as error,
        ):
            submit(item, other_applicant, name="冒名者")

        assert (error.value.status, error.value.field) == (409, "applicant.code")
        assert Person.objects.get(id_number=f.resident_id(1)).name == "王五"
        assert VoidCaseNumber.objects.count() == 1

    def test_an_online_case_in_a_name_the_window_recorded_is_refused(
        self, item, clerk, applicant
    ):
        services.case_register(
            actor=clerk,
            item=item,
            applicant=f.person_applicant(4, address="窗口登记地址"),
            form_data={},
            materials=[],
        )

        with pytest.raises(ServiceError) as refused:
            submit(item, applicant, n=4, name="王小五", address="网上填写地址")

        assert (refused.value.status, refused.value.field) == (403, "applicant.code")
        assert "窗口" in refused.value.message
        person = Person.objects.get(id_number=f.resident_id(4))
        assert (person.name, person.address, person.account) == (
            "王五",
            "窗口登记地址",
            None,
        )
        assert not Case.objects.filter(applicant_account=applicant).exists()

    def test_online_the_name_is_the_identitys_whatever_is_typed(self, item, applicant):
        submit(item, applicant, n=1)

        case = submit(item, applicant, n=1, name="中国石油天然气集团有限公司").case

        assert case.applicant_name == "王五"
        assert Person.objects.get(id_number=f.resident_id(1)).name == "王五"

    def test_an_account_applies_online_only_in_its_own_name(self, item, applicant):
        submit(item, applicant, n=1)

        # A second person, unknown to the libraries, is not claimed either.
        with pytest.raises(ServiceError) as refused:
            submit(item, applicant, n=2, name="别人")

        assert (refused.value.status, refused.value.field) == (403, "applicant.code")
        assert not Person.objects.filter(id_number=f.resident_id(2)).exists()
        assert submit(item, applicant, n=1).created

    def test_window_registration_updates_an_entry_of_an_account(
        self, item, clerk, applicant
    ):
        submit(item, applicant, n=5)

        services.case_register(
            actor=clerk,
            item=item,
            applicant=f.person_applicant(5, contact_phone="13800000005"),
            form_data={},
            materials=[],
        )

        person = Person.objects.get(id_number=f.resident_id(5))
        assert (person.phone, person.account) == ("13800000005", applicant)
        changed = AuditEntry.objects.get(action="person_changed")
        assert changed.actor == clerk

    def test_address_and_legal_representative_are_kept_on_the_case(
        self, item, applicant
    ):
        case = services.case_submit(
            actor=applicant,
            item=item,
            applicant=f.enterprise_applicant(6, address="广安区中桥路8号"),
            form_data={},
            materials=[],
        ).case

        case.refresh_from_db()
        assert case.applicant_address == "广安区中桥路8号"
        assert case.legal_representative == "赵六"


class TestRegister:
    def test_clerk_registers_a_window_case(self, item, clerk):
        result = services.case_register(
            actor=clerk,
            item=item,
            applicant=f.person_applicant(2),
            form_data={},
            materials=f.all_materials(item),
            idempotency_key="ticket-A001",
        )

        case = result.case
        assert case.channel == Channel.WINDOW
        assert case.registered_by == clerk
        assert case.applicant_account is None
        assert event_actions(case) == [CaseAction.REGISTER]
        again = services.case_register(
            actor=clerk,
            item=item,
            applicant=f.person_applicant(2),
            form_data={},
            materials=[],
            idempotency_key="ticket-A001",
        )
        assert again.created is False
        assert again.case.pk == case.pk

    def test_clerk_of_another_department_cannot_register(self, item, other_clerk):
        with pytest.raises(ServiceError) as error:
            services.case_register(
                actor=other_clerk,
                item=item,
                applicant=f.person_applicant(2),
                form_data={},
                materials=[],
            )

        assert error.value.status == 403


class TestAccept:
    def test_a_case_missing_required_materials_is_not_accepted(
        self, item, applicant, clerk
    ):
        case = submit(item, applicant, materials=[]).case

        with pytest.raises(ServiceError) as refused:
            services.case_accept(case=case, actor=clerk)

        assert (refused.value.status, refused.value.field) == (409, "materials")
        assert "申请书、身份证明" in refused.value.message
        case.refresh_from_db()
        assert (case.status, case.accepted_at) == (CaseStatus.SUBMITTED, None)
        assert not case.tasks.exists()

    def test_accept_starts_the_clock_and_the_route(self, item, applicant, clerk, clock):
        case = submit(item, applicant).case

        case = services.case_accept(case=case, actor=clerk)

        assert case.status == CaseStatus.IN_REVIEW
        assert case.accepted_at == clock.moment
        assert case.accepted_on == datetime.date(2024, 9, 2)
        assert (case.legal_limit_value, case.promised_limit_value) == (20, 5)
        assert case.promised_due == datetime.date(2024, 9, 9)
        assert case.legal_due == datetime.date(2024, 9, 30)
        assert case.due_provisional is False
        task = case.tasks.get()
        assert task.name == "审查"
        assert task.due_on == datetime.date(2024, 9, 4)
        assert event_actions(case) == [
            CaseAction.SUBMIT,
            CaseAction.ACCEPT,
            CaseAction.START_REVIEW,
        ]
        assert audit_actions(case)[-2:] == ["case_accepted", "case_review_started"]
        accepted = AuditEntry.objects.get(action="case_accepted")
        assert accepted.before == {"status": "submitted"}
        assert accepted.after["status"] == "accepted"
        assert accepted.actor == clerk

    def test_limits_are_a_snapshot(self, item, applicant, clerk):
        case = services.case_accept(case=submit(item, applicant).case, actor=clerk)
        item.promised_limit_value = 1
        item.save()

        case.refresh_from_db()
        assert case.promised_limit_value == 5

    def test_item_without_limits_cannot_be_accepted(self, applicant, clerk, department):
        item = f.ServiceItemFactory(
            department=department, legal_limit_value=None, promised_limit_value=None
        )
        case = f.CaseFactory(item=item, applicant_account=applicant)

        with pytest.raises(ServiceError) as error:
            services.case_accept(case=case, actor=clerk)

        assert error.value.code == "item_without_limits"
        case.refresh_from_db()
        assert case.status == CaseStatus.SUBMITTED
        assert case.accepted_on is None


class TestRefuseAndCorrection:
    def test_refuse_needs_a_reason(self, item, applicant, clerk):
        case = submit(item, applicant).case

        with pytest.raises(ServiceError) as error:
            services.case_refuse(case=case, actor=clerk, reason="  ")

        assert error.value.field == "reason"
        assert error.value.message == "请填写不予受理的理由。"

    def test_refuse_ends_the_case(self, item, applicant, clerk):
        case = services.case_refuse(
            case=submit(item, applicant).case, actor=clerk, reason="不属于本部门职权"
        )

        assert case.status == CaseStatus.NOT_ACCEPTED
        assert case.refusal_reason == "不属于本部门职权"
        assert case.closed_at is not None
        assert audit_actions(case)[-1] == "case_refused"

    def test_correction_lists_every_missing_material_at_once(
        self, item, applicant, clerk
    ):
        first = item.materials.get(order=1)
        case = submit(
            item,
            applicant,
            materials=[MaterialUpload(file=f.pdf(), requirement_id=first.pk)],
        ).case

        case = services.case_request_correction(
            case=case, actor=clerk, items=[str(first.pk), "签字不清晰"], note="一次告知"
        )

        names = [entry["name"] for entry in case.correction_items]
        assert names == ["身份证明", "申请书", "签字不清晰"]
        assert case.status == CaseStatus.CORRECTION_REQUESTED
        assert case.accepted_on is None
        assert case.legal_due is None
        assert event_actions(case)[-1] == CaseAction.REQUEST_CORRECTION

    def test_correction_with_nothing_to_ask_is_refused(self, item, applicant, clerk):
        case = submit(item, applicant).case

        with pytest.raises(ServiceError) as error:
            services.case_request_correction(case=case, actor=clerk, items=[])

        assert error.value.field == "items"

    def test_supplying_the_correction_returns_the_case_to_the_window(
        self, item, applicant, clerk
    ):
        case = submit(item, applicant, materials=[]).case
        case = services.case_request_correction(case=case, actor=clerk)
        requested = [entry["requirement_id"] for entry in case.correction_items]

        case = services.case_supply_correction(
            case=case,
            actor=applicant,
            materials=[
                MaterialUpload(file=f.pdf(f"{pk}.pdf"), requirement_id=pk)
                for pk in requested
            ],
        )

        assert case.status == CaseStatus.SUBMITTED
        assert case.materials.count() == 2
        assert audit_actions(case)[-1] == "case_correction_supplied"

    def test_supplying_only_part_of_the_correction_is_refused(
        self, item, applicant, clerk
    ):
        case = submit(item, applicant, materials=[]).case
        case = services.case_request_correction(case=case, actor=clerk)
        one = case.correction_items[0]["requirement_id"]

        with pytest.raises(ServiceError) as error:
            services.case_supply_correction(
                case=case,
                actor=applicant,
                materials=[MaterialUpload(file=f.pdf(), requirement_id=one)],
            )

        assert error.value.field == "materials"
        assert "身份证明" in error.value.message
        assert CaseMaterial.objects.count() == 0

    def test_another_applicant_cannot_supply(
        self, item, applicant, other_applicant, clerk
    ):
        case = submit(item, applicant, materials=[]).case
        case = services.case_request_correction(case=case, actor=clerk)

        with pytest.raises(Http404):
            services.case_supply_correction(
                case=case, actor=other_applicant, materials=[]
            )


class TestExtend:
    def test_extension_moves_both_deadlines_once(
        self, item, applicant, clerk, reviewer
    ):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        case = services.case_extend(case=case, actor=reviewer, days=10, reason="复杂")

        assert case.extension_days == 10
        assert case.extension_approved_by == reviewer
        assert case.legal_due == datetime.date(2024, 10, 18)
        assert case.promised_due == datetime.date(2024, 9, 24)
        entry = AuditEntry.objects.get(action="case_extended")
        assert entry.after["legal_due_before"] == "2024-09-30"
        assert entry.after["legal_due"] == "2024-10-18"

    def test_second_extension_is_refused(self, item, applicant, clerk, manager):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
        services.case_extend(case=case, actor=manager, days=5, reason="复杂")

        with pytest.raises(ServiceError) as error:
            services.case_extend(case=case, actor=manager, days=5, reason="再延")

        assert error.value.status == 409
        assert error.value.message == "本办件已延期一次，不能再次延期。"
        case.refresh_from_db()
        assert case.extension_days == 5

    def test_extension_longer_than_the_legal_limit_is_refused(
        self, item, applicant, clerk, reviewer
    ):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        with pytest.raises(ServiceError) as error:
            services.case_extend(case=case, actor=reviewer, days=21, reason="复杂")

        assert error.value.field == "days"

    def test_extension_needs_a_reason(self, item, applicant, clerk, reviewer):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        with pytest.raises(ServiceError) as error:
            services.case_extend(case=case, actor=reviewer, days=3, reason="")

        assert error.value.field == "reason"

    def test_clerk_cannot_approve_an_extension(self, item, applicant, clerk):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        with pytest.raises(ServiceError) as error:
            services.case_extend(case=case, actor=clerk, days=3, reason="复杂")

        assert error.value.status == 403

    def test_reviewer_of_another_department_gets_404(
        self, item, applicant, clerk, other_reviewer
    ):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        with pytest.raises(Http404):
            services.case_extend(case=case, actor=other_reviewer, days=3, reason="x")


class TestWithdrawAndTerminate:
    def test_owner_withdraws_and_open_tasks_are_cancelled(self, item, applicant, clerk):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        case = services.case_withdraw(case=case, actor=applicant, reason="不再需要")

        assert case.status == CaseStatus.WITHDRAWN
        assert set(case.tasks.values_list("status", flat=True)) == {
            TaskStatus.CANCELLED
        }
        assert audit_actions(case)[-1] == "case_withdrawn"

    @pytest.mark.parametrize("who", ["other_applicant", "clerk", "manager"])
    def test_only_the_owner_may_withdraw(self, item, applicant, who, request):
        case = submit(item, applicant).case

        with pytest.raises(Http404):
            services.case_withdraw(case=case, actor=request.getfixturevalue(who))

        case.refresh_from_db()
        assert case.status == CaseStatus.SUBMITTED

    def test_withdrawal_while_suspended_closes_the_pause(
        self, item, applicant, clerk, reviewer, clock
    ):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)
        clock.at(2024, 9, 4)
        services.case_suspend(case=case, actor=reviewer, kind="hearing", reason="听证")
        clock.at(2024, 9, 6)

        services.case_withdraw(case=case, actor=applicant)

        pause = case.pauses.get()
        assert pause.ended_on == datetime.date(2024, 9, 6)
        assert pause.working_days == 3

    def test_manager_terminates_with_a_reason(self, item, applicant, clerk, manager):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        with pytest.raises(ServiceError):
            services.case_terminate(case=case, actor=manager, reason="")
        case = services.case_terminate(case=case, actor=manager, reason="主体注销")

        assert case.status == CaseStatus.TERMINATED
        assert audit_actions(case)[-1] == "case_terminated"
        assert AuditEntry.objects.get(action="case_terminated").actor == manager


class TestDecision:
    def test_direct_decision_is_refused_while_review_steps_are_open(
        self, item, applicant, clerk, reviewer
    ):
        case = f.accepted_case(item=item, applicant=applicant, clerk=clerk)

        with pytest.raises(ServiceError) as error:
            services.case_decide(case=case, actor=reviewer, decision=Decision.APPROVED)

        assert error.value.status == 409
        assert error.value.message == "审查流程尚未完成，不能直接作出决定"
        case.refresh_from_db()
        assert case.status == CaseStatus.IN_REVIEW
        assert case.decision == ""
        assert case.tasks.filter(status=TaskStatus.OPEN).count() == 1

    def test_reason_of_a_direct_approval_stays_internal(
        self, direct_item, applicant, clerk, reviewer
    ):
        case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)

        case = services.case_decide(
            case=case, actor=reviewer, decision=Decision.APPROVED, reason="内部意见"
        )

        assert case.decision == Decision.APPROVED
        assert case.decision_reason == ""
        assert case.events.get(action=CaseAction.DECIDE).note == ""
        assert (
            AuditEntry.objects.get(action="case_decided").after["internal_reason"]
            == "内部意见"
        )

    def test_deny_needs_a_reason(self, direct_item, applicant, clerk, reviewer):
        case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)

        with pytest.raises(ServiceError) as error:
            services.case_decide(case=case, actor=reviewer, decision=Decision.DENIED)

        assert error.value.field == "reason"
        assert error.value.message == "不予批准须说明理由。"
        case.refresh_from_db()
        assert case.status == CaseStatus.IN_REVIEW

    def test_full_lifecycle_to_closing(self, direct_item, applicant, clerk, reviewer):
        case = f.accepted_case(item=direct_item, applicant=applicant, clerk=clerk)

        case = services.case_decide(
            case=case, actor=reviewer, decision=Decision.DENIED, reason="不符合条件"
        )
        assert case.status == CaseStatus.DECIDED
        assert case.decision == Decision.DENIED
        assert case.decision_reason == "不符合条件"
        case = services.case_issue_result(case=case, actor=clerk, note="当面送达")
        assert case.status == CaseStatus.RESULT_ISSUED
        case = services.case_close(case=case, actor=clerk)
        assert case.status == CaseStatus.CLOSED
        assert case.closed_at is not None

        assert audit_actions(case)[-3:] == [
            "case_decided",
            "case_result_issued",
            "case_closed",
        ]
        assert event_actions(case)[-3:] == [
            CaseAction.DECIDE,
            CaseAction.ISSUE_RESULT,
            CaseAction.CLOSE,
        ]
        closed = AuditEntry.objects.get(action="case_closed")
        assert closed.before == {"status": "result_issued"}
        assert closed.after == {"status": "closed"}


def test_events_render_their_action_in_chinese(item, applicant):
    case = submit(item, applicant).case

    event = CaseEvent.objects.get(case=case)
    assert event.get_action_display() == "提交"


def test_editing_an_items_materials_keeps_every_cases_files_linked(
    item, applicant, clerk
):
    from smartapproval.catalogue.services import item_update

    case = submit(item, applicant).case
    linked = dict(case.materials.values_list("pk", "requirement_id"))
    materials = [
        {"name": req.name, "required": req.required, "deferrable": req.order == 2}
        for req in item.materials.order_by("order")
    ]

    item_update(
        actor=clerk,
        item=item,
        materials=[*materials, {"name": "新增材料", "required": False}],
    )

    assert dict(case.materials.values_list("pk", "requirement_id")) == linked
    assert item.materials.get(order=2).deferrable is True
    assert item.materials.get(order=4).name == "新增材料"
    services.case_accept(case=case, actor=clerk)

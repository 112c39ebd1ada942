"""Online application and the applicant's own case pages."""

import datetime
import re
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from smartapproval.accounts.models import ApplicantKind
from smartapproval.cases import services
from smartapproval.cases.models import Case, CaseStatus
from smartapproval.cases.tests import factories as f
from smartapproval.catalogue.models import ApplicantScope, ItemStatus
from smartapproval.core.calendar import calendar_cache_clear, calendar_seed_from_package
from smartapproval.parties import services as parties

pytestmark = pytest.mark.django_db

BEIJING = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2024, 9, 2, 10, 0, tzinfo=BEIJING)


@pytest.fixture(autouse=True)
def _world(settings, tmp_path):
    """Uploads go to a temporary folder; time stands at 2024-09-02 10:00."""
    settings.MEDIA_ROOT = tmp_path / "media"
    calendar_cache_clear()
    calendar_seed_from_package(years=[2024])
    calendar_cache_clear()
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield
    calendar_cache_clear()


@pytest.fixture
def item():
    item = f.ServiceItemFactory()
    f.MaterialRequirementFactory(item=item, order=1, name="申请书")
    f.MaterialRequirementFactory(item=item, order=2, name="身份证明")
    f.MaterialRequirementFactory(item=item, order=3, name="其他材料", required=False)
    return item


@pytest.fixture
def applicant():
    user = f.ApplicantFactory(name="王五", phone="13900139000")
    parties.person_record(
        actor=None,
        name="王五",
        id_number=f.resident_id(7),
        phone="13900139000",
        address="广安区建设路1号",
        account=user,
    )
    return user


@pytest.fixture
def clerk(item):
    return f.ClerkFactory(department=item.department)


def apply_url(item) -> str:
    return reverse("hall:apply", args=[item.implementation_code])


def case_url(case) -> str:
    return reverse("hall:case_detail", args=[case.number])


def form_data(item, *, key="k-1", files=True, **overrides) -> dict:
    data = {
        "idempotency_key": key,
        "applicant_kind": ApplicantKind.PERSON,
        "person_name": "王五",
        "id_number": f.resident_id(7),
        "contact_phone": "13900139000",
        "address": "",
    }
    if files:
        for requirement in item.materials.filter(required=True):
            data[f"material_{requirement.pk}"] = f.pdf(f"{requirement.name}.pdf")
    data.update(overrides)
    return data


def page(response) -> str:
    return response.content.decode()


def flash(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# The form


def test_apply_page_is_chinese_prefilled_and_marks_each_material(
    client, item, applicant
):
    client.force_login(applicant)

    response = client.get(apply_url(item))

    assert response.status_code == 200
    html = page(response)
    assert "在线申请" in html
    assert "提交申请" in html
    assert 'value="王五"' in html
    assert f'value="{f.resident_id(7)}"' in html
    assert 'value="13900139000"' in html
    assert html.count(">必交<") == 2
    assert html.count(">选填<") == 1
    for requirement in item.materials.all():
        assert f'name="material_{requirement.pk}"' in html
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html)
    assert key is not None


def test_each_rendering_gets_its_own_idempotency_key(client, item, applicant):
    client.force_login(applicant)

    first = page(client.get(apply_url(item)))
    second = page(client.get(apply_url(item)))

    def key(html):
        return re.search(r'name="idempotency_key" value="(\w+)"', html).group(1)

    assert key(first) != key(second)


def test_apply_needs_login_an_applicant_and_a_published_item(client, item, clerk):
    anonymous = client.get(apply_url(item))
    client.force_login(clerk)
    as_clerk = client.get(apply_url(item))
    draft = f.ServiceItemFactory(status=ItemStatus.DRAFT)
    to_draft = client.get(apply_url(draft))

    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("accounts:login"))
    assert as_clerk.status_code == 403
    assert to_draft.status_code == 404


def test_an_enterprise_only_item_offers_only_the_enterprise_fields(client, applicant):
    item = f.ServiceItemFactory(applicant_scope=ApplicantScope.ENTERPRISE)
    client.force_login(applicant)

    html = page(client.get(apply_url(item)))

    assert 'value="enterprise"' in html
    assert 'value="person"' not in html


# Submitting


def test_apply_creates_one_case_and_shows_its_number(client, item, applicant):
    client.force_login(applicant)

    response = client.post(apply_url(item), form_data(item))

    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == case_url(case)
    assert case.applicant_account == applicant
    assert case.materials.count() == 2
    assert any(case.number in message for message in flash(response))
    assert "申请已提交" in flash(response)[0]


def test_the_same_key_twice_gives_back_the_same_case(client, item, applicant):
    client.force_login(applicant)

    first = client.post(apply_url(item), form_data(item, key="same"))
    second = client.post(apply_url(item), form_data(item, key="same"))

    assert Case.objects.count() == 1
    assert first["Location"] == second["Location"]
    assert "该申请已提交过" in flash(second)[-1]


def test_the_same_content_again_without_a_key_warns_of_a_duplicate(
    client, item, applicant
):
    client.force_login(applicant)

    client.post(apply_url(item), form_data(item, key=""))
    again = client.post(apply_url(item), form_data(item, key=""))

    assert Case.objects.count() == 2
    assert any("可能重复提交" in message for message in flash(again))


def test_an_account_applies_in_its_own_name_whatever_the_form_says(
    client, item, applicant
):
    client.force_login(applicant)
    html = page(client.get(apply_url(item)))
    field = html.split('name="id_number"')[1].split(">")[0]
    assert "readonly" in field

    response = client.post(
        apply_url(item), form_data(item, id_number=f.resident_id(8), person_name="别人")
    )

    assert response.status_code == 302
    case = Case.objects.get()
    assert case.applicant_code == f.resident_id(7)
    assert case.applicant_account == applicant


def test_a_wrong_id_number_keeps_the_values_and_says_what_is_wrong(client, item):
    # An account without an identity yet types its own.
    applicant = f.ApplicantFactory(name="王五", phone="13900139000")
    client.force_login(applicant)
    wrong = f.resident_id(7)[:-1] + ("0" if f.resident_id(7)[-1] != "0" else "1")

    response = client.post(
        apply_url(item),
        form_data(item, id_number=wrong, address="广安区建设路1号"),
    )

    assert response.status_code == 200
    assert Case.objects.count() == 0
    html = page(response)
    assert "申请未提交" in html
    assert "公民身份号码" in html
    field = html.split('name="id_number"')[0].rsplit('<div class="field', 1)[1]
    assert "field--error" in field
    assert f'value="{wrong}"' in html
    assert 'value="广安区建设路1号"' in html
    assert 'value="k-1"' in html
    assert "请重新选择" in html


def test_a_missing_required_file_is_named_next_to_its_material(client, item, applicant):
    client.force_login(applicant)
    data = form_data(item)
    missing = item.materials.get(order=2)
    del data[f"material_{missing.pk}"]

    response = client.post(apply_url(item), data)

    assert Case.objects.count() == 0
    assert response.context["form"].errors[f"material_{missing.pk}"] == [
        "请为此项材料选择文件。"
    ]


def test_a_file_that_is_not_what_it_claims_is_refused_next_to_its_material(
    client, item, applicant
):
    client.force_login(applicant)
    first = item.materials.get(order=1)
    fake = SimpleUploadedFile("申请书.pdf", b"not a pdf at all")

    response = client.post(
        apply_url(item), form_data(item, **{f"material_{first.pk}": fake})
    )

    assert Case.objects.count() == 0
    errors = response.context["form"].errors[f"material_{first.pk}"]
    assert "申请书.pdf" in errors[0]


def test_an_enterprise_applies_with_its_credit_code(client, item):
    user = f.ApplicantFactory(applicant_kind=ApplicantKind.ENTERPRISE)
    parties.enterprise_record(
        actor=None,
        name="广安测试有限公司",
        uscc=f.uscc(3),
        legal_representative="赵六",
        phone="0826-2222222",
        account=user,
    )
    client.force_login(user)

    html = page(client.get(apply_url(item)))
    data = form_data(
        item,
        applicant_kind=ApplicantKind.ENTERPRISE,
        enterprise_name="广安测试有限公司",
        uscc=f.uscc(3),
        legal_representative="赵六",
        contact_name="钱七",
        contact_phone="0826-2222222",
    )
    client.post(apply_url(item), data)

    assert f'value="{f.uscc(3)}"' in html
    case = Case.objects.get()
    assert (case.applicant_kind, case.applicant_code) == ("enterprise", f.uscc(3))
    assert case.contact_name == "钱七"


# The applicant's case pages


def test_my_cases_links_each_case_to_its_page(client, item, applicant):
    case = f.submitted_case(item=item, applicant=applicant, n=7)
    client.force_login(applicant)

    html = page(client.get(reverse("hall:my_cases")))

    assert case_url(case) in html


def test_case_page_shows_status_timeline_materials_in_chinese(client, item, applicant):
    case = f.submitted_case(item=item, applicant=applicant, n=7)
    client.force_login(applicant)

    response = client.get(case_url(case))

    assert response.status_code == 200
    html = page(response)
    assert f"办件 {case.number}" in html
    assert "已提交" in html
    assert "办理过程" in html
    assert "受理后开始计算办理时限" in html
    assert "撤回申请" in html
    material = case.materials.first()
    assert reverse("cases:material_download", args=[material.pk]) in html
    assert case.applicant_code not in html


def test_another_applicants_case_and_staff_get_404(client, item, applicant, clerk):
    case = f.submitted_case(item=item, applicant=applicant, n=7)

    client.force_login(f.ApplicantFactory())
    stranger = client.get(case_url(case))
    withdraw = client.post(reverse("hall:case_withdraw", args=[case.number]))
    client.force_login(clerk)
    staff = client.get(case_url(case))

    assert [stranger.status_code, withdraw.status_code, staff.status_code] == [
        404,
        404,
        404,
    ]
    assert Case.objects.get().status == CaseStatus.SUBMITTED


def test_accepted_case_page_shows_the_deadline_and_its_explanation(
    client, item, applicant, clerk
):
    case = f.submitted_case(item=item, applicant=applicant, n=7)
    services.case_accept(case=case, actor=clerk)
    client.force_login(applicant)

    html = page(client.get(case_url(case)))

    assert "受理日期" in html
    assert "2024-09-09" in html
    assert "周末" in html


def test_correction_lists_every_material_and_takes_the_files(
    client, item, applicant, clerk
):
    case = f.submitted_case(item=item, applicant=applicant, n=7, materials=[])
    services.case_request_correction(
        case=case, actor=clerk, items=["加盖公章的营业执照"], note="请一次补齐"
    )
    client.force_login(applicant)
    first, second = item.materials.filter(required=True).order_by("order")

    html = page(client.get(case_url(case)))
    response = client.post(
        reverse("hall:case_supply_correction", args=[case.number]),
        {
            f"material_{first.pk}": f.pdf("申请书.pdf"),
            f"material_{second.pk}": f.pdf("身份证明.pdf"),
            "material_other": f.pdf("营业执照.pdf"),
            "note": "已补齐",
        },
    )

    for name in ("申请书", "身份证明", "加盖公章的营业执照", "请一次补齐"):
        assert name in html
    assert f'name="material_{first.pk}"' in html
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.status == CaseStatus.SUBMITTED
    assert case.materials.count() == 3
    assert "补正材料已提交" in flash(response)[0]


def test_correction_without_a_listed_file_is_refused_and_changes_nothing(
    client, item, applicant, clerk
):
    case = f.submitted_case(item=item, applicant=applicant, n=7, materials=[])
    services.case_request_correction(case=case, actor=clerk)
    client.force_login(applicant)
    first = item.materials.get(order=1)

    response = client.post(
        reverse("hall:case_supply_correction", args=[case.number]),
        {f"material_{first.pk}": f.pdf("申请书.pdf")},
    )

    assert response.status_code == 400
    assert "请为此项材料选择文件。" in page(response)
    assert Case.objects.get().status == CaseStatus.CORRECTION_REQUESTED
    assert Case.objects.get().materials.count() == 0


def test_withdraw_asks_first_then_withdraws(client, item, applicant):
    case = f.submitted_case(item=item, applicant=applicant, n=7)
    client.force_login(applicant)
    url = reverse("hall:case_withdraw", args=[case.number])

    confirm = client.get(url)
    done = client.post(url, {"reason": "材料有误，重新申请"})
    again = client.get(url)

    assert "确定要撤回办件" in page(confirm)
    assert Case.objects.get().status == CaseStatus.WITHDRAWN
    assert done["Location"] == case_url(case)
    assert "已不能撤回" in page(again)
    assert "确认撤回" not in page(again)


def test_withdrawing_twice_answers_409(client, item, applicant):
    case = f.submitted_case(item=item, applicant=applicant, n=7)
    client.force_login(applicant)
    url = reverse("hall:case_withdraw", args=[case.number])

    client.post(url)
    again = client.post(url)

    assert again.status_code == 409
    assert "不能执行“撤回申请”" in page(again)


def test_progress_lookup_finds_a_real_case_and_shows_its_timeline(
    client, item, applicant, clerk
):
    case = f.submitted_case(item=item, applicant=applicant, n=7)
    services.case_accept(case=case, actor=clerk)

    response = client.post(
        reverse("hall:progress"),
        {"number": case.number, "applicant_code": case.applicant_code},
    )

    assert response.status_code == 200
    html = page(response)
    assert "审查中" in html
    assert "办理过程" in html
    assert "受理" in html
    assert "2024-09-09" in html


# The applicant libraries


@pytest.mark.parametrize("kind", [ApplicantKind.PERSON, ApplicantKind.ENTERPRISE])
def test_applying_with_another_accounts_code_is_refused_and_the_owner_keeps_theirs(
    client, item, applicant, kind
):
    if kind == ApplicantKind.ENTERPRISE:
        owner = f.ApplicantFactory(applicant_kind=kind, name="经办人甲")
        parties.enterprise_record(
            actor=None,
            name="广安测试有限公司",
            uscc=f.uscc(3),
            legal_representative="赵六",
            address="广安区中桥路8号",
            account=owner,
        )
        data = {
            "applicant_kind": kind,
            "enterprise_name": "冒名公司",
            "uscc": f.uscc(3),
            "legal_representative": "冒名者",
            "address": "别处",
        }
        field, kept = "uscc", ("广安测试有限公司", "广安区中桥路8号")
    else:
        owner = applicant
        data = {"person_name": "冒名者", "address": "别处"}
        field, kept = "id_number", ("王五", "广安区建设路1号")
    before = client_prefill(client, owner, item)
    attacker = f.ApplicantFactory(applicant_kind=kind)
    client.force_login(attacker)

    response = client.post(
        apply_url(item), form_data(item, contact_phone="13800000009", **data)
    )

    assert Case.objects.count() == 0
    assert response.context["form"].errors[field] == [
        "该证件号码已由其他账号登记，请使用本人账号申请或到窗口办理"
    ]
    after = client_prefill(client, owner, item)
    assert after == before
    name_field = "enterprise_name" if field == "uscc" else "person_name"
    assert (after[name_field], after["address"]) == kept


def client_prefill(client, user, item) -> dict:
    """The initial values of the apply form as ``user`` gets it."""
    client.force_login(user)
    form = client.get(apply_url(item)).context["form"]
    return {k: v for k, v in form.initial.items() if k != "idempotency_key"}


def test_the_address_typed_is_kept_on_the_case(client, item, applicant):
    client.force_login(applicant)

    client.post(apply_url(item), form_data(item, address="广安区新地址9号"))

    assert Case.objects.get().applicant_address == "广安区新地址9号"


def test_an_enterprise_is_prefilled_with_a_person_as_its_contact(client, item):
    user = f.ApplicantFactory(
        applicant_kind=ApplicantKind.ENTERPRISE, name="广安测试有限公司"
    )
    parties.enterprise_record(
        actor=None,
        name="广安测试有限公司",
        uscc=f.uscc(3),
        legal_representative="赵六",
        account=user,
    )
    client.force_login(user)

    initial = client.get(apply_url(item)).context["form"].initial

    assert initial["enterprise_name"] == "广安测试有限公司"
    assert initial["contact_name"] == "赵六"


def test_my_cases_shows_the_applicants_own_name_in_full_and_the_code_masked(
    client, item
):
    user = f.ApplicantFactory(applicant_kind=ApplicantKind.ENTERPRISE)
    services.case_submit(
        actor=user,
        item=item,
        applicant=f.enterprise_applicant(3, name="灵山县演示城建投资有限公司"),
        form_data={},
        materials=[],
    )
    client.force_login(user)

    html = page(client.get(reverse("hall:my_cases")))

    assert "灵山县演示城建投资有限公司" in html
    assert "灵***" not in html
    assert f.uscc(3) not in html


def test_opening_the_correction_address_leads_back_to_the_case_page(client):
    case = f.CaseFactory(status=CaseStatus.CORRECTION_REQUESTED)
    client.force_login(case.applicant_account)

    response = client.get(reverse("hall:case_supply_correction", args=[case.number]))

    assert response.status_code == 302
    assert response.url == reverse("hall:case_detail", args=[case.number])

from datetime import date
from unittest import mock

import pytest
from django.core.cache import cache
from django.urls import reverse

from smartapproval.accounts.tests.factories import DepartmentFactory, UserFactory
from smartapproval.cases.models import CaseStatus
from smartapproval.catalogue.models import ItemStatus
from smartapproval.core.models import LimitUnit
from smartapproval.hall.tests.factories import (
    CaseEventFactory,
    CaseFactory,
    MaterialRequirementFactory,
    ServiceItemFactory,
)

pytestmark = pytest.mark.django_db


def test_index_lists_departments_with_item_counts_in_chinese(client):
    department = DepartmentFactory(name="广安区民政局")
    ServiceItemFactory.create_batch(2, department=department)
    ServiceItemFactory(department=department, status=ItemStatus.DRAFT)

    response = client.get(reverse("hall:index"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "网上办事大厅" in page
    assert "广安区民政局" in page
    assert "已开通网上办理 2 项，共 3 项" in page
    assert 'name="q"' in page


def test_department_store_lists_published_items_before_drafts(client):
    department = DepartmentFactory(name="广安区卫生健康局")
    draft = ServiceItemFactory(
        department=department, name="甲 医疗机构执业登记", status=ItemStatus.DRAFT
    )
    published = ServiceItemFactory(department=department, name="乙 母婴保健技术")
    ServiceItemFactory(
        department=department, name="丙 已撤销事项", status=ItemStatus.WITHDRAWN
    )

    response = client.get(reverse("hall:department", args=[department.pk]))

    assert response.status_code == 200
    assert [item.pk for item in response.context["items"]] == [
        published.pk,
        draft.pk,
    ]
    page = response.content.decode()
    assert "广安区卫生健康局旗舰店" in page
    assert "丙 已撤销事项" not in page


def test_draft_item_is_greyed_out_without_an_apply_button(client):
    department = DepartmentFactory()
    draft = ServiceItemFactory(department=department, status=ItemStatus.DRAFT)

    page = client.get(reverse("hall:department", args=[department.pk])).content.decode()

    assert "暂未开放网上办理" in page
    assert reverse("hall:apply", args=[draft.implementation_code]) not in page
    assert reverse("hall:item_guide", args=[draft.implementation_code]) not in page


def test_published_item_has_an_apply_button(client):
    item = ServiceItemFactory()

    page = client.get(
        reverse("hall:department", args=[item.department.pk])
    ).content.decode()

    assert reverse("hall:apply", args=[item.implementation_code]) in page
    assert "在线申请" in page


def test_unknown_department_is_not_found(client):
    response = client.get(reverse("hall:department", args=[999999]))

    assert response.status_code == 404


def test_search_finds_items_by_part_of_the_name_published_first(client):
    draft = ServiceItemFactory(name="甲 消防设计审查", status=ItemStatus.DRAFT)
    published = ServiceItemFactory(name="乙 建设工程消防验收")
    ServiceItemFactory(name="食品生产许可证核发")
    ServiceItemFactory(name="丙 消防旧事项", status=ItemStatus.WITHDRAWN)

    response = client.get(reverse("hall:item_search"), {"q": "消防"})

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [published, draft]
    page = response.content.decode()
    assert "乙 建设工程消防验收" in page
    assert "丙 消防旧事项" not in page


def test_search_lists_a_draft_read_only_without_an_apply_button(client):
    """The imported catalogue is all drafts: a citizen must still find it."""
    draft = ServiceItemFactory(
        name="营业执照变更登记",
        status=ItemStatus.DRAFT,
        department=DepartmentFactory(name="广安区市场监督管理局"),
    )

    response = client.get(reverse("hall:item_search"), {"q": "营业执照"})

    page = response.content.decode()
    assert list(response.context["page"].object_list) == [draft]
    assert "营业执照变更登记" in page
    assert "广安区市场监督管理局" in page
    assert "暂未开放网上办理" in page
    assert reverse("hall:apply", args=[draft.implementation_code]) not in page


def test_search_with_no_match_says_so_in_chinese(client):
    ServiceItemFactory(name="建设工程消防验收")

    response = client.get(reverse("hall:item_search"), {"q": "不存在的事项"})

    assert list(response.context["page"].object_list) == []
    assert "没有找到" in response.content.decode()


def test_guide_shows_limits_visits_and_materials(client):
    item = ServiceItemFactory(
        name="政府投资项目审批——可行性研究报告审批",
        legal_limit_value=20,
        legal_limit_confirmed=True,
        promised_limit_value=5,
        on_site_visits=1,
        on_site_reason="现场核验材料",
        fee="",
        window={
            "name": "法人大厅②工程建设项目综合窗口",
            "address": "江南路5号",
            "hours": "工作日 9:00-12:00",
            "phone": "0777-6428820",
        },
        complaint_phone="0777-6428880",
        legal_bases=[
            {"name": "《国务院关于投资体制改革的决定》", "number": "国发〔2004〕20号"}
        ],
        faq=[{"question": "批准后做什么？", "answer": "申请规划许可。"}],
        review_channels={"reconsideration": "六十日内申请行政复议"},
    )
    MaterialRequirementFactory(
        item=item, order=1, name="可行性研究报告", originals=3, copies=0, paper="A4"
    )
    MaterialRequirementFactory(
        item=item, order=2, name="社会稳定风险评估意见", required=False, copies=3
    )
    MaterialRequirementFactory(
        item=item, order=3, name="节能审查意见", required=True, deferrable=True
    )

    response = client.get(reverse("hall:item_guide", args=[item.implementation_code]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "20 个工作日" in page
    assert "5 个工作日" in page
    assert "现场核验材料" in page
    assert "可行性研究报告" in page
    assert "社会稳定风险评估意见" in page
    assert "非必要" in page
    assert "容缺" in page
    assert "不收费" in page
    assert "法人大厅②工程建设项目综合窗口" in page
    assert "0777-6428880" in page
    assert "国发〔2004〕20号" in page
    assert "批准后做什么？" in page
    assert "六十日内申请行政复议" in page
    assert reverse("hall:apply", args=[item.implementation_code]) in page


def test_guide_marks_an_unconfirmed_legal_limit_as_the_statutory_default(client):
    item = ServiceItemFactory(legal_limit_value=20, legal_limit_confirmed=False)

    page = client.get(
        reverse("hall:item_guide", args=[item.implementation_code])
    ).content.decode()

    assert "法定默认 20 个工作日（待确认）" in page


def test_guide_calls_a_zero_promised_limit_immediate(client):
    item = ServiceItemFactory(promised_limit_value=0)

    page = client.get(
        reverse("hall:item_guide", args=[item.implementation_code])
    ).content.decode()

    assert "即办件" in page


def test_guide_says_limits_in_natural_days_and_no_visit(client):
    item = ServiceItemFactory(
        legal_limit_value=30,
        legal_limit_unit=LimitUnit.NATURAL_DAYS,
        promised_limit_value=10,
        promised_limit_unit=LimitUnit.NATURAL_DAYS,
        on_site_visits=0,
    )

    page = client.get(
        reverse("hall:item_guide", args=[item.implementation_code])
    ).content.decode()

    assert "30 个自然日" in page
    assert "不见面" in page


def test_guide_of_a_draft_item_is_not_found(client):
    item = ServiceItemFactory(status=ItemStatus.DRAFT)

    response = client.get(reverse("hall:item_guide", args=[item.implementation_code]))

    assert response.status_code == 404


def test_apply_route_exists_for_the_cases_engineer(client):
    item = ServiceItemFactory()

    url = reverse("hall:apply", args=[item.implementation_code])

    assert url == f"/items/{item.implementation_code}/apply/"


def test_my_cases_lists_only_the_applicants_own_cases_masked(client):
    applicant = UserFactory()
    mine = CaseFactory(applicant_account=applicant, applicant_name="李四")
    CaseFactory(applicant_account=UserFactory(), number="511602-20241008-99999")
    client.force_login(applicant)

    response = client.get(reverse("hall:my_cases"))

    assert response.status_code == 200
    assert list(response.context["cases"]) == [mine]
    page = response.content.decode()
    assert mine.number in page
    assert "511602-20241008-99999" not in page
    # The applicant sees their own name in full; only the code is masked.
    assert "李四" in page
    assert "360102********013X" in page
    assert "36010219970220013X" not in page


def test_my_cases_needs_a_login(client):
    response = client.get(reverse("hall:my_cases"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def _lookup(client, *, number, code):
    return client.post(
        reverse("hall:progress"), {"number": number, "applicant_code": code}
    )


def test_progress_form_renders_in_chinese(client):
    response = client.get(reverse("hall:progress"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "办件进度查询" in page
    assert "办件编号" in page


def test_progress_shows_status_timeline_and_deadline(client):
    case = CaseFactory(status=CaseStatus.ACCEPTED, applicant_name="李四")
    case.promised_due = date(2024, 10, 14)
    case.save()
    CaseEventFactory(case=case, action="accept", status_to=CaseStatus.ACCEPTED)

    response = _lookup(
        client, number=f" {case.number} ", code=case.applicant_code.lower()
    )

    assert response.status_code == 200
    assert response.context["case"] == case
    page = response.content.decode()
    assert case.number in page
    assert str(CaseStatus.ACCEPTED.label) in page
    assert "承诺办结日期" in page
    assert "2024-10-14" in page
    assert "办理过程" in page
    assert "李*" in page
    assert "李四" not in page
    # The ID number typed in is not shown back to the next person at a kiosk.
    assert case.applicant_code.lower() not in page.lower()


def test_progress_answers_the_same_neutral_not_found_for_any_mismatch(client):
    case = CaseFactory()

    wrong_code = _lookup(client, number=case.number, code="110101199003071234")
    wrong_number = _lookup(
        client, number="511602-20990101-00001", code=case.applicant_code
    )

    for response in (wrong_code, wrong_number):
        assert response.status_code == 404
        assert response.context["case"] is None
        page = response.content.decode()
        assert "未找到" in page
        assert case.item.name not in page


@pytest.fixture
def progress_limit(settings):
    """Three failures in a minute, and a cache emptied of older counts."""
    settings.SMARTAPPROVAL_PROGRESS_FAILURE_LIMIT = 3
    settings.SMARTAPPROVAL_PROGRESS_FAILURE_WINDOW = 60
    cache.clear()
    yield
    cache.clear()


def test_progress_refuses_even_the_right_pair_after_too_many_failures(
    client, progress_limit
):
    case = CaseFactory()
    for serial in range(3):
        wrong = _lookup(
            client, number=f"511602-20990101-0000{serial}", code=case.applicant_code
        )
        assert wrong.status_code == 404

    right = _lookup(client, number=case.number, code=case.applicant_code)

    assert right.status_code == 429
    assert right.context["case"] is None
    page = right.content.decode()
    assert "查询过于频繁，请 1 分钟后再试" in page
    assert case.item.name not in page


def test_progress_limit_counts_failures_per_client_address(client, progress_limit):
    case = CaseFactory()
    for _ in range(3):
        _lookup(client, number="511602-20990101-00001", code=case.applicant_code)

    other = client.post(
        reverse("hall:progress"),
        {"number": case.number, "applicant_code": case.applicant_code},
        REMOTE_ADDR="192.0.2.7",
    )

    assert other.status_code == 200
    assert other.context["case"] == case


def test_progress_limit_forgets_failures_after_the_window(client, progress_limit):
    case = CaseFactory()
    start = 1_800_000_000.0
    with mock.patch("smartapproval.core.ratelimit._now", return_value=start):
        for _ in range(3):
            _lookup(client, number="511602-20990101-00001", code=case.applicant_code)
        assert (
            _lookup(client, number=case.number, code=case.applicant_code).status_code
            == 429
        )

    with mock.patch("smartapproval.core.ratelimit._now", return_value=start + 61):
        response = _lookup(client, number=case.number, code=case.applicant_code)

    assert response.status_code == 200


def test_progress_found_lookups_do_not_count_against_the_limit(client, progress_limit):
    case = CaseFactory()

    answers = [
        _lookup(client, number=case.number, code=case.applicant_code).status_code
        for _ in range(5)
    ]

    assert answers == [200] * 5


def test_progress_limit_defaults_to_ten_failures_in_ten_minutes():
    from django.conf import settings as django_settings

    assert django_settings.SMARTAPPROVAL_PROGRESS_FAILURE_LIMIT == 10
    assert django_settings.SMARTAPPROVAL_PROGRESS_FAILURE_WINDOW == 600


def test_registration_shows_why_a_resident_id_is_not_a_credit_code(client):
    response = client.post(
        reverse("hall:register"),
        {
            "username": "qiye",
            "password1": "a long enough passphrase 9",
            "password2": "a long enough passphrase 9",
            "name": "张三",
            "phone": "13800138000",
            "applicant_kind": "enterprise",
            "enterprise_name": "某某科技有限公司",
            "uscc": "36010219970220013X",
            "legal_representative": "王五",
        },
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["uscc"]
    assert any("机构类别代码" in error for error in errors)
    assert "这看起来是身份证号，不是统一社会信用代码，请核对" in errors
    assert "这看起来是身份证号" in response.content.decode()


def test_unknown_page_answers_a_chinese_not_found_page(client):
    response = client.get("/items/NO-SUCH-ITEM/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "页面不存在" in page
    assert "智慧审批" in page


def test_search_results_can_be_refreshed_by_htmx(client):
    ServiceItemFactory(name="建设工程消防验收")

    page = client.get(reverse("hall:item_search"), {"q": "消防"}).content.decode()

    assert 'id="results"' in page
    assert 'hx-get="/items/"' in page
    assert "/static/vendor/htmx/htmx.min.js" in page


@pytest.mark.django_db(transaction=True)
def test_phone_cards_keep_every_line_of_a_value_in_the_value_column(
    live_server, chromium_path
):
    """A cell's second line (masked code, badge) stays right of the label."""
    from django.test import Client
    from playwright.sync_api import sync_playwright

    user = UserFactory(username="phone-user")
    item = ServiceItemFactory(name="建设工程消防验收（含特殊建设工程）")
    case = CaseFactory(
        item=item,
        applicant_account=user,
        applicant_name="广安某某科技有限公司",
        applicant_code="91511602345678908X",
    )
    case.promised_due = date(2026, 12, 20)
    case.due_provisional = case.promised_due_provisional = True
    case.save()
    client = Client()
    client.force_login(user)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"]
        )
        context = browser.new_context(viewport={"width": 375, "height": 800})
        context.add_cookies(
            [
                {
                    "name": "sessionid",
                    "value": client.cookies["sessionid"].value,
                    "url": live_server.url,
                }
            ]
        )
        page = context.new_page()
        page.goto(f"{live_server.url}{reverse('hall:my_cases')}")
        # Every box of a cell's content (text lines, the code, the badge),
        # as offsets from the cell's first box: the label is a pseudo-element
        # and not part of the content.
        cells = page.evaluate(
            """() => [...document.querySelectorAll('table.stack-on-phone td')]
              .map(td => {
                const range = document.createRange();
                range.selectNodeContents(td);
                const boxes = [...range.getClientRects()].filter(r => r.width > 0);
                const first = boxes[0];
                return {
                  label: td.dataset.label,
                  valueLeft: first.left - td.getBoundingClientRect().left,
                  offsets: boxes.map(r => r.left - first.left),
                  lines: new Set(boxes.map(r => Math.round(r.top))).size,
                };
              })"""
        )
        browser.close()

    by_label = {cell["label"]: cell for cell in cells}
    for cell in cells:
        # Nothing starts left of the value column, i.e. under the label.
        assert min(cell["offsets"]) >= -1, cell
        assert cell["valueLeft"] > 80, cell
    assert by_label["申请人"]["lines"] == 2
    assert by_label["承诺办结日期"]["offsets"][-1] > 0  # the badge, after the date

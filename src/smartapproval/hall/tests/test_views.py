from datetime import date

import pytest
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


def test_search_finds_published_items_by_part_of_the_name(client):
    wanted = ServiceItemFactory(name="建设工程消防验收")
    ServiceItemFactory(name="食品生产许可证核发")
    ServiceItemFactory(name="消防设计审查草稿", status=ItemStatus.DRAFT)

    response = client.get(reverse("hall:item_search"), {"q": "消防"})

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [wanted]
    assert "建设工程消防验收" in response.content.decode()


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
    assert "李*" in page
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

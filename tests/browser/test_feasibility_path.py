"""The feasibility-study approval from application to closing, in a browser.

An enterprise applies online for the real item of the shipped catalogue, the
window clerk accepts, the lead department checks it, its two co-departments
review in parallel (城市规划 asks for a revision once, 自然资源 approves with
conditions meanwhile), the lead department decides, the clerk issues the
e-licence and closes the case from the workbench, and the enterprise sees
it closed and verifies its licence.
Each step reads the page as a user does: visible Chinese text, buttons and
links by their names.
"""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from smartapproval.catalogue.management.commands.import_catalogue import SHIPPED_DATA
from smartapproval.hall.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ITEM_FILE = SHIPPED_DATA / "feasibility-study-approval.json"
ITEM_NAME = "政府投资项目审批——可行性研究报告审批"
DEPARTMENT = "灵山县发展和改革局"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 375, "height": 812}
SCREENSHOTS = Path(settings.BASE_DIR) / "var" / "screenshots"
# The smallest file a PDF reader opens: the header the upload check reads.
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


@pytest.fixture
def world(settings, tmp_path):
    """The real item, the calendar and the demo accounts, files kept aside."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("seed_calendar", stdout=StringIO())
    call_command(
        "import_catalogue", str(ITEM_FILE), stdout=StringIO(), stderr=StringIO()
    )
    call_command("seed_demo", stdout=StringIO())


def log_in(browser, base_url: str, username: str, *, viewport=None):
    context = browser.new_context(
        base_url=base_url,
        locale="zh-CN",
        viewport=viewport or {"width": 1280, "height": 900},
    )
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.locator("main").get_by_role("button", name="登录").click()
    return page


def see(page, text: str) -> None:
    """Wait until ``text`` is visible on the page."""
    page.get_by_text(text, exact=False).first.wait_for(state="visible")


def test_enterprise_applies_and_the_centre_approves_and_closes(
    world, live_server, chromium_path
):
    from playwright.sync_api import expect, sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )

        # The enterprise finds the item from its department and reads the guide.
        enterprise = log_in(browser, live_server.url, "enterprise")
        see(enterprise, "我的办件")
        enterprise.goto("/")
        enterprise.get_by_role("link", name=re.compile(DEPARTMENT)).click()
        expect(enterprise.get_by_role("heading", level=1)).to_contain_text(DEPARTMENT)
        enterprise.get_by_role("link", name=ITEM_NAME).click()
        expect(enterprise.get_by_role("heading", level=1)).to_have_text(ITEM_NAME)
        see(enterprise, "由相应工程咨询资格的机构编制的可行性研究报告")
        see(enterprise, "承诺时限")

        # On a phone the guide and the application form read without
        # sideways scrolling.
        phone = log_in(browser, live_server.url, "enterprise", viewport=PHONE)
        phone.goto(enterprise.url)
        phone.screenshot(path=str(SCREENSHOTS / "item-guide-phone.png"), full_page=True)
        assert_fits_the_phone(phone)
        phone.get_by_role("link", name="在线申请").first.click()
        phone.screenshot(path=str(SCREENSHOTS / "apply-phone.png"), full_page=True)
        assert_fits_the_phone(phone)

        # It applies online with one small PDF per required material.
        enterprise.get_by_role("link", name="在线申请").first.click()
        expect(enterprise.get_by_role("heading", level=1)).to_have_text("在线申请")
        expect(enterprise.get_by_label("统一社会信用代码")).to_have_value(
            "91450721MA5L3K8D3Y"
        )
        enterprise.get_by_label("项目名称").fill("灵山县城北污水处理厂")
        required = enterprise.locator(".material-field").filter(has_text="必交")
        optional = enterprise.locator(".material-field").filter(has_text="选填")
        expect(required).to_have_count(8)
        expect(optional).to_have_count(1)
        for index in range(8):
            required.nth(index).locator("input[type=file]").set_input_files(
                {
                    "name": f"材料{index + 1}.pdf",
                    "mimeType": "application/pdf",
                    "buffer": MINIMAL_PDF,
                }
            )
        enterprise.get_by_role("button", name="提交申请").click()
        see(enterprise, "申请已提交")
        message = enterprise.locator(".message--success").inner_text()
        number = re.search(r"\d{6}-\d{8}-\d{6}", message).group(0)
        expect(enterprise.get_by_role("heading", level=1)).to_have_text(
            f"办件 {number}"
        )
        see(enterprise, "已提交")

        # The clerk accepts it from the workbench.
        clerk = log_in(browser, live_server.url, "clerk")
        expect(clerk.get_by_role("heading", level=1)).to_have_text("工作台")
        see(clerk, "待受理")
        clerk.get_by_role("link", name=number).click()
        expect(clerk.get_by_role("heading", level=1)).to_have_text(f"办件 {number}")
        see(clerk, "灵山县演示城建投资有限公司")
        clerk.get_by_role("button", name="受理", exact=True).click()
        see(clerk, "已受理，办件进入审查。")
        expect(clerk.locator(".case-head .status")).to_have_text("审查中")
        see(clerk, "受理日期")

        # The staff case page with its forms, on a phone.
        staff_phone = log_in(browser, live_server.url, "reviewer", viewport=PHONE)
        staff_phone.goto(f"/staff/cases/{number}/")
        see(staff_phone, "待办环节")
        staff_phone.screenshot(
            path=str(SCREENSHOTS / "staff-case-phone.png"), full_page=True
        )
        assert_fits_the_phone(staff_phone)
        staff_phone.get_by_role("button", name="查看完整号码").first.click()
        expect(staff_phone.locator("#pii-applicant_code")).to_contain_text(
            "91450721MA5L3K8D3Y"
        )
        see(staff_phone, "查看已记录")

        # The lead department checks the application; the two co-departments
        # then review at the same time. No one is offered a direct decision
        # while the route runs.
        complete_step(
            browser,
            live_server.url,
            "reviewer",
            number,
            "牵头部门初审",
            "办理完成",
            "材料齐全，转协办部门",
        )
        planner = complete_step(
            browser,
            live_server.url,
            "planner",
            number,
            "城市规划部门审查",
            "需要补正",
            "请补充项目用地规划图",
        )
        # 自然资源 answers while 城市规划's revision is under way.
        resources = complete_step(
            browser,
            live_server.url,
            "resources",
            number,
            "自然资源部门审查",
            "附条件同意",
            "施工前完成压覆矿产查询",
        )
        expect(resources.get_by_role("button", name="完成本环节")).to_have_count(0)
        complete_step(
            browser,
            live_server.url,
            "reviewer2",
            number,
            "按城市规划意见补正",
            "补正完成",
            "已收到补正的用地规划图",
        )
        planner.goto(f"/staff/cases/{number}/")
        complete_step(
            browser,
            live_server.url,
            "planner",
            number,
            "城市规划部门审查",
            "同意",
            "用地规划图符合要求",
            page=planner,
        )

        # The lead department decides, with both answers in front of it.
        approver = log_in(browser, live_server.url, "approver")
        approver.get_by_role("link", name=number).click()
        card = approver.locator(".task-card").filter(has_text="牵头部门决定")
        expect(card.locator(".round-summary")).to_contain_text(
            "城市规划行政主管部门：同意"
        )
        expect(card.locator(".round-summary")).to_contain_text(
            "自然资源行政主管部门：附条件同意（施工前完成压覆矿产查询）"
        )
        card.get_by_label("准予许可", exact=True).check()
        card.get_by_label("办理意见").fill("同意批复")
        card.get_by_role("button", name="完成本环节").click()
        see(approver, "审查已完成，决定：准予许可。")
        expect(approver.locator(".case-head .status")).to_have_text("已决定")
        expect(approver.locator(".case-head")).to_contain_text("准予许可")

        # The clerk finds the decided case under 待出证, issues the result,
        # then finds it under 待办结 and closes it.
        clerk.goto("/staff/")
        expect(clerk.get_by_role("heading", name="待出证")).to_be_visible()
        expect(clerk.get_by_role("heading", name="待办任务")).to_have_count(0)
        clerk.locator("section").filter(
            has=clerk.get_by_role("heading", name="待出证")
        ).get_by_role("link", name=number).click()
        clerk.get_by_role("button", name="出证送达").click()
        see(clerk, "已出证送达。")
        clerk.goto("/staff/")
        clerk.locator("section").filter(
            has=clerk.get_by_role("heading", name="待办结")
        ).get_by_role("link", name=number).click()
        clerk.get_by_role("button", name="办结", exact=True).click()
        see(clerk, "已办结。")
        expect(clerk.locator(".case-head .status")).to_have_text("已办结")

        # The enterprise sees its case closed, with the whole timeline.
        enterprise.goto("/my/cases/")
        enterprise.get_by_role("link", name=number).click()
        expect(enterprise.locator(".case-head .status")).to_have_text("已办结")
        expect(enterprise.locator(".case-head")).to_contain_text("准予许可")
        timeline = enterprise.locator(".timeline")
        for step in (
            "提交",
            "受理",
            "城市规划部门审查",
            "自然资源部门审查",
            "作出决定",
            "出证送达",
            "办结",
        ):
            expect(timeline).to_contain_text(step)
        # Nobody outside the centre reads the reviewers' opinions there.
        expect(timeline).not_to_contain_text("施工前完成压覆矿产查询")

        # Its e-licence names the project and verifies as valid from the link
        # the QR code carries.
        expect(enterprise.locator("#result-heading")).to_have_text("电子证照")
        see(enterprise, "关于灵山县城北污水处理厂项目可行性研究报告的批复")
        enterprise.get_by_role("link", name="在线核验").click()
        expect(enterprise.get_by_role("heading", level=1)).to_have_text("证照核验")
        see(enterprise, "有效")
        expect(enterprise.locator("main")).not_to_contain_text("91450721MA5L3K8D3Y")

        browser.close()


def complete_step(
    browser, base_url, username, number, step, answer, opinion, *, page=None
):
    """Log in as ``username`` and answer the open ``step`` of the case."""
    from playwright.sync_api import expect

    if page is None:
        page = log_in(browser, base_url, username)
        expect(page.get_by_role("heading", level=1)).to_have_text("工作台")
        page.get_by_role("link", name=number).click()
    expect(page.get_by_text("作出决定", exact=True)).to_have_count(0)
    card = page.locator(".task-card").filter(has_text=step)
    expect(card).to_be_visible()
    card.get_by_label(answer, exact=True).check()
    card.get_by_label("办理意见").fill(opinion)
    card.get_by_role("button", name="完成本环节").click()
    see(page, f"{step}：{answer}。")
    return page


def assert_fits_the_phone(page) -> None:
    """Nothing makes the page scroll sideways on a 375-pixel screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width}px wide"

"""The public catalogue API and its OpenAPI description."""

from pathlib import Path

import pytest
from rest_framework.test import APIClient

from smartapproval.catalogue.models import ItemStatus, ItemType
from smartapproval.catalogue.services import catalogue_import
from smartapproval.catalogue.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    ServiceItemFactory,
    UserFactory,
)

JSON_FILE = (
    Path(__file__).resolve().parent.parent
    / "data"
    / ("feasibility-study-approval.json")
)
JSON_CODE = "1145072100811537184452004020000"


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def admin_client():
    client = APIClient()
    client.force_authenticate(AdminUserFactory())
    return client


@pytest.mark.django_db
class TestItemDetail:
    def test_published_item_by_code_with_its_whole_guide(self, client):
        catalogue_import(path=JSON_FILE)

        response = client.get(f"/api/v1/catalogue/items/{JSON_CODE}/")

        assert response.status_code == 200
        data = response.json()
        assert data["name"] == "政府投资项目审批——可行性研究报告审批"
        assert data["legal_limit"] == {
            "value": 20,
            "unit": "working_days",
            "unit_label": "工作日",
            "text": "20 个工作日",
            "confirmed": True,
        }
        assert data["promised_limit"]["text"] == "5 个工作日"
        assert len(data["materials"]) == 9
        assert data["materials"][1]["originals"] == 3
        assert data["materials"][8]["required"] is False
        assert data["window"]["phone"] == "0777-6428820"
        assert len(data["legal_bases"]) == 4
        assert data["faq"][0]["question"].startswith("可行性研究报告批准后")
        assert data["special_procedures"][0]["limit"] == {
            "value": 30,
            "unit": "working_days",
        }
        assert data["review_channels"]["litigation"].startswith("不服复议决定的")
        assert data["department"]["name"] == "灵山县发展和改革局"
        assert data["item_type_label"] == "其他行政权力"
        assert data["co_department_names"] == [
            "城市规划行政主管部门",
            "自然资源行政主管部门",
        ]

    def test_published_item_by_id(self, client):
        item = ServiceItemFactory(status=ItemStatus.PUBLISHED)

        response = client.get(f"/api/v1/catalogue/items/{item.pk}/")

        assert response.status_code == 200
        assert response.json()["implementation_code"] == item.implementation_code

    def test_unknown_item_is_404_in_chinese(self, client):
        response = client.get("/api/v1/catalogue/items/NO-SUCH-CODE/")

        assert response.status_code == 404
        assert response.json()["message"] == "未找到该资源。"

    def test_draft_is_404_for_the_public_and_visible_to_administrators(
        self, client, admin_client
    ):
        item = ServiceItemFactory(
            item_type=ItemType.LICENSING, legal_limit_confirmed=False
        )
        url = f"/api/v1/catalogue/items/{item.implementation_code}/"

        assert client.get(url).status_code == 404
        staff = APIClient()
        staff.force_authenticate(UserFactory(role="clerk", is_staff=True))
        assert staff.get(url).status_code == 404
        response = admin_client.get(url)
        assert response.status_code == 200
        assert response.json()["status"] == "draft"
        assert (
            response.json()["legal_limit"]["text"] == "法定默认 20 个工作日（待确认）"
        )


@pytest.mark.django_db
class TestItemList:
    def test_lists_items_with_filters(self, client):
        tax = DepartmentFactory(name="区税务局")
        invoice = ServiceItemFactory(
            name="增值税发票领用", department=tax, status=ItemStatus.PUBLISHED
        )
        ServiceItemFactory(name="发票作废", department=tax, status=ItemStatus.WITHDRAWN)
        other = ServiceItemFactory(
            name="发票遗失声明",
            status=ItemStatus.PUBLISHED,
            item_type=ItemType.CONFIRMATION,
        )

        by_query = client.get("/api/v1/catalogue/items/", {"q": "发票"}).json()
        by_department = client.get(
            "/api/v1/catalogue/items/", {"department": tax.pk}
        ).json()
        by_type = client.get("/api/v1/catalogue/items/", {"type": "7"}).json()

        assert by_query["count"] == 2
        assert [r["id"] for r in by_department["results"]] == [invoice.pk]
        assert [r["id"] for r in by_type["results"]] == [other.pk]

    def test_public_sees_drafts_after_published_items_marked_by_status(self, client):
        draft = ServiceItemFactory(name="甲 发票代开")
        published = ServiceItemFactory(
            name="乙 增值税发票领用", status=ItemStatus.PUBLISHED
        )
        ServiceItemFactory(name="丙 发票作废", status=ItemStatus.WITHDRAWN)

        response = client.get("/api/v1/catalogue/items/", {"q": "发票"})

        assert response.status_code == 200
        assert [
            (r["id"], r["status"], r["status_label"])
            for r in response.json()["results"]
        ] == [
            (published.pk, "published", "已发布"),
            (draft.pk, "draft", "草稿"),
        ]

    def test_draft_in_the_list_still_has_no_public_guide(self, client):
        draft = ServiceItemFactory(name="发票代开")

        listed = client.get("/api/v1/catalogue/items/", {"q": "发票代开"}).json()
        guide = client.get(f"/api/v1/catalogue/items/{draft.implementation_code}/")

        assert [r["id"] for r in listed["results"]] == [draft.pk]
        assert guide.status_code == 404

    def test_administrator_also_sees_withdrawn_items(self, admin_client, client):
        ServiceItemFactory(name="发票代开")
        ServiceItemFactory(name="发票作废", status=ItemStatus.WITHDRAWN)

        response = admin_client.get("/api/v1/catalogue/items/", {"q": "发票"})
        public = client.get("/api/v1/catalogue/items/", {"q": "发票"})

        assert response.json()["count"] == 2
        assert public.json()["count"] == 1

    def test_unknown_type_is_a_400_with_the_field(self, client):
        response = client.get("/api/v1/catalogue/items/", {"type": "99"})

        assert response.status_code == 400
        assert response.json()["field"] == "type"
        assert "不是合法选项" in response.json()["message"]


@pytest.mark.django_db
class TestDepartmentList:
    def test_public_sees_every_department_with_items_and_both_counts(self, client):
        tax = DepartmentFactory(name="区税务局", sort_order=1)
        ServiceItemFactory(department=tax, status=ItemStatus.PUBLISHED)
        ServiceItemFactory(department=tax)
        drafts_only = DepartmentFactory(name="草稿部门", sort_order=2)
        ServiceItemFactory(department=drafts_only)
        DepartmentFactory(name="无事项部门", sort_order=3)

        response = client.get("/api/v1/catalogue/departments/")

        assert response.status_code == 200
        assert response.json() == [
            {
                "id": tax.pk,
                "code": tax.code,
                "name": "区税务局",
                "region_code": "511602",
                "published_count": 1,
                "item_count": 2,
            },
            {
                "id": drafts_only.pk,
                "code": drafts_only.code,
                "name": "草稿部门",
                "region_code": "511602",
                "published_count": 0,
                "item_count": 1,
            },
        ]

    def test_administrator_sees_every_department_with_items(self, admin_client):
        ServiceItemFactory(department=DepartmentFactory(name="草稿部门"))

        response = admin_client.get("/api/v1/catalogue/departments/")

        assert [
            (d["name"], d["published_count"], d["item_count"]) for d in response.json()
        ] == [("草稿部门", 0, 1)]


@pytest.mark.django_db
def test_openapi_schema_documents_the_catalogue(client):
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/catalogue/items/" in schema["paths"]
    assert "/api/v1/catalogue/items/{ref}/" in schema["paths"]
    assert "/api/v1/catalogue/departments/" in schema["paths"]
    parameters = {
        p["name"]
        for p in schema["paths"]["/api/v1/catalogue/items/"]["get"]["parameters"]
    }
    assert {"q", "department", "type"} <= parameters
    detail = schema["components"]["schemas"]["ItemDetail"]["properties"]
    assert {"materials", "legal_limit", "window", "faq", "legal_bases"} <= set(detail)

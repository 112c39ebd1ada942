"""Search, department counts and item look-up for the hall."""

import pytest

from smartapproval.catalogue.models import ItemStatus, ItemType, ServiceItem
from smartapproval.catalogue.selectors import (
    departments_with_items,
    item_get_for_user,
    item_get_published,
    item_search,
    item_search_public,
)
from smartapproval.catalogue.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    ServiceItemFactory,
    UserFactory,
)


@pytest.fixture
def catalogue():
    tax = DepartmentFactory(name="区税务局")
    school = DepartmentFactory(name="区教科体局")
    return {
        "invoice": ServiceItemFactory(
            name="增值税发票领用",
            department=tax,
            status=ItemStatus.PUBLISHED,
            implementation_code="511C0001-511602000000-000-X-1-00",
            basic_code="511C0001",
        ),
        "register": ServiceItemFactory(
            name="税务登记变更",
            department=tax,
            status=ItemStatus.PUBLISHED,
            item_type=ItemType.CONFIRMATION,
        ),
        "draft": ServiceItemFactory(name="税务证明开具", department=tax),
        "school": ServiceItemFactory(
            name="适龄儿童延缓入学审批",
            department=school,
            status=ItemStatus.PUBLISHED,
            item_type=ItemType.LICENSING,
        ),
        "withdrawn": ServiceItemFactory(
            name="教师资格认定", department=school, status=ItemStatus.WITHDRAWN
        ),
    }


@pytest.mark.django_db
class TestItemSearch:
    def test_name_contains_the_query(self, catalogue):
        assert list(item_search(query="税务")) == [catalogue["register"]]

    def test_every_word_must_appear_in_the_name(self, catalogue):
        assert list(item_search(query="发票 领用")) == [catalogue["invoice"]]
        assert list(item_search(query="发票 登记")) == []

    def test_code_matches_exactly(self, catalogue):
        assert list(item_search(query="511C0001")) == [catalogue["invoice"]]
        assert list(item_search(query=catalogue["invoice"].implementation_code)) == [
            catalogue["invoice"]
        ]
        assert list(item_search(query="511C000")) == []

    def test_drafts_and_withdrawn_items_only_when_asked(self, catalogue):
        assert catalogue["draft"] not in item_search(query="税务")
        found = set(item_search(query="", published_only=False))
        assert {catalogue["draft"], catalogue["withdrawn"]} <= found

    def test_filters_by_department_and_type(self, catalogue):
        school = catalogue["school"].department
        assert list(item_search(department=school)) == [catalogue["school"]]
        assert list(item_search(department=school.pk)) == [catalogue["school"]]
        assert list(item_search(item_type=ItemType.CONFIRMATION)) == [
            catalogue["register"]
        ]


@pytest.mark.django_db
class TestItemSearchPublic:
    def test_published_items_come_before_drafts(self, catalogue):
        assert list(item_search_public(query="税务")) == [
            catalogue["register"],
            catalogue["draft"],
        ]

    def test_withdrawn_items_are_left_out(self, catalogue):
        found = list(item_search_public())

        assert catalogue["withdrawn"] not in found
        assert len(found) == 4

    def test_filters_by_department_and_type(self, catalogue):
        tax = catalogue["invoice"].department

        assert list(item_search_public(department=tax, query="证明")) == [
            catalogue["draft"]
        ]
        assert list(item_search_public(item_type=ItemType.LICENSING)) == [
            catalogue["school"]
        ]


@pytest.mark.django_db
class TestSearchByResult:
    def test_business_licence_finds_the_market_entity_registrations(self):
        wanted = [
            ServiceItemFactory(name="个体工商户设立登记"),
            ServiceItemFactory(name="公司变更登记"),
            ServiceItemFactory(name="农民专业合作社设立、变更、注销登记"),
        ]
        ServiceItemFactory(name="个体工商户注销登记")
        ServiceItemFactory(name="民办非企业单位变更登记")
        ServiceItemFactory(name="采矿权人名称变更登记")

        found = set(item_search_public(query="营业执照"))

        assert found == set(wanted)

    def test_the_licence_word_combines_with_other_words(self):
        wanted = ServiceItemFactory(name="个体工商户设立登记")
        ServiceItemFactory(name="公司设立登记")

        assert list(item_search_public(query="个体 营业执照")) == [wanted]

    def test_a_word_matches_the_result_name(self):
        wanted = ServiceItemFactory(name="食品经营许可", result_name="食品经营许可证")

        assert list(item_search_public(query="许可证")) == [wanted]


@pytest.mark.django_db
class TestDepartmentsWithItems:
    def test_counts_published_and_all_items(self, catalogue):
        DepartmentFactory(name="无事项部门")

        rows = {
            d.name: (d.published_count, d.item_count) for d in departments_with_items()
        }

        assert rows == {"区税务局": (2, 3), "区教科体局": (1, 2)}

    def test_published_only_leaves_out_departments_without_published_items(
        self, catalogue
    ):
        ServiceItemFactory(department=DepartmentFactory(name="草稿部门"))

        names = [d.name for d in departments_with_items(published_only=True)]

        assert sorted(names) == ["区教科体局", "区税务局"]


@pytest.mark.django_db
class TestItemGet:
    def test_published_item_by_code_or_id(self, catalogue):
        item = catalogue["invoice"]

        assert item_get_published(item.implementation_code) == item
        assert item_get_published(item.pk) == item
        assert item_get_published(str(item.pk)) == item

    def test_draft_is_not_found_for_the_public(self, catalogue):
        with pytest.raises(ServiceItem.DoesNotExist):
            item_get_published(catalogue["draft"].implementation_code)
        with pytest.raises(ServiceItem.DoesNotExist):
            item_get_for_user(code_or_pk=catalogue["draft"].pk, user=UserFactory())

    def test_administrator_sees_a_draft(self, catalogue):
        draft = catalogue["draft"]

        assert item_get_for_user(code_or_pk=draft.pk, user=AdminUserFactory()) == draft

    def test_all_digit_code_is_tried_before_the_id(self, catalogue):
        item = ServiceItemFactory(
            implementation_code=str(catalogue["invoice"].pk),
            status=ItemStatus.PUBLISHED,
        )

        assert item_get_published(str(catalogue["invoice"].pk)) == item

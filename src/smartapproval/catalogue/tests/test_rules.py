"""Publication rules, checked on items that need not be saved."""

import pytest

from smartapproval.catalogue import rules
from smartapproval.catalogue.models import ItemType, ServiceItem
from smartapproval.catalogue.tests.factories import DepartmentFactory


@pytest.mark.django_db
class TestPublicationProblems:
    def test_promised_above_legal_in_the_same_unit_is_a_problem(self):
        item = ServiceItem(
            department=DepartmentFactory(),
            item_type=ItemType.PUBLIC_SERVICE,
            legal_limit_value=10,
            legal_limit_confirmed=True,
            promised_limit_value=12,
        )

        problems = rules.publication_problems(item, material_count=0)

        assert problems == [
            (
                "promised_limit_value",
                "承诺时限（12 个工作日）超过法定时限（10 个工作日）",
            )
        ]

    def test_promised_zero_is_an_immediate_item(self):
        item = ServiceItem(
            department=DepartmentFactory(),
            item_type=ItemType.PUBLIC_SERVICE,
            legal_limit_value=10,
            legal_limit_confirmed=True,
            promised_limit_value=0,
        )

        assert rules.publication_problems(item, material_count=0) == []
        assert item.is_immediate
        assert item.promised_limit_text == "即办"

    def test_item_without_department_is_a_problem(self):
        item = ServiceItem(
            item_type=ItemType.PUBLIC_SERVICE,
            legal_limit_value=10,
            legal_limit_confirmed=True,
            promised_limit_value=1,
        )

        assert rules.publication_problems(item, material_count=0) == [
            ("department", "未指定有效的实施部门")
        ]

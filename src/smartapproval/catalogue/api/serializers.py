"""Shapes of catalogue data in the REST API."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from smartapproval.accounts.models import Department
from smartapproval.catalogue.models import (
    ItemType,
    MaterialRequirement,
    ServiceItem,
    limit_text,
)
from smartapproval.catalogue.selectors import (
    item_commitment_requirements,
    item_commitment_statement,
)
from smartapproval.core.models import LimitUnit

UNIT_LABELS = {
    LimitUnit.WORKING_DAYS: _("working days"),
    LimitUnit.NATURAL_DAYS: _("natural days"),
    LimitUnit.MONTHS: _("months"),
}


class ItemLimitSerializer(serializers.Serializer):
    value = serializers.IntegerField(allow_null=True)
    unit = serializers.ChoiceField(choices=LimitUnit.choices)
    unit_label = serializers.CharField()
    text = serializers.CharField(help_text="As a guide shows it.")


class ItemLegalLimitSerializer(ItemLimitSerializer):
    confirmed = serializers.BooleanField(
        help_text="False while the limit is the statutory default."
    )


class CatalogueDepartmentSerializer(serializers.ModelSerializer):
    published_count = serializers.IntegerField(
        read_only=True, help_text="Items open for online application."
    )
    item_count = serializers.IntegerField(
        read_only=True, help_text="All items, drafts and withdrawn ones included."
    )

    class Meta:
        model = Department
        fields = ["id", "code", "name", "region_code", "published_count", "item_count"]


class ItemDepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["id", "code", "name"]


class MaterialRequirementSerializer(serializers.ModelSerializer):
    class Meta:
        model = MaterialRequirement
        fields = [
            "order",
            "name",
            "required",
            "deferrable",
            "commitment_replaces",
            "originals",
            "copies",
            "paper",
            "sign",
            "source",
            "note",
            "basis",
            "accepts_results",
        ]


class LegalBasisSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    number = serializers.CharField(required=False)
    clause = serializers.CharField(required=False)


class ItemQuestionSerializer(serializers.Serializer):
    question = serializers.CharField(required=False)
    answer = serializers.CharField(required=False)


class ItemWindowSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    address = serializers.CharField(required=False)
    hours = serializers.CharField(required=False)
    phone = serializers.CharField(required=False)


class ReviewChannelsSerializer(serializers.Serializer):
    reconsideration = serializers.CharField(
        required=False, help_text="Administrative reconsideration (行政复议)."
    )
    litigation = serializers.CharField(
        required=False, help_text="Administrative litigation (行政诉讼)."
    )


class ItemProcedureLimitSerializer(serializers.Serializer):
    value = serializers.IntegerField(required=False)
    unit = serializers.ChoiceField(choices=LimitUnit.choices, required=False)


class SpecialProcedureSerializer(serializers.Serializer):
    kind = serializers.CharField(required=False, help_text="e.g. expert_review")
    name = serializers.CharField(required=False)
    limit = ItemProcedureLimitSerializer(required=False)
    basis = serializers.CharField(required=False)


class ItemListSerializer(serializers.ModelSerializer):
    item_type_label = serializers.CharField(source="get_item_type_display")
    status_label = serializers.CharField(source="get_status_display")
    department = ItemDepartmentSerializer()
    legal_limit = serializers.SerializerMethodField()
    promised_limit = serializers.SerializerMethodField()
    is_immediate = serializers.BooleanField(
        read_only=True, help_text="即办件: decided on the spot."
    )

    class Meta:
        model = ServiceItem
        fields = [
            "id",
            "implementation_code",
            "name",
            "group_name",
            "item_type",
            "item_type_label",
            "department",
            "status",
            "status_label",
            "version",
            "legal_limit",
            "promised_limit",
            "on_site_visits",
            "is_immediate",
        ]

    @extend_schema_field(ItemLegalLimitSerializer)
    def get_legal_limit(self, item: ServiceItem) -> dict[str, Any]:
        return {
            **_limit(item.legal_limit_value, item.legal_limit_unit),
            "text": item.legal_limit_text,
            "confirmed": item.legal_limit_confirmed,
        }

    @extend_schema_field(ItemLimitSerializer)
    def get_promised_limit(self, item: ServiceItem) -> dict[str, Any]:
        return {
            **_limit(item.promised_limit_value, item.promised_limit_unit),
            "text": item.promised_limit_text,
        }


class ItemNotifyCommitSerializer(serializers.Serializer):
    offered = serializers.BooleanField()
    statement = serializers.CharField(
        help_text="The text the applicant agrees to (告知承诺书), as a case keeps it."
    )
    replaces = serializers.ListField(
        child=serializers.IntegerField(), help_text="Orders of the materials."
    )
    verification_limit_value = serializers.IntegerField(
        help_text="Working days after an approval to verify the commitment."
    )


class ItemDetailSerializer(ItemListSerializer):
    materials = MaterialRequirementSerializer(many=True)
    notify_commit = serializers.SerializerMethodField()
    legal_bases = LegalBasisSerializer(many=True)
    faq = ItemQuestionSerializer(many=True)
    window = ItemWindowSerializer()
    review_channels = ReviewChannelsSerializer()
    special_procedures = SpecialProcedureSerializer(many=True)
    applicant_scope_label = serializers.CharField(source="get_applicant_scope_display")

    class Meta(ItemListSerializer.Meta):
        fields = [
            *ItemListSerializer.Meta.fields,
            "basic_code",
            "implementing_body_code",
            "region_code",
            "applicant_scope",
            "applicant_scope_label",
            "acceptance_conditions",
            "on_site_reason",
            "handling_modes",
            "online_depth",
            "fee",
            "result_name",
            "result_type",
            "materials",
            "legal_bases",
            "faq",
            "window",
            "consultation_phone",
            "complaint_phone",
            "review_channels",
            "special_procedures",
            "lead_department_name",
            "co_department_names",
            "valid_from",
            "valid_to",
            "published_at",
            "notify_commit",
        ]

    @extend_schema_field(ItemNotifyCommitSerializer)
    def get_notify_commit(self, item: ServiceItem) -> dict[str, Any]:
        replaced = item_commitment_requirements(item)
        return {
            "offered": bool(replaced),
            "statement": item_commitment_statement(item),
            "replaces": [req.order for req in replaced],
            "verification_limit_value": item.verification_limit_value,
        }


class ItemSearchParamsSerializer(serializers.Serializer):
    """Query parameters of the item list."""

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="Words of the name, or an implementation or basic code.",
    )
    department = serializers.IntegerField(
        required=False, min_value=1, help_text="Department id."
    )
    type = serializers.ChoiceField(
        choices=ItemType.choices, required=False, help_text="Item type code."
    )


def _limit(value: int | None, unit: str) -> dict[str, Any]:
    return {
        "value": value,
        "unit": unit,
        "unit_label": str(UNIT_LABELS[LimitUnit(unit)]),
        "text": "" if value is None else limit_text(value, unit),
    }

from rest_framework import serializers

from smartapproval.accounts.models import User
from smartapproval.core.masking import mask_phone


class DepartmentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user as the pages and apps need to know them."""

    role_display = serializers.CharField(source="get_role_display")
    applicant_kind_display = serializers.CharField(source="get_applicant_kind_display")
    department = DepartmentRefSerializer(allow_null=True)
    phone = serializers.SerializerMethodField()
    is_applicant = serializers.BooleanField()
    is_staff_member = serializers.BooleanField()
    sees_all_departments = serializers.BooleanField()

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "name",
            "role",
            "role_display",
            "applicant_kind",
            "applicant_kind_display",
            "department",
            "phone",
            "is_applicant",
            "is_staff_member",
            "sees_all_departments",
        ]
        read_only_fields = fields

    def get_phone(self, obj: User) -> str:
        # Masked even for its owner: the answer may sit in a browser cache.
        return mask_phone(obj.phone)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()

"""Check an ID number, credit code or project code as the user types it."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from smartapproval.core import codes
from smartapproval.core.api import ServiceError

CHECKS = {
    "resident_id": codes.check_resident_id,
    "uscc": codes.check_uscc,
    "project": codes.check_project_code,
}


class CodeCheckSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    normalized = serializers.CharField()
    message = serializers.CharField()
    warnings = serializers.ListField(child=serializers.CharField())


class CodeCheckView(APIView):
    """Say whether a code is valid, how to store it and which part is wrong."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "kind", OpenApiTypes.STR, enum=list(CHECKS), required=True
            ),
            OpenApiParameter("value", OpenApiTypes.STR, required=True),
        ],
        responses=CodeCheckSerializer,
    )
    def get(self, request):
        kind = request.query_params.get("kind", "")
        value = request.query_params.get("value")
        if kind not in CHECKS:
            raise ServiceError(
                _("Choose what to check: resident_id, uscc or project."),
                field="kind",
                code="invalid_kind",
            )
        if value is None:
            raise ServiceError(
                _("Give the code to check."), field="value", code="required"
            )

        check = CHECKS[kind](value)

        return Response(CodeCheckSerializer(check).data)

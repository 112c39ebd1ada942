from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from smartapproval.accounts.api.serializers import MeSerializer


class MeView(APIView):
    """Who is signed in: role, department and applicant kind."""

    @extend_schema(responses=MeSerializer, operation_id="accounts_me")
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)

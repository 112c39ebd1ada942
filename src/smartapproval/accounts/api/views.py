from drf_spectacular.utils import extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from smartapproval.accounts.api.serializers import MeSerializer, TokenSerializer
from smartapproval.accounts.services import api_token_issue
from smartapproval.core.api import validated


class MeView(APIView):
    """Who is signed in: role, department and applicant kind."""

    @extend_schema(responses=MeSerializer, operation_id="accounts_me")
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class TokenObtainView(APIView):
    """Exchange a user name and password for the user's API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        request=AuthTokenSerializer,
        responses={200: TokenSerializer},
        operation_id="auth_token_obtain",
    )
    def post(self, request: Request) -> Response:
        # django-axes marks a lockout on Django's request, which its middleware
        # then answers; DRF's wrapper would hide the mark.
        serializer = AuthTokenSerializer(
            data=request.data, context={"request": request._request}
        )
        validated(serializer)
        token = api_token_issue(user=serializer.validated_data["user"])

        return Response({"token": token.key})

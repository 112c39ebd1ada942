"""The applicant libraries over REST: list, detail, reveal and prefill."""

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from smartapproval.audit.services import audit_reveal
from smartapproval.core.api import ServiceError, validated
from smartapproval.parties import selectors
from smartapproval.parties.api import serializers

_SEARCH = OpenApiParameter(
    "q",
    str,
    description=(
        "Exact ID number, credit code or phone; part of a name. Required for "
        "staff: without it the list is empty."
    ),
)


class _LibraryMixin:
    """Scope every request to what the user may see; anything else is a 404."""

    select = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.select(user=self.request.user).none()
        user = self.request.user
        if not selectors.library_visible_to(user):
            raise Http404
        return self.select(user=user)


class _LibraryListMixin(_LibraryMixin):
    """A list that tells staff to search instead of listing everyone."""

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.select(user=self.request.user).none()
        user = self.request.user
        if not selectors.library_visible_to(user):
            raise Http404
        return self.select(user=user, query=self.request.query_params.get("q", ""))

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        query = request.query_params.get("q", "")
        missing = selectors.library_query_missing(user=request.user, query=query)
        if missing and isinstance(response.data, dict):
            response.data["hint"] = _(
                "Search by an exact ID number, credit code or phone number, "
                "or a part of the name."
            )
        return response


@extend_schema(parameters=[_SEARCH])
class PersonListView(_LibraryListMixin, generics.ListAPIView):
    """Persons in the library (人口库) matching a search, numbers masked."""

    serializer_class = serializers.PersonSerializer
    select = staticmethod(selectors.person_list_for_user)


class PersonDetailView(_LibraryMixin, generics.RetrieveAPIView):
    serializer_class = serializers.PersonSerializer
    select = staticmethod(selectors.person_visible_to)


@extend_schema(parameters=[_SEARCH])
class EnterpriseListView(_LibraryListMixin, generics.ListAPIView):
    """Enterprises in the library (法人库) matching a search, numbers masked."""

    serializer_class = serializers.EnterpriseSerializer
    select = staticmethod(selectors.enterprise_list_for_user)


class EnterpriseDetailView(_LibraryMixin, generics.RetrieveAPIView):
    serializer_class = serializers.EnterpriseSerializer
    select = staticmethod(selectors.enterprise_visible_to)


class _RevealView(_LibraryMixin, generics.GenericAPIView):
    """Show one masked number in full to staff and audit that they saw it."""

    revealable: tuple[str, ...] = ()

    @extend_schema(
        request=serializers.RevealSerializer, responses=serializers.RevealedSerializer
    )
    def post(self, request: Request, pk: int) -> Response:
        party = self.get_object()
        if not selectors.library_searchable_by(request.user):
            raise PermissionDenied
        form = serializers.RevealSerializer(data=request.data)
        validated(form)
        field = form.validated_data["field"]
        if field not in self.revealable:
            raise ServiceError(
                _("Only these numbers can be revealed: %(fields)s.")
                % {"fields": ", ".join(self.revealable)},
                field="field",
                code="invalid_field",
            )

        value = audit_reveal(actor=request.user, target=party, field=field)

        return Response({"field": field, "value": value})


class PersonRevealView(_RevealView):
    select = staticmethod(selectors.person_visible_to)
    revealable = ("id_number", "phone")


class EnterpriseRevealView(_RevealView):
    select = staticmethod(selectors.enterprise_visible_to)
    revealable = ("legal_representative_id_number", "phone")


class PrefillView(APIView):
    """The signed-in applicant's details for their next application form."""

    @extend_schema(responses=serializers.PrefillSerializer)
    def get(self, request: Request) -> Response:
        return Response(selectors.applicant_prefill(user=request.user))

"""Read-only catalogue API: departments and items, public when published."""

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, permissions

from smartapproval.catalogue import selectors
from smartapproval.catalogue.api.serializers import (
    CatalogueDepartmentSerializer,
    ItemDetailSerializer,
    ItemListSerializer,
    ItemSearchParamsSerializer,
)
from smartapproval.catalogue.models import ServiceItem


@extend_schema(
    summary="Departments with service items",
    description=(
        "Departments that have published items, with their counts. "
        "Administrators see every department that has items, drafts included."
    ),
    tags=["catalogue"],
)
class DepartmentListView(generics.ListAPIView):
    serializer_class = CatalogueDepartmentSerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        sees_drafts = selectors.user_sees_drafts(self.request.user)
        return selectors.departments_with_items(published_only=not sees_drafts)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["sees_drafts"] = selectors.user_sees_drafts(self.request.user)
        return context


@extend_schema(
    summary="Search service items",
    description=(
        "Published items; administrators also see drafts and withdrawn items."
    ),
    parameters=[ItemSearchParamsSerializer],
    tags=["catalogue"],
)
class ItemListView(generics.ListAPIView):
    serializer_class = ItemListSerializer
    permission_classes = [permissions.AllowAny]
    filter_backends: list = []

    def get_queryset(self):
        params = ItemSearchParamsSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.item_search(
            query=params.validated_data.get("q", ""),
            department=params.validated_data.get("department"),
            item_type=params.validated_data.get("type"),
            published_only=not selectors.user_sees_drafts(self.request.user),
        )


@extend_schema(
    summary="One service item with its guide",
    description=(
        "Look up by implementation code or by id. Materials, limits with units, "
        "window, legal bases, FAQ, review rights and special procedures."
    ),
    parameters=[
        OpenApiParameter(
            "ref",
            str,
            OpenApiParameter.PATH,
            description="Implementation code, or the item's id.",
        )
    ],
    tags=["catalogue"],
)
class ItemDetailView(generics.RetrieveAPIView):
    serializer_class = ItemDetailSerializer
    permission_classes = [permissions.AllowAny]
    queryset = ServiceItem.objects.none()

    def get_object(self):
        try:
            return selectors.item_get_for_user(
                code_or_pk=self.kwargs["ref"], user=self.request.user
            )
        except ServiceItem.DoesNotExist as exc:
            raise Http404 from exc

"""Read-only catalogue API: departments and items, as the hall lists them.

The public sees what the hall's pages show: every department that has
items, and in the item list published items first, then drafts marked by
``status`` (known, but not open online yet). A guide (the detail) is
public once the item is published. Administrators see everything.
"""

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
from smartapproval.core.api import validated


@extend_schema(
    summary="Departments with service items",
    description=(
        "Every department that has items, as on the hall's front page, with "
        "``item_count`` (all items, drafts included) and ``published_count`` "
        "(items open for online application)."
    ),
    tags=["catalogue"],
)
class DepartmentListView(generics.ListAPIView):
    serializer_class = CatalogueDepartmentSerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = None
    filter_backends: list = []

    def get_queryset(self):
        return selectors.departments_with_items()


@extend_schema(
    summary="Search service items",
    description=(
        "Published items first, then drafts: a draft (``status`` "
        "``draft``, 暂未开放网上办理) is listed read-only so that the public "
        "knows the service exists, but cannot be applied for and has no guide "
        "yet. Withdrawn items are left out. Administrators see every item in "
        "catalogue order, withdrawn ones included."
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
        validated(params)
        filters = {
            "query": params.validated_data.get("q", ""),
            "department": params.validated_data.get("department"),
            "item_type": params.validated_data.get("type"),
        }
        if selectors.user_sees_drafts(self.request.user):
            return selectors.item_search(**filters, published_only=False)

        return selectors.item_search_public(**filters)


@extend_schema(
    summary="One service item with its guide",
    description=(
        "Look up by implementation code or by id. Materials, limits with units, "
        "window, legal bases, FAQ, review rights and special procedures. "
        "Published items only (administrators: any), as the hall's guides."
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

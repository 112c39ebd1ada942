from django.urls import path

from smartapproval.catalogue.api import views

app_name = "catalogue-api"
urlpatterns = [
    path(
        "catalogue/departments/",
        views.DepartmentListView.as_view(),
        name="department-list",
    ),
    path("catalogue/items/", views.ItemListView.as_view(), name="item-list"),
    path(
        "catalogue/items/<str:ref>/", views.ItemDetailView.as_view(), name="item-detail"
    ),
]

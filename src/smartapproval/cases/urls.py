"""The staff workbench, mounted at /staff/."""

from django.urls import path

from smartapproval.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<str:number>/", views.case_detail, name="case_detail"),
    path(
        "cases/<str:number>/reveal/<str:field>/",
        views.case_reveal,
        name="case_reveal",
    ),
    path(
        "cases/<str:number>/actions/<str:verb>/",
        views.case_action,
        name="case_action",
    ),
    path(
        "cases/<str:number>/deferred/",
        views.case_supply_deferred,
        name="case_supply_deferred",
    ),
    path(
        "tasks/<int:pk>/complete/",
        views.task_complete,
        name="task_complete",
    ),
    path(
        "tasks/<int:pk>/actions/<str:verb>/",
        views.task_action,
        name="task_action",
    ),
    path("tasks/<int:pk>/verify/", views.task_verify, name="task_verify"),
    path("results/<int:pk>/revoke/", views.result_revoke, name="result_revoke"),
    # Also linked from the applicant's pages: the selector scopes it.
    path("results/<int:pk>/pdf/", views.result_download, name="result_download"),
    path("materials/<int:pk>/", views.material_download, name="material_download"),
]

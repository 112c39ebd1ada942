from django.urls import path

from smartapproval.hall import views, views_apply, views_verify

app_name = "hall"
urlpatterns = [
    path("", views.index, name="index"),
    path("departments/<int:pk>/", views.department_detail, name="department"),
    path("items/", views.item_search, name="item_search"),
    path("items/<str:code>/", views.item_guide, name="item_guide"),
    path("items/<str:code>/apply/", views_apply.apply, name="apply"),
    path("progress/", views.progress, name="progress"),
    path("verify/<str:token>/", views_verify.verify, name="verify"),
    path("my/cases/", views.my_cases, name="my_cases"),
    path("my/cases/<str:number>/", views_apply.case_detail, name="case_detail"),
    path(
        "my/cases/<str:number>/correction/",
        views_apply.case_supply_correction,
        name="case_supply_correction",
    ),
    path(
        "my/cases/<str:number>/deferred/",
        views_apply.case_supply_deferred,
        name="case_supply_deferred",
    ),
    path(
        "my/cases/<str:number>/revision/",
        views_apply.case_supply_revision,
        name="case_supply_revision",
    ),
    path(
        "my/cases/<str:number>/replace-licence/",
        views_apply.case_replace_licence_material,
        name="case_replace_licence_material",
    ),
    path(
        "my/cases/<str:number>/withdraw/",
        views_apply.case_withdraw,
        name="case_withdraw",
    ),
    # Under /accounts/ for the applicant, served here because signing up
    # writes the person and enterprise libraries, which accounts may not
    # import.
    path("accounts/register/", views.register, name="register"),
]

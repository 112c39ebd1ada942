from django.urls import path

from smartapproval.parties.api import views

urlpatterns = [
    path(
        "applicants/persons/",
        views.PersonListView.as_view(),
        name="applicants-person-list",
    ),
    path(
        "applicants/persons/<int:pk>/",
        views.PersonDetailView.as_view(),
        name="applicants-person-detail",
    ),
    path(
        "applicants/persons/<int:pk>/reveal",
        views.PersonRevealView.as_view(),
        name="applicants-person-reveal",
    ),
    path(
        "applicants/enterprises/",
        views.EnterpriseListView.as_view(),
        name="applicants-enterprise-list",
    ),
    path(
        "applicants/enterprises/<int:pk>/",
        views.EnterpriseDetailView.as_view(),
        name="applicants-enterprise-detail",
    ),
    path(
        "applicants/enterprises/<int:pk>/reveal",
        views.EnterpriseRevealView.as_view(),
        name="applicants-enterprise-reveal",
    ),
    path("applicants/prefill", views.PrefillView.as_view(), name="applicants-prefill"),
]

from django.urls import path

from smartapproval.accounts.api.views import MeView

urlpatterns = [
    path("accounts/me/", MeView.as_view(), name="accounts-me"),
]

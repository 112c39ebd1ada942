from django.urls import path

from smartapproval.accounts.api.views import MeView, TokenObtainView

urlpatterns = [
    path("accounts/me/", MeView.as_view(), name="accounts-me"),
    path("auth/token/", TokenObtainView.as_view(), name="auth-token"),
]

"""The product's URLs plus the bench's bare view (bench settings only)."""

from django.urls import include, path

from bench.bare_view.views import bare_insert

urlpatterns = [
    path("bench/bare/", bare_insert, name="bench-bare"),
    path("", include("smartapproval.urls")),
]

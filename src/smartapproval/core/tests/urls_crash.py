"""The project's URLs plus views that crash, to test the 500 handler."""

from django.urls import path

from smartapproval.urls import handler404, handler500, urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]


def crash(request):
    raise RuntimeError("secret detail of the crash")


urlpatterns = [
    path("api/v1/test-crash/", crash),
    path("test-crash/", crash),
    *urlpatterns,
]

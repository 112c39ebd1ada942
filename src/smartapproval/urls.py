from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

# JSON in the API's error shape under /api/, the HTML pages elsewhere.
handler404 = "smartapproval.core.api.page_not_found"
handler500 = "smartapproval.core.api.server_error"

admin.site.site_header = _("Smart Approval administration")
admin.site.site_title = _("Smart Approval administration")
admin.site.index_title = _("Site administration")

api_v1 = [
    path("", include("smartapproval.core.api.urls")),
    path("", include("smartapproval.accounts.api.urls")),
    path("", include("smartapproval.catalogue.api.urls")),
    path("", include("smartapproval.parties.api.urls")),
    path("", include("smartapproval.cases.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"
    ),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("smartapproval.accounts.urls")),
    path("staff/", include("smartapproval.cases.urls")),
    path("", include("smartapproval.hall.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

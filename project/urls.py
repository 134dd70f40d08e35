from django.conf import settings
from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path

from api.views import api


def favicon(request):
    """Browsers (and admin pages, which have no <link rel=icon>) ask for /favicon.ico."""
    return redirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("", include("ops.urls")),
    path("accounts/", include("accounts.urls")),
    path("", include("storefront.urls")),
]

if settings.SANDBOX_ENABLED:
    urlpatterns.append(path("sandbox/", include("sandbox.urls")))

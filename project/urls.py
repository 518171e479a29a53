"""Demo project routes: hankoflow at the root, the generic HTML page, Hanko's own elements,
the protected page and DRF endpoint that read the Hanko session as ``request.user``, and the
admin API under ``/admin-api/``."""

from django.contrib import admin
from django.urls import include, path

from project import views

urlpatterns = [
    # First: the Flow API and the public endpoints take most requests, and Django tries the
    # patterns in order (none of these paths is one of the others below).
    path("", include("hankoflow.urls")),
    path("admin/", admin.site.urls),
    path("protected/", views.protected, name="protected"),
    path("protected/logout/", views.logout, name="protected-logout"),
    path("api/whoami", views.WhoAmI.as_view(), name="whoami"),
    # Hanko's admin API (API keys: manage.py hankoflow_api_key). Serve it on an internal host
    # only in production.
    path("admin-api/", include("hankoflow.api.admin.urls")),
    # The Passkey API, for projects that keep their own login (docs/passkey-api.md).
    path("passkeys/", include("hankoflow.api.passkeys.urls")),
    path("", include("hankoflow.web.urls")),
]

handler404 = "hankoflow.api.public.errors.not_found"
handler500 = "hankoflow.api.public.errors.server_error"

"""Demo project routes: hankoflow at the root, the generic HTML page, Hanko's own elements,
and the protected page and DRF endpoint that read the Hanko session as ``request.user``."""

from django.contrib import admin
from django.urls import include, path

from project import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("protected/", views.protected, name="protected"),
    path("protected/logout/", views.logout, name="protected-logout"),
    path("api/whoami", views.WhoAmI.as_view(), name="whoami"),
    path("", include("hankoflow.web.urls")),
    path("", include("hankoflow.urls")),
]

handler404 = "hankoflow.api.public.errors.not_found"
handler500 = "hankoflow.api.public.errors.server_error"

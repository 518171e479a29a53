"""Demo project routes: hankoflow at the root, the generic HTML page, Hanko's own elements."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("hankoflow.web.urls")),
    path("", include("hankoflow.urls")),
]

handler404 = "hankoflow.api.public.errors.not_found"
handler500 = "hankoflow.api.public.errors.server_error"

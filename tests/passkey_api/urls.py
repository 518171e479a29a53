"""The demo project's routes plus the Passkey API under ``/passkeys/``, as a host includes it."""

from django.urls import include, path

from project.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("passkeys/", include("hankoflow.api.passkeys.urls")),
    *project_urlpatterns,
]

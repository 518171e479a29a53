"""The signed-in user's "Add a passkey" endpoints, for the host to include, e.g.
``path("account/passkeys/", include("hankoflow.contrib.passkeys.urls"))``."""

from django.urls import path

from hankoflow.contrib.passkeys import views

app_name = "hankoflow-passkeys-contrib"
urlpatterns = [
    path("register/options", views.RegisterOptionsView.as_view(), name="register-options"),
    path("register", views.RegisterView.as_view(), name="register"),
]

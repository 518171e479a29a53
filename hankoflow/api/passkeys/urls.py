"""The Passkey API's routes, for the host to include, e.g.
``path("passkeys/", include("hankoflow.api.passkeys.urls"))``.

Each route is served at the root of the include and under ``<tenant_id>/`` (Hanko's passkey
server's form, ``/{tenant_id}/credentials/...``), which answers only for
``PASSKEY_API.TENANT_ID``.
"""

from django.urls import include, path

from hankoflow.api.passkeys import views

routes = [
    path("credentials/register/initialize", views.register_initialize),
    path("credentials/register/finalize", views.register_finalize),
    path("credentials/login/initialize", views.login_initialize, name="login-initialize"),
    path("credentials/login/finalize", views.login_finalize, name="login-finalize"),
    path("credentials/mfa/register/initialize", views.mfa_register_initialize),
    path("credentials/mfa/register/finalize", views.mfa_register_finalize),
    path("credentials/mfa/login/initialize", views.mfa_login_initialize),
    path("credentials/mfa/login/finalize", views.mfa_login_finalize),
    path("transaction/initialize", views.transaction_initialize),
    path("transaction/finalize", views.transaction_finalize),
]

app_name = "hankoflow-passkeys"
urlpatterns = [
    path("", include(routes)),
    path("<str:tenant_id>/", include(routes)),
]

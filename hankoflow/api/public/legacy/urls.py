"""The legacy routes (platform.md §3.3), part of ``hankoflow.urls``; every view answers 404
while ``LEGACY_API.ENABLED`` is off. ``/users/{id}``, ``/thirdparty/auth``, ``/saml/provider``
and ``/me`` are served by the current modules."""

from django.urls import path

from hankoflow.api.public.legacy import emails, passcode, password, token, users, webauthn

urlpatterns = [
    path(
        "passcode/login/initialize",
        passcode.PasscodeInitializeView.as_view(),
        name="legacy-passcode-initialize",
    ),
    path(
        "passcode/login/finalize",
        passcode.PasscodeFinalizeView.as_view(),
        name="legacy-passcode-finalize",
    ),
    path("password/login", password.PasswordLoginView.as_view(), name="legacy-password-login"),
    path("password", password.PasswordSetView.as_view(), name="legacy-password"),
    path("user", users.UserView.as_view(), name="legacy-user"),
    path("users", users.CreateUserView.as_view(), name="legacy-users"),
    path("emails", emails.EmailListView.as_view(), name="legacy-emails"),
    path(
        "emails/<str:email_id>/set_primary",
        emails.EmailPrimaryView.as_view(),
        name="legacy-email-set-primary",
    ),
    path("emails/<str:email_id>", emails.EmailView.as_view(), name="legacy-email"),
    path(
        "webauthn/registration/initialize",
        webauthn.RegistrationInitializeView.as_view(),
        name="legacy-webauthn-registration-initialize",
    ),
    path(
        "webauthn/registration/finalize",
        webauthn.RegistrationFinalizeView.as_view(),
        name="legacy-webauthn-registration-finalize",
    ),
    path(
        "webauthn/login/initialize",
        webauthn.LoginInitializeView.as_view(),
        name="legacy-webauthn-login-initialize",
    ),
    path(
        "webauthn/login/finalize",
        webauthn.LoginFinalizeView.as_view(),
        name="legacy-webauthn-login-finalize",
    ),
    path(
        "webauthn/credentials",
        webauthn.CredentialListView.as_view(),
        name="legacy-webauthn-credentials",
    ),
    path(
        "webauthn/credentials/<str:credential_id>",
        webauthn.CredentialView.as_view(),
        name="legacy-webauthn-credential",
    ),
    path("token", token.TokenView.as_view(), name="legacy-token"),
]

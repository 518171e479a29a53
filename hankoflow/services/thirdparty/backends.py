"""OAuth 2 / OpenID Connect through social-core's backends (platform.md §9.1, §9.2).

social-core does the protocol: authorization URL, code exchange, ID token validation (signature,
issuer, audience, nonce, ``at_hash``), user info and each provider's quirks. hankoflow keeps
what social-core normally keeps in the Django session and runs through its pipeline:

- ``HankoflowStrategy`` answers social-core's settings from ``THIRD_PARTY`` and holds the
  request's query instead of a Django request; its ``authenticate`` returns the provider's
  response instead of running the pipeline (hankoflow links and signs in itself: ``linking``).
- ``HankoflowBackend`` (mixed into every backend) takes the OAuth ``state``, the OIDC nonce and
  the PKCE verifier from hankoflow's sealed state (``state.py``) instead of the session, so a
  callback needs no server-side session, as in Hanko.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from social_core.backends.apple import AppleIdAuth
from social_core.backends.discord import DiscordOAuth2
from social_core.backends.facebook import FacebookOAuth2
from social_core.backends.github import GithubOAuth2
from social_core.backends.google import GoogleOAuth2
from social_core.backends.linkedin import LinkedinOpenIdConnect
from social_core.backends.microsoft import MicrosoftOAuth2
from social_core.backends.oauth import BaseOAuth2
from social_core.backends.open_id_connect import OpenIdConnectAuth
from social_core.exceptions import SocialAuthBaseException
from social_core.strategy import BaseStrategy

from hankoflow.services.thirdparty.providers import APPLE, Provider
from hankoflow.services.thirdparty.state import State

TIMEOUT = 10  # seconds for each request to a provider


class ProviderFailed(Exception):
    """The provider could not be reached or answered something unusable. ``code`` is Hanko's
    error code for the redirect: ``server_error``, or ``unverified_email`` when the backend
    itself insists on a verified address (social-core's Google backend does)."""

    def __init__(self, message: str, code: str = "server_error") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class ProviderUser:
    """The normalised claims of the person at the provider (platform.md §9.4)."""

    subject: str
    email: str
    email_verified: bool
    data: dict[str, Any] = field(default_factory=dict)


def authorization_url(provider: Provider, state: State, sealed: str, redirect_uri: str) -> str:
    """The provider's authorization URL for ``state`` (``sealed`` is its sealed form)."""
    backend = _backend(provider, state, sealed, redirect_uri, data={})
    try:
        return backend.auth_url()
    except (SocialAuthBaseException, requests.RequestException, jwt.PyJWTError, ValueError) as exc:
        raise ProviderFailed(str(exc)) from exc


def complete(
    provider: Provider, state: State, sealed: str, redirect_uri: str, data: dict[str, str]
) -> ProviderUser:
    """Exchange the callback's code and read who signed in; ``ProviderFailed`` on any failure."""
    backend = _backend(provider, state, sealed, redirect_uri, data=data)
    try:
        response = backend.auth_complete()
        if not isinstance(response, dict):
            raise ProviderFailed("no user data")
        return _normalise(provider, backend, response)
    except (
        SocialAuthBaseException,
        requests.RequestException,
        jwt.PyJWTError,
        ValueError,
        KeyError,
    ) as exc:
        code = "unverified_email" if getattr(exc, "claim", None) == "email_verified" else None
        raise ProviderFailed(f"{type(exc).__name__}: {exc}", code or "server_error") from exc


# --- strategy and backend mixin -------------------------------------------------------------------


class HankoflowStrategy(BaseStrategy):
    """social-core's view of one hankoflow request: settings, request data, no session."""

    def __init__(
        self, social_settings: dict[str, Any], state: State, sealed: str, data: dict[str, str]
    ) -> None:
        super().__init__(storage=None)
        self._settings = social_settings
        self.hanko_state = state
        self.sealed_state = sealed
        self._data = dict(data)
        self._session: dict[str, Any] = {}

    def setting(self, name: str, default=None, backend=None):
        return self._settings.get(name, default)

    def get_setting(self, name: str):
        return self._settings[name]

    def request_data(self, merge: bool = True) -> dict[str, Any]:
        return dict(self._data)

    def build_absolute_uri(self, path: str | None = None) -> str:
        return path or ""

    def session_get(self, name: str, default=None):
        return self._session.get(name, default)

    def session_set(self, name: str, value) -> None:
        self._session[name] = value

    def session_pop(self, name: str):
        return self._session.pop(name, None)

    def authenticate(self, backend, *args, **kwargs):
        # The pipeline would create or log in a Django user here; hankoflow does that itself.
        return kwargs.get("response")


class _Nonce:
    """What social-core's OIDC nonce check expects of a stored association."""

    id = "hankoflow"

    def __init__(self, assoc_type: str) -> None:
        self.assoc_type = assoc_type


class HankoflowBackend:
    """Mixed in before a social-core backend: state, nonce and PKCE come from hankoflow's state."""

    REDIRECT_STATE = False  # never append the (long) state to the registered redirect_uri
    STATE_PARAMETER = True
    SEND_PKCE = True
    strategy: HankoflowStrategy

    def get_or_create_state(self) -> str:
        return self.strategy.sealed_state

    def validate_state(self) -> str:
        # The callback view checked the state (seal, expiry, cookie) before calling social-core.
        sealed = self.strategy.sealed_state
        self._oauth2_transaction = {
            "state": sealed,
            "oidc_nonce": self.strategy.hanko_state.oidc_nonce,
        }
        return sealed

    def auth_params(self, state: str | None = None) -> dict[str, str]:
        params = super().auth_params(state)
        verifier = self.strategy.hanko_state.code_verifier
        if verifier and self.SEND_PKCE:
            digest = hashlib.sha256(verifier.encode()).digest()
            params["code_challenge"] = base64.urlsafe_b64encode(digest).decode().rstrip("=")
            params["code_challenge_method"] = "S256"
        return params

    def auth_complete_params(self, state=None):
        params = super().auth_complete_params(state)
        verifier = self.strategy.hanko_state.code_verifier
        if verifier and self.SEND_PKCE:
            params["code_verifier"] = verifier
        return params

    # OpenID Connect nonce: the one sealed in the state, not a row in social-auth's storage.
    def get_and_store_nonce(self, url: str, state: str) -> str:
        return self.strategy.hanko_state.oidc_nonce

    def _store_session_nonce(self, state: str | None, nonce: str) -> None:
        return None

    def get_nonce(self, nonce: str) -> _Nonce | None:
        expected = self.strategy.hanko_state.oidc_nonce
        if nonce and secrets.compare_digest(str(nonce), expected):
            return _Nonce(self.strategy.sealed_state)
        return None

    def remove_nonce(self, nonce_id) -> None:
        return None


class CustomOAuth2(BaseOAuth2):
    """A custom provider without discovery: explicit endpoints, user info by bearer token."""

    ID_KEY = "sub"

    def authorization_url(self) -> str:
        return self.setting("AUTHORIZATION_URL")

    def access_token_url(self) -> str:
        return self.setting("ACCESS_TOKEN_URL")

    def user_data(self, access_token: str, *args, **kwargs) -> dict[str, Any] | None:
        return self.get_json(
            self.setting("USERINFO_URL"), headers={"Authorization": f"Bearer {access_token}"}
        )

    def get_user_details(self, response: dict[str, Any]) -> dict[str, Any]:
        return {"email": response.get("email") or "", "username": response.get("name") or ""}


class AppleOAuth2(AppleIdAuth):
    """Sign in with Apple: the client secret is signed for each request from the team id, key id
    and private key, or is the pre-signed one of Hanko's ``secret``. Apple answers by
    ``form_post`` (it is asked for ``name email``), so its callback is a cross-site POST."""

    # social-core's default is six months; a secret made per request needs only minutes.
    TOKEN_TTL_SEC = 300

    def generate_client_secret(self) -> str:
        presigned = self.setting("PRESIGNED_SECRET")
        return presigned if presigned else super().generate_client_secret()


# Hanko's built-in provider ids -> social-core backends, with Hanko's scopes.
_BUILTIN: dict[str, tuple[type, list[str]]] = {
    # Hanko: `email profile`; social-core's default adds `openid` (Google answers the same).
    "apple": (AppleOAuth2, ["name", "email"]),
    "google": (GoogleOAuth2, ["openid", "email", "profile"]),
    "github": (GithubOAuth2, ["user:email", "read:user"]),
    "discord": (DiscordOAuth2, ["identify", "email"]),
    "linkedin": (LinkedinOpenIdConnect, ["openid", "profile", "email"]),
    "microsoft": (MicrosoftOAuth2, ["openid", "profile", "email", "User.Read"]),
    "facebook": (FacebookOAuth2, ["email", "public_profile"]),
}
_classes: dict[tuple[str, str], type] = {}


def _backend_class(provider: Provider) -> type:
    """One class per provider (social-core caches discovery and keys per class)."""
    if provider.custom:
        base = OpenIdConnectAuth if provider.use_discovery else CustomOAuth2
    else:
        base = _BUILTIN[provider.id][0]
    key = (provider.id, base.__name__)
    if key not in _classes:
        attrs = {"name": provider.id}
        if provider.id == "linkedin":
            attrs["SEND_PKCE"] = False  # Hanko does not send the PKCE verifier to LinkedIn
        _classes[key] = type(f"Hankoflow_{provider.id}", (HankoflowBackend, base), attrs)
    return _classes[key]


def _settings(provider: Provider) -> dict[str, Any]:
    values: dict[str, Any] = {
        "KEY": provider.client_id,
        "SECRET": provider.secret,
        "IGNORE_DEFAULT_SCOPE": True,
        "USE_PKCE": False,  # HankoflowBackend sends PKCE when the client gave a verifier
        "REQUESTS_TIMEOUT": TIMEOUT,
    }
    if provider.custom:
        values["SCOPE"] = list(provider.scopes)
        if provider.use_discovery:
            values["OIDC_ENDPOINT"] = provider.issuer
        else:
            values["AUTHORIZATION_URL"] = provider.authorization_endpoint
            values["ACCESS_TOKEN_URL"] = provider.token_endpoint
            values["USERINFO_URL"] = provider.userinfo_endpoint
    else:
        values["SCOPE"] = list(_BUILTIN[provider.id][1])
    if provider.id == APPLE:
        # social-core's Apple backend names its settings differently.
        values["CLIENT"] = provider.client_id
        values["TEAM"] = provider.team_id
        values["KEY"] = provider.key_id
        values["SECRET"] = provider.private_key
        values["PRESIGNED_SECRET"] = "" if provider.private_key else provider.secret
    # Sent as given, as Hanko does (social-core's OIDC PROMPT setting allows only four values).
    extra = {"prompt": provider.prompt} if provider.prompt else {}
    if provider.acr_values:
        extra["acr_values"] = " ".join(provider.acr_values)
    values["AUTH_EXTRA_ARGUMENTS"] = extra
    return values


def _backend(
    provider: Provider, state: State, sealed: str, redirect_uri: str, data: dict[str, str]
) -> Any:
    strategy = HankoflowStrategy(_settings(provider), state, sealed, data)
    return _backend_class(provider)(strategy, redirect_uri=redirect_uri)


# --- claims ---------------------------------------------------------------------------------------

_PROFILE_CLAIMS = ("name", "given_name", "family_name", "picture", "preferred_username")
_SECRET_KEYS = {"access_token", "refresh_token", "id_token", "token_type", "expires_in", "scope"}


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _normalise(provider: Provider, backend, response: dict[str, Any]) -> ProviderUser:
    claims = {k: v for k, v in response.items() if k not in _SECRET_KEYS}
    if provider.custom:
        for hanko_claim, provider_claim in provider.attribute_mapping.items():
            if provider_claim in response:
                claims[hanko_claim] = response[provider_claim]
        id_token = getattr(backend, "id_token", None) or {}
        subject = id_token.get("sub") if provider.use_discovery else claims.get("sub")
        email = claims.get("email") or ""
        verified = _truthy(claims.get("email_verified"))
    else:
        details = backend.get_user_details(response)
        subject = backend.get_user_id(details, response)
        email = details.get("email") or response.get("email") or ""
        verified = _builtin_verified(provider.id, response, email)
    if not subject:
        raise ProviderFailed("the provider sent no subject")
    data = {k: claims[k] for k in _PROFILE_CLAIMS if claims.get(k)}
    return ProviderUser(
        subject=str(subject),
        email=str(email).strip().lower(),
        email_verified=verified,
        data=data,
    )


def _builtin_verified(provider_id: str, response: dict[str, Any], email: str) -> bool:
    if provider_id == "github":
        entries = response.get("emails") or []
        return any(
            isinstance(e, dict) and e.get("email") == email and e.get("verified") for e in entries
        )
    if provider_id == "discord":
        return _truthy(response.get("verified"))
    if provider_id == "facebook":
        return True  # Hanko treats Facebook addresses as verified
    if provider_id == "microsoft":
        edov = response.get("xms_edov")
        return edov is None or _truthy(edov)
    return _truthy(response.get("email_verified"))

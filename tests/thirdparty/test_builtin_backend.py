"""A built-in provider's social-core backend (Google's) against the local OpenID Connect
provider: Google's three endpoints are pointed at it, nothing else is changed, and the real
provider answers every request."""

from __future__ import annotations

import pytest
import requests
from social_core.backends.google import GoogleOAuth2

from hankoflow.models import Identity
from tests.thirdparty.conftest import APP, ERROR_URL, returned
from tests.thirdparty.provider.serve import CLIENT_ID, CLIENT_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

GOOGLE_USERINFO = "https://www.googleapis.com/oauth2/v3/userinfo"


@pytest.fixture
def google(settings, oidc_provider, monkeypatch):
    issuer = oidc_provider.issuer
    monkeypatch.setattr(GoogleOAuth2, "AUTHORIZATION_URL", f"{issuer}/authorize/")
    monkeypatch.setattr(GoogleOAuth2, "ACCESS_TOKEN_URL", f"{issuer}/token/")
    real = requests.request

    def to_local(method, url, *args, **kwargs):
        if url == GOOGLE_USERINFO:
            url = f"{issuer}/userinfo/"
        return real(method, url, *args, **kwargs)

    monkeypatch.setattr(requests, "request", to_local)
    settings.HANKOFLOW = {
        "THIRD_PARTY": {
            "ALLOWED_REDIRECT_URLS": [f"{APP}/**"],
            "ERROR_REDIRECT_URL": ERROR_URL,
            "PROVIDERS": {
                "google": {"ENABLED": True, "CLIENT_ID": CLIENT_ID, "SECRET": CLIENT_SECRET}
            },
        }
    }


def test_google_backend_signs_up(dance, google):
    _, started = dance.start(provider="google")
    dance.sign_in_at_provider("alice")
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"]))
    success = dance.exchange(started, returned(answer)["hanko_token"])
    assert success.state == "success", success.body
    identity = Identity.objects.get()
    assert (identity.provider_id, identity.email, identity.email_verified) == (
        "google",
        "alice@example.com",
        True,
    )
    assert success.body["payload"]["claims"]["amr"] == ["ext:google"]


def test_google_backend_refuses_an_unverified_address(dance, google):
    _, started = dance.start(provider="google")
    dance.sign_in_at_provider("newbie")
    answer = dance.callback(dance.consent(started.body["payload"]["redirect_url"]))
    assert returned(answer)["error"] == "unverified_email"
    assert not Identity.objects.exists()

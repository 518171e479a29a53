"""A real OpenID Connect provider on 127.0.0.1 for the third-party tests (django-oauth-toolkit,
``tests/thirdparty/provider``), and a ``Dance`` helper that walks a browser's way through it:
the flow's ``thirdparty_oauth``, the provider's sign-in and consent pages (``requests``), the
callback (Django's test client, which holds the state cookie), then ``exchange_token``."""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.thirdparty.provider.serve import CLIENT_ID, CLIENT_SECRET, PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CALLBACK = "http://testserver/thirdparty/callback"
APP = "https://app.example.com"
RETURN_TO = f"{APP}/signed-in"
ERROR_URL = f"{APP}/error"


@dataclass
class Provider:
    url: str  # e.g. http://127.0.0.1:40123
    process: subprocess.Popen = field(repr=False)

    @property
    def issuer(self) -> str:
        return f"{self.url}/o"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(port: int, db: Path, callback: str = CALLBACK) -> subprocess.Popen:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.thirdparty.provider.settings",
        "PROVIDER_DB": str(db),
        "PROVIDER_RSA_KEY": pem,
    }
    env.pop("DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "tests.thirdparty.provider.serve", str(port), callback],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(process: subprocess.Popen, timeout: float = 60) -> None:
    ready = threading.Event()

    def read() -> None:
        for line in process.stdout:
            if line.strip() == "ready":
                ready.set()
                return

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout):
        process.kill()
        raise RuntimeError(f"the test provider did not start: {process.stderr.read()[-2000:]}")


def run_provider(tmp_path_factory, callback: str = CALLBACK) -> Iterator[Provider]:
    """Start a provider whose one client may redirect to ``callback``; stop it afterwards."""
    port = _free_port()
    process = _start(port, tmp_path_factory.mktemp("provider") / "db.sqlite3", callback)
    _wait_ready(process)
    yield Provider(f"http://127.0.0.1:{port}", process)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory) -> Iterator[Provider]:
    yield from run_provider(tmp_path_factory)


def provider_settings(provider: Provider, **overrides) -> dict:
    local = {
        "ENABLED": True,
        "DISPLAY_NAME": "Local",
        "CLIENT_ID": CLIENT_ID,
        "SECRET": CLIENT_SECRET,
        "SCOPES": ["openid", "profile", "email"],
        "ISSUER": provider.issuer,
        "USE_DISCOVERY": True,
        "ALLOW_LINKING": True,
        **overrides,
    }
    return {
        "THIRD_PARTY": {
            "ALLOWED_REDIRECT_URLS": [f"{APP}/**"],
            "ERROR_REDIRECT_URL": ERROR_URL,
            "CUSTOM_PROVIDERS": {"local": local},
        }
    }


@pytest.fixture
def thirdparty(settings, oidc_provider):
    """Switch the local provider on (``custom_local``); call it again with overrides."""

    def configure(**overrides) -> None:
        settings.HANKOFLOW = provider_settings(oidc_provider, **overrides)

    configure()
    return configure


class Dance:
    """One browser's walk through a third-party sign-in."""

    def __init__(self, flow_client, provider: Provider) -> None:
        self.flow_client = flow_client
        self.provider = provider
        self.browser = requests.Session()  # the browser at the provider
        self.code_verifier = secrets.token_urlsafe(48)

    def start(
        self,
        flow: str = "login",
        *,
        redirect_to: str = RETURN_TO,
        pkce: bool = True,
        provider: str = "custom_local",
    ):
        state = self.flow_client.start(flow)
        if state.state == "preflight":
            state = self.flow_client.act(
                state,
                "register_client_capabilities",
                {"webauthn_available": False, "webauthn_conditional_mediation_available": False},
            )
        inputs = {"provider": provider, "redirect_to": redirect_to}
        if pkce:
            inputs["code_verifier"] = self.code_verifier
        else:
            self.code_verifier = None
        return state, self.flow_client.act(state, "thirdparty_oauth", inputs)

    def sign_in_at_provider(self, username: str) -> None:
        response = self.browser.post(
            f"{self.provider.url}/login/",
            data={"username": username, "password": PASSWORD},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:300]

    def consent(self, authorization_url: str, *, allow: bool = True) -> str:
        """Show the consent page and answer it; returns the provider's redirect (the callback)."""
        page = self.browser.get(authorization_url, allow_redirects=False, timeout=10)
        assert page.status_code == 200, (page.status_code, page.text[:500])
        form = dict(re.findall(r'name="([^"]+)"\s+value="([^"]*)"', page.text))
        form.update(
            {
                k: v[0]
                for k, v in parse_qs(urlsplit(authorization_url).query).items()
                if k not in form
            }
        )
        form.pop("allow", None)  # the "Authorize" button: sent only when pressed
        if allow:
            form["allow"] = "Authorize"
        answer = self.browser.post(
            page.url,
            data=form,
            headers={"Referer": page.url},
            allow_redirects=False,
            timeout=10,
        )
        assert answer.status_code == 302, (answer.status_code, answer.text[:500])
        return answer.headers["Location"]

    def callback(self, location: str):
        """The browser follows the provider's redirect to hankoflow's callback."""
        parts = urlsplit(location)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK, location
        return self.flow_client.client.get(parts.path, parse_qs(parts.query))

    def exchange(self, state, token: str, code_verifier: str | None = ...):
        verifier = self.code_verifier if code_verifier is ... else code_verifier
        inputs = {"token": token}
        if verifier:
            inputs["code_verifier"] = verifier
        return self.flow_client.act(state, "exchange_token", inputs)

    def run(self, username: str, flow: str = "login"):
        """The whole way; returns ``(thirdparty state, result of exchange_token)``."""
        _, thirdparty = self.start(flow)
        self.sign_in_at_provider(username)
        answer = self.callback(self.consent(thirdparty.body["payload"]["redirect_url"]))
        token = returned(answer)["hanko_token"]
        return thirdparty, self.exchange(thirdparty, token)


def returned(response) -> dict[str, str]:
    """The query of a callback's redirect (307) back to the app."""
    assert response.status_code == 307, (response.status_code, response.content[:300])
    return {k: v[0] for k, v in parse_qs(urlsplit(response["Location"]).query).items()}


@pytest.fixture
def dance(flow_client, oidc_provider, thirdparty):
    return Dance(flow_client, oidc_provider)

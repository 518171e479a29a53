"""REDIRECTION end to end against the real local OpenID Connect provider of tests/thirdparty:
the provider's button, the redirect, the provider's sign-in, hankoflow's callback (which checks
``code`` and ``state``), then the app resuming the flow with the one-time token."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlsplit

import pytest

from hankoflow.models import Account, Identity
from tests.thirdparty.conftest import (
    CALLBACK,
    RETURN_TO,
    Dance,
    provider_settings,
    returned,
    run_provider,
)

# Like tests/thirdparty's dances: a provider process, so with the real services.
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="session")
def local_provider(tmp_path_factory):
    yield from run_provider(tmp_path_factory)


def test_redirection_resumes_the_flow_with_the_callbacks_token(execution, local_provider, settings):
    settings.HANKOFLOW = provider_settings(local_provider)
    step = execution.start("REGISTRATION")
    step = execution.act(step, None, {"webauthn_available": False})
    button = next(c for c in step.components() if c["id"] == "button_thirdparty_oauth_custom_local")
    assert button["config"]["requiredParams"] == ["redirect_to"]
    verifier = secrets.token_urlsafe(48)
    inputs = {**button["config"]["params"], "redirect_to": RETURN_TO, "code_verifier": verifier}
    redirection = execution.act(step, button["actionId"], inputs)
    assert redirection.status == 200 and redirection.type == "REDIRECTION"
    assert redirection.data["url"].startswith(local_provider.issuer + "/authorize/")

    browser = Dance(None, local_provider)  # the browser at the provider
    browser.sign_in_at_provider("carol")
    location = urlsplit(browser.consent(redirection.data["url"]))
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    answer = execution.client.get(location.path, parse_qs(location.query))
    token = returned(answer)["hanko_token"]

    # The app's callback: the flowId of the REDIRECTION answer, no actionId, the token.
    done = execution.post(
        {
            "flowId": redirection.body["flowId"],
            "inputs": {"token": token, "code_verifier": verifier},
        }
    )
    assert done.status == 200, done.body
    assert done.body["flowStatus"] == "COMPLETE"
    account = Account.objects.get(emails__address="carol@example.com")
    assert Identity.objects.get(account=account).provider_id == "custom_local"
    assert done.response.cookies["hanko"].value.count(".") == 2

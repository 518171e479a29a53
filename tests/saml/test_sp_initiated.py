"""SP-initiated sign-in and sign-up against the local IdP (platform.md §9.6)."""

from __future__ import annotations

import pytest

from hankoflow.models import Identity
from tests.saml.conftest import RETURN_TO, needs_xmlsec, query_of

pytestmark = [pytest.mark.slow, needs_xmlsec, pytest.mark.django_db]


def exchange(flow_client, token: str):
    state = flow_client.start("token_exchange")
    return flow_client.act(state, "exchange_token", {"token": token})


def test_sign_up_then_sign_in(browser, idp, flow_client):
    callback = browser.sign_in()
    assert callback.status_code == 302, callback.content
    location = callback["Location"]
    assert location.startswith(RETURN_TO + "?")
    token = query_of(location)["hanko_token"]
    identity = Identity.objects.get(provider_id=idp.entity_id, subject="ada-1")
    assert identity.email == "ada@corp.example.com"
    assert identity.email_verified
    assert identity.data["given_name"] == "Ada"
    done = exchange(flow_client, token)
    assert done.state == "success"

    again = browser.sign_in()
    assert again.status_code == 302
    assert Identity.objects.filter(subject="ada-1").count() == 1
    assert exchange(flow_client, query_of(again["Location"])["hanko_token"]).state == "success"

"""SP-initiated sign-in and sign-up against the local IdP (platform.md §9.6)."""

from __future__ import annotations

import pytest

from hankoflow.models import AuditLogEntry, Identity
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


def test_existing_account_is_linked_without_a_new_one(browser, idp, account_factory):
    account = account_factory("ada@corp.example.com")
    callback = browser.sign_in()
    assert callback.status_code == 302, callback.content
    identity = Identity.objects.get(provider_id=idp.entity_id)
    assert identity.account_id == account.pk
    entry = AuditLogEntry.objects.filter(type="thirdparty_linking_succeeded").get()
    assert entry.details["provider"] == idp.entity_id


def test_sign_up_refused_when_signup_is_off(browser, settings):
    settings.HANKOFLOW = {**settings.HANKOFLOW, "ACCOUNT": {"ALLOW_SIGNUP": False}}
    callback = browser.sign_in()
    assert callback.status_code == 303
    assert query_of(callback["Location"])["error"] == "signup_disabled"
    assert not Identity.objects.exists()


def test_idp_down_is_a_server_error(browser, saml):
    saml(PROVIDER={"METADATA_URL": "http://127.0.0.1:9/metadata"})
    started = browser.start()
    assert started.status_code == 303
    assert query_of(started["Location"])["error"] == "server_error"


def test_idp_metadata_is_fetched_once_and_cached(browser, idp):
    before = idp.metadata_hits
    assert browser.sign_in().status_code == 302
    assert browser.sign_in().status_code == 302
    assert idp.metadata_hits - before == 1

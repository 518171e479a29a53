"""The callback's refusals and the IdP-initiated sign-in, against the local IdP (§9.6)."""

from __future__ import annotations

import base64
import re

import pytest

from hankoflow.models import AuditLogEntry, Identity
from tests.saml.conftest import DEFAULT_REDIRECT, ENDPOINT, RETURN_TO, needs_xmlsec, query_of
from tests.saml.idp import IdP

pytestmark = [pytest.mark.slow, needs_xmlsec, pytest.mark.django_db]

ACS = f"{ENDPOINT}/saml/callback"


def idp_initiated(idp, **kwargs) -> str:
    return idp.response(in_response_to=None, sp_entity_id=ENDPOINT, acs=ACS, **kwargs)


def refused(response, target: str = DEFAULT_REDIRECT) -> str:
    assert response.status_code == 303, response.content
    assert response["Location"].startswith(target + "?")
    query = query_of(response["Location"])
    assert "hanko_token" not in query
    assert query["error"] == "invalid_request"
    return query["error_description"]


def test_idp_initiated_sign_in_goes_to_the_default_redirect_with_the_hint(
    browser, idp, flow_client
):
    response = browser.post_callback({"SAMLResponse": idp_initiated(idp), "RelayState": ""})
    assert response.status_code == 302, response.content
    assert response["Location"].startswith(DEFAULT_REDIRECT + "?")
    query = query_of(response["Location"])
    assert query["saml_hint"] == "idp_initiated"
    state = flow_client.start("token_exchange")
    assert flow_client.act(state, "exchange_token", {"token": query["hanko_token"]}).state == (
        "success"
    )


def test_replayed_idp_initiated_response_is_refused(browser, idp):
    fields = {"SAMLResponse": idp_initiated(idp), "RelayState": ""}
    assert browser.post_callback(fields).status_code == 302
    assert "used before" in refused(browser.post_callback(fields))


def test_replayed_sp_initiated_response_is_refused(browser):
    started = browser.start()
    fields = browser.at_identity_provider(started["Location"])
    assert browser.post_callback(fields).status_code == 302
    assert "invalid state" in refused(browser.post_callback(fields), RETURN_TO)


def test_unsigned_assertion_is_refused(browser, idp):
    response = browser.post_callback({"SAMLResponse": idp_initiated(idp, sign_assertion=False)})
    assert "signature" in refused(response)
    assert not Identity.objects.exists()


def test_tampered_assertion_is_refused(browser, idp):
    started = browser.start()
    fields = browser.at_identity_provider(started["Location"])
    xml = base64.b64decode(fields["SAMLResponse"]).decode()
    assert "ada@corp.example.com" in xml
    fields["SAMLResponse"] = base64.b64encode(
        xml.replace("ada@corp.example.com", "eve@corp.example.com").encode()
    ).decode()
    assert "signature" in refused(browser.post_callback(fields), RETURN_TO)
    assert not Identity.objects.exists()
    entry = AuditLogEntry.objects.filter(type="thirdparty_signin_signup_failed").get()
    assert "signature" in entry.error


def test_assertion_for_another_audience_is_refused(browser, idp):
    other = idp.response(in_response_to=None, sp_entity_id="https://other.example.net", acs=ACS)
    assert "not meant for" in refused(browser.post_callback({"SAMLResponse": other}))


def test_expired_assertion_is_refused(browser, idp, clock):
    fields = {"SAMLResponse": idp_initiated(idp)}
    clock.advance(minutes=10)  # the IdP's assertions live 5 minutes
    assert "not valid at this time" in refused(browser.post_callback(fields))
    assert not Identity.objects.exists()


def test_idp_initiated_response_that_answers_a_request_is_refused(browser, idp):
    solicited = idp.response(in_response_to="_not-from-here", sp_entity_id=ENDPOINT, acs=ACS)
    assert "must not answer a request" in refused(
        browser.post_callback({"SAMLResponse": solicited})
    )


def test_sp_initiated_response_must_answer_our_request(browser, idp):
    started = browser.start()
    relay_state = browser.at_identity_provider(started["Location"])["RelayState"]
    unsolicited = idp_initiated(idp)
    response = browser.post_callback({"SAMLResponse": unsolicited, "RelayState": relay_state})
    assert refused(response, RETURN_TO)
    assert not Identity.objects.exists()


def test_garbage_is_refused_without_a_500(browser):
    for value in ("", "not base64 !", base64.b64encode(b"<x/>").decode()):
        refused(browser.post_callback({"SAMLResponse": value, "RelayState": ""}))


def test_assertion_signed_with_another_key_is_refused(browser, idp, tmp_path):
    impostor = IdP(url=idp.url, workdir=tmp_path)  # same entity id, its own key
    impostor.use_sp_metadata(idp.sp_metadata)
    forged = impostor.response(in_response_to=None, sp_entity_id=ENDPOINT, acs=ACS)
    assert "signature" in refused(browser.post_callback({"SAMLResponse": forged}))


def test_missing_mapped_attribute_is_refused_unless_allowed(browser, idp, saml):
    saml(PROVIDER={"ATTRIBUTE_MAP": {"nickname": "urn:example:nickname"}})
    assert "missing attributes: nickname" in refused(
        browser.post_callback({"SAMLResponse": idp_initiated(idp)})
    )
    saml(
        PROVIDER={"ATTRIBUTE_MAP": {"nickname": "urn:example:nickname"}},
        OPTIONS={"ALLOW_MISSING_ATTRIBUTES": True},
    )
    assert browser.post_callback({"SAMLResponse": idp_initiated(idp)}).status_code == 302


def test_unmapped_attributes_are_kept_as_custom_claims(browser, idp):
    assert browser.post_callback({"SAMLResponse": idp_initiated(idp)}).status_code == 302
    identity = Identity.objects.get()
    assert identity.data["family_name"] == "Lovelace"
    assert "custom_claims" not in identity.data or isinstance(identity.data["custom_claims"], dict)
    assert "email_verified" not in identity.data


def test_encrypted_assertion_is_decrypted_with_the_sp_key(browser, idp):
    encrypted = idp.response(in_response_to=None, sp_entity_id=ENDPOINT, acs=ACS, encrypt=True)
    assert b"EncryptedAssertion" in base64.b64decode(encrypted)
    response = browser.post_callback({"SAMLResponse": encrypted})
    assert response.status_code == 302, response["Location"]
    assert Identity.objects.get().email == "ada@corp.example.com"


def test_replay_with_a_new_response_id_is_refused(browser, idp):
    """The Response element is not signed: the assertion's own id marks a replay."""
    original = idp_initiated(idp)
    assert browser.post_callback({"SAMLResponse": original}).status_code == 302
    xml = base64.b64decode(original).decode()
    response_id = re.search(r'<[^>]*Response [^>]*\bID="([^"]+)"', xml).group(1)
    renamed = base64.b64encode(xml.replace(response_id, "_renamed" + "0" * 32).encode()).decode()
    assert "used before" in refused(browser.post_callback({"SAMLResponse": renamed}))


def test_unsolicited_assertion_in_an_envelope_naming_our_request_is_refused(browser, idp):
    """The envelope's InResponseTo is unsigned: the assertion itself must answer our request."""
    started = browser.start()
    relay_state = browser.at_identity_provider(started["Location"])["RelayState"]
    request_id = idp.last_request.id
    xml = base64.b64decode(idp_initiated(idp)).decode()
    xml = re.sub(r"(<[^>]*Response )", rf'\1InResponseTo="{request_id}" ', xml, count=1)
    wrapped = base64.b64encode(xml.encode()).decode()
    response = browser.post_callback({"SAMLResponse": wrapped, "RelayState": relay_state})
    assert refused(response, RETURN_TO)
    assert not Identity.objects.exists()


def test_an_assertion_used_sp_initiated_cannot_be_used_again(browser, idp):
    started = browser.start()
    fields = browser.at_identity_provider(started["Location"])
    assert browser.post_callback(fields).status_code == 302
    again = browser.post_callback({"SAMLResponse": fields["SAMLResponse"], "RelayState": ""})
    assert refused(again)

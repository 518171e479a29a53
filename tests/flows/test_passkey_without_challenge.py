"""An assertion sent before any request options were asked for (found by the fuzz run,
tests/fuzz): ``login_init`` offers ``webauthn_verify_assertion_response`` once the client says
it has WebAuthn, but no challenge exists until options are generated."""

from __future__ import annotations

WEBAUTHN = {"webauthn_available": True}
ASSERTION = {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}}


def test_an_assertion_without_a_challenge_is_an_invalid_passkey_not_a_server_error(flow_client):
    state = flow_client.start("login")
    state = flow_client.act(state, "register_client_capabilities", WEBAUTHN)
    assert state.state == "login_init"
    assert "webauthn_verify_assertion_response" in state.body["actions"]

    refused = flow_client.act(
        state, "webauthn_verify_assertion_response", {"assertion_response": ASSERTION}
    )

    assert refused.status == 401 and refused.error_code == "passkey_invalid"
    assert refused.state == "login_init"
    assert "webauthn_generate_request_options" in refused.body["actions"]

"""``PRIVACY.ONLY_SHOW_ACTUAL_LOGIN_METHODS`` (flow-api.md §4.0.2.2 step 7): the identifier step
offers what the account really has, read from the facts of one query."""

from __future__ import annotations

from django.test import override_settings

from hankoflow.models import WebauthnCredential

EMAIL = "pat@example.com"


@override_settings(
    HANKOFLOW={
        "PRIVACY": {"ONLY_SHOW_ACTUAL_LOGIN_METHODS": True},
        "EMAIL": {"USE_FOR_AUTHENTICATION": False},
    }
)
def test_a_passkey_only_account_is_asked_for_its_own_passkey(flow_client, account_factory):
    account = account_factory(EMAIL)
    WebauthnCredential.objects.create(
        id="Y3JlZGVudGlhbC0x", account=account, public_key="x", attestation_type="none"
    )
    state = flow_client.act(
        flow_client.start("login"), "register_client_capabilities", {"webauthn_available": True}
    )
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})

    assert state.state == "login_passkey"
    options = state.body["payload"]["request_options"]["publicKey"]
    assert [c["id"] for c in options["allowCredentials"]] == ["Y3JlZGVudGlhbC0x"]

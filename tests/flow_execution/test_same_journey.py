"""The same sign-up through the Hanko dialect and through the Flow Execution API makes the same
user, the same credentials and the same audit events: both run the one registration flow."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Q

from hankoflow.models import Account, AuditLogEntry, Flow, WebauthnCredential
from hankoflow.testing.webauthn import SoftAuthenticator

PASSWORD = "correct horse battery"
CAPABILITIES = {"webauthn_available": True, "webauthn_platform_authenticator_available": True}


def wrong(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def through_hanko(flow_client, passcode_outbox, email: str, device: SoftAuthenticator) -> str:
    state = flow_client.start("registration")
    state = flow_client.act(state, "register_client_capabilities", CAPABILITIES)
    state = flow_client.act(state, "register_login_identifier", {"email": email})
    state = flow_client.act(state, "verify_passcode", {"code": wrong(passcode_outbox(email))})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(email)})
    state = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    state = flow_client.act(state, "skip")
    state = flow_client.act(state, "webauthn_generate_creation_options")
    options = state.body["payload"]["creation_options"]
    credential = device.create(options)
    state = flow_client.act(
        state, "webauthn_verify_attestation_response", {"public_key": credential}
    )
    assert state.state == "success"
    return state.body["payload"]["user"]["id"]


def through_flow_execution(
    execution, passcode_outbox, email: str, device: SoftAuthenticator
) -> str:
    step = execution.start("REGISTRATION")
    assert step.type == "INTERNAL_PROMPT"
    step = execution.act(step, None, CAPABILITIES)
    step = execution.act(step, "register_login_identifier", {"email": email})
    step = execution.act(step, "verify_passcode", {"code": wrong(passcode_outbox(email))})
    assert step.body["error"]["params"]["code"]["code"] == "passcode_invalid"
    step = execution.act(step, "verify_passcode", {"code": passcode_outbox(email)})
    step = execution.act(step, "register_password", {"new_password": PASSWORD})
    step = execution.act(step, "skip")
    step = execution.act(step, "webauthn_generate_creation_options")
    assert step.type == "WEBAUTHN"
    step = execution.act(step, None, {"public_key": device.create(step.data["webAuthn"])})
    assert step.body["flowStatus"] == "COMPLETE"
    return str(Account.objects.get(emails__address=email).id)


def what_was_made(account_id: str) -> dict[str, Any]:
    account = Account.objects.get(id=account_id)
    flow = Flow.objects.get(user=account.user)  # the registration, linked at success
    events = AuditLogEntry.objects.filter(
        Q(actor_user_id=account.id) | Q(details__flow_id=str(flow.id))
    ).order_by("created_at")
    return {
        "emails": [(e.is_primary, e.is_verified) for e in account.emails.order_by("address")],
        "password": account.user.check_password(PASSWORD),
        "usable_password": account.user.has_usable_password(),
        "passkeys": [
            (c.mfa_only, c.backup_eligible, sorted(c.transports))
            for c in WebauthnCredential.objects.filter(account=account)
        ],
        "audit": [(e.type, e.error, sorted((e.details or {}).keys())) for e in events],
        "flow": (flow.name, flow.state, [(h["action"], h["to"], h["error"]) for h in flow.history]),
        "sessions": account.sessions.count(),
    }


@pytest.mark.parametrize("order", ["hanko_first", "flow_execution_first"])
def test_both_dialects_make_the_same_user(
    flow_client, execution, passcode_outbox, soft_authenticator, order
):
    journeys = [
        (through_hanko, flow_client, "hanko.dialect@example.com"),
        (through_flow_execution, execution, "flow.execution@example.com"),
    ]
    if order == "flow_execution_first":
        journeys.reverse()
    made = {}
    for journey, client, email in journeys:
        made[journey.__name__] = what_was_made(
            journey(client, passcode_outbox, email, soft_authenticator)
        )
    hanko, flow_execution = made["through_hanko"], made["through_flow_execution"]
    assert hanko == flow_execution
    assert hanko["passkeys"] and hanko["password"] and hanko["sessions"] == 1
    assert [event[0] for event in hanko["audit"]] == ["login_failure", "user_created"]

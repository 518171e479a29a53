"""TOTP checks of ../shared/spec/security-checks.md §4 E (TO-01 ... TO-05) that the suites
elsewhere do not already prove; docs/security-checks.md maps every check to its tests."""

from __future__ import annotations

import pyotp

from hankoflow.models import OTPSecret
from hankoflow.testing.client import FlowClient


def test_the_secret_is_never_shown_after_enrolment(account_factory, signed_in_client, admin_client):
    secret = pyotp.random_base32()
    account = account_factory("otp@example.com", totp=secret)
    client = signed_in_client(account)
    answers = [client.get("/me").content.decode()]
    flows = FlowClient(client)
    profile = flows.act(
        flows.start("profile"), "register_client_capabilities", {"webauthn_available": False}
    )
    assert profile.state == "profile_init"
    answers.append(str(profile.body))
    row = OTPSecret.objects.get()
    for page in (
        "/admin/hankoflow/otpsecret/",
        f"/admin/hankoflow/otpsecret/{row.pk}/change/",
        f"/admin/auth/user/{account.user_id}/change/",
    ):
        response = admin_client.get(page)
        assert response.status_code == 200, page
        answers.append(response.content.decode())
    assert profile.body["payload"]["user"]["mfa_config"]["auth_app_set_up"] is True
    for text in answers:
        assert secret not in text and secret.lower() not in text
        assert row.secret_encrypted not in text

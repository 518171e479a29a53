# ruff: noqa: F811 (the imported fixtures are parameters by name)
"""PC-06: sending passcodes is limited per email address whatever the client address
(``RATE_LIMITER.PASSCODE_EMAIL_LIMITS``, by default 10 sends in 15 minutes), on top of Hanko's
3 a minute per client address and email address. Every flow path that emails a code spends it
and answers as Hanko's limit does: 429 ``rate_limit_exceeded`` with ``resend_after``."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow.conf import settings as hankoflow_settings
from hankoflow.services import ratelimit
from hankoflow.testing.client import FlowClient
from tests.flows.profile.conftest import profile_session  # noqa: F401 (a fixture)
from tests.flows.test_passcode_send_limit import (  # noqa: F401 (setup_path: a fixture)
    EMAIL,
    PATHS,
    enter,
    setup_path,
)

PASSWORD = "a long enough password"


def from_address(flow_client: FlowClient, number: int) -> None:
    """The next requests come from another client network."""
    flow_client.client.defaults["REMOTE_ADDR"] = f"198.51.100.{number}"


def address_limit(tokens: int, interval: int = 900, per_ip: int = 3) -> dict:
    return {
        "RATE_LIMITER": {
            "PASSCODE_LIMITS": {"TOKENS": per_ip, "INTERVAL": 60},
            "PASSCODE_EMAIL_LIMITS": {"TOKENS": tokens, "INTERVAL": interval},
        }
    }


def assert_address_limited(answer, interval: int = 900) -> None:
    assert answer.status == 429 and answer.state == "passcode_confirmation"
    assert answer.error_code == "rate_limit_exceeded"
    assert set(answer.body["payload"]) == {"resend_after"}
    assert 60 < answer.body["payload"]["resend_after"] <= interval


def test_the_default_is_ten_sends_in_fifteen_minutes():
    limits = hankoflow_settings.RATE_LIMITER.PASSCODE_EMAIL_LIMITS
    assert (limits.TOKENS, limits.INTERVAL) == (10, 900)


@pytest.mark.parametrize("name", list(PATHS))
def test_sends_to_one_address_from_many_client_addresses_stop_at_the_limit(
    flow_client, setup_path, mailoutbox, name
):
    path, _, _ = setup_path(name)
    for number in range(10):
        from_address(flow_client, number)
        assert enter(flow_client, path).status == 200
    sent = len(mailoutbox)
    assert sent >= 10

    from_address(flow_client, 99)  # a fresh client address: Hanko's limit would let it through
    limited = enter(flow_client, path)
    assert_address_limited(limited)
    assert len(mailoutbox) == sent  # no email, no passcode


def test_resend_from_another_client_address_spends_the_address_limit(
    flow_client, setup_path, mailoutbox
):
    path, _, _ = setup_path("login")
    with override_settings(HANKOFLOW=address_limit(2)):
        from_address(flow_client, 1)
        state = enter(flow_client, path)
        assert state.status == 200
        from_address(flow_client, 2)
        state = flow_client.act(state, "resend_passcode")
        assert state.status == 200
        from_address(flow_client, 3)
        limited = flow_client.act(state, "resend_passcode")
    assert_address_limited(limited)


def test_sends_refused_per_client_address_leave_the_address_limit_alone(flow_client, setup_path):
    """Hanko's per-client bucket is asked first: a client it already stops cannot use up the
    person's own budget by trying on."""
    path, _, _ = setup_path("login")
    with override_settings(HANKOFLOW=address_limit(2, per_ip=1)):
        from_address(flow_client, 1)
        assert enter(flow_client, path).status == 200
        for _ in range(5):
            refused = enter(flow_client, path)
            assert refused.status == 429
            assert refused.body["payload"]["resend_after"] <= 60  # the per-client limit's wait
        from_address(flow_client, 2)
        assert enter(flow_client, path).status == 200
        from_address(flow_client, 3)
        assert_address_limited(enter(flow_client, path))


def test_case_variants_of_the_address_share_the_address_limit(flow_client, account_factory):
    account_factory(EMAIL, password=PASSWORD)
    variants = [EMAIL, EMAIL.upper(), f"  {EMAIL.title()} "]
    with override_settings(HANKOFLOW=address_limit(len(variants))):
        for number, variant in enumerate(variants):
            from_address(flow_client, number)
            state = flow_client.act(flow_client.start("login"), "register_client_capabilities", {})
            state = flow_client.act(state, "continue_with_login_identifier", {"email": variant})
            assert flow_client.act(state, "continue_to_passcode_confirmation").status == 200
        from_address(flow_client, 50)
        state = flow_client.act(flow_client.start("login"), "register_client_capabilities", {})
        state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
        assert_address_limited(flow_client.act(state, "continue_to_passcode_confirmation"))


def test_a_switched_off_limiter_does_not_limit_the_address(flow_client, setup_path):
    path, _, _ = setup_path("login")
    settings = address_limit(1)
    settings["RATE_LIMITER"]["ENABLED"] = False
    with override_settings(HANKOFLOW=settings):
        for number in range(4):
            from_address(flow_client, number)
            assert enter(flow_client, path).status == 200


def test_the_profiles_email_verification_spends_the_address_limit(profile_session):
    new = "new@example.com"
    person = profile_session()
    with override_settings(HANKOFLOW=address_limit(1)):
        # Someone else had the one code of this window sent to the address.
        spent = ratelimit.take(ratelimit.Bucket.PASSCODE_EMAIL, ratelimit.passcode_email_key(new))
        assert spent.allowed
        limited = person.act(person.start(), "email_create", {"email": new})
    assert_address_limited(limited)


@pytest.mark.parametrize(
    "variant",
    ["JANE@EXAMPLE.COM", "jane@ｅｘａｍｐｌｅ.com", "ｊａｎｅ@example.com", "jane@EXAMPLE.ＣＯＭ"],
)
def test_unicode_variants_of_an_address_share_its_buckets(variant):
    """Full-width letters fold to ASCII (NFKC), as IDNA maps a domain before mail is sent."""
    assert ratelimit.passcode_email_key(variant) == ratelimit.passcode_email_key(EMAIL)
    assert ratelimit.passcode_key("192.0.2.1", variant) == ratelimit.passcode_key(
        "192.0.2.1", EMAIL
    )

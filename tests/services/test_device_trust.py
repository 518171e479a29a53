"""Device trust: the cookie, its merging and the trust check (flow-api.md §4.5.3, §4.1.3;
platform.md §1.13)."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from hankoflow import clock
from hankoflow.models import TrustedDevice
from hankoflow.services import device_trust, sessions
from hankoflow.services.device_trust import Entry

pytestmark = pytest.mark.django_db

COOKIE = "hanko-device-token"
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
TOKEN = "[A-Za-z0-9_-]{86}=="


def hanko(**overrides):
    return override_settings(HANKOFLOW=overrides)


def request(cookie: str | None = None, name: str = COOKIE):
    """A request as the browser sends it: the cookie header parsed by Django."""
    headers = {"HTTP_COOKIE": f"{name}={cookie}"} if cookie is not None else {}
    return RequestFactory().post("/login", **headers)


def set_cookie(effect: device_trust.DeviceTrustCookie) -> tuple[str, str]:
    """``(value, Set-Cookie line)`` as the response sends them."""
    response = HttpResponse()
    effect.apply_to(response)
    morsel = response.cookies[effect.name]
    return morsel.coded_value, morsel.OutputString()


def trust(account, cookie: str | None = None) -> str:
    """Trust the device for ``account`` and return the new cookie value."""
    value, _ = set_cookie(device_trust.trust(request(cookie), account))
    return value


# --- the cookie ---------------------------------------------------------------------------------


def test_cookie_format_and_attributes(alice):
    value, line = set_cookie(device_trust.trust(request(), alice))
    assert re.fullmatch(f"{alice.pk}:{TOKEN}", value)
    assert len(base64.urlsafe_b64decode(value.partition(":")[2])) == 64
    attributes = [part.strip() for part in line.split(";")]
    assert attributes[0] == f"{COOKIE}={value}"  # not quoted despite the "=" padding
    assert set(attributes[1:]) >= {
        "HttpOnly",
        "Path=/",
        "SameSite=None",
        "Secure",
        "Max-Age=2592000",
    }
    assert not any(part.startswith("Domain") for part in attributes)


def test_cookie_round_trips_through_the_browser(alice):
    value = trust(alice)
    assert device_trust.is_trusted(request(value), alice)


def test_only_the_token_hash_is_stored(alice):
    value = trust(alice)
    token = value.partition(":")[2]
    (row,) = TrustedDevice.objects.filter(account=alice)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(TrustedDevice.objects.values().get())
    assert (
        timedelta(seconds=2592000 - 5) < row.expires_at - clock.now() <= timedelta(seconds=2592000)
    )


def test_tokens_are_random(alice):
    first, second = trust(alice), trust(alice)
    assert first.partition(":")[2] != second.partition(":")[2]


@hanko(MFA={"DEVICE_TRUST_COOKIE_NAME": "trust-me", "DEVICE_TRUST_DURATION": 3600})
def test_configured_name_and_duration(alice):
    effect = device_trust.trust(request(), alice)
    value, line = set_cookie(effect)
    assert effect.name == "trust-me"
    assert "Max-Age=3600" in line
    assert device_trust.is_trusted(request(value, name="trust-me"), alice)
    assert not device_trust.is_trusted(request(value), alice)


@hanko(MFA={"DEVICE_TRUST_DURATION": 0})
def test_zero_duration_stores_nothing(alice):
    value, line = set_cookie(device_trust.trust(request(), alice))
    assert "Max-Age" not in line
    assert not TrustedDevice.objects.exists()
    assert not device_trust.is_trusted(request(value), alice)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("garbage", []),  # too short to be a token
        ("a" * 86 + "==", [Entry(None, "a" * 86 + "==")]),  # legacy bare token
        ("not-a-uuid:" + "a" * 88, []),
        ("00000000-0000-0000-0000-000000000001:", []),
        ("00000000-0000-0000-0000-000000000001:bad token", []),
        (
            "00000000-0000-0000-0000-000000000001:" + "a" * 88 + "|junk|"
            "00000000-0000-0000-0000-000000000002:" + "b" * 86 + "==",
            [
                Entry("00000000-0000-0000-0000-000000000001", "a" * 88),
                Entry("00000000-0000-0000-0000-000000000002", "b" * 86 + "=="),
            ],
        ),
    ],
)
def test_parse_cookie(value, expected):
    assert device_trust.parse_cookie(value) == expected


# --- merging ------------------------------------------------------------------------------------


def test_second_user_goes_first_and_keeps_the_first(alice, bob):
    first = trust(alice)
    merged = trust(bob, first)
    assert re.fullmatch(f"{bob.pk}:{TOKEN}\\|{re.escape(first)}", merged)
    assert device_trust.is_trusted(request(merged), alice)
    assert device_trust.is_trusted(request(merged), bob)


def test_same_user_is_replaced_and_moved_first(alice, bob):
    cookie = trust(bob, trust(alice))
    old_alice = device_trust.parse_cookie(cookie)[1]
    renewed = trust(alice, cookie)
    entries = device_trust.parse_cookie(renewed)
    assert [e.account_id for e in entries] == [str(alice.pk), str(bob.pk)]
    assert entries[0].token != old_alice.token
    # The replaced token is gone server-side too.
    assert TrustedDevice.objects.filter(account=alice).count() == 1
    assert not device_trust.is_trusted(request(f"{alice.pk}:{old_alice.token}"), alice)
    assert device_trust.is_trusted(request(renewed), alice)


@hanko(MFA={"DEVICE_TRUST_MAX_USERS_PER_DEVICE": 3})
def test_at_most_max_users_entries_oldest_dropped(account_factory):
    accounts = [account_factory(f"user{n}@example.com") for n in range(4)]
    cookie = None
    for account in accounts:
        cookie = trust(account, cookie)
    entries = device_trust.parse_cookie(cookie)
    assert [e.account_id for e in entries] == [str(a.pk) for a in reversed(accounts[1:])]
    assert not device_trust.is_trusted(request(cookie), accounts[0])


def test_default_limit_is_20(account_factory):
    cookie = None
    for n in range(22):
        cookie = trust(account_factory(f"user{n}@example.com"), cookie)
    assert len(device_trust.parse_cookie(cookie)) == 20


def test_legacy_token_is_dropped_when_merging(alice, bob):
    legacy = trust(alice).partition(":")[2]
    merged = trust(bob, legacy)
    assert [e.account_id for e in device_trust.parse_cookie(merged)] == [str(bob.pk)]


# --- the trust check ----------------------------------------------------------------------------


def test_no_cookie_no_trust(alice):
    assert not device_trust.is_trusted(request(), alice)


def test_other_users_entry_is_not_honoured(alice, bob):
    cookie = trust(alice)
    assert not device_trust.is_trusted(request(cookie), bob)
    # Alice's token under Bob's id: the token must belong to the account it is listed for.
    forged = f"{bob.pk}:{cookie.partition(':')[2]}"
    assert not device_trust.is_trusted(request(forged), bob)
    assert not device_trust.is_trusted(request(forged), alice)


def test_unknown_token_is_not_trusted(alice):
    assert not device_trust.is_trusted(request(f"{alice.pk}:{'A' * 86}=="), alice)


def test_expired_trust(alice, clock):
    clock.stop()  # measured to the second
    cookie = trust(alice)
    clock.advance(seconds=2592000 - 1)
    assert device_trust.is_trusted(request(cookie), alice)
    clock.advance(seconds=1)
    assert not device_trust.is_trusted(request(cookie), alice)


def test_expired_rows_are_cleaned_up_when_trusting_again(alice, clock):
    trust(alice)
    clock.advance(days=31)
    trust(alice)
    assert TrustedDevice.objects.filter(account=alice).count() == 1


def test_legacy_bare_token(alice, bob):
    token = "L" * 86 + "=="
    TrustedDevice.objects.create(
        account=alice,
        token_hash=device_trust.token_hash(token),
        expires_at=clock.now() + timedelta(days=1),
    )
    assert device_trust.is_trusted(request(token), alice)
    assert not device_trust.is_trusted(request(token), bob)


@hanko(MFA={"DEVICE_TRUST_POLICY": "never"})
def test_policy_never_trusts_nothing(alice):
    token = "N" * 86 + "=="
    TrustedDevice.objects.create(
        account=alice,
        token_hash=device_trust.token_hash(token),
        expires_at=clock.now() + timedelta(days=1),
    )
    assert not device_trust.is_trusted(request(f"{alice.pk}:{token}"), alice)


@pytest.mark.parametrize(
    ("policy", "granted", "expected"),
    [
        ("always", False, True),
        ("always", True, True),
        ("prompt", False, False),
        ("prompt", True, True),
        ("never", False, False),
        ("never", True, False),
    ],
)
def test_wants_cookie(policy, granted, expected):
    with hanko(MFA={"DEVICE_TRUST_POLICY": policy}):
        assert device_trust.wants_cookie(granted=granted) is expected


# --- revocation ---------------------------------------------------------------------------------


def test_revoke_all(alice, bob):
    alice_cookie = trust(alice)
    trust(alice)
    bob_cookie = trust(bob)
    assert device_trust.revoke_all(alice) == 2
    assert not device_trust.is_trusted(request(alice_cookie), alice)
    assert device_trust.is_trusted(request(bob_cookie), bob)


def test_trust_is_revoked_with_the_users_sessions(alice, bob):
    alice_cookie, bob_cookie = trust(alice), trust(bob)
    sessions.issue(alice, amr=["pwd"], env=None, remember_me=None)
    assert sessions.revoke_all(alice) == 1
    assert not device_trust.is_trusted(request(alice_cookie), alice)
    assert device_trust.is_trusted(request(bob_cookie), bob)

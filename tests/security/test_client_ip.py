"""The client's address and trusted proxies (security-checks AU-05).

The address a rate limit, an attempt budget and an audit entry use is ``REMOTE_ADDR`` unless
the peer is a configured proxy; then the right-most hop that is not a trusted proxy. A client
can write any ``X-Forwarded-For`` it likes, so a malformed chain is ignored as a whole, and a
forwarding mode that trusts no proxy, or names a network that does not parse, is a start-up
error rather than a silent no-op or a 500 on every request.
"""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.test import RequestFactory, override_settings

from hankoflow.services.client_ip import client_ip

PROXY = "10.0.0.5"
PROXIES = ["10.0.0.0/24", "2001:db8:1::/64"]


def address(remote: str, xff: str | None = None, real_ip: str | None = None, **ip: object) -> str:
    headers = {}
    if xff is not None:
        headers["HTTP_X_FORWARDED_FOR"] = xff
    if real_ip is not None:
        headers["HTTP_X_REAL_IP"] = real_ip
    request = RequestFactory().get("/", REMOTE_ADDR=remote, **headers)
    with override_settings(HANKOFLOW={"SERVER": {"IP": ip}}):
        return client_ip(request)


@pytest.mark.parametrize(
    ("remote", "xff", "expected"),
    [
        ("203.0.113.7", None, "203.0.113.7"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        (PROXY, "198.51.100.1", PROXY),
        ("::1", "198.51.100.1", "::1"),
    ],
)
def test_by_default_only_the_peer_counts(remote, xff, expected):
    assert address(remote, xff) == expected
    assert address(remote, xff, EXTRACTOR="direct", TRUSTED_PROXIES=PROXIES) == expected


@pytest.mark.parametrize(
    ("remote", "xff", "expected"),
    [
        # the peer is no trusted proxy: its header is the client's own words
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        # one trusted proxy: the hop it saw
        (PROXY, "198.51.100.1", "198.51.100.1"),
        # a client that prepends a spoofed hop gets the address the proxy saw, not the spoof
        (PROXY, "1.2.3.4, 198.51.100.1", "198.51.100.1"),
        # two trusted proxies: the right-most untrusted hop
        (PROXY, "1.2.3.4, 198.51.100.1, 10.0.0.9", "198.51.100.1"),
        ("2001:db8:1::2", "2001:db8:ff::1", "2001:db8:ff::1"),
        # every hop trusted: the peer
        (PROXY, "10.0.0.8, 10.0.0.9", PROXY),
        # no header from a trusted proxy: the peer
        (PROXY, None, PROXY),
        (PROXY, "", PROXY),
    ],
)
def test_forwarded_for_from_trusted_proxies(remote, xff, expected):
    assert address(remote, xff, EXTRACTOR="x_forwarded_for", TRUSTED_PROXIES=PROXIES) == expected


@pytest.mark.parametrize(
    "xff",
    [
        "198.51.100.1, garbage",
        "unknown",
        "198.51.100.1,,10.0.0.9",
        "198.51.100.1:8080",
        "[2001:db8:ff::1]",
        "198.51.100.1\x00",
        "198.51.100.1\r\nX-Injected: 1",
        "1" * 200,
        "fe80::1%" + "e" * 80,
        "<script>",
        "198.51.100.256",
    ],
)
def test_a_malformed_chain_is_ignored_as_a_whole(xff):
    assert address(PROXY, xff, EXTRACTOR="x_forwarded_for", TRUSTED_PROXIES=PROXIES) == PROXY


@pytest.mark.parametrize(
    ("remote", "real_ip", "expected"),
    [
        (PROXY, "198.51.100.1", "198.51.100.1"),
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),
        (PROXY, "not an address", PROXY),
    ],
)
def test_x_real_ip_only_from_trusted_proxies(remote, real_ip, expected):
    got = address(remote, real_ip=real_ip, EXTRACTOR="x_real_ip", TRUSTED_PROXIES=PROXIES)
    assert got == expected


@pytest.mark.parametrize("remote", ["", "garbage", "1" * 100, "127.0.0.1\x00"])
def test_a_garbage_peer_address_is_no_address(remote):
    assert address(remote) == ""


def _client_ip_errors() -> list[str]:
    return [m.id for m in run_checks() if "SERVER.IP" in m.msg]


@pytest.mark.parametrize("extractor", ["x_forwarded_for", "x_real_ip"])
def test_a_forwarding_mode_without_trusted_proxies_fails_the_checks(extractor):
    with override_settings(HANKOFLOW={"SERVER": {"IP": {"EXTRACTOR": extractor}}}):
        assert _client_ip_errors() == ["hankoflow.E008"]


@pytest.mark.parametrize("cidr", ["10.0.0.0/33", "not-a-network", "", "10.0.0.0/8\x00"])
def test_a_trusted_proxy_that_does_not_parse_fails_the_checks(cidr):
    ip = {"EXTRACTOR": "x_forwarded_for", "TRUSTED_PROXIES": ["10.0.0.0/24", cidr]}
    with override_settings(HANKOFLOW={"SERVER": {"IP": ip}}):
        assert _client_ip_errors() == ["hankoflow.E008"]


def test_default_and_configured_settings_pass_the_checks():
    assert _client_ip_errors() == []
    ip = {"EXTRACTOR": "x_forwarded_for", "TRUSTED_PROXIES": PROXIES}
    with override_settings(HANKOFLOW={"SERVER": {"IP": ip}}):
        assert _client_ip_errors() == []

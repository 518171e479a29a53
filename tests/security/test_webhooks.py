"""Webhook callbacks cannot reach our own network however the address is spelled
(security-checks WH-02, WH-03). The address table and the pinned connection are in
tests/services/webhooks/test_network.py; here the spellings an attacker would type, resolved by
the real resolver (numeric forms never leave the machine)."""

from __future__ import annotations

import pytest

from hankoflow.services.webhooks import network

# Each must never come back as an address to call.
LOOPBACK_SPELLINGS = [
    "http://127.0.0.1/",
    "http://2130706433/",  # 127.0.0.1 as one number
    "http://0x7f.1/",  # hex, short form
    "http://0x7f000001/",
    "http://017700000001/",  # octal
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0/",
    "http://0.0.0.0/",
    "http://[::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]/",
    "https://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://10.0.0.1:8080/",
    "http://localhost/",
    "http://localhost./",  # trailing dot
    "http://LOCALHOST:80/",
    "https://user:pass@127.0.0.1/",
    "https://example.com@127.0.0.1/",  # userinfo that looks like a host
    "https://127.0.0.1#@example.com/",
    "https://127.0.0.1%2f@example.com/",
]


@pytest.mark.parametrize("url", LOOPBACK_SPELLINGS)
def test_loopback_and_private_spellings_are_never_called(url):
    try:
        found = network.resolve(url)
    except (network.Refused, OSError):
        return
    pytest.fail(f"{url} would be called at {found[-1]}")


@pytest.mark.parametrize(
    "url",
    [
        "http://[::1",
        "http://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:-1/",
        "javascript:alert(1)",
        "data:text/plain,x",
        "http:///path",
        "",
    ],
)
def test_malformed_callbacks_are_refused_not_crashed(url):
    with pytest.raises((network.Refused, OSError)):
        network.resolve(url)


def test_the_pinned_post_follows_no_redirect_and_has_a_timeout(monkeypatch):
    # The pinned POST is made with redirect=False and retries=False (test_delivery.py runs a
    # real 302); here: the options the pool is asked for.
    seen = {}

    class Pool:
        def __init__(self, host, port, **options):
            seen.update(options, host=host)

        def urlopen(self, method, path, **kwargs):
            seen.update(kwargs)
            raise ConnectionError("stop here")

        def close(self):
            pass

    monkeypatch.setattr(network.urllib3, "HTTPSConnectionPool", Pool)
    monkeypatch.setattr(
        network.socket,
        "getaddrinfo",
        lambda host, port, **kw: [(2, 1, 6, "", ("93.184.215.14", port))],
    )
    with pytest.raises(ConnectionError):
        network.post("https://hooks.example.com/in", b"{}", timeout=2.0)
    assert seen["host"] == "93.184.215.14"
    assert seen["redirect"] is False and seen["retries"] is False
    assert seen["timeout"].total == 2.0
    assert seen["preload_content"] is False  # the answer is read up to MAX_ANSWER_BYTES only

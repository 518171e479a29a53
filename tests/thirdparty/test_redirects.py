"""The redirect allow-list (platform.md §9.3): globs plus the host-boundary check."""

import pytest

from hankoflow.services.thirdparty.redirects import is_allowed, unsafe_reason

PATTERNS = [
    "https://app.example.com/**",
    "https://*.example.org/**",
    "http://localhost:8000/**",
    "http://127.0.0.1:*/**",
    "https://exact.example.net",
]


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com/signed-in",
        "https://app.example.com/a/b?x=1",
        "https://exact.example.net/",  # one trailing slash is ignored
        "https://shop.example.org/x",
        "http://localhost:8000/x",
        "http://127.0.0.1:5173/x",
        "https://exact.example.net",
    ],
)
def test_allowed(url):
    assert is_allowed(url, PATTERNS)


@pytest.mark.parametrize(
    "url",
    [
        "https://app.example.com.evil.net/x",  # host-boundary bypass
        "https://evilapp.example.com/x",
        "http://app.example.com/x",  # scheme must match
        "https://example.org/x",  # *.example.org is not example.org
        "https://badexample.org/x",
        "https://a.b.example.org/x",  # * is one label
        "http://localhost:8001/x",  # static port must match
        "http://127.0.0.1.evil.com:80/x",
        "https://exact.example.net/other",
        "javascript:alert(1)",
        "//app.example.com/x",
        "/relative",
        "https://app.example.com\\@evil.net/",
        "https://app.example.com/x\n",
        "",
    ],
)
def test_refused(url):
    assert not is_allowed(url, PATTERNS)


@pytest.mark.parametrize(
    "pattern",
    [
        "https://*",
        "https://**",
        "**",
        "https://*.com/**",
        "https://app*.example.com/**",
        "ftp://app.example.com",
        "https://app.example.com/",
    ],
)
def test_unsafe_patterns(pattern):
    assert unsafe_reason(pattern)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_safe_patterns(pattern):
    assert unsafe_reason(pattern) is None

"""The HTML pages' security headers: a strict Content-Security-Policy, and pages that need no
more than it allows (no inline script, style or event handler)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from hankoflow.web import files
from hankoflow.web.headers import HANKO_ELEMENTS_STYLE_HASH

TEMPLATES = Path(files.__file__).resolve().parent.parent / "templates" / "hankoflow" / "web"

FLOW_PAGES = [
    "/",  # home
    "/?flow=login",  # preflight: webauthn.js and the <noscript> refresh
    "/?flow=login&nojs=1",  # login_init, rendered after the server-side preflight
    "/?flow=registration&nojs=1",
    "/?flow=nope",  # the "no such flow" message, 404
    "/?flow=profile",  # the profile without a session: what to do, 401
]


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, policy
        parsed[name] = sources
    return parsed


@pytest.mark.django_db
@pytest.mark.parametrize("path", FLOW_PAGES)
def test_flow_pages_carry_a_strict_policy(path):
    response = Client().get(path)
    assert response.status_code in (200, 401, 404)
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]  # the empty data: favicon
    sources = [s for name, values in policy.items() if name != "img-src" for s in values]
    assert set(sources) == {"'self'", "'none'"}
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_a_posted_step_carries_the_policy_too():
    response = Client().post("/", {"flow": "login", "action": "x@y", "csrf_token": "z"})
    assert response.status_code == 403
    assert directives(response)["script-src"] == ["'self'"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/elements/", "/elements/profile/"])
def test_the_elements_page_allows_what_hankos_bundle_needs_and_no_more(path):
    policy = directives(Client().get(path))
    assert policy["script-src"] == ["'self'"]  # the bundle and page.js, no inline script
    assert policy["connect-src"] == ["'self'"]  # the Flow API on this server
    # The bundle's one <style> element, by its hash: no 'unsafe-inline'.
    assert policy["style-src"] == ["'self'", HANKO_ELEMENTS_STYLE_HASH]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", [*FLOW_PAGES, "/elements/", "/elements/profile/"])
def test_pages_have_no_inline_script_or_style(path):
    page = Client().get(path).content.decode()
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert 'type="application/json"' in tag or re.search(r'\bsrc="/[^/]', tag), tag
    assert "<style" not in page
    assert not re.search(r"\sstyle\s*=", page)
    assert not re.search(r"\son[a-z]+\s*=", page)
    assert not re.search(r"javascript:", page, re.IGNORECASE)
    assert '<link rel="stylesheet" href="/hankoflow.css">' in page


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_templates_hold_no_inline_script_or_style(template):
    """Every state the engine can render goes through these templates."""
    text = template.read_text()
    for tag in re.findall(r"<script\b[^>]*>", text):
        assert "src=" in tag, tag
    assert "<style" not in text
    assert not re.search(r"\sstyle\s*=", text)
    assert not re.search(r"\son[a-z]+\s*=", text)


def test_the_stylesheet_is_served():
    client = Client()
    response = client.get("/hankoflow.css")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.content == files.STYLESHEET.read_bytes()
    assert b"--accent" in response.content and b"hanko-auth" in response.content
    again = client.get("/hankoflow.css", HTTP_IF_MODIFIED_SINCE=response["Last-Modified"])
    assert again.status_code == 304
    assert client.post("/hankoflow.css").status_code == 405

"""``?next=`` on the flow page: kept across the steps, followed on success, never off-site."""

from __future__ import annotations

import re

import pytest
from django.test import Client, RequestFactory, override_settings

from hankoflow.web import next_url
from tests.web.test_page import LOGIN_NO_JS, fake_result, form_fields, html, serve

OPEN_REDIRECTS = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/path",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,hi",
    "evil.example",
    "relative/path",
    "/\tevil",
    "/\n/evil.example",
    "http://testserver/protected/",  # same host, but not a relative path
    "",
]


@pytest.mark.parametrize("value", OPEN_REDIRECTS)
def test_unsafe_next_is_dropped(value: str) -> None:
    request = RequestFactory().get("/")
    assert next_url.safe_next(request, value) == ""


@pytest.mark.parametrize("value", ["/protected/", "/a/b?x=1&y=2#top", "/"])
def test_same_site_paths_are_kept(value: str) -> None:
    request = RequestFactory().get("/")
    assert next_url.safe_next(request, value) == value


def test_overlong_next_is_dropped() -> None:
    request = RequestFactory().get("/")
    assert next_url.safe_next(request, "/" + "a" * next_url.MAX_LENGTH) == ""


@pytest.mark.django_db
def test_next_is_kept_in_every_form_and_across_a_post(client: Client) -> None:
    page = html(client.get(LOGIN_NO_JS + "&next=/protected/%3Fa%3D1"))
    forms = re.findall(r"<form .*?</form>", page, flags=re.DOTALL)
    assert forms and all(
        '<input type="hidden" name="next" value="/protected/?a=1">' in form for form in forms
    )
    fields = form_fields(page, "continue_with_login_identifier")
    response = client.post("/", {**fields, "email": "someone@example.com", "next": "/protected/"})
    assert '<input type="hidden" name="next" value="/protected/">' in html(response)


@pytest.mark.django_db
def test_next_is_not_an_input_of_the_action(client: Client, monkeypatch) -> None:
    from tests.web.test_page import spy_on_run

    calls = spy_on_run(monkeypatch)
    page = html(client.get(LOGIN_NO_JS))
    fields = form_fields(page, "continue_with_login_identifier")
    client.post("/", {**fields, "email": "someone@example.com", "next": "/protected/"})
    assert "next" not in calls[-1]["input_data"]


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_unsafe_next_never_reaches_the_page(client: Client, monkeypatch, value: str) -> None:
    serve(monkeypatch, fake_result("success"))
    page = html(client.get("/", {"flow": "login", "next": value}))
    assert "evil.example" not in page
    posted = html(client.post("/", {"flow": "login", "action": "x@y", "next": value}))
    assert "evil.example" not in posted


@pytest.mark.django_db
def test_success_continues_to_next(client: Client, monkeypatch) -> None:
    serve(monkeypatch, fake_result("success"))
    page = html(client.post("/", {"flow": "login", "action": "x@y", "next": "/protected/"}))
    assert '<a class="button" href="/protected/">Continue</a>' in page
    assert "Start again" not in page


@pytest.mark.django_db
@override_settings(LOGIN_REDIRECT_URL="/home/")
def test_success_without_next_continues_to_login_redirect_url(client: Client, monkeypatch) -> None:
    serve(monkeypatch, fake_result("success"))
    page = html(client.get("/", {"flow": "login", "next": "https://evil.example/"}))
    assert '<a class="button" href="/home/">Continue</a>' in page


@pytest.mark.django_db
def test_next_requires_https_when_the_request_is_secure() -> None:
    request = RequestFactory().get("/", secure=True)
    assert next_url.safe_next(request, "/protected/") == "/protected/"
    assert next_url.safe_next(request, "http://testserver/protected/") == ""


@pytest.mark.django_db
def test_start_links_and_no_js_link_keep_next(client: Client) -> None:
    home = html(client.get("/", {"next": "/protected/"}))
    assert 'href="/?flow=login&amp;next=%2Fprotected%2F"' in home
    preflight = html(client.get("/", {"flow": "login", "next": "/protected/"}))
    assert "url=?flow=login&amp;nojs=1&amp;next=%2Fprotected%2F" in preflight


@pytest.mark.django_db
def test_login_url_of_the_demo_points_at_the_page(client: Client) -> None:
    response = client.get("/protected/")
    assert response.status_code == 302
    assert response["Location"] == "/?flow=login&next=/protected/"

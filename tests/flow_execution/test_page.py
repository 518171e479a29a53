"""The small page at /flow/execute/page drives the Flow Execution API with plain HTML forms: a
whole sign-up with no JavaScript, signed in at the end."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client, TestCase

from hankoflow.models import Account

URL = "/flow/execute/page"
EMAIL = "page.user@example.com"
PASSWORD = "correct horse battery"
FLOW_ID = re.compile(r'name="flowId" value="([^"]+)"')


class Browser:
    def __init__(self) -> None:
        self.client = Client()
        self.page = ""

    def open(self, query: str = "", **headers) -> int:
        return self._keep(self.client.get(URL + query, **headers))

    def press(self, action_id: str, **fields) -> int:
        flow_id = FLOW_ID.search(self.page).group(1)
        data = {"flowId": flow_id, "actionId": action_id, **fields}
        with TestCase.captureOnCommitCallbacks(execute=True):
            return self._keep(self.client.post(URL, data))

    def _keep(self, response) -> int:
        self.response = response
        self.page = unescape(response.content.decode())
        return response.status_code

    def heading(self) -> str:
        return re.search(r"<h1>(.*?)</h1>", self.page).group(1)


@pytest.fixture
def browser(db) -> Browser:
    return Browser()


def test_a_whole_sign_up_on_the_page(browser, passcode_outbox):
    assert browser.open("?flowType=REGISTRATION") == 200
    assert browser.heading() == "Create an account"  # the capability prompt answered for us
    assert 'type="email"' in browser.page and 'value="register_login_identifier"' in browser.page
    assert "default-src 'none'" in browser.response["Content-Security-Policy"]
    assert browser.press("register_login_identifier", email=EMAIL) == 200
    assert browser.heading() == "Check your email"
    assert 'autocomplete="one-time-code"' in browser.page
    assert browser.press("verify_passcode", code="000000") == 400
    assert 'data-error-for="code"' in browser.page
    assert browser.press("verify_passcode", code=passcode_outbox(EMAIL)) == 200
    assert browser.press("register_password", new_password=PASSWORD) == 200
    assert browser.press("skip") == 200
    assert 'data-complete="true"' in browser.page
    assert browser.heading() == "Your account is ready"
    assert browser.response.cookies["hanko"].value.count(".") == 2
    assert Account.objects.get(emails__address=EMAIL).user.check_password(PASSWORD)


def test_the_page_speaks_the_requests_language(browser):
    browser.open("?flowType=REGISTRATION", HTTP_ACCEPT_LANGUAGE="de")
    assert browser.heading() == "Konto erstellen"
    assert browser.response["Content-Language"] == "de"
    assert '<html lang="de">' in browser.page


def test_a_replayed_form_says_so_and_offers_a_new_start(browser):
    browser.open()
    stale = browser.page
    browser.press("register_login_identifier", email=EMAIL)
    browser.page = stale
    assert browser.press("register_login_identifier", email=EMAIL) == 409
    assert 'data-error="stale_flow_id"' in browser.page
    assert "?flowType=REGISTRATION" in browser.page


def test_an_unknown_flow_type_is_a_page_too(browser):
    assert browser.open("?flowType=NOPE") == 400
    assert 'data-error="unknown_flow_type"' in browser.page

"""Re-authentication on the server-rendered profile page (``/?flow=profile``): a password change
in a session older than ``PROFILE.REAUTHENTICATION_MAX_AGE`` first shows the login state's form,
then the account page again; the change is made when the person saves it again."""

from __future__ import annotations

import pytest

from hankoflow import names as n
from tests.web.test_page import form_fields, heading, html, state_of

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(autouse=True)
def _still(clock):
    clock.stop()


def post(client, page: str, action: str, **inputs: str) -> str:
    response = client.post("/", {**form_fields(page, action), **inputs})
    assert response.status_code in (200, 400), response.status_code
    return html(response)


def test_a_password_change_in_an_old_session_asks_for_the_password_first(
    signed_in_client, account_factory, clock
) -> None:
    account = account_factory(password=PASSWORD)
    client = signed_in_client(account)
    page = html(client.get("/?flow=profile&nojs=1"))
    assert state_of(page) == n.STATE_PROFILE_INIT
    clock.advance(seconds=601)

    page = post(client, page, n.ACTION_PASSWORD_UPDATE, password=NEW_PASSWORD)
    assert state_of(page) == n.STATE_LOGIN_PASSWORD
    assert heading(page) == "Confirm it’s you"
    assert 'name="password"' in page and NEW_PASSWORD not in page

    page = post(client, page, n.ACTION_PASSWORD_LOGIN, password="not the password")
    assert state_of(page) == n.STATE_LOGIN_PASSWORD

    page = post(client, page, n.ACTION_PASSWORD_LOGIN, password=PASSWORD)
    assert state_of(page) == n.STATE_PROFILE_INIT
    account.user.refresh_from_db()
    assert account.user.check_password(PASSWORD)

    page = post(client, page, n.ACTION_PASSWORD_UPDATE, password=NEW_PASSWORD)
    assert state_of(page) == n.STATE_PROFILE_INIT
    account.user.refresh_from_db()
    assert account.user.check_password(NEW_PASSWORD)


def test_back_on_the_page_returns_to_the_account_page(
    signed_in_client, account_factory, clock
) -> None:
    account = account_factory(password=PASSWORD)
    client = signed_in_client(account)
    page = html(client.get("/?flow=profile&nojs=1"))
    clock.advance(seconds=601)
    page = post(client, page, n.ACTION_PASSWORD_UPDATE, password=NEW_PASSWORD)
    assert state_of(page) == n.STATE_LOGIN_PASSWORD
    page = post(client, page, "back")
    assert state_of(page) == n.STATE_PROFILE_INIT
    account.user.refresh_from_db()
    assert account.user.check_password(PASSWORD)

"""Support work in the Django admin, in Debian's Chromium: open a user, revoke their sessions,
follow one of their flows to its timeline (issue 11, "Tests that prove it").

Before the browser opens, the test makes a superuser, and an account that signs in twice: a
finished login flow through the Flow API (a wrong password, then "forgot password": the emailed
passcode and a new password) that ends in a session, then a session from ``signed_in_client``.
Then a staff member, in the browser:

1. logs in at ``/admin/`` with the login form;
2. finds the user by email on the user list and opens their page: the "Hanko account" section
   counts two active sessions, and its link lists both;
3. runs "Revoke all sessions" from the user list (tick the row, pick the action, Go): the
   message says two, the user's page says none, the database has no live session left;
4. follows "this user's flows" from the user's page to the flow list and opens the flow: the
   timeline shows every step (state before, action, result state, error) and the outcome.

No admin page ever shows a secret the account used (the passwords, the passcode, the session
tokens), and no request answers 4xx/5xx, with no console or page error. Runs on SQLite or
PostgreSQL: it needs Chromium and Playwright, no Redis and no worker (emails go to Django's
outbox).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.support import Traffic, outside_event_loop, screenshot

try:
    from playwright.sync_api import Page, expect
except ImportError:  # reported by the ``browser_page`` fixture (conftest.py)
    expect = None

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ADMIN_USERNAME = "support-root"
ADMIN_PASSWORD = "Staff-Lantern-Orbit-31"
EMAIL = "dana.admin-e2e@example.com"
OLD_PASSWORD = "Amber-Willow-Signal-42"
WRONG_PASSWORD = "Amber-Willow-Signal-43"
NEW_PASSWORD = "Cobalt-Meadow-Ledger-58"
NO_WEBAUTHN = {"webauthn_available": False}

# (state before, action, inputs sent, result state, error) of each step, as the timeline shows it:
# inputs by name, never their values.
TIMELINE = [
    ("-", "(start)", "", "preflight", ""),
    ("preflight", "register_client_capabilities", "webauthn_available", "login_init", ""),
    ("login_init", "continue_with_login_identifier", "email", "login_method_chooser", ""),
    ("login_method_chooser", "continue_to_password_login", "", "login_password", ""),
    ("login_password", "password_login", "password", "login_password", "form_data_invalid_error"),
    (
        "login_password",
        "continue_to_passcode_confirmation_recovery",
        "",
        "passcode_confirmation",
        "",
    ),
    ("passcode_confirmation", "verify_passcode", "code", "login_password_recovery", ""),
    ("login_password_recovery", "password_recovery", "new_password", "success", ""),
]


@dataclass
class Scene:
    user_pk: int
    account_id: str
    flow_id: str
    session_ids: list[str]
    secrets: dict[str, str]  # what must never appear on an admin page, by name


@pytest.fixture
def scene(
    email_auth_settings, account_factory, signed_in_client, passcode_outbox, django_user_model
) -> Scene:
    """The superuser, the account, its two sessions and its finished flow (no browser yet:
    Django refuses ORM calls while Playwright's event loop runs in this thread)."""
    from hankoflow.models import Flow, Session
    from hankoflow.testing.client import FlowClient

    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.org", ADMIN_PASSWORD)
    account = account_factory(EMAIL, password=OLD_PASSWORD)

    flow = FlowClient()
    state = flow.act(flow.start("login"), "register_client_capabilities", NO_WEBAUTHN)
    state = flow.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow.act(state, "continue_to_password_login")
    wrong = flow.act(state, "password_login", {"password": WRONG_PASSWORD})
    assert wrong.status == 400, wrong.body
    state = flow.act(wrong, "continue_to_passcode_confirmation_recovery")
    code = passcode_outbox(EMAIL)
    assert code is not None
    state = flow.act(state, "verify_passcode", {"code": code})
    done = flow.act(state, "password_recovery", {"new_password": NEW_PASSWORD})
    assert done.state == "success", done.body
    flow_token = done.headers.get("X-Auth-Token") or done.cookies["hanko"].value
    # After the flow: the recovery ends the sessions the account had before it.
    client = signed_in_client(account)

    row = Flow.objects.get(user=account.user)
    sessions = Session.objects.filter(account=account).order_by("created_at")
    return Scene(
        user_pk=account.user.pk,
        account_id=str(account.pk),
        flow_id=str(row.pk),
        session_ids=[str(pk) for pk in sessions.values_list("pk", flat=True)],
        secrets={
            "old password": OLD_PASSWORD,
            "wrong password": WRONG_PASSWORD,
            "new password": NEW_PASSWORD,
            "passcode": code,
            "session token": client.session_token,
            "flow's session token": flow_token,
        },
    )


@pytest.fixture
def admin_browser(scene: Scene, browser_page: tuple[Page, Traffic]) -> tuple[Page, Traffic]:
    """``browser_page`` opened after ``scene`` has written its rows (argument order)."""
    return browser_page


def change_page(path: str) -> re.Pattern[str]:
    """The URL of a change page reached from a list (which keeps the list's filters)."""
    return re.compile(rf"{re.escape(path)}(\?_changelist_filters=[^&]*)?$")


class AdminPages:
    """The admin, driven like a person does; keeps every page's HTML for the secrets check."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page = page
        self.base_url = base_url
        self.seen: list[tuple[str, str]] = []  # (path, HTML) of each page loaded

    def keep(self) -> None:
        self.page.wait_for_load_state("domcontentloaded")
        self.seen.append((self.page.url.removeprefix(self.base_url), self.page.content()))

    def goto(self, path: str) -> None:
        response = self.page.goto(f"{self.base_url}{path}")
        assert response is not None and response.status == 200, (path, response)
        self.keep()

    def click_to(self, locator: Any, url: re.Pattern[str]) -> None:
        """Click a link or button and wait for the page it leads to."""
        with self.page.expect_navigation(url=url):
            locator.click()
        self.keep()

    def field(self, name: str) -> Any:
        """The read-only value of field ``name`` on a change page (Django's ``field-<name>``)."""
        return self.page.locator(f".field-{name} .readonly")


def test_support_opens_a_user_revokes_sessions_and_reads_a_flow_timeline(
    admin_browser: tuple[Page, Traffic], scene: Scene, live_server
) -> None:
    page, traffic = admin_browser
    admin = AdminPages(page, live_server.url)
    user_page = change_page(f"/admin/auth/user/{scene.user_pk}/change/")
    assert len(scene.session_ids) == 2, scene.session_ids

    # 1. Log in with Django's admin form.
    admin.goto("/admin/")
    assert page.url.endswith("/admin/login/?next=/admin/"), page.url
    page.get_by_label("Username").fill(ADMIN_USERNAME)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    admin.click_to(page.get_by_role("button", name="Log in"), re.compile(r"/admin/$"))
    expect(page.get_by_role("heading", name="Site administration")).to_be_visible()

    # 2. Find the user by email, open their page: two active sessions, listed behind the link.
    admin.click_to(page.get_by_role("link", name="Users", exact=True), re.compile(r"/user/$"))
    page.locator("#searchbar").fill(EMAIL)
    admin.click_to(page.get_by_role("button", name="Search"), re.compile(r"\?q="))
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text(scene.account_id)
    admin.click_to(page.locator("#result_list tbody tr th a"), user_page)
    account = page.locator("#hankoflow_account-group")
    expect(account.get_by_role("heading", name="Hanko account", exact=True)).to_be_visible()
    expect(admin.field("emails_list")).to_contain_text(f"{EMAIL} (primary): verified")
    expect(admin.field("active_sessions")).to_have_text("2")
    expect(admin.field("last_login_method")).to_contain_text("password")
    admin.click_to(
        admin.field("active_sessions").get_by_role("link"),
        re.compile(rf"/session/\?account__id__exact={scene.account_id}$"),
    )
    for session_id in scene.session_ids:
        expect(page.locator("#result_list")).to_contain_text(session_id)
    expect(page.locator("#result_list tbody tr")).to_have_count(2)

    # 3. Revoke all sessions from the user list: tick the row, pick the action, Go.
    admin.goto(f"/admin/auth/user/?q={EMAIL}")
    page.locator(f"input[name='_selected_action'][value='{scene.user_pk}']").check()
    page.locator("select[name='action']").select_option("revoke_all_sessions")
    admin.click_to(page.get_by_role("button", name="Go"), re.compile(r"/admin/auth/user/"))
    expect(page.locator("ul.messagelist")).to_contain_text("2 session(s) revoked.")
    screenshot(page, "admin-sessions-revoked")

    def live_sessions() -> list[str]:
        from hankoflow import clock
        from hankoflow.models import Session

        rows = Session.objects.filter(account_id=scene.account_id, expires_at__gt=clock.now())
        return [str(pk) for pk in rows.values_list("pk", flat=True)]

    assert outside_event_loop(live_sessions) == []

    admin.goto(f"/admin/auth/user/{scene.user_pk}/change/")
    expect(admin.field("active_sessions")).to_have_text("0")

    # 4. The user's flows, then the flow: its outcome and every step of its timeline.
    admin.click_to(
        admin.field("recent_flows").get_by_role("link", name="this user's flows"),
        re.compile(rf"/admin/hankoflow/flow/\?user__id__exact={scene.user_pk}$"),
    )
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("succeeded")
    admin.click_to(
        rows.get_by_role("link", name=scene.flow_id),
        change_page(f"/admin/hankoflow/flow/{scene.flow_id}/change/"),
    )
    expect(admin.field("outcome")).to_have_text("succeeded")
    expect(admin.field("state")).to_have_text("success")
    expect(admin.field("user_display").get_by_role("link")).to_have_attribute(
        "href", f"/admin/auth/user/{scene.user_pk}/change/"
    )
    steps = admin.field("timeline").locator("tbody tr")
    expect(steps).to_have_count(len(TIMELINE))
    cells = steps.evaluate_all(
        "rows => rows.map((row) => [...row.cells].map((cell) => cell.textContent.trim()))"
    )
    assert [tuple(row[1:6]) for row in cells] == TIMELINE
    assert all(row[6] == "127.0.0.1" for row in cells), cells  # the IP column
    expect(admin.field("emails")).to_contain_text(EMAIL)
    screenshot(page, "admin-flow-timeline")

    # No admin page showed a secret; nothing failed on the way.
    assert len(admin.seen) == 11, [path for path, _ in admin.seen]
    for name, secret in scene.secrets.items():
        # Digit boundaries: a 6-digit passcode may turn up inside a timestamp's microseconds.
        shown = re.compile(rf"(?<![0-9]){re.escape(secret)}(?![0-9])")
        for path, html in admin.seen:
            assert not shown.search(html), f"the {name} is on {path}"
    assert all("/admin/" in request.url for request in traffic.requests), traffic.answered()
    traffic.assert_clean()

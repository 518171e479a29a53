"""Fixtures of the browser tests: the live server on loopback, a recorded Chromium page, the
live server's settings for plain http, and real email delivery (outbox -> Celery worker ->
SMTP sink) for the sign-in tests. Helpers that tests import are in ``support.py``."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connection

from hankoflow.testing.smtp import SinkMessage, SmtpSink
from hankoflow.web.elements_page import elements_bundle_path
from tests.celery_worker import (
    E2E_TEST_BROKER_DB,
    celery_publishing_to,
    celery_worker,
    private_broker_url,
    purge_broker,
    tail,
)
from tests.e2e.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    RECORD_STATE_EVENTS,
    TIMEOUT_MS,
    Traffic,
    origin_of,
    unavailable,
)

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # reported by the ``browser_page`` fixture: skip locally, fail in CI
    sync_playwright = None

MAIL_TIMEOUT = 30.0  # seconds from the step that queued an email to its arrival in the sink


@pytest.fixture
def loopback_server(live_server):
    """pytest-django's live server, checked to listen on the loopback interface only."""
    host = urlsplit(live_server.url).hostname
    assert host in {"localhost", "127.0.0.1"}, live_server.url
    bound = live_server.thread.httpd.socket.getsockname()[0]
    assert ipaddress.ip_address(bound).is_loopback, bound
    assert live_server.thread.httpd.socket.family in (socket.AF_INET, socket.AF_INET6)
    return live_server


@pytest.fixture
def browser_page(loopback_server) -> Iterator[tuple[Page, Traffic]]:
    """A fresh headless Chromium page whose traffic to the live server is being recorded.

    Function-scoped on purpose: Playwright's sync API runs an event loop in this thread while
    it is open, and pytest-django's database teardown must run after it has closed.
    """
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        unavailable(f"{CHROMIUM} is missing: `bin/setup --with-services` installs Chromium")
    if sync_playwright is None:
        unavailable("playwright is not installed: `bin/setup` installs requirements.txt")
    if not elements_bundle_path().is_file():
        unavailable(f"{elements_bundle_path()} is missing: `bin/setup` runs npm install")

    traffic = Traffic(origin=origin_of(loopback_server.url))
    expect.set_options(timeout=TIMEOUT_MS)  # expect() waits 5 s by default
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.set_default_timeout(TIMEOUT_MS)
            context.set_default_navigation_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.add_init_script(RECORD_STATE_EVENTS)
            page.on("request", traffic.on_request)
            page.on("requestfailed", lambda r: traffic.failed.append(f"{r.url}: {r.failure}"))
            page.on("console", traffic.on_console)
            page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
            yield page, traffic
        finally:
            browser.close()


@pytest.fixture
def http_settings(settings, loopback_server) -> dict[str, Any]:
    """The live server's ``HANKOFLOW`` for plain http on its own origin: the session cookie
    without ``Secure``, and the live server's origin as the CORS and WebAuthn origin."""
    origin = origin_of(loopback_server.url)
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,
        "CORS": {"ALLOW_ORIGINS": [origin]},
        "WEBAUTHN": {"RELYING_PARTY": {"ID": "localhost", "ORIGINS": [origin]}},
        "SESSION": {"COOKIE": {"SECURE": False}},
    }
    return settings.HANKOFLOW


# --- real email delivery ------------------------------------------------------------------------


def _require_services() -> None:
    if os.environ.get("HANKOFLOW_TEST_SERVICES") != "1":
        unavailable(
            "needs PostgreSQL + Redis: run bin/test, or bin/services start and "
            'eval "$(bin/services env)"'
        )
    if connection.vendor != "postgresql":
        unavailable(f"needs PostgreSQL (DATABASE_URL), not {connection.vendor}")


@dataclass
class Mailbox:
    """The SMTP sink that a real Celery worker delivers the test database's outbox to."""

    sink: SmtpSink
    worker_log: Path

    def receive(self, to: str, timeout: float = MAIL_TIMEOUT) -> SinkMessage:
        """The next email to ``to`` (successive calls: successive emails)."""
        try:
            return self.sink.wait_for(to, timeout=timeout)
        except AssertionError as error:
            pytest.fail(f"{error}\nworker log:\n{tail(self.worker_log)}", pytrace=False)

    def code(self, to: str, subject: str) -> str:
        """The passcode in the next email to ``to``, whose subject must be ``subject`` with
        ``{code}`` in it (the English templates put the code first)."""
        message = self.receive(to)
        code = message.code
        assert code is not None and code.isdigit() and len(code) == 6, (code, message.text)
        assert message.subject == subject.format(code=code)
        assert message.message["From"] == "Hanko <noreply@hanko.io>"
        assert code in message.html
        return code


@pytest.fixture(scope="session")
def _mail_worker(django_db_setup, tmp_path_factory) -> Iterator[Mailbox]:
    """One SMTP sink and one Celery worker on the test database for the whole run.

    Started once, when a test first asks for it (a worker takes a few seconds to start), and
    stopped before the test database is dropped. Each test uses fresh addresses, so one test's
    emails are never mistaken for another's.
    """
    _require_services()
    broker_url = private_broker_url(E2E_TEST_BROKER_DB)
    purge_broker(broker_url)
    log = tmp_path_factory.mktemp("e2e-worker") / "worker.log"
    with SmtpSink() as sink, celery_worker(email_url=sink.url, broker_url=broker_url, log=log):
        yield Mailbox(sink=sink, worker_log=log)


@pytest.fixture
def mailbox(_mail_worker: Mailbox) -> Iterator[Mailbox]:
    """Real email delivery for this test: the flow step writes the outbox row, this process
    (and its live server) publishes the send task to the private broker instead of running it
    eagerly, the worker sends the email through SMTP, and the test reads it from the sink."""
    with celery_publishing_to(private_broker_url(E2E_TEST_BROKER_DB)):
        yield _mail_worker


@pytest.fixture
def email_auth_settings(http_settings, settings) -> dict[str, Any]:
    """``http_settings`` for the sign-in tests: Hanko's defaults for emails, passcodes and
    passwords, with passkeys and MFA off. Those add onboarding pages after a sign-up or a login
    once they are built (issue 5, with end-to-end tests of their own); here the journey is
    pinned to the email and password states."""
    settings.HANKOFLOW = {
        **settings.HANKOFLOW,
        "PASSKEY": {"ENABLED": False},
        "MFA": {"ENABLED": False},
    }
    return settings.HANKOFLOW

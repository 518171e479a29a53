"""An exception at any boundary of the last sign-up step rolls the whole step back
(security-checks RE-01): no account, email, session, webhook delivery or mail is left behind, and
the same step with the same CSRF token succeeds once the fault is gone. The database outage
itself is in tests/api/test_database_unavailable.py and tests/faults/test_postgres_restart.py."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow.hooks import success
from hankoflow.models import Account, Email, OutboxEmail, Session, WebhookDelivery
from hankoflow.services import audit, passwords, ratelimit

pytestmark = pytest.mark.django_db

EMAIL = "jane@example.com"
PASSWORD = "a long enough password"
NO_WEBAUTHN = {"webauthn_available": False}
EVERYTHING = {"CALLBACK": "http://127.0.0.1:9/hook", "EVENTS": ["user", "session", "email.send"]}


def boom(*args, **kwargs):
    raise RuntimeError("fault injected")


def audit_boom_on(kind: str):
    real = audit.record

    def record(kind_seen, *args, **kwargs):
        if kind_seen == kind:
            raise RuntimeError("fault injected")
        return real(kind_seen, *args, **kwargs)

    return record


BOUNDARIES = {
    # after the user, its email and password rows are written
    "user created": ("audit.record", audit_boom_on(audit.USER_CREATED)),
    "webhook scheduled": ("webhooks.user_changed", boom),
    "user registered signal": ("events.user_registered", boom),
    "credential stored signal": ("events.credential_added", boom),
    # after the session row is written and the token signed
    "session issued": ("webhooks.session_created", boom),
}


def counts() -> dict[str, int]:
    return {
        "accounts": Account.objects.count(),
        "emails": Email.objects.count(),
        "sessions": Session.objects.count(),
        "webhook deliveries": WebhookDelivery.objects.count(),
        "outbox": OutboxEmail.objects.count(),
    }


@pytest.mark.parametrize("boundary", sorted(BOUNDARIES))
def test_a_fault_at_any_boundary_of_sign_up_leaves_nothing(
    flow_client, passcode_outbox, settings, monkeypatch, boundary
):
    settings.HANKOFLOW = {"WEBHOOKS": {"ENABLED": True, "HOOKS": [EVERYTHING]}}
    state = flow_client.start("registration")
    state = flow_client.act(state, "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    last = flow_client.act(state, "register_password", {"new_password": PASSWORD})
    assert "skip" in last.body["actions"], last.body
    before = counts()
    assert before["accounts"] == 0

    target, fault = BOUNDARIES[boundary]
    module_name, attribute = target.split(".")
    monkeypatch.setattr(getattr(success, module_name), attribute, fault)
    failed = flow_client.act(last, "skip")
    assert failed.status == 500 and failed.error_code == "technical_error"
    assert "hanko" not in failed.cookies or not failed.cookies["hanko"].value
    assert counts() == before

    monkeypatch.undo()
    done = flow_client.act(last, "skip")  # the same step, the same CSRF token
    assert done.state == "success", done.body
    after = counts()
    assert after["accounts"] == 1 and after["sessions"] == 1


CACHE_DOWN = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "down": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # discard port: nothing listens
        "OPTIONS": {"socket_connect_timeout": 1},
    },
}


def test_with_the_cache_down_the_accounts_password_budget_still_holds(account_factory, caplog):
    # RE-02 / decision D3: the coarse per-IP limiter fails open, the account's attempt budget
    # lives in the database and keeps counting.
    account = account_factory(EMAIL, password=PASSWORD)
    with override_settings(CACHES=CACHE_DOWN, HANKOFLOW={"RATE_LIMITER": {"CACHE": "down"}}):
        assert ratelimit.take(ratelimit.Bucket.PASSWORD, "probe").allowed  # fails open
        checks = [
            passwords.verify_login(account, "wrong", identifier=EMAIL, ip="203.0.113.7")
            for _ in range(7)
        ]
        right = passwords.verify_login(account, PASSWORD, identifier=EMAIL, ip="203.0.113.7")
    assert "rate limiter cache unavailable" in caplog.text
    assert [c.retry_after is not None and c.retry_after > 0 for c in checks] == [False] * 5 + [
        True
    ] * 2
    assert not right.ok and right.retry_after

"""Delivering: the signed body (verified with the published JWKS), retries with back-off, the
database hooks' failure bookkeeping (platform.md §5.3, §5.5), the sweeper."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import jwt
import pytest
from django.core.management import call_command
from django.test import override_settings

from hankoflow.models import Webhook, WebhookAttempt, WebhookDelivery
from hankoflow.services import webhooks
from hankoflow.services.webhooks import events, network, registry, sources
from tests.services.webhooks.conftest import LOCAL

pytestmark = pytest.mark.django_db

ONE_ATTEMPT = {"WEBHOOKS": {**LOCAL["WEBHOOKS"], "RETRY": {"MAX_ATTEMPTS": 1}}}


def make_hook(callback: str, subscriptions=("user",), **fields) -> Webhook:
    fields.setdefault("expires_at", sources.renewed_expiry())
    return Webhook.objects.create(callback=callback, events=list(subscriptions), **fields)


def emit_one(event: str = events.USER_LOGIN, data=None) -> WebhookDelivery:
    rows = webhooks.emit(event, data if data is not None else {"id": "u1"})
    assert len(rows) == 1
    return rows[0]


def jwks_of(client) -> jwt.PyJWKSet:
    return jwt.PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())


def verify(token: str, client) -> dict:
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwks_of(client)[kid]
    return jwt.decode(token, key.key, algorithms=["RS256"], audience="localhost")


def test_the_body_is_a_jwt_signed_with_the_session_key(
    receiver, client, django_capture_on_commit_callbacks
):
    make_hook(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        row = emit_one(data={"id": "u1", "emails": []})
    [call] = receiver.wait_for(1)
    assert call.headers["Content-Type"] == "application/json"
    assert set(call.body) == {"token", "event"} and call.body["event"] == "user.login"
    claims = verify(call.body["token"], client)
    assert claims["sub"] == "hanko webhooks"
    assert claims["evt"] == "user.login"
    assert claims["data"] == {"id": "u1", "emails": []}
    assert claims["aud"] == ["localhost"]
    assert claims["exp"] - claims["iat"] == 300
    assert "iss" not in claims
    header = jwt.get_unverified_header(call.body["token"])
    assert header["alg"] == "RS256" and header["typ"] == "JWT"
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.SENT and row.attempts == 1
    assert row.last_status_code == 200 and row.sent_at is not None
    [attempt] = row.attempt_log.all()
    assert attempt.status_code == 200 and attempt.latency_ms is not None and attempt.error == ""


def test_the_token_is_signed_at_each_attempt(receiver, clock):
    make_hook(receiver.url)
    receiver.statuses[:] = [500]
    row = emit_one()
    assert webhooks.deliver(str(row.pk)).outcome == "retry"
    clock.advance(seconds=600)
    assert webhooks.deliver(str(row.pk)).outcome == "sent"
    first, second = (jwt.decode(c.body["token"], options={"verify_signature": False})
                     for c in receiver.wait_for(2))  # fmt: skip
    assert second["iat"] - first["iat"] >= 600
    assert "token" not in str(WebhookDelivery.objects.get(pk=row.pk).data)


def test_a_failure_is_retried_with_doubling_delays_then_fails(receiver, clock):
    hook = make_hook(receiver.url)
    receiver.statuses[:] = [500] * 10
    row = emit_one()
    delays = []
    retry = {"MAX_ATTEMPTS": 4, "BASE_DELAY": 30}
    with override_settings(HANKOFLOW={"WEBHOOKS": {**LOCAL["WEBHOOKS"], "RETRY": retry}}):
        for _ in range(3):
            result = webhooks.deliver(str(row.pk))
            assert result.outcome == "retry"
            delays.append(result.retry_in)
            # Not due yet: nothing happens.
            assert webhooks.deliver(str(row.pk)).outcome == "skipped"
            clock.advance(seconds=result.retry_in)
        assert webhooks.deliver(str(row.pk)).outcome == "failed"
    assert delays == [30, 60, 120]
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.FAILED and row.attempts == 4
    assert row.last_status_code == 500 and row.last_error == "HTTP 500"
    assert WebhookAttempt.objects.filter(delivery=row).count() == 4
    hook.refresh_from_db()
    assert hook.failures == 1 and hook.enabled  # one failed delivery


def test_retry_after_a_500_succeeds_and_resets_the_hook(receiver, clock):
    hook = make_hook(receiver.url, failures=3, expires_at=clock.now() + timedelta(days=1))
    receiver.statuses[:] = [500]
    row = emit_one()
    assert webhooks.deliver(str(row.pk)).outcome == "retry"
    clock.advance(seconds=30)
    assert webhooks.deliver(str(row.pk)).outcome == "sent"
    hook.refresh_from_db()
    assert hook.failures == 0
    assert hook.expires_at > clock.now() + timedelta(days=29)


def test_the_sixth_failed_delivery_disables_the_hook(receiver):
    hook = make_hook(receiver.url)
    receiver.statuses[:] = [404] * 20
    with override_settings(HANKOFLOW=ONE_ATTEMPT):
        for number in range(1, 7):
            assert webhooks.deliver(str(emit_one().pk)).outcome == "failed"
            hook.refresh_from_db()
            assert hook.failures == number
            assert hook.enabled is (number <= 5)
        # A disabled hook gets no more deliveries.
        assert webhooks.emit(events.USER_LOGIN, {}) == []


def test_pending_deliveries_of_a_disabled_hook_are_closed_unsent(receiver):
    hook = make_hook(receiver.url)
    row = emit_one()
    Webhook.objects.filter(pk=hook.pk).update(enabled=False)
    assert webhooks.deliver(str(row.pk)).outcome == "failed"
    row.refresh_from_db()
    assert row.attempts == 0 and "disabled" in row.last_error
    assert receiver.received == []


def test_three_xx_counts_as_success_and_is_not_followed(receiver):
    make_hook(receiver.url)
    receiver.statuses[:] = [302]
    row = emit_one()
    assert webhooks.deliver(str(row.pk)).outcome == "sent"
    assert len(receiver.wait_for(1)) == 1


def test_a_private_target_is_refused_without_the_setting(receiver):
    hook = make_hook(receiver.url)
    row = emit_one()
    with override_settings(HANKOFLOW={"WEBHOOKS": {"ALLOW_PRIVATE_NETWORKS": False}}):
        assert webhooks.deliver(str(row.pk)).outcome == "failed"  # no retry: it cannot help
    row.refresh_from_db()
    assert row.attempts == 1 and row.last_error.startswith("refused:")
    assert "loopback address 127.0.0.1" in row.last_error
    assert receiver.received == []
    hook.refresh_from_db()
    assert hook.failures == 1


def test_a_closed_port_is_a_retryable_failure(clock):
    make_hook("http://127.0.0.1:9/hook")
    with override_settings(HANKOFLOW={"WEBHOOKS": {"ALLOW_PRIVATE_NETWORKS": True}}):
        row = emit_one()
        result = webhooks.deliver(str(row.pk))
    assert result.outcome == "retry" and result.retry_in == 30
    row.refresh_from_db()
    assert row.last_status_code is None and "Error" in row.last_error


def test_the_sweeper_and_the_command_send_what_is_due(receiver, clock):
    make_hook(receiver.url)
    row = emit_one()
    assert webhooks.sweep().sent == 0  # too fresh: left to its task
    clock.advance(seconds=webhooks.SWEEP_AFTER)
    out = StringIO()
    call_command("hankoflow_send_webhooks", stdout=out)
    assert out.getvalue().strip() == "sent 1, to retry 0, failed 0, skipped 0"
    row.refresh_from_db()
    assert row.status == WebhookDelivery.Status.SENT


def test_requeue_gives_a_failed_delivery_another_attempt(receiver):
    make_hook(receiver.url)
    receiver.statuses[:] = [500]
    with override_settings(HANKOFLOW=ONE_ATTEMPT):
        row = emit_one()
        assert webhooks.deliver(str(row.pk)).outcome == "failed"
    row.refresh_from_db()
    assert webhooks.requeue(row)
    assert webhooks.deliver(str(row.pk)).outcome == "sent"
    row.refresh_from_db()
    assert row.attempts == 2 and row.status == WebhookDelivery.Status.SENT


def test_the_retry_delay_doubles_and_is_capped():
    assert [webhooks.retry_delay(n) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert webhooks.retry_delay(20) == 3600


def test_network_post_connects_to_the_checked_address(monkeypatch, receiver):
    # The name resolves once, to the receiver; the request carries the name in Host.
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])
    calls = []
    real = network.socket.getaddrinfo

    def counting(host, *args, **kwargs):
        calls.append(host)
        return real("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(network.socket, "getaddrinfo", counting)
    answer = network.post(f"http://hooks.example.test:{port}/x", b"{}", timeout=5)
    assert answer.status_code == 200
    # urllib3 "resolves" the literal address it was given; the name is looked up only once.
    assert calls == ["hooks.example.test", "127.0.0.1"]
    [call] = receiver.wait_for(1)
    assert call.headers["Host"] == f"hooks.example.test:{port}"


def test_a_corrected_callback_applies_to_pending_retries(receiver, clock):
    hook = make_hook("http://127.0.0.1:9/wrong")
    row = emit_one()
    assert webhooks.deliver(str(row.pk)).outcome == "retry"
    registry.replace(hook, callback=receiver.url, events=["user"], enabled=True)
    clock.advance(seconds=30)
    assert webhooks.deliver(str(row.pk)).outcome == "sent"
    row.refresh_from_db()
    assert row.callback == receiver.url
    assert len(receiver.wait_for(1)) == 1

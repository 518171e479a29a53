"""The webhook pages: hooks (add, edit, enable, disable, send a test event) and deliveries with
their attempts (read-only, retry now)."""

from __future__ import annotations

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import override_settings

from hankoflow.models import Webhook, WebhookAttempt, WebhookDelivery
from hankoflow.services.webhooks import payloads, registry
from tests.webhook_receiver import webhook_receiver

HOOKS = "/admin/hankoflow/webhook/"
DELIVERIES = "/admin/hankoflow/webhookdelivery/"
LOCAL = {"WEBHOOKS": {"ALLOW_PRIVATE_NETWORKS": True}}


def action(client, url: str, name: str, pks):
    return client.post(
        url, {"action": name, ACTION_CHECKBOX_NAME: [str(pk) for pk in pks]}, follow=True
    )


def test_add_and_edit_a_hook(admin_client):
    answer = admin_client.post(
        f"{HOOKS}add/",
        {"callback": "https://hooks.example.com/", "events": ["user", "email.send"],
         "enabled": "on"},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:2000]
    hook = Webhook.objects.get()
    assert hook.events == ["user", "email.send"] and hook.enabled and hook.failures == 0
    Webhook.objects.filter(pk=hook.pk).update(failures=3)
    answer = admin_client.post(
        f"{HOOKS}{hook.pk}/change/",
        {"callback": "https://other.example.com/", "events": ["session"]},
    )
    assert answer.status_code == 302
    hook.refresh_from_db()
    assert (hook.callback, hook.events, hook.enabled, hook.failures) == (
        "https://other.example.com/", ["session"], False, 0
    )  # fmt: skip
    assert "https://other.example.com/" in admin_client.get(HOOKS).content.decode()


def test_invalid_hooks_are_refused(admin_client):
    answer = admin_client.post(
        f"{HOOKS}add/", {"callback": "ftp://hooks.example.com/", "events": ["nope"]}
    )
    assert answer.status_code == 200  # the form again, with its errors
    page = answer.content.decode()
    assert "Only http and https callbacks" in page and "nope" in page
    assert not Webhook.objects.exists()


def test_enable_and_disable(admin_client):
    hook = registry.create("https://hooks.example.com/", ["user"])
    action(admin_client, HOOKS, "disable", [hook.pk])
    hook.refresh_from_db()
    assert not hook.enabled
    Webhook.objects.filter(pk=hook.pk).update(failures=6)
    action(admin_client, HOOKS, "enable", [hook.pk])
    hook.refresh_from_db()
    assert hook.enabled and hook.failures == 0


def test_send_a_test_event(admin_client, django_capture_on_commit_callbacks):
    with webhook_receiver() as receiver, override_settings(HANKOFLOW=LOCAL):
        hook = registry.create(receiver.url, ["user.login"])
        with django_capture_on_commit_callbacks(execute=True):
            answer = action(admin_client, HOOKS, "send_test_event", [hook.pk])
        assert "1 test event(s) queued" in answer.content.decode()
        [call] = receiver.wait_for(1)
    assert call.body["event"] == "webhook.test"
    [row] = WebhookDelivery.objects.all()
    assert row.status == "sent" and row.webhook == hook


def test_deliveries_show_attempts_and_never_a_sealed_payload(admin_client, account_factory):
    hook = registry.create("https://hooks.example.com/", ["user"])
    row = WebhookDelivery.objects.create(
        webhook=hook, callback=hook.callback, event="email.send",
        data=payloads.seal({"data": {"otp_code": "314159"}}), status="failed", attempts=1,
        last_status_code=502, last_error="HTTP 502",
    )  # fmt: skip
    WebhookAttempt.objects.create(delivery=row, status_code=502, latency_ms=12, error="HTTP 502")
    listing = admin_client.get(DELIVERIES).content.decode()
    assert "HTTP 502" in listing
    page = admin_client.get(f"{DELIVERIES}{row.pk}/change/").content.decode()
    assert "314159" not in page and "sealed" in page
    assert "12" in page and "502" in page
    assert 'name="_save"' not in page  # read-only
    assert admin_client.get(f"{DELIVERIES}add/").status_code == 403


def test_retry_now(admin_client, django_capture_on_commit_callbacks):
    with webhook_receiver() as receiver, override_settings(HANKOFLOW=LOCAL):
        hook = registry.create(receiver.url, ["user"])
        row = WebhookDelivery.objects.create(
            webhook=hook, callback=hook.callback, event="user.login", data={"id": "x"},
            status="failed", attempts=6,
        )  # fmt: skip
        with django_capture_on_commit_callbacks(execute=True):
            action(admin_client, DELIVERIES, "retry_now", [row.pk])
        receiver.wait_for(1)
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 7


def test_a_viewer_sees_but_cannot_act(viewer_client):
    hook = registry.create("https://hooks.example.com/", ["user"])
    assert viewer_client.get(HOOKS).status_code == 200
    action(viewer_client, HOOKS, "disable", [hook.pk])
    hook.refresh_from_db()
    assert hook.enabled

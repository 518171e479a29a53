"""Admin API webhooks (platform.md §4.3.10, §1.17), every answer validated against
openapi-admin.yaml with hankoflow's corrections."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from hankoflow.models import Webhook, WebhookDelivery
from hankoflow.services import webhooks
from hankoflow.services.webhooks import events

URL = "/admin-api/webhooks"
H = "http://h.example.com"
HOOK = {"callback": "https://hooks.example.com/hanko", "events": ["user", "session.delete"]}


def create(api, body=HOOK):
    return api.post(URL, body, content_type="application/json")


def test_create_then_read_list_replace_delete(admin_api):
    api = admin_api()
    created = create(api)
    assert created.status_code == 201
    body = created.json()
    assert set(body) == {"id", "callback", "enabled", "failures", "expires_at", "events",
                         "created_at", "updated_at"}  # fmt: skip
    assert uuid.UUID(body["id"]).version == 4
    assert body["callback"] == HOOK["callback"] and body["enabled"] is True
    assert body["failures"] == 0
    assert [e["event"] for e in body["events"]] == ["user", "session.delete"]
    hook = Webhook.objects.get(pk=body["id"])
    assert hook.expires_at > timezone.now() + timedelta(days=29)

    read = api.get(f"{URL}/{body['id']}")
    assert read.status_code == 200 and read.json() == body

    listed = api.get(URL).json()
    assert listed == {"database": [body], "config": []}

    Webhook.objects.filter(pk=hook.pk).update(failures=4, expires_at=timezone.now())
    replaced = api.put(
        f"{URL}/{body['id']}",
        {"callback": "https://other.example.com/", "events": ["email.send"], "enabled": False},
        content_type="application/json",
    )
    assert replaced.status_code == 200
    after = replaced.json()
    assert after["callback"] == "https://other.example.com/" and after["enabled"] is False
    assert [e["event"] for e in after["events"]] == ["email.send"]
    assert after["failures"] == 0
    hook.refresh_from_db()
    assert hook.expires_at > timezone.now() + timedelta(days=29)

    assert api.delete(f"{URL}/{body['id']}").status_code == 204
    assert not Webhook.objects.exists()
    missing = api.get(f"{URL}/{body['id']}")
    assert missing.status_code == 404
    assert missing.json() == {"code": 404, "message": "unable to find webhook with id: %s"}


def test_a_put_re_enables_a_disabled_hook(admin_api):
    api = admin_api()
    hook_id = create(api).json()["id"]
    Webhook.objects.filter(pk=hook_id).update(enabled=False, failures=6)
    body = {**HOOK, "enabled": True}
    answer = api.put(f"{URL}/{hook_id}", body, content_type="application/json").json()
    assert answer["enabled"] is True and answer["failures"] == 0


def test_all_28_events_are_accepted_and_event_ids_are_stable(admin_api):
    api = admin_api()
    body = create(api, {"callback": "http://h.example.com/", "events": list(events.SUBSCRIPTIONS)})
    assert body.status_code == 201
    first = body.json()["events"]
    assert len(first) == 28 and len({e["id"] for e in first}) == 28
    assert api.get(f"{URL}/{body.json()['id']}").json()["events"] == first


def test_duplicate_events_are_stored_once(admin_api):
    body = create(admin_api(), {"callback": "http://h.example.com/", "events": ["user", "user"]})
    assert [e["event"] for e in body.json()["events"]] == ["user"]


def test_config_hooks_are_listed_even_when_disabled(admin_api):
    configured = {"CALLBACK": "https://config.example.com/", "EVENTS": ["user.login"]}
    with override_settings(HANKOFLOW={"WEBHOOKS": {"ENABLED": False, "HOOKS": [configured]}}):
        listed = admin_api().get(URL).json()
    assert listed == {
        "database": [],
        "config": [{"callback": "https://config.example.com/", "events": ["user.login"]}],
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": ["user"]}, "callback is a required field"),
        ({"callback": "", "events": ["user"]}, "callback is a required field"),
        ({"callback": "not a url", "events": ["user"]}, "callback must be a valid URL"),
        ({"callback": "ftp://h.example.com/", "events": ["user"]}, "callback must be a valid URL"),
        ({"callback": H + ":x/", "events": ["user"]}, "callback must be a valid URL"),
        ({"callback": 7, "events": ["user"]}, "callback must be a valid URL"),
        ({"callback": "http://h.example.com/"}, "events is a required field"),
        ({"callback": H, "events": []}, "events must contain at least 1 item"),
        ({"callback": "http://h.example.com/", "events": "user"}, "events must be an array"),
        ({"callback": "http://h.example.com/", "events": ["users"]},
         "events[0] must be a valid webhook event"),
        ({"callback": "http://h.example.com/", "events": ["user", 3]},
         "events[1] must be a valid webhook event"),
    ],
)  # fmt: skip
def test_invalid_bodies_are_400(admin_api, body, message):
    answer = create(admin_api(), body)
    assert answer.status_code == 400
    assert answer.json() == {"code": 400, "message": message}
    assert not Webhook.objects.exists()


def test_malformed_json_and_non_objects_are_400(admin_api):
    api = admin_api()
    assert api.post(URL, "{", content_type="application/json").status_code == 400
    assert api.post(URL, "[]", content_type="application/json").status_code == 400


def test_put_needs_enabled(admin_api):
    api = admin_api()
    hook_id = create(api).json()["id"]
    answer = api.put(f"{URL}/{hook_id}", HOOK, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["message"] == "enabled is a required field"
    bad = api.put(f"{URL}/{hook_id}", {**HOOK, "enabled": "yes"}, content_type="application/json")
    assert bad.json()["message"] == "enabled must be a boolean"


@pytest.mark.parametrize("hook_id", ["nope", "00000000-0000-1000-8000-000000000000", "1" * 300])
@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_ids_must_be_uuid_v4(admin_api, hook_id, method):
    answer = getattr(admin_api(), method)(f"{URL}/{hook_id}", content_type="application/json")
    assert answer.status_code == 400
    assert answer.json() == {"code": 400, "message": "webhook id must be a valid uuid4"}


@pytest.mark.parametrize("method", ["put", "delete"])
def test_unknown_ids_are_404(admin_api, method):
    body = {**HOOK, "enabled": True}
    answer = getattr(admin_api(), method)(
        f"{URL}/{uuid.uuid4()}", body, content_type="application/json"
    )
    assert answer.status_code == 404


def test_a_read_key_reads_but_cannot_write(admin_api):
    create(admin_api())
    reader = admin_api("read")
    assert reader.get(URL).status_code == 200
    assert create(reader).status_code == 403


def test_without_a_key_401(client):
    assert client.get(URL).status_code == 401


def test_a_hook_made_here_receives_events_at_once(admin_api, account_factory):
    hook_id = create(admin_api()).json()["id"]
    webhooks.user_changed(events.USER_LOGIN, account_factory())
    [row] = WebhookDelivery.objects.all()
    assert str(row.webhook_id) == hook_id and row.event == "user.login"


def test_deleting_a_hook_deletes_its_deliveries(admin_api, account_factory):
    api = admin_api()
    hook_id = create(api).json()["id"]
    webhooks.user_changed(events.USER_LOGIN, account_factory())
    assert api.delete(f"{URL}/{hook_id}").status_code == 204
    assert not WebhookDelivery.objects.exists()

"""API keys guard the admin API (platform.md §4.1)."""

from __future__ import annotations

import json

import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from hankoflow import clock
from hankoflow.api.admin.base import AdminView
from hankoflow.models import ApiKey
from hankoflow.services import api_keys


class Probe(AdminView):
    def get(self, request):
        return Response({"key": request.auth.name})

    def post(self, request):
        return Response({"changed": True})


def call(method: str, header: str | None):
    headers = {"HTTP_AUTHORIZATION": header} if header is not None else {}
    request = getattr(APIRequestFactory(), method)("/probe", **headers)
    return Probe.as_view()(request)


def test_keys_are_stored_as_digests_only(db):
    new = api_keys.create("billing", scope=api_keys.FULL)
    row = ApiKey.objects.get(pk=new.key.pk)
    assert new.plaintext.startswith("hfk_") and len(new.plaintext) >= 40
    assert new.plaintext not in (row.key_hash, row.prefix, row.name)
    assert row.key_hash == api_keys.digest(new.plaintext)
    assert new.plaintext.startswith(row.prefix)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer hfk_wrong",
        "Bearer not-a-key",
        "Bearer hfk_" + "x" * 5000,
    ],
)
def test_requests_without_a_valid_key_get_hankos_401(db, header):
    response = call("get", header)
    assert response.status_code == 401
    assert json.loads(response.content) == {"code": 401, "message": "Unauthorized"}


def test_a_valid_key_passes_and_its_use_is_recorded(db):
    new = api_keys.create("billing")
    response = call("get", f"Bearer {new.plaintext}")
    assert response.status_code == 200
    new.key.refresh_from_db()
    assert new.key.last_used_at is not None and new.key.last_used_at <= clock.now()


def test_a_revoked_key_is_refused(db):
    new = api_keys.create("billing")
    assert api_keys.revoke(new.key)
    assert call("get", f"Bearer {new.plaintext}").status_code == 401
    assert not api_keys.revoke(new.key)


def test_a_read_key_cannot_change_anything(db):
    read, full = api_keys.create("r"), api_keys.create("f", scope=api_keys.FULL)
    assert call("post", f"Bearer {read.plaintext}").status_code == 403
    assert call("post", f"Bearer {full.plaintext}").status_code == 200


# --- through the mounted API (every answer checked against openapi-admin.yaml) ---------------


@pytest.mark.parametrize("header", [None, "Bearer hfk_wrong", "Basic abc"])
def test_the_mounted_api_answers_hankos_401(admin_api, header):
    from django.test import Client

    headers = {"Authorization": header} if header else {}
    response = Client(headers=headers).get("/admin-api/users")
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


def test_each_key_has_its_own_rate_limit(admin_api, settings):
    settings.HANKOFLOW = {
        **getattr(settings, "HANKOFLOW", {}),
        "ADMIN_API": {"RATE_LIMIT": {"TOKENS": 2, "INTERVAL": 60}},
    }
    limited, other = admin_api("read"), admin_api("read")
    assert limited.get("/admin-api/users").status_code == 200
    assert limited.get("/admin-api/users").status_code == 200
    refused = limited.get("/admin-api/users")
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": "Too Many Requests"}
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert other.get("/admin-api/users").status_code == 200

"""Every route of a user's resources and of the sessions needs an API key (security-checks
AD-01), and a read-only key changes nothing (AD-03), whatever the ids."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from hankoflow.api.admin import sessions, user_resources
from hankoflow.services import api_keys

pytestmark = pytest.mark.django_db

CHANGES = ("post", "put", "patch", "delete")


def routes() -> list[tuple[str, str]]:
    found = []
    for pattern in [*user_resources.urlpatterns, *sessions.urlpatterns]:
        view = pattern.callback.view_class
        path = "/admin-api/" + str(pattern.pattern)
        for name in ("user_id", "email_id", "session_id", "credential_id"):
            path = path.replace(f"<str:{name}>", str(uuid.uuid4()))
        found += [(method, path) for method in ("get", *CHANGES) if hasattr(view, method)]
    return found


ROUTES = routes()


def test_every_operation_is_routed():
    assert len(ROUTES) == 19  # openapi-admin.yaml's operations on these paths


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("header", [None, "Bearer hfk_wrong", "Basic x"])
def test_without_a_valid_key_401(method, path, header):
    headers = {"Authorization": header} if header else {}
    client = Client(headers=headers)
    if method == "get":
        response = client.get(path)
    else:
        response = getattr(client, method)(path, "{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {"code": 401, "message": "Unauthorized"}


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] in CHANGES])
def test_a_read_key_is_refused_every_change(admin_api, method, path):
    client = admin_api(api_keys.READ)
    response = getattr(client, method)(path, "{}", content_type="application/json")
    assert response.status_code == 403

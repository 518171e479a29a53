"""Every legacy route answers 404 while ``LEGACY_API.ENABLED`` is off (the default), even with
a session, and the routes that existed before stay as they were."""

from __future__ import annotations

import pytest

from hankoflow.api.public.legacy import urls
from hankoflow.conf import settings as hankoflow_settings

ROUTES = [
    (
        method,
        "/"
        + str(pattern.pattern).replace("<str:email_id>", "x").replace("<str:credential_id>", "x"),
    )
    for pattern in urls.urlpatterns
    for method in ("get", "post", "put", "patch", "delete")
    if method.upper() in pattern.callback.view_class().allowed_methods and method != "options"
]


def test_the_routes_are_listed():
    assert len(ROUTES) == 19  # the 19 operations of platform.md §3.3 this module serves


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_off_by_default_every_route_is_404(method, path, signed_in_client, settings):
    settings.HANKOFLOW = {**settings.HANKOFLOW, "ACCOUNT": {"ALLOW_DELETION": True}}
    assert hankoflow_settings.LEGACY_API.ENABLED is False

    response = getattr(signed_in_client(), method)(path, {}, content_type="application/json")

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "Not Found"}


def test_existing_routes_stay(legacy, signed_in_client):
    client = signed_in_client()

    assert client.get("/me").json()["id"] == str(client.account.pk)
    assert client.get(f"/users/{client.account.pk}").status_code == 200

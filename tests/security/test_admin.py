"""The admin API and the Django admin (security-checks AD-01, AD-02, AD-04, AD-05, AD-06, AD-07).

Every route is found by walking Django's resolver, so a route added later without the API-key
authentication fails here rather than shipping open.
"""

from __future__ import annotations

import json
import logging
import uuid

import pytest
from django.contrib import admin as django_admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from hankoflow.api.admin.base import AdminView
from hankoflow.api.public.health import AliveView, ReadyView
from hankoflow.models import Account, ApiKey, AuditLogEntry, Webhook
from hankoflow.services import api_keys, sessions

pytestmark = pytest.mark.django_db

ID_PARAMETERS = ("user_id", "email_id", "session_id", "credential_id", "hook_id", "invitation_id")
METHODS = ("get", "post", "put", "patch", "delete")
PASSWORD = "correct horse battery staple"


def _walk(patterns, prefix: str = "/"):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.callback


def admin_routes() -> list[tuple[str, str]]:
    """(method, path) of every admin-API view the project routes, ids filled in."""
    found = []
    for route, callback in _walk(get_resolver().url_patterns):
        view = getattr(callback, "view_class", None)
        if view is None or not issubclass(view, AdminView):
            continue
        if issubclass(view, AliveView | ReadyView):
            continue  # the public health probes, mounted here too: no key by design
        path = route
        for name in ID_PARAMETERS:
            path = path.replace(f"<str:{name}>", str(uuid.uuid4()))
        assert "<" not in path, f"unknown parameter in {route}"
        found += [(method, path) for method in METHODS if hasattr(view, method)]
    return found


ROUTES = admin_routes()


def call(method: str, path: str, **kwargs):
    client = Client(**kwargs)
    if method == "get":
        return client.get(path)
    return getattr(client, method)(path, "{}", content_type="application/json")


def test_the_walk_finds_every_admin_resource():
    paths = {path.split("/")[2] for _, path in ROUTES}
    assert {"", "users", "sessions", "audit_logs", "webhooks", "invitations"} <= paths
    assert len(ROUTES) >= 30


# --- AD-01: every admin route needs a valid key ------------------------------------------------


@pytest.fixture
def revoked_key(db) -> str:
    new = api_keys.create("gone", scope=api_keys.FULL)
    api_keys.revoke(new.key)
    return new.plaintext


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_refuses_a_missing_malformed_or_revoked_key(method, path, revoked_key):
    headers = [
        None,
        "Bearer",
        "Bearer hfk_",
        "Bearer hfk_" + "A" * 43,
        "Bearer " + revoked_key,
        "Basic " + revoked_key,
        "Token " + revoked_key,
        "Bearer hfk_\x00",
        "Bearer " + "x" * 5000,
    ]
    for header in headers:
        response = call(method, path, headers={"Authorization": header} if header else {})
        assert response.status_code == 401, (header, response.content)
        assert response.json() == {"code": 401, "message": "Unauthorized"}


# --- AD-02: keys: digest only, shown once, only in the header, never echoed --------------------


def test_a_key_is_256_random_bits_stored_as_a_digest():
    one, two = api_keys.create("a"), api_keys.create("b")
    assert one.plaintext != two.plaintext
    assert len(one.plaintext) == len("hfk_") + 43  # 32 bytes, base64url
    stored = ApiKey.objects.get(pk=one.key.pk)
    values = [str(getattr(stored, f.attname)) for f in ApiKey._meta.concrete_fields]
    assert one.plaintext not in " ".join(values)
    assert stored.key_hash == api_keys.digest(one.plaintext)
    assert one.plaintext.startswith(stored.prefix)


@pytest.mark.parametrize("name", ["api_key", "key", "access_token", "token", "authorization"])
def test_a_key_in_the_query_string_is_refused(name):
    key = api_keys.create("q", scope=api_keys.FULL).plaintext
    response = Client().get(f"/admin-api/users?{name}={key}")
    assert response.status_code == 401


def test_the_key_is_never_echoed_or_logged(caplog, account_factory):
    caplog.set_level(logging.DEBUG)
    new = api_keys.create("echo", scope=api_keys.FULL)
    client = Client(headers={"Authorization": f"Bearer {new.plaintext}"})
    account = account_factory("audited@example.com")
    bodies = [
        client.get("/admin-api/users").content,
        client.patch(
            f"/admin-api/users/{account.pk}",
            {"username": "audited"},
            content_type="application/json",
        ).content,
        client.get("/admin-api/audit_logs").content,
        Client(headers={"Authorization": f"Bearer {new.plaintext}x"}).get("/admin-api/").content,
    ]
    secret = new.plaintext[len(new.key.prefix) :]  # the prefix is public by design
    assert all(secret.encode() not in body for body in bodies)
    assert secret not in caplog.text
    details = json.dumps(list(AuditLogEntry.objects.values("details")), default=str)
    assert secret not in details
    assert str(new.key.pk) in details  # admin changes name the key by id


# --- AD-04: mass assignment ---------------------------------------------------------------------


@pytest.fixture
def full_key_client(db) -> Client:
    return Client(
        headers={"Authorization": f"Bearer {api_keys.create('f', scope='full').plaintext}"}
    )


def test_create_ignores_privilege_and_secret_fields(full_key_client):
    body = {
        "emails": [{"address": "new@example.com", "is_primary": True, "is_verified": True}],
        "is_superuser": True,
        "is_staff": True,
        "is_active": False,
        "password": PASSWORD,
        "password_hash": "pbkdf2_sha256$1$x$y",
        "tenant_id": str(uuid.uuid4()),
        "webauthn_credentials": [{"id": "x", "sign_count": 99}],
    }
    response = full_key_client.post("/admin-api/users", body, content_type="application/json")
    assert response.status_code == 200, response.content
    account = Account.objects.get(pk=response.json()["id"])
    user = account.user
    assert not user.is_superuser and not user.is_staff and user.is_active
    assert not user.has_usable_password()
    assert not account.webauthn_credentials.exists()


def test_patch_ignores_identity_and_privilege_fields(full_key_client, account_factory):
    account = account_factory("patched@example.com")
    created = account.created_at
    other_id = str(uuid.uuid4())
    body = {
        "id": other_id,
        "created_at": "2000-01-01T00:00:00Z",
        "is_superuser": True,
        "is_staff": True,
        "password": PASSWORD,
        "name": "Patched",
    }
    response = full_key_client.patch(
        f"/admin-api/users/{account.pk}", body, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["id"] == str(account.pk)
    account.refresh_from_db()
    user = get_user_model().objects.get(pk=account.user.pk)
    assert account.created_at == created
    assert not user.is_superuser and not user.is_staff and not user.has_usable_password()
    assert not Account.objects.filter(pk=other_id).exists()


def test_a_webhook_body_cannot_set_its_own_bookkeeping(full_key_client):
    body = {
        "callback": "https://hooks.example.com/in",
        "events": ["user"],
        "id": str(uuid.uuid4()),
        "failures": -100,
        "expires_at": "2999-01-01T00:00:00Z",
        "created_at": "2000-01-01T00:00:00Z",
        "secret": "mine",
    }
    response = full_key_client.post("/admin-api/webhooks", body, content_type="application/json")
    assert response.status_code in (200, 201), response.content
    hook = Webhook.objects.get()
    assert str(hook.pk) != body["id"]
    assert hook.failures == 0
    assert hook.expires_at is None or hook.expires_at.year < 2999
    assert "mine" not in response.content.decode()


# --- AD-05: filters and pagination -----------------------------------------------------------

INJECTIONS = [
    "' OR 1=1 --",
    '" OR ""="',
    "%",
    "_",
    "\\",
    "1; DROP TABLE hankoflow_account",
    "' UNION SELECT password FROM auth_user --",
    "é\u202e",
    "a" * 5000,
]
LISTS = [
    ("/admin-api/users", ["email", "username", "user_id", "sort_direction", "page", "per_page"]),
    (
        "/admin-api/audit_logs",
        ["q", "type", "actor_user_id", "actor_email", "meta_source_ip", "start_time", "end_time"],
    ),
    ("/admin-api/invitations", ["email", "status"]),
]


@pytest.mark.parametrize(("path", "names"), LISTS)
@pytest.mark.parametrize("value", INJECTIONS)
def test_filters_with_sql_metacharacters_are_a_4xx_or_a_plain_result(
    full_key_client, account_factory, path, names, value
):
    account_factory("listed@example.com")
    for name in names:
        response = full_key_client.get(path, {name: value})
        assert response.status_code in (200, 400), (name, response.status_code)
        if response.status_code == 200 and name in ("email", "q", "actor_email", "username"):
            # no filter value matches every row: the filter is a parameter, never SQL
            assert "listed@example.com" not in response.content.decode() or value in "%_"


@pytest.mark.parametrize(("path", "names"), LISTS)
def test_filters_that_are_not_utf8_are_no_server_error(full_key_client, path, names):
    for name in names:
        for raw in ("%ED%A0%80", "%FF%FE", "%00", "a%00b", "x&" + name + "=%00", "%C0%AF"):
            response = full_key_client.get(f"{path}?{name}={raw}")
            assert response.status_code in (200, 400), (name, raw, response.status_code)


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("page=-1", 200),
        ("page=0", 200),
        ("page=2147483647", 200),
        ("page=99999999999999999999", 400),
        ("per_page=-99999999999999999999", 400),
        ("per_page=100000000", 200),
        ("page=1e3", 400),
        ("per_page=abc", 400),
        ("page=%00", 400),
    ],
)
def test_pagination_values_are_clamped_or_refused(full_key_client, account_factory, query, status):
    account_factory("paged@example.com")
    for path in ("/admin-api/users", "/admin-api/audit_logs"):  # invitations: not paginated
        response = full_key_client.get(f"{path}?{query}")
        assert response.status_code == status, (path, response.content)
        if "per_page=1" in query:
            assert len(response.json()) <= 1000


# --- AD-06: the Django admin ------------------------------------------------------------------


def hankoflow_admin_pages() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in django_admin.site._registry
        if model._meta.app_label == "hankoflow"
    ]


@pytest.fixture
def staff_user(db):
    user = get_user_model().objects.create_user("staff@example.org", password=PASSWORD)
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.mark.parametrize("who", ["anonymous", "signed_in_not_staff", "hanko_session"])
def test_admin_pages_are_for_staff_only(account_factory, who):
    client = Client()
    if who == "signed_in_not_staff":
        user = get_user_model().objects.create_user("plain@example.org", password=PASSWORD)
        client.force_login(user)
    if who == "hanko_session":
        # a valid Hanko session of a non-staff user is no way into the admin
        account = account_factory("session@example.com")
        token = sessions.issue(account, amr=["pwd"], env=None, remember_me=None).token
        client.cookies["hanko"] = token
    pages = hankoflow_admin_pages()
    assert len(pages) >= 8
    for page in pages:
        response = client.get(page)
        assert response.status_code == 302 and "/login/" in response["Location"], page


def test_admin_posts_need_the_csrf_token_and_pages_cannot_be_framed(staff_user, account_factory):
    account = account_factory("victim@example.com")
    sessions.issue(account, amr=["pwd"], env=None, remember_me=None)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    page = reverse("admin:hankoflow_session_changelist")
    answer = client.get(page)
    assert answer.status_code == 200
    assert answer["X-Frame-Options"] == "DENY"
    forged = client.post(
        page,
        {"action": "revoke_sessions", "_selected_action": [str(account.sessions.get().pk)]},
    )
    assert forged.status_code == 403
    assert account.sessions.count() == 1


# --- AD-07: no password hash anywhere -----------------------------------------------------------


def test_no_answer_or_page_shows_a_password_hash(full_key_client, staff_user, account_factory):
    account = account_factory("hashed@example.com", password=PASSWORD)
    hashed = get_user_model().objects.get(pk=account.user.pk).password
    salt_and_hash = hashed.split("$", 2)[-1]
    answers = [
        full_key_client.get(f"/admin-api/users/{account.pk}"),
        full_key_client.get("/admin-api/users"),
        full_key_client.get(f"/admin-api/users/{account.pk}/password"),
        full_key_client.get("/admin-api/audit_logs"),
    ]
    admin_client = Client()
    admin_client.force_login(staff_user)
    user_model = get_user_model()._meta
    answers.append(
        admin_client.get(
            reverse(
                f"admin:{user_model.app_label}_{user_model.model_name}_change",
                args=[account.user.pk],
            )
        )
    )
    answers += [admin_client.get(page) for page in hankoflow_admin_pages()]
    for response in answers:
        assert response.status_code == 200, response
        assert salt_and_hash not in response.content.decode()

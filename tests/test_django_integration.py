"""A Hanko session as Django's ``request.user`` / ``request.auth``: the middleware, the demo's
protected page, the DRF authentication class and ``GET /api/whoami`` (platform.md §2.4)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from hankoflow import auth
from hankoflow.api.authentication import HankoSessionAuthentication
from hankoflow.middleware import HankoflowMiddleware
from hankoflow.models import Session
from hankoflow.services import sessions
from tests.tokens import claims_for, now, sign

pytestmark = pytest.mark.django_db


# --- the protected page -------------------------------------------------------------------------


def test_protected_page_redirects_to_the_login_flow(client):
    response = client.get("/protected/")
    assert response.status_code == 302
    assert response["Location"] == "/?flow=login&next=/protected/"


def test_protected_page_with_the_session_cookie(client, issued, account):
    client.cookies["hanko"] = issued.token
    response = client.get("/protected/")
    assert response.status_code == 200
    assert response.wsgi_request.user == account.user
    assert response.wsgi_request.auth["session_id"] == issued.session_id
    assert response.wsgi_request.auth["amr"] == ["otp"]
    html = response.content.decode()
    assert "alice@example.com" in html and account.user.get_username() in html


def test_protected_page_with_a_bearer_token(client, issued, account):
    response = client.get("/protected/", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 200
    assert response.wsgi_request.user == account.user


@pytest.mark.parametrize("case", ["garbage", "revoked", "expired"])
def test_protected_page_with_a_dead_session(client, issued, case):
    token = issued.token
    if case == "garbage":
        token = "not.a.token"
    elif case == "revoked":
        sessions.revoke(issued.session_id)
    else:
        token = sign(claims_for(issued, iat=now() - 100, exp=now() - 1))
    client.cookies["hanko"] = token
    response = client.get("/protected/")
    assert response.status_code == 302 and response["Location"] == "/?flow=login&next=/protected/"
    assert not response.wsgi_request.user.is_authenticated
    assert not response.wsgi_request.auth


def test_django_session_user_is_left_alone(client, db):
    user = get_user_model().objects.create_user("admin", password="x")  # noqa: S106
    client.force_login(user)
    response = client.get("/protected/")
    assert response.status_code == 200 and response.wsgi_request.user == user
    client.cookies["hanko"] = "not.a.token"  # a dead Hanko cookie does not log Django out
    assert client.get("/protected/").wsgi_request.user == user


def test_a_valid_hanko_session_wins_over_the_django_session(client, issued, account):
    other = get_user_model().objects.create_user("someone-else")
    client.force_login(other)
    client.cookies["hanko"] = issued.token
    assert client.get("/protected/").wsgi_request.user == account.user


def test_protected_logout_form(client, issued):
    client = Client(enforce_csrf_checks=True)
    client.cookies["hanko"] = issued.token
    page = client.get("/protected/")
    csrf = page.context["csrf_token"]
    refused = client.post("/protected/logout/")
    assert refused.status_code == 403  # Django's CSRF protection applies
    response = client.post("/protected/logout/", {"csrfmiddlewaretoken": str(csrf)})
    assert response.status_code == 302 and response["Location"] == "/?flow=login"
    assert response.cookies["hanko"]["max-age"] == 0
    assert not Session.objects.filter(pk=issued.session_id).exists()


# --- the middleware -----------------------------------------------------------------------------


def test_nothing_is_queried_unless_the_user_is_used(client, issued, django_assert_num_queries):
    client.cookies["hanko"] = issued.token
    with django_assert_num_queries(0):
        assert client.get("/health/alive").status_code == 200


def test_requests_without_a_token_are_untouched(rf):
    request = rf.get("/")
    request.user = marker = object()
    auth.install(request)
    assert request.user is marker
    assert request.auth == {}


@pytest.mark.parametrize(
    "middleware",
    [
        # first (the demo's and the README's placement) ...
        [
            "hankoflow.middleware.HankoflowMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
        ],
        # ... after AuthenticationMiddleware ...
        [
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "hankoflow.middleware.HankoflowMiddleware",
        ],
        # ... or without Django's auth middleware at all.
        ["hankoflow.middleware.HankoflowMiddleware"],
    ],
)
def test_any_middleware_position_works(issued, account, middleware):
    with override_settings(MIDDLEWARE=middleware):
        client = Client()
        client.cookies["hanko"] = issued.token
        response = client.get("/protected/")
        assert response.status_code == 200
        assert response.wsgi_request.user == account.user


def test_installed_before_the_next_middleware_when_placed_after_auth(rf, issued, account):
    seen = {}

    def downstream(request):
        seen["user"] = request.user
        return HttpResponse()

    request = rf.get("/", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    request.user = AnonymousUser()  # as AuthenticationMiddleware leaves it
    HankoflowMiddleware(downstream)(request)
    assert seen["user"] == account.user


def test_async_auser(rf, issued, account):
    request = rf.get("/", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    auth.install(request)
    assert async_to_sync(request.auser)() == account.user


def test_async_auser_falls_back(rf):
    request = rf.get("/", HTTP_AUTHORIZATION="Bearer nope")

    async def django_auser():
        return "django's user"

    request.auser = django_auser
    auth.install(request)
    assert async_to_sync(request.auser)() == "django's user"


def test_authentication_backend(issued, account):
    assert authenticate(None, session_token="nope") is None
    with override_settings(AUTHENTICATION_BACKENDS=["hankoflow.auth.HankoSessionBackend"]):
        assert authenticate(None, session_token=issued.token) == account.user
        assert authenticate(None, session_token="nope") is None
        backend = auth.HankoSessionBackend()
        assert backend.get_user(account.user.pk) == account.user
        assert backend.get_user("x") is None


# --- DRF ----------------------------------------------------------------------------------------


def test_whoami_without_a_session(client):
    response = client.get("/api/whoami")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("transport", ["cookie", "bearer"])
def test_whoami(client, issued, account, transport):
    if transport == "cookie":
        client.cookies["hanko"] = issued.token
        response = client.get("/api/whoami")
    else:
        response = client.get("/api/whoami", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 200
    assert response.json() == {
        "user_id": str(account.pk),
        "username": account.user.get_username(),
        "email": "alice@example.com",
        "session_id": issued.session_id,
        "amr": ["otp"],
    }


def test_whoami_after_revocation(client, issued):
    sessions.revoke(issued.session_id)
    response = client.get("/api/whoami", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert response.status_code == 401


class Echo(APIView):
    authentication_classes = [HankoSessionAuthentication]
    permission_classes = [IsAuthenticated]

    def post(self, request):
        return Response({"sub": request.auth["sub"], "user": request.user.pk})


def test_drf_cookie_session_needs_csrf_for_unsafe_methods(issued, account):
    factory = APIRequestFactory(enforce_csrf_checks=True)
    request = factory.post("/echo", {}, format="json")
    request.COOKIES["hanko"] = issued.token
    response = Echo.as_view()(request)
    assert response.status_code == 403
    assert "CSRF" in str(response.data["detail"])


def test_drf_bearer_token_needs_no_csrf(issued, account):
    factory = APIRequestFactory(enforce_csrf_checks=True)
    request = factory.post("/echo", {}, format="json", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    response = Echo.as_view()(request)
    assert response.status_code == 200
    assert response.data == {"sub": str(account.pk), "user": account.user.pk}


def test_drf_and_middleware_validate_once(issued, django_assert_num_queries):
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    sessions.validate(issued.token, touch=False)  # warm the key cache
    auth.install(request)
    with django_assert_num_queries(1):
        assert request.user.is_authenticated
        assert HankoSessionAuthentication().authenticate(type("R", (), {"_request": request})())

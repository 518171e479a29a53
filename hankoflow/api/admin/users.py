"""Admin API: ``/users`` and ``/users/{id}`` (platform.md §4.3.2) — list with Hanko's filters and
pagination, create, read, patch, delete. Hanko's messages and statuses; the work is done by
``services.user_admin``, the bodies by ``services.admin_user``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.utils.dateparse import parse_datetime
from rest_framework.request import Request

from hankoflow.api.admin import pagination
from hankoflow.api.admin.base import AdminView, HankoError, actor, env
from hankoflow.models import Account, Email, Username
from hankoflow.services import accounts, user_admin
from hankoflow.services.admin_user import admin_user

USER_NOT_FOUND = "user not found"
USERNAME_PATTERN = re.compile(r"\w+", re.ASCII)
MAX_PICTURE_LENGTH = 2048
MAX_NAME_LENGTH = 255  # the columns' size
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+")


def user_id_or_400(value: str, message: str = "failed to parse userId as uuid") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise HankoError(400, message) from None


def user_or_404(value: str) -> Account:
    account = accounts.get(user_id_or_400(value))
    if account is None:
        raise HankoError(404, USER_NOT_FOUND)
    return account


def json_object(request: Request) -> dict[str, Any]:
    """The JSON body (an empty one: ``{}``); 400 for any other value, and for strings the
    database cannot store (NUL, lone surrogates) anywhere in it."""
    data = request.data
    if not isinstance(data, dict):
        raise HankoError(400, "request body must be a JSON object")
    if not _storable(data):
        raise HankoError(400, "strings must be valid unicode without NUL characters")
    return data


def _storable(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" not in value and value.encode("utf-8", "surrogatepass") == value.encode(
            "utf-8", "replace"
        )
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


class UsersView(AdminView):
    def get(self, request: Request) -> HttpResponse:
        rows, page, total = pagination.paginate(request, _listed(request))
        body = [admin_user(account, full=False) for account in rows]
        return pagination.add_headers(JsonResponse(body, safe=False), request, page, total)

    def post(self, request: Request) -> HttpResponse:
        body = json_object(request)
        try:
            account = user_admin.create_user(
                **_creation(body), env=env(request), audit_details=actor(request)
            )
        except user_admin.Conflict as exc:
            raise HankoError(409, str(exc)) from None
        # Hanko: 200, not 201, with the full user.
        return JsonResponse(admin_user(account))


class UserView(AdminView):
    def get(self, request: Request, user_id: str) -> HttpResponse:
        return JsonResponse(admin_user(user_or_404(user_id)))

    def patch(self, request: Request, user_id: str) -> HttpResponse:
        account = user_or_404(user_id)
        changes = _changes(json_object(request))
        try:
            account = user_admin.update_user(
                account, changes, env=env(request), audit_details=actor(request)
            )
        except user_admin.Conflict:
            raise HankoError(409, "username already exists") from None
        return JsonResponse(admin_user(account))

    def delete(self, request: Request, user_id: str) -> HttpResponse:
        account = user_or_404(user_id)
        user_admin.delete_user(account, env=env(request), audit_details=actor(request))
        return HttpResponse(status=204)


# --- GET /users ---------------------------------------------------------------------------------


def _listed(request: Request) -> QuerySet:
    params = request.query_params
    users = Account.objects.all()
    if raw := params.get("user_id", ""):
        try:
            ids = [uuid.UUID(part.strip()) for part in raw.split(",")]
        except ValueError:
            raise HankoError(400, "failed to parse user_id as uuid") from None
        users = users.filter(pk__in=ids)
    direction = params.get("sort_direction", "") or "desc"
    if direction not in ("asc", "desc"):
        raise HankoError(400, "sort_direction must be desc or asc")
    email = params.get("email", "").lower()
    username = params.get("username", "").lower()
    # Only users with an email or a username are listed (and counted).
    has_email = Exists(Email.objects.filter(account=OuterRef("pk")))
    has_username = Exists(Username.objects.filter(account=OuterRef("pk")))
    users = users.filter(has_email | has_username)
    if email or username:
        matches = Q()
        if email:
            matches |= Q(
                Exists(Email.objects.filter(account=OuterRef("pk"), address__contains=email))
            )
        if username:
            matches |= Q(
                Exists(Username.objects.filter(account=OuterRef("pk"), username__contains=username))
            )
        users = users.filter(matches)
    order = "created_at" if direction == "asc" else "-created_at"
    return users.order_by(order, "pk").prefetch_related(
        "emails", "webauthn_credentials", "username"
    )


# --- POST /users --------------------------------------------------------------------------------


def _creation(body: dict[str, Any]) -> dict[str, Any]:
    user_id = body.get("id")
    if user_id is not None:
        if not isinstance(user_id, str):
            raise HankoError(400, "id must be a valid uuid")
        user_id = user_id_or_400(user_id, "id must be a valid uuid")
    emails = _new_emails(body.get("emails"))
    username = body.get("username")
    if username is not None and not isinstance(username, str):
        raise HankoError(400, "username must be a string")
    # Hanko: stores the username as given. Ours is lower-cased and trimmed, as everywhere else,
    # because sign-in looks usernames up lower-cased: a mixed-case one could never sign in.
    username = accounts.normalise_username(username) if username else None
    if not emails and not username:
        raise HankoError(400, "at least one of [Emails, Username] must be set")
    if username is not None and len(username) > MAX_NAME_LENGTH:
        raise HankoError(400, "username is too long")
    return {
        "user_id": user_id,
        "emails": emails,
        "username": username,
        "created_at": _created_at(body.get("created_at")),
    }


def _new_emails(value: Any) -> list[user_admin.NewEmail]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise HankoError(400, "emails must be an array")
    emails = []
    for item in value:
        if not isinstance(item, dict):
            raise HankoError(400, "emails entries must be objects")
        address = item.get("address")
        if not isinstance(address, str) or not address.strip():
            raise HankoError(400, "address is a required field")
        address = accounts.normalise_email(address)
        if len(address) > 254 or not EMAIL_PATTERN.fullmatch(address):
            raise HankoError(400, "address must be a valid email address")
        flags = {}
        for flag in ("is_primary", "is_verified"):
            flags[flag] = item.get(flag) or False
            if not isinstance(flags[flag], bool):
                raise HankoError(400, f"{flag} must be a boolean")
        emails.append(user_admin.NewEmail(address=address, **flags))
    if len({e.address for e in emails}) != len(emails):
        raise HankoError(400, "emails entries are not unique")
    primaries = sum(e.is_primary for e in emails)
    if emails and primaries == 0:
        raise HankoError(400, "at least one primary email must be provided")
    if primaries > 1:
        raise HankoError(400, "only one primary email is allowed")
    return emails


def _created_at(value: Any) -> datetime | None:
    if value is None:
        return None
    parsed = None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise HankoError(400, "created_at must be an RFC 3339 date-time")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: before the calendar in UTC
        raise HankoError(400, "created_at must be an RFC 3339 date-time") from None


# --- PATCH /users/{id} --------------------------------------------------------------------------


def _changes(body: dict[str, Any]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for field in ("username", *user_admin.NAME_FIELDS):
        if field not in body:
            continue
        value = body[field]
        if value is None:
            changes[field] = None
            continue
        if not isinstance(value, str) or not value.strip():
            raise HankoError(400, f"{field} must be a non-empty string or null")
        changes[field] = value.strip()
    if (name := changes.get("username")) is not None:
        name = name.lower()
        if not USERNAME_PATTERN.fullmatch(name) or len(name) > MAX_NAME_LENGTH:
            raise HankoError(400, "username is invalid")
        changes["username"] = name
    if (picture := changes.get("picture")) is not None and not _picture_ok(picture):
        raise HankoError(400, "picture must be a valid http(s) URL or null")
    for field in ("name", "given_name", "family_name"):
        if len(changes.get(field) or "") > MAX_NAME_LENGTH:
            raise HankoError(400, f"{field} is too long")
    return changes


def _picture_ok(value: str) -> bool:
    if len(value) > MAX_PICTURE_LENGTH or any(c.isspace() or ord(c) < 32 for c in value):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and parts.username is None
        and parts.password is None
    )


urlpatterns = [
    path("users", UsersView.as_view(), name="users"),
    path("users/<str:user_id>", UserView.as_view(), name="user"),
]

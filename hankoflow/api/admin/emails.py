"""Admin API: a user's email addresses, ``/users/{user_id}/emails`` (platform.md §4.3.3).

Changes lock the account (``accounts.lock``) and decide on what it returns, as the profile's
actions do, and write the audit entry the profile writes, naming the API key. Unlike the
profile, an admin may delete an address that was the user's last way in, and make an
unverified address primary (as Hanko's admin API does).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.request import Request

from hankoflow.api.admin.base import actor
from hankoflow.api.admin.user_scope import (
    ApiError,
    UserResourceView,
    json_object,
    optional_bool,
    parse_uuid,
    user_or_404,
)
from hankoflow.conf import settings
from hankoflow.models import Account, Email
from hankoflow.services import accounts, audit, email_addresses, webhooks
from hankoflow.services.accounts import rfc3339

EMAIL_ID_INVALID = "email_id must be a valid uuid4"
EMAIL_NOT_FOUND = "email not found"


def email_dto(email: Email) -> dict[str, Any]:
    """The Email object of platform.md §4.3.3."""
    return {
        "id": str(email.id),
        "address": email.address,
        "is_verified": email.is_verified,
        "is_primary": email.is_primary,
        "created_at": rfc3339(email.created_at),
        "updated_at": rfc3339(email.updated_at),
    }


def _address(body: dict[str, Any]) -> str:
    value = body.get("address")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "address is a required field")
    address = accounts.normalise_email(value)
    if len(address) > settings.EMAIL.MAX_LENGTH:
        raise ApiError(400, f"address must be at most {settings.EMAIL.MAX_LENGTH} characters")
    try:
        validate_email(address)
    except ValidationError:
        raise ApiError(400, "address must be a valid email address") from None
    return address


def _email_of(account: Account, email_id: str) -> Email:
    email = email_addresses.find(account, parse_uuid(email_id, EMAIL_ID_INVALID, v4=True))
    if email is None:
        raise ApiError(404, EMAIL_NOT_FOUND)
    return email


class EmailsView(UserResourceView):
    def get(self, request: Request, user_id: str) -> JsonResponse:
        # Hanko: an unknown user has no addresses (200 []), not a 404.
        key = parse_uuid(user_id, "failed to parse userId as uuid")
        emails = sorted(email_addresses.listed(key), key=lambda e: (e.created_at, str(e.id)))
        return JsonResponse([email_dto(e) for e in emails], safe=False)

    def post(self, request: Request, user_id: str) -> JsonResponse:
        account = user_or_404(user_id)
        body = json_object(request)
        address = _address(body)
        verified = optional_bool(body, "is_verified")
        optional_bool(body, "is_primary")  # accepted, ignored: the first address is primary
        with transaction.atomic():
            account = accounts.lock(account)
            if len(account.emails.all()) >= settings.EMAIL.LIMIT:
                raise ApiError(409, "max number of email addresses reached")
            if accounts.email_exists(address):
                raise ApiError(400, "email address already exists")
            try:
                email = accounts.add_email(account, address, verified=verified)
            except accounts.EmailAlreadyExists:  # a concurrent request took it
                raise ApiError(400, "email address already exists") from None
            audit.record(
                audit.EMAIL_CREATED,
                env=self.env,
                account=account,
                details=actor(request, email=address),
            )
            webhooks.user_changed(webhooks.events.USER_EMAIL_CREATE, account, env=self.env)
        return JsonResponse(email_dto(email), status=201)


class EmailView(UserResourceView):
    def get(self, request: Request, user_id: str, email_id: str) -> JsonResponse:
        account = user_or_404(user_id)
        return JsonResponse(email_dto(_email_of(account, email_id)))

    def delete(self, request: Request, user_id: str, email_id: str) -> HttpResponse:
        account = user_or_404(user_id)
        _email_of(account, email_id)  # 400/404 before anything is locked
        with transaction.atomic():
            account = accounts.lock(account)
            email = _email_of(account, email_id)
            if email.is_primary:
                raise ApiError(409, "primary email can't be deleted")
            # Hanko: as its admin API, no "last way in" rule: an admin may leave the user
            # without an address.
            email_addresses.delete(account, email)
            audit.record(
                audit.EMAIL_DELETED,
                env=self.env,
                account=account,
                details=actor(request, email=email.address),
            )
            webhooks.user_changed(webhooks.events.USER_EMAIL_DELETE, account, env=self.env)
        return HttpResponse(status=204)


class SetPrimaryView(UserResourceView):
    def post(self, request: Request, user_id: str, email_id: str) -> HttpResponse:
        account = user_or_404(user_id)
        _email_of(account, email_id)
        with transaction.atomic():
            account = accounts.lock(account)
            email = _email_of(account, email_id)
            if not email.is_primary:
                # No verification required, as in Hanko's admin API (the profile requires it).
                email_addresses.set_primary(account, email)
                audit.record(
                    audit.PRIMARY_EMAIL_CHANGED,
                    env=self.env,
                    account=account,
                    details=actor(request, email=email.address),
                )
                webhooks.user_changed(webhooks.events.USER_EMAIL_PRIMARY, account, env=self.env)
        return HttpResponse(status=204)


urlpatterns = [
    path("users/<str:user_id>/emails", EmailsView.as_view(), name="user-emails"),
    path("users/<str:user_id>/emails/<str:email_id>", EmailView.as_view(), name="user-email"),
    path(
        "users/<str:user_id>/emails/<str:email_id>/set_primary",
        SetPrimaryView.as_view(),
        name="user-email-set-primary",
    ),
]

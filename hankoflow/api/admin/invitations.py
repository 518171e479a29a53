"""Admin API: invitations (beyond Hanko, issue 15), ``/invitations``.

``GET /invitations`` lists them (newest first; ``?email=`` and ``?status=pending|used|revoked|
expired`` filter), ``POST /invitations`` ``{"email", "language"?}`` invites (201; the email goes
out, the code is only in it), ``GET /invitations/{id}`` shows one, ``DELETE /invitations/{id}``
revokes it (204; 409 once used or revoked). Errors are Hanko's ``{"code", "message"}``. Every
change is audited with the API key (``invitation_created``, ``invitation_revoked``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.request import Request

from hankoflow.api.admin.base import actor
from hankoflow.api.admin.user_scope import ApiError, UserResourceView, json_object, parse_uuid
from hankoflow.conf import settings
from hankoflow.models import Invitation
from hankoflow.services import invitations
from hankoflow.services.accounts import normalise_email, rfc3339

INVITATION_NOT_FOUND = "invitation not found"
INVITATION_ID_INVALID = "invitation_id must be a valid uuid"
STATUSES = (invitations.PENDING, invitations.USED, invitations.REVOKED, invitations.EXPIRED)
MAX_LISTED = 1000


def invitation_dto(invitation: Invitation) -> dict[str, Any]:
    """An invitation as the admin API shows it: never its code or digest."""
    return {
        "id": str(invitation.pk),
        "email": invitation.email,
        "status": invitations.status(invitation),
        "language": invitation.language,
        "invited_by": invitation.invited_by,
        "created_at": rfc3339(invitation.created_at),
        "expires_at": rfc3339(invitation.expires_at),
        "accepted_at": rfc3339(invitation.accepted_at) if invitation.accepted_at else None,
        "revoked_at": rfc3339(invitation.revoked_at) if invitation.revoked_at else None,
        "user_id": str(invitation.account_id) if invitation.account_id else None,
    }


def _email(body: dict[str, Any]) -> str:
    value = body.get("email")
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "email is a required field")
    address = normalise_email(value)
    if len(address) > settings.EMAIL.MAX_LENGTH:
        raise ApiError(400, f"email must be at most {settings.EMAIL.MAX_LENGTH} characters")
    try:
        validate_email(address)
    except ValidationError:
        raise ApiError(400, "email must be a valid email address") from None
    return address


def _language(body: dict[str, Any]) -> str:
    value = body.get("language", "")
    if not isinstance(value, str) or len(value) > 35:
        raise ApiError(400, "language must be a language tag")
    return value


class InvitationsView(UserResourceView):
    def get(self, request: Request) -> JsonResponse:
        rows = Invitation.objects.all()
        email = request.query_params.get("email")
        if email:
            rows = rows.filter(email=normalise_email(email))
        wanted = request.query_params.get("status")
        if wanted and wanted not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
        listed = [invitation_dto(row) for row in rows[:MAX_LISTED]]
        if wanted:
            listed = [item for item in listed if item["status"] == wanted]
        return JsonResponse(listed, safe=False)

    def post(self, request: Request) -> JsonResponse:
        body = json_object(request)
        email, language = _email(body), _language(body)
        try:
            created = invitations.create(
                email,
                invited_by=f"api key {request.auth.name}",
                language=language,
                actor=actor(request),
                env=self.env,
            )
        except invitations.EmailAlreadyRegistered:
            raise ApiError(409, "email address already registered") from None
        except ValueError:
            raise ApiError(400, "email must be a valid email address") from None
        return JsonResponse(invitation_dto(created.invitation), status=201)


class InvitationView(UserResourceView):
    def get(self, request: Request, invitation_id: str) -> JsonResponse:
        return JsonResponse(invitation_dto(_invitation_or_404(invitation_id)))

    def delete(self, request: Request, invitation_id: str) -> HttpResponse:
        invitation = _invitation_or_404(invitation_id)
        if not invitations.revoke(invitation, actor=actor(request), env=self.env):
            raise ApiError(409, f"invitation is {invitations.status(invitation)}")
        return HttpResponse(status=204)


def _invitation_or_404(invitation_id: str) -> Invitation:
    key = parse_uuid(invitation_id, INVITATION_ID_INVALID)
    invitation = Invitation.objects.filter(pk=key).first()
    if invitation is None:
        raise ApiError(404, INVITATION_NOT_FOUND)
    return invitation


urlpatterns = [
    path("invitations", InvitationsView.as_view(), name="invitations"),
    path("invitations/<str:invitation_id>", InvitationView.as_view(), name="invitation"),
]

"""Invitations (beyond Hanko, issue 15): list them, invite someone (the email goes out at once)
and revoke, as ``manage.py hankoflow_invite`` and the admin API do. The code is only in the
email: the page never shows it or its digest.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from hankoflow import emails
from hankoflow.admin.common import env
from hankoflow.models import Invitation
from hankoflow.services import invitations
from hankoflow.services.accounts import email_exists
from hankoflow.services.staff import staff_details

INVITE = "invite"
REVOKE = "revoke_invitation"
SHOWN = [
    "email",
    "status",
    "language",
    "invited_by",
    "created_at",
    "expires_at",
    "accepted_at",
    "revoked_at",
    "account",
]


class InvitationForm(forms.ModelForm):
    language = forms.ChoiceField(
        choices=[("", "default")] + [(code, tag) for tag, code in emails.LANGUAGES.items()],
        required=False,
        help_text="of the email",
    )

    class Meta:
        model = Invitation
        fields = ["email", "language"]

    def clean_email(self) -> str:
        address = self.cleaned_data["email"].strip().lower()
        if email_exists(address):
            raise forms.ValidationError("An account already uses this address.")
        return address


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    form = InvitationForm
    list_display = SHOWN
    list_filter = [
        ("accepted_at", admin.EmptyFieldListFilter),
        ("revoked_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["email", "invited_by"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["email", "language"] if obj is None else SHOWN

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else SHOWN

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoke instead: the record stays for the audit trail

    @admin.display(description="status")
    def status(self, invitation: Invitation) -> str:
        return invitations.status(invitation)

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        if change:
            return  # nothing of an invitation is edited: it is made or revoked
        try:
            created = invitations.create(
                form.cleaned_data["email"],
                invited_by=request.user.get_username(),
                language=form.cleaned_data.get("language") or "",
                actor=staff_details(request.user, INVITE),
                env=env(request),
            )
        except (invitations.EmailAlreadyRegistered, ValueError) as refused:
            raise forms.ValidationError(str(refused)) from None  # the form checked it first
        new = created.invitation
        obj.pk, obj._state.adding, obj._state.db = new.pk, False, new._state.db
        obj.created_at, obj.expires_at = new.created_at, new.expires_at
        self.message_user(request, f"The invitation was sent to {new.email}.", messages.SUCCESS)

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        return None  # audited by the service (invitation_created)

    @admin.action(permissions=["change"], description="Revoke selected invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = staff_details(request.user, REVOKE)
        revoked = sum(
            invitations.revoke(invitation, actor=actor, env=env(request)) for invitation in queryset
        )
        self.message_user(request, f"revoked {revoked} invitation(s)", messages.SUCCESS)

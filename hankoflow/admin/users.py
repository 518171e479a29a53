"""The project's user admin, with what support needs from hankoflow.

Whatever ModelAdmin the project registered for ``get_user_model()`` is wrapped: its class is
subclassed with ``HankoflowUserAdminMixin`` and registered again, so its own fields, filters and
actions stay. A user model without an admin gets a plain one. The change page shows the Hanko
account (an inline): emails, username, credentials, TOTP, password, third-party identities,
sessions, trusted devices, the last login method, and links to the pages of each. Every action
goes through ``hankoflow.services.staff``, which uses the flows' services and audits the staff
member.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from hankoflow import clock
from hankoflow.admin.common import admin_url, env, link
from hankoflow.models import (
    Account,
    AuditLogEntry,
    Email,
    Flow,
    Identity,
    OTPSecret,
    Session,
    TrustedDevice,
    WebauthnCredential,
)
from hankoflow.services import audit, staff
from hankoflow.services.accounts import has_password, username_of

User = get_user_model()


class AccountInline(admin.StackedInline):
    """The user's Hanko account, read-only: a summary with links to the detailed pages."""

    model = Account
    fk_name = "user"
    can_delete = False
    max_num = 1
    verbose_name = "Hanko account"
    verbose_name_plural = "Hanko account"
    fields = [
        "id",
        "emails_list",
        "username_value",
        "passkeys",
        "security_keys",
        "totp",
        "password_set",
        "identities",
        "active_sessions",
        "trusted_devices",
        "last_login_method",
        "audit_trail",
        "recent_flows",
        "created_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="email addresses")
    def emails_list(self, account: Account) -> str:
        rows = [
            (
                e.address,
                " (primary)" if e.is_primary else "",
                "verified" if e.is_verified else "not verified",
            )
            for e in account.emails.all()
        ]
        return format_html_join(mark_safe("<br>"), "{}{}: {}", rows) or "-"

    @admin.display(description="username")
    def username_value(self, account: Account) -> str:
        row = username_of(account)
        return row.username if row is not None else "-"

    @admin.display(description="passkeys")
    def passkeys(self, account: Account) -> str:
        return _credentials(account, mfa_only=False)

    @admin.display(description="security keys")
    def security_keys(self, account: Account) -> str:
        return _credentials(account, mfa_only=True)

    @admin.display(description="authenticator app (TOTP)")
    def totp(self, account: Account) -> str:
        row = OTPSecret.objects.filter(account=account).only("pk", "created_at").first()
        if row is None:
            return "not set up"
        return link(admin_url(OTPSecret, row.pk), f"set up {row.created_at:%Y-%m-%d %H:%M}")

    @admin.display(description="password", boolean=True)
    def password_set(self, account: Account) -> bool:
        return has_password(account.user)

    @admin.display(description="third-party identities")
    def identities(self, account: Account) -> str:
        rows = [
            (
                row.provider_id,
                row.subject,
                row.email or "no email",
                "verified" if row.email_verified else "not verified",
                f"{row.created_at:%Y-%m-%d}",
            )
            for row in Identity.objects.filter(account=account)
        ]
        return format_html_join(mark_safe("<br>"), "{} {}: {} ({}, since {})", rows) or "none"

    @admin.display(description="active sessions")
    def active_sessions(self, account: Account) -> str:
        count = Session.objects.filter(account=account, expires_at__gt=clock.now()).count()
        url = admin_url(Session, view="changelist")
        return link(f"{url}?account__id__exact={account.pk}" if url else None, count)

    @admin.display(description="trusted devices")
    def trusted_devices(self, account: Account) -> int:
        return TrustedDevice.objects.filter(account=account, expires_at__gt=clock.now()).count()

    @admin.display(description="last login method")
    def last_login_method(self, account: Account) -> str:
        entry = (
            AuditLogEntry.objects.filter(actor_user_id=account.pk, type=audit.LOGIN_SUCCESS)
            .order_by("-created_at")
            .only("details", "created_at")
            .first()
        )
        if entry is None:
            return "-"
        details = entry.details or {}
        method = details.get("login_method", "?")
        if details.get("mfa_method"):
            method = f"{method} + {details['mfa_method']}"
        return f"{method} ({entry.created_at:%Y-%m-%d %H:%M})"

    @admin.display(description="audit log")
    def audit_trail(self, account: Account) -> str:
        url = admin_url(AuditLogEntry, view="changelist")
        return link(f"{url}?actor_user_id={account.pk}" if url else None, "this user's trail")

    @admin.display(description="flows")
    def recent_flows(self, account: Account) -> str:
        url = admin_url(Flow, view="changelist")
        return link(
            f"{url}?user__id__exact={account.user_id}" if url else None, "this user's flows"
        )


def _credentials(account: Account, *, mfa_only: bool) -> str:
    rows = WebauthnCredential.objects.filter(account=account, mfa_only=mfa_only).only(
        "id", "name", "created_at", "last_used_at", "mfa_only"
    )
    items = [
        (
            admin_url(WebauthnCredential, row.pk) or "",
            row.name or row.id[:16],
            f"{row.last_used_at:%Y-%m-%d}" if row.last_used_at else "never",
        )
        for row in rows
    ]
    if not items:
        return "none"
    return format_html_join(mark_safe("<br>"), '<a href="{}">{}</a> (last used {})', items)


class HankoflowUserAdminMixin:
    """Adds the Hanko account, its search and the support actions to a user ModelAdmin."""

    hankoflow_actions = ("revoke_all_sessions", "remove_second_factor", "deactivate_users")

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        inlines = list(super().get_inlines(request, obj))  # type: ignore[misc]
        return [*inlines, AccountInline] if obj is not None else inlines

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))  # type: ignore[misc]
        return [*columns, "hanko_user_id", "primary_email"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        primary = Email.objects.filter(account__user=OuterRef("pk"), is_primary=True)
        return (
            super()  # type: ignore[misc]
            .get_queryset(request)
            .select_related("hankoflow_account")
            .annotate(hankoflow_primary_email=Subquery(primary.values("address")[:1]))
        )

    @admin.display(description="Hanko user id", ordering="hankoflow_account__id")
    def hanko_user_id(self, user: Any) -> str:
        account = getattr(user, "hankoflow_account", None)
        return str(account.pk) if account is not None else "-"

    @admin.display(description="primary email", ordering="hankoflow_primary_email")
    def primary_email(self, user: Any) -> str:
        return user.hankoflow_primary_email or "-"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        """Also finds users by any of their email addresses and by their Hanko user id."""
        found, duplicates = super().get_search_results(  # type: ignore[misc]
            request, queryset, search_term
        )
        term = search_term.strip()
        if not term:
            return found, duplicates
        extra = Q(
            Exists(Email.objects.filter(account__user=OuterRef("pk"), address__icontains=term))
        )
        with contextlib.suppress(ValueError):
            extra |= Q(hankoflow_account__id=uuid.UUID(term))
        return queryset.filter(Q(pk__in=found.values("pk")) | extra), duplicates

    # --- actions: each through hankoflow.services.staff --------------------------------------

    @admin.action(permissions=["change"], description="Revoke all sessions (and trusted devices)")
    def revoke_all_sessions(self, request: HttpRequest, queryset: QuerySet) -> None:
        ended = 0
        for account in _accounts(queryset):
            ended += staff.revoke_sessions(account, staff=request.user, env=env(request))
        self.message_user(request, f"{ended} session(s) revoked.", messages.SUCCESS)  # type: ignore[attr-defined]

    @admin.action(
        permissions=["change"],
        description="Remove the second factor (authenticator app, security keys)",
    )
    def remove_second_factor(self, request: HttpRequest, queryset: QuerySet) -> None:
        removed = 0
        for account in _accounts(queryset):
            removed += staff.remove_second_factor(account, staff=request.user, env=env(request))
        self.message_user(request, f"{removed} second factor(s) removed.", messages.SUCCESS)  # type: ignore[attr-defined]

    @admin.action(permissions=["change"], description="Deactivate (and revoke their sessions)")
    def deactivate_users(self, request: HttpRequest, queryset: QuerySet) -> None:
        users = list(queryset)
        for user in users:
            staff.deactivate(user, staff=request.user, env=env(request))
        self.message_user(request, f"{len(users)} user(s) deactivated.", messages.SUCCESS)  # type: ignore[attr-defined]

    # Django's own delete (the button and "delete selected") goes through the service too.
    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        staff.delete_user(obj, staff=request.user, env=env(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for user in queryset:
            staff.delete_user(user, staff=request.user, env=env(request))


def _accounts(users: QuerySet) -> QuerySet:
    return Account.objects.filter(user__in=users.values("pk"))


def wrap_user_admin(site: admin.AdminSite = admin.site) -> None:
    """Register the user model's admin again with ``HankoflowUserAdminMixin`` mixed in."""
    base = type(site._registry[User]) if site.is_registered(User) else admin.ModelAdmin
    if issubclass(base, HankoflowUserAdminMixin):
        return
    if site.is_registered(User):
        site.unregister(User)
    wrapped = type(base.__name__, (HankoflowUserAdminMixin, base), {"__module__": __name__})
    wrapped.actions = [*(base.actions or ()), *HankoflowUserAdminMixin.hankoflow_actions]
    if base is admin.ModelAdmin:
        wrapped.search_fields = [User.USERNAME_FIELD]
    site.register(User, wrapped)


wrap_user_admin()

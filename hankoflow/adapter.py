"""The adapter: where a host project changes how hankoflow meets its Django users.

Hanko owns its users table; hankoflow lives inside a project that owns ``AUTH_USER_MODEL``, so
the moments where the two meet are methods of one class the project can subclass (allauth's
adapter pattern, style.md §2.5). Point ``HANKOFLOW["ADAPTER"]`` at the subclass.

The default works with any user model that can be saved with only its ``USERNAME_FIELD`` and,
if it has one, its ``EMAIL_FIELD`` filled: integer or UUID primary key, a username or an email
as the login field. Models with further required columns override ``populate_user``.

The other methods are named for the decision they make, each with Hanko's behaviour as the
default: ``is_signup_allowed`` (who may register), ``send_mail`` (how an email leaves),
``get_totp_issuer`` (the name authenticator apps show) and ``build_jwt_claims`` (extra session
claims; ``SESSION.JWT_TEMPLATE``). Events a project reacts to, rather than decides, are signals
(``hankoflow.signals``).
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.utils.module_loading import import_string

from hankoflow import emails, jwt_template
from hankoflow.conf import settings

if TYPE_CHECKING:
    from hankoflow.models import Account
    from hankoflow.models.sessions import Session

# Domain of the placeholder written to an email-typed USERNAME_FIELD when an account has no
# email address (RFC 2606: ``.invalid`` never resolves, so nothing can ever be sent there).
PLACEHOLDER_EMAIL_DOMAIN = "users.hankoflow.invalid"


class DefaultHankoflowAdapter:
    """Creates and updates the Django user behind a hankoflow account, and makes the decisions
    a project may want to change: who may sign up, the TOTP issuer, the session's JWT claims."""

    def create_user(self, *, email: str | None, username: str | None) -> AbstractBaseUser:
        """Create and save the Django user of a new account, with an unusable password.

        ``email`` and ``username`` are already normalised (stripped, lower-case). If another
        user took the login value between the check and the insert, a random one is used.
        """
        user = self.new_user(email=email, username=username)
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            field = type(user).USERNAME_FIELD
            if not self._fills(type(user), field):
                raise
            setattr(user, field, self.random_login_value(type(user)))
            user.save()
        return user

    def new_user(self, *, email: str | None, username: str | None) -> AbstractBaseUser:
        """An unsaved user populated from the identifiers (also used by password validators)."""
        user = get_user_model()()
        self.populate_user(user, email=email, username=username)
        return user

    def populate_user(
        self, user: AbstractBaseUser, *, email: str | None, username: str | None
    ) -> None:
        """Fill the user's ``USERNAME_FIELD`` and ``EMAIL_FIELD`` from the identifiers.

        The login field gets the username, else the email address; an email-typed login field
        gets the email address only. When that value is missing, too long or already used by
        another user (compared case-insensitively), a random unique value is used instead.
        """
        model = type(user)
        email_field = email_field_name(model)
        if email and email_field:
            setattr(user, email_field, email)
        login_field = model.USERNAME_FIELD
        if not self._fills(model, login_field):
            return
        field = model._meta.get_field(login_field)
        candidate = email if _is_email_field(model, login_field) else username or email
        if (
            not candidate
            or (field.max_length and len(candidate) > field.max_length)
            or model._default_manager.filter(**{f"{login_field}__iexact": candidate}).exists()
        ):
            candidate = self.random_login_value(model)
        setattr(user, login_field, candidate)

    def random_login_value(self, model: type[AbstractBaseUser]) -> str:
        """A unique value for the login field of a user who has no usable identifier."""
        token = uuid.uuid4().hex
        if _is_email_field(model, model.USERNAME_FIELD):
            return f"{token}@{PLACEHOLDER_EMAIL_DOMAIN}"
        max_length = model._meta.get_field(model.USERNAME_FIELD).max_length or 64
        return f"user-{token}"[:max_length]

    def set_user_email(self, user: AbstractBaseUser, address: str) -> None:
        """Copy a newly primary email address to the user's ``EMAIL_FIELD``, if it has one.

        Skipped when that field is also the login field and another user already uses it.
        """
        model = type(user)
        field = email_field_name(model)
        if not field or getattr(user, field) == address:
            return
        if (
            field == model.USERNAME_FIELD
            and model._default_manager.filter(**{f"{field}__iexact": address})
            .exclude(pk=user.pk)
            .exists()
        ):
            return
        setattr(user, field, address)
        user.save(update_fields=[field])

    # --- decisions ------------------------------------------------------------------------

    def delete_user(self, user: AbstractBaseUser) -> None:
        """Delete the Django user of a deleted account (its ``Account`` and everything hanging
        off it are already gone). Override to keep the user, e.g. deactivated and anonymised,
        when other data of the project must not cascade away with it."""
        user.delete()

    def is_signup_allowed(
        self, request: HttpRequest | None, email: str | None, username: str | None = None
    ) -> bool:
        """Whether a new account may be registered with these identifiers.

        Asked when ``register_login_identifier`` is submitted, after the inputs are valid and
        before anything looks at existing accounts; ``email`` and ``username`` are normalised
        (stripped, lower-case) or None. A refusal answers ``operation_not_permitted_error``
        (403) in ``registration_init``, the same for a registered address as for a new one.
        ``ACCOUNT.ALLOW_SIGNUP`` off wins: then the action is not offered and this is not asked.
        """
        return True

    def get_totp_issuer(self, request: HttpRequest | None) -> str:
        """The issuer an authenticator app shows next to the account (the ``issuer`` of the
        ``otpauth://`` URI and its QR code). Default: ``SERVICE.NAME``."""
        return settings.SERVICE.NAME

    def build_jwt_claims(
        self, account: Account, session: Session, claims: dict[str, Any]
    ) -> dict[str, Any]:
        """Custom claims for a new session token, added to the built-in ones.

        ``session`` is the session row about to be stored (``session.pk`` is the token's
        ``session_id``); ``claims`` holds the built-in claims (read it, do not change it). The
        result must be JSON-serialisable. Reserved names (``jwt_template.RESERVED_CLAIMS``:
        ``sub``, ``exp``, ``aud``, ``session_id``, ...) are dropped with a warning on the
        ``hankoflow.sessions`` logger: the built-in values always win.

        Default: Hanko's ``session.jwt_template`` (``SESSION.JWT_TEMPLATE.CLAIMS``) rendered
        over ``jwt_template_user``.
        """
        template = settings.SESSION.JWT_TEMPLATE.CLAIMS
        if not template:
            return {}
        return jwt_template.render_claims(template, self.jwt_template_user(account, claims))

    def jwt_template_user(self, account: Account, claims: dict[str, Any]) -> dict[str, Any]:
        """The data behind ``.User`` in JWT templates (platform.md §2.1.2)."""
        email = claims.get("email")
        user = account.user
        # Hanko: Name, GivenName and FamilyName come from a third-party provider's profile;
        # here from the Django user (empty when the model has no such fields).
        first = str(getattr(user, "first_name", "") or "")
        last = str(getattr(user, "last_name", "") or "")
        return {
            "UserID": str(account.pk),
            "Email": {
                "Address": email["address"],
                "IsPrimary": email["is_primary"],
                "IsVerified": email["is_verified"],
            }
            if email
            else None,
            "Username": claims.get("username", ""),
            "Name": f"{first} {last}".strip(),
            "GivenName": first,
            "FamilyName": last,
            "Picture": "",
            "Metadata": jwt_template.metadata(account.public_metadata, account.unsafe_metadata),
        }

    # --- sending email --------------------------------------------------------------------

    def send_mail(self, kind: str, to: str, context: dict[str, Any]) -> None:
        """Send one of hankoflow's emails now; raise if it did not go out.

        ``kind`` names the email (``hankoflow.emails.KINDS``): ``login``,
        ``email_verification`` and ``recovery`` carry a passcode; ``email_login_attempted`` and
        ``email_registration_attempted`` are the notices sent instead of a code; the security
        notifications ``password_update``, ``primary_email_update`` (context ``old_email``,
        ``new_email``), ``email_create`` (``new_email``), ``email_delete`` (``deleted_email``),
        ``passkey_create``, ``mfa_create``, ``mfa_delete``; ``test`` (``manage.py
        hankoflow_send_test_email``). ``to`` is one
        address. ``context`` holds the template variables:
        ``language`` (the Django language code to write in: ``en``, ``de``, ``pt-br``,
        ``zh-hans``...), ``service_name``, and for the passcode kinds ``code`` and
        ``ttl_minutes`` (the code's lifetime in minutes), and ``message_id``, the same for every
        copy of one email (send it as ``Message-ID``). ``context["code"]`` is the passcode in
        the clear: never log or store it.

        Called after the flow step committed, once per email at a time (the outbox row is
        locked). Raising leaves the email for a retry with backoff, up to six tries; raise
        ``hankoflow.emails.UndeliverableEmail`` when retrying cannot help (5xx SMTP answers
        count as that too). Default: hankoflow's templates (``hankoflow.emails.render``) sent
        through the project's ``EMAIL_BACKEND``; override to send through a mail API instead.
        """
        emails.build_message(kind, to=to, context=context).send()

    @staticmethod
    def _fills(model: type[AbstractBaseUser], name: str) -> bool:
        """Whether the adapter writes this field: text fields only (a UUID login keeps its
        default)."""
        return isinstance(model._meta.get_field(name), models.CharField)


def email_field_name(model: type[AbstractBaseUser]) -> str | None:
    """The model's ``EMAIL_FIELD`` (``email`` by default) if it is a real field, else None."""
    name = model.get_email_field_name()
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return name


def _is_email_field(model: type[AbstractBaseUser], name: str) -> bool:
    return name == email_field_name(model) or isinstance(
        model._meta.get_field(name), models.EmailField
    )


def get_adapter() -> DefaultHankoflowAdapter:
    """An instance of the adapter class named in ``HANKOFLOW["ADAPTER"]``."""
    return _adapter_class(settings.ADAPTER)()


@lru_cache(maxsize=8)
def _adapter_class(path: str) -> type[DefaultHankoflowAdapter]:
    return import_string(path)

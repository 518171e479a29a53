"""Hanko users as seen by hankoflow: accounts, their email addresses and usernames.

Hanko's user (platform.md §1, flow-api.md §4.6.1) is split in two here: the host project's own
``AUTH_USER_MODEL`` row holds the Django side (password hash, ``is_active``, admin permissions)
and an ``Account`` row gives it the UUID Hanko clients see (the JWT ``sub``). The account is a
one-to-one extension, so any user model works: integer or UUID primary key, username or email
as ``USERNAME_FIELD``. Email addresses (several per account, at most one primary) and the
optional username are Hanko's ``emails`` and ``usernames`` tables. Addresses and usernames are
stored lower-case (platform.md §1: "Email addresses are lower-cased before storage and lookup");
write them through ``hankoflow.services.accounts``, which normalises them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Account(models.Model):
    """The Hanko identity of one Django user; ``id`` is the Hanko user id (JWT ``sub``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hankoflow_account"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Hanko's user_metadata (platform.md §1.14): compact JSON object text, at most 3000
    # characters each; NULL (or "{}") is empty. Public: the user reads, admins write; private:
    # admins only; unsafe: the user reads and writes (profile action patch_metadata).
    public_metadata = models.TextField(null=True, blank=True)  # noqa: DJ001
    private_metadata = models.TextField(null=True, blank=True)  # noqa: DJ001
    unsafe_metadata = models.TextField(null=True, blank=True)  # noqa: DJ001
    # Hanko's user name fields (platform.md §4.3.2 PATCH /users, flow-api.md §4.6.1): set by the
    # admin API or a third-party provider's profile; empty when unknown.
    name = models.CharField(max_length=255, blank=True, default="")
    given_name = models.CharField(max_length=255, blank=True, default="")
    family_name = models.CharField(max_length=255, blank=True, default="")
    picture = models.URLField(max_length=2048, blank=True, default="")

    class Meta:
        db_table = "hankoflow_account"

    def __str__(self) -> str:
        return f"account {self.id}"


class Email(models.Model):
    """An email address of an account; unique across all accounts, stored lower-case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="emails")
    address = models.CharField(max_length=254, unique=True, help_text="stored lower-case")
    is_verified = models.BooleanField(default=False)
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hankoflow_email"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=models.Q(is_primary=True),
                name="hankoflow_email_one_primary_per_account",
            )
        ]

    def __str__(self) -> str:
        return self.address

    def save(self, *args, **kwargs) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)


class Username(models.Model):
    """The username of an account (at most one); unique, stored lower-case."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="username")
    # Hanko: the length policy is USERNAME.MIN_LENGTH/MAX_LENGTH on the inputs; the column only
    # bounds what any configuration could allow.
    username = models.CharField(max_length=255, unique=True, help_text="stored lower-case")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "hankoflow_username"

    def __str__(self) -> str:
        return self.username

    def save(self, *args, **kwargs) -> None:
        self.username = self.username.strip().lower()
        super().save(*args, **kwargs)

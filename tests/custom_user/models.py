"""Two user models unlike Django's own, to prove hankoflow assumes nothing about the user.

``EmailUser``: UUID primary key, the email address is the login (``USERNAME_FIELD``), no
``username``, ``first_name`` or ``last_name``. ``HandleUser``: integer key, a short ``handle``
as login (20 characters) and no email column at all.
"""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class EmailUserManager(BaseUserManager):
    def create_user(self, email, password=None):
        user = self.model(email=self.normalize_email(email))
        user.set_password(password)
        user.save(using=self._db)
        return user


class EmailUser(AbstractBaseUser):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    objects = EmailUserManager()

    def __str__(self) -> str:
        return self.email


class HandleUserManager(BaseUserManager):
    def create_user(self, handle, password=None):
        user = self.model(handle=handle)
        user.set_password(password)
        user.save(using=self._db)
        return user


class HandleUser(AbstractBaseUser):
    handle = models.CharField(max_length=20, unique=True)
    is_active = models.BooleanField(default=True)

    USERNAME_FIELD = "handle"

    objects = HandleUserManager()

    def __str__(self) -> str:
        return self.handle

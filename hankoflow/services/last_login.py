"""The user's ``last_login``: hankoflow's stand-in for Django's ``update_last_login`` receiver.

Django connects ``django.contrib.auth.models.update_last_login`` to ``user_logged_in`` under the
dispatch_uid "update_last_login"; it saves the user through the ORM (compiling the UPDATE and
sending the save signals) on every login. The app config (``hankoflow.apps``) connects its own
receiver in its place under the same dispatch_uid, which calls ``update_last_login`` below: it
writes the same field with ``rows.update`` (the ORM save whenever anything listens to the user
model's save signals), on every login path of the host project (admin login,
``django.contrib.auth.login``, hankoflow's flows). A host project that disconnects
"update_last_login" to not track logins disconnects it.

On PostgreSQL a flow sign-in writes ``last_login`` within the session's own statement
(``sessions.issuing``, with ``prepared_write``) and marks the user instance; the receiver then
skips the write it would repeat.
"""

from __future__ import annotations

import weakref
from datetime import datetime
from typing import Any

from django.contrib.auth import user_logged_in
from django.db.models import Model
from django.utils import timezone

from hankoflow.services import rows

DISPATCH_UID = "update_last_login"  # Django's own: whoever disconnects it disconnects ours
FIELD = ("last_login",)
_WRITTEN = "_hankoflow_last_login_written"  # on a user instance: the value its sign-in stored


def update_last_login(sender: Any, user: Model, **kwargs: Any) -> None:
    """What the app config's ``user_logged_in`` receiver runs: Django's ``update_last_login``
    without compiling a save."""
    written = user.__dict__.pop(_WRITTEN, None)
    if written is not None and written == user.last_login:
        return  # the sign-in's statement stored this very value
    user.last_login = timezone.now()
    rows.update(user, FIELD)


def connected() -> bool:
    """Whether the receiver under "update_last_login" is hankoflow's (not Django's, and not
    disconnected by the host project)."""
    for key, receiver, *_ in user_logged_in.receivers:
        if key[0] == DISPATCH_UID:
            if isinstance(receiver, weakref.ReferenceType):
                receiver = receiver()
            return getattr(receiver, "hankoflow_last_login", False)
    return False


def prepared_write(user: Model, alias: str) -> tuple[str, list[Any], datetime] | None:
    """The UPDATE text and parameters that set ``user.last_login`` to now, and that value, for a
    sign-in that sends them within its own statement on ``alias`` and then sends
    ``user_logged_in`` (call ``written`` once it is stored). None when the receiver must write it
    itself: not connected, the user model's save signals heard, another database."""
    if not connected():
        return None
    value = timezone.now()  # what Django's receiver would store, on every database alike
    previous = user.last_login
    user.last_login = value
    prepared = rows.prepared_update(user, FIELD)
    if prepared is None or prepared[0] != alias:
        user.last_login = previous
        return None
    return prepared[1], prepared[2], value


def written(user: Model, value: datetime) -> None:
    """Mark ``user`` as having ``value`` stored as its ``last_login``: the receiver skips it."""
    user.last_login = value
    user.__dict__[_WRITTEN] = value

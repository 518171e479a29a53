"""Issuing a session: sign the JWT, enforce ``SESSION.LIMIT`` and store the row
(platform.md §2.3, flow-api.md §4.5.2).

What the HTTP response must carry comes back as a ``NewSessionToken`` effect: the transport
(``hankoflow.http.sessions``) turns it into the ``X-Session-*`` headers and the cookie or
``X-Auth-Token``.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from django.contrib.auth import user_logged_in
from django.db import connections, router, transaction
from django.db.models import Model
from django.http import HttpRequest

from hankoflow import clock, jwt_template, signals
from hankoflow.adapter import get_adapter
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.models.sessions import Session
from hankoflow.services import last_login, rows
from hankoflow.services.client_ip import valid_address
from hankoflow.services.sessions import tokens
from hankoflow.services.sessions.revocation import end, lock_account

logger = logging.getLogger("hankoflow.sessions")

Retention = Literal["persistent", "session"]

USER_AGENT_MAX_LENGTH = 512  # Session.user_agent


@dataclass(frozen=True)
class NewSessionToken:
    """A response effect in data only: hand the client this token for ``lifetime`` seconds,
    kept for the browser session or persistently (``retention``)."""

    token: str = field(repr=False)
    lifetime: int
    retention: Retention


@dataclass(frozen=True)
class IssuedSession:
    """A new session: the JWT, the ``claims`` payload object of flow-api.md §4.5.2 step 3, the
    retention chosen, and the effects that put it into the HTTP response."""

    token: str = field(repr=False)
    session_id: str
    claims: dict[str, Any]
    retention: Retention
    effects: tuple[Any, ...]


def retention_for(remember_me: bool | None) -> Retention:
    """flow-api.md §4.5.2 step 6: ``prompt`` is persistent only after "stay signed in"."""
    configured = settings.SESSION.COOKIE.RETENTION
    if configured == "session" or (configured == "prompt" and remember_me is not True):
        return "session"
    return "persistent"


def issue(
    account: Account,
    *,
    amr: list[str],
    env: RequestFacts | None,
    remember_me: bool | None,
    also: Model | None = None,
    account_locked: bool = False,
) -> IssuedSession:
    """Sign a session JWT for ``account`` and store its row (platform.md §2.3).

    The token carries the adapter's ``build_jwt_claims`` (by default Hanko's
    ``SESSION.JWT_TEMPLATE``) under the built-in claims, which always win.

    Runs in the caller's transaction. The account row is locked so that concurrent logins of
    one user cannot exceed ``SESSION.LIMIT``: the oldest active sessions beyond ``LIMIT - 1``
    are deleted before the new one is stored. ``env`` supplies the IP and User-Agent stored on
    the row (``SESSION.ACQUIRE_*``); ``None`` for sessions made outside a request. ``also`` is
    one more new row to store with the session (the sign-in's audit entry): on PostgreSQL in
    the session's statement, elsewhere right after it. ``account_locked``: the caller's
    transaction holds that lock already (it loaded the account with ``lock=True``).
    """
    now = clock.now().replace(microsecond=0)
    iat = int(now.timestamp())
    lifespan = int(settings.SESSION.LIFESPAN)
    expires_at = now + timedelta(seconds=lifespan)
    session_id = uuid.uuid4()
    session = Session(
        id=session_id,
        account=account,
        user_agent=storable_user_agent(env.user_agent)
        if env and settings.SESSION.ACQUIRE_USER_AGENT
        else "",
        ip_address=storable_ip(env.ip) if env and settings.SESSION.ACQUIRE_IP_ADDRESS else "",
        created_at=now,
        updated_at=now,
        last_used=now,
        expires_at=expires_at,
        authenticated_at=now,  # the sign-in proved who the person is (PROFILE re-authentication)
    )
    claims = tokens.token_claims(
        account, iat=iat, exp=iat + lifespan, session_id=session_id, amr=amr
    )
    custom = get_adapter().build_jwt_claims(account, session, dict(claims))
    claims = {**custom_claims(custom), **claims}  # platform.md §2.1: built-in claims win
    token = tokens.sign(claims)
    # No savepoint: nothing here is caught and retried, so an error fails the caller's
    # transaction as a whole (the flow step answers technical_error); the block only makes sure
    # there is a transaction for the lock when the caller has none.
    # ``user_logged_in`` follows (updating ``last_login``) only for real HTTP logins.
    user = account.user if env is not None else None
    with transaction.atomic(savepoint=False):
        if not account_locked:
            lock_account(account)
        _store_within_limit(
            session, account, now, request=env.request if env else None, also=also, user=user
        )
    if env is not None:
        # Django's own login signal (hankoflow's receiver for ``last_login``, see last_login).
        user_logged_in.send(sender=account.user.__class__, request=env.request, user=account.user)
    retention = retention_for(remember_me)
    return IssuedSession(
        token=token,
        session_id=str(session_id),
        claims=tokens.claims_payload(claims),
        retention=retention,
        effects=(NewSessionToken(token, lifespan, retention),),
    )


def custom_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """The adapter's extra claims without the reserved names, each dropped with a warning."""
    dropped = sorted(name for name in claims if name in jwt_template.RESERVED_CLAIMS)
    if dropped:
        logger.warning("build_jwt_claims returned reserved claims, dropped: %s", dropped)
    return {name: value for name, value in claims.items() if name not in dropped}


def _store_within_limit(
    session: Session,
    account: Account,
    now: datetime,
    *,
    request: HttpRequest | None,
    also: Model | None = None,
    user: Model | None = None,
) -> None:
    """Store the new session and end the oldest active ones beyond ``SESSION.LIMIT``: the user
    keeps the newest LIMIT - 1 and the new one. Only the ids of the sessions past them come
    back, so a user under the limit (nearly every login) costs no model; on PostgreSQL the
    INSERT and that SELECT are one statement, with ``also``'s INSERT when it goes to the same
    database and nothing listens to its save signals, and with the UPDATE of ``user``'s
    ``last_login`` (a sign-in that sends ``user_logged_in`` next) when
    ``last_login.prepared_write`` allows it."""
    keep = max(int(settings.SESSION.LIMIT), 1) - 1
    alias = router.db_for_write(Session)
    one_statement = connections[alias].vendor == "postgresql"
    prepared = rows.prepared_insert(session) if one_statement else None
    if prepared is not None:
        extra = rows.prepared_insert(also) if also is not None else None
        if extra is not None and extra[0] != alias:
            extra = None
        login = last_login.prepared_write(user, alias) if user is not None else None
        beyond = _store_and_list(session, prepared, now, keep, extra, login[:2] if login else None)
        if login is not None:
            last_login.written(user, login[2])
        if extra is not None:
            rows.stored(also, alias)
        elif also is not None:
            rows.insert(also)
    else:
        beyond = _active_beyond(account.pk, now, keep)
        rows.insert(session)
        if also is not None:
            rows.insert(also)
    if beyond:
        ended = list(Session.objects.filter(pk__in=beyond).order_by("-created_at", "-last_used"))
        end(ended, account, signals.REASON_LIMIT, request)


def _store_and_list(
    session: Session,
    prepared: tuple[str, str, list[Any]],
    now: datetime,
    keep: int,
    extra: tuple[str, str, list[Any]] | None = None,
    login: tuple[str, list[Any]] | None = None,
) -> list[Any]:
    """``_active_beyond`` and the new session's INSERT (and ``extra``'s, another row's prepared
    INSERT, and ``login``, the user's prepared UPDATE of ``last_login``) in one statement
    (PostgreSQL): the SELECT sees the rows as they were before the INSERT, so the new session is
    never listed."""
    alias, _, insert_params = prepared
    connection = connections[alias]
    params = [*_beyond_params(connection, session.account_id, now, keep), *insert_params]
    if extra is not None:
        params += extra[2]
    if login is not None:
        params += login[1]
    sql = _store_and_list_query(
        alias, extra[1] if extra is not None else None, login[0] if login is not None else None
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = [pk for (pk,) in cursor.fetchall()]
    rows.stored(session, alias)
    return found


@functools.lru_cache(maxsize=8)
def _store_and_list_query(alias: str, extra: str | None = None, login: str | None = None) -> str:
    # ``extra``: an INSERT text from ``rows.insert_sql``, ``login`` an UPDATE text from
    # ``rows.update_sql`` (quoted names only, values as params). The parameters follow the order
    # of the texts. Which parts there are depends on settings and receivers, never on the
    # account (PC-08).
    pk = connections[alias].ops.quote_name(_SESSION_PK.column)
    insert = rows.insert_sql(Session, alias)
    also = f", also AS ({extra})" if extra is not None else ""
    seen = f", seen AS ({login})" if login is not None else ""
    return (
        f"WITH beyond AS ({_active_beyond_query(alias)}), stored AS ({insert}){also}{seen}"  # noqa: S608
        f" SELECT {pk} FROM beyond"
    )


def _active_beyond(account_id: Any, now: datetime, keep: int) -> list[Any]:
    """The ids of the account's active sessions after its newest ``keep``, locked until the
    transaction ends (a logout racing with this cannot end one of them a second time; the
    newest ``keep`` are locked too, as rows an OFFSET skips are)."""
    alias = router.db_for_write(Session)
    connection = connections[alias]
    if connection.vendor not in _OFFSET_VENDORS:
        active = (
            Session.objects.select_for_update()
            .filter(account_id=account_id, expires_at__gt=now)
            .order_by("-created_at", "-last_used")
            .values_list("pk", flat=True)
        )
        return list(active[keep:])
    params = _beyond_params(connection, account_id, now, keep)
    sql = _active_beyond_query(alias)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_SESSION_PK.to_python(pk) for (pk,) in cursor.fetchall()]


def _beyond_params(connection: Any, account_id: Any, now: datetime, keep: int) -> list[Any]:
    return [
        Account._meta.pk.get_db_prep_value(account_id, connection),
        _EXPIRES_AT.get_db_prep_value(now, connection),
        keep,
    ]


_OFFSET_VENDORS = ("postgresql", "sqlite")
_EXPIRES_AT = Session._meta.get_field("expires_at")
_SESSION_PK = Session._meta.pk


@functools.lru_cache(maxsize=8)
def _active_beyond_query(alias: str) -> str:
    """Written once per database from the model's table and columns: compiling the ORM's query
    on every login cost more than running it. Only quoted names go into the text."""
    connection = connections[alias]
    quote = connection.ops.quote_name
    meta = Session._meta
    column = {name: quote(meta.get_field(name).column) for name in _COLUMNS}
    # SQLite takes an OFFSET only after a LIMIT (-1: none); PostgreSQL takes it alone.
    no_limit = connection.ops.no_limit_value()
    window = "OFFSET %s" if no_limit is None else f"LIMIT {no_limit} OFFSET %s"
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    return (
        f"SELECT {column['id']} FROM {quote(meta.db_table)}"  # noqa: S608
        f" WHERE {column['account']} = %s AND {column['expires_at']} > %s"
        f" ORDER BY {column['created_at']} DESC, {column['last_used']} DESC {window}{lock}"
    )


_COLUMNS = ("id", "account", "expires_at", "created_at", "last_used")


def storable_user_agent(value: str) -> str:
    """A ``User-Agent`` as stored on a session row: printable characters only, at most
    ``USER_AGENT_MAX_LENGTH`` (PostgreSQL refuses NUL and overlong text)."""
    return "".join(char for char in value if char.isprintable())[:USER_AGENT_MAX_LENGTH]


def storable_ip(value: str) -> str:
    """A client address as stored on a session row: a valid IP address, else empty."""
    return value if valid_address(value) else ""

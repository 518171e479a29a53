"""Writing an email to the outbox in the flow step's transaction (security-checks.md RE-05,
PC-01, PC-08).

``queue()`` writes an ``OutboxEmail`` row in the caller's transaction and, once that commits,
hands it to ``dispatch.send_after_commit`` (Celery or in-process, per ``EMAIL_DELIVERY.MODE``).
A rolled-back step leaves no row and sends nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, router, transaction
from django.db.models.constants import OnConflict
from django.db.models.sql.subqueries import InsertQuery

from hankoflow.conf import settings
from hankoflow.emails import CODE_KINDS, KINDS, NOTICE_KINDS, language_for
from hankoflow.models.outbox import OutboxEmail
from hankoflow.services import rows, webhooks
from hankoflow.services.mail import delivery, dispatch, encryption


def queue(
    kind: str,
    *,
    to: str,
    language: str,
    context: dict[str, Any],
    secret: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> OutboxEmail:
    """Write an email to the outbox in the caller's transaction; it is sent after the commit.

    ``language`` is an ``X-Language`` value or one of our language codes (see
    ``language_for``). ``context`` is stored in the clear: never put a code in it; code kinds
    take ``secret={"code": ...}``, which is stored encrypted (notices store an encrypted empty
    one). ``service_name`` and, for code kinds, ``ttl_minutes`` default to the configured values.
    With ``dedupe_key`` a second call returns the first row and sends nothing new.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    if kind in CODE_KINDS and not (secret and secret.get("code")):
        raise ValueError(f"a {kind!r} email needs secret={{'code': ...}}")
    if kind not in CODE_KINDS and secret:
        raise ValueError(f"a {kind!r} email carries no secret")
    if "code" in context:
        raise ValueError("the code goes in `secret`, never in the stored context")
    values = {"service_name": settings.SERVICE.NAME, **context}
    if kind in CODE_KINDS:
        values.setdefault("ttl_minutes", ttl_minutes(settings.EMAIL.PASSCODE_TTL))
    fields = {
        "kind": kind,
        "to": to,
        "language": language_for(language),
        "context": values,
        "secret": encryption.encrypt(secret) if secret else _padding(kind),
        "dedupe_key": dedupe_key,
    }
    alias = router.db_for_write(OutboxEmail)
    row = OutboxEmail(**fields)
    if dedupe_key is None:
        rows.insert(row)  # written once per database, as ``_insert_unless_present``'s
    else:
        if not _insert_unless_present(row, alias):
            return OutboxEmail.objects.using(alias).get(dedupe_key=dedupe_key)
    code = secret.get("code") if secret else None
    webhooks.email_sent(kind, to=to, language=language, context=values, code=code)  # email.send
    passcode_id = delivery.passcode_of(dedupe_key)
    handed_on = (str(row.pk), passcode_id) if passcode_id else (str(row.pk),)
    transaction.on_commit(functools.partial(dispatch.send_after_commit, *handed_on), using=alias)
    return row


def _insert_unless_present(row: OutboxEmail, alias: str) -> bool:
    """INSERT the row unless one with its ``dedupe_key`` exists; whether it was inserted.

    One statement (``ON CONFLICT DO NOTHING``) instead of a look-up and an INSERT in a
    savepoint: a row a concurrent transaction is inserting is waited for, and then not inserted
    again, without aborting ours. Written once per database (``rows.insert_sql``) unless
    something listens to the model's save signals; the ORM compiles it then.
    """
    # ON CONFLICT DO NOTHING is PostgreSQL's and SQLite's; other databases take the ORM's form.
    written = connections[alias].vendor in ("postgresql", "sqlite")
    prepared = rows.prepared_insert(row) if written else None
    if prepared is not None and prepared[0] == alias:
        _, insert, params = prepared
        sql = f"{insert} ON CONFLICT DO NOTHING"
    else:
        fields = list(OutboxEmail._meta.concrete_fields)
        for field in fields:
            field.pre_save(row, add=True)  # defaults, as ``create`` would
        query = InsertQuery(OutboxEmail, on_conflict=OnConflict.IGNORE)
        query.insert_values(fields, [row])
        ((sql, params),) = query.get_compiler(alias).as_sql()
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        inserted = cursor.rowcount == 1
    if inserted:
        rows.stored(row, alias)
    return inserted


def requeue(row: OutboxEmail) -> bool:
    """Send a sent or failed email again (staff's "resend"): pending with a fresh attempt count,
    handed on after the commit like a new row. False, and nothing changes, for a code email whose
    code was wiped after delivery (a new code needs a new flow step) or a row still pending."""
    if row.status == OutboxEmail.Status.PENDING or (row.kind in CODE_KINDS and not row.secret):
        return False
    alias = router.db_for_write(OutboxEmail)
    updated = (
        OutboxEmail.objects.using(alias)
        .filter(pk=row.pk, status=row.status)
        .update(
            status=OutboxEmail.Status.PENDING,
            attempts=0,
            next_attempt_at=None,
            sent_at=None,
            last_error="",
        )
    )
    if updated:
        transaction.on_commit(
            functools.partial(dispatch.send_after_commit, str(row.pk)), using=alias
        )
    return bool(updated)


def ttl_minutes(seconds: int) -> int:
    """A passcode lifetime in whole minutes as the emails state it (rounded half up, at least 1)."""
    return max(1, int(seconds / 60 + 0.5))


def _padding(kind: str) -> str | None:
    """A notice stands in for a code email: it costs the same encryption (and decryption when
    sent), of nothing, so the two cannot be told apart by time (security-checks PC-08)."""
    return encryption.encrypt({}) if kind in NOTICE_KINDS else None

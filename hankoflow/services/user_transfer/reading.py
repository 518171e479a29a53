"""Reading a whole user file before anything is written: rows with their line numbers, JSON
errors with line and column, duplicates within the file and against the database."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from hankoflow.models import Account, Email, Username, WebauthnCredential
from hankoflow.services.user_transfer.records import _QUERY_CHUNK, ReadResult, RowError, UserRecord
from hankoflow.services.user_transfer.validation import _validate_row

# --- reading ------------------------------------------------------------------------------------


def read_file(text: str) -> ReadResult:
    """Parse and validate a whole import file; ``errors`` empty means it may be imported."""
    try:
        rows = _split_rows(text)
    except json.JSONDecodeError as exc:
        return ReadResult([], [RowError(None, exc.lineno, f"column {exc.colno}: {exc.msg}")])
    except _NotAnArray as exc:
        return ReadResult([], [RowError(None, exc.line, str(exc))])
    records: list[UserRecord] = []
    errors: list[RowError] = []
    for index, line, data in rows:
        problems: list[str] = []
        record = _validate_row(index, line, data, problems)
        errors.extend(RowError(index, line, message) for message in problems)
        if record is not None and not problems:
            records.append(record)
    errors.extend(_duplicates(records))
    errors.sort(key=lambda e: e.index if e.index is not None else -1)
    return ReadResult(records, errors)


class _NotAnArray(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def _split_rows(text: str) -> list[tuple[int, int, Any]]:
    """The top-level array's elements with their index and the line each starts on."""
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if pos >= len(text) or text[pos] != "[":
        if pos < len(text):
            decoder.decode(text)  # a JSON error in something that is not an array is reported
        raise _NotAnArray("the file must hold a JSON array of users", _line_of(text, pos))
    pos = _skip_space(text, pos + 1)
    rows: list[tuple[int, int, Any]] = []
    if pos < len(text) and text[pos] == "]":
        pos += 1
    else:
        while True:
            line = _line_of(text, pos)
            try:
                value, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError:
                if pos >= len(text):
                    raise json.JSONDecodeError("unexpected end of file", text, pos) from None
                raise
            rows.append((len(rows), line, value))
            pos = _skip_space(text, pos)
            if pos < len(text) and text[pos] == ",":
                pos = _skip_space(text, pos + 1)
                continue
            if pos < len(text) and text[pos] == "]":
                pos += 1
                break
            raise json.JSONDecodeError("expected ',' or ']' after a user", text, pos)
    pos = _skip_space(text, pos)
    if pos < len(text):
        raise json.JSONDecodeError("extra data after the array", text, pos)
    return rows


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _duplicates(records: list[UserRecord]) -> list[RowError]:
    """Values that must be unique, used twice in the file or already in the database."""
    errors: list[RowError] = []
    kinds: list[tuple[str, Callable[[UserRecord], Iterable[str]], Callable[[list[str]], set[str]]]]
    kinds = [
        ("user_id", lambda r: [str(r.user_id)] if r.user_id else [], _existing_accounts),
        ("email", lambda r: [e.address for e in r.emails], _existing_emails),
        ("username", lambda r: [r.username] if r.username else [], _existing_usernames),
        ("credential id", lambda r: [c.id for c in r.credentials], _existing_credentials),
    ]
    for label, values_of, existing in kinds:
        first_seen: dict[str, UserRecord] = {}
        for record in records:
            for value in values_of(record):
                if value in first_seen:
                    earlier = first_seen[value]
                    errors.append(
                        RowError(
                            record.index,
                            record.line,
                            f"{label} {value!r} also in row {earlier.index} (line {earlier.line})",
                        )
                    )
                else:
                    first_seen[value] = record
        taken = existing(list(first_seen))
        for value in sorted(taken):
            record = first_seen[value]
            errors.append(RowError(record.index, record.line, f"{label} {value!r} already exists"))
    return errors


def _in_chunks(values: list[str], query: Callable[[list[str]], Iterable[Any]]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(values), _QUERY_CHUNK):
        found.update(str(v) for v in query(values[start : start + _QUERY_CHUNK]))
    return found


def _existing_accounts(values: list[str]) -> set[str]:
    return _in_chunks(
        values, lambda chunk: Account.objects.filter(pk__in=chunk).values_list("pk", flat=True)
    )


def _existing_emails(values: list[str]) -> set[str]:
    return _in_chunks(
        values,
        lambda chunk: Email.objects.filter(address__in=chunk).values_list("address", flat=True),
    )


def _existing_usernames(values: list[str]) -> set[str]:
    return _in_chunks(
        values,
        lambda chunk: Username.objects.filter(username__in=chunk).values_list(
            "username", flat=True
        ),
    )


def _existing_credentials(values: list[str]) -> set[str]:
    return _in_chunks(
        values,
        lambda chunk: WebauthnCredential.objects.filter(pk__in=chunk).values_list("pk", flat=True),
    )

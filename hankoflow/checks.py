"""Django system checks: report invalid ``HANKOFLOW`` values at start-up, not at request time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.checks import Error, Warning, register

from hankoflow.conf import _FREE_FORM, CHOICES, DEFAULTS, settings


def _walk(defaults: dict[str, Any], values: dict[str, Any], path: str = "") -> Iterator[Error]:
    for key, value in values.items():
        dotted = f"{path}{key}"
        if key not in defaults:
            yield Error(f"HANKOFLOW[{dotted}] is not a hankoflow setting.", id="hankoflow.E001")
            continue
        default = defaults[key]
        if isinstance(default, dict) and key not in _FREE_FORM:
            if isinstance(value, dict):
                yield from _walk(default, value, f"{dotted}.")
            else:
                yield Error(f"HANKOFLOW[{dotted}] must be a dict.", id="hankoflow.E002")
        elif not _same_kind(default, value):
            yield Error(
                f"HANKOFLOW[{dotted}] must be of type {type(default).__name__}, "
                f"not {type(value).__name__}.",
                id="hankoflow.E002",
            )
        elif dotted in CHOICES and value not in CHOICES[dotted]:
            yield Error(
                f"HANKOFLOW[{dotted}] must be one of {', '.join(CHOICES[dotted])}.",
                id="hankoflow.E003",
            )


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, type(default))


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = list(_walk(DEFAULTS, settings.user_settings()))
    if problems:
        return problems
    origins = settings.CORS.ALLOW_ORIGINS
    if "*" in origins and not settings.CORS.UNSAFE_WILDCARD_ORIGIN_ALLOWED:
        problems.append(
            Error(
                "HANKOFLOW[CORS.ALLOW_ORIGINS] contains '*', which browsers refuse with "
                "credentials; list the origins or set CORS.UNSAFE_WILDCARD_ORIGIN_ALLOWED.",
                id="hankoflow.E004",
            )
        )
    for dotted in ("FLOW.TTL", "FLOW.MAX_BODY_SIZE", "SESSION.LIFESPAN", "EMAIL.PASSCODE_TTL"):
        if settings.get(dotted) <= 0:
            problems.append(Error(f"HANKOFLOW[{dotted}] must be positive.", id="hankoflow.E005"))
    if not settings.WEBAUTHN.RELYING_PARTY.ID:
        problems.append(
            Error("HANKOFLOW[WEBAUTHN.RELYING_PARTY.ID] must not be empty.", id="hankoflow.E006")
        )
    return problems

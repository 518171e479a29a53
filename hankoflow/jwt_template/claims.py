"""The CLAIMS setting: which claim names a template may not set, rendering every claim for a
user with Hanko's post-processing, and the problems ``manage.py check`` reports."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from hankoflow.jwt_template.errors import TemplateError
from hankoflow.jwt_template.evaluation import render
from hankoflow.jwt_template.parser import parse

logger = logging.getLogger("hankoflow.sessions")

# Claims the built-in values always overwrite (platform.md §2.1.2 lists the first nine).
# Hanko: ignores nbf and jti in templates silently too (they are not reserved there); a template
# ``nbf`` in the future would make every token invalid here, so both are refused as well.
RESERVED_CLAIMS = frozenset(
    {"sub", "iat", "exp", "aud", "session_id", "email", "username", "amr", "iss", "nbf", "jti"}
)


def render_claims(claims: Mapping[str, Any], user: Mapping[str, Any]) -> dict[str, Any]:
    """The custom claims of ``claims`` (the CLAIMS setting) rendered for ``user`` (the data
    behind ``.User``). Reserved names are left out: the built-in values win (platform.md
    §2.1.2). A claim that fails is logged and skipped, as in Hanko."""
    data = {"User": user}
    result: dict[str, Any] = {}
    for name, value in claims.items():
        if name in RESERVED_CLAIMS:
            continue
        try:
            result[name] = _render_value(value, data)
        except TemplateError as problem:
            logger.warning("JWT template claim %r skipped: %s", name, problem)
    return result


def template_errors(claims: Any) -> Iterator[tuple[str, str]]:
    """``(claim name, problem)`` for each claim of the CLAIMS setting that cannot work: a
    reserved name, a name that is not a string, or a template string that does not parse."""
    if not isinstance(claims, Mapping):
        return
    for name, value in claims.items():
        if not isinstance(name, str) or not name:
            yield str(name), "claim names must be non-empty strings"
        elif name in RESERVED_CLAIMS:
            yield name, "is a registered claim the session always sets itself"
        else:
            for text in _strings(value):
                try:
                    parse(text)
                except TemplateError as problem:
                    yield name, str(problem)


# --- values and post-processing ----------------------------------------------------------------


def _render_value(value: Any, data: Any) -> Any:
    if isinstance(value, str):
        return _post_process(render(value, data))
    if isinstance(value, Mapping):
        return {key: _render_value(item, data) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_render_value(item, data) for item in value]
    return value


def _post_process(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    stripped = text.strip()
    if (stripped.startswith("{") and stripped.endswith("}")) or (
        stripped.startswith("[") and stripped.endswith("]")
    ):
        try:
            return json.loads(stripped)
        except ValueError:
            return text
    return text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)

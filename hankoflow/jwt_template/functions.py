"""The functions a JWT template may call (``and``, ``or``, ``not``, ``eq``, ``ne``, ``len``,
``print``), with Go's truthiness and default formatting they rely on."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hankoflow.jwt_template.errors import TemplateError


def truthy(value: Any) -> bool:
    """Go's truth: false, 0, nil, and empty strings, lists and maps are false."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | tuple | Mapping):
        return bool(value)
    return True


def text_of(value: Any) -> str:
    """Go's default formatting of a value, for the types the template data holds."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + " ".join(text_of(item) for item in value.values()) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(text_of(item) for item in value) + "]"
    return str(value)


def _and(*values: Any) -> Any:
    if not values:
        raise TemplateError("and needs at least one argument")
    for value in values:
        if not truthy(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    if not values:
        raise TemplateError("or needs at least one argument")
    for value in values:
        if truthy(value):
            return value
    return values[-1]


def _not(*values: Any) -> bool:
    if len(values) != 1:
        raise TemplateError("not needs one argument")
    return not truthy(values[0])


def _eq(*values: Any) -> bool:
    if len(values) < 2:
        raise TemplateError("eq needs at least two arguments")
    return any(values[0] == other for other in values[1:])


def _ne(*values: Any) -> bool:
    if len(values) != 2:
        raise TemplateError("ne needs two arguments")
    return values[0] != values[1]


def _len(*values: Any) -> int:
    if len(values) != 1 or not isinstance(values[0], str | list | tuple | Mapping):
        raise TemplateError("len needs one string, list or map")
    return len(values[0])


def _print(*values: Any) -> str:
    # Go's fmt.Sprint: a space only between operands when neither is a string.
    text = ""
    for index, value in enumerate(values):
        if index and not isinstance(value, str) and not isinstance(values[index - 1], str):
            text += " "
        text += text_of(value)
    return text


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "and": _and,
    "or": _or,
    "not": _not,
    "eq": _eq,
    "ne": _ne,
    "len": _len,
    "print": _print,
}

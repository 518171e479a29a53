"""Hanko's ``session.jwt_template.claims``: custom JWT claims from a template over the user's
data (platform.md §2.1.2), read from ``HANKOFLOW["SESSION"]["JWT_TEMPLATE"]["CLAIMS"]``.

Claim values may be scalars, lists, nested dicts or strings. Strings are templates in Go's
``text/template`` syntax, evaluated against ``{"User": {...}}``; this module implements the part
of that language Hanko's documented examples use: field chains (``{{ .User.Email.Address }}``),
``if``/``else if``/``else``/``with``/``end``, the functions ``and``, ``or``, ``not``, ``eq``,
``ne``, ``len`` and ``print``, pipes (``|``), string/number/bool literals, ``{{- -}}`` trimming and
``{{/* comments */}}``. Each rendered string is then post-processed as Hanko does: exactly
``"true"``/``"false"`` become booleans, text in ``{...}`` or ``[...]`` that parses as JSON becomes
that value.

A claim whose template cannot be parsed or evaluated (e.g. ``.User.Email.Address`` for a user
without an email) is logged and left out; the token is still issued. ``manage.py check`` reports
templates that do not parse (hankoflow.E021) before any token is signed.

No Django here: the adapter builds the data (``DefaultHankoflowAdapter.build_jwt_claims``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

logger = logging.getLogger("hankoflow.sessions")

# Claims the built-in values always overwrite (platform.md §2.1.2 lists the first nine).
# Hanko: ignores nbf and jti in templates silently too (they are not reserved there); a template
# ``nbf`` in the future would make every token invalid here, so both are refused as well.
RESERVED_CLAIMS = frozenset(
    {"sub", "iat", "exp", "aud", "session_id", "email", "username", "amr", "iss", "nbf", "jti"}
)


class TemplateError(ValueError):
    """A template that does not parse, or cannot be evaluated against the data."""


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


def render(text: str, data: Any) -> str:
    """One template string rendered against ``data`` (the dot)."""
    out: list[str] = []
    _run(parse(text), data, out)
    return "".join(out)


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


# --- parsing -------------------------------------------------------------------------------------


@dataclass
class _Output:
    pipeline: list[list[Any]]


@dataclass
class _Branch:
    kind: str  # "if" or "with"
    arms: list[tuple[list[list[Any]], list[Any]]] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class _Field:
    path: tuple[str, ...]  # () is the dot itself


@dataclass(frozen=True)
class _Name:
    name: str


_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\\n]|\\.)*")
      | (?P<raw>`[^`]*`)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<field>(?:\.[A-Za-z_]\w*)+|\.)
      | (?P<name>[A-Za-z_]\w*)
      | (?P<punct>[()|])
    )""",
    re.VERBOSE,
)
_MAX_TEMPLATE_LENGTH = 4096


@lru_cache(maxsize=256)
def parse(text: str) -> tuple[Any, ...]:
    """The parsed template (cached); raises ``TemplateError`` for anything outside the subset."""
    if len(text) > _MAX_TEMPLATE_LENGTH:
        raise TemplateError("template too long")
    root: list[Any] = []
    stack: list[tuple[_Branch, list[Any]]] = []  # open branches and the list being filled
    body = root
    position = 0
    trim_next = False
    for match in _ACTION.finditer(text):
        chunk = text[position : match.start()]
        if trim_next:
            chunk = chunk.lstrip()
        if match.group(1):
            chunk = chunk.rstrip()
        if chunk:
            body.append(chunk)
        trim_next = bool(match.group(3))
        position = match.end()
        inner = match.group(2).strip()
        if inner.startswith("/*"):
            if not inner.endswith("*/"):
                raise TemplateError("unclosed comment")
            continue
        if "{{" in inner:
            raise TemplateError("unclosed action")
        keyword, _, rest = inner.partition(" ")
        rest = rest.strip()
        if keyword in ("if", "with"):
            branch = _Branch(keyword)
            branch.arms.append((_pipeline(rest), []))
            body.append(branch)
            stack.append((branch, body))
            body = branch.arms[-1][1]
        elif keyword == "else":
            if not stack:
                raise TemplateError("unexpected {{else}}")
            branch = stack[-1][0]
            if body is branch.otherwise:
                raise TemplateError("{{else}} after {{else}}")
            if rest.startswith("if ") or rest.startswith("with "):
                kind, _, condition = rest.partition(" ")
                if kind != branch.kind:
                    raise TemplateError(f"{{{{else {kind}}}}} inside {{{{{branch.kind}}}}}")
                branch.arms.append((_pipeline(condition.strip()), []))
                body = branch.arms[-1][1]
            elif rest:
                raise TemplateError(f"unexpected {rest!r} after else")
            else:
                body = branch.otherwise
        elif keyword == "end":
            if not stack or rest:
                raise TemplateError("unexpected {{end}}")
            body = stack.pop()[1]
        elif keyword in ("range", "template", "define", "block", "break", "continue"):
            raise TemplateError(f"{{{{{keyword}}}}} is not supported in JWT templates")
        else:
            body.append(_Output(_pipeline(inner)))
    if stack:
        raise TemplateError(f"unclosed {{{{{stack[-1][0].kind}}}}}")
    tail = text[position:]
    if "{{" in tail:
        raise TemplateError("unclosed action")
    if trim_next:
        tail = tail.lstrip()
    if tail:
        body.append(tail)
    return tuple(root)


def _pipeline(text: str) -> list[list[Any]]:
    tokens = _tokens(text)
    pipeline, rest = _parse_pipeline(tokens, 0)
    if rest != len(tokens):
        raise TemplateError(f"unexpected {tokens[rest]!r}")
    return pipeline


def _tokens(text: str) -> list[Any]:
    tokens: list[Any] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise TemplateError(f"cannot parse {text[position:]!r}")
        position = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "string":
            try:
                tokens.append(("literal", json.loads(value)))
            except ValueError:
                raise TemplateError(f"bad string {value}") from None
        elif kind == "raw":
            tokens.append(("literal", value[1:-1]))
        elif kind == "number":
            tokens.append(("literal", float(value) if "." in value else int(value)))
        elif kind == "field":
            tokens.append(_Field(tuple(part for part in value.split(".") if part)))
        elif kind == "name":
            literals = {"true": True, "false": False, "nil": None}
            if value in literals:
                tokens.append(("literal", literals[value]))
            elif value in _FUNCTIONS:
                tokens.append(_Name(value))
            else:
                raise TemplateError(f'function "{value}" not defined')
        else:
            tokens.append(value)
    return tokens


def _parse_pipeline(tokens: list[Any], start: int) -> tuple[list[list[Any]], int]:
    pipeline: list[list[Any]] = []
    command: list[Any] = []
    index = start
    while index < len(tokens):
        item = tokens[index]
        if item == ")":
            break
        if item == "|":
            if not command:
                raise TemplateError("missing command before |")
            pipeline.append(command)
            command = []
            index += 1
        elif item == "(":
            inner, index = _parse_pipeline(tokens, index + 1)
            if index >= len(tokens) or tokens[index] != ")":
                raise TemplateError("unclosed (")
            command.append(("pipeline", inner))
            index += 1
        else:
            command.append(item)
            index += 1
    if not command:
        raise TemplateError("missing value")
    pipeline.append(command)
    return pipeline, index


# --- evaluation ----------------------------------------------------------------------------------


def _run(nodes: tuple[Any, ...] | list[Any], dot: Any, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, _Output):
            out.append(_text(_evaluate(node.pipeline, dot)))
        else:
            for condition, body in node.arms:
                value = _evaluate(condition, dot)
                if _truthy(value):
                    _run(body, value if node.kind == "with" else dot, out)
                    break
            else:
                _run(node.otherwise, dot, out)


def _evaluate(pipeline: list[list[Any]], dot: Any) -> Any:
    piped: list[Any] = []
    value: Any = None
    for command in pipeline:
        value = _command(command, dot, piped)
        piped = [value]
    return value


def _command(command: list[Any], dot: Any, piped: list[Any]) -> Any:
    head, args = command[0], command[1:]
    if isinstance(head, _Name):
        values = [_operand(arg, dot) for arg in args] + piped
        return _FUNCTIONS[head.name](*values)
    if args or piped:
        if isinstance(head, _Field):
            target = _resolve(head.path, dot)
            if callable(target):
                return target(*[_operand(arg, dot) for arg in args], *piped)
        raise TemplateError("can't give an argument to a non-function")
    return _operand(head, dot)


def _operand(token: Any, dot: Any) -> Any:
    if isinstance(token, _Field):
        target = _resolve(token.path, dot)
        return target() if callable(target) else target
    if isinstance(token, tuple) and token[0] == "literal":
        return token[1]
    if isinstance(token, tuple) and token[0] == "pipeline":
        return _evaluate(token[1], dot)
    if isinstance(token, _Name):
        return _FUNCTIONS[token.name]()
    raise TemplateError(f"unexpected {token!r}")


def _resolve(path: tuple[str, ...], dot: Any) -> Any:
    value = dot
    for index, name in enumerate(path):
        if callable(value):
            value = value()
        if value is None:
            where = "." + ".".join(path[:index]) if index else "."
            raise TemplateError(f"nil pointer evaluating {where}.{name}")
        if not isinstance(value, Mapping) or name not in value:
            raise TemplateError(f"can't evaluate field {name}")
        value = value[name]
    return value


def _truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, int | float | str | list | tuple | Mapping):
        return bool(value)
    return True


def _text(value: Any) -> str:
    """Go's default formatting of a value, for the types the template data holds."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + " ".join(_text(item) for item in value.values()) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(_text(item) for item in value) + "]"
    return str(value)


def _and(*values: Any) -> Any:
    if not values:
        raise TemplateError("and needs at least one argument")
    for value in values:
        if not _truthy(value):
            return value
    return values[-1]


def _or(*values: Any) -> Any:
    if not values:
        raise TemplateError("or needs at least one argument")
    for value in values:
        if _truthy(value):
            return value
    return values[-1]


def _not(*values: Any) -> bool:
    if len(values) != 1:
        raise TemplateError("not needs one argument")
    return not _truthy(values[0])


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
        text += _text(value)
    return text


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "and": _and,
    "or": _or,
    "not": _not,
    "eq": _eq,
    "ne": _ne,
    "len": _len,
    "print": _print,
}

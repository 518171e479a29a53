"""The parser of the JWT template language: template text into a tuple of nodes (text,
``Output`` and ``Branch``), with anything outside the supported subset refused."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from hankoflow.jwt_template.errors import TemplateError
from hankoflow.jwt_template.functions import FUNCTIONS


@dataclass
class Output:
    """``{{ pipeline }}``: the value of the pipeline, printed."""

    pipeline: list[list[Any]]


@dataclass
class Branch:
    """``{{if}}``/``{{with}}`` with its ``else if`` arms and ``else`` body."""

    kind: str  # "if" or "with"
    arms: list[tuple[list[list[Any]], list[Any]]] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class Field:
    """A field chain such as ``.User.Email.Address``."""

    path: tuple[str, ...]  # () is the dot itself


@dataclass(frozen=True)
class Name:
    """A function name (``eq``, ``print``, ...)."""

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
    stack: list[tuple[Branch, list[Any]]] = []  # open branches and the list being filled
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
            branch = Branch(keyword)
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
            body.append(Output(_pipeline(inner)))
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
            tokens.append(Field(tuple(part for part in value.split(".") if part)))
        elif kind == "name":
            literals = {"true": True, "false": False, "nil": None}
            if value in literals:
                tokens.append(("literal", literals[value]))
            elif value in FUNCTIONS:
                tokens.append(Name(value))
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

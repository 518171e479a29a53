"""Evaluation of parsed JWT templates against the data (the dot), as Go's ``text/template``
executes them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hankoflow.jwt_template.errors import TemplateError
from hankoflow.jwt_template.functions import FUNCTIONS, text_of, truthy
from hankoflow.jwt_template.parser import Field, Name, Output, parse


def render(text: str, data: Any) -> str:
    """One template string rendered against ``data`` (the dot)."""
    out: list[str] = []
    _run(parse(text), data, out)
    return "".join(out)


def _run(nodes: tuple[Any, ...] | list[Any], dot: Any, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, Output):
            out.append(text_of(_evaluate(node.pipeline, dot)))
        else:
            for condition, body in node.arms:
                value = _evaluate(condition, dot)
                if truthy(value):
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
    if isinstance(head, Name):
        values = [_operand(arg, dot) for arg in args] + piped
        return FUNCTIONS[head.name](*values)
    if args or piped:
        if isinstance(head, Field):
            target = _resolve(head.path, dot)
            if callable(target):
                return target(*[_operand(arg, dot) for arg in args], *piped)
        raise TemplateError("can't give an argument to a non-function")
    return _operand(head, dot)


def _operand(token: Any, dot: Any) -> Any:
    if isinstance(token, Field):
        target = _resolve(token.path, dot)
        return target() if callable(target) else target
    if isinstance(token, tuple) and token[0] == "literal":
        return token[1]
    if isinstance(token, tuple) and token[0] == "pipeline":
        return _evaluate(token[1], dot)
    if isinstance(token, Name):
        return FUNCTIONS[token.name]()
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

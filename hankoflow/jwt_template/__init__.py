"""Hanko's ``session.jwt_template.claims``: custom JWT claims from a template over the user's
data (platform.md §2.1.2), read from ``HANKOFLOW["SESSION"]["JWT_TEMPLATE"]["CLAIMS"]``.

Claim values may be scalars, lists, nested dicts or strings. Strings are templates in Go's
``text/template`` syntax, evaluated against ``{"User": {...}}``; this package implements the part
of that language Hanko's documented examples use: field chains (``{{ .User.Email.Address }}``),
``if``/``else if``/``else``/``with``/``end``, the functions ``and``, ``or``, ``not``, ``eq``,
``ne``, ``len`` and ``print``, pipes (``|``), string/number/bool literals, ``{{- -}}`` trimming and
``{{/* comments */}}``. Each rendered string is then post-processed as Hanko does: exactly
``"true"``/``"false"`` become booleans, text in ``{...}`` or ``[...]`` that parses as JSON becomes
that value.

A claim whose template cannot be parsed or evaluated (e.g. ``.User.Email.Address`` for a user
without an email) is logged and left out; the token is still issued. ``manage.py check`` reports
templates that do not parse (hankoflow.E020) before any token is signed.

Modules: parser.py (text -> nodes), functions.py (the built-in functions and Go's formatting),
evaluation.py (nodes + data -> text), paths.py (``.User.Metadata.Public "a.b"``), claims.py
(the CLAIMS setting: reserved names, Hanko's post-processing, checks). No Django here: the
adapter builds the data (``DefaultHankoflowAdapter.build_jwt_claims``).
"""

from hankoflow.jwt_template.claims import RESERVED_CLAIMS, render_claims, template_errors
from hankoflow.jwt_template.errors import TemplateError
from hankoflow.jwt_template.evaluation import render
from hankoflow.jwt_template.parser import parse
from hankoflow.jwt_template.paths import metadata, selector

__all__ = [
    "RESERVED_CLAIMS",
    "TemplateError",
    "metadata",
    "selector",
    "parse",
    "render",
    "render_claims",
    "template_errors",
]

"""Hanko's pagination of admin lists (platform.md §4.2): ``page`` and ``per_page`` in, the
``X-Total-Count`` and ``Link`` headers out.

``Link`` lists ``<url>; rel="..."`` entries joined by a bare comma, in the order first, last,
next, prev: ``first`` when ``page != 1`` or ``page == last_page``, ``last`` when ``page !=
last_page``, ``next`` when ``page < last_page``, ``prev`` when ``page > 1``. Each URL is the
request's scheme, ``Host`` and path with the query re-encoded, keys sorted, ``page`` and
``per_page`` replaced (Go's ``url.Values.Encode``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import HttpResponse
from rest_framework.request import Request

from hankoflow.api.admin.base import HankoError

DEFAULT_PER_PAGE = 20
# Hanko: no upper bound; one request could ask for every row. We cap it.
MAX_PER_PAGE = 1000
MAX_INTEGER = 2**31 - 1


@dataclass(frozen=True)
class Page:
    number: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page


def _integer(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "")
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise HankoError(400, f"{name} must be an integer") from None
    if abs(value) > MAX_INTEGER:
        # An OFFSET beyond the database's integer fails the query (a 500); Go's Atoi refuses it.
        raise HankoError(400, f"{name} must be an integer")
    return value


def requested_page(request: Request) -> Page:
    """The page the query asks for: ``page`` below 1 is 1, ``per_page`` 0 or less is 20,
    above ``MAX_PER_PAGE`` it is ``MAX_PER_PAGE``; 400 for a value that is not a number."""
    number = _integer(request, "page") or 1
    per_page = _integer(request, "per_page") or DEFAULT_PER_PAGE
    if per_page < 1:
        per_page = DEFAULT_PER_PAGE
    return Page(number=max(1, number), per_page=min(per_page, MAX_PER_PAGE))


def link_header(request: Request, page: Page, total: int) -> str:
    """Hanko's ``Link`` header for ``page`` of ``total`` rows."""
    last = max(1, math.ceil(total / page.per_page))
    rels: list[tuple[str, int]] = []
    if page.number != 1 or page.number == last:
        rels.append(("first", 1))
    if page.number != last:
        rels.append(("last", last))
    if page.number < last:
        rels.append(("next", page.number + 1))
    if page.number > 1:
        rels.append(("prev", page.number - 1))
    base = f"{request.scheme}://{request._request.get_host()}{request.path}"
    return ",".join(f'<{base}?{_query(request, n, page.per_page)}>; rel="{rel}"' for rel, n in rels)


def _query(request: Request, number: int, per_page: int) -> str:
    values: dict[str, list[str]] = {
        k: request.query_params.getlist(k) for k in request.query_params
    }
    values["page"], values["per_page"] = [str(number)], [str(per_page)]
    return urlencode(sorted(values.items()), doseq=True)


def paginate(request: Request, queryset: QuerySet) -> tuple[list[Any], Page, int]:
    """The rows of the requested page, the page and the total number of rows."""
    page = requested_page(request)
    total = queryset.count()
    return list(queryset[page.offset : page.offset + page.per_page]), page, total


def add_headers(response: HttpResponse, request: Request, page: Page, total: int) -> HttpResponse:
    response["X-Total-Count"] = str(total)
    response["Link"] = link_header(request, page, total)
    return response

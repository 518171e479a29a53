"""Hanko's pagination headers (platform.md §4.2)."""

from __future__ import annotations

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from hankoflow.api.admin import pagination
from hankoflow.api.admin.base import HankoError


def request(query: str) -> Request:
    return Request(APIRequestFactory().get(f"/admin-api/users?{query}", HTTP_HOST="testserver"))


def link(query: str, total: int) -> str:
    req = request(query)
    return pagination.link_header(req, pagination.requested_page(req), total)


def test_hankos_example():
    # platform.md §4.2: page 5 of 160 rows at 10 a page.
    assert link("page=5&per_page=10", 160) == (
        '<http://testserver/admin-api/users?page=1&per_page=10>; rel="first",'
        '<http://testserver/admin-api/users?page=16&per_page=10>; rel="last",'
        '<http://testserver/admin-api/users?page=6&per_page=10>; rel="next",'
        '<http://testserver/admin-api/users?page=4&per_page=10>; rel="prev"'
    )


def test_a_single_page_links_only_to_first():
    assert link("", 0) == '<http://testserver/admin-api/users?page=1&per_page=20>; rel="first"'
    assert link("", 20) == '<http://testserver/admin-api/users?page=1&per_page=20>; rel="first"'


def test_the_first_of_several_pages_has_no_first_or_prev():
    assert link("per_page=10", 11) == (
        '<http://testserver/admin-api/users?page=2&per_page=10>; rel="last",'
        '<http://testserver/admin-api/users?page=2&per_page=10>; rel="next"'
    )


def test_the_last_page_has_first_and_prev():
    assert link("page=2&per_page=10", 11) == (
        '<http://testserver/admin-api/users?page=1&per_page=10>; rel="first",'
        '<http://testserver/admin-api/users?page=1&per_page=10>; rel="prev"'
    )


def test_other_parameters_are_kept_sorted_and_encoded():
    value = link("sort_direction=asc&email=a+b%40x.io&page=1&per_page=1&type=x&type=y", 2)
    first = value.split(",")[0]
    assert first == (
        "<http://testserver/admin-api/users?email=a+b%40x.io&page=2&per_page=1"
        '&sort_direction=asc&type=x&type=y>; rel="last"'
    )


@pytest.mark.parametrize(
    ("query", "page", "per_page"),
    [
        ("", 1, 20),
        ("page=0&per_page=0", 1, 20),
        ("page=-3&per_page=-1", 1, 20),
        ("page=3&per_page=50", 3, 50),
        ("per_page=100000", 1, pagination.MAX_PER_PAGE),
    ],
)
def test_page_and_per_page(query, page, per_page):
    assert pagination.requested_page(request(query)) == pagination.Page(page, per_page)


@pytest.mark.parametrize("query", ["page=x", "per_page=1.5", "page=1e3"])
def test_numbers_only(query):
    with pytest.raises(HankoError):
        pagination.requested_page(request(query))

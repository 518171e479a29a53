"""Admin ``POST /users`` with a ``created_at`` before the year 1000 or at the edge of the
calendar (found by the fuzz run, tests/fuzz): the answer's timestamps stay RFC 3339 (four-digit
years), and a value that has no UTC equivalent is a 400, not a 500."""

from __future__ import annotations

import pytest

URL = "/admin-api/users"


@pytest.mark.parametrize(
    ("created_at", "shown"),
    [
        ("0802-10-06T23:20:32.195815Z", "0802-10-06T23:20:32.195815Z"),
        ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
    ],
)
def test_early_creation_dates_are_answered_with_four_digit_years(admin_api, created_at, shown):
    api = admin_api()  # every answer is checked against openapi-admin.yaml

    created = api.post(
        URL, {"emails": [], "username": "early", "created_at": created_at}, "application/json"
    )

    assert created.status_code == 200
    assert created.json()["created_at"] == shown
    assert api.get(f"{URL}/{created.json()['id']}").json()["created_at"] == shown


def test_a_date_before_the_calendar_in_utc_is_refused(admin_api):
    api = admin_api()

    refused = api.post(
        URL,
        {"emails": [], "username": "early", "created_at": "0001-01-01T00:00:00+01:00"},
        "application/json",
    )

    assert refused.status_code == 400

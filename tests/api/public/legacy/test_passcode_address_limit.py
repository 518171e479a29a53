"""PC-06 on ``POST /passcode/login/initialize``: the per-address send limit holds whatever
the client address, as in the flows, and answers as the per-client limit does (429)."""

from __future__ import annotations

from django.test import Client

from tests.api.public.legacy.test_passcode import initialize, jane  # noqa: F401 (a fixture)


def test_initialize_stops_at_the_address_limit_from_any_client(legacy, jane):  # noqa: F811
    legacy(RATE_LIMITER={"PASSCODE_EMAIL_LIMITS": {"TOKENS": 2, "INTERVAL": 900}})
    answers = [
        initialize(Client(REMOTE_ADDR=f"198.51.100.{number}"), jane.pk).status_code
        for number in range(2)
    ]
    assert answers == [200, 200]

    response = initialize(Client(REMOTE_ADDR="203.0.113.9"), jane.pk)

    assert response.json() == {"code": 429, "message": "Too Many Requests"}
    assert 60 < int(response["Retry-After"]) <= 900

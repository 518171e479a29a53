"""What a sign-in asks the shared cache (issue 16): the key set's generation (to sign the JWT)
and the webhooks' generation (which hooks want the events) are read with one MGET, not two GETs.
Needs a shared cache (Redis): ``slow``."""

from __future__ import annotations

import pytest
from redis.client import Redis

from hankoflow.services import jwks, shared_cache
from hankoflow.testing.client import FlowClient

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long enough password"


@pytest.fixture
def commands(monkeypatch):
    if shared_cache.shared(atomic=False) is None:
        pytest.skip("needs a shared cache (CACHE_URL=redis://...)")
    sent: list[str] = []
    original = Redis.execute_command

    def counting(self, *args, **options):
        sent.append(" ".join(str(a) for a in args[:2]).upper())
        return original(self, *args, **options)

    monkeypatch.setattr(Redis, "execute_command", counting)
    return sent


def test_password_login_reads_both_generations_in_one_round_trip(
    flow_client: FlowClient, account_factory, clock, commands
):
    account_factory("gen@example.com", password=PASSWORD)
    jwks.signing_key()
    state = flow_client.act(
        flow_client.start("login"), "register_client_capabilities", {"webauthn_available": False}
    )
    state = flow_client.act(state, "continue_with_login_identifier", {"email": "gen@example.com"})
    state = flow_client.act(state, "continue_to_password_login")
    flow_client.act(state, "password_login", {"password": PASSWORD})  # both generations exist now
    flow_client.client.cookies.clear()
    state = flow_client.act(
        flow_client.start("login"), "register_client_capabilities", {"webauthn_available": False}
    )
    state = flow_client.act(state, "continue_with_login_identifier", {"email": "gen@example.com"})
    state = flow_client.act(state, "continue_to_password_login")
    commands.clear()
    response = flow_client.act(state, "password_login", {"password": PASSWORD})
    assert response.state == "success"
    reads = [c.split()[0] for c in commands if "GENERATION" in c]
    assert reads == ["MGET"], commands

"""The profile flow needs a session on every request and stays bound to its account
(flow-api.md §1.4.3, §4.3; security-checks FL-10)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.testing.client import FlowClient


def test_without_a_session_every_request_is_unauthorized(db) -> None:
    answer = FlowClient().start(n.FLOW_PROFILE)
    assert answer.status == 401
    assert answer.state == n.STATE_ERROR
    assert answer.error_code == "unauthorized"


def test_a_stale_session_cookie_is_refused_and_deleted(client, db) -> None:
    client.cookies["hanko"] = "not-a-token"
    answer = FlowClient(client).start(n.FLOW_PROFILE)
    assert answer.status == 401
    assert answer.cookies["hanko"]["max-age"] == 0


def test_profile_init_shows_the_user_and_the_sessions(profile_session) -> None:
    person = profile_session()
    state = person.start()
    user = state.body["payload"]["user"]
    assert user["user_id"] == str(person.account.id)
    assert [e["address"] for e in user["emails"]] == [person.account.emails.get().address]
    sessions = state.body["payload"]["sessions"]
    assert len(sessions) == 1 and sessions[0]["current"] is True


def test_a_bearer_token_works_as_well_as_the_cookie(profile_session, client) -> None:
    person = profile_session()
    token = person.client.session_token
    flows = FlowClient(client)
    answer = flows.start(n.FLOW_PROFILE, Authorization=f"Bearer {token}")
    assert answer.state == n.STATE_PREFLIGHT


def test_another_accounts_session_cannot_continue_the_flow(profile_session) -> None:
    owner, other = profile_session(), profile_session()
    state = owner.flows.start(n.FLOW_PROFILE)
    # The other person holds the flow's id and token but their own session.
    answer = other.flows.act(
        state,
        n.ACTION_REGISTER_CLIENT_CAPABILITIES,
        {n.STASH_WEBAUTHN_AVAILABLE: False},
    )
    assert answer.status == 403
    assert answer.error_code == "operation_not_permitted_error"


def test_a_revoked_session_ends_the_flow_at_once(profile_session) -> None:
    person = profile_session()
    state = person.flows.start(n.FLOW_PROFILE)
    person.account.sessions.all().delete()
    answer = person.act(state, n.ACTION_REGISTER_CLIENT_CAPABILITIES, {"webauthn_available": True})
    assert answer.status == 401
    assert answer.error_code == "unauthorized"

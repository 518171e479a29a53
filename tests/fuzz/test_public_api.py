"""Fuzz Hanko's public API (``openapi-public.yaml``: session endpoints, the legacy v2 routes,
third party and SAML) with the legacy API on and a fresh session of a real person per case:
every operation, positive and negative cases, no server error and every answer as the corrected
document describes it (security-checks IN-01)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hankoflow.models import Account
from hankoflow.services import sessions
from hankoflow.testing.openapi_public import load_public_spec, public_response_errors
from tests.fuzz.harness import (
    FUZZ_SETTINGS,
    MODES,
    judge,
    load_schema,
    operations,
    run_bounded,
)

pytestmark = pytest.mark.slow

SCHEMA = load_schema(load_public_spec(), "/")
OPERATIONS = {f"{op.method.upper()} {op.path}": op for op in operations(SCHEMA)}


def conformance(case, answer):
    body = answer.body if answer.content_type.startswith("application/json") else None
    if answer.body is not None and body is None and answer.status < 300:
        return []  # SAML metadata (XML): the document gives it no JSON schema
    return public_response_errors(case.method, case.formatted_path, answer.status, body)


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_public_operation(label, mode, fuzz_app, legacy_routes, person):
    operation = OPERATIONS[label]

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        for name in case.path_parameters or {}:
            if name in person.ids and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = person.ids[name]
        token = person.token
        if Account.objects.filter(pk=person.account.pk).exists():  # DELETE /user removes it
            token = sessions.issue(person.account, amr=["pwd"], env=None, remember_me=None).token
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        judge("public", case, response, fuzz_app, conformance)

    run_bounded(run)

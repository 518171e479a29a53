"""Fuzz Hanko's admin API (``openapi-admin.yaml``, mounted at ``/admin-api/``) with a full-scope
API key: every operation, positive and negative cases, no server error and every answer as the
corrected document describes it (security-checks IN-01)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hankoflow.services import api_keys
from hankoflow.testing.openapi_admin import admin_response_errors, load_admin_spec
from tests.fuzz.harness import FUZZ_SETTINGS, MODES, judge, load_schema, operations, run_bounded

pytestmark = pytest.mark.slow

PREFIX = "/admin-api"
SCHEMA = load_schema(load_admin_spec(), PREFIX)
OPERATIONS = {f"{op.method.upper()} {op.path}": op for op in operations(SCHEMA)}


def conformance(case, answer):
    return admin_response_errors(
        case.method,
        case.formatted_path,
        answer.status,
        answer.body,
        headers=answer.headers,
        content_type=answer.content_type if answer.body is not None else None,
        strip=PREFIX,
    )


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.value)
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_admin_operation(label, mode, fuzz_app, person):
    operation = OPERATIONS[label]
    key = api_keys.create(f"fuzz {label}", scope=api_keys.FULL)  # its own rate limit budget
    auth = {"Authorization": f"Bearer {key.plaintext}"}

    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        for name in case.path_parameters or {}:
            if name in person.ids and data.draw(st.booleans(), label=f"real {name}"):
                case.path_parameters[name] = person.ids[name]
        response = case.call(headers=auth)
        judge("admin", case, response, fuzz_app, conformance)

    run_bounded(run)

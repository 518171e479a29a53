"""Each flow's lifetime has one source: FLOW.TTL for login, registration and profile, the
declaration for token_exchange (Hanko's fixed 60 minutes)."""

from datetime import timedelta

import pytest
from django.test import override_settings

from hankoflow.http.runner import engine_for


@pytest.mark.parametrize("flow", ["login", "registration", "profile"])
def test_configured_flows_live_as_long_as_flow_ttl_says(flow):
    with override_settings(HANKOFLOW={"FLOW": {"TTL": 600}}):
        assert engine_for(flow).ttl == timedelta(seconds=600)


def test_token_exchange_keeps_its_declared_hour_whatever_flow_ttl_says():
    with override_settings(HANKOFLOW={"FLOW": {"TTL": 600}}):
        assert engine_for("token_exchange").ttl == timedelta(seconds=3600)

"""Which flow steps make sure of a database connection before they run.

With flows in the database every step does (an outage answers the flow-shaped 503 at once). With
flows in Redis a step that reads no table must not open or probe a connection (under
``CONN_HEALTH_CHECKS`` that probe polls the socket, and is a ``SELECT 1`` round trip when the
socket cannot tell, hankoflow/db/postgresql); the profile flow still does, as its session is
read from the database first.
"""

from __future__ import annotations

from unittest import mock

import pytest
from django.test import Client

from hankoflow.engine import FlowEngine, MemoryFlowStore
from hankoflow.flows.registry import FLOWS
from hankoflow.http import runner

pytestmark = pytest.mark.django_db


@pytest.fixture
def flows_elsewhere():
    """Flows kept outside the database (the engine on a memory store, as on Redis)."""
    store = MemoryFlowStore()
    with (
        mock.patch("hankoflow.services.flow_store.in_database", return_value=False),
        mock.patch.object(
            runner, "engine_for", lambda name: FlowEngine(FLOWS[name], store, ttl_seconds=600)
        ),
    ):
        yield


def test_with_flows_in_the_database_every_step_makes_sure_of_the_connection():
    with mock.patch.object(runner.availability, "database_connects", return_value=True) as connects:
        assert Client().post("/login").status_code == 200
    connects.assert_called_once()


def test_with_flows_elsewhere_a_step_without_sql_opens_no_connection(flows_elsewhere):
    with mock.patch.object(runner.availability, "database_connects") as connects:
        response = Client().post("/login")
    assert response.status_code == 200
    assert response.json()["name"] == "preflight"
    connects.assert_not_called()


def test_with_flows_elsewhere_the_profile_flow_still_makes_sure_of_it(flows_elsewhere):
    with mock.patch.object(
        runner.availability, "database_connects", return_value=False
    ) as connects:
        response = Client().post("/profile")
    assert response.status_code == 503
    assert response["Retry-After"]
    connects.assert_called_once()

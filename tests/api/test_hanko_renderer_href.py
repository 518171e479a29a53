"""The ``href`` of each action in Hanko's state object (flow-api.md §1.6): ``/<flow>?action=``
with ``<action>@<flow id>`` percent-encoded as one value, exactly as Hanko's clients post it."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from hankoflow.renderers.hanko import href

FLOW_ID = "5c1f3c7e-9d1a-4c1e-8a1b-2f3d4e5f6a7b"


def test_href_of_an_action():
    assert href("login", "continue_with_login_identifier", FLOW_ID) == (
        f"/login?action=continue_with_login_identifier%40{FLOW_ID}"
    )


@pytest.mark.parametrize(
    ("action", "flow_id"),
    [("password_login", FLOW_ID), ("back", ""), ("odd name/&?=@", "x y"), ("ünïcode", FLOW_ID)],
)
def test_href_encodes_action_and_flow_id_as_one_value(action, flow_id):
    assert href("profile", action, flow_id) == (
        f"/profile?action={quote(f'{action}@{flow_id}', safe='')}"
    )

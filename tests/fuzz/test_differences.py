"""The fuzz run's list of differences from Hanko's documents stays true: each allowance names an
operation the document has and a status it does not document (a fixed document makes the entry
fail here, as a stale correction does), and the list prints (``pytest -s`` shows it)."""

from __future__ import annotations

import pytest

from hankoflow.testing.openapi_admin import load_admin_spec
from hankoflow.testing.openapi_public import load_public_spec
from tests.fuzz import differences

SPECS = {"public": load_public_spec, "admin": load_admin_spec}


@pytest.mark.parametrize(
    "key", sorted({**differences.UNDOCUMENTED, **differences.SERVER_STATUSES}), ids=str
)
def test_each_allowance_is_for_an_undocumented_status_of_a_documented_operation(key):
    api, method, path, status = key
    operation = SPECS[api]()["paths"].get(path, {}).get(method.lower())
    assert operation is not None, f"{api} documents no {method} {path}"
    if key in differences.UNDOCUMENTED:
        assert str(status) not in operation["responses"], f"{key} is documented now: drop it"


def test_the_list_names_every_kind_once(capsys):
    lines = list(differences.lines())
    print("\n".join(lines))
    assert len(lines) == len(set(lines))
    for kind in ("document defect", "deliberate status", "undocumented status", "server status"):
        assert any(kind in line for line in lines), kind
    assert "GET /metrics" in capsys.readouterr().out

"""docs/security-checks.md maps every check of the security catalogue to the tests that prove it.

Each check id of ``../shared/spec/security-checks.md`` §4 must have exactly one row; every test
the row names must exist (the file, and a ``def``/``class`` of each name in it); a row that names
no test must give its reason in the Notes column. The catalogue is read from the shared folder
beside the checkout; without it (an installed wheel, say) the completeness half is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "security-checks.md"
CATALOGUE = ROOT.parent / "shared" / "spec" / "security-checks.md"
CHECK_ID = re.compile(r"\b(?:FL|PC|PW|WA|TO|OA|SA|SE|AD|WH|AU|IN|RE|CF)-\d{2}\b")
NODE_ID = re.compile(r"tests/[\w/.-]+\.py(?:::[\w\[\]\-.]+)*")


def table_rows() -> dict[str, list[str]]:
    """Check id -> the row's cells, for every table row whose first cell is a check id."""
    rows: dict[str, list[str]] = {}
    for line in TABLE.read_text().splitlines():
        if not line.startswith("|"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = CHECK_ID.fullmatch(cells[0].strip("*` "))
        if match is None:
            continue
        assert match.group(0) not in rows, f"{match.group(0)} has two rows"
        rows[match.group(0)] = cells
    return rows


def catalogue_ids() -> set[str]:
    text = CATALOGUE.read_text()
    section = text[text.index("## 4. Test catalogue") : text.index("## 5.")]
    return set(re.findall(r"\*\*((?:[A-Z]{2})-\d{2}) ", section))


def test_every_check_of_the_catalogue_has_a_row() -> None:
    if not CATALOGUE.exists():
        pytest.skip("the shared catalogue is not beside this checkout")
    ids = catalogue_ids()
    assert len(ids) == 101
    rows = table_rows()
    assert sorted(ids - rows.keys()) == [], "checks without a row"
    assert sorted(rows.keys() - ids) == [], "rows for checks the catalogue does not have"


def test_every_named_test_exists_and_rows_without_tests_say_why() -> None:
    missing = []
    for check, cells in table_rows().items():
        nodes = NODE_ID.findall(" ".join(cells[1:]))
        if not nodes:
            assert len(cells) >= 4 and cells[-1].strip(" -"), f"{check}: no test and no reason"
            continue
        for node in nodes:
            path, *names = node.split("::")
            source = ROOT / path
            if not source.is_file():
                missing.append(f"{check}: {path}")
                continue
            text = source.read_text()
            for name in names:
                bare = name.split("[")[0]
                defined = rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(bare)}\b"
                if not re.search(defined, text, re.M):
                    missing.append(f"{check}: {node}")
    assert missing == []

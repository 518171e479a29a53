"""The engine must stay usable without Django: importing it loads no Django module."""

import subprocess
import sys


def test_engine_imports_no_django():
    code = (
        "import sys, hankoflow.engine, hankoflow.errors; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'rest_framework')))"
    )
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603
    assert result.stdout.strip() == "[]"

"""``manage.py hankoflow_cleanup`` and the ``hankoflow.cleanup`` task (issue 11)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError

from hankoflow import clock
from hankoflow.models import Flow

pytestmark = pytest.mark.django_db


def _flow(expires_in: timedelta) -> None:
    Flow.objects.create(
        name="login", state="s", stash={}, csrf_token_hash="x", expires_at=clock.now() + expires_in
    )


def _run(*args: str) -> str:
    out = StringIO()
    call_command("hankoflow_cleanup", *args, stdout=out)
    return out.getvalue()


def test_prints_counts_per_table_and_deletes(clock):
    _flow(timedelta(minutes=-1))
    _flow(timedelta(minutes=1))
    out = _run()
    assert "flows" in out and "deleted 1" in out
    assert "audit_log_entries" in out and "total" in out
    assert Flow.objects.count() == 1
    clock.advance(minutes=2)
    assert "flows  deleted 1" in _run("--only", "flows")
    assert not Flow.objects.exists()


def test_dry_run_deletes_nothing():
    _flow(timedelta(minutes=-1))
    out = _run("--dry-run", "--only", "flows", "-v", "2")
    assert "flows  would delete 1" in out
    assert Flow.objects.count() == 1


def test_verbose_run_reports_progress():
    for _ in range(3):
        _flow(timedelta(minutes=-1))
    out = _run("--only", "flows", "--batch-size", "2", "-v", "2")
    assert "flows: 2 deleted so far" in out and "flows: 3 deleted so far" in out


def test_bad_arguments_fail(capsys):
    with pytest.raises(CommandError, match="batch-size"):
        call_command("hankoflow_cleanup", "--batch-size", "0")
    with pytest.raises(CommandError):
        call_command("hankoflow_cleanup", "--only", "users")


def test_a_database_failure_exits_non_zero():
    with (
        mock.patch("hankoflow.services.cleanup.run", side_effect=DatabaseError("gone")),
        pytest.raises(CommandError, match="cleanup failed: gone"),
    ):
        call_command("hankoflow_cleanup")


def test_help_names_the_options():
    from hankoflow.management.commands.hankoflow_cleanup import Command

    text = Command().create_parser("manage.py", "hankoflow_cleanup").format_help()
    assert "--dry-run" in text and "--only" in text and "--batch-size" in text


def test_celery_task_runs_the_same_cleanup():
    pytest.importorskip("celery")
    from hankoflow import tasks

    _flow(timedelta(minutes=-1))
    result = tasks.cleanup.apply().get()
    assert result["flows"] == 1 and not Flow.objects.exists()

"""Settings object, system checks, the demo's secret-key guard, and the error catalogue."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from hankoflow import errors
from hankoflow.checks import check_settings
from hankoflow.conf import settings

REPO = Path(__file__).resolve().parent.parent
SPEC = Path(os.environ.get("HANKOFLOW_SHARED_DIR", REPO.parent / "shared")) / "spec"


def test_defaults_are_hankos():
    assert settings.SESSION.LIFESPAN == 43200
    assert settings.SESSION.COOKIE.NAME == "hanko"
    assert settings.EMAIL.MAX_LENGTH == 120
    assert settings.get("MFA.SECURITY_KEYS.AUTHENTICATOR_ATTACHMENT") == "cross-platform"


def test_partial_override_keeps_other_defaults():
    with override_settings(HANKOFLOW={"SESSION": {"COOKIE": {"SAME_SITE": "lax"}}}):
        assert settings.SESSION.COOKIE.SAME_SITE == "lax"
        assert settings.SESSION.COOKIE.NAME == "hanko"
    assert settings.SESSION.COOKIE.SAME_SITE == "strict"


def test_unknown_setting_raises_attribute_error():
    with pytest.raises(AttributeError):
        _ = settings.SESSION.NO_SUCH_KEY


@pytest.mark.parametrize(
    ("value", "check_id"),
    [
        ({"SESSION": {"LIFESPAN": "12h"}}, "hankoflow.E002"),
        ({"SESSION": {"COOKIE": {"SAME_SITE": "sideways"}}}, "hankoflow.E003"),
        ({"SESION": {}}, "hankoflow.E001"),
        ({"EMAIL": {"ENABLED": 1}}, "hankoflow.E002"),
        ({"CORS": {"ALLOW_ORIGINS": ["*"]}}, "hankoflow.E004"),
        ({"FLOW": {"TTL": 0}}, "hankoflow.E005"),
        ({"WEBAUTHN": {"RELYING_PARTY": {"ID": ""}}}, "hankoflow.E006"),
    ],
)
def test_system_checks_report_invalid_settings(value, check_id):
    with override_settings(HANKOFLOW=value):
        assert check_id in {problem.id for problem in check_settings()}
        with pytest.raises(SystemCheckError):
            call_command("check")


def test_valid_settings_pass_the_checks():
    assert check_settings() == []


def _spec_codes(section: str) -> set[str]:
    text = (SPEC / "flow-api.md").read_text()
    block = text.split(section, 1)[1].split("\n### ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+)` \|", block, flags=re.MULTILINE))


def test_error_catalogue_matches_the_spec_tables():
    flow_errors, input_errors = errors.catalogue()
    assert {e.code for e in flow_errors} == _spec_codes("### 3.1 Flow-level errors")
    assert {e.code for e in input_errors} == _spec_codes("### 3.2 Input-level errors")
    assert len(flow_errors) + len(input_errors) == 26

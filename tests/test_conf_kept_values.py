"""``hankoflow.conf.settings`` keeps what it has read (a flow step reads some thirty settings),
and a change of ``HANKOFLOW`` (``override_settings``, ``setting_changed``) still shows at once."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow.conf import settings


def test_a_nested_value_is_read_again_after_an_override():
    before = settings.FLOW.MAX_BODY_SIZE
    cookie = settings.SESSION.COOKIE.NAME
    with override_settings(HANKOFLOW={"FLOW": {"MAX_BODY_SIZE": before + 1}}):
        assert settings.get("FLOW.MAX_BODY_SIZE") == before + 1
        assert settings["FLOW"]["MAX_BODY_SIZE"] == before + 1
        assert settings.SESSION.COOKIE.NAME == "hanko"
    after = (settings.FLOW.MAX_BODY_SIZE, settings.SESSION.COOKIE.NAME)
    assert after == (before, cookie)


def test_a_section_is_the_same_object_until_the_settings_change():
    section = settings.SESSION.COOKIE
    assert settings.SESSION.COOKIE is section
    with override_settings(HANKOFLOW={"SESSION": {"COOKIE": {"NAME": "other"}}}):
        assert settings.SESSION.COOKIE is not section
        assert settings.get("SESSION.COOKIE.NAME") == "other"
    assert settings.SESSION.COOKIE.NAME != "other"


def test_an_unknown_setting_is_still_an_attribute_error():
    with pytest.raises(AttributeError, match="FLOW.NO_SUCH_SETTING"):
        getattr(settings.FLOW, "NO_SUCH_SETTING")  # noqa: B009

"""Words of the Flow Execution dialect: headings, labels, button texts and error sentences.

They are the flow page's words (``hankoflow/wording.py``, shared so that one msgid has one
translation in the shipped catalogues). A name not listed falls back to Hanko's English
description or the humanised wire name.
"""

from __future__ import annotations

from hankoflow.wording import (
    ACTION_LABELS,
    ERROR_MESSAGES,
    INPUT_LABELS,
    STATE_TEXTS,
    UNKNOWN_STATE_TEXT,
    Text,
    action_label,
    error_sentence,
    humanize,
    input_label,
    state_text,
)

__all__ = [
    "ACTION_LABELS",
    "ERROR_MESSAGES",
    "INPUT_LABELS",
    "STATE_TEXTS",
    "UNKNOWN_STATE_TEXT",
    "Text",
    "action_label",
    "error_message",
    "humanize",
    "input_label",
    "state_text",
]


def error_message(code: str, fallback: str, input_name: str = "") -> Text:
    """A sentence for an error code, or the catalogue's English ``fallback``."""
    return error_sentence(code, input_name) or fallback

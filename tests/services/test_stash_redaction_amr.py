"""The stash key ``amr`` (the authentication methods of the sign-in) is shown to operators."""

from __future__ import annotations

from hankoflow import names
from hankoflow.services import flow_inspection


def test_amr_is_shown_not_redacted():
    shown = flow_inspection.redact_stash({"amr": ["otp", "totp"], "otp_secret": "ciphertext"})
    assert shown == {"amr": ["otp", "totp"], "otp_secret": names.REDACTED}


def test_the_name_is_defined_once_among_the_wire_names():
    from hankoflow.hooks import success

    assert names.STASH_AMR == "amr" and names.STASH_AMR in names.STASH_SHOWN
    assert not hasattr(success, "STASH_AMR")

"""Hanko's Passkey API for projects that keep their own login (docs/passkey-api.md).

The host includes ``hankoflow.api.passkeys.urls`` where it wants the API, e.g.
``path("passkeys/", include("hankoflow.api.passkeys.urls"))``.
"""

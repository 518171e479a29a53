"""Actions of the ``profile`` flow (flow-api.md §4.3): a signed-in person changes their account.

Each acts on the session user (``hooks/profile.py`` binds the flow to it), one module per part
of the account. Sensitive changes ask for a recent sign-in first (``reauthentication.py``).
"""

"""Re-authentication before a sensitive profile change (``PROFILE.REAUTHENTICATION_MAX_AGE``).

Issue 12 in progress: never asks yet.
"""

from __future__ import annotations

from hankoflow.engine import FlowContext, Outcome


def reauthentication_required(ctx: FlowContext) -> Outcome | None:
    """``None`` when the session proved who it is recently enough for a sensitive change;
    otherwise the outcome that asks the person to prove it again first."""
    return None

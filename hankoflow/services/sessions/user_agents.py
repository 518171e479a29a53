"""``"<OS> (<browser>)"`` from a ``User-Agent`` header, as the profile's session list shows it
(flow-api.md §4.6.2; Hanko uses mileusna/useragent for the same two names).

Only the families a person recognises are named; anything else is ``"Unknown"``. Order matters:
Edge and Opera also say "Chrome", Chrome also says "Safari", Android also says "Linux".
"""

from __future__ import annotations

import re

_OPERATING_SYSTEMS = (
    ("iOS", re.compile(r"iPhone|iPad|iPod")),
    ("Android", re.compile(r"Android")),
    ("ChromeOS", re.compile(r"CrOS")),
    ("Windows", re.compile(r"Windows")),
    ("macOS", re.compile(r"Mac OS X|Macintosh")),
    ("Linux", re.compile(r"Linux|X11")),
)
_BROWSERS = (
    ("Edge", re.compile(r"Edg(e|A|iOS)?/")),
    ("Opera", re.compile(r"OPR/|Opera")),
    ("Samsung Internet", re.compile(r"SamsungBrowser/")),
    ("Firefox", re.compile(r"Firefox/|FxiOS/")),
    ("Chrome", re.compile(r"Chrome/|CriOS/|Chromium/")),
    ("Safari", re.compile(r"Safari/")),
)
UNKNOWN = "Unknown"


def describe_user_agent(header: str) -> str:
    """``"macOS (Firefox)"`` for a Firefox on a Mac; ``"Unknown (Unknown)"`` when neither is
    recognised."""
    return f"{_first(_OPERATING_SYSTEMS, header)} ({_first(_BROWSERS, header)})"


def _first(families: tuple[tuple[str, re.Pattern[str]], ...], header: str) -> str:
    return next((name for name, pattern in families if pattern.search(header)), UNKNOWN)

"""What the engine lets actions and hooks know about the request behind a step.

The engine never reads these facts itself; it hands them through to ``ctx.env``. Typing them as
a protocol keeps the engine free of any transport: the Django layer passes its own object (today
``hankoflow.http.request.RequestEnv``), the engine's unit tests pass a plain one or ``None``.
"""

from __future__ import annotations

from typing import Any, Protocol


class RequestFacts(Protocol):
    """The facts of one HTTP request that actions, hooks and the services they call read."""

    @property
    def ip(self) -> str:
        """The client's address, as the transport resolved it (rate limits, audit, sessions)."""
        ...

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` header, already cut to a storable length (audit, sessions)."""
        ...

    @property
    def language(self) -> str:
        """A well-formed ``X-Language`` tag or ``""`` (the language of emails)."""
        ...

    @property
    def session(self) -> Any:
        """The validated session the request carries, if the transport checked one (the
        ``profile`` flow), else ``None``; opaque to the engine."""
        ...

    @property
    def request(self) -> Any:
        """The transport's own request object, opaque to the engine (cookies, Django signals)."""
        ...

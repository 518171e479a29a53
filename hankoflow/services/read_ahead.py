"""Values of the shared cache read together ahead of the code that needs them.

A sign-in asks the shared cache for two generations, the key set's (to sign the session JWT)
and the webhooks' (which hooks want its events), each with its own GET. ``reading`` fetches
the keys it is given with one MGET; inside its block, ``known`` answers from what was read, and
the readers fall back to their own GET for a key it did not find (missing from the cache, no
shared cache, cache failing). A value is as fresh as the start of the block: use it around one
step's work only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from hankoflow.services import shared_cache

logger = logging.getLogger(__name__)

_values: ContextVar[dict[str, Any] | None] = ContextVar("hankoflow_read_ahead", default=None)


@contextmanager
def reading(keys: list[str]) -> Iterator[None]:
    """Read ``keys`` from the shared cache in one round trip, for ``known`` inside the block."""
    values: dict[str, Any] = {}
    cache = shared_cache.shared(atomic=False)
    if cache is not None:
        try:
            values = cache.get_many(keys)
        except Exception:
            logger.warning("cache unavailable; values are read one by one", exc_info=True)
            shared_cache.failed()
    token = _values.set(values)
    try:
        yield
    finally:
        _values.reset(token)


def known(key: str) -> Any | None:
    """The value ``reading`` found for ``key`` in the current block, else None."""
    values = _values.get()
    return values.get(key) if values else None

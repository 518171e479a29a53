from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from tests.webhook_receiver import Receiver, webhook_receiver

# Fast tests run the receiver on 127.0.0.1, which the guard refuses by default.
LOCAL = {"WEBHOOKS": {"ALLOW_PRIVATE_NETWORKS": True}}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running, override_settings(HANKOFLOW=LOCAL):
        yield running

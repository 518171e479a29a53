"""The demo's SECRET_KEY guard: long is not enough, the key must not be guessable either."""

from __future__ import annotations

import os
import secrets
import string
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management.utils import get_random_secret_key

from project.secret_key import (
    DEMO_SECRET_KEY,
    MIN_LENGTH,
    estimated_entropy_bits,
    weakness,
)

REPO = Path(__file__).resolve().parent.parent.parent

WEAK = [
    " " * 32,
    " " * 64,
    "a" * 100,
    "ab" * 32,
    "passwordpasswordpasswordpassword",
    "0101010101010101010101010101010101010101",
    "1234567812345678123456781234567812345678",
    "0" * 31 + "1",
]


@pytest.mark.parametrize("key", WEAK)
def test_long_but_low_entropy_keys_are_refused(key):
    assert len(key) >= 32
    assert estimated_entropy_bits(key) < 128
    assert weakness(key) is not None


@pytest.mark.parametrize(
    "make",
    [
        get_random_secret_key,  # what django-admin startproject writes
        lambda: secrets.token_urlsafe(32),  # 43 characters
        lambda: secrets.token_urlsafe(50),
        lambda: secrets.token_hex(32),  # 64 hex digits
    ],
)
def test_random_keys_pass(make):
    for _ in range(200):
        assert weakness(make()) is None


def test_the_estimate_is_length_times_bits_per_character():
    assert estimated_entropy_bits(" " * 32) == 0
    assert estimated_entropy_bits("ab" * 32) == 64  # one bit per character
    alphabet = string.ascii_letters + string.digits + "-_"  # 64 symbols, each once
    assert estimated_entropy_bits(alphabet) == 64 * 6


def test_short_and_well_known_keys_are_still_refused():
    assert weakness(secrets.token_urlsafe(16)) is not None  # 22 characters
    assert weakness("demo-insecure-secret-key-never-use-in-production") is not None


# Empty, well known, short, then long but predictable.
@pytest.mark.parametrize("secret", ["", DEMO_SECRET_KEY, "short", " " * 32, "ab" * 20])
def test_the_demo_refuses_to_start_with_a_weak_key(secret):
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": secret}
    result = subprocess.run(
        [sys.executable, "-c", "import project.settings"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr
    # The message does not echo the key (a blank or five-letter one is in any text).
    if len(secret.strip()) >= MIN_LENGTH:
        assert secret not in result.stderr

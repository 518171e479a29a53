"""Malformed client responses raise WebauthnInvalid and nothing else (WA-08, security-checks IN-*).

Fixed cases cover each field with bad base64url, wrong JSON types, truncated or oversized CBOR;
a seeded mutation run then flips, cuts and retypes parts of valid responses.
"""

from __future__ import annotations

import contextlib
import copy
import json
import random
from typing import Any

import cbor2
import pytest

from hankoflow.services import webauthn as wa
from hankoflow.testing.webauthn import SoftAuthenticator, b64url, from_b64url
from tests.services.webauthn.conftest import ORIGIN, creation_options, request_options

pytestmark = pytest.mark.django_db

NOT_OBJECTS = [None, 0, 1.5, True, [], ["a"], "", "null", "[]", "not json", "{", "\ud800", b"{}"]
FIELD_VALUES = [None, 0, -1, 2**70, True, [], {}, "", "!!!", "ü", "====", "A", "\x00", "a" * 5000]


def set_path(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return data


def delete_path(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return data


@pytest.fixture
def registration(account_factory, flow_id):
    """(options, a valid attestation for them) – a fresh challenge each call."""
    account = account_factory()

    def make():
        options = creation_options(account, flow_id=flow_id)
        return options, SoftAuthenticator(ORIGIN).create(options.options)

    return make


@pytest.fixture
def authentication(account_factory, register, flow_id):
    device = SoftAuthenticator(ORIGIN)
    register(account_factory(), device)

    def make():
        options = request_options(flow_id=flow_id)
        return options, device.get(options.options)

    return make


def expect_invalid(verify, options, response, flow_id):
    with pytest.raises(wa.WebauthnInvalid):
        verify(options.challenge_id, response, flow_id=flow_id)


REGISTRATION_PATHS = [
    ("id",),
    ("rawId",),
    ("type",),
    ("response",),
    ("response", "clientDataJSON"),
    ("response", "attestationObject"),
    ("response", "transports"),
    ("authenticatorAttachment",),
]
AUTHENTICATION_PATHS = [
    ("id",),
    ("rawId",),
    ("type",),
    ("response",),
    ("response", "clientDataJSON"),
    ("response", "authenticatorData"),
    ("response", "signature"),
    ("response", "userHandle"),
    ("authenticatorAttachment",),
]


@pytest.mark.parametrize("response", NOT_OBJECTS)
def test_registration_responses_that_are_not_objects(registration, flow_id, response):
    options, _ = registration()
    expect_invalid(wa.verify_registration, options, response, flow_id)


@pytest.mark.parametrize("response", NOT_OBJECTS)
def test_assertions_that_are_not_objects(authentication, flow_id, response):
    options, _ = authentication()
    expect_invalid(wa.verify_authentication, options, response, flow_id)


@pytest.mark.parametrize("path", REGISTRATION_PATHS, ids="/".join)
def test_registration_fields_with_wrong_values(registration, flow_id, path):
    for value in FIELD_VALUES:
        options, response = registration()
        tampered = set_path(response, path, value)
        if tampered == response:
            continue
        try:
            wa.verify_registration(options.challenge_id, tampered, flow_id=flow_id)
        except wa.WebauthnInvalid:
            continue
        # Only fields the relying party does not rely on may be anything.
        assert path in {("response", "transports"), ("authenticatorAttachment",)} or (
            path == ("type",) and value == "public-key"
        ), (path, value)


@pytest.mark.parametrize("path", AUTHENTICATION_PATHS, ids="/".join)
def test_assertion_fields_with_wrong_values(authentication, flow_id, path):
    for value in FIELD_VALUES:
        options, response = authentication()
        tampered = set_path(response, path, value)
        try:
            wa.verify_authentication(options.challenge_id, tampered, flow_id=flow_id)
        except wa.WebauthnInvalid:
            continue
        assert path == ("authenticatorAttachment",), (path, value)


@pytest.mark.parametrize("path", REGISTRATION_PATHS[:6], ids="/".join)
def test_registration_with_a_missing_field(registration, flow_id, path):
    options, response = registration()
    expect_invalid(wa.verify_registration, options, delete_path(response, path), flow_id)


@pytest.mark.parametrize("path", AUTHENTICATION_PATHS[:7], ids="/".join)
def test_assertion_with_a_missing_field(authentication, flow_id, path):
    options, response = authentication()
    expect_invalid(wa.verify_authentication, options, delete_path(response, path), flow_id)


def _attestation_variants(attestation_object: bytes) -> list[bytes]:
    decoded = cbor2.loads(attestation_object)
    auth_data = decoded["authData"]
    return [
        attestation_object[: len(attestation_object) // 2],  # truncated CBOR
        attestation_object[:-1],
        attestation_object + b"\x00",  # trailing bytes
        b"\xff" * 8,
        cbor2.dumps([1, 2, 3]),  # not a map
        cbor2.dumps({"fmt": "none", "attStmt": {}}),  # no authData
        cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": "text"}),
        cbor2.dumps({"fmt": 7, "attStmt": {}, "authData": auth_data}),
        cbor2.dumps({"fmt": "packed", "attStmt": {}, "authData": auth_data}),
        cbor2.dumps({"fmt": "none", "attStmt": {"sig": b"x"}, "authData": auth_data}),
        cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data[:36]}),  # short
        cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data[:60]}),  # cut id
        cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data[:-5]}),  # cut key
        cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data + b"\xa0"}),
        # A byte string claiming 2**62 bytes.
        b"\xa3\x63fmt\x64none\x67attStmt\xa0\x68authData\x5b" + (2**62).to_bytes(8, "big"),
        b"\x81" * 20_000,  # deeply nested arrays
    ]


def test_truncated_and_malformed_attestation_objects(registration, flow_id):
    options, response = registration()
    variants = _attestation_variants(from_b64url(response["response"]["attestationObject"]))
    for attestation_object in variants:
        options, response = registration()
        tampered = set_path(response, ("response", "attestationObject"), b64url(attestation_object))
        expect_invalid(wa.verify_registration, options, tampered, flow_id)


def test_malformed_client_data(registration, authentication, flow_id):
    bad_client_data = [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"{}",
        b'{"type": "webauthn.create"}',
        b'{"type": "webauthn.create", "challenge": 5, "origin": "https://login.example.com"}',
        b'{"type": [], "challenge": "", "origin": {}}',
        b"[" * 100_000,
    ]
    for client_data in bad_client_data:
        options, response = registration()
        tampered = set_path(response, ("response", "clientDataJSON"), b64url(client_data))
        expect_invalid(wa.verify_registration, options, tampered, flow_id)
        options, response = authentication()
        tampered = set_path(response, ("response", "clientDataJSON"), b64url(client_data))
        expect_invalid(wa.verify_authentication, options, tampered, flow_id)


def test_malformed_authenticator_data_and_signatures(authentication, flow_id):
    options, response = authentication()
    auth_data = from_b64url(response["response"]["authenticatorData"])
    for field, value in [
        ("authenticatorData", auth_data[:36]),
        ("authenticatorData", auth_data + b"\x00"),
        ("authenticatorData", auth_data[:32] + bytes([auth_data[32] | 0x40]) + auth_data[33:]),
        ("authenticatorData", auth_data[:32] + bytes([auth_data[32] | 0x80]) + auth_data[33:]),
        ("signature", b""),
        ("signature", b"\x30\x00"),
        ("signature", b"\x00" * 72),
        ("userHandle", b"\x00" * 2000),
    ]:
        options, response = authentication()
        tampered = set_path(response, ("response", field), b64url(value))
        expect_invalid(wa.verify_authentication, options, tampered, flow_id)


def _mutations(rng: random.Random, response: dict[str, Any]) -> dict[str, Any]:
    """One random corruption of a webauthn-json response."""
    paths = [(k,) for k in response if k != "response"] + [
        ("response", k) for k in response["response"]
    ]
    path = rng.choice(paths)
    current: Any = response
    for key in path:
        current = current[key]
    kind = rng.randrange(6)
    if isinstance(current, str) and current and kind < 4:
        raw = bytearray(current.encode())
        if kind == 0:  # flip one character
            index = rng.randrange(len(raw))
            raw[index] = rng.choice(b"ABCxyz019-_=+/!")
            value: Any = raw.decode()
        elif kind == 1:  # cut
            value = raw[: rng.randrange(len(raw))].decode()
        elif kind == 2:  # flip a bit in the decoded bytes
            try:
                data = bytearray(from_b64url(current))
            except ValueError:
                data = bytearray(b"x")
            if data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            value = b64url(bytes(data))
        else:  # append junk
            value = current + rng.choice(["A", "==", "%", "\u00e9", "AAAA"])
    else:
        value = rng.choice([None, 1, [], {}, "", True, [current], {"x": current}])
    return set_path(response, path, value)


def test_random_mutations_of_registrations(registration, flow_id):
    rng = random.Random(20_505)
    for _ in range(150):
        options, response = registration()
        tampered = _mutations(rng, response)
        with contextlib.suppress(wa.WebauthnInvalid):
            wa.verify_registration(options.challenge_id, tampered, flow_id=flow_id)


def test_random_mutations_of_assertions(authentication, flow_id):
    rng = random.Random(50_502)
    for _ in range(150):
        options, response = authentication()
        tampered = _mutations(rng, response)
        with contextlib.suppress(wa.WebauthnInvalid):
            wa.verify_authentication(options.challenge_id, tampered, flow_id=flow_id)


@pytest.mark.parametrize(
    "challenge_id", ["", "not-a-uuid", None, "00000000-0000-0000-0000-00000000000"]
)
def test_malformed_challenge_ids(registration, challenge_id, flow_id):
    _, response = registration()
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(challenge_id, response, flow_id=flow_id)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_authentication(challenge_id, json.dumps(response), flow_id="garbage")

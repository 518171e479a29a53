"""TOTP: codes, windows, replay, encryption at rest and the failure budget (platform.md §1.9;
security-checks TO-01…TO-05, decision D8)."""

from __future__ import annotations

import base64
import io
import urllib.parse

import pyotp
import pytest
from django.db import connection
from PIL import Image

from hankoflow.models import AttemptBudget, OTPSecret
from hankoflow.services import attempts, crypto, totp
from hankoflow.services.totp import TotpResult

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits
OK = TotpResult(ok=True)
REFUSED = TotpResult(ok=False)
REPLAYED = TotpResult(ok=False, replayed=True)
IP = "203.0.113.7"


@pytest.fixture(autouse=True)
def _still(clock):
    """Time stands still, so a code stays in its step while a test runs."""
    clock.stop()


def verify(account, code: str, ip: str = IP) -> TotpResult:
    return totp.verify_login(account, code, ip=ip)


def current_step(clock) -> int:
    """The TOTP step the clock is in."""
    return int(clock.timestamp() // totp.PERIOD)


def code_at(step: int, secret: str = SECRET) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def other_code(*avoid: str) -> str:
    return next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in avoid)


# --- TO-01 secret handling ----------------------------------------------------------------------


def test_new_secret_is_160_random_bits_of_base32():
    secrets = {totp.new_secret() for _ in range(20)}
    assert len(secrets) == 20
    for secret in secrets:
        assert len(base64.b32decode(secret)) == 20


def test_provisioning_uri_names_the_account_and_the_service():
    uri = totp.provisioning_uri(SECRET, "alice@example.com")
    parsed = urllib.parse.urlparse(uri)
    query = urllib.parse.parse_qs(parsed.query)
    assert parsed.scheme == "otpauth"
    assert parsed.netloc == "totp"
    assert urllib.parse.unquote(parsed.path) == "/Hanko Authentication Service:alice@example.com"
    assert query["secret"] == [SECRET]
    assert query["issuer"] == ["Hanko Authentication Service"]


def test_qr_data_uri_is_a_200_pixel_png():
    uri = totp.provisioning_uri(SECRET, "alice@example.com")
    data_uri = totp.qr_data_uri(uri)
    prefix = "data:image/png;base64,"
    assert data_uri.startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(data_uri[len(prefix) :])))
    assert image.format == "PNG"
    assert image.size == (200, 200)
    assert {color for _, color in image.getcolors()} == {0, 255}  # crisp black on white


def test_secret_is_encrypted_at_rest(alice):
    totp.save_secret(alice, SECRET, last_step=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM hankoflow_otp_secret")
        ((stored,),) = cursor.fetchall()
    assert SECRET not in stored
    assert SECRET.lower() not in stored.lower()
    assert crypto.decrypt(stored, "totp") == SECRET.encode()
    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(stored, "signing keys")


def test_save_secret_replaces_the_old_secret(alice, clock):
    totp.save_secret(alice, SECRET, last_step=None)
    newer = totp.new_secret()
    totp.save_secret(alice, newer, last_step=None)
    assert OTPSecret.objects.filter(account=alice).count() == 1
    assert verify(alice, code_at(current_step(clock))) == REFUSED
    assert verify(alice, code_at(current_step(clock), newer)) == OK


@pytest.mark.parametrize(
    "secret", ["JBSWY3DPEHPK3PXPJBSWY3D", "JBSWY3DPEHPK3PX!JBSWY3DPEHPK3PXP", ""]
)
def test_save_secret_refuses_short_or_malformed_secrets(alice, secret):
    with pytest.raises(ValueError):
        totp.save_secret(alice, secret, last_step=None)
    assert not totp.has_secret(alice)


def test_has_and_remove_secret(alice, bob):
    assert not totp.has_secret(alice)
    totp.save_secret(alice, SECRET, last_step=None)
    assert totp.has_secret(alice)
    assert not totp.has_secret(bob)
    assert totp.remove_secret(alice) is True
    assert totp.remove_secret(alice) is False
    assert not totp.has_secret(alice)


# --- TO-03 window, clock and input --------------------------------------------------------------

T = 56_666_667  # a step; T * 30 is its first second


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [(-2, False), (-1, True), (0, True), (1, True), (2, False)],
)
def test_window_is_one_step_either_way(offset, accepted):
    at = T * 30 + 10
    expected = T + offset if accepted else None
    assert totp.matching_step(SECRET, code_at(T + offset), at=at) == expected


@pytest.mark.parametrize(
    ("at", "oldest", "newest"),
    [
        (T * 30 + 29.9, T - 1, T + 1),  # still step T
        (T * 30 + 30.0, T, T + 2),  # step T+1 begins
        (T * 30 - 0.1, T - 2, T),  # last instant of step T-1
    ],
)
def test_step_boundaries(at, oldest, newest):
    for step in range(oldest - 2, newest + 3):
        expected = step if oldest <= step <= newest else None
        assert totp.matching_step(SECRET, code_at(step), at=at) == expected, step


def test_server_clock_is_used_by_default(clock):
    assert totp.matching_step(SECRET, code_at(current_step(clock))) == current_step(clock)
    clock.advance(seconds=90)
    assert totp.matching_step(SECRET, code_at(current_step(clock) - 3)) is None


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda c: f"  {c}\n", id="surrounding-whitespace"),
        pytest.param(lambda c: f"\t{c} ", id="tabs"),
    ],
)
def test_code_is_trimmed(spelling):
    code = code_at(T)
    assert totp.matching_step(SECRET, spelling(code), at=T * 30) == T


FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
DEVANAGARI = str.maketrans("0123456789", "०१२३४५६७८९")


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda c: c.translate(FULLWIDTH), id="fullwidth"),
        pytest.param(lambda c: c.translate(ARABIC_INDIC), id="arabic-indic"),
        pytest.param(lambda c: c.translate(DEVANAGARI), id="devanagari"),
        pytest.param(lambda c: c[:-1] + "\u00b9", id="superscript-one"),
    ],
)
def test_non_ascii_digits_are_refused(spelling):
    """Decision D8: pyotp's own ``verify`` NFKC-normalises and would accept these."""
    assert totp.matching_step(SECRET, spelling(code_at(T)), at=T * 30) is None


def test_pyotp_alone_would_accept_fullwidth_digits():
    """Why D8 needs our own check: pyotp compares after NFKC normalisation."""
    fullwidth = code_at(T).translate(FULLWIDTH)
    assert pyotp.TOTP(SECRET).verify(fullwidth, for_time=T * 30)
    assert totp.matching_step(SECRET, fullwidth, at=T * 30) is None


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda c: c[:5], id="five-digits"),
        pytest.param(lambda c: c + "0", id="seven-digits"),
        pytest.param(lambda c: "0" + c, id="leading-zero-seven"),
        pytest.param(lambda c: c[:3] + " " + c[3:], id="inner-space"),
        pytest.param(lambda c: c[:3] + "-" + c[3:], id="dash"),
        pytest.param(lambda c: "+" + c[1:], id="sign"),
        pytest.param(lambda c: "", id="empty"),
        pytest.param(lambda c: "abcdef", id="letters"),
        pytest.param(lambda c: c + "\x00", id="nul"),
        pytest.param(lambda c: c * 1000, id="long"),
    ],
)
def test_wrong_length_or_characters_are_refused(spelling):
    assert totp.matching_step(SECRET, spelling(code_at(T)), at=T * 30) is None


@pytest.mark.parametrize("value", [None, 123456, ["123456"], b"123456"])
def test_non_strings_are_refused(value):
    assert totp.matching_step(SECRET, value, at=T * 30) is None


def test_every_candidate_is_compared_in_constant_time(monkeypatch):
    calls = []
    real = totp.hmac.compare_digest

    def counting(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(totp.hmac, "compare_digest", counting)
    assert totp.matching_step(SECRET, code_at(T + 1), at=T * 30) == T + 1
    assert len(calls) == 3
    calls.clear()
    assert (
        totp.matching_step(SECRET, other_code(*map(code_at, (T - 1, T, T + 1))), at=T * 30) is None
    )
    assert len(calls) == 3


# --- TO-04 replay -------------------------------------------------------------------------------


def test_after_step_excludes_used_steps():
    assert totp.matching_step(SECRET, code_at(T), after_step=T - 1, at=T * 30) == T
    assert totp.matching_step(SECRET, code_at(T), after_step=T, at=T * 30) is None
    assert totp.matching_step(SECRET, code_at(T - 1), after_step=T - 1, at=T * 30) is None
    assert totp.matching_step(SECRET, code_at(T + 1), after_step=T, at=T * 30) == T + 1


def test_a_code_shared_by_two_steps_matches_the_newest_unused(monkeypatch):
    """The rare "adjacent collision": the same digits at T-1 and T+1."""
    real = pyotp.TOTP.generate_otp

    def colliding(self, step):
        return "123456" if step in (T - 1, T + 1) else real(self, step)

    monkeypatch.setattr(pyotp.TOTP, "generate_otp", colliding)
    assert totp.matching_step(SECRET, "123456", at=T * 30) == T + 1
    assert totp.matching_step(SECRET, "123456", after_step=T - 2, at=T * 30) == T + 1
    assert totp.matching_step(SECRET, "123456", after_step=T - 1, at=T * 30) == T + 1
    assert totp.matching_step(SECRET, "123456", after_step=T + 1, at=T * 30) is None


def test_login_code_is_accepted_once(alice, clock):
    totp.save_secret(alice, SECRET, last_step=None)
    code = code_at(current_step(clock))
    assert verify(alice, code) == OK
    assert verify(alice, code) == REPLAYED
    assert OTPSecret.objects.get(account=alice).last_step == current_step(clock)


def test_enrolment_code_cannot_be_the_first_login_code(alice, clock):
    """TO-02: enrol with code C at step T, log in with C at step T -> rejected."""
    code = code_at(current_step(clock))
    step = totp.matching_step(SECRET, code)
    totp.save_secret(alice, SECRET, last_step=step)
    assert verify(alice, code) == REPLAYED
    clock.advance(seconds=30)
    assert verify(alice, code) == REPLAYED  # now T-1: still not newer
    assert verify(alice, code_at(current_step(clock))) == OK


def test_older_step_after_a_newer_one_is_replayed(alice, clock):
    totp.save_secret(alice, SECRET, last_step=None)
    assert verify(alice, code_at(current_step(clock) + 1)) == OK
    assert verify(alice, code_at(current_step(clock))) == REPLAYED
    assert verify(alice, code_at(current_step(clock) - 1)) == REPLAYED


@pytest.mark.parametrize(
    ("sequence", "expected"),
    [
        # allauth-style table: (step offsets submitted in order) -> results
        ((0, 0), [OK, REPLAYED]),
        ((-1, 0, 1), [OK, OK, OK]),
        ((1, 0, -1), [OK, REPLAYED, REPLAYED]),
        ((0, -1, 1), [OK, REPLAYED, OK]),
        ((-1, -1, 0, 0), [OK, REPLAYED, OK, REPLAYED]),
    ],
)
def test_replay_sequences(alice, clock, sequence, expected):
    totp.save_secret(alice, SECRET, last_step=None)
    results = [verify(alice, code_at(current_step(clock) + o)) for o in sequence]
    assert results == expected


def test_losing_the_compare_and_set_is_a_replay(alice, clock, monkeypatch):
    """A rival request stores the same step between our read and our UPDATE."""
    totp.save_secret(alice, SECRET, last_step=None)
    real = totp.matching_step

    def rival_wins_meanwhile(*args, **kwargs):
        step = real(*args, **kwargs)
        OTPSecret.objects.filter(account=alice).update(last_step=step)
        return step

    monkeypatch.setattr(totp, "matching_step", rival_wins_meanwhile)
    assert verify(alice, code_at(current_step(clock))) == REPLAYED


def test_no_secret_refuses(alice, clock):
    assert verify(alice, code_at(current_step(clock))) == REFUSED


# --- TO-05 throttling ---------------------------------------------------------------------------


def wrong_code(step: int) -> str:
    return other_code(*(code_at(s) for s in (step - 1, step, step + 1)))


def budget(account, network: str = attempts.ALL_NETWORKS) -> AttemptBudget:
    return AttemptBudget.objects.get(kind="totp", subject=str(account.pk), network=network)


def test_wrong_codes_count_against_the_budget(alice, clock):
    clock.stop()
    totp.save_secret(alice, SECRET, last_step=None)
    for _ in range(attempts.NETWORK_FREE):
        assert verify(alice, wrong_code(current_step(clock))) == REFUSED
    assert budget(alice).failures == attempts.NETWORK_FREE
    # Past the free failures even the right code is refused until the wait is over, uncounted.
    assert verify(alice, code_at(current_step(clock))) == REFUSED
    assert budget(alice).failures == attempts.NETWORK_FREE
    clock.advance(seconds=1)
    assert verify(alice, code_at(current_step(clock))) == OK


def test_success_resets_the_budget(alice, clock):
    clock.stop()
    totp.save_secret(alice, SECRET, last_step=None)
    for _ in range(attempts.NETWORK_FREE - 1):
        verify(alice, wrong_code(current_step(clock)))
    assert verify(alice, code_at(current_step(clock))) == OK
    assert budget(alice).failures == budget(alice, attempts.network_of(IP)).failures == 0
    clock.advance(seconds=30)
    for _ in range(attempts.NETWORK_FREE):
        assert verify(alice, wrong_code(current_step(clock))) == REFUSED
    clock.advance(seconds=1)
    assert verify(alice, code_at(current_step(clock))) == OK


def test_replays_are_not_counted_as_failures(alice, clock):
    totp.save_secret(alice, SECRET, last_step=None)
    code = code_at(current_step(clock))
    verify(alice, code)
    for _ in range(attempts.NETWORK_FREE + 1):
        assert verify(alice, code) == REPLAYED
    assert budget(alice).failures == 0


def test_budget_is_per_account(alice, bob, clock):
    clock.stop()
    totp.save_secret(alice, SECRET, last_step=None)
    totp.save_secret(bob, SECRET, last_step=None)
    for _ in range(attempts.NETWORK_FREE):
        verify(alice, wrong_code(current_step(clock)))
    assert verify(alice, code_at(current_step(clock))) == REFUSED
    assert verify(bob, code_at(current_step(clock))) == OK


def test_guesses_from_new_networks_do_not_hold_a_known_network(alice, clock):
    clock.stop()
    totp.save_secret(alice, SECRET, last_step=None)
    assert verify(alice, code_at(current_step(clock)), ip="198.51.100.20") == OK
    clock.advance(seconds=30)
    for n in range(attempts.SUBJECT_FREE):
        assert verify(alice, wrong_code(current_step(clock)), ip=f"10.0.{n}.1") == REFUSED
    assert verify(alice, code_at(current_step(clock)), ip="10.0.99.1") == REFUSED
    assert verify(alice, code_at(current_step(clock)), ip="198.51.100.20") == OK


def test_consecutive_ceiling_lifts_after_a_quiet_day(alice, clock):
    clock.stop()
    totp.save_secret(alice, SECRET, last_step=None)
    for n in range(attempts.CEILING):
        verify(alice, wrong_code(current_step(clock)), ip=f"10.0.{n}.1")
        if budget(alice).failures == n:  # refused, uncounted: wait the longest delay
            clock.advance(minutes=15)
            verify(alice, wrong_code(current_step(clock)), ip=f"10.0.{n}.1")
    assert budget(alice).failures == attempts.CEILING
    assert verify(alice, code_at(current_step(clock)), ip="10.1.0.1") == REFUSED
    clock.advance(hours=23)
    assert verify(alice, code_at(current_step(clock)), ip="10.1.0.1") == REFUSED
    clock.advance(hours=1)
    assert verify(alice, code_at(current_step(clock)), ip="10.1.0.1") == OK

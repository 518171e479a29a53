"""Calling a callback safely: the server-side request forgery guard and the pinned POST.

A callback is any URL an admin (or an API key) typed, and the request goes out from inside our
network, so before each attempt:

* the scheme must be ``http`` or ``https`` and the URL must name a host;
* the host is resolved, and every address it resolves to must be public: loopback, private,
  link-local, shared (CGNAT), multicast, reserved and unspecified addresses are refused, IPv4 and
  IPv6 alike, and so are IPv6 addresses that embed an IPv4 one (IPv4-mapped, NAT64, 6to4,
  Teredo) when the embedded one is refused; ``WEBHOOKS.ALLOW_PRIVATE_NETWORKS`` lifts the rule;
* the request connects to the address just checked (urllib3 with the IP as the pool's host,
  the name in ``Host`` and, for https, in SNI and the certificate check), so a second DNS answer
  cannot point it elsewhere (DNS rebinding);
* redirects are never followed (a 3xx answer is the receiver's answer, as in Hanko: < 400 is a
  success).

Hanko: checks none of this.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
import urllib3

from hankoflow.conf import settings

SCHEMES = {"http": 80, "https": 443}
# Of an answer we read only this much (and ignore it): a receiver cannot make us buffer more.
MAX_ANSWER_BYTES = 4096
USER_AGENT = "hankoflow-webhooks"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The callback may not be called (scheme, host or address): retrying cannot help."""


@dataclass(frozen=True)
class Answer:
    status_code: int
    latency_ms: int


def refused_address(address: IPAddress) -> str | None:
    """Why ``address`` may not be called, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            reason = refused_address(embedded)
            return f"{reason} (embedded in {address})" if reason else None
    checks = (
        ("loopback", address.is_loopback),
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("not globally routable", not address.is_global),
    )
    for name, hit in checks:
        if hit:
            return f"{name} address {address}"
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def resolve(url: str) -> tuple[str, str, int, str, IPAddress]:
    """``(scheme, host, port, path, address)`` of a callable ``url``: the address to connect to
    is the first one the host resolves to; ``Refused`` when the URL or any address is not
    allowed, ``OSError`` when the name does not resolve."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused(f"malformed callback URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise Refused(f"scheme {scheme or '(none)'!r} is not http or https")
    host = parts.hostname
    if not host:
        raise Refused("the callback URL names no host")
    port = port or SCHEMES[scheme]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise Refused(f"malformed host {host!r}: {exc}") from None
    except socket.gaierror as exc:  # may be a passing DNS failure: worth a retry
        raise OSError(f"cannot resolve {host}: {exc}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise Refused(f"{host} resolves to no address")
    if not settings.WEBHOOKS.ALLOW_PRIVATE_NETWORKS:
        for address in addresses:
            reason = refused_address(address)
            if reason:
                raise Refused(f"{host} resolves to a {reason} (WEBHOOKS.ALLOW_PRIVATE_NETWORKS)")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port, path, addresses[0]


def post(url: str, body: bytes, *, timeout: float, headers: dict[str, str] | None = None) -> Answer:
    """POST ``body`` (JSON) with extra ``headers`` to ``url`` at the address checked by
    ``resolve``; the answer's status code. ``Refused`` for a callback we may not call; other
    exceptions for network failures."""
    scheme, host, port, path, address = resolve(url)
    host_header = f"[{host}]" if ":" in host else host
    if port != SCHEMES[scheme]:
        host_header = f"{host_header}:{port}"
    options: dict = {
        "timeout": urllib3.Timeout(total=timeout),
        "retries": False,
        "maxsize": 1,
    }
    if scheme == "https":
        pool: urllib3.HTTPConnectionPool = urllib3.HTTPSConnectionPool(
            str(address),
            port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(str(address), port, **options)
    started = time.monotonic()
    try:
        response = pool.urlopen(
            "POST",
            path,
            body=body,
            headers={
                **(headers or {}),  # first: none of them replaces ours
                "Host": host_header,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            redirect=False,
            retries=False,
            assert_same_host=False,
            preload_content=False,
        )
        try:
            response.read(MAX_ANSWER_BYTES)
        except Exception:  # noqa: S110 (the status decides; a broken body does not matter)
            pass
        finally:
            response.release_conn()
            response.close()
    finally:
        pool.close()
    return Answer(response.status, int((time.monotonic() - started) * 1000))

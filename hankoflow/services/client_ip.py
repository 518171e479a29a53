"""The client's IP address, trusting forwarding headers only from configured proxies.

``SERVER.IP.EXTRACTOR`` is ``direct`` by default: ``REMOTE_ADDR`` and nothing else, because a
client can write any ``X-Forwarded-For`` it likes (security-checks finding 2). Behind a proxy,
list its networks in ``SERVER.IP.TRUSTED_PROXIES``; the header is then read right to left,
skipping trusted hops.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.http import HttpRequest

from hankoflow.conf import settings

MAX_ADDRESS_LENGTH = 64


def client_ip(request: HttpRequest) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    if not valid_address(peer):
        peer = ""  # a proxy's garbage is stored nowhere (NUL or long text fails PostgreSQL)
    ip_settings = settings.SERVER.IP
    extractor = ip_settings.EXTRACTOR
    if extractor == "direct":
        return peer
    proxies = _networks(tuple(ip_settings.TRUSTED_PROXIES))
    if not _trusted(peer, proxies):
        return peer
    if extractor == "x_real_ip":
        candidate = request.META.get("HTTP_X_REAL_IP", "").strip()
        return candidate if valid_address(candidate) else peer
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    for hop in reversed(hops):
        if not valid_address(hop):
            return peer  # a malformed chain is ignored as a whole
        if not _trusted(hop, proxies):
            return hop
    return peer


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def valid_address(address: str) -> bool:
    """An IP address that parses and fits the address columns (what is safe to store)."""
    if len(address) > MAX_ADDRESS_LENGTH:
        return False  # an IPv6 zone id can be any length; the columns hold 64
    return _parses(address)


@lru_cache(maxsize=1024)
def _parses(address: str) -> bool:
    # Cached: every request parses its peer's address, and peers repeat (proxies, clients).
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def _trusted(address: str, networks: tuple) -> bool:
    if not valid_address(address):
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks if ip.version == network.version)

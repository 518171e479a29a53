"""The server-side request forgery guard: schemes, resolved addresses, the setting."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from django.test import override_settings

from hankoflow.services.webhooks import network

REFUSED = [
    "127.0.0.1",
    "127.5.6.7",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata (link-local)
    "100.64.0.1",  # shared address space (CGNAT)
    "0.0.0.0",  # noqa: S104
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address):
    assert network.refused_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert network.refused_address(ipaddress.ip_address(address)) is None


def _resolving_to(monkeypatch, *addresses: str) -> None:
    def fake(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in addresses
        ]

    monkeypatch.setattr(network.socket, "getaddrinfo", fake)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com",
        "//example.com",
        "http://",
    ],
)
def test_only_http_and_https_urls_with_a_host(url):
    with pytest.raises(network.Refused):
        network.resolve(url)


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    _resolving_to(monkeypatch, "10.0.0.7")
    with pytest.raises(network.Refused, match="private address 10.0.0.7"):
        network.resolve("https://internal.example.com/hook")


def test_one_private_address_among_public_ones_is_enough_to_refuse(monkeypatch):
    _resolving_to(monkeypatch, "93.184.215.14", "::1")
    with pytest.raises(network.Refused, match="loopback"):
        network.resolve("https://mixed.example.com/hook")


def test_the_resolved_address_is_what_we_connect_to(monkeypatch):
    _resolving_to(monkeypatch, "93.184.215.14")
    scheme, host, port, path, address = network.resolve("https://Hooks.Example.com:8443/a?b=1")
    assert (scheme, host, port, path) == ("https", "hooks.example.com", 8443, "/a?b=1")
    assert str(address) == "93.184.215.14"


def test_literal_addresses_are_checked_too():
    with pytest.raises(network.Refused):
        network.resolve("http://[::ffff:127.0.0.1]:8080/")
    with pytest.raises(network.Refused):
        network.resolve("http://2130706433/")  # 127.0.0.1 as one number


def test_private_networks_allowed_by_the_setting(monkeypatch):
    _resolving_to(monkeypatch, "10.0.0.7")
    with override_settings(HANKOFLOW={"WEBHOOKS": {"ALLOW_PRIVATE_NETWORKS": True}}):
        assert str(network.resolve("http://internal.example.com/")[4]) == "10.0.0.7"


def test_unresolvable_host_fails_for_a_retry(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror("Name or service not known")

    monkeypatch.setattr(network.socket, "getaddrinfo", fail)
    with pytest.raises(OSError, match="cannot resolve") as caught:
        network.resolve("https://nowhere.invalid/")
    assert not isinstance(caught.value, network.Refused)
    with pytest.raises(OSError):
        network.resolve("https://nowhere.invalid/")

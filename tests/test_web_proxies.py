"""Who a request came from (web/proxies.py): forwarded headers believed only from the proxies
the owner lists, read from the right; IPv6 clients by their /64; a bad --trusted-proxy is one
line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ganpage.errors import GanpageError
from ganpage.web.proxies import TrustedProxies, client_key
from helpers.servers import free_port


def scope(peer: str, *headers: tuple[str, str]) -> dict:
    return {"type": "http", "client": (peer, 5000), "scheme": "http",
            "headers": [(name.lower().encode(), value.encode()) for name, value in headers]}


def resolved(proxies: TrustedProxies, peer: str, *headers: tuple[str, str]) -> tuple[str, str]:
    seen = proxies.resolve(scope(peer, *headers))
    return seen["client"][0], seen["scheme"]


def test_nobody_is_trusted_by_default_not_even_loopback():
    nobody = TrustedProxies()
    forged = (("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https"),
              ("X-Real-IP", "203.0.113.9"), ("Forwarded", "for=203.0.113.9;proto=https"))
    for peer in ("127.0.0.1", "::1", "10.0.0.1"):
        assert resolved(nobody, peer, *forged) == (peer, "http")


@pytest.mark.parametrize(("peer", "headers", "client", "scheme"), [
    ("127.0.0.1", [("X-Forwarded-For", "203.0.113.9")], "203.0.113.9", "http"),
    ("127.0.0.1", [("X-Forwarded-For", "198.51.100.1, 203.0.113.9")], "203.0.113.9", "http"),
    # the client's own entries left of a listed proxy's are never reached
    ("127.0.0.1", [("X-Forwarded-For", "198.51.100.1, 203.0.113.9, 10.1.2.3")], "203.0.113.9",
     "http"),
    ("127.0.0.1", [("X-Forwarded-For", "198.51.100.1"), ("X-Forwarded-For", "203.0.113.9")],
     "203.0.113.9", "http"),
    ("127.0.0.1", [("X-Forwarded-For", "203.0.113.9, not-an-address")], "127.0.0.1", "http"),
    ("127.0.0.1", [("X-Forwarded-For", "::ffff:203.0.113.9")], "203.0.113.9", "http"),
    ("127.0.0.1", [("X-Forwarded-Proto", "https")], "127.0.0.1", "https"),
    ("127.0.0.1", [("X-Forwarded-Proto", "gopher")], "127.0.0.1", "http"),
    ("127.0.0.1", [("X-Real-IP", "203.0.113.9")], "127.0.0.1", "http"),  # not read
    ("10.1.2.3", [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https")],
     "203.0.113.9", "https"),  # a listed network
    ("192.0.2.1", [("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https")],
     "192.0.2.1", "http"),  # not listed: its headers say nothing
])
def test_a_listed_proxy_names_the_client_from_the_right(peer, headers, client, scheme):
    proxies = TrustedProxies(["127.0.0.1", "10.0.0.0/8"])
    assert resolved(proxies, peer, *headers) == (client, scheme)


def test_ipv6_clients_are_counted_by_their_64():
    assert client_key("2001:db8:1:2:3:4:5:6") == client_key("2001:db8:1:2::1") == (
        "2001:db8:1:2::/64")
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:203.0.113.9") == client_key("203.0.113.9") == "203.0.113.9"
    assert client_key("testclient") == "testclient"


@pytest.mark.parametrize("value", ["localhost", "127.0.0.1/40", "not an address", ""])
def test_a_bad_trusted_proxy_is_one_line(value):
    with pytest.raises(GanpageError, match="--trusted-proxy") as caught:
        TrustedProxies([value])
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_serve_refuses_a_bad_trusted_proxy_in_one_line(tiny_gallery):
    result = subprocess.run(
        [sys.executable, "-m", "ganpage", "serve", str(tiny_gallery), "--port", str(free_port()),
         "--trusted-proxy", "nginx.local"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--trusted-proxy 'nginx.local' is not an address" in result.stderr

"""Who a request came from: the peer, or the client a trusted proxy names.

A proxy in front of the site (nginx in ``deploy/``) is the peer of every request, so the
client's address and scheme come in its ``X-Forwarded-For`` and ``X-Forwarded-Proto``. Those
headers are believed only from the proxies the owner lists (``serve --trusted-proxy``, none by
default): anyone else can send them, a proxy on the same machine that does not overwrite them
included (Caddy, cloudflared, an ssh tunnel). ``client_key`` groups IPv6 clients by their /64,
the block one subscriber gets, so a rate limit is not one bucket per address of it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from ganpage.errors import GanpageError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")
IPV6_CLIENT_PREFIX = 64  # one subscriber's block (RFC 6177): one client for the rate limits


def parse_address(text: str) -> Address | None:
    """The address ``text`` spells (IPv4-mapped IPv6 as IPv4), or None."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def client_key(host: str) -> str:
    """The name a client has in the rate limits: its IPv4 address, or its IPv6 /64."""
    address = parse_address(host)
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address) if address is not None else host


def scope_client_key(scope: dict) -> str:
    """``client_key`` of an ASGI scope's client (after ``TrustedProxies.resolve``)."""
    client = scope.get("client")
    return client_key(client[0]) if client else "unknown"


class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed."""

    def __init__(self, proxies: Iterable[str] = ()):
        self.networks: tuple[Network, ...] = tuple(_network(text) for text in proxies)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def resolve(self, scope: dict) -> dict:
        """``scope`` with the client and scheme a trusted proxy names; unchanged when the peer
        is not one of them (or no proxy is trusted)."""
        if not self.networks or scope.get("type") != "http":
            return scope
        peer = scope.get("client")
        if not peer or not self.trusts(parse_address(peer[0])):
            return scope
        forwarded, proto = [], ""
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                forwarded.extend(value.decode("latin-1").split(","))
            elif name == b"x-forwarded-proto":
                proto = value.decode("latin-1").split(",")[-1].strip().lower()
        client = self._client(forwarded)
        changes: dict = {}
        if client is not None:
            changes["client"] = (str(client), 0)
        if proto in SCHEMES:
            changes["scheme"] = proto
        return {**scope, **changes} if changes else scope

    def _client(self, forwarded: list[str]) -> Address | None:
        """The nearest address in X-Forwarded-For that is not a trusted proxy, read from the
        right (each proxy appends its peer); an entry that is not an address ends the walk."""
        chosen = None
        for text in reversed(forwarded):
            address = parse_address(text)
            if address is None:
                break
            chosen = address
            if not self.trusts(address):
                break
        return chosen


def _network(text: str) -> Network:
    try:
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        raise GanpageError(f"--trusted-proxy {text[:60]!r} is not an address or network; give "
                           "the proxy's address, such as 127.0.0.1, ::1 or 10.0.0.0/8") from None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        return ipaddress.ip_network(f"{network.network_address.ipv4_mapped}/"
                                    f"{max(0, network.prefixlen - 96)}")
    return network

"""Downloads reach public addresses only: ``is_public_address`` (IPv4 embedded in IPv6
included) and ``PublicOnlyResolver``, aiohttp's resolver refusing a host with any non-public
address, so the address checked is the address connected to (no DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: str) -> bool:
    """Whether an address is public, including any IPv4 address embedded in an IPv6 one."""
    ip = ipaddress.ip_address(address)
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # Teredo (2001::/32) needs no case: it is never global
        embedded = [ip.ipv4_mapped, ip.sixtofour,
                    ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None]
        return all(is_public_address(str(v4)) for v4 in embedded if v4 is not None)
    return True


class NonPublicAddress(OSError):
    """A host name that resolved to a loopback, private, link-local or multicast address."""


class PublicOnlyResolver(AbstractResolver):
    """aiohttp's resolver, refusing any host with a non-public address.

    The connector connects to the addresses this returns, so the address checked is the address
    used: a DNS answer that changes between a check and the connection (DNS rebinding) cannot
    slip through.
    """

    def __init__(self, base: AbstractResolver | None = None):
        self._base = base or aiohttp.ThreadedResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._base.resolve(host, port, family)
        if not results or not all(is_public_address(result["host"]) for result in results):
            raise NonPublicAddress(f"{host} resolves to a non-public address")
        return results

    async def close(self) -> None:
        await self._base.close()

import asyncio

import pytest
from aiohttp.abc import AbstractResolver

from ganpage.data import address_guard
from ganpage.data.address_guard import NonPublicAddress, PublicOnlyResolver


@pytest.mark.parametrize(("address", "public"), [
    ("8.8.8.8", True), ("2606:4700::1111", True), ("::ffff:8.8.8.8", True),
    ("127.0.0.1", False), ("10.1.2.3", False), ("169.254.169.254", False), ("100.64.0.1", False),
    ("0.0.0.0", False), ("224.0.0.1", False), ("::1", False), ("fe80::1", False),
    ("::ffff:127.0.0.1", False),  # IPv4-mapped
    ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
    ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
])
def test_public_address_check_sees_through_embedded_ipv4(address, public):
    assert address_guard.is_public_address(address) is public


class Answers(AbstractResolver):
    """A resolver that answers every host with the given addresses."""

    def __init__(self, *addresses: str):
        self.addresses = addresses

    async def resolve(self, host, port=0, family=0):
        return [{"hostname": host, "host": a, "port": port, "family": family, "proto": 0,
                 "flags": 0} for a in self.addresses]

    async def close(self):
        pass


def test_a_host_with_any_non_public_address_is_refused():
    assert asyncio.run(PublicOnlyResolver(Answers("8.8.8.8")).resolve("ok.example"))
    with pytest.raises(NonPublicAddress, match="rebind.example"):
        asyncio.run(PublicOnlyResolver(Answers("8.8.8.8", "10.0.0.1")).resolve("rebind.example"))

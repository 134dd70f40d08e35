"""Addresses webhooks never go to: every IANA special-purpose block, and then some.

Python's `ipaddress` flags lag the registries (3.11.7 calls 6to4's
2002:a00:1::1, which embeds 10.0.1.0, and the 2024 documentation block
3fff::/20 global), so the IANA IPv4 and IPv6 Special-Purpose Address
Registries themselves are the source: CSV files in data/, vendored with
their source and date. An address is refused when

- it lies in any block of either registry, whatever the registry's
  "Globally Reachable" column says: no webhook receiver lives in an AS112
  sinkhole, an anycast relay or a translation prefix, and a block that is
  "global" today (6to4, NAT64) can embed a private IPv4 address;
- it is an IPv6 address that embeds an IPv4 address (IPv4-mapped,
  IPv4-compatible, 6to4, Teredo, NAT64): refused by its block anyway, but the
  reason names the embedded address, which is what the operator needs to see;
- Python's flags, as a second opinion, call it multicast (its own IANA
  registry), reserved (unassigned IPv6 space), or not global.
"""

import csv
import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

REGISTRY_FILES = (
    Path(__file__).parent / "data" / "iana-ipv4-special-registry.csv",
    Path(__file__).parent / "data" / "iana-ipv6-special-registry.csv",
)
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack ...
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
}
_IPV4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated (RFC 4291), not in the registry
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


@dataclass(frozen=True)
class SpecialBlock:
    """One block of an IANA special-purpose registry."""

    network: IPNetwork
    name: str
    rfc: str

    def __str__(self) -> str:
        return f"{self.network} ({self.name}, {self.rfc})"


def read_registry(path: Path) -> list[SpecialBlock]:
    """The blocks of one vendored registry file (IANA's CSV columns, "#" comment lines)."""
    with path.open(newline="") as file:
        lines = [line for line in file if not line.startswith("#")]
    blocks = []
    for row in csv.DictReader(lines):
        # One row may name several blocks: "192.0.0.170/32, 192.0.0.171/32".
        for block in row["Address Block"].split(","):
            blocks.append(
                SpecialBlock(
                    network=ipaddress.ip_network(block.strip()),
                    name=row["Name"].strip().strip('"'),
                    rfc=row["RFC"].strip(),
                )
            )
    return blocks


@lru_cache(maxsize=1)
def special_blocks() -> tuple[SpecialBlock, ...]:
    """Every block of both registries, most specific first."""
    blocks = [block for path in REGISTRY_FILES for block in read_registry(path)]
    return tuple(sorted(blocks, key=lambda block: -block.network.prefixlen))


def special_block(address: IPAddress) -> SpecialBlock | None:
    """The most specific registry block holding `address`, or None."""
    for block in special_blocks():
        if block.network.version == address.version and address in block.network:
            return block
    return None


def embedded_ipv4(address: IPAddress) -> tuple[str, ipaddress.IPv4Address] | None:
    """(kind with its article, the IPv4 address) for an IPv6 address that carries one, else None."""
    if address.version != 6:
        return None
    packed = address.packed
    if address in _IPV4_MAPPED:
        return "an IPv4-mapped", ipaddress.IPv4Address(packed[12:])
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return "an IPv4-compatible", ipaddress.IPv4Address(packed[12:])
    if address in _SIX_TO_FOUR:
        return "a 6to4", ipaddress.IPv4Address(packed[2:6])
    if address in _TEREDO:
        server, client = address.teredo
        return "a Teredo", client if refusal(client) or not refusal(server) else server
    if address in _NAT64:
        return "a NAT64", ipaddress.IPv4Address(packed[12:])
    if address in _NAT64_LOCAL:  # RFC 6052 /48 layout: bits 64-71 are the "u" octet
        return "a NAT64", ipaddress.IPv4Address(packed[6:8] + packed[9:11])
    return None


def refusal(address: IPAddress) -> str | None:
    """Why a webhook may not go to `address` (a phrase after "<address> is"), or None."""
    embedded = embedded_ipv4(address)
    if embedded:
        kind, ipv4 = embedded
        inner = refusal(ipv4)
        if inner:
            return f"{kind} address embedding {ipv4}, which is {inner}"
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    block = special_block(address)
    if block:
        return f"in {block}, an IANA special-purpose block"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_loopback or address.is_link_local or address.is_private:
        return "a non-public address"
    if not address.is_global:
        return "not a globally reachable address"
    return None

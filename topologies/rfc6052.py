"""IPv4-embedded IPv6 addresses (RFC 6052): what DNS64 synthesizes and NAT64 translates.

The IPv4 address sits right after the prefix, except that bits 64 to 71 (the
"u" octet) are always zero, so for /40, /48 and /56 prefixes it is split around
that octet (RFC 6052 section 2.2, figure 1). A /96 prefix takes it in the last 32
bits, the well-known prefix 64:ff9b::/96 (section 2.1) included.
"""

from __future__ import annotations

import ipaddress

VALID_LENGTHS = (32, 40, 48, 56, 64, 96)
WELL_KNOWN_PREFIX = ipaddress.IPv6Network("64:ff9b::/96")


def check_prefix(prefix: str) -> str | None:
    """Why ``prefix`` cannot be a NAT64 prefix, or None when it can."""
    try:
        network = ipaddress.IPv6Network(prefix)
    except ValueError as error:
        return f"{prefix!r} is not an IPv6 network ({error})"
    if network.prefixlen not in VALID_LENGTHS:
        return (f"{prefix}: RFC 6052 allows prefix lengths {', '.join(f'/{n}' for n in VALID_LENGTHS)} "
                f"only, not /{network.prefixlen}")
    if network.prefixlen == 96 and (int(network.network_address) >> 56) & 0xFF:
        return f"{prefix}: bits 64 to 71 (the u octet) must be zero (RFC 6052 section 2.2)"
    return None


def _network(prefix) -> ipaddress.IPv6Network:
    network = ipaddress.IPv6Network(prefix)
    problem = check_prefix(str(network))
    if problem:
        raise ValueError(problem)
    return network


def _bytes_positions(length: int) -> list[int]:
    """Indexes (0..15) of the four IPv4 bytes in an address with a /length prefix."""
    start = length // 8
    return [i for i in range(start, 16) if i != 8][:4]


def synthesize(prefix, ipv4) -> ipaddress.IPv6Address:
    """The IPv6 address that stands for ``ipv4`` under ``prefix`` (section 2.2)."""
    network = _network(prefix)
    packed = bytearray(network.network_address.packed)
    for position, byte in zip(_bytes_positions(network.prefixlen), ipaddress.IPv4Address(ipv4).packed, strict=True):
        packed[position] = byte
    return ipaddress.IPv6Address(bytes(packed))


def extract(prefix, ipv6) -> ipaddress.IPv4Address:
    """The IPv4 address embedded in ``ipv6`` under ``prefix`` (section 2.3)."""
    network = _network(prefix)
    address = ipaddress.IPv6Address(ipv6)
    if address not in network:
        raise ValueError(f"{address} is not under the NAT64 prefix {network}")
    packed = address.packed
    return ipaddress.IPv4Address(bytes(packed[i] for i in _bytes_positions(network.prefixlen)))

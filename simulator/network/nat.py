"""nftables NAT44 tables from small typed rules, for every node that translates.

Four uses, one renderer:

- a CPE masquerades its private LAN behind its WAN address (NAT44, RFC 3022):
  ``masquerade(lan, lan_interface)``;
- a carrier-grade NAT gives each subscriber its port block of the public pool
  (RFC 6888, RFC 7422), never for traffic between subscribers (``ip daddr !=``
  shared space): ``port_block_rules(subscriber, pool, index, not_destination=...)``;
- the AFTR of DS-Lite does the same per B4 LAN, only for what leaves by its uplink
  (``oifname``): ``port_block_rules(lan, pool, index, oifname=uplink)``;
- the NAT64 translates TAYGA's internal pool to the whole public pool:
  ``pool_snat(internal, pool)``.

Pure: nothing here runs nft. A table renders to the text ``nft -f`` reads.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from simulator.model.address_plan import port_block

# What a port block applies to; the rest (ICMP) keeps the block's address and has
# its identifier translated instead.
PORT_PROTOCOLS = ("tcp", "udp")


@dataclass(frozen=True)
class Masquerade:
    """To the address of the interface the packet leaves by."""

    def __str__(self) -> str:
        return "masquerade"


@dataclass(frozen=True)
class Snat:
    """To ``address`` (or each of ``address``..``last``), on ports ``ports`` if given."""

    address: ipaddress.IPv4Address
    last: ipaddress.IPv4Address | None = None
    ports: tuple[int, int] | None = None

    def __str__(self) -> str:
        to = str(self.address) if self.last is None else f"{self.address}-{self.last}"
        if self.ports is not None:
            to += f":{self.ports[0]}-{self.ports[1]}"
        return f"snat to {to}"


@dataclass(frozen=True)
class NatRule:
    """One postrouting rule: packets from ``source`` that match the guards get ``action``."""

    source: ipaddress.IPv4Network | ipaddress.IPv4Address
    action: Snat | Masquerade
    not_destination: ipaddress.IPv4Network | None = None   # ip daddr != ...
    oifname: str | None = None                              # only leaving by this interface
    not_oifname: str | None = None                          # not leaving by this interface
    protocols: tuple[str, ...] = ()                         # meta l4proto; () is every protocol

    def __str__(self) -> str:
        parts = [f"ip saddr {self.source}"]
        if self.not_destination is not None:
            parts.append(f"ip daddr != {self.not_destination}")
        if self.oifname is not None:
            parts.append(f'oifname "{self.oifname}"')
        if self.not_oifname is not None:
            parts.append(f'oifname != "{self.not_oifname}"')
        if len(self.protocols) == 1:
            parts.append(f"meta l4proto {self.protocols[0]}")
        elif self.protocols:
            parts.append(f"meta l4proto {{ {', '.join(self.protocols)} }}")
        parts.append(str(self.action))
        return " ".join(parts)


@dataclass(frozen=True)
class NatTable:
    """An ``ip`` table with one source NAT chain; nft applies its rules in order."""

    name: str
    rules: tuple[NatRule, ...]


def render(table: NatTable) -> str:
    """The table as ``nft -f`` reads it."""
    return (f"table ip {table.name} {{\n"
            "  chain postrouting {\n"
            "    type nat hook postrouting priority srcnat; policy accept;\n"
            + "".join(f"    {rule}\n" for rule in table.rules)
            + "  }\n"
            "}\n")


def masquerade(lan: ipaddress.IPv4Network, lan_interface: str) -> NatRule:
    """A CPE's LAN behind its WAN address; the LAN's own traffic stays as it is."""
    return NatRule(lan, Masquerade(), not_oifname=lan_interface)


def port_block_rules(source: ipaddress.IPv4Network | ipaddress.IPv4Address, pool: ipaddress.IPv4Network,
                     index: int, *, not_destination: ipaddress.IPv4Network | None = None,
                     oifname: str | None = None) -> tuple[NatRule, NatRule]:
    """Subscriber ``index``'s port block of ``pool`` (RFC 7422) for TCP and UDP, and
    the block's address for the rest (ICMP)."""
    address, first, last = port_block(pool, index)
    return (NatRule(source, Snat(address, ports=(first, last)), not_destination, oifname,
                    protocols=PORT_PROTOCOLS),
            NatRule(source, Snat(address), not_destination, oifname))


def pool_snat(source: ipaddress.IPv4Network, pool: ipaddress.IPv4Network) -> NatRule:
    """Every address of ``source`` to any address of ``pool``, all of it (a pool is
    routed to its translator, not a segment: no network or broadcast address)."""
    return NatRule(source, Snat(pool[0], last=pool[-1]))

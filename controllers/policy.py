"""Forwarding policy of the dual-stack controller, free of OpenFlow and sockets.

Event handlers in ``controllers.dual_stack`` turn an OpenFlow packet-in into a
``PacketInfo``, ask the policy for a ``Decision`` and send what it says. A unit test
does the same with hand-made packets and checks the flows that come back.

Forwarding is L2 learning per switch: routing between segments belongs to the
router nodes of the graph, as in a real metro where BNGs and core routers route
and the aggregation layer switches. Every forwarding flow matches the EtherType as
well as the destination MAC so that its counters are per address family.

The switches forward every packet themselves; the controller only learns. Three
tables, as in Faucet's pipeline:

- table 0 classifies what transition mechanisms carry (``Mechanisms``): packets to
  or from the NAT64 prefix, CLAT addresses (464XLAT), IPv4-in-IPv6 softwires
  (DS-Lite, next header 4) and shared address space behind a CGN each hit a flow of
  their own, whose counters are the traffic per mechanism;
- table 1 knows the sources: a packet from a (port, MAC) it has no flow for is
  copied to the controller (its first bytes only) and goes on; the controller then
  installs that source here and its destination flows in table 2;
- table 2 forwards: a learned destination goes out of its port, anything else (a
  multicast or broadcast, a MAC not learned yet) is flooded by the switch, per
  family so that floods are counted too; multicast Neighbor Discovery has flows of
  its own, counted apart.

A controller that had to forward floods and first packets itself was the bottleneck
of a 1,000-node city: every RA, solicitation and ARP request of bring-up went
through it, and echo requests queued behind them for seconds.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_IPV6 = 0x86DD

IPPROTO_ICMPV6 = 58
# RFC 4861 messages sent to multicast groups: router solicitation and advertisement,
# neighbour solicitation (resolution and DAD) and unsolicited advertisement.
MULTICAST_ND_TYPES = (133, 134, 135, 136)
GROUP_BIT = ("01:00:00:00:00:00", "01:00:00:00:00:00")   # the I/G bit of a MAC, as (value, mask)

TABLE_MISS_PRIORITY = 0
FLOOD_PRIORITY = 1
ND_PRIORITY = 5
LEARNED_PRIORITY = 10
MECHANISM_PRIORITY = 20
CLAT_PRIORITY = 30          # a CLAT's packets also go to the NAT64 prefix: count them first
CLASSIFY_TABLE, SOURCE_TABLE, FORWARD_TABLE = 0, 1, 2
IPPROTO_IPIP = 4            # IPv4 in IPv6: the DS-Lite softwire (RFC 6333)
# Each mechanism's flows carry its cookie, so flow statistics name the mechanism.
MECHANISM_COOKIES = {"464xlat": 1, "nat64": 2, "ds-lite": 3, "cgn": 4}
ND_COOKIE = 0x10
# What of a packet the controller needs to learn its source: the Ethernet header.
LEARN_BYTES = 64


@dataclass(frozen=True)
class PacketInfo:
    """What the policy needs to know of a packet that reached the controller."""

    dpid: int
    in_port: int
    eth_src: str
    eth_dst: str
    eth_type: int


@dataclass(frozen=True)
class FlowSpec:
    priority: int
    match: tuple[tuple[str, object], ...]   # sorted (field, value) pairs, OXM names; (value, mask) for prefixes
    actions: tuple[tuple[str, object], ...]  # ("output", port), ("flood", None) or ("controller", max_len)
    idle_timeout: int = 0
    table_id: int = FORWARD_TABLE
    goto_table: int | None = None
    cookie: int = 0

    @property
    def match_dict(self) -> dict:
        return dict(self.match)


def _flow(table_id: int, priority: int, match: dict, actions: tuple = (), **extra) -> FlowSpec:
    return FlowSpec(priority, tuple(sorted(match.items())), actions, table_id=table_id, **extra)


@dataclass(frozen=True)
class Decision:
    """Flows to install, and flows to delete (matched strictly) before them."""

    flows: tuple[FlowSpec, ...] = ()
    removals: tuple[FlowSpec, ...] = ()


class FamilyForwarding:
    """Forwarding rules for one address family; subclasses differ by constants only."""

    NAME = ""
    ETH_TYPES: tuple[int, ...] = ()

    def handles(self, eth_type: int) -> bool:
        return eth_type in self.ETH_TYPES

    def learned_flows(self, eth_dst: str, port: int) -> tuple[FlowSpec, ...]:
        return tuple(_flow(FORWARD_TABLE, LEARNED_PRIORITY, {"eth_dst": eth_dst, "eth_type": eth_type},
                           (("output", port),)) for eth_type in self.ETH_TYPES)

    def flood_flows(self) -> tuple[FlowSpec, ...]:
        """Group destinations and MACs not learned yet: the switch floods them."""
        return tuple(_flow(FORWARD_TABLE, FLOOD_PRIORITY, {"eth_type": eth_type}, (("flood", None),))
                     for eth_type in self.ETH_TYPES)


class IPv4Forwarding(FamilyForwarding):
    NAME = "ipv4"
    ETH_TYPES = (ETH_TYPE_IPV4,)


class IPv6Forwarding(FamilyForwarding):
    NAME = "ipv6"
    ETH_TYPES = (ETH_TYPE_IPV6,)


class ArpForwarding(FamilyForwarding):
    # ARP is how IPv4 finds neighbours; counted apart so that the IPv4 share of
    # traffic is data, not resolution chatter. IPv6 Neighbor Discovery is ICMPv6
    # and so counts as IPv6, as it does on a real link.
    NAME = "arp"
    ETH_TYPES = (ETH_TYPE_ARP,)


FAMILIES = (IPv4Forwarding(), IPv6Forwarding(), ArpForwarding())


def family_of(eth_type: int) -> str:
    for family in FAMILIES:
        if family.handles(eth_type):
            return family.NAME
    return "other"


def is_group_address(mac: str) -> bool:
    """Broadcast and multicast MACs (ARP requests, ND solicitations, RAs) have the I/G bit set."""
    return int(mac.split(":")[0], 16) & 1 == 1


def neighbor_discovery_flows() -> tuple[FlowSpec, ...]:
    """Multicast ND, flooded like any IPv6 multicast but counted on its own."""
    return tuple(_flow(FORWARD_TABLE, ND_PRIORITY,
                       {"eth_type": ETH_TYPE_IPV6, "eth_dst": GROUP_BIT, "ip_proto": IPPROTO_ICMPV6,
                        "icmpv6_type": icmp_type},
                       (("flood", None),), cookie=ND_COOKIE)
                 for icmp_type in MULTICAST_ND_TYPES)


def _masked(prefix: str) -> tuple[str, str]:
    network = ipaddress.ip_network(prefix)
    return str(network.network_address), str(network.netmask)


@dataclass(frozen=True)
class Mechanisms:
    """What the city's transition mechanisms put on the wire, for table 0."""

    nat64_prefix: str | None = None
    clat: tuple[str, ...] = ()            # CLAT prefixes: a UE's /128, a CPE's /120
    softwire: bool = False                # DS-Lite is deployed
    shared_space: str | None = None       # 100.64.0.0/10 when a CGN runs

    @classmethod
    def from_dict(cls, data: dict) -> Mechanisms:
        return cls(data.get("nat64_prefix"), tuple(data.get("clat", ())), bool(data.get("softwire")),
                   data.get("shared_space"))

    def flows(self) -> tuple[FlowSpec, ...]:
        """Table 0: one counting flow per (mechanism, direction), then table 1."""
        rules = []
        for prefix in self.clat:
            for side in ("ipv6_src", "ipv6_dst"):
                rules.append(("464xlat", CLAT_PRIORITY, {"eth_type": ETH_TYPE_IPV6, side: _masked(prefix)}))
        if self.nat64_prefix:
            for side in ("ipv6_src", "ipv6_dst"):
                rules.append(("nat64", MECHANISM_PRIORITY,
                              {"eth_type": ETH_TYPE_IPV6, side: _masked(self.nat64_prefix)}))
        if self.softwire:
            rules.append(("ds-lite", MECHANISM_PRIORITY, {"eth_type": ETH_TYPE_IPV6, "ip_proto": IPPROTO_IPIP}))
        if self.shared_space:
            for side in ("ipv4_src", "ipv4_dst"):
                rules.append(("cgn", MECHANISM_PRIORITY, {"eth_type": ETH_TYPE_IPV4, side: _masked(self.shared_space)}))
        flows = [_flow(CLASSIFY_TABLE, priority, match, goto_table=SOURCE_TABLE, cookie=MECHANISM_COOKIES[name])
                 for name, priority, match in rules]
        flows.append(_flow(CLASSIFY_TABLE, TABLE_MISS_PRIORITY, {}, goto_table=SOURCE_TABLE))
        return tuple(flows)


def mechanism_of(cookie: int) -> str | None:
    return next((name for name, value in MECHANISM_COOKIES.items() if value == cookie), None)


@dataclass
class Counter:
    packets: int = 0
    bytes: int = 0

    def add(self, packets: int, size: int) -> None:
        self.packets += packets
        self.bytes += size


def source_flow(in_port: int, eth_src: str) -> FlowSpec:
    return _flow(SOURCE_TABLE, LEARNED_PRIORITY, {"in_port": in_port, "eth_src": eth_src},
                 goto_table=FORWARD_TABLE)


@dataclass
class LearningSwitchPolicy:
    """MAC learning per switch: a source flow per (port, MAC), a forwarding flow per
    (MAC, EtherType)."""

    mechanisms: Mechanisms = field(default_factory=Mechanisms)
    mac_tables: dict[int, dict[str, int]] = field(default_factory=dict)

    def switch_connected(self, dpid: int) -> tuple[FlowSpec, ...]:
        self.mac_tables[dpid] = {}
        source = (
            # A group source is not a station: nothing to learn.
            _flow(SOURCE_TABLE, FLOOD_PRIORITY, {"eth_src": GROUP_BIT}, goto_table=FORWARD_TABLE),
            _flow(SOURCE_TABLE, TABLE_MISS_PRIORITY, {}, (("controller", LEARN_BYTES),), goto_table=FORWARD_TABLE),
        )
        forward = neighbor_discovery_flows() + tuple(flow for family in FAMILIES for flow in family.flood_flows())
        forward += (_flow(FORWARD_TABLE, TABLE_MISS_PRIORITY, {}, (("flood", None),)),)
        return self.mechanisms.flows() + source + forward

    def switch_disconnected(self, dpid: int) -> None:
        self.mac_tables.pop(dpid, None)

    def packet_received(self, packet: PacketInfo) -> Decision:
        """A packet from a source table 1 did not know: learn where its MAC is."""
        if is_group_address(packet.eth_src):
            return Decision()
        table = self.mac_tables.setdefault(packet.dpid, {})
        before = table.get(packet.eth_src)
        learned = (source_flow(packet.in_port, packet.eth_src),)
        if before == packet.in_port:
            # Copies sent before the source flow was in place: install it again, no more.
            return Decision(flows=learned)
        table[packet.eth_src] = packet.in_port
        forward = tuple(flow for family in FAMILIES for flow in family.learned_flows(packet.eth_src, packet.in_port))
        # A station that moved: forget the port it left (its forwarding flows are replaced).
        removals = (source_flow(before, packet.eth_src),) if before is not None else ()
        return Decision(flows=learned + forward, removals=removals)

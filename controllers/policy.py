"""Forwarding policy of the dual-stack controller, free of OpenFlow and sockets.

Event handlers in ``controllers.dual_stack`` turn an OpenFlow packet-in into a
``PacketInfo``, ask the policy for a ``Decision`` and send what it says. A unit test
does the same with hand-made packets and checks the flows that come back.

Forwarding is L2 learning per switch: routing between segments belongs to the
router nodes of the graph, as in a real metro where BNGs and core routers route
and the aggregation layer switches. Every learned flow matches the EtherType as well
as the destination MAC so that its counters are per address family.

Two tables. Table 0 classifies what transition mechanisms carry (``Mechanisms``):
packets to or from the NAT64 prefix, CLAT addresses (464XLAT), IPv4-in-IPv6
softwires (DS-Lite, next header 4) and shared address space behind a CGN each hit
a flow of their own, whose counters are the traffic per mechanism, then go on to
table 1, where the learned flows forward them.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

ETH_TYPE_IPV4 = 0x0800
ETH_TYPE_ARP = 0x0806
ETH_TYPE_IPV6 = 0x86DD

IPPROTO_ICMPV6 = 58
# RFC 4861: router/neighbour solicitation and advertisement, redirect.
ND_TYPES = frozenset({133, 134, 135, 136, 137})

FLOOD = "flood"
TABLE_MISS_PRIORITY = 0
LEARNED_PRIORITY = 10
MECHANISM_PRIORITY = 20
CLAT_PRIORITY = 30          # a CLAT's packets also go to the NAT64 prefix: count them first
CLASSIFY_TABLE, FORWARD_TABLE = 0, 1
IPPROTO_IPIP = 4            # IPv4 in IPv6: the DS-Lite softwire (RFC 6333)
# Each mechanism's flows carry its cookie, so flow statistics name the mechanism.
MECHANISM_COOKIES = {"464xlat": 1, "nat64": 2, "ds-lite": 3, "cgn": 4}


@dataclass(frozen=True)
class PacketInfo:
    """What the policy needs to know of a packet that reached the controller."""

    dpid: int
    in_port: int
    eth_src: str
    eth_dst: str
    eth_type: int
    size: int = 0
    ip_proto: int | None = None
    icmpv6_type: int | None = None


@dataclass(frozen=True)
class FlowSpec:
    priority: int
    match: tuple[tuple[str, object], ...]   # sorted (field, value) pairs, OXM names; (value, mask) for prefixes
    actions: tuple[tuple[str, object], ...]  # ("output", port) or ("controller", max_len)
    idle_timeout: int = 0
    table_id: int = FORWARD_TABLE
    goto_table: int | None = None
    cookie: int = 0

    @property
    def match_dict(self) -> dict:
        return dict(self.match)


@dataclass(frozen=True)
class Decision:
    """Flows to install, then where to send the packet itself (a port, FLOOD or None)."""

    flows: tuple[FlowSpec, ...] = ()
    output: int | str | None = None


class FamilyForwarding:
    """Forwarding rules for one address family; subclasses differ by constants only."""

    NAME = ""
    ETH_TYPES: tuple[int, ...] = ()

    def handles(self, eth_type: int) -> bool:
        return eth_type in self.ETH_TYPES

    def learned_flow(self, eth_type: int, eth_dst: str, port: int) -> FlowSpec:
        return FlowSpec(
            priority=LEARNED_PRIORITY,
            match=tuple(sorted({"eth_dst": eth_dst, "eth_type": eth_type}.items())),
            actions=(("output", port),),
        )


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


def is_neighbor_discovery(packet: PacketInfo) -> bool:
    return (packet.eth_type == ETH_TYPE_IPV6 and packet.ip_proto == IPPROTO_ICMPV6
            and packet.icmpv6_type in ND_TYPES)


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
        flows = [FlowSpec(priority, tuple(sorted(match.items())), (), table_id=CLASSIFY_TABLE,
                          goto_table=FORWARD_TABLE, cookie=MECHANISM_COOKIES[name])
                 for name, priority, match in rules]
        flows.append(FlowSpec(TABLE_MISS_PRIORITY, (), (), table_id=CLASSIFY_TABLE, goto_table=FORWARD_TABLE))
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


@dataclass
class LearningSwitchPolicy:
    """MAC learning per switch, one flow per (destination, EtherType)."""

    mechanisms: Mechanisms = field(default_factory=Mechanisms)
    mac_tables: dict[int, dict[str, int]] = field(default_factory=dict)
    # Packets the controller forwarded itself (floods, first packets): flow
    # counters never see them, so they are counted here per family.
    packet_in: dict[int, dict[str, Counter]] = field(default_factory=dict)
    neighbor_discovery: dict[int, Counter] = field(default_factory=dict)

    def switch_connected(self, dpid: int) -> tuple[FlowSpec, ...]:
        self.mac_tables[dpid] = {}
        self.packet_in[dpid] = {}
        self.neighbor_discovery[dpid] = Counter()
        # Table 0 counts per mechanism; in table 1 a miss sends the whole packet to
        # the controller: it has to forward it itself.
        return self.mechanisms.flows() + (FlowSpec(priority=TABLE_MISS_PRIORITY, match=(),
                                                   actions=(("controller", 0xFFFF),)),)

    def switch_disconnected(self, dpid: int) -> None:
        self.mac_tables.pop(dpid, None)

    def packet_received(self, packet: PacketInfo) -> Decision:
        table = self.mac_tables.setdefault(packet.dpid, {})
        counters = self.packet_in.setdefault(packet.dpid, {})
        counters.setdefault(family_of(packet.eth_type), Counter()).add(1, packet.size)
        if is_neighbor_discovery(packet):
            self.neighbor_discovery.setdefault(packet.dpid, Counter()).add(1, packet.size)

        if not is_group_address(packet.eth_src):
            table[packet.eth_src] = packet.in_port
        if is_group_address(packet.eth_dst):
            return Decision(output=FLOOD)
        out_port = table.get(packet.eth_dst)
        if out_port is None:
            return Decision(output=FLOOD)
        if out_port == packet.in_port:
            return Decision()  # the destination is behind the port it came from: drop
        for family in FAMILIES:
            if family.handles(packet.eth_type):
                return Decision(
                    flows=(family.learned_flow(packet.eth_type, packet.eth_dst, out_port),),
                    output=out_port)
        # Other EtherTypes (LLDP, ...) are forwarded but get no flow of their own.
        return Decision(output=out_port)

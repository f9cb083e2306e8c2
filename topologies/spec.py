"""Typed, frozen descriptions that topology generators put on graph nodes and edges.

A generator returns a ``networkx.Graph`` whose nodes carry ``spec=NodeSpec(...)`` and
whose edges carry ``spec=LinkSpec(...)``. Nothing here knows how the graph will run.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

import networkx as nx

from topologies.errors import TopologyError

# Names become part of Linux interface names (<run prefix><name>-e<port>, at most 15
# characters), so they are short, lower case and safe in a shell.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]{0,7}$")


class Family(str, enum.Enum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"

    @property
    def label(self) -> str:
        return {"ipv4": "IPv4", "ipv6": "IPv6"}[self.value]


DUAL_STACK = frozenset({Family.IPV4, Family.IPV6})
IPV4_ONLY = frozenset({Family.IPV4})
IPV6_ONLY = frozenset({Family.IPV6})
# The names specs and reports give these sets, in migration order.
FAMILY_SETS = {"ipv4-only": IPV4_ONLY, "dual-stack": DUAL_STACK, "ipv6-only": IPV6_ONLY}


class Kind(str, enum.Enum):
    """How a node is emulated."""

    SWITCH = "switch"  # an Open vSwitch bridge driven by the controller
    ROUTER = "router"  # a Linux host that forwards IPv4 and IPv6
    HOST = "host"      # a Linux host that does not forward


class Role(str, enum.Enum):
    """What a node is in the city; the role decides its kind."""

    CORE_ROUTER = "core-router"
    AGGREGATION_ROUTER = "aggregation-router"   # a district's uplink to the metro core
    ACCESS_ROUTER = "access-router"             # BNG/BRAS of fixed broadband
    MOBILE_GATEWAY = "mobile-gateway"           # the packet gateway (P-GW/UPF) of mobile access
    CPE = "cpe"                                 # a subscriber's home router
    IDC_GATEWAY = "idc-gateway"
    SPINE = "spine"
    LEAF = "leaf"
    TRANSIT_ROUTER = "transit-router"           # the city's way to outside networks
    NAT64 = "nat64"                             # NAT64 (RFC 6146) + DNS64 (RFC 6147); PLAT of 464XLAT
    AFTR = "aftr"                               # DS-Lite address family transition router (RFC 6333)
    METRO_SWITCH = "metro-switch"
    ACCESS_SWITCH = "access-switch"             # OLT or radio access aggregation
    IDC_SWITCH = "idc-switch"                   # rack (top of rack) switch
    SUBSCRIBER = "subscriber"                   # a UE or a host on a CPE's LAN
    SERVER = "server"                           # IDC server or outside content server

    @property
    def kind(self) -> Kind:
        if self in _SWITCH_ROLES:
            return Kind.SWITCH
        if self in (Role.SUBSCRIBER, Role.SERVER):
            return Kind.HOST
        return Kind.ROUTER


_SWITCH_ROLES = frozenset({Role.METRO_SWITCH, Role.ACCESS_SWITCH, Role.IDC_SWITCH})


class AccessMode(str, enum.Enum):
    """How an access network serves a subscriber: the stage of its migration.

    The mode of an access class applies to its IPv6-capable hosts; hosts that cannot
    do IPv6 stay IPv4-only (legacy terminals and CPEs) in every mode.
    """

    IPV4_ONLY = "ipv4-only"
    DUAL_STACK = "dual-stack"      # native IPv4 and IPv6 (RFC 4213)
    IPV6_ONLY = "ipv6-only"        # IPv6 only; IPv4 content by name through DNS64 + NAT64
    XLAT464 = "464xlat"            # IPv6 only + a CLAT, so IPv4 literals work too (RFC 6877)
    DS_LITE = "ds-lite"            # IPv6-only access; IPv4 in a softwire to an AFTR (RFC 6333)

    @property
    def translator(self) -> Role | None:
        """The translator role this mode needs in the city."""
        return {AccessMode.IPV6_ONLY: Role.NAT64, AccessMode.XLAT464: Role.NAT64,
                AccessMode.DS_LITE: Role.AFTR}.get(self)

    @property
    def uses_dns64(self) -> bool:
        """IPv6-only hosts are told of the DNS64 as their resolver."""
        return self.translator is Role.NAT64

    @property
    def ipv4_via(self) -> Role | None:
        """The translator that carries this mode's IPv4 over IPv6 (a DS-Lite B4's
        softwire to the AFTR, a CLAT's packets to the NAT64 as PLAT); such a CPE
        does no NAT44 of its own and uses its delegated prefix beyond the LAN /64."""
        return {AccessMode.DS_LITE: Role.AFTR, AccessMode.XLAT464: Role.NAT64}.get(self)


class ServiceKind(str, enum.Enum):
    HTTP = "http"
    DNS = "dns"


@dataclass(frozen=True)
class ServiceSpec:
    """A named service offered by a server node."""

    name: str                      # DNS label under the city zone, e.g. "www"
    kind: ServiceKind
    families: frozenset[Family] = DUAL_STACK


@dataclass(frozen=True)
class NodeSpec:
    role: Role
    families: frozenset[Family] = DUAL_STACK
    district: str | None = None
    subscriber_class: str | None = None    # "fixed", "mobile", "enterprise"
    services: tuple[ServiceSpec, ...] = field(default_factory=tuple)
    # Real subscribers this emulated host stands for (a city has far more than can
    # be emulated); reports and the model tier weight by it.
    represents: int = 0
    # Subscribers and their CPEs: how their access network serves them.
    mode: AccessMode | None = None
    # Access routers (BNG, mobile gateway): their subscribers' IPv4 is shared space
    # (RFC 6598) translated to a public pool here, carrier-grade NAT (RFC 6888).
    cgn: bool = False
    # An IDC's front (a reverse proxy at its edge): the names of the IPv4-only services
    # whose IPv6 address (AAAA) it holds and whose requests it relays over IPv4.
    fronts: tuple[str, ...] = ()

    @property
    def kind(self) -> Kind:
        return self.role.kind


@dataclass(frozen=True)
class CityPrefixes:
    """A city's address space; a generator puts it on ``graph.graph["prefixes"]``.

    Emulated traffic never leaves the machine, yet IPv4 servers need addresses a
    NAT64 translator treats as global (TAYGA refuses RFC 1918 and documentation
    space under the well-known prefix), hence 11/8 space by default; IPv6 uses the
    documentation prefixes (2001:db8::/32 for the city, 3fff::/20 outside).
    """

    ipv6: str = "2001:db8::/32"
    ipv6_outside: str = "3fff::/20"
    ipv4_public: str = "11.64.0.0/16"
    ipv4_outside: str = "11.200.0.0/16"
    ipv4_lan: str = "192.168.0.0/16"
    # Shared address space for carrier-grade NAT (RFC 6598); reserved here, used by
    # the NAT44/CGN mechanism between CPE WANs and the public pool.
    ipv4_cgn: str = "100.64.0.0/10"
    # NAT64 prefix (RFC 6052): the well-known prefix or a network-specific one.
    nat64: str = "64:ff9b::/96"
    site_length: int = 40
    delegated_length: int = 56


@dataclass(frozen=True)
class LinkSpec:
    families: frozenset[Family] = DUAL_STACK
    bandwidth_mbps: float | None = None
    delay_ms: float | None = None


def node_spec(graph: nx.Graph, name: str) -> NodeSpec:
    return graph.nodes[name]["spec"]


def link_spec(graph: nx.Graph, a: str, b: str) -> LinkSpec:
    return graph.edges[a, b]["spec"]


def nodes_of_kind(graph: nx.Graph, kind: Kind) -> list[str]:
    return sorted(n for n in graph if node_spec(graph, n).kind is kind)


def validate(graph: nx.Graph) -> None:
    """Check what every backend relies on; raise one TopologyError listing all problems."""
    problems = []
    for name, data in graph.nodes(data=True):
        if not NAME_PATTERN.match(str(name)):
            problems.append(
                f"node {name!r}: names are 1-8 characters, a lower-case letter then "
                "letters or digits (they become Linux interface names)")
        if not isinstance(data.get("spec"), NodeSpec):
            problems.append(f"node {name!r}: no NodeSpec in its 'spec' attribute")
    for a, b, data in graph.edges(data=True):
        if not isinstance(data.get("spec"), LinkSpec):
            problems.append(f"link {a}--{b}: no LinkSpec in its 'spec' attribute")
    if problems:
        raise TopologyError("\n".join(problems))
    switches = graph.subgraph(nodes_of_kind(graph, Kind.SWITCH))
    if switches and not nx.is_forest(switches):
        cycle = nx.find_cycle(switches)
        raise TopologyError(
            "switches form a loop (" + " - ".join(a for a, _ in cycle) + "): the "
            "controller floods broadcasts without a spanning tree, so switch links "
            "must form a tree; join the segments through a router instead")
    for name in nodes_of_kind(graph, Kind.HOST):
        if graph.degree(name) != 1:
            raise TopologyError(
                f"host {name}: has {graph.degree(name)} links; a host has exactly one "
                "(make it a router role to give it more)")
    for a, b in graph.edges:
        if node_spec(graph, a).kind is Kind.HOST and node_spec(graph, b).kind is Kind.HOST:
            raise TopologyError(f"link {a}--{b}: two hosts joined directly; put a switch or router between them")

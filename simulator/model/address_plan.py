"""Addresses for every interface of a graph, deterministic from the graph and the pools.

A *segment* is one IP subnet: a tree of switches with the routers and hosts attached
to it, or a direct link between two routers. Each segment gets an IPv4 subnet and an
IPv6 /64 for the families its interfaces carry; routers are numbered first, so a
segment's gateway is always its lowest address.

Two planners share that numbering. ``plan_addresses`` hands out subnets from one
pool per family, in segment-name order (small test networks). ``plan_city_addresses``
follows a city's prefixes (``CityPrefixes`` on the graph): a /40 (by default) of the
city's IPv6 prefix per site (metro core, each district, each IDC), a /48 of it for
infrastructure links, /56 delegated prefixes for CPEs from the next /48s; public
IPv4 blocks per site sized to their segments; RFC 1918 LANs behind CPEs, which
masquerade them (NAT44), so the LANs are never routed; the outside networks from
prefixes of their own.

Transition mechanisms add what they translate to and from: a public IPv4 pool for
each translator (NAT64, AFTR, carrier-grade NAT on an access router), shared space
(RFC 6598) for the subscriber segments behind a CGN, a /64 of the metro's
infrastructure prefix for each translator's own endpoint, and the NAT64 prefix.
Those are *originated* by their node: every router routes them towards it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx

from topologies.errors import TopologyError
from topologies.rfc6052 import WELL_KNOWN_PREFIX
from topologies.spec import (
    AccessMode,
    CityPrefixes,
    Family,
    Kind,
    Role,
    link_spec,
    node_spec,
)


@dataclass(frozen=True)
class Interface:
    node: str
    port: int                  # index on its node, in neighbour-name order
    peer: str                  # the graph neighbour this interface links to
    segment: str
    ipv4: ipaddress.IPv4Interface | None
    ipv6: ipaddress.IPv6Interface | None
    mac: str | None = None     # fixed where the IPv6 address derives from it (SLAAC)
    slaac: bool = False        # the IPv6 address comes from router advertisements

    def address(self, family: Family):
        return self.ipv4 if family is Family.IPV4 else self.ipv6


@dataclass(frozen=True)
class Segment:
    name: str
    switches: tuple[str, ...]
    members: tuple[str, ...]   # routers first, then hosts, each sorted by name
    ipv4: ipaddress.IPv4Network | None
    ipv6: ipaddress.IPv6Network | None
    site: str = ""
    nat_gateway: str | None = None   # the CPE that masquerades this private IPv4 LAN
    advertiser: str | None = None    # the router whose advertisements number the hosts (SLAAC)

    def network(self, family: Family):
        return self.ipv4 if family is Family.IPV4 else self.ipv6

    def routed(self, family: Family) -> bool:
        """Whether routers elsewhere learn this segment (a NAT44 LAN is not learned)."""
        return self.network(family) is not None and not (family is Family.IPV4 and self.nat_gateway)


def as_address(address) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """``ipaddress.ip_address``, without the round trip through text it makes for an
    address that is one already (path following makes hundreds of thousands)."""
    if isinstance(address, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return address
    return ipaddress.ip_address(address)


@dataclass(frozen=True)
class AddressPlan:
    ipv4_pool: ipaddress.IPv4Network
    ipv6_pool: ipaddress.IPv6Network
    segments: dict[str, Segment]
    interfaces: dict[tuple[str, str], Interface]   # (node, peer) -> Interface
    delegated: dict[str, ipaddress.IPv6Network] = field(default_factory=dict)   # CPE -> its prefix
    # Node -> prefixes routed to it besides its segments (pools, NAT64 prefix, endpoints).
    originated: dict[str, tuple] = field(default_factory=dict)
    pools: dict[str, ipaddress.IPv4Network] = field(default_factory=dict)       # translator -> IPv4 pool
    endpoints: dict[str, ipaddress.IPv6Network] = field(default_factory=dict)   # translator -> its own /64
    nat64_prefix: ipaddress.IPv6Network | None = None

    def translated_by(self, router: str) -> list:
        """The IPv4 addresses a CGN router translates, in the order of their port
        blocks in its pool (RFC 7422): the members of its shared-space segments."""
        return sorted((i.ipv4.ip for s in self.segments.values() if s.nat_gateway == router
                       for m in s.members if m != router for i in self.interfaces_of(m)
                       if i.segment == s.name and i.ipv4), key=int)

    def originator(self, address) -> str | None:
        """The node an address is originated by (longest match), or None."""
        address = as_address(address)
        found = [(prefix.prefixlen, node) for node, prefixes in self.originated.items()
                 for prefix in prefixes if prefix.version == address.version and address in prefix]
        return max(found)[1] if found else None

    def softwire_endpoint(self, node: str) -> ipaddress.IPv6Address:
        """Where a softwire ends on an AFTR (the first address of its /64) or on a B4
        (the first address of the second /64 of the CPE's delegated prefix)."""
        if node in self.endpoints:
            return self.endpoints[node][1]
        return _nth_64(self.delegated[node], 1)[1]

    def clat_prefix(self, cpe: str) -> ipaddress.IPv6Network:
        """The /120 a CPE's CLAT maps its /24 LAN into: the start of the third /64 of
        its delegated prefix, dedicated to the CLAT as RFC 6877 section 6.3 asks."""
        return ipaddress.IPv6Network((_nth_64(self.delegated[cpe], 2).network_address, 120))

    @cached_property
    def _interfaces_by_node(self) -> dict[str, tuple[Interface, ...]]:
        # The plan is frozen; path following asks for a node's interfaces millions of
        # times in a city (all-pairs expectations), a scan of every interface each time.
        found: dict[str, list[Interface]] = {}
        for (node, _), interface in self.interfaces.items():
            found.setdefault(node, []).append(interface)
        return {node: tuple(sorted(each, key=lambda i: i.port)) for node, each in found.items()}

    @cached_property
    def _holders(self) -> dict:
        """Address -> the nodes whose interfaces hold it (one lookup, not a scan of
        every interface for each of a matrix's cells)."""
        found: dict = {}
        for interface in self.interfaces.values():
            for own in (interface.ipv4, interface.ipv6):
                if own is not None:
                    found.setdefault(own.ip, []).append(interface.node)
        return found

    def unique(self, address) -> bool:
        """Whether one interface alone holds ``address`` (CPE LANs may repeat theirs)."""
        return len(self._holders.get(as_address(address), ())) == 1

    def holder(self, address) -> str | None:
        """The node that holds ``address``: the first by interface order when a LAN
        address repeats, None when no node does."""
        nodes = self._holders.get(as_address(address))
        return nodes[0] if nodes else None

    def interfaces_of(self, node: str) -> list[Interface]:
        return list(self._interfaces_by_node.get(node, ()))

    def addresses(self, node: str, family: Family) -> list:
        return [i.address(family) for i in self.interfaces_of(node) if i.address(family)]

    def primary(self, node: str, family: Family):
        """The node's first address of that family (without prefix length), or None."""
        found = self.addresses(node, family)
        return found[0].ip if found else None

    def public_address(self, node: str, family: Family):
        """The address the rest of the network sees for ``node``: its own, or for a
        host on a NAT44 LAN the WAN address of the CPE that masquerades it."""
        for interface in self.interfaces_of(node):
            segment = self.segments[interface.segment]
            address = interface.address(family)
            if address is None:
                continue
            if family is Family.IPV4 and segment.nat_gateway and segment.nat_gateway != node:
                if segment.nat_gateway in self.pools:
                    # Behind a CGN: the address of this subscriber's port block.
                    index = self.translated_by(segment.nat_gateway).index(address.ip)
                    return port_block(self.pools[segment.nat_gateway], index)[0]
                return self.public_address(segment.nat_gateway, family)
            if segment.routed(family):
                return address.ip
        return None

    def on_segment(self, segment: str, address) -> Interface | None:
        """The interface of ``segment`` holding ``address`` (LAN addresses repeat
        across CPEs, so an address alone does not name an interface)."""
        address = as_address(address)
        for member in self.segments[segment].members:
            for interface in self.interfaces_of(member):
                own = interface.address(Family.IPV4 if address.version == 4 else Family.IPV6)
                if interface.segment == segment and own is not None and own.ip == address:
                    return interface
        return None



def _nth_64(prefix: ipaddress.IPv6Network, index: int) -> ipaddress.IPv6Network:
    """The ``index``-th /64 (from 0) of a prefix of /64 or shorter."""
    return ipaddress.IPv6Network((int(prefix.network_address) + (index << 64), 64))


def ports(graph: nx.Graph, node: str) -> dict[str, int]:
    """Neighbour -> port index of the node (the backend names interfaces by it): its
    neighbours in name order, or, for a city that changes during a run, the numbering
    of the network as built (``graph.graph["ports"]``, see ``layout_ports``): a
    phase's graph may lack a link the network has (a translator not deployed yet),
    and an interface's name must not move when it comes."""
    fixed = graph.graph.get("ports")
    if fixed is not None and node in fixed:
        return {peer: index for peer, index in fixed[node].items() if graph.has_edge(node, peer)}
    return {peer: index for index, peer in enumerate(sorted(graph.neighbors(node)))}


def layout_ports(layout: nx.Graph) -> dict[str, dict[str, int]]:
    """Every node's port numbering in the network ``layout`` (to pin in phase graphs)."""
    return {node: ports(layout, node) for node in layout}


def openflow_ports(graph: nx.Graph, switch: str) -> dict[str, int]:
    """Neighbour -> OpenFlow port number of a switch: its port index, from 1."""
    return {peer: index + 1 for peer, index in ports(graph, switch).items()}


def find_segments(graph: nx.Graph) -> list[tuple[str, tuple[str, ...], list[tuple[str, str]]]]:
    """(name, switches, [(node, peer) attachments]) for each segment, sorted by name."""
    switches = [n for n in graph if node_spec(graph, n).kind is Kind.SWITCH]
    found = []
    for component in nx.connected_components(graph.subgraph(switches)):
        attachments = sorted(
            (node, sw) for sw in component for node in graph.neighbors(sw)
            if node_spec(graph, node).kind is not Kind.SWITCH)
        found.append((min(component), tuple(sorted(component)), attachments))
    for a, b in graph.edges:
        if Kind.SWITCH not in (node_spec(graph, a).kind, node_spec(graph, b).kind):
            a, b = sorted((a, b))
            found.append((f"{a}-{b}", (), [(a, b), (b, a)]))
    return sorted(found)


def plan_addresses(graph: nx.Graph, ipv4_pool: str = "10.64.0.0/16",
                   ipv6_pool: str = "2001:db8:64::/48", ipv4_prefixlen: int = 24) -> AddressPlan:
    try:
        pool4 = ipaddress.IPv4Network(ipv4_pool)
        pool6 = ipaddress.IPv6Network(ipv6_pool)
    except ValueError as error:
        raise TopologyError(f"address pool: {error}; give a network address such as 10.64.0.0/16") from None
    if not pool4.prefixlen <= ipv4_prefixlen <= 30:
        raise TopologyError(
            f"IPv4 segments of /{ipv4_prefixlen} do not fit pool {pool4}; use a length "
            f"between /{pool4.prefixlen} and /30")
    if pool6.prefixlen > 64:
        raise TopologyError(f"IPv6 pool {pool6} is longer than /64; SLAAC needs /64 segments, give a /64 or shorter")

    subnets4 = pool4.subnets(new_prefix=ipv4_prefixlen)
    subnets6 = pool6.subnets(new_prefix=64)
    segments: dict[str, Segment] = {}
    interfaces: dict[tuple[str, str], Interface] = {}
    found = find_segments(graph)
    needed = {family: sum(1 for _, _, attachments in found if any(
        family in node_spec(graph, n).families & link_spec(graph, n, p).families for n, p in attachments))
        for family in Family}
    for name, switches, attachments in found:
        carried = _carried(graph, attachments)
        nets = {}
        for family, subnets in ((Family.IPV4, subnets4), (Family.IPV6, subnets6)):
            if any(family in f for f in carried.values()):
                nets[family] = next(subnets, None)
                if nets[family] is None:
                    pool = pool4 if family is Family.IPV4 else pool6
                    size = ipv4_prefixlen if family is Family.IPV4 else 64
                    raise TopologyError(
                        f"segment {name}: {family.label} pool {pool} is exhausted: it holds "
                        f"{2 ** (size - pool.prefixlen)} /{size} subnets and {needed[family]} segments "
                        f"carry {family.label}; give a larger pool")
        _number(graph, name, switches, attachments, carried, nets.get(Family.IPV4), nets.get(Family.IPV6),
                segments, interfaces)
    return AddressPlan(pool4, pool6, segments, interfaces)


def _carried(graph, attachments) -> dict[tuple[str, str], frozenset]:
    """The families each attachment carries: those of the node and of its link."""
    return {(node, peer): node_spec(graph, node).families & link_spec(graph, node, peer).families
            for node, peer in attachments}


def mac_address(node: str, peer: str) -> str:
    """A fixed, locally administered unicast MAC for the interface of ``node`` towards ``peer``."""
    digest = hashlib.sha256(f"{node}>{peer}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02,) + tuple(digest[:5]))


def eui64_address(prefix: ipaddress.IPv6Network, mac: str) -> ipaddress.IPv6Address:
    """The SLAAC address a host forms from its MAC (modified EUI-64, RFC 4291 appendix A)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    identifier = bytes(octets[:3] + [0xFF, 0xFE] + octets[3:])
    return ipaddress.IPv6Address(int(prefix.network_address) | int.from_bytes(identifier, "big"))


def _number(graph, name, switches, attachments, carried, net4, net6, segments, interfaces,
            site: str = "", nat_gateway: str | None = None, advertiser: str | None = None) -> None:
    """Number a segment's interfaces, routers first, and record them. On a segment with
    an advertiser the hosts' IPv6 addresses are the ones SLAAC will give them."""
    ordered = sorted(attachments, key=lambda a: (node_spec(graph, a[0]).kind is not Kind.ROUTER, a))
    if net4 is not None and len(ordered) > net4.num_addresses - 2:
        raise TopologyError(
            f"segment {name}: {len(ordered)} interfaces do not fit {net4}; "
            "use a shorter IPv4 segment prefix length")
    segments[name] = Segment(name, switches, tuple(n for n, _ in ordered), net4, net6, site, nat_gateway,
                             advertiser)
    for index, (node, peer) in enumerate(ordered, start=1):
        fams = carried[(node, peer)]
        addr4 = ipaddress.IPv4Interface(f"{net4[index]}/{net4.prefixlen}") if Family.IPV4 in fams else None
        mac = mac_address(node, peer) if site else None
        slaac = advertiser is not None and node != advertiser and Family.IPV6 in fams
        addr6: ipaddress.IPv6Interface | None
        if slaac:
            if mac is None:
                raise TopologyError(f"segment {name}: {node} takes its IPv6 address from {advertiser}'s "
                                    "advertisements, which needs a MAC, and only a segment of a site has one")
            addr6 = ipaddress.IPv6Interface(f"{eui64_address(net6, mac)}/64")
        else:
            addr6 = ipaddress.IPv6Interface(f"{net6[index]}/64") if Family.IPV6 in fams else None
        interfaces[(node, peer)] = Interface(
            node=node, port=ports(graph, node)[peer], peer=peer, segment=name, ipv4=addr4, ipv6=addr6,
            mac=mac, slaac=slaac)


# --- a city's plan --------------------------------------------------------------------

METRO_SITE, OUTSIDE_SITE = "metro", "outside"


def _natural(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))


def _site_of(graph, switches, attachments) -> str:
    districts = {district for n in list(switches) + [a for a, _ in attachments]
                 if (district := node_spec(graph, n).district) is not None}
    if OUTSIDE_SITE in districts:
        return OUTSIDE_SITE
    return min(districts, key=_natural) if districts else METRO_SITE


def _lan_gateway(graph, attachments) -> str | None:
    """The CPE of a CPE LAN: a segment of one CPE and its subscribers only."""
    roles = [(node_spec(graph, n).role, n) for n, _ in attachments]
    cpes = [n for role, n in roles if role is Role.CPE]
    if len(cpes) == 1 and all(role in (Role.CPE, Role.SUBSCRIBER) for role, _ in roles):
        return cpes[0]
    return None


def _cgn_router(graph, attachments) -> str | None:
    """The access router that translates this segment's IPv4 (carrier-grade NAT): a
    router with ``cgn`` whose other members are all CPEs or subscribers."""
    routers = [n for n, _ in attachments if node_spec(graph, n).cgn]
    others = [n for n, _ in attachments if n not in routers]
    if len(routers) == 1 and others and all(
            node_spec(graph, n).role in (Role.CPE, Role.SUBSCRIBER) for n in others):
        return routers[0]
    return None


# The fewest public IPv4 addresses in a translator's pool.
POOL_ADDRESSES = {Role.NAT64: 8, Role.AFTR: 8}
# Port blocks of NAT44 (RFC 7422 deterministic NAT): each subscriber of a CGN, and
# each B4 of an AFTR, has 2048 ports of one public address, from port 1024 on.
FIRST_PORT, PORTS_PER_SUBSCRIBER = 1024, 2048
SUBSCRIBERS_PER_ADDRESS = (65536 - FIRST_PORT) // PORTS_PER_SUBSCRIBER


def port_block(pool: ipaddress.IPv4Network, index: int) -> tuple[ipaddress.IPv4Address, int, int]:
    """The public address and port range of subscriber ``index`` (0-based) in ``pool``."""
    capacity = pool.num_addresses * SUBSCRIBERS_PER_ADDRESS
    if not 0 <= index < capacity:
        raise TopologyError(f"NAT pool {pool} holds {capacity} subscribers of {PORTS_PER_SUBSCRIBER} ports; "
                            f"subscriber {index + 1} has no port block: give the pool more addresses")
    address = pool[index // SUBSCRIBERS_PER_ADDRESS]
    first = FIRST_PORT + (index % SUBSCRIBERS_PER_ADDRESS) * PORTS_PER_SUBSCRIBER
    return address, first, first + PORTS_PER_SUBSCRIBER - 1


def _pool_length(role: Role, subscribers: int) -> int:
    wanted = max(POOL_ADDRESSES.get(role, 2),
                 math.ceil(subscribers / SUBSCRIBERS_PER_ADDRESS))
    return 32 - math.ceil(math.log2(wanted))


def _advertiser(graph, attachments) -> str | None:
    """The router of an access LAN: one router, every other member a subscriber."""
    routers = [n for n, _ in attachments if node_spec(graph, n).kind is Kind.ROUTER]
    hosts = [n for n, _ in attachments if node_spec(graph, n).kind is not Kind.ROUTER]
    if len(routers) == 1 and hosts and all(node_spec(graph, n).role is Role.SUBSCRIBER for n in hosts):
        return routers[0]
    return None


@dataclass(frozen=True)
class _SegmentNeed:
    """What one graph asks of one segment."""

    site: str
    ipv4: bool
    ipv6: bool
    cgn: str | None        # the access router that translates its IPv4 (carrier-grade NAT)
    lan: str | None        # the CPE of a CPE LAN
    ds_lite: bool          # that CPE is a DS-Lite B4
    size: int              # attachments


@dataclass(frozen=True)
class _Needs:
    found: dict[str, list]                 # site -> its segments (name, switches, attachments), by name
    segments: dict[str, _SegmentNeed]
    is_idc: dict[str, bool]                # site -> whether it is a data centre
    translators: list[str]                 # NAT64 and AFTR nodes, by name
    pooled: dict[str, Role]                # nodes with a public IPv4 pool: translators and CGN routers
    served: dict[str, int]                 # CGN router or AFTR -> the subscribers it translates


def _needs(graph: nx.Graph) -> _Needs:
    found: dict[str, list] = {}
    for name, switches, attachments in find_segments(graph):
        found.setdefault(_site_of(graph, switches, attachments), []).append((name, switches, attachments))
    for segs in found.values():
        segs.sort(key=lambda s: _natural(s[0]))
    is_idc = {site: any(node_spec(graph, n).role in (Role.SPINE, Role.LEAF, Role.IDC_GATEWAY)
                        for _, sw, att in segs for n in list(sw) + [a for a, _ in att])
              for site, segs in found.items()}
    segments: dict[str, _SegmentNeed] = {}
    served: dict[str, int] = {}
    for site, segs in found.items():
        for name, _, attachments in segs:
            carries = {f for fams in _carried(graph, attachments).values() for f in fams}
            ipv4 = Family.IPV4 in carries
            cgn = _cgn_router(graph, attachments) if ipv4 else None
            lan = None if cgn else _lan_gateway(graph, attachments)
            if cgn is not None:
                served[cgn] = served.get(cgn, 0) + len(attachments) - 1
            segments[name] = _SegmentNeed(site, ipv4, Family.IPV6 in carries, cgn, lan,
                                          lan is not None and node_spec(graph, lan).mode is AccessMode.DS_LITE,
                                          len(attachments))
    translators = sorted(n for n in graph if node_spec(graph, n).role in POOL_ADDRESSES)
    for aftr in (n for n in translators if node_spec(graph, n).role is Role.AFTR):
        served[aftr] = sum(1 for n in graph if node_spec(graph, n).role is Role.CPE
                           and node_spec(graph, n).mode is AccessMode.DS_LITE)
    pooled = {n: node_spec(graph, n).role for n in sorted(set(translators) | set(served))}
    return _Needs(found, segments, is_idc, translators, pooled, served)


class _LanSpace:
    """CPE LANs' IPv4 /24s: each LAN its own while ``prefixes.ipv4_lan`` lasts, then
    again from the first, as real home LANs repeat (192.168.1.0/24 behind millions
    of routers): a CPE's NAT44 or CLAT never lets its LAN's addresses out. A DS-Lite
    LAN is never repeated: the AFTR here tells B4s apart by their LAN's addresses
    (not by the softwire, RFC 6333 section 6.6), so two B4s may not share one."""

    def __init__(self, pool: ipaddress.IPv4Network):
        self.pool = pool
        self.fresh = pool.subnets(new_prefix=24)
        self.given: list[ipaddress.IPv4Network] = []     # in order, for reuse
        self.softwired: set[ipaddress.IPv4Network] = set()
        self.reused = 0

    def take(self, segment: str, ds_lite: bool) -> ipaddress.IPv4Network:
        lan = next(self.fresh, None)
        if lan is None:
            if ds_lite:
                raise TopologyError(f"segment {segment}: prefixes.ipv4_lan {self.pool} has no /24 left for this "
                                    "DS-Lite LAN, and DS-Lite LANs cannot repeat (the AFTR tells B4s apart by their "
                                    "LAN); give a larger LAN prefix")
            reusable = [n for n in self.given if n not in self.softwired]
            if not reusable:
                raise TopologyError(f"segment {segment}: prefixes.ipv4_lan {self.pool} is taken by DS-Lite LANs, "
                                    "which cannot repeat; give a larger LAN prefix")
            lan = reusable[self.reused % len(reusable)]
            self.reused += 1
            return lan
        self.given.append(lan)
        if ds_lite:
            self.softwired.add(lan)
        return lan


def _ipv4_length(interfaces: int) -> int:
    """The longest prefix whose subnet holds this many addresses plus network and broadcast."""
    return min(30, 32 - math.ceil(math.log2(interfaces + 2)))


def _allocate(pool, sizes: list[tuple[str, int]], what: str, fix: str) -> dict[str, ipaddress.IPv4Network]:
    """Aligned blocks from ``pool`` for (name, prefix length), largest first."""
    out, cursor = {}, int(pool.network_address)
    end = int(pool.broadcast_address) + 1
    for name, length in sorted(sizes, key=lambda item: (item[1], _natural(item[0]))):
        size = 2 ** (32 - length)
        cursor = (cursor + size - 1) // size * size
        if cursor + size > end:
            raise TopologyError(f"{what}: IPv4 pool {pool} is exhausted at {name} (needs a /{length}); {fix}")
        out[name] = ipaddress.IPv4Network((cursor, length))
        cursor += size
    return out


def plan_city_addresses(graph: nx.Graph, prefixes: CityPrefixes, sizing: Iterable[nx.Graph] = ()) -> AddressPlan:
    """The plan of ``graph``. ``sizing``: other graphs of the same city (its states
    during a migration plan) whose needs it reserves room for, so that every
    address two of them share is the same in both: a block, a /64, a delegated
    prefix or a LAN does not move when a segment elsewhere gains a family, a CGN
    or a translator."""
    try:
        city6 = ipaddress.IPv6Network(prefixes.ipv6)
        outside6 = ipaddress.IPv6Network(prefixes.ipv6_outside)
        public4 = ipaddress.IPv4Network(prefixes.ipv4_public)
        outside4 = ipaddress.IPv4Network(prefixes.ipv4_outside)
        lan4 = ipaddress.IPv4Network(prefixes.ipv4_lan)
        cgn4 = ipaddress.IPv4Network(prefixes.ipv4_cgn)
    except ValueError as error:
        raise TopologyError(f"prefixes: {error}; give network addresses such as 2001:db8::/32") from None
    for a, b in ((city6, outside6), (public4, outside4), (public4, lan4), (outside4, lan4),
                 (cgn4, public4), (cgn4, outside4), (cgn4, lan4)):
        if a.overlaps(b):
            raise TopologyError(f"prefixes: {a} and {b} overlap; the city, the outside and the LANs need "
                                "separate prefixes")
    if not city6.prefixlen <= prefixes.site_length <= 48:
        raise TopologyError(f"prefixes.site_length: /{prefixes.site_length} must be between the city's "
                            f"/{city6.prefixlen} and /48")
    if lan4.prefixlen > 24:
        raise TopologyError(f"prefixes.ipv4_lan: {lan4} is smaller than one /24 LAN; give a /24 or shorter "
                            "(192.168.0.0/16 holds 256 LANs)")
    if outside6.prefixlen > 48:
        raise TopologyError(f"prefixes.ipv6_outside: {outside6} is longer than /48; the outside networks "
                            "need a /48 or shorter")
    if not 48 < prefixes.delegated_length <= 64:
        raise TopologyError(f"prefixes.delegated_length: /{prefixes.delegated_length} must be between /49 and /64")

    graphs = [graph, *(g for g in sizing if g is not graph)]
    needs = [_needs(g) for g in graphs]
    own = needs[0]
    # Sites in a stable order: the metro core, districts, IDCs, by id.
    sites = {site: any(n.is_idc.get(site, False) for n in needs) for n in needs for site in n.is_idc}
    inside = sorted((s for s in sites if s != OUTSIDE_SITE), key=lambda s: (s != METRO_SITE, sites[s], _natural(s)))
    room = 2 ** (prefixes.site_length - city6.prefixlen)
    if len(inside) > room:
        raise TopologyError(f"prefixes.ipv6: {city6} holds {room} /{prefixes.site_length} sites, "
                            f"the city has {len(inside)}; give a shorter city prefix or a longer site_length")
    site_prefixes = list(itertools.islice(city6.subnets(new_prefix=prefixes.site_length), len(inside)))

    segments: dict[str, Segment] = {}
    interfaces: dict[tuple[str, str], Interface] = {}
    delegated: dict[str, ipaddress.IPv6Network] = {}
    nat64 = ipaddress.IPv6Network(prefixes.nat64)
    translators = sorted({t for n in needs for t in n.translators})
    if nat64 == WELL_KNOWN_PREFIX and any(graph.has_node(t) and node_spec(graph, t).role is Role.NAT64
                                          for t in translators):
        for key, block in (("ipv4_public", public4), ("ipv4_outside", outside4)):
            if not block.is_global:
                raise TopologyError(
                    f"prefixes.{key}: {block} is not global IPv4 space, and the NAT64 uses the well-known prefix "
                    f"{nat64}: RFC 6052 section 3.1 forbids it for non-global addresses and TAYGA refuses to "
                    "translate them; give global space (the default 11.64.0.0/16 and 11.200.0.0/16 never leave "
                    "the machine) or a network-specific prefix in prefixes.nat64")
    for site6 in site_prefixes + [outside6]:
        if nat64.overlaps(site6):
            raise TopologyError(f"prefixes.nat64: {nat64} overlaps {site6}, which the plan gives to a site; "
                                "use 64:ff9b::/96 or a network-specific prefix outside the sites")
    # IPv4: one public block per site, sized to its routed segments; shared space
    # behind carrier-grade NAT; a pool for each translator. Every size is the
    # largest any of the graphs asks for, so that each block is the same in all.
    segment_sizes: dict[str, int] = {}
    cgn_sizes: dict[str, int] = {}
    served: dict[str, int] = {}
    for n in needs:
        for name, need in n.segments.items():
            if not need.ipv4:
                continue
            sizes = cgn_sizes if need.cgn else segment_sizes if need.lan is None else None
            if sizes is not None:
                sizes[name] = min(sizes.get(name, 32), _ipv4_length(need.size))
        for router, count in n.served.items():
            served[router] = max(served.get(router, 0), count)
    site_of = {name: need.site for n in needs for name, need in n.segments.items()}
    site_sizes = {}
    for site in sites:
        total = sum(2 ** (32 - length) for name, length in segment_sizes.items() if site_of[name] == site)
        if total:
            site_sizes[site] = 32 - math.ceil(math.log2(total))
    fix = "give a larger ipv4_public (or ipv4_outside) prefix"
    roles = {node: role for n in needs for node, role in n.pooled.items()}
    pool_sizes = [(f"pool:{n}", _pool_length(roles[n], served.get(n, 0))) for n in sorted(roles)]
    blocks = _allocate(public4, [(s, length) for s, length in site_sizes.items() if s != OUTSIDE_SITE]
                       + pool_sizes, "prefixes.ipv4_public", fix)
    pools = {name.split(":", 1)[1]: blocks.pop(name) for name, _ in pool_sizes
             if name.split(":", 1)[1] in own.pooled}
    cgn_nets = _allocate(cgn4, list(cgn_sizes.items()), "prefixes.ipv4_cgn",
                         "give a larger ipv4_cgn prefix") if cgn_sizes else {}
    endpoints: dict[str, ipaddress.IPv6Network] = {}
    if OUTSIDE_SITE in site_sizes:
        blocks[OUTSIDE_SITE] = _allocate(outside4, [(OUTSIDE_SITE, site_sizes[OUTSIDE_SITE])],
                                         "prefixes.ipv4_outside", fix)[OUTSIDE_SITE]
    lans = _LanSpace(lan4)
    # Each segment's slot in the sequences (link /64s, delegated prefixes, LAN /24s):
    # in site and name order, over every graph, so that none moves when another
    # segment gains or loses a family.
    order = inside + ([OUTSIDE_SITE] if OUTSIDE_SITE in sites else [])
    wanting = {name: [n.segments[name] for n in needs if name in n.segments] for name in site_of}
    by_site_names = {site: sorted((name for name in site_of if site_of[name] == site), key=_natural)
                     for site in order}
    lan_nets: dict[str, ipaddress.IPv4Network] = {}
    for site in order:
        for name in by_site_names[site]:
            lan = [w for w in wanting[name] if w.lan is not None and w.ipv4]
            if lan:
                lan_nets[name] = lans.take(name, any(w.ds_lite for w in lan))

    for site in order:
        if site == OUTSIDE_SITE:
            site6 = next(outside6.subnets(new_prefix=max(prefixes.site_length, outside6.prefixlen)))
        else:
            site6 = site_prefixes[inside.index(site)]
        infra6 = next(site6.subnets(new_prefix=48))
        links6 = infra6.subnets(new_prefix=64)
        # Everything is lazy: a /40 holds 256 /48s and 65,536 /56s.
        pd_pool = (p for block in itertools.islice(site6.subnets(new_prefix=48), 1, None)
                   for p in block.subnets(new_prefix=prefixes.delegated_length))
        nets4 = _allocate(blocks[site], [(n, segment_sizes[n]) for n in by_site_names[site] if n in segment_sizes],
                          f"site {site}", fix) if site in blocks else {}
        link_nets: dict[str, ipaddress.IPv6Network | None] = {}
        prefixes_of: dict[str, ipaddress.IPv6Network | None] = {}
        for name in by_site_names[site]:
            if any(w.ipv6 and w.lan is None for w in wanting[name]):
                link_nets[name] = next(links6, None)
            if any(w.ipv6 and w.lan is not None for w in wanting[name]):
                prefixes_of[name] = next(pd_pool, None)
        if site == METRO_SITE:
            for translator in translators:
                endpoint = next(links6, None)
                if endpoint is None:
                    raise TopologyError(f"site {site}: infrastructure prefix {infra6} has no /64 left for "
                                        f"{translator}'s endpoint")
                if translator in own.translators:
                    endpoints[translator] = endpoint
        for name, switches, attachments in own.found.get(site, []):
            need = own.segments[name]
            net4 = net6 = None
            gateway = need.cgn or need.lan
            if need.cgn and need.ipv4:
                net4 = cgn_nets[name]
                net6 = link_nets.get(name) if need.ipv6 else None
            elif need.lan is not None:
                if need.ipv4:
                    net4 = lan_nets[name]
                if need.ipv6:
                    prefix = prefixes_of[name]
                    if prefix is None:
                        raise TopologyError(f"CPE {need.lan}: site {site}'s prefix {site6} has no "
                                            f"/{prefixes.delegated_length} left to delegate; give a shorter "
                                            "site_length or a longer delegated_length")
                    delegated[need.lan] = prefix
                    net6 = next(prefix.subnets(new_prefix=64))
            else:
                gateway = None
                net4 = nets4.get(name) if need.ipv4 else None
                if need.ipv6:
                    net6 = link_nets[name]
                    if net6 is None:
                        raise TopologyError(f"site {site}: infrastructure prefix {infra6} has no /64 left "
                                            f"for segment {name}")
            advertiser = _advertiser(graph, attachments) if net6 is not None else None
            _number(graph, name, switches, attachments, _carried(graph, attachments), net4, net6, segments,
                    interfaces, site, gateway, advertiser)
    translators = own.translators
    originated: dict[str, list] = {}
    for node, pool in pools.items():
        originated.setdefault(node, []).append(pool)
    for node, endpoint in endpoints.items():
        originated.setdefault(node, []).append(endpoint)
    nat64_nodes = [n for n in translators if node_spec(graph, n).role is Role.NAT64]
    if nat64_nodes:
        originated[nat64_nodes[0]].append(nat64)
    # CPEs whose mechanism uses their delegated prefix beyond the LAN /64.
    for cpe, prefix in delegated.items():
        mode = node_spec(graph, cpe).mode
        if mode is not None and mode.ipv4_via is not None:
            originated.setdefault(cpe, []).append(prefix)
    return AddressPlan(public4, city6, segments, interfaces, delegated,
                       {n: tuple(p) for n, p in originated.items()}, pools, endpoints,
                       nat64 if nat64_nodes else None)

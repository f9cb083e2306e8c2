"""Addresses for every interface of a graph, deterministic from the graph and the pools.

A *segment* is one IP subnet: a tree of switches with the routers and hosts attached
to it, or a direct link between two routers. Each segment gets an IPv4 subnet and an
IPv6 /64 for the families its interfaces carry; routers are numbered first, so a
segment's gateway is always its lowest address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import networkx as nx

from simulator.errors import TopologyError
from topologies.spec import Family, Kind, link_spec, node_spec


@dataclass(frozen=True)
class Interface:
    node: str
    port: int                  # index on its node, in neighbour-name order
    peer: str                  # the graph neighbour this interface links to
    segment: str
    ipv4: ipaddress.IPv4Interface | None
    ipv6: ipaddress.IPv6Interface | None

    def address(self, family: Family):
        return self.ipv4 if family is Family.IPV4 else self.ipv6


@dataclass(frozen=True)
class Segment:
    name: str
    switches: tuple[str, ...]
    members: tuple[str, ...]   # routers first, then hosts, each sorted by name
    ipv4: ipaddress.IPv4Network | None
    ipv6: ipaddress.IPv6Network | None

    def network(self, family: Family):
        return self.ipv4 if family is Family.IPV4 else self.ipv6


@dataclass(frozen=True)
class AddressPlan:
    ipv4_pool: ipaddress.IPv4Network
    ipv6_pool: ipaddress.IPv6Network
    segments: dict[str, Segment]
    interfaces: dict[tuple[str, str], Interface]   # (node, peer) -> Interface

    def interfaces_of(self, node: str) -> list[Interface]:
        return sorted((i for (n, _), i in self.interfaces.items() if n == node), key=lambda i: i.port)

    def addresses(self, node: str, family: Family) -> list:
        return [i.address(family) for i in self.interfaces_of(node) if i.address(family)]

    def primary(self, node: str, family: Family):
        """The node's first address of that family (without prefix length), or None."""
        found = self.addresses(node, family)
        return found[0].ip if found else None

    def owner(self, address) -> Interface | None:
        address = ipaddress.ip_address(address)
        for interface in self.interfaces.values():
            for family in Family:
                own = interface.address(family)
                if own is not None and own.ip == address:
                    return interface
        return None


def ports(graph: nx.Graph, node: str) -> dict[str, int]:
    """Neighbour -> port index of the node (the backend names interfaces by it)."""
    return {peer: index for index, peer in enumerate(sorted(graph.neighbors(node)))}


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
    segments, interfaces = {}, {}
    found = find_segments(graph)
    needed = {family: sum(1 for _, _, attachments in found if any(
        family in node_spec(graph, n).families & link_spec(graph, n, p).families for n, p in attachments))
        for family in Family}
    for name, switches, attachments in found:
        carried = {}
        for node, peer in attachments:
            carried[(node, peer)] = node_spec(graph, node).families & link_spec(graph, node, peer).families
        ordered = sorted(attachments, key=lambda a: (node_spec(graph, a[0]).kind is not Kind.ROUTER, a))
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
        net4 = nets.get(Family.IPV4)
        if net4 is not None and len(ordered) > net4.num_addresses - 2:
            raise TopologyError(
                f"segment {name}: {len(ordered)} interfaces do not fit {net4}; "
                "use a shorter IPv4 segment prefix length")
        segments[name] = Segment(name, switches, tuple(n for n, _ in ordered), net4, nets.get(Family.IPV6))
        for index, (node, peer) in enumerate(ordered, start=1):
            fams = carried[(node, peer)]
            addr4 = (ipaddress.IPv4Interface(f"{net4[index]}/{net4.prefixlen}")
                     if Family.IPV4 in fams else None)
            net6 = nets.get(Family.IPV6)
            addr6 = (ipaddress.IPv6Interface(f"{net6[index]}/64") if Family.IPV6 in fams else None)
            interfaces[(node, peer)] = Interface(
                node=node, port=ports(graph, node)[peer], peer=peer, segment=name, ipv4=addr4, ipv6=addr6)
    return AddressPlan(pool4, pool6, segments, interfaces)

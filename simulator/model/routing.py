"""Static routes for both families, computed from the graph.

Routers are Linux nodes, so routes go into their kernels (``ip route``) rather than
into controller flows: the controller then stays a plain L2 fabric per segment, and
every router hop is a real IPv4/IPv6 forwarding decision (TTL, ICMP errors, PMTU)
that translators and tunnels added later can rely on. Routes are shortest paths in
router hops; ``compute_routes`` is pure, so a link failure is handled by calling it
again on the graph without that link.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import networkx as nx

from simulator.model.address_plan import AddressPlan, as_address
from topologies.spec import Family, Kind, node_spec


@dataclass(frozen=True)
class Route:
    family: Family
    destination: ipaddress.IPv4Network | ipaddress.IPv6Network | None   # None: default route
    via: ipaddress.IPv4Address | ipaddress.IPv6Address
    # Learned from router advertisements (SLAAC hosts), not installed by hand.
    from_ra: bool = False

    def ip_args(self) -> list[str]:
        dest = "default" if self.destination is None else str(self.destination)
        return ["route", "replace", dest, "via", str(self.via)]


def _l3_graph(graph: nx.Graph, plan: AddressPlan, family: Family, down: frozenset) -> nx.Graph:
    """Bipartite graph of L3 nodes and segments, for one family, without links that are down."""
    l3: nx.Graph[str | tuple[str, str]] = nx.Graph()
    for interface in sorted(plan.interfaces.values(), key=lambda i: (i.node, i.port)):
        if interface.address(family) is not None and frozenset((interface.node, interface.peer)) not in down:
            l3.add_edge(interface.node, ("segment", interface.segment))
    return l3


def _address_on(plan: AddressPlan, node: str, segment: str, family: Family):
    for interface in plan.interfaces_of(node):
        if interface.segment == segment and interface.address(family) is not None:
            return interface.address(family).ip
    return None


def compute_routes(graph: nx.Graph, plan: AddressPlan, down: frozenset = frozenset()) -> dict[str, list[Route]]:
    """Routes of every node; ``down`` holds links (frozensets of their two ends) that
    are out of service, so a failure is routed around by calling this again."""
    routes: dict[str, list[Route]] = {n: [] for n in graph if node_spec(graph, n).kind is not Kind.SWITCH}
    for family in Family:
        l3 = _l3_graph(graph, plan, family, frozenset(down))
        routers = {n for n in l3 if not isinstance(n, tuple) and node_spec(graph, n).kind is Kind.ROUTER}
        for node in sorted(routes):
            if node not in l3:
                continue
            if node not in routers:
                gateway = _default_gateway(graph, plan, l3, node, family)
                if gateway is not None:
                    learned = family is Family.IPV6 and any(i.slaac for i in plan.interfaces_of(node))
                    routes[node].append(Route(family, None, gateway, from_ra=learned))
                continue
            # Hosts never forward: search paths through routers and segments only.
            transit = l3.subgraph(
                n for n in l3 if n == node or n in routers or isinstance(n, tuple))
            paths = nx.single_source_shortest_path(transit, node)
            attached = {seg for _, seg in l3.edges(node)}
            for target, path in sorted(paths.items(), key=lambda item: str(item[0])):
                if not isinstance(target, tuple) or target in attached:
                    continue
                if not plan.segments[target[1]].routed(family):
                    continue
                first_segment, next_router = path[1][1], path[2]
                routes[node].append(Route(
                    family, plan.segments[target[1]].network(family),
                    _address_on(plan, next_router, first_segment, family)))
            # Prefixes a node originates (translator pools, the NAT64 prefix, softwire
            # endpoints, delegated prefixes) go towards that node.
            for owner, prefixes in sorted(plan.originated.items()):
                to_owner = paths.get(owner)
                if owner == node or to_owner is None:
                    continue
                via = _address_on(plan, to_owner[2], to_owner[1][1], family)
                routes[node].extend(Route(family, prefix, via) for prefix in prefixes
                                    if prefix.version == (4 if family is Family.IPV4 else 6))
    return routes


def _default_gateway(graph, plan, l3, host, family):
    """The first router (by name) on the host's segment for that family."""
    for _, segment in sorted(l3.edges(host)):
        for member in plan.segments[segment[1]].members:
            if member != host and node_spec(graph, member).kind is Kind.ROUTER:
                address = _address_on(plan, member, segment[1], family)
                if address is not None:
                    return address
    return None


def forward_path(plan: AddressPlan, routes: dict[str, list[Route]], source: str,
                 destination, max_hops: int = 32) -> list[str] | None:
    """Follow the computed routes hop by hop, like the kernels will.

    Returns the nodes a packet from ``source`` to address ``destination`` visits, or
    None when some node on the way has no route or no address of that family.
    """
    destination = as_address(destination)
    family = Family.IPV4 if destination.version == 4 else Family.IPV6
    if plan.primary(source, family) is None:
        return None
    node, visited = source, [source]
    for _ in range(max_hops):
        if any(a.ip == destination for a in plan.addresses(node, family)) or (
                visited[1:] and plan.originator(destination) == node):
            return visited
        next_hop = None
        for interface in plan.interfaces_of(node):
            own = interface.address(family)
            if own is not None and destination in own.network:
                next_hop = destination
                break
        if next_hop is None:
            candidates = [r for r in routes.get(node, []) if r.family is family and
                          (r.destination is None or destination in r.destination)]
            if not candidates:
                return None
            best = max(candidates, key=lambda r: -1 if r.destination is None else r.destination.prefixlen)
            next_hop = best.via
        # Resolve the next hop on the segment it is reached through: private LAN
        # addresses repeat from one CPE to the next.
        hop = None
        for interface in plan.interfaces_of(node):
            own = interface.address(family)
            if own is not None and next_hop in own.network:
                hop = plan.on_segment(interface.segment, next_hop)
                break
        if hop is None:
            return None
        node = hop.node
        visited.append(node)
    return None

"""One derived model of a city, computed once from the graph, the address plan, the
routes and the transition plan, that every later stage reads.

Who the subscribers are and of which kind, which services exist and where, what
resolver each node is given, where the translators are, what a subscriber's IPv4
crosses (NAT44, a CGN), and whether a family reaches from one node to another and
by which path: stages used to derive each of these again from the raw graph. Here
each fact has one definition and, where it costs something (paths), is computed
once per question.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

import networkx as nx

from simulator.model import transition
from simulator.model.address_plan import AddressPlan
from simulator.model.resolvers import Resolver, dns_server, resolvers
from simulator.model.routing import Route, forward_path
from topologies.spec import FAMILY_SETS, AccessMode, Family, Kind, Role, ServiceKind, node_spec


def family_set_name(families) -> str:
    """"ipv4-only", "dual-stack" or "ipv6-only" for a set of families."""
    return next(name for name, members in FAMILY_SETS.items() if members == frozenset(families))


@dataclass(frozen=True)
class Subscriber:
    node: str
    district: str | None
    subscriber_class: str | None      # "fixed", "mobile"
    mode: AccessMode | None           # its access mode (None: a plain host of a non-city topology)
    families: frozenset[Family]
    represents: int                   # real subscribers it stands for
    gateway: str | None               # the router of its access LAN
    ipv4_crosses: tuple[str, ...]     # what its native IPv4 crosses on the way out: "NAT44", "CGN"

    @property
    def kind(self) -> str:
        """Its client kind: the access mode, or the families it has."""
        return self.mode.value if self.mode is not None else family_set_name(self.families)


@dataclass(frozen=True)
class Service:
    name: str                         # the label, "www"
    fqdn: str                         # "www.city.test"
    server: str
    kind: ServiceKind
    families: frozenset[Family]       # what it publishes (A, AAAA)
    addresses: Mapping[Family, ipaddress.IPv4Address | ipaddress.IPv6Address]
    front: str | None = None          # the reverse proxy holding its AAAA (an IPv4-only server's)

    @property
    def family_set(self) -> str:
        return family_set_name(self.families)

    def node_for(self, family: Family) -> str:
        """The node a client's packets of ``family`` go to: its front for IPv6, if it
        has one, else its server."""
        return self.front if self.front is not None and family is Family.IPV6 else self.server


class CityModel:
    """The facts of one city; build it once, read it everywhere."""

    def __init__(self, graph: nx.Graph, plan: AddressPlan, routes: dict[str, list[Route]], zone: str = "city.test"):
        self.graph, self.plan, self.routes, self.zone = graph, plan, routes, zone
        self._paths: dict[tuple[str, str, Family], tuple[bool, str]] = {}

    # --- who and what -----------------------------------------------------------------------------

    @cached_property
    def subscribers(self) -> tuple[Subscriber, ...]:
        found = []
        for node in sorted(self.graph):
            spec = node_spec(self.graph, node)
            if spec.role is not Role.SUBSCRIBER:
                continue
            found.append(Subscriber(node, spec.district, spec.subscriber_class, spec.mode, spec.families,
                                    spec.represents, self._gateway(node), self._ipv4_crosses(node)))
        return tuple(found)

    def subscriber(self, node: str) -> Subscriber:
        return next(s for s in self.subscribers if s.node == node)

    def of_kind(self, kind: str) -> tuple[Subscriber, ...]:
        return tuple(s for s in self.subscribers if s.kind == kind)

    @cached_property
    def hosts(self) -> tuple[str, ...]:
        return tuple(n for n in sorted(self.graph) if node_spec(self.graph, n).kind is Kind.HOST)

    @cached_property
    def services(self) -> tuple[Service, ...]:
        """Every service; one with a front publishes the front's IPv6 address beside
        its server's IPv4."""
        fronts = {name: node for node in self.graph for name in node_spec(self.graph, node).fronts}
        found = []
        for node in sorted(self.graph):
            for spec in node_spec(self.graph, node).services:
                front = fronts.get(spec.name)
                families = spec.families | {Family.IPV6} if front else spec.families
                addresses = {f: self.plan.primary(front if front and f is Family.IPV6 else node, f) for f in Family
                             if f in families}
                found.append(Service(spec.name, f"{spec.name}.{self.zone}", node, spec.kind, frozenset(families),
                                     MappingProxyType({f: a for f, a in addresses.items() if a is not None}), front))
        return tuple(found)

    def service(self, fqdn: str) -> Service:
        return next(s for s in self.services if s.fqdn == fqdn)

    def web_services(self) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.kind is ServiceKind.HTTP)

    @cached_property
    def dns_server(self) -> str | None:
        return dns_server(self.graph)

    @cached_property
    def resolvers(self) -> Mapping[str, Resolver]:
        """Every router's and host's resolver, as its network gives it."""
        return MappingProxyType(resolvers(self.graph, self.plan, self.zone))

    def resolver(self, node: str) -> str | None:
        """The first name server in the node's resolv.conf."""
        servers = self.resolvers[node].servers
        return servers[0] if servers else None

    @cached_property
    def translators(self) -> Mapping[Role, str]:
        return MappingProxyType({role: node for role in (Role.NAT64, Role.AFTR)
                                 if (node := transition.translator(self.graph, role)) is not None})

    @cached_property
    def mechanisms(self) -> tuple[str, ...]:
        return tuple(transition.mechanisms_used(self.graph))

    def _gateway(self, node: str) -> str | None:
        for interface in self.plan.interfaces_of(node):
            segment = self.plan.segments[interface.segment]
            router = segment.advertiser or segment.nat_gateway or next(
                (m for m in segment.members if m != node and node_spec(self.graph, m).kind is Kind.ROUTER), None)
            if router is not None and router != node:
                return router
        return None

    def _ipv4_crosses(self, node: str) -> tuple[str, ...]:
        """What an IPv4 packet of ``node`` crosses on its way out, inside out: a CPE's
        NAT44, a CGN (both: NAT444); for DS-Lite the AFTR's NAT44, for 464XLAT the
        CLAT and the NAT64 (the mechanism carries it, the CPE does no NAT44)."""
        mode = node_spec(self.graph, node).mode
        if mode is AccessMode.DS_LITE:
            return ("AFTR",)
        if mode is AccessMode.XLAT464:
            return ("CLAT", "NAT64")
        if Family.IPV4 not in node_spec(self.graph, node).families:
            return ()
        crossed: list[str] = []
        here = node
        while True:
            gateway = next((self.plan.segments[i.segment].nat_gateway for i in self.plan.interfaces_of(here)
                            if self.plan.segments[i.segment].nat_gateway not in (None, here)), None)
            if gateway is None:
                return tuple(crossed)
            crossed.append("CGN" if node_spec(self.graph, gateway).cgn else "NAT44")
            here = gateway

    # --- paths ------------------------------------------------------------------------------------

    def reachable(self, client: str, server: str, family: Family) -> tuple[bool, str]:
        """Can ``client`` exchange packets with ``server`` over ``family``, both ways,
        whatever its access mode, and by which path (in words)? Computed once per question."""
        key = (client, server, family)
        if key not in self._paths:
            self._paths[key] = reachable_in(self.graph, self.plan, self.routes, client, server, family)
        return self._paths[key]


def reachable(plan: AddressPlan, routes: dict[str, list[Route]], client: str, server: str,
              family: Family) -> tuple[bool, str]:
    """Can ``client`` exchange packets with ``server`` over ``family``, both ways?"""
    here, there = plan.primary(client, family), plan.primary(server, family)
    if here is None:
        return False, f"{client} has no {family.label} address"
    if there is None:
        return False, f"{server} has no {family.label} address"
    path = forward_path(plan, routes, client, there)
    if path is None:
        return False, f"no {family.label} route from {client} to {server}"
    # Replies go to the address the server sees: a NAT44 LAN host's CPE.
    seen = plan.public_address(client, family)
    if seen is None or forward_path(plan, routes, server, seen) is None:
        return False, f"no {family.label} route back from {server} to {client}"
    return True, f"{family.label} path {' > '.join(path)}"


def reachable_in(graph: nx.Graph, plan: AddressPlan, routes: dict[str, list[Route]], client: str, server: str,
                 family: Family) -> tuple[bool, str]:
    """``reachable`` for any client, whatever its access mode: IPv4 of a DS-Lite or
    464XLAT client is carried over IPv6 from its B4 or CLAT (the CPE, or the UE
    itself) to the translator, which reaches the server over IPv4."""
    mode = node_spec(graph, client).mode
    if family is Family.IPV6 or mode is None or mode.ipv4_via is None:
        return reachable(plan, routes, client, server, family)
    role = mode.ipv4_via
    translator = transition.translator(graph, role)
    if translator is None:
        return False, f"{client} is {mode.value} and the city has no {role.value}"
    gateways = [plan.segments[i.segment].nat_gateway for i in plan.interfaces_of(client)]
    origin = next((g for g in gateways if g and g != client), client)
    ok, why = reachable(plan, routes, origin, translator, Family.IPV6)
    if not ok:
        return False, f"{mode.value}: {why}"
    ok, why = reachable(plan, routes, translator, server, Family.IPV4)
    if not ok:
        return False, f"{mode.value}: {why}"
    return True, f"IPv4 over IPv6 from {origin} to {translator} ({mode.value}), then {why}"

"""Which DNS resolver each node's network gives it, and how it learns it.

A subscriber host is a real host: whatever runs in it resolves names through the
resolver in its own ``/etc/resolv.conf``, and that file says what its network told it:

- a host numbered by SLAAC learns its resolver and search list from its router's
  advertisements (RDNSS and DNSSL, RFC 8106): the DNS64 on an access LAN whose
  subscribers are IPv6-only or 464XLAT (RFC 6147, RFC 6877), the city's DNS on
  the others;
- a CPE that gets its prefix by DHCPv6 learns them in the same exchange (RFC 8415
  options 23 and 24, RFC 3646), the DNS64 when the CPE is 464XLAT;
- every other node (routers, servers, IPv4-only hosts, for which no DHCPv4 runs
  here) is configured from the city's plan, as an operator would.

The radvd and Kea configurations announce exactly these (``lan_resolver``,
``delegation_resolver``), and the run checks that every host's file ends up saying
what ``resolvers`` expects.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from simulator.model.address_plan import AddressPlan, Segment
from simulator.model.transition import dns64_address
from topologies.spec import Family, Kind, ServiceKind, node_spec

RDNSS = "router advertisement (RDNSS and DNSSL, RFC 8106)"
DHCPV6 = "DHCPv6 (RFC 8415 and RFC 3646)"
PLAN = "the city's plan"


@dataclass(frozen=True)
class Resolver:
    """What a node's ``/etc/resolv.conf`` names, and where that came from."""

    servers: tuple[str, ...]
    search: tuple[str, ...]
    source: str

    def resolv_conf(self) -> str:
        return render_resolv_conf(self.servers, self.search, f"from {self.source}")


def render_resolv_conf(servers, search, comment: str) -> str:
    """A resolv.conf(5): at most three name servers (glibc's MAXNS), then the search list."""
    lines = [f"# written by v6lab: {comment}"]
    lines += [f"nameserver {server}" for server in list(servers)[:3]]
    if search:
        lines.append("search " + " ".join(search))
    return "\n".join(lines) + "\n"


def dns_server(graph: nx.Graph) -> str | None:
    """The node of the city's DNS service (the first one, by name)."""
    return next((n for n in sorted(graph) if any(s.kind is ServiceKind.DNS for s in node_spec(graph, n).services)),
                None)


def _city_dns(graph: nx.Graph, plan: AddressPlan, family: Family) -> str | None:
    node = dns_server(graph)
    address = plan.primary(node, family) if node else None
    return str(address) if address is not None else None


def _dns64(graph: nx.Graph, plan: AddressPlan) -> str | None:
    address = dns64_address(graph, plan)
    return str(address) if address is not None else None


def lan_resolver(graph: nx.Graph, plan: AddressPlan, segment: Segment) -> str | None:
    """The IPv6 resolver an access LAN's advertisements announce: the DNS64 when its
    subscribers are IPv6-only or 464XLAT and the city has one, else the city's DNS."""
    modes = (node_spec(graph, m).mode for m in segment.members)
    if any(mode is not None and mode.uses_dns64 for mode in modes):
        return _dns64(graph, plan) or _city_dns(graph, plan, Family.IPV6)
    return _city_dns(graph, plan, Family.IPV6)


def delegation_resolver(graph: nx.Graph, plan: AddressPlan, cpe: str) -> str | None:
    """The IPv6 resolver the BNG's DHCPv6 server gives a CPE along with its prefix."""
    mode = node_spec(graph, cpe).mode
    if mode is not None and mode.uses_dns64:
        return _dns64(graph, plan) or _city_dns(graph, plan, Family.IPV6)
    return _city_dns(graph, plan, Family.IPV6)


def resolvers(graph: nx.Graph, plan: AddressPlan, zone: str) -> dict[str, Resolver]:
    """Every host and router: the resolver its network gives it."""
    search = (zone,) if zone else ()
    found = {}
    for node in sorted(graph):
        spec = node_spec(graph, node)
        if spec.kind is Kind.SWITCH:
            continue
        interfaces = plan.interfaces_of(node)
        slaac = next((i for i in interfaces if i.slaac), None)
        if slaac is not None:
            server = lan_resolver(graph, plan, plan.segments[slaac.segment])
            found[node] = Resolver((server,) if server else (), search, RDNSS)
        elif node in plan.delegated:
            server = delegation_resolver(graph, plan, node)
            found[node] = Resolver((server,) if server else (), search, DHCPV6)
        else:
            servers = tuple(address for family in (Family.IPV6, Family.IPV4)
                            if plan.primary(node, family) is not None
                            and (address := _city_dns(graph, plan, family)) is not None)
            found[node] = Resolver(servers, search, PLAN)
    return found

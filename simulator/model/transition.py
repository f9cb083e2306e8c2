"""Which transition mechanisms a city runs and where: pure facts of the graph and
the address plan (the daemons that implement them are
``simulator.network.mechanisms``; whether this host can run them, too).

How a district's mode steers its traffic: its access LANs are told of the DNS64 as
their resolver (RDNSS) when they are IPv6-only; the NAT64 prefix, the AFTR's
softwire endpoint and every translator's public pool are originated by their
translator, so every router routes them there (``simulator.model.routing``), as an
operator's IGP would; and the controller's table 0 classifies and counts what each
mechanism carries (``controller_policy``). Routers, not flows, do the steering,
because routers are real Linux nodes here (see ``simulator.model.routing``).
"""

from __future__ import annotations

import ipaddress

import networkx as nx

from simulator.model.address_plan import AddressPlan, eui64_address, mac_address, openflow_ports
from topologies.errors import TopologyError
from topologies.spec import AccessMode, Family, Kind, Role, node_spec


def mechanisms_used(graph: nx.Graph) -> list[str]:
    used = set()
    for node in graph:
        spec = node_spec(graph, node)
        if spec.mode is AccessMode.DS_LITE or spec.role is Role.AFTR:
            used.add("ds-lite")
        if (spec.mode is not None and spec.mode.uses_dns64) or spec.role is Role.NAT64:
            used |= {"nat64", "dns64"}
        if spec.mode is AccessMode.XLAT464:
            used.add("464xlat")
        if spec.cgn:
            used.add("cgn")
    return sorted(used)


def translator(graph: nx.Graph, role: Role) -> str | None:
    return next((n for n in sorted(graph) if node_spec(graph, n).role is role), None)


def dns64_address(graph: nx.Graph, plan: AddressPlan):
    """Where IPv6-only subscribers send their DNS questions: the NAT64 node's DNS64."""
    node = translator(graph, Role.NAT64)
    return plan.primary(node, Family.IPV6) if node else None


def wan_and_lan(plan: AddressPlan, cpe: str):
    wan = lan = None
    for interface in plan.interfaces_of(cpe):
        if plan.segments[interface.segment].nat_gateway == cpe:
            lan = interface
        elif wan is None:
            wan = interface
    return wan, lan


def clat_address(plan: AddressPlan, ue: str) -> ipaddress.IPv6Address:
    """The IPv6 address a UE's CLAT translates its IPv4 address to: one of the UE's
    /64 (RFC 6877 section 6.3), from a MAC the UE does not use."""
    interface = plan.interfaces_of(ue)[0]
    prefix = plan.segments[interface.segment].ipv6
    if prefix is None:
        raise TopologyError(f"{ue}: its CLAT needs an IPv6 /64 on segment {interface.segment}, which has none; "
                            "give the UE IPv6 (dual-stack or ipv6-only)")
    return eui64_address(prefix, mac_address(ue, "clat"))


def behind_cpe(graph, plan, host) -> bool:
    return any(plan.segments[i.segment].nat_gateway not in (None, host) and
               node_spec(graph, plan.segments[i.segment].nat_gateway).role is Role.CPE
               for i in plan.interfaces_of(host))


def controller_policy(graph: nx.Graph, plan: AddressPlan) -> dict:
    """What the controller's table 0 classifies (``controllers.policy.Mechanisms``):
    the NAT64 prefix, each CLAT's prefix (a CPE's /120, a UE's /128), softwires
    and the shared space behind CGNs."""
    used = mechanisms_used(graph)
    clat = []
    for node in sorted(graph):
        spec = node_spec(graph, node)
        if spec.mode is not AccessMode.XLAT464:
            continue
        if spec.role is Role.CPE:
            clat.append(str(plan.clat_prefix(node)))
        elif spec.kind is Kind.HOST and not behind_cpe(graph, plan, node):
            clat.append(f"{clat_address(plan, node)}/128")
    return {"nat64_prefix": str(plan.nat64_prefix) if plan.nat64_prefix else None, "clat": clat,
            "softwire": "ds-lite" in used,
            "shared_space": str(graph.graph["prefixes"].ipv4_cgn) if "cgn" in used else None,
            "segments": access_segments(graph)}


ROUTER_ROLES = (Role.ACCESS_ROUTER, Role.MOBILE_GATEWAY)


def access_segments(graph: nx.Graph) -> dict[str, list[dict]]:
    """Each access switch's segment (``controllers.phases.Segment`` without its
    dpid, which the run gives): the OpenFlow ports of its router (the BNG or mobile
    gateway on an OLT or radio switch; the CPE on a home LAN switch) and of its
    subscribers, and whether IPv6 is admitted (a subscriber side with IPv6 at all).
    Port numbers are the backend's (``address_plan.openflow_ports``)."""
    segments: dict[str, list[dict]] = {}
    for switch in sorted(graph):
        spec = node_spec(graph, switch)
        if spec.role is not Role.ACCESS_SWITCH:
            continue
        numbers = openflow_ports(graph, switch)
        roles = {peer: node_spec(graph, peer).role for peer in numbers}
        routers = {p for p, role in roles.items() if role in ROUTER_ROLES} or {
            p for p, role in roles.items() if role is Role.CPE}
        subscribers = sorted(set(numbers) - routers)
        kind = next((node_spec(graph, p).subscriber_class for p in subscribers
                     if node_spec(graph, p).subscriber_class), None) or (
            "mobile" if any(roles[p] is Role.MOBILE_GATEWAY for p in routers) else "fixed")
        segments[switch] = [{
            "name": f"{spec.district}/{kind}/{switch}", "router_ports": sorted(numbers[p] for p in routers),
            "subscriber_ports": [numbers[p] for p in subscribers],
            "ipv6": any(Family.IPV6 in node_spec(graph, p).families for p in subscribers)}]
    return segments

"""Transition mechanisms on this host: which ones it can run (``host_support``,
``check_host``) and the daemon objects a city's plan asks for (``deployment``).

What a city deploys where is the model's (``simulator.model.transition``); this
module turns it into the translators of ``simulator.network.daemons.translators``
that a backend starts.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx

from simulator.model.address_plan import AddressPlan
from simulator.model.transition import (
    behind_cpe,
    clat_address,
    mechanisms_used,
    translator,
    wan_and_lan,
)
from simulator.network.capabilities import HostCapabilities
from simulator.network.daemons.base import Daemon
from simulator.network.daemons.translators import (
    CLAT_HOST,
    CarrierGradeNat,
    Clat,
    DsLiteAftr,
    DsLiteB4,
    Nat64,
)
from topologies.errors import ConfigError, TopologyError
from topologies.spec import AccessMode, Kind, Role, node_spec

# Mechanism name -> (what it needs on the host, in doctor's check names; what it is).
MECHANISMS = {
    "nat64": (("tayga", "tun", "nft-nat"), "NAT64 (RFC 6146) with TAYGA and nftables"),
    "dns64": (("unbound",), "DNS64 (RFC 6147) with Unbound"),
    "464xlat": (("tayga", "tun", "nft-nat"), "464XLAT (RFC 6877): a TAYGA CLAT, the NAT64 as PLAT"),
    # The softwire is always the SRv6 encapsulation (the same packets on the wire as
    # ip4ip6), so one data path is tested everywhere; an ip6tnl variant is not built.
    "ds-lite": (("srv6", "seg6local", "nf-hooks-lwtunnel", "nft-nat"),
                "DS-Lite (RFC 6333): the ip4ip6 softwire as an SRv6 encapsulation"),
    "cgn": (("nft-nat",), "NAT44 / carrier-grade NAT (RFC 6888) with nftables"),
    "6rd": (("sit", "6rd-implementation"), "6rd (RFC 5969) needs sit tunnels"),
    "map-e": (("ip6tnl", "map-e-implementation"), "MAP-E (RFC 7597) needs ip6tnl and a MAP CE/BR"),
    "map-t": (("map-t-implementation",), "MAP-T (RFC 7599) needs a MAP-T translator"),
}
# No MAP translator is packaged for this kind of host: Jool's MAP-T and the MAP-E
# border relays are kernel modules, and these kernels load none.
NOT_IMPLEMENTED = {"6rd-implementation": "v6lab builds no 6rd CE or border relay yet",
                   "map-e-implementation": "no MAP-E CE/BR in Debian that runs without a kernel module",
                   "map-t-implementation": "MAP-T needs Jool's kernel module (no loadable modules here)"}


def host_support(capabilities: HostCapabilities) -> dict[str, tuple[bool, str]]:
    """Mechanism -> (can run here, why not)."""
    found = {}
    for name, (needs, what) in MECHANISMS.items():
        missing = [n for n in needs if n not in NOT_IMPLEMENTED and not capabilities.has(n)]
        unbuilt = [NOT_IMPLEMENTED[n] for n in needs if n in NOT_IMPLEMENTED]
        reasons = ([f"missing {', '.join(missing)}"] if missing else []) + unbuilt
        found[name] = (not reasons, f"{what}: {'; '.join(reasons)}" if reasons else what)
    return found


def check_host(graph: nx.Graph, capabilities: HostCapabilities, source: str) -> None:
    """Refuse, before anything starts, a city whose mechanisms this host cannot run."""
    support = host_support(capabilities)
    problems = [f"{source}: {name}: {support[name][1]}" for name in mechanisms_used(graph) if not support[name][0]]
    if problems:
        raise ConfigError(problems + ["'v6lab doctor' lists what this host has"])


def deployment(graph: nx.Graph, plan: AddressPlan, interface: Callable[[str, str], str]) -> list:
    """The mechanism objects to start, translators first; ``interface(node, peer)``
    names a node's interface towards a neighbour."""
    nat64, aftr = translator(graph, Role.NAT64), translator(graph, Role.AFTR)
    found: list[Daemon] = []
    if nat64:
        found.append(Nat64(nat64, plan.nat64_prefix, plan.pools[nat64], plan.endpoints[nat64]))
    b4s = sorted(n for n in graph if node_spec(graph, n).role is Role.CPE
                 and node_spec(graph, n).mode is AccessMode.DS_LITE)
    if aftr:
        uplink = plan.interfaces_of(aftr)[0]
        softwires = [(str(plan.softwire_endpoint(cpe)), str(wan_and_lan(plan, cpe)[1].ipv4.network))
                     for cpe in b4s]
        found.append(DsLiteAftr(aftr, interface(aftr, uplink.peer), plan.softwire_endpoint(aftr),
                                plan.pools[aftr], softwires))
    for router in sorted(n for n in graph if node_spec(graph, n).cgn):
        found.append(CarrierGradeNat(router, plan.pools[router], [str(a) for a in plan.translated_by(router)],
                                     graph.graph["prefixes"].ipv4_cgn))
    for cpe in b4s:
        if aftr is None:
            raise TopologyError(f"{', '.join(b4s)}: DS-Lite CPEs need an AFTR, and the city has none; "
                                "add 'transition: {aftr: {core: c1}}' to the city spec")
        wan, lan = wan_and_lan(plan, cpe)
        found.append(DsLiteB4(cpe, interface(cpe, wan.peer), interface(cpe, lan.peer), wan.ipv6.ip,
                              plan.softwire_endpoint(cpe), plan.softwire_endpoint(aftr)))
    for node in sorted(graph):
        spec = node_spec(graph, node)
        if spec.mode is not AccessMode.XLAT464:
            continue
        if spec.role is Role.CPE:
            _, lan = wan_and_lan(plan, node)
            found.append(Clat(node, plan.nat64_prefix, lan.ipv4.network, plan.clat_prefix(node)))
        elif spec.kind is Kind.HOST and not behind_cpe(graph, plan, node):
            own = plan.interfaces_of(node)[0]
            router = plan.segments[own.segment].advertiser
            if router is None:
                raise TopologyError(f"{node}: its CLAT needs a router advertising on segment {own.segment}, "
                                    "which has none; give the segment IPv6")
            gateway = next(i.ipv6.ip for i in plan.interfaces_of(router)
                           if i.segment == own.segment and i.ipv6 is not None)
            found.append(Clat(node, plan.nat64_prefix, f"{CLAT_HOST}/32", f"{clat_address(plan, node)}/128",
                              interface(node, own.peer), gateway))
    return found

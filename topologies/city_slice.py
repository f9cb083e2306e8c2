"""The smallest city slice: one metro core, two access districts and one IDC.

                         core (core-router)
                /              |               \\
          m1 (metro)      m2 (metro)       m3 (metro)
              |                |                |
          bng1 (access)   bng2 (access)    idcgw (IDC gateway)
              |                |                |
          a1 (access sw)  a2 (access sw)   dc1 (IDC switch)
           /    \\          /     \\          /        \\
        d1h1   d1h2     d2h1   d2h2       web        dns
      district d1:    district d2:       www (HTTP), ns (DNS),
      dual-stack      IPv4-only          both dual-stack

Metro and IDC links are dual-stack; district d2's access network carries IPv4 only,
so its subscribers have no IPv6 at all, as in a district not yet migrated.
"""

from __future__ import annotations

import networkx as nx

from topologies.spec import (
    DUAL_STACK,
    IPV4_ONLY,
    Family,
    LinkSpec,
    NodeSpec,
    Role,
    ServiceKind,
    ServiceSpec,
    validate,
)


def city_slice(
    subscribers_per_district: int = 2,
    district_families: tuple[frozenset[Family], ...] = (DUAL_STACK, IPV4_ONLY),
    access_bandwidth_mbps: float | None = None,
) -> nx.Graph:
    """Build the graph; one district per entry of ``district_families``."""
    if subscribers_per_district < 1:
        raise ValueError("subscribers_per_district must be at least 1")
    if not 1 <= len(district_families) <= 8:
        raise ValueError("a city slice has 1 to 8 districts")
    graph: nx.Graph[str] = nx.Graph(name="city-slice")
    core_link = LinkSpec(families=DUAL_STACK)

    graph.add_node("core", spec=NodeSpec(Role.CORE_ROUTER))
    for index, families in enumerate(district_families, start=1):
        district = f"d{index}"
        bng, access, metro = f"bng{index}", f"a{index}", f"m{index}"
        graph.add_node(metro, spec=NodeSpec(Role.METRO_SWITCH))
        graph.add_node(bng, spec=NodeSpec(Role.ACCESS_ROUTER, district=district))
        graph.add_node(access, spec=NodeSpec(Role.ACCESS_SWITCH, families=families, district=district))
        graph.add_edge("core", metro, spec=core_link)
        graph.add_edge(metro, bng, spec=core_link)
        access_link = LinkSpec(families=families, bandwidth_mbps=access_bandwidth_mbps)
        graph.add_edge(bng, access, spec=access_link)
        for host in range(1, subscribers_per_district + 1):
            name = f"{district}h{host}"
            graph.add_node(name, spec=NodeSpec(
                Role.SUBSCRIBER, families=families, district=district, subscriber_class="fixed"))
            graph.add_edge(access, name, spec=access_link)

    metro = f"m{len(district_families) + 1}"
    graph.add_node(metro, spec=NodeSpec(Role.METRO_SWITCH))
    graph.add_node("idcgw", spec=NodeSpec(Role.IDC_GATEWAY, district="idc1"))
    graph.add_node("dc1", spec=NodeSpec(Role.IDC_SWITCH, district="idc1"))
    graph.add_edge("core", metro, spec=core_link)
    graph.add_edge(metro, "idcgw", spec=core_link)
    graph.add_edge("idcgw", "dc1", spec=core_link)
    graph.add_node("web", spec=NodeSpec(
        Role.SERVER, district="idc1",
        services=(ServiceSpec("www", ServiceKind.HTTP, DUAL_STACK),)))
    graph.add_node("dns", spec=NodeSpec(
        Role.SERVER, district="idc1",
        services=(ServiceSpec("ns", ServiceKind.DNS, DUAL_STACK),)))
    graph.add_edge("dc1", "web", spec=core_link)
    graph.add_edge("dc1", "dns", spec=core_link)
    validate(graph)
    return graph

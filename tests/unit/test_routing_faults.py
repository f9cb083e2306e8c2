"""Routes computed again without a failed link, on the city slice and a small ring."""

import ipaddress

from simulator.model.address_plan import plan_addresses, plan_city_addresses
from simulator.model.routing import compute_routes, forward_path
from topologies import city_slice
from topologies.city import city_graph, parse_city
from topologies.spec import Family


def ring_city():
    # Three core routers in a ring; district d1 on c1, the IDC on c3 (given), so
    # d1 -> IDC goes c1-c3 directly, and c1-c2-c3 once that link is cut.
    return city_graph(parse_city({
        "name": "ring", "metro": {"layout": "ring", "core_routers": 3},
        "districts": [{"id": "d1", "core": "c1",
                       "mobile": {"subscribers": 10, "emulated_hosts": 1, "ipv6_capable": 1.0}}],
        "idcs": [{"id": "i1", "core": "c3", "spines": 1, "leaves": 1, "servers_per_leaf": 1}],
        "services": [{"name": "www", "at": "i1"}]}))


def test_cut_ring_link_reroutes_both_families():
    graph = ring_city()
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    for family in Family:
        server = plan.primary("i1v1", family)
        before = forward_path(plan, compute_routes(graph, plan), "d1u1", server)
        assert before == ["d1u1", "d1gw", "d1agg", "c1", "c3", "i1s1", "i1l1", "i1v1"]
        after = forward_path(plan, compute_routes(graph, plan, frozenset({frozenset(("c1", "c3"))})),
                             "d1u1", server)
        assert after == ["d1u1", "d1gw", "d1agg", "c1", "c2", "c3", "i1s1", "i1l1", "i1v1"]


def test_next_hop_of_the_core_router_changes():
    graph = ring_city()
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    target = plan.segments["i1r1"].ipv4
    down = frozenset({frozenset(("c1", "c3"))})

    def next_hop(routes):
        [route] = [r for r in routes["c1"] if r.family is Family.IPV4 and r.destination == target]
        return route.via

    assert next_hop(compute_routes(graph, plan)) == plan.interfaces[("c3", "c1")].ipv4.ip
    assert next_hop(compute_routes(graph, plan, down)) == plan.interfaces[("c2", "c1")].ipv4.ip


def test_cut_access_uplink_isolates_the_district():
    # In the city slice m1 is d1's only way to the core: cutting core--m1 leaves no path.
    graph = city_slice()
    plan = plan_addresses(graph)
    routes = compute_routes(graph, plan, frozenset({frozenset(("core", "m1"))}))
    web = plan.primary("web", Family.IPV6)
    assert forward_path(plan, routes, "d1h1", web) is None
    assert not any(r.destination == ipaddress.ip_network("2001:db8:64::/64") for r in routes["core"])

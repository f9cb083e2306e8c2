"""simulator.model.routing: static routes and hop-by-hop forwarding on the default city slice.

Addresses (see test_address_plan.py):
  a1  10.64.0.0/24 2001:db8:64::/64    bng1 .1/::1  d1h1 .2/::2  d1h2 .3/::3
  a2  10.64.1.0/24 (no IPv6)           bng2 .1      d2h1 .2      d2h2 .3
  dc1 10.64.2.0/24 2001:db8:64:1::/64  idcgw .1     dns .2       web .3
  m1  10.64.3.0/24 2001:db8:64:2::/64  bng1 .1      core .2
  m2  10.64.4.0/24 2001:db8:64:3::/64  bng2 .1      core .2
  m3  10.64.5.0/24 2001:db8:64:4::/64  core .1      idcgw .2
Routes are listed per family (IPv4 first), destinations in segment-name order.
"""

import ipaddress

import pytest

from simulator.model.address_plan import plan_addresses
from simulator.model.routing import Route, compute_routes, forward_path
from topologies import city_slice
from topologies.spec import Family

V4, V6 = Family.IPV4, Family.IPV6


def route(family, destination, via):
    return Route(family, ipaddress.ip_network(destination) if destination else None,
                 ipaddress.ip_address(via))


@pytest.fixture(scope="module")
def network():
    graph = city_slice()
    plan = plan_addresses(graph)
    return graph, plan, compute_routes(graph, plan)


def test_routes_for_every_non_switch(network):
    _, _, routes = network
    assert sorted(routes) == ["bng1", "bng2", "core", "d1h1", "d1h2", "d2h1", "d2h2", "dns", "idcgw", "web"]


def test_core_routes(network):
    _, _, routes = network
    # core is attached to m1, m2, m3; a1 is behind bng1 on m1, a2 behind bng2 on m2,
    # dc1 behind idcgw on m3 (idcgw is .2 there). a2 has no IPv6, so no IPv6 route.
    assert routes["core"] == [
        route(V4, "10.64.0.0/24", "10.64.3.1"),
        route(V4, "10.64.1.0/24", "10.64.4.1"),
        route(V4, "10.64.2.0/24", "10.64.5.2"),
        route(V6, "2001:db8:64::/64", "2001:db8:64:2::1"),
        route(V6, "2001:db8:64:1::/64", "2001:db8:64:4::2"),
    ]


def test_bng1_routes(network):
    _, _, routes = network
    # Everything not on a1 or m1 is behind core (10.64.3.2 / 2001:db8:64:2::2).
    assert routes["bng1"] == [
        route(V4, "10.64.1.0/24", "10.64.3.2"),
        route(V4, "10.64.2.0/24", "10.64.3.2"),
        route(V4, "10.64.4.0/24", "10.64.3.2"),
        route(V4, "10.64.5.0/24", "10.64.3.2"),
        route(V6, "2001:db8:64:1::/64", "2001:db8:64:2::2"),
        route(V6, "2001:db8:64:3::/64", "2001:db8:64:2::2"),
        route(V6, "2001:db8:64:4::/64", "2001:db8:64:2::2"),
    ]


def test_bng2_routes_ipv6_without_ipv6_on_its_access_side(network):
    _, plan, routes = network
    assert plan.interfaces[("bng2", "a2")].ipv6 is None
    # IPv6 only on m2: every IPv6 segment except m2 itself is behind core.
    assert [r for r in routes["bng2"] if r.family is V6] == [
        route(V6, "2001:db8:64::/64", "2001:db8:64:3::2"),
        route(V6, "2001:db8:64:1::/64", "2001:db8:64:3::2"),
        route(V6, "2001:db8:64:2::/64", "2001:db8:64:3::2"),
        route(V6, "2001:db8:64:4::/64", "2001:db8:64:3::2"),
    ]
    assert [r for r in routes["bng2"] if r.family is V4] == [
        route(V4, "10.64.0.0/24", "10.64.4.2"),
        route(V4, "10.64.2.0/24", "10.64.4.2"),
        route(V4, "10.64.3.0/24", "10.64.4.2"),
        route(V4, "10.64.5.0/24", "10.64.4.2"),
    ]


def test_idcgw_routes(network):
    _, _, routes = network
    assert routes["idcgw"] == [
        route(V4, "10.64.0.0/24", "10.64.5.1"),
        route(V4, "10.64.1.0/24", "10.64.5.1"),
        route(V4, "10.64.3.0/24", "10.64.5.1"),
        route(V4, "10.64.4.0/24", "10.64.5.1"),
        route(V6, "2001:db8:64::/64", "2001:db8:64:4::1"),
        route(V6, "2001:db8:64:2::/64", "2001:db8:64:4::1"),
        route(V6, "2001:db8:64:3::/64", "2001:db8:64:4::1"),
    ]


def test_hosts_have_default_routes_only(network):
    _, _, routes = network
    assert routes["d2h1"] == [route(V4, None, "10.64.1.1")]
    assert routes["d1h1"] == [route(V4, None, "10.64.0.1"), route(V6, None, "2001:db8:64::1")]
    assert routes["web"] == [route(V4, None, "10.64.2.1"), route(V6, None, "2001:db8:64:1::1")]


def test_ip_args():
    assert route(V4, None, "10.64.1.1").ip_args() == ["route", "replace", "default", "via", "10.64.1.1"]
    assert route(V6, "2001:db8:64::/64", "2001:db8:64:2::1").ip_args() == [
        "route", "replace", "2001:db8:64::/64", "via", "2001:db8:64:2::1"]


def test_forward_path_ipv6_d1h1_to_web(network):
    _, plan, routes = network
    web6 = plan.primary("web", V6)
    assert str(web6) == "2001:db8:64:1::3"
    assert forward_path(plan, routes, "d1h1", web6) == ["d1h1", "bng1", "core", "idcgw", "web"]


def test_forward_path_ipv4_d2h1_to_web_and_back(network):
    _, plan, routes = network
    assert forward_path(plan, routes, "d2h1", "10.64.2.3") == ["d2h1", "bng2", "core", "idcgw", "web"]
    assert forward_path(plan, routes, "web", "10.64.1.2") == ["web", "idcgw", "core", "bng2", "d2h1"]


def test_forward_path_on_the_same_segment(network):
    _, plan, routes = network
    assert forward_path(plan, routes, "d1h1", "2001:db8:64::3") == ["d1h1", "d1h2"]
    assert forward_path(plan, routes, "d1h1", "10.64.0.2") == ["d1h1"]


def test_forward_path_d2h1_has_no_ipv6(network):
    _, plan, routes = network
    assert forward_path(plan, routes, "d2h1", plan.primary("web", V6)) is None


def test_forward_path_to_an_unassigned_address(network):
    _, plan, routes = network
    # 10.64.9.9 is in the pool but in no segment: d1h1's default route takes it to
    # bng1, which has no route for it.
    assert forward_path(plan, routes, "d1h1", "10.64.9.9") is None


def test_link_failure_core_m1():
    graph = city_slice()
    graph.remove_edge("core", "m1")
    plan = plan_addresses(graph)
    routes = compute_routes(graph, plan)
    web6, web4 = plan.primary("web", V6), plan.primary("web", V4)
    assert forward_path(plan, routes, "d1h1", web6) is None
    assert forward_path(plan, routes, "d1h1", web4) is None
    # bng1 now reaches only its own segments, so it has no route at all.
    assert routes["bng1"] == []
    # core lost a1 (behind bng1); a2 and dc1 remain.
    assert [str(r.destination) for r in routes["core"]] == [
        str(plan.segments["a2"].ipv4), str(plan.segments["dc1"].ipv4), str(plan.segments["dc1"].ipv6)]
    # District d2 is unaffected.
    assert forward_path(plan, routes, "d2h1", web4) == ["d2h1", "bng2", "core", "idcgw", "web"]


def test_compute_routes_is_pure():
    graph = city_slice()
    plan = plan_addresses(graph)
    assert compute_routes(graph, plan) == compute_routes(graph, plan)

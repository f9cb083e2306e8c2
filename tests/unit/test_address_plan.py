"""simulator.model.address_plan on the default city slice, worked out by hand.

Segments of city_slice() are the six switch trees (no two routers are joined
directly), named by their switch and numbered in name order:
a1, a2, dc1, m1, m2, m3 -> IPv4 10.64.0.0/24 .. 10.64.5.0/24.
a2 carries IPv4 only, so it takes no /64 and the IPv6 numbering skips it:
a1 -> 2001:db8:64::/64, dc1 -> :1::/64, m1 -> :2::/64, m2 -> :3::/64, m3 -> :4::/64.
Within a segment, routers come first, then hosts, each by name, from host number 1.
"""

import ipaddress
from ipaddress import IPv4Interface, IPv4Network, IPv6Interface, IPv6Network

import networkx as nx
import pytest

from simulator.model.address_plan import (
    Interface,
    Segment,
    find_segments,
    plan_addresses,
    ports,
)
from topologies import city_slice
from topologies.errors import TopologyError
from topologies.spec import Family, LinkSpec, NodeSpec, Role


@pytest.fixture(scope="module")
def graph():
    return city_slice()


@pytest.fixture(scope="module")
def plan(graph):
    return plan_addresses(graph)


def test_pools_are_parsed(plan):
    assert plan.ipv4_pool == IPv4Network("10.64.0.0/16")
    assert plan.ipv6_pool == IPv6Network("2001:db8:64::/48")


def test_segment_subnets_in_name_order(plan):
    assert list(plan.segments) == ["a1", "a2", "dc1", "m1", "m2", "m3"]
    got = {name: (str(s.ipv4), str(s.ipv6) if s.ipv6 else None) for name, s in plan.segments.items()}
    assert got == {
        "a1": ("10.64.0.0/24", "2001:db8:64::/64"),
        "a2": ("10.64.1.0/24", None),
        "dc1": ("10.64.2.0/24", "2001:db8:64:1::/64"),
        "m1": ("10.64.3.0/24", "2001:db8:64:2::/64"),
        "m2": ("10.64.4.0/24", "2001:db8:64:3::/64"),
        "m3": ("10.64.5.0/24", "2001:db8:64:4::/64"),
    }


def test_segment_members_routers_first(plan):
    assert plan.segments["a1"] == Segment(
        "a1", ("a1",), ("bng1", "d1h1", "d1h2"),
        IPv4Network("10.64.0.0/24"), IPv6Network("2001:db8:64::/64"))
    assert plan.segments["dc1"].members == ("idcgw", "dns", "web")
    assert plan.segments["m1"].members == ("bng1", "core")
    assert plan.segments["m3"].members == ("core", "idcgw")
    assert plan.segments["m2"].network(Family.IPV6) == IPv6Network("2001:db8:64:3::/64")
    assert plan.segments["a2"].network(Family.IPV6) is None


def test_routers_get_the_lowest_addresses(plan):
    def v4(node, peer):
        return plan.interfaces[(node, peer)].ipv4

    assert v4("bng1", "a1") == IPv4Interface("10.64.0.1/24")
    assert v4("d1h1", "a1") == IPv4Interface("10.64.0.2/24")
    assert v4("d1h2", "a1") == IPv4Interface("10.64.0.3/24")
    assert v4("idcgw", "dc1") == IPv4Interface("10.64.2.1/24")
    assert v4("dns", "dc1") == IPv4Interface("10.64.2.2/24")
    assert v4("web", "dc1") == IPv4Interface("10.64.2.3/24")
    # m1: bng1 < core by name, both routers.
    assert v4("bng1", "m1") == IPv4Interface("10.64.3.1/24")
    assert v4("core", "m1") == IPv4Interface("10.64.3.2/24")
    # m3: core < idcgw.
    assert v4("core", "m3") == IPv4Interface("10.64.5.1/24")
    assert v4("idcgw", "m3") == IPv4Interface("10.64.5.2/24")


def test_every_interface(plan):
    got = {key: (i.port, str(i.ipv4), str(i.ipv6) if i.ipv6 else None, i.segment)
           for key, i in plan.interfaces.items()}
    assert got == {
        ("bng1", "a1"): (0, "10.64.0.1/24", "2001:db8:64::1/64", "a1"),
        ("bng1", "m1"): (1, "10.64.3.1/24", "2001:db8:64:2::1/64", "m1"),
        ("bng2", "a2"): (0, "10.64.1.1/24", None, "a2"),
        ("bng2", "m2"): (1, "10.64.4.1/24", "2001:db8:64:3::1/64", "m2"),
        ("core", "m1"): (0, "10.64.3.2/24", "2001:db8:64:2::2/64", "m1"),
        ("core", "m2"): (1, "10.64.4.2/24", "2001:db8:64:3::2/64", "m2"),
        ("core", "m3"): (2, "10.64.5.1/24", "2001:db8:64:4::1/64", "m3"),
        ("d1h1", "a1"): (0, "10.64.0.2/24", "2001:db8:64::2/64", "a1"),
        ("d1h2", "a1"): (0, "10.64.0.3/24", "2001:db8:64::3/64", "a1"),
        ("d2h1", "a2"): (0, "10.64.1.2/24", None, "a2"),
        ("d2h2", "a2"): (0, "10.64.1.3/24", None, "a2"),
        ("dns", "dc1"): (0, "10.64.2.2/24", "2001:db8:64:1::2/64", "dc1"),
        ("idcgw", "dc1"): (0, "10.64.2.1/24", "2001:db8:64:1::1/64", "dc1"),
        ("idcgw", "m3"): (1, "10.64.5.2/24", "2001:db8:64:4::2/64", "m3"),
        ("web", "dc1"): (0, "10.64.2.3/24", "2001:db8:64:1::3/64", "dc1"),
    }


def test_d2h1_has_no_ipv6(plan):
    assert plan.interfaces[("d2h1", "a2")] == Interface(
        node="d2h1", port=0, peer="a2", segment="a2",
        ipv4=IPv4Interface("10.64.1.2/24"), ipv6=None)
    assert plan.addresses("d2h1", Family.IPV6) == []
    assert plan.primary("d2h1", Family.IPV6) is None
    assert plan.primary("d2h1", Family.IPV4) == ipaddress.ip_address("10.64.1.2")


def test_primary_and_addresses(plan):
    assert plan.primary("web", Family.IPV6) == ipaddress.ip_address("2001:db8:64:1::3")
    # core's interfaces in port order m1, m2, m3.
    assert plan.addresses("core", Family.IPV4) == [
        IPv4Interface("10.64.3.2/24"), IPv4Interface("10.64.4.2/24"), IPv4Interface("10.64.5.1/24")]
    assert plan.primary("core", Family.IPV4) == ipaddress.ip_address("10.64.3.2")
    # bng2's first interface (a2) has no IPv6, so its primary IPv6 is on m2.
    assert plan.primary("bng2", Family.IPV6) == ipaddress.ip_address("2001:db8:64:3::1")
    assert [i.peer for i in plan.interfaces_of("idcgw")] == ["dc1", "m3"]
    # Switches have no interfaces of their own.
    assert plan.interfaces_of("a1") == []
    assert plan.primary("a1", Family.IPV4) is None


def test_on_segment(plan):
    assert plan.on_segment("a1", "10.64.0.1") == plan.interfaces[("bng1", "a1")]
    assert plan.on_segment("m3", "2001:db8:64:4::2") == plan.interfaces[("idcgw", "m3")]
    assert plan.on_segment("a1", "10.64.0.4") is None
    assert plan.on_segment("dc1", "2001:db8:64:1::4") is None


def test_all_addresses_unique(plan):
    v4 = [i.ipv4.ip for i in plan.interfaces.values() if i.ipv4]
    v6 = [i.ipv6.ip for i in plan.interfaces.values() if i.ipv6]
    # 15 interfaces (one per edge end that is not a switch), 3 of them (bng2-a2,
    # d2h1, d2h2) without IPv6.
    assert (len(v4), len(set(v4))) == (15, 15)
    assert (len(v6), len(set(v6))) == (12, 12)


def test_every_address_is_inside_its_segment(plan):
    for interface in plan.interfaces.values():
        segment = plan.segments[interface.segment]
        assert interface.ipv4.network == segment.ipv4
        if interface.ipv6 is not None:
            assert interface.ipv6.network == segment.ipv6


def test_ports(graph):
    assert ports(graph, "core") == {"m1": 0, "m2": 1, "m3": 2}
    assert ports(graph, "a1") == {"bng1": 0, "d1h1": 1, "d1h2": 2}
    assert ports(graph, "idcgw") == {"dc1": 0, "m3": 1}
    assert ports(graph, "web") == {"dc1": 0}


def test_find_segments(graph):
    found = find_segments(graph)
    assert [(name, switches) for name, switches, _ in found] == [
        ("a1", ("a1",)), ("a2", ("a2",)), ("dc1", ("dc1",)),
        ("m1", ("m1",)), ("m2", ("m2",)), ("m3", ("m3",))]
    assert found[0][2] == [("bng1", "a1"), ("d1h1", "a1"), ("d1h2", "a1")]


def test_plan_is_deterministic(graph):
    assert plan_addresses(graph) == plan_addresses(city_slice())


def test_router_to_router_link_is_its_own_segment():
    graph = nx.Graph()
    for name in ("rb", "ra"):
        graph.add_node(name, spec=NodeSpec(Role.CORE_ROUTER))
    graph.add_edge("rb", "ra", spec=LinkSpec())
    plan = plan_addresses(graph, "192.0.2.0/24", "2001:db8::/48", ipv4_prefixlen=30)
    # The segment is named after the sorted pair; /30 leaves exactly .1 and .2.
    assert list(plan.segments) == ["ra-rb"]
    assert plan.segments["ra-rb"] == Segment(
        "ra-rb", (), ("ra", "rb"), IPv4Network("192.0.2.0/30"), IPv6Network("2001:db8::/64"))
    assert plan.interfaces[("ra", "rb")].ipv4 == IPv4Interface("192.0.2.1/30")
    assert plan.interfaces[("rb", "ra")].ipv6 == IPv6Interface("2001:db8::2/64")


def test_other_pools():
    plan = plan_addresses(city_slice(), "172.16.0.0/12", "2001:db8:aa00::/40", ipv4_prefixlen=28)
    # /28 steps of 16 addresses: a1 .0/28, a2 .16/28, dc1 .32/28, m1 .48/28.
    assert plan.segments["m1"].ipv4 == IPv4Network("172.16.0.48/28")
    assert plan.interfaces[("core", "m1")].ipv4 == IPv4Interface("172.16.0.50/28")
    # IPv6: a1 ::, dc1 :1::, m1 :2:: counted in /64s from the /40.
    assert plan.segments["m1"].ipv6 == IPv6Network("2001:db8:aa00:2::/64")


def test_ipv4_pool_exhausted():
    # A /22 holds four /24s; the fifth segment (m2) finds none.
    with pytest.raises(TopologyError) as error:
        plan_addresses(city_slice(), ipv4_pool="10.64.0.0/22")
    assert str(error.value) == (
        "segment m2: IPv4 pool 10.64.0.0/22 is exhausted: it holds 4 /24 subnets and 6 segments "
        "carry IPv4; give a larger pool")


def test_ipv6_pool_exhausted():
    # A /63 holds two /64s (a1, dc1); m1 is the next segment that carries IPv6.
    # a2 carries no IPv6, so 5 of the 6 segments need a /64.
    with pytest.raises(TopologyError) as error:
        plan_addresses(city_slice(), ipv6_pool="2001:db8:64::/63")
    assert str(error.value) == (
        "segment m1: IPv6 pool 2001:db8:64::/63 is exhausted: it holds 2 /64 subnets and 5 segments "
        "carry IPv6; give a larger pool")


def test_ipv6_pool_longer_than_64():
    with pytest.raises(TopologyError) as error:
        plan_addresses(city_slice(), ipv6_pool="2001:db8:64::/80")
    assert str(error.value) == (
        "IPv6 pool 2001:db8:64::/80 is longer than /64; SLAAC needs /64 segments, give a /64 or shorter")


def test_ipv6_pool_of_exactly_64_is_too_small_for_five_segments():
    with pytest.raises(TopologyError, match=r"^segment dc1: IPv6 pool 2001:db8:64::/64 is exhausted"):
        plan_addresses(city_slice(), ipv6_pool="2001:db8:64::/64")


def test_segment_too_small():
    # A /30 has 2 usable addresses; a1 needs 3 (bng1, d1h1, d1h2).
    with pytest.raises(TopologyError) as error:
        plan_addresses(city_slice(), ipv4_prefixlen=30)
    assert str(error.value) == (
        "segment a1: 3 interfaces do not fit 10.64.0.0/30; use a shorter IPv4 segment prefix length")


@pytest.mark.parametrize("prefixlen", [15, 31, 32])
def test_segment_prefix_length_out_of_range(prefixlen):
    with pytest.raises(TopologyError) as error:
        plan_addresses(city_slice(), ipv4_prefixlen=prefixlen)
    assert str(error.value) == (
        f"IPv4 segments of /{prefixlen} do not fit pool 10.64.0.0/16; use a length between /16 and /30")


@pytest.mark.parametrize("pools", [
    ("10.64.0.300/16", "2001:db8:64::/48"),     # not an address
    ("10.64.0.1/16", "2001:db8:64::/48"),       # host bits set
    ("2001:db8::/32", "2001:db8:64::/48"),      # wrong family
    ("10.64.0.0/16", "10.0.0.0/8"),             # wrong family
    ("10.64.0.0/16", "nonsense"),
])
def test_invalid_pool_string(pools):
    with pytest.raises(TopologyError) as error:
        plan_addresses(city_slice(), *pools)
    message = str(error.value)
    assert message.startswith("address pool: ")
    assert message.endswith("; give a network address such as 10.64.0.0/16")

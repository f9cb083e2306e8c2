r"""Transition mechanisms in the city spec (bad specs, one fixture file each) and in
the address plan of the transition city, worked out by hand.

The transition city (topologies/cities/transition.yaml, seed 11): three cores in a
ring; districts d1, d2, d3 on c1, c2, c3 (round robin); the IDC i1 and the transit
router on c1; the NAT64 n64 on c2 and the AFTR aftr on c3. d1's fixed access and
d3's mobile access have carrier-grade NAT (d1bng, d3gw). IPv6-capable hosts: d1f2
(not d1f1), both d1 UEs, both d2 CPEs and UEs, d3f1, d3u2 (not d3u1).

Sites (IPv6 /40s of 2001:db8::/32 in the order metro, districts, IDCs):
    metro 2001:db8::/40, d1 2001:db8:100::/40, d2 2001:db8:200::/40,
    d3 2001:db8:300::/40, i1 2001:db8:400::/40.
The metro's segments, in natural name order (a direct link is named by its two ends
sorted, so c3's link to the AFTR is "aftr-c3" and comes first), take the /64s of
2001:db8::/48: aftr-c3 ::/64, c1-c2 :0:1::/64, c1-c3 :0:2::/64, c2-c3 :0:3::/64,
c2-n64 :0:4::/64; then each translator, by name, its endpoint: aftr 2001:db8:0:5::/64,
n64 2001:db8:0:6::/64.

Carrier-grade NAT segments: a CGN router and only CPEs or subscribers behind it:
d1o1 (d1bng; d1f1, d1f2) and d3r (d3gw; d3u1, d3u2). Three members need 5 addresses,
a /29. Both from 100.64.0.0/10 in name order: d1o1 100.64.0.0/29, d3r 100.64.0.8/29;
routers first, so d1bng .1, d1f1 .2, d1f2 .3 and d3gw .9, d3u1 .10, d3u2 .11.

Public IPv4 (11.64.0.0/16): per site the routed segments (2 members -> /30 = 4
addresses, 3 -> /29 = 8, CGN and LAN segments excluded), rounded up to a power of two:
    metro: 5 links x 4                                      = 20 -> /27
    d1:    d1agg-d1bng 4 + d1agg-d1gw 4 + d1m 4 + d1r 8     = 20 -> /27
    d2:    3 x 4 + d2o1 8 + d2r 8                           = 28 -> /27
    d3:    d3agg-d3bng 4 + d3agg-d3gw 4 + d3m 4 + d3o1 4    = 16 -> /28
    i1:    3 x 4 + i1r1 8 + i1r2 8                          = 28 -> /27
Translator pools: NAT64 and AFTR at least 8 addresses (/29); a CGN at least 2 (/31),
more only past 31 subscribers per address (2 subscribers each here).
All of them from 11.64.0.0/16, longest prefix last, ties in natural name order
("d1" < "d2" < "i1" < "metro"; "pool:aftr" < "pool:n64"; "pool:d1bng" < "pool:d3gw"):
    d1 11.64.0.0/27, d2 .32/27, i1 .64/27, metro .96/27, d3 .128/28,
    aftr .144/29, n64 .152/29, d1bng .160/31, d3gw .162/31.
Metro links from 11.64.0.96/27 in name order: aftr-c3 .96/30, c1-c2 .100/30,
c1-c3 .104/30, c2-c3 .108/30, c2-n64 .112/30.

CPE LANs take /24s of 192.168.0.0/16 in site order: d1f1 .0, d1f2 .1, d2f1 .2,
d2f2 .3, d3f1 .4. IPv6-capable CPEs get /56s from their site's second /48:
d1f2 2001:db8:101::/56, d2f1 2001:db8:201::/56, d2f2 2001:db8:201:100::/56,
d3f1 2001:db8:301::/56. DS-Lite and 464XLAT CPEs originate their whole /56 (the
softwire end and the CLAT /64 lie outside the LAN /64); d1f2 (dual-stack) does not.
"""

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from simulator.model.address_plan import plan_city_addresses
from simulator.model.routing import Route, forward_path
from topologies.city import Transition, city_graph, load_city, parse_city
from topologies.errors import ConfigError, TopologyError
from topologies.spec import AccessMode, CityPrefixes, Family, node_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSITION_CITY = REPO_ROOT / "topologies" / "cities" / "transition.yaml"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cities"

V4, V6 = Family.IPV4, Family.IPV6
MODES = "ipv4-only, dual-stack, ipv6-only, 464xlat, ds-lite"


def ip(text):
    return ipaddress.ip_address(text)


def net(text):
    return ipaddress.ip_network(text)


@pytest.fixture(scope="module")
def spec():
    return load_city(TRANSITION_CITY)


@pytest.fixture(scope="module")
def graph(spec):
    return city_graph(spec)


# --- the spec -----------------------------------------------------------------------------------


def test_transition_spec(spec, graph):
    assert spec.transition == Transition(nat64="c2", aftr="c3")
    assert [(d.id, d.core, d.fixed.mode, d.fixed.cgn, d.mobile.mode, d.mobile.cgn) for d in spec.districts] == [
        ("d1", "c1", AccessMode.DUAL_STACK, True, AccessMode.IPV6_ONLY, False),
        ("d2", "c2", AccessMode.DS_LITE, False, AccessMode.XLAT464, False),
        ("d3", "c3", AccessMode.XLAT464, False, AccessMode.DUAL_STACK, True),
    ]
    assert sorted(graph.neighbors("n64")) == ["c2"] and sorted(graph.neighbors("aftr")) == ["c3"]


def test_host_modes_follow_the_seed(graph):
    # Hosts that cannot do IPv6 stay IPv4-only whatever their access network's mode.
    modes = {n: node_spec(graph, n).mode.value for n in graph if node_spec(graph, n).mode is not None}
    assert modes == {
        "d1f1": "ipv4-only", "d1f1h1": "ipv4-only", "d1f2": "dual-stack", "d1f2h1": "dual-stack",
        "d1u1": "ipv6-only", "d1u2": "ipv6-only",
        "d2f1": "ds-lite", "d2f1h1": "ds-lite", "d2f2": "ds-lite", "d2f2h1": "ds-lite",
        "d2u1": "464xlat", "d2u2": "464xlat",
        "d3f1": "464xlat", "d3f1h1": "464xlat", "d3u1": "ipv4-only", "d3u2": "dual-stack"}
    assert {n for n in graph if node_spec(graph, n).cgn} == {"d1bng", "d3gw"}


def test_translator_node_names_clash_with_a_district():
    # District 'aft' with mobile access would have a radio switch 'aftr', the AFTR's name.
    with pytest.raises(ConfigError) as error:
        parse_city({"name": "clash", "transition": {"aftr": {"core": "c1"}},
                    "districts": [{"id": "aft", "mobile": {"subscribers": 10, "emulated_hosts": 1}}],
                    "services": [{"name": "www"}]}, "city.yaml")
    assert error.value.problems == [
        "city.yaml: districts[0] (id 'aft'): node name 'aftr' is also a node of the translators; choose another id"]


def test_a_translator_without_a_core_goes_on_the_first():
    spec = parse_city({"name": "t", "transition": {"nat64": None},
                       "districts": [{"id": "d1", "mobile": {"subscribers": 10, "emulated_hosts": 1,
                                                             "mode": "ipv6-only"}}],
                       "services": [{"name": "www"}]}, "city.yaml")
    assert spec.transition == Transition(nat64="c1", aftr=None)


# --- bad specs, one fixture file each --------------------------------------------------------------


def fixture_problems(name):
    path = FIXTURES / name
    with pytest.raises(ConfigError) as error:
        load_city(path)
    return path, error.value.problems


@pytest.mark.parametrize("name, expected", [
    ("ds-lite-without-aftr.yaml", [
        "districts[0].fixed.mode: ds-lite needs a DS-Lite AFTR, and the city has none; "
        "add 'transition: {aftr: {core: c1}}'"]),
    ("ipv6-only-without-nat64.yaml", [
        "districts[0].mobile.mode: ipv6-only needs a NAT64, and the city has none; "
        "add 'transition: {nat64: {core: c1}}'",
        "districts[1].fixed.mode: 464xlat needs a NAT64, and the city has none; "
        "add 'transition: {nat64: {core: c1}}'"]),
    ("ds-lite-mobile.yaml", [
        "districts[0].mobile.mode: ds-lite is a fixed broadband mechanism (the B4 is the CPE, RFC 6333); "
        "IPv6-only mobile access uses 464xlat"]),
    ("unknown-mode.yaml", [
        "districts[0].fixed.mode: unknown mode 'dual-stak' (did you mean 'dual-stack'?)"]),
    ("unbuilt-6rd.yaml", [
        f"districts[0].fixed.mode: 6rd is not built by v6lab (RFC 5969, needs sit tunnels); available modes: "
        f"{MODES}. 'v6lab doctor' shows what this host lacks"]),
    ("unbuilt-map-t.yaml", [
        "districts[0].mobile.mode: map-t is not built by v6lab (RFC 7599, needs a MAP-T translator such as "
        f"Jool's kernel module); available modes: {MODES}. 'v6lab doctor' shows what this host lacks"]),
    ("nat64-prefix-length.yaml", [
        "prefixes.nat64: 64:ff9b::/80: RFC 6052 allows prefix lengths /32, /40, /48, /56, /64, /96 only, "
        "not /80"]),
    ("unknown-translator-core.yaml", [
        "transition.nat64.core: no core router 'c9'; the metro has c1, c2, c3"]),
    ("transition-problems.yaml", [
        "prefixes.nat64: 64:ff9b:0:0:ff00::/96: bits 64 to 71 (the u octet) must be zero (RFC 6052 section 2.2)",
        "transition.nat46: unknown key (did you mean 'nat64'?)",
        "transition.aftr.cor: unknown key (did you mean 'core'?)",
        "districts[0].fixed.mode: 464xlat needs a NAT64, and the city has none; "
        "add 'transition: {nat64: {core: c1}}'"]),
])
def test_bad_transition_spec(name, expected):
    path, problems = fixture_problems(name)
    assert problems == [f"{path}: {line}" for line in expected]


# --- the plan: pools, endpoints, shared space -------------------------------------------------------------


def test_site_blocks_and_pools(plan):
    assert plan.pools == {"aftr": net("11.64.0.144/29"), "n64": net("11.64.0.152/29"),
                          "d1bng": net("11.64.0.160/31"), "d3gw": net("11.64.0.162/31")}
    blocks = {"d1": net("11.64.0.0/27"), "d2": net("11.64.0.32/27"), "i1": net("11.64.0.64/27"),
              "metro": net("11.64.0.96/27"), "d3": net("11.64.0.128/28")}
    for name, segment in plan.segments.items():
        if segment.ipv4 is not None and segment.ipv4.subnet_of(net("11.64.0.0/16")):
            assert segment.ipv4.subnet_of(blocks[segment.site]), name
    # No pool overlaps a site block or another pool.
    taken = list(blocks.values()) + list(plan.pools.values())
    assert not any(a.overlaps(b) for i, a in enumerate(taken) for b in taken[i + 1:])


def test_metro_links(plan):
    got = {n: (str(s.ipv4), str(s.ipv6), s.members) for n, s in plan.segments.items() if s.site == "metro"}
    assert got == {
        "aftr-c3": ("11.64.0.96/30", "2001:db8::/64", ("aftr", "c3")),
        "c1-c2": ("11.64.0.100/30", "2001:db8:0:1::/64", ("c1", "c2")),
        "c1-c3": ("11.64.0.104/30", "2001:db8:0:2::/64", ("c1", "c3")),
        "c2-c3": ("11.64.0.108/30", "2001:db8:0:3::/64", ("c2", "c3")),
        "c2-n64": ("11.64.0.112/30", "2001:db8:0:4::/64", ("c2", "n64")),
    }
    assert plan.primary("n64", V6) == ip("2001:db8:0:4::2") and plan.primary("n64", V4) == ip("11.64.0.114")
    assert plan.primary("aftr", V6) == ip("2001:db8::1") and plan.primary("aftr", V4) == ip("11.64.0.97")


def test_endpoints_follow_the_metro_links(plan):
    assert plan.endpoints == {"aftr": net("2001:db8:0:5::/64"), "n64": net("2001:db8:0:6::/64")}
    assert all(e.subnet_of(net("2001:db8::/48")) for e in plan.endpoints.values())
    # Endpoints are no segment: nothing else is numbered in them.
    assert not any(s.ipv6 in plan.endpoints.values() for s in plan.segments.values())


def test_cgn_segments_in_shared_space(plan):
    shared = net("100.64.0.0/10")
    got = {n: (str(s.ipv4), s.nat_gateway, s.members) for n, s in plan.segments.items()
           if s.ipv4 is not None and s.ipv4.subnet_of(shared)}
    assert got == {"d1o1": ("100.64.0.0/29", "d1bng", ("d1bng", "d1f1", "d1f2")),
                   "d3r": ("100.64.0.8/29", "d3gw", ("d3gw", "d3u1", "d3u2"))}
    addresses = {key: str(i.ipv4) for key, i in plan.interfaces.items() if i.segment in got and i.ipv4}
    assert addresses == {("d1bng", "d1o1"): "100.64.0.1/29", ("d1f1", "d1o1"): "100.64.0.2/29",
                         ("d1f2", "d1o1"): "100.64.0.3/29", ("d3gw", "d3r"): "100.64.0.9/29",
                         ("d3u1", "d3r"): "100.64.0.10/29", ("d3u2", "d3r"): "100.64.0.11/29"}
    # Shared space is not routed; the segments' IPv6 is (from the district's links).
    for name in got:
        assert not plan.segments[name].routed(V4) and plan.segments[name].routed(V6)
    assert plan.segments["d1o1"].ipv6 == net("2001:db8:100:3::/64")
    assert plan.segments["d3r"].ipv6 == net("2001:db8:300:4::/64")


def test_ds_lite_and_464xlat_wans_are_ipv6_only(plan):
    # The access segment d2o1 still has public IPv4 for its BNG; the CPEs have none on it.
    assert plan.segments["d2o1"].ipv4 == net("11.64.0.32/29")
    wan = [plan.interfaces[(node, "d2o1")] for node in ("d2bng", "d2f1", "d2f2")]
    assert [str(i.ipv4) if i.ipv4 else None for i in wan] == ["11.64.0.33/29", None, None]
    assert [str(i.ipv6) for i in wan] == ["2001:db8:200:3::1/64", "2001:db8:200:3::2/64", "2001:db8:200:3::3/64"]
    assert plan.interfaces[("d3f1", "d3o1")].ipv4 is None
    # ... and their LANs have IPv4 (carried by the softwire or the CLAT).
    assert plan.segments["d2f1-d2f1h1"].ipv4 == net("192.168.2.0/24")
    assert plan.segments["d2f2-d2f2h1"].ipv4 == net("192.168.3.0/24")
    assert plan.segments["d3f1-d3f1h1"].ipv4 == net("192.168.4.0/24")


def test_delegated_and_originated(plan):
    assert plan.delegated == {"d1f2": net("2001:db8:101::/56"), "d2f1": net("2001:db8:201::/56"),
                              "d2f2": net("2001:db8:201:100::/56"), "d3f1": net("2001:db8:301::/56")}
    assert plan.nat64_prefix == net("64:ff9b::/96")
    assert plan.originated == {
        "aftr": (net("11.64.0.144/29"), net("2001:db8:0:5::/64")),
        "n64": (net("11.64.0.152/29"), net("2001:db8:0:6::/64"), net("64:ff9b::/96")),
        "d1bng": (net("11.64.0.160/31"),),
        "d3gw": (net("11.64.0.162/31"),),
        "d2f1": (net("2001:db8:201::/56"),),
        "d2f2": (net("2001:db8:201:100::/56"),),
        "d3f1": (net("2001:db8:301::/56"),),
    }


@pytest.mark.parametrize("address, node", [
    ("64:ff9b::bc8:3", "n64"),          # shop's 11.200.0.3 under the NAT64 prefix
    ("11.64.0.159", "n64"),
    ("2001:db8:0:6::1", "n64"),
    ("2001:db8:0:5::1", "aftr"),
    ("11.64.0.161", "d1bng"),
    ("11.64.0.163", "d3gw"),
    ("2001:db8:201:1::1", "d2f1"),
    ("2001:db8:301:2::7", "d3f1"),
    ("2001:db8:101::1", None),          # d1f2's /56 is delegated, not originated
    ("11.200.0.3", None),
])
def test_originator(plan, address, node):
    assert plan.originator(address) == node


def test_softwire_endpoints(plan):
    # AFTR: first address of its endpoint /64. B4: first address of the second /64 of its /56.
    assert plan.softwire_endpoint("aftr") == ip("2001:db8:0:5::1")
    assert plan.softwire_endpoint("d2f1") == ip("2001:db8:201:1::1")
    assert plan.softwire_endpoint("d2f2") == ip("2001:db8:201:101::1")
    # Never inside the LAN /64, which is the first of the /56.
    assert plan.softwire_endpoint("d2f1") not in plan.segments["d2f1-d2f1h1"].ipv6


def test_clat_prefix(plan):
    # The first /120 of the third /64 of the CPE's /56.
    assert plan.clat_prefix("d3f1") == net("2001:db8:301:2::/120")
    assert plan.clat_prefix("d2f2") == net("2001:db8:201:102::/120")
    assert plan.clat_prefix("d3f1").num_addresses == net("192.168.4.0/24").num_addresses == 256


# --- routes towards what the translators originate ---------------------------------------------------------


def test_c1_routes_to_the_translators(routes):
    by_destination = {r.destination: r for r in routes["c1"] if r.destination is not None}
    # n64 is two hops away through c2 (c2 is 2001:db8:0:1::2 / 11.64.0.102 on c1-c2);
    # aftr through c3 (2001:db8:0:2::2 / 11.64.0.106 on c1-c3).
    assert by_destination[net("64:ff9b::/96")] == Route(V6, net("64:ff9b::/96"), ip("2001:db8:0:1::2"))
    assert by_destination[net("11.64.0.152/29")].via == ip("11.64.0.102")
    assert by_destination[net("2001:db8:0:6::/64")].via == ip("2001:db8:0:1::2")
    assert by_destination[net("2001:db8:0:5::/64")].via == ip("2001:db8:0:2::2")
    assert by_destination[net("11.64.0.144/29")].via == ip("11.64.0.106")
    # The BNG's pool through d1agg (11.64.0.18 on d1m); the B4s' /56s through c2.
    assert by_destination[net("11.64.0.160/31")].via == ip("11.64.0.18")
    assert by_destination[net("2001:db8:201::/56")].via == ip("2001:db8:0:1::2")
    assert by_destination[net("2001:db8:201:100::/56")].via == ip("2001:db8:0:1::2")
    # Shared space and CPE LANs are never routed.
    assert not any(r.destination.overlaps(net("100.64.0.0/10")) or r.destination.overlaps(net("192.168.0.0/16"))
                   for r in routes["c1"] if r.family is V4 and r.destination is not None)


def test_a_translator_has_no_route_to_what_it_originates(routes):
    destinations = {r.destination for r in routes["n64"]}
    assert net("64:ff9b::/96") not in destinations and net("11.64.0.152/29") not in destinations
    assert net("2001:db8:0:5::/64") in destinations


def test_an_ipv6_only_ue_reaches_the_nat64_prefix(plan, routes):
    # d1u1's default route (from d1gw's advertisements), then the NAT64 prefix towards n64.
    assert forward_path(plan, routes, "d1u1", "64:ff9b::bc8:3") == ["d1u1", "d1gw", "d1agg", "c1", "c2", "n64"]
    # The DNS64 these UEs ask sits on the same node.
    assert forward_path(plan, routes, "d1u1", "2001:db8:0:4::2") == ["d1u1", "d1gw", "d1agg", "c1", "c2", "n64"]


def test_a_b4_reaches_the_aftr_and_back(plan, routes):
    assert forward_path(plan, routes, "d2f1", "2001:db8:0:5::1") == ["d2f1", "d2bng", "d2agg", "c2", "c3", "aftr"]
    assert forward_path(plan, routes, "aftr", "2001:db8:201:1::1") == ["aftr", "c3", "c2", "d2agg", "d2bng", "d2f1"]


# --- the plan with other prefixes -----------------------------------------------------------------------


def test_network_specific_nat64_prefix(spec):
    graph = city_graph(dataclasses.replace(spec, prefixes=CityPrefixes(nat64="2001:db9:64::/96")))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    assert plan.nat64_prefix == net("2001:db9:64::/96")
    assert plan.originated["n64"][-1] == net("2001:db9:64::/96")
    assert plan.originator("2001:db9:64::bc8:3") == "n64" and plan.originator("64:ff9b::bc8:3") is None


def test_nat64_prefix_inside_a_site_is_refused(spec):
    graph = city_graph(dataclasses.replace(spec, prefixes=CityPrefixes(nat64="2001:db8:64::/96")))
    with pytest.raises(TopologyError) as error:
        plan_city_addresses(graph, graph.graph["prefixes"])
    assert str(error.value) == (
        "prefixes.nat64: 2001:db8:64::/96 overlaps 2001:db8::/40, which the plan gives to a site; "
        "use 64:ff9b::/96 or a network-specific prefix outside the sites")


def test_public_address_behind_a_cgn_is_the_port_blocks_address(plan):
    # d1o1 is 100.64.0.0/29: d1bng .1, then the CPEs d1f1 .2 and d1f2 .3, blocks 0
    # and 1 of d1bng's pool 11.64.0.160/31, both on its first address (31 per address).
    # d1f1h1 sits behind d1f1's own NAT44 first (NAT444).
    assert plan.translated_by("d1bng") == [ip("100.64.0.2"), ip("100.64.0.3")]
    assert plan.public_address("d1f1h1", Family.IPV4) == ip("11.64.0.160")
    assert plan.public_address("d1f2", Family.IPV4) == ip("11.64.0.160")
    # d3r is 100.64.0.8/29: d3gw .9, d3u1 .10, d3u2 .11; pool 11.64.0.162/31.
    assert plan.translated_by("d3gw") == [ip("100.64.0.10"), ip("100.64.0.11")]
    assert plan.public_address("d3u1", Family.IPV4) == ip("11.64.0.162")


def test_well_known_prefix_refuses_non_global_ipv4(graph):
    # RFC 6052 section 3.1: 64:ff9b::/96 must not stand for non-global IPv4
    # addresses; TAYGA drops them. Documentation space (RFC 5737) is not global.
    with pytest.raises(TopologyError, match=r"prefixes.ipv4_outside: 198.51.100.0/24 is not global IPv4 space"):
        plan_city_addresses(graph, dataclasses.replace(graph.graph["prefixes"], ipv4_outside="198.51.100.0/24"))
    with pytest.raises(TopologyError, match=r"prefixes.ipv4_public: 10.64.0.0/16 is not global .* network-specific"):
        plan_city_addresses(graph, dataclasses.replace(graph.graph["prefixes"], ipv4_public="10.64.0.0/16"))
    # A network-specific prefix may carry them.
    plan = plan_city_addresses(graph, dataclasses.replace(graph.graph["prefixes"], ipv4_public="10.64.0.0/16",
                                                          nat64="2001:db8:ff64::/64"))
    assert plan.pools["n64"].subnet_of(ipaddress.ip_network("10.64.0.0/16"))


def test_access_lans_are_told_of_the_dns64_where_subscribers_need_it(graph, plan):
    # IPv6-only and 464XLAT LANs (d1r, d2r, d3f1's LAN) get the DNS64; dual-stack
    # and DS-Lite LANs the plain resolver; d1f1 (IPv4-only CPE) advertises nothing.
    # The DNS64 is n64's address on its link to c2; the city's DNS is ns.city.test's.
    from simulator.network.daemons.radvd import advertisers
    dns64, dns = "2001:db8:0:4::2", "2001:db8:400:3::2"
    got = {(r.node, interface): servers for r in advertisers(graph, plan, lambda node, peer: peer, "city.test")
           for interface, _, servers in r.links}
    assert got == {
        ("d1f2", "d1f2h1"): [dns], ("d1gw", "d1r"): [dns64],
        ("d2f1", "d2f1h1"): [dns], ("d2f2", "d2f2h1"): [dns],
        ("d2gw", "d2r"): [dns64], ("d3f1", "d3f1h1"): [dns64],
        ("d3gw", "d3r"): [dns]}
    assert {r.search for r in advertisers(graph, plan, lambda node, peer: peer, "city.test")} == {"city.test"}

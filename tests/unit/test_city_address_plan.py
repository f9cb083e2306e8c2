r"""simulator.model.address_plan.plan_city_addresses on a small city, worked out by hand.

The small city (SMALL below, seed 1):

    c1 ---- c2                    two core routers, one link (c1-c2)
    |  \      \
    |   d1m    i1s1 - i1l1 - i1r1 - i1v1 (ns, dual-stack), i1v2 (www, dual-stack)
    xm   |
    |   d1agg -- d1bng -- d1o1 -- d1f1 (dual-stack CPE) -- d1f1h1
   tr1      \                 \-- d1f2 (IPv4-only CPE) -- d1f2h1
    |        d1gw -- d1r -- d1u1, d1u2 (dual-stack UEs)
    xs -- x1 (video, dual-stack)

District d1 hangs off c1 (cores[0 % 2]), IDC i1 off c2 (cores[-1 - 0 % 2]), the
transit router tr1 off c1 (transit_core). With ipv6_capable 0.5 and seed 1,
rng.sample picks CPE 1, so d1f1 is dual-stack and d1f2 IPv4-only.

Segments (find_segments: switch trees named by their least switch, then direct
router-router / router-host links named "a-b"), and their sites (_site_of: the
least district of their nodes, "outside" if any node is outside, else "metro"):

    c1-c2 metro | c2-i1s1, i1l1-i1s1, i1r1: i1 | xm, xs: outside
    d1agg-d1bng, d1agg-d1gw, d1f1-d1f1h1, d1f2-d1f2h1, d1m, d1o1, d1r: d1

IPv6 sites, in the order metro, districts, IDCs (/40s of 2001:db8::/32):
    metro 2001:db8::/40, d1 2001:db8:100::/40, i1 2001:db8:200::/40;
    outside: the first /40 of 3fff::/20 = 3fff::/40.
Each site's links take /64s of its first /48, in natural name order; CPEs take
/56s from the site's second /48 on (d1: 2001:db8:101::/48).

Public IPv4 (11.64.0.0/16; outside 11.200.0.0/16), per segment the smallest
prefix with room for members + 2 (network, broadcast), at most /30:
    2 members: 4 addresses -> /30; 3 members: 5 -> 8 -> /29.
Per site the sum rounded up to a power of two:
    metro: c1-c2 4                                   = 4  -> /30
    d1:    d1agg-d1bng 4 + d1agg-d1gw 4 + d1m 4
           + d1o1 8 + d1r 8                          = 28 -> 32 -> /27
    i1:    c2-i1s1 4 + i1l1-i1s1 4 + i1r1 8          = 16 -> /28
    outside: xm 4 + xs 4                             = 8  -> /29
Sites from 11.64.0.0/16 largest first, aligned:
    d1 11.64.0.0/27, i1 11.64.0.32/28, metro 11.64.0.48/30; outside 11.200.0.0/29.
Inside a site the same way, largest first, then natural name order:
    d1: d1o1 .0/29, d1r .8/29, d1agg-d1bng .16/30, d1agg-d1gw .20/30, d1m .24/30
    i1: i1r1 .32/29, c2-i1s1 .40/30, i1l1-i1s1 .44/30
    outside: xm 11.200.0.0/30, xs 11.200.0.4/30
CPE LANs take /24s of 192.168.0.0/16 in name order: d1f1 192.168.0.0/24,
d1f2 192.168.1.0/24. Routers are numbered first in every segment.

Hosts on an access LAN (one router, the rest subscribers: d1r and d1f1's LAN) take
their IPv6 address by SLAAC: modified EUI-64 (RFC 4291 appendix A) of a fixed MAC,
02 followed by the first 5 bytes of sha256("<node>><peer>"); EUI-64 flips the
universal/local bit (02 -> 00) and puts ff:fe in the middle:
    d1u1>d1r     02:84:e1:30:93:76 -> 2001:db8:100:4:84:e1ff:fe30:9376
    d1u2>d1r     02:00:5a:fa:8a:47 -> 2001:db8:100:4:0:5aff:fefa:8a47
    d1f1h1>d1f1  02:39:fc:77:b6:b9 -> 2001:db8:101:0:39:fcff:fe77:b6b9
"""

import dataclasses
import hashlib
import ipaddress
import itertools
from pathlib import Path

import pytest

from simulator.measurements import connectivity
from simulator.model.address_plan import (
    AddressPlan,
    Segment,
    plan_addresses,
    plan_city_addresses,
)
from simulator.model.city_model import CityModel
from simulator.model.preparation import address_plan
from simulator.model.routing import Route, compute_routes, forward_path
from simulator.model.scenario import Addressing, Scenario
from topologies.city import city_graph, load_city, parse_city
from topologies.errors import ConfigError, TopologyError
from topologies.spec import (
    DUAL_STACK,
    IPV4_ONLY,
    CityPrefixes,
    Family,
    Kind,
    Role,
    node_spec,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CITY = REPO_ROOT / "topologies" / "cities" / "default.yaml"

V4, V6 = Family.IPV4, Family.IPV6
LAN = ipaddress.ip_network("192.168.0.0/16")

SMALL = {
    "name": "tiny",
    "metro": {"core_routers": 2},
    "districts": [{
        "id": "d1",
        "fixed": {"subscribers": 20, "emulated_hosts": 2, "ipv6_capable": 0.5, "olts": 1},
        "mobile": {"subscribers": 40, "emulated_hosts": 2, "ipv6_capable": 1.0},
    }],
    "idcs": [{"id": "i1", "spines": 1, "leaves": 1, "servers_per_leaf": 2}],
    "services": [
        {"name": "ns", "at": "i1", "kind": "dns"},
        {"name": "www", "at": "i1"},
        {"name": "video", "at": "outside"},
    ],
}


def small(**prefixes):
    data = dict(SMALL)
    if prefixes:
        data["prefixes"] = prefixes
    return data


def ip(text):
    return ipaddress.ip_address(text)


def net(text):
    return ipaddress.ip_network(text)


@pytest.fixture(scope="module")
def graph():
    return city_graph(parse_city(small(), "tiny.yaml"))


def plan_with(graph, **changes):
    return plan_city_addresses(graph, dataclasses.replace(graph.graph["prefixes"], **changes))


def plan_error(graph, **changes):
    with pytest.raises(TopologyError) as error:
        plan_with(graph, **changes)
    return str(error.value)


def problems_of(data):
    with pytest.raises(ConfigError) as error:
        parse_city(data, "city.yaml")
    return error.value.problems


# --- the small city, by hand ------------------------------------------------------


def test_small_city_is_what_the_comments_say(graph):
    assert graph.graph["prefixes"] == CityPrefixes()   # no prefixes section: the defaults
    assert node_spec(graph, "d1f1").families == DUAL_STACK
    assert node_spec(graph, "d1f1h1").families == DUAL_STACK
    assert node_spec(graph, "d1f2").families == IPV4_ONLY
    assert node_spec(graph, "d1f2h1").families == IPV4_ONLY
    assert {n: node_spec(graph, n).families for n in ("d1u1", "d1u2", "i1v1", "i1v2", "x1")} == dict.fromkeys(
        ("d1u1", "d1u2", "i1v1", "i1v2", "x1"), DUAL_STACK)
    assert sorted(graph.neighbors("d1f1")) == ["d1f1h1", "d1o1"]   # one LAN host plugs in directly
    assert sorted(graph.neighbors("c1")) == ["c2", "d1m", "xm"]
    assert sorted(graph.neighbors("c2")) == ["c1", "i1s1"]


def slaac(prefix, node, peer):
    """The SLAAC address of ``node``'s interface towards ``peer``, worked out independently."""
    mac = bytes([0x02]) + hashlib.sha256(f"{node}>{peer}".encode()).digest()[:5]
    eui64 = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:]
    return ipaddress.IPv6Address(int(net(prefix).network_address) | int.from_bytes(eui64, "big"))


U1, U2, H1 = "2001:db8:100:4:84:e1ff:fe30:9376", "2001:db8:100:4:0:5aff:fefa:8a47", "2001:db8:101:0:39:fcff:fe77:b6b9"


def test_slaac_addresses_by_the_rfc():
    assert slaac("2001:db8:100:4::/64", "d1u1", "d1r") == ip(U1)
    assert slaac("2001:db8:100:4::/64", "d1u2", "d1r") == ip(U2)
    assert slaac("2001:db8:101::/64", "d1f1h1", "d1f1") == ip(H1)


# name: (site, IPv4 network, IPv6 /64, nat_gateway, members: routers first)
SEGMENTS = {
    "c1-c2": ("metro", "11.64.0.48/30", "2001:db8::/64", None, ("c1", "c2")),
    "c2-i1s1": ("i1", "11.64.0.40/30", "2001:db8:200::/64", None, ("c2", "i1s1")),
    "i1l1-i1s1": ("i1", "11.64.0.44/30", "2001:db8:200:1::/64", None, ("i1l1", "i1s1")),
    "i1r1": ("i1", "11.64.0.32/29", "2001:db8:200:2::/64", None, ("i1l1", "i1v1", "i1v2")),
    "d1agg-d1bng": ("d1", "11.64.0.16/30", "2001:db8:100::/64", None, ("d1agg", "d1bng")),
    "d1agg-d1gw": ("d1", "11.64.0.20/30", "2001:db8:100:1::/64", None, ("d1agg", "d1gw")),
    # the LANs: a /64 of the CPE's delegated /56, or nothing for an IPv4-only CPE
    "d1f1-d1f1h1": ("d1", "192.168.0.0/24", "2001:db8:101::/64", "d1f1", ("d1f1", "d1f1h1")),
    "d1f2-d1f2h1": ("d1", "192.168.1.0/24", None, "d1f2", ("d1f2", "d1f2h1")),
    "d1m": ("d1", "11.64.0.24/30", "2001:db8:100:2::/64", None, ("c1", "d1agg")),
    "d1o1": ("d1", "11.64.0.0/29", "2001:db8:100:3::/64", None, ("d1bng", "d1f1", "d1f2")),
    "d1r": ("d1", "11.64.0.8/29", "2001:db8:100:4::/64", None, ("d1gw", "d1u1", "d1u2")),
    "xm": ("outside", "11.200.0.0/30", "3fff::/64", None, ("c1", "tr1")),
    "xs": ("outside", "11.200.0.4/30", "3fff:0:0:1::/64", None, ("tr1", "x1")),
}


def test_every_segment(plan):
    got = {name: (s.site, str(s.ipv4) if s.ipv4 else None, str(s.ipv6) if s.ipv6 else None, s.nat_gateway,
                  s.members) for name, s in plan.segments.items()}
    assert got == SEGMENTS


def test_segment_switches(plan):
    assert {n: s.switches for n, s in plan.segments.items() if s.switches} == {
        "i1r1": ("i1r1",), "d1m": ("d1m",), "d1o1": ("d1o1",), "d1r": ("d1r",), "xm": ("xm",), "xs": ("xs",)}


def test_public_ipv4_block_sizes(plan):
    # Per segment: 2 members + 2 = 4 -> /30; 3 members + 2 = 5 -> 8 -> /29.
    lengths = {n: s.ipv4.prefixlen for n, s in plan.segments.items() if s.nat_gateway is None}
    assert lengths == {"c1-c2": 30, "c2-i1s1": 30, "i1l1-i1s1": 30, "i1r1": 29, "d1agg-d1bng": 30,
                       "d1agg-d1gw": 30, "d1m": 30, "d1o1": 29, "d1r": 29, "xm": 30, "xs": 30}
    # Per site: the smallest block holding all its segments, aligned, largest site first.
    blocks = {"d1": net("11.64.0.0/27"), "i1": net("11.64.0.32/28"), "metro": net("11.64.0.48/30"),
              "outside": net("11.200.0.0/29")}
    for name, segment in plan.segments.items():
        if segment.nat_gateway is None:
            assert segment.ipv4.subnet_of(blocks[segment.site]), name
    # d1 uses 28 of its 32 addresses; the last /30 of its /27 stays free.
    d1 = [s.ipv4 for s in plan.segments.values() if s.site == "d1" and s.nat_gateway is None]
    assert sum(n.num_addresses for n in d1) == 28
    assert not any(n.overlaps(net("11.64.0.28/30")) for n in d1)


def test_site_ipv6_prefixes(plan):
    # metro, then the districts, then the IDCs: /40s 0, 1, 2 of 2001:db8::/32; outside: 3fff::/40.
    sites = {"metro": net("2001:db8::/40"), "d1": net("2001:db8:100::/40"), "i1": net("2001:db8:200::/40"),
             "outside": net("3fff::/40")}
    for name, segment in plan.segments.items():
        if segment.ipv6 is not None:
            assert segment.ipv6.subnet_of(sites[segment.site]), name
    # links: the first /48 of the site; CPE LANs: the site's later /48s
    for name, segment in plan.segments.items():
        if segment.ipv6 is not None and segment.nat_gateway is None:
            infra = next(sites[segment.site].subnets(new_prefix=48))
            assert segment.ipv6.subnet_of(infra), name


# (node, peer): (port, segment, IPv4, IPv6); port = index of the peer in the node's sorted neighbours
INTERFACES = {
    ("c1", "c2"): (0, "c1-c2", "11.64.0.49/30", "2001:db8::1/64"),
    ("c1", "d1m"): (1, "d1m", "11.64.0.25/30", "2001:db8:100:2::1/64"),
    ("c1", "xm"): (2, "xm", "11.200.0.1/30", "3fff::1/64"),
    ("c2", "c1"): (0, "c1-c2", "11.64.0.50/30", "2001:db8::2/64"),
    ("c2", "i1s1"): (1, "c2-i1s1", "11.64.0.41/30", "2001:db8:200::1/64"),
    ("d1agg", "d1bng"): (0, "d1agg-d1bng", "11.64.0.17/30", "2001:db8:100::1/64"),
    ("d1agg", "d1gw"): (1, "d1agg-d1gw", "11.64.0.21/30", "2001:db8:100:1::1/64"),
    ("d1agg", "d1m"): (2, "d1m", "11.64.0.26/30", "2001:db8:100:2::2/64"),
    ("d1bng", "d1agg"): (0, "d1agg-d1bng", "11.64.0.18/30", "2001:db8:100::2/64"),
    ("d1bng", "d1o1"): (1, "d1o1", "11.64.0.1/29", "2001:db8:100:3::1/64"),
    ("d1f1", "d1f1h1"): (0, "d1f1-d1f1h1", "192.168.0.1/24", "2001:db8:101::1/64"),
    ("d1f1", "d1o1"): (1, "d1o1", "11.64.0.2/29", "2001:db8:100:3::2/64"),
    ("d1f1h1", "d1f1"): (0, "d1f1-d1f1h1", "192.168.0.2/24", f"{H1}/64"),
    ("d1f2", "d1f2h1"): (0, "d1f2-d1f2h1", "192.168.1.1/24", None),
    # d1f2 is the third member of d1o1 (.3), IPv4 only: ::3 stays unused
    ("d1f2", "d1o1"): (1, "d1o1", "11.64.0.3/29", None),
    ("d1f2h1", "d1f2"): (0, "d1f2-d1f2h1", "192.168.1.2/24", None),
    ("d1gw", "d1agg"): (0, "d1agg-d1gw", "11.64.0.22/30", "2001:db8:100:1::2/64"),
    ("d1gw", "d1r"): (1, "d1r", "11.64.0.9/29", "2001:db8:100:4::1/64"),
    ("d1u1", "d1r"): (0, "d1r", "11.64.0.10/29", f"{U1}/64"),   # SLAAC hosts: EUI-64, not ::2 and ::3
    ("d1u2", "d1r"): (0, "d1r", "11.64.0.11/29", f"{U2}/64"),
    ("i1l1", "i1r1"): (0, "i1r1", "11.64.0.33/29", "2001:db8:200:2::1/64"),
    ("i1l1", "i1s1"): (1, "i1l1-i1s1", "11.64.0.45/30", "2001:db8:200:1::1/64"),
    ("i1s1", "c2"): (0, "c2-i1s1", "11.64.0.42/30", "2001:db8:200::2/64"),
    ("i1s1", "i1l1"): (1, "i1l1-i1s1", "11.64.0.46/30", "2001:db8:200:1::2/64"),
    ("i1v1", "i1r1"): (0, "i1r1", "11.64.0.34/29", "2001:db8:200:2::2/64"),
    ("i1v2", "i1r1"): (0, "i1r1", "11.64.0.35/29", "2001:db8:200:2::3/64"),
    ("tr1", "xm"): (0, "xm", "11.200.0.2/30", "3fff::2/64"),
    ("tr1", "xs"): (1, "xs", "11.200.0.5/30", "3fff:0:0:1::1/64"),
    ("x1", "xs"): (0, "xs", "11.200.0.6/30", "3fff:0:0:1::2/64"),
}


def test_every_interface(plan):
    got = {key: (i.port, i.segment, str(i.ipv4) if i.ipv4 else None, str(i.ipv6) if i.ipv6 else None)
           for key, i in plan.interfaces.items()}
    assert got == INTERFACES
    assert all(i.node == key[0] and i.peer == key[1] for key, i in plan.interfaces.items())


def test_access_lans_are_numbered_by_slaac(plan):
    # one router and only subscribers with IPv6: the router advertises, the hosts autoconfigure
    assert {n: s.advertiser for n, s in plan.segments.items() if s.advertiser} == {
        "d1r": "d1gw", "d1f1-d1f1h1": "d1f1"}
    assert sorted(k for k, i in plan.interfaces.items() if i.slaac) == [
        ("d1f1h1", "d1f1"), ("d1u1", "d1r"), ("d1u2", "d1r")]
    assert plan.interfaces[("d1u1", "d1r")].mac == "02:84:e1:30:93:76"
    assert all(i.mac is not None for i in plan.interfaces.values())   # fixed MACs throughout a city


def test_routers_are_numbered_first(graph, plan):
    # In each segment the members are routers (by name) then hosts (by name), numbered .1, .2, ...
    for name, segment in plan.segments.items():
        kinds = [node_spec(graph, m).kind is Kind.ROUTER for m in segment.members]
        assert kinds == sorted(kinds, reverse=True), name
        for index, member in enumerate(segment.members, start=1):
            interface = next(i for i in plan.interfaces_of(member) if i.segment == name)
            assert interface.ipv4.ip == segment.ipv4[index], (name, member)
    # the gateway of every host is the lowest address of its segment
    assert plan.primary("d1u1", V4) == ip("11.64.0.10") and plan.segments["d1r"].ipv4[1] == ip("11.64.0.9")
    assert plan.primary("d1f1h1", V4) == ip("192.168.0.2")


def test_delegated_prefixes(plan):
    # d1's CPE prefixes start at its second /48, 2001:db8:101::/48; the first /56 goes to d1f1,
    # the only dual-stack CPE; its LAN is the first /64 of that /56.
    assert plan.delegated == {"d1f1": net("2001:db8:101::/56")}
    assert plan.segments["d1f1-d1f1h1"].ipv6 == next(net("2001:db8:101::/56").subnets(new_prefix=64))
    assert plan.segments["d1f1-d1f1h1"].ipv6 == net("2001:db8:101::/64")


def test_who_advertises_and_who_delegates(graph, plan):
    # radvd where a router numbers an access LAN; Kea on the BNG for each CPE behind it,
    # reserving the CPE's /56 by the MAC of its WAN interface (on the OLT switch d1o1).
    from simulator.network.daemons.dhcpv6 import delegations
    from simulator.network.daemons.radvd import advertisers

    def name(node, peer):
        return f"{node}|{peer}"

    # Both LANs announce ns.city.test's IPv6 address: i1v1 is the second address of
    # the rack segment i1r1, the second /64 of i1's infrastructure /48.
    ns = "2001:db8:200:2::2"
    got = {r.node: r.links for r in advertisers(graph, plan, name, "city.test")}
    assert got == {"d1f1": [("d1f1|d1f1h1", "2001:db8:101::/64", [ns])],
                   "d1gw": [("d1gw|d1r", str(plan.segments["d1r"].ipv6), [ns])]}
    servers, clients = delegations(graph, plan, name, "city.test")
    # The CPE is given the same resolver, and the search list, with its prefix.
    assert [(s.node, s.links, s.search) for s in servers] == [
        ("d1bng", [("d1bng|d1o1", str(plan.segments["d1o1"].ipv6),
                    [(plan.interfaces[("d1f1", "d1o1")].mac, "2001:db8:101::/56", ns)])], "city.test")]
    assert [(c.node, c.interface, prefix) for c, prefix in clients] == [("d1f1", "d1f1|d1o1", "2001:db8:101::/56")]


def test_ipv4_only_cpe_has_no_delegated_prefix_and_no_lan_ipv6(plan):
    assert "d1f2" not in plan.delegated
    lan = plan.segments["d1f2-d1f2h1"]
    assert lan.ipv6 is None and lan.ipv4 == net("192.168.1.0/24")
    assert plan.addresses("d1f2", V6) == [] and plan.addresses("d1f2h1", V6) == []
    assert plan.primary("d1f2h1", V6) is None


def test_delegated_length_and_lan_pool_follow_the_prefixes(graph):
    # /60s instead of /56s: d1f1 still gets the first of d1's second /48; LANs from 10.99.0.0/16.
    plan = plan_with(graph, delegated_length=60, ipv4_lan="10.99.0.0/16")
    assert plan.delegated == {"d1f1": net("2001:db8:101::/60")}
    assert plan.segments["d1f1-d1f1h1"].ipv6 == net("2001:db8:101::/64")
    assert plan.segments["d1f1-d1f1h1"].ipv4 == net("10.99.0.0/24")
    assert plan.segments["d1f2-d1f2h1"].ipv4 == net("10.99.1.0/24")
    assert plan.primary("d1f2h1", V4) == ip("10.99.1.2")


def test_other_prefixes(graph):
    # city 2001:db8:ab00::/40 with /44 sites: metro 2001:db8:ab00::/44, d1 2001:db8:ab10::/44,
    # i1 2001:db8:ab20::/44; d1's links 2001:db8:ab10::/48, CPEs from 2001:db8:ab11::/48.
    # Public 45.10.0.0/24: d1 45.10.0.0/27, i1 .32/28, metro .48/30; outside 198.18.0.0/15 -> /29 at its start.
    plan = plan_with(graph, ipv6="2001:db8:ab00::/40", site_length=44, ipv4_public="45.10.0.0/24",
                     ipv4_outside="198.18.0.0/15", ipv6_outside="2001:db8:f000::/36")
    assert plan.ipv4_pool == net("45.10.0.0/24") and plan.ipv6_pool == net("2001:db8:ab00::/40")
    assert plan.segments["c1-c2"].ipv6 == net("2001:db8:ab00::/64")
    assert plan.segments["c1-c2"].ipv4 == net("45.10.0.48/30")
    assert plan.segments["d1agg-d1bng"].ipv6 == net("2001:db8:ab10::/64")
    assert plan.segments["d1o1"].ipv4 == net("45.10.0.0/29")
    assert plan.segments["i1r1"].ipv4 == net("45.10.0.32/29")
    assert plan.segments["c2-i1s1"].ipv6 == net("2001:db8:ab20::/64")
    assert plan.delegated == {"d1f1": net("2001:db8:ab11::/56")}
    # outside: max(site_length 44, /36) = the first /44 of 2001:db8:f000::/36, its first /48 for links
    assert plan.segments["xm"].ipv6 == net("2001:db8:f000::/64")
    assert plan.segments["xs"].ipv6 == net("2001:db8:f000:1::/64")
    assert plan.segments["xm"].ipv4 == net("198.18.0.0/30")
    assert plan.segments["xs"].ipv4 == net("198.18.0.4/30")


def test_idcs_come_after_districts_whatever_their_ids():
    # IDC "a" sorts before district "z" by name, yet sites go metro, districts, IDCs.
    graph = city_graph(parse_city({
        "name": "t", "metro": {"core_routers": 2},
        "districts": [{"id": "z", "mobile": {"subscribers": 5, "emulated_hosts": 1}}],
        "idcs": [{"id": "a", "spines": 1, "leaves": 1, "servers_per_leaf": 1}],
        "services": [{"name": "www", "at": "a"}]}))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    assert plan.segments["zagg-zgw"].site == "z"
    assert plan.segments["zagg-zgw"].ipv6.subnet_of(net("2001:db8:100::/40"))
    assert plan.segments["ar1"].site == "a"
    assert plan.segments["ar1"].ipv6.subnet_of(net("2001:db8:200::/40"))


def test_lan_behind_a_switch_is_still_a_nat_lan():
    data = dict(SMALL, districts=[{"id": "d1", "fixed": {"subscribers": 10, "emulated_hosts": 1,
                                                         "ipv6_capable": 1.0, "lan_hosts_per_cpe": 2}}])
    graph = city_graph(parse_city(data))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    lan = plan.segments["d1f1l"]
    # members: the CPE (router) first, then its two hosts
    assert (lan.members, lan.nat_gateway, lan.ipv4, lan.ipv6) == (
        ("d1f1", "d1f1h1", "d1f1h2"), "d1f1", net("192.168.0.0/24"), net("2001:db8:101::/64"))
    assert plan.primary("d1f1h2", V4) == ip("192.168.0.3")
    assert plan.public_address("d1f1h2", V4) == plan.public_address("d1f1", V4)


# --- Segment.routed, public_address, on_segment ---------------------------------------


def test_routed(plan):
    for name, segment in plan.segments.items():
        if segment.nat_gateway:
            assert not segment.routed(V4), name
        else:
            assert segment.routed(V4) and segment.routed(V6), name
    assert plan.segments["d1f1-d1f1h1"].routed(V6)
    assert not plan.segments["d1f2-d1f2h1"].routed(V6)   # no IPv6 on that LAN at all


def test_routed_without_nat():
    seg = Segment("s", (), ("a",), net("10.0.0.0/24"), None)
    assert seg.routed(V4) and not seg.routed(V6)
    assert Segment("s", (), ("a",), None, net("2001:db8::/64")).routed(V6)


def test_public_address(plan):
    # a LAN host: its CPE's WAN address over IPv4, its own over IPv6
    assert plan.public_address("d1f1h1", V4) == ip("11.64.0.2")
    assert plan.public_address("d1f1h1", V6) == ip(H1)
    assert plan.public_address("d1f2h1", V4) == ip("11.64.0.3")
    assert plan.public_address("d1f2h1", V6) is None
    # a CPE: its WAN address (the LAN interface, port 0, is skipped over IPv4)
    assert plan.public_address("d1f1", V4) == ip("11.64.0.2")
    assert plan.public_address("d1f1", V6) == ip("2001:db8:101::1")   # port 0 is its LAN, routed over IPv6
    assert plan.public_address("d1f2", V6) is None
    # everyone else: their own first address
    assert plan.public_address("d1u1", V4) == ip("11.64.0.10")
    assert plan.public_address("x1", V6) == ip("3fff:0:0:1::2")
    assert plan.public_address("c1", V4) == ip("11.64.0.49")


def test_on_segment(plan):
    assert plan.on_segment("d1f1-d1f1h1", "192.168.0.1") == plan.interfaces[("d1f1", "d1f1h1")]
    assert plan.on_segment("d1o1", "11.64.0.3") == plan.interfaces[("d1f2", "d1o1")]
    assert plan.on_segment("d1o1", "2001:db8:100:3::1") == plan.interfaces[("d1bng", "d1o1")]
    assert plan.on_segment("d1f2-d1f2h1", "192.168.0.1") is None   # d1f1's address, not on d1f2's LAN
    assert plan.on_segment("d1o1", "11.64.0.4") is None
    assert plan.on_segment("d1o1", ip("11.64.0.2")).node == "d1f1"


def test_plain_plans_have_no_sites_or_delegations(graph):
    plan = plan_addresses(graph)
    assert plan.delegated == {}
    assert {s.site for s in plan.segments.values()} == {""}
    assert all(s.nat_gateway is None for s in plan.segments.values())


# --- routes and forwarding -------------------------------------------------------


def test_no_router_learns_a_lan(routes):
    for node, table in routes.items():
        for route in table:
            if route.family is V4 and route.destination is not None:
                assert not route.destination.subnet_of(LAN), (node, route)


def test_lan_routes(routes):
    # IPv4: the BNG only knows the public d1o1, not the LANs behind it.
    assert {r.destination for r in routes["d1bng"] if r.family is V4} == {
        net(SEGMENTS[n][1]) for n in ("c1-c2", "c2-i1s1", "i1l1-i1s1", "i1r1", "d1agg-d1gw", "d1m", "d1r",
                                      "xm", "xs")}
    # IPv6: the dual-stack LAN's /64 is routed, via d1f1's d1o1 address
    assert Route(V6, net("2001:db8:101::/64"), ip("2001:db8:100:3::2")) in routes["d1bng"]
    assert Route(V6, net("2001:db8:101::/64"), ip("2001:db8:100::2")) in routes["d1agg"]
    # LAN hosts: default routes via their CPE's LAN address
    assert routes["d1f1h1"] == [Route(V4, None, ip("192.168.0.1")),
                                Route(V6, None, ip("2001:db8:101::1"), from_ra=True)]
    assert routes["d1f2h1"] == [Route(V4, None, ip("192.168.1.1"))]
    # a CPE reaches the public networks through the BNG
    assert Route(V4, net("11.200.0.4/30"), ip("11.64.0.1")) in routes["d1f1"]
    assert Route(V4, net("11.200.0.4/30"), ip("11.64.0.1")) in routes["d1f2"]


def test_forward_path_from_a_lan_host_out_and_back(plan, routes):
    out = ["d1f1h1", "d1f1", "d1bng", "d1agg", "c1", "tr1", "x1"]
    assert forward_path(plan, routes, "d1f1h1", "11.200.0.6") == out
    assert forward_path(plan, routes, "d1f2h1", "11.200.0.6") == ["d1f2h1", "d1f2", "d1bng", "d1agg", "c1",
                                                                   "tr1", "x1"]
    # back: the private address is nowhere in the routes; the public one is the CPE's
    assert forward_path(plan, routes, "x1", "192.168.0.2") is None
    assert forward_path(plan, routes, "x1", "192.168.1.2") is None
    assert forward_path(plan, routes, "x1", "11.64.0.2") == ["x1", "tr1", "c1", "d1agg", "d1bng", "d1f1"]
    assert forward_path(plan, routes, "x1", str(plan.public_address("d1f1h1", V4)))[-1] == "d1f1"
    # over IPv6 the LAN host is reachable itself
    assert forward_path(plan, routes, "x1", H1) == list(reversed(out))
    # one CPE's LAN host cannot reach another CPE's private LAN
    assert forward_path(plan, routes, "d1f2h1", "192.168.0.2") is None
    # the IDC server back to the CPE's public address
    assert forward_path(plan, routes, "i1v2", "11.64.0.3") == ["i1v2", "i1l1", "i1s1", "c2", "c1", "d1agg",
                                                               "d1bng", "d1f2"]


def cell(graph, plan, client, service, family, method):
    city = CityModel(graph, plan, compute_routes(graph, plan), "city.test")
    return next(c for c in connectivity.build_cells(city)
                if (c.client, c.service, c.family, c.method) == (client, service, family, method))


def expect(graph, plan, routes, c):
    return connectivity.expected(CityModel(graph, plan, routes, "city.test"), c)


def test_expected_http_from_a_lan_host_to_an_outside_service(graph, plan, routes):
    # resolver: ns on i1v1, over IPv6 for the dual-stack LAN host, over IPv4 for the other
    c = cell(graph, plan, "d1f1h1", "video.city.test", V4, "http")
    assert (c.server, c.resolver) == ("x1", "2001:db8:200:2::2")
    assert expect(graph, plan, routes, c) == (
        True, "IPv4 path d1f1h1 > d1f1 > d1bng > d1agg > c1 > tr1 > x1")
    c = cell(graph, plan, "d1f2h1", "video.city.test", V4, "http")
    assert c.resolver == "11.64.0.34"
    assert expect(graph, plan, routes, c) == (
        True, "IPv4 path d1f2h1 > d1f2 > d1bng > d1agg > c1 > tr1 > x1")
    c = cell(graph, plan, "d1f1h1", "video.city.test", V6, "http")
    assert expect(graph, plan, routes, c) == (
        True, "IPv6 path d1f1h1 > d1f1 > d1bng > d1agg > c1 > tr1 > x1")
    c = cell(graph, plan, "d1f2h1", "www.city.test", V6, "http")
    assert expect(graph, plan, routes, c) == (False, "d1f2h1 has no IPv6 address")


def test_expected_ping_and_dns_from_lan_hosts(graph, plan, routes):
    c = cell(graph, plan, "d1f1h1", "www.city.test", V4, "ping")
    assert c.target == "11.64.0.35"
    assert expect(graph, plan, routes, c) == (
        True, "IPv4 path d1f1h1 > d1f1 > d1bng > d1agg > c1 > c2 > i1s1 > i1l1 > i1v2")
    c = cell(graph, plan, "d1f2h1", "ns.city.test", V4, "dns")
    assert expect(graph, plan, routes, c)[0] is True


def test_every_small_city_cell_is_reachable_where_families_allow(graph, plan, routes):
    # Nothing is broken in the small city: a cell fails only for a missing address.
    for c in connectivity.build_cells(CityModel(graph, plan, compute_routes(graph, plan), "city.test")):
        ok, why = expect(graph, plan, routes, c)
        assert ok or why.endswith(f"has no {c.family.label} address"), (c.id, why)


def test_reach_needs_the_return_path(graph, plan, routes):
    # Without x1's default route nothing comes back, although the way out is fine.
    broken = {**routes, "x1": []}
    c = cell(graph, plan, "d1f1h1", "video.city.test", V4, "ping")
    assert forward_path(plan, broken, "d1f1h1", "11.200.0.6") is not None
    assert expect(graph, plan, broken, c) == (False, "no IPv4 route back from x1 to d1f1h1")


# --- preparation.address_plan ---------------------------------------------------------


def test_runner_picks_the_city_plan(graph, plan):
    scenario = Scenario(name="s", source="s.yaml")
    got = address_plan(graph, scenario)
    assert isinstance(got, AddressPlan)
    assert got == plan


def test_runner_uses_the_pools_without_prefixes(graph):
    bare = graph.copy()
    del bare.graph["prefixes"]
    got = address_plan(bare, Scenario(name="s", source="s.yaml"))
    assert got == plan_addresses(bare, "10.64.0.0/16", "2001:db8:64::/48", 24)
    assert got.delegated == {}


def test_runner_reports_city_plan_errors_in_the_city_file(graph):
    # The fix goes into the city file's prefixes, not into the scenario that names it.
    bad = graph.copy()
    bad.graph["prefixes"] = dataclasses.replace(graph.graph["prefixes"], ipv4_public="11.64.0.0/29")
    bad.graph["source"] = "cities/c.yaml"
    with pytest.raises(ConfigError) as error:
        address_plan(bad, Scenario(name="s", source="s.yaml"))
    assert error.value.problems == [
        "cities/c.yaml: prefixes.ipv4_public: IPv4 pool 11.64.0.0/29 is exhausted at d1 (needs a /27); "
        "give a larger ipv4_public (or ipv4_outside) prefix"]
    # A plan error that does not start with its key still names the section.
    # (A /48 site keeps its one /48 for infrastructure: nothing is left to delegate.)
    bad.graph["prefixes"] = dataclasses.replace(graph.graph["prefixes"], site_length=48)
    with pytest.raises(ConfigError) as error:
        address_plan(bad, Scenario(name="s", source="s.yaml"))
    assert error.value.problems[0].startswith("cities/c.yaml: prefixes: CPE d1f1: ")


def test_runner_reports_scenario_pool_errors_in_the_scenario(graph):
    bare = graph.copy()
    del bare.graph["prefixes"]
    tiny = Scenario(name="s", source="s.yaml", addressing=Addressing(ipv4_pool="10.64.0.0/24"))
    with pytest.raises(ConfigError) as error:
        address_plan(bare, tiny)
    assert error.value.problems[0].startswith("s.yaml: addressing: segment ")
    assert "IPv4 pool 10.64.0.0/24 is exhausted: it holds 1 /24 subnets" in error.value.problems[0]


# --- the default city ------------------------------------------------------------


@pytest.fixture(scope="module")
def city():
    graph = city_graph(load_city(DEFAULT_CITY))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    return graph, plan, compute_routes(graph, plan)


def test_default_city_plans(city):
    graph, plan, _ = city
    assert {s.site for s in plan.segments.values()} == {"metro", "d1", "d2", "d3", "d4", "i1", "outside"}
    # every dual-stack CPE and only those get a /56
    cpes = [n for n in graph if node_spec(graph, n).role is Role.CPE]
    assert len(cpes) == 36
    assert set(plan.delegated) == {n for n in cpes if V6 in node_spec(graph, n).families}
    assert all(p.prefixlen == 56 for p in plan.delegated.values())


@pytest.mark.parametrize("family", list(Family))
def test_default_city_routed_addresses_are_unique(city, family):
    _, plan, _ = city
    addresses = [i.address(family).ip for i in plan.interfaces.values()
                 if i.address(family) is not None and plan.segments[i.segment].routed(family)]
    assert addresses and len(addresses) == len(set(addresses))


@pytest.mark.parametrize("family", list(Family))
def test_default_city_routed_segments_do_not_overlap(city, family):
    _, plan, _ = city
    nets = [s.network(family) for s in plan.segments.values() if s.routed(family)]
    assert [(a, b) for a, b in itertools.combinations(nets, 2) if a.overlaps(b)] == []
    # and none of them is private LAN space
    if family is V4:
        assert not any(n.overlaps(LAN) for n in nets)


def test_default_city_lans(city):
    graph, plan, _ = city
    lans = {n: s for n, s in plan.segments.items() if s.nat_gateway}
    cpes = sorted(n for n in graph if node_spec(graph, n).role is Role.CPE)
    assert sorted(s.nat_gateway for s in lans.values()) == cpes
    for name, segment in lans.items():
        assert segment.ipv4.subnet_of(LAN) and segment.ipv4.prefixlen == 24, name
        assert segment.ipv4.network_address.packed[:2] == bytes([192, 168]), name
        assert segment.members[0] == segment.nat_gateway, name
        assert node_spec(graph, segment.nat_gateway).role is Role.CPE
        assert not segment.routed(V4), name
        if V6 in node_spec(graph, segment.nat_gateway).families:
            assert segment.routed(V6), name
            assert segment.ipv6 == next(plan.delegated[segment.nat_gateway].subnets(new_prefix=64))
        else:
            assert segment.ipv6 is None and not segment.routed(V6), name
    assert len({s.ipv4 for s in lans.values()}) == len(lans)
    # within a district in name order: d1f1 the first /24, d1f12 the twelfth
    assert lans["d1f1-d1f1h1"].ipv4 == net("192.168.0.0/24")
    assert lans["d1f2-d1f2h1"].ipv4 == net("192.168.1.0/24")
    assert lans["d1f12-d1f12h1"].ipv4 == net("192.168.11.0/24")
    assert lans["d2f1-d2f1h1"].ipv4 == net("192.168.12.0/24")


def test_default_city_public_address_of_lan_hosts(city):
    graph, plan, _ = city
    for host in (n for n in graph if node_spec(graph, n).role is Role.SUBSCRIBER
                 and node_spec(graph, n).subscriber_class == "fixed"):
        cpe = next(iter(graph.neighbors(host)))
        wan = plan.interfaces[(cpe, next(p for p in graph.neighbors(cpe) if p != host))]
        assert plan.public_address(host, V4) == wan.ipv4.ip, host
        assert plan.public_address(host, V6) == plan.primary(host, V6), host


def test_default_city_no_route_to_a_lan(city):
    _, _, routes = city
    assert [(node, r) for node, table in routes.items() for r in table
            if r.family is V4 and r.destination is not None and r.destination.overlaps(LAN)] == []


def test_default_city_lan_host_out_and_back(city):
    graph, plan, routes = city
    video = next(n for n in graph if any(s.name == "video" for s in node_spec(graph, n).services))
    host, cpe = "d1f1h1", "d1f1"
    path = forward_path(plan, routes, host, plan.primary(video, V4))
    assert path is not None and path[:2] == [host, cpe] and path[-1] == video
    assert forward_path(plan, routes, video, plan.primary(host, V4)) is None
    back = forward_path(plan, routes, video, plan.public_address(host, V4))
    assert back is not None and back[-1] == cpe
    c = cell(graph, plan, host, "video.city.test", V4, "http")
    assert expect(graph, plan, routes, c)[0] is True


# --- errors ----------------------------------------------------------------------


def test_overlapping_prefixes(graph):
    assert plan_error(graph, ipv4_lan="11.64.192.0/18") == (
        "prefixes: 11.64.0.0/16 and 11.64.192.0/18 overlap; the city, the outside and the LANs need "
        "separate prefixes")
    assert plan_error(graph, ipv4_outside="11.0.0.0/8") == (
        "prefixes: 11.64.0.0/16 and 11.0.0.0/8 overlap; the city, the outside and the LANs need separate prefixes")
    assert plan_error(graph, ipv6_outside="2001:db8:ff00::/40") == (
        "prefixes: 2001:db8::/32 and 2001:db8:ff00::/40 overlap; the city, the outside and the LANs need "
        "separate prefixes")
    assert plan_error(graph, ipv4_lan="11.200.0.0/24") == (
        "prefixes: 11.200.0.0/16 and 11.200.0.0/24 overlap; the city, the outside and the LANs need "
        "separate prefixes")


def test_city_ipv6_prefix_too_small(graph):
    # a /39 holds 2 /40s; the small city has 3 inside sites (metro, d1, i1)
    assert plan_error(graph, ipv6="2001:db8::/39") == (
        "prefixes.ipv6: 2001:db8::/39 holds 2 /40 sites, the city has 3; give a shorter city prefix or a "
        "longer site_length")
    assert plan_with(graph, ipv6="2001:db8::/38").segments["c2-i1s1"].ipv6 == net("2001:db8:200::/64")


def test_site_length_shorter_than_the_city_prefix(graph):
    assert plan_error(graph, ipv6="2001:db8::/44") == (
        "prefixes.site_length: /40 must be between the city's /44 and /48")


def test_sites_of_a_48_leave_nothing_to_delegate(graph):
    assert plan_error(graph, site_length=48) == (
        "CPE d1f1: site d1's prefix 2001:db8:1::/48 has no /56 left to delegate; give a shorter site_length "
        "or a longer delegated_length")


def test_delegated_length_out_of_range(graph):
    assert plan_error(graph, delegated_length=48) == (
        "prefixes.delegated_length: /48 must be between /49 and /64")


def test_ipv4_public_too_small(graph):
    # d1 alone needs a /27
    assert plan_error(graph, ipv4_public="11.64.0.0/29") == (
        "prefixes.ipv4_public: IPv4 pool 11.64.0.0/29 is exhausted at d1 (needs a /27); give a larger "
        "ipv4_public (or ipv4_outside) prefix")
    # a /27 holds d1, then i1's /28 does not fit
    assert plan_error(graph, ipv4_public="11.64.0.0/27") == (
        "prefixes.ipv4_public: IPv4 pool 11.64.0.0/27 is exhausted at i1 (needs a /28); give a larger "
        "ipv4_public (or ipv4_outside) prefix")
    # 32 + 16 + 4 = 52 addresses: a /26 is enough
    assert plan_with(graph, ipv4_public="11.64.0.0/26").segments["c1-c2"].ipv4 == net("11.64.0.48/30")


def test_ipv4_outside_too_small(graph):
    assert plan_error(graph, ipv4_outside="11.200.0.0/30") == (
        "prefixes.ipv4_outside: IPv4 pool 11.200.0.0/30 is exhausted at outside (needs a /29); give a larger "
        "ipv4_public (or ipv4_outside) prefix")


def test_cpe_lans_repeat_once_the_lan_prefix_is_used_up(graph):
    # One /24 for two CPE LANs: both NAT44 LANs number from it, as home LANs do; each
    # host is still seen at its own CPE's WAN address, and neither is unique.
    plan = plan_with(graph, ipv4_lan="192.168.0.0/24")
    assert plan.segments["d1f1-d1f1h1"].ipv4 == plan.segments["d1f2-d1f2h1"].ipv4 == net("192.168.0.0/24")
    assert plan.primary("d1f1h1", V4) == plan.primary("d1f2h1", V4) == ipaddress.ip_address("192.168.0.2")
    assert plan.public_address("d1f1h1", V4) == plan.public_address("d1f1", V4) == ipaddress.ip_address("11.64.0.2")
    assert plan.public_address("d1f2h1", V4) == plan.public_address("d1f2", V4) == ipaddress.ip_address("11.64.0.3")
    assert not plan.unique("192.168.0.2") and plan.unique("11.64.0.2")


def test_ds_lite_lans_never_repeat():
    # The transition city's LANs in order: d1f1, d1f2 (NAT44), d2f1, d2f2 (DS-Lite),
    # d3f1 (CLAT). Four /24s: the CLAT LAN repeats d1f1's; the DS-Lite LANs are
    # their own. Two /24s: d2f1 finds none left, and may not repeat one.
    graph = city_graph(load_city(REPO_ROOT / "topologies" / "cities" / "transition.yaml"))
    plan = plan_with(graph, ipv4_lan="192.168.0.0/22")
    assert {name: str(plan.segments[name].ipv4) for name in
            ("d1f1-d1f1h1", "d1f2-d1f2h1", "d2f1-d2f1h1", "d2f2-d2f2h1", "d3f1-d3f1h1")} == {
        "d1f1-d1f1h1": "192.168.0.0/24", "d1f2-d1f2h1": "192.168.1.0/24", "d2f1-d2f1h1": "192.168.2.0/24",
        "d2f2-d2f2h1": "192.168.3.0/24", "d3f1-d3f1h1": "192.168.0.0/24"}
    assert plan_error(graph, ipv4_lan="192.168.0.0/23") == (
        "segment d2f1-d2f1h1: prefixes.ipv4_lan 192.168.0.0/23 has no /24 left for this DS-Lite LAN, and DS-Lite "
        "LANs cannot repeat (the AFTR tells B4s apart by their LAN); give a larger LAN prefix")


def test_not_a_network(graph):
    assert plan_error(graph, ipv4_public="11.64.0.1/16") == (
        "prefixes: 11.64.0.1/16 has host bits set; give network addresses such as 2001:db8::/32")


def test_ipv4_lan_longer_than_24_is_refused():
    with pytest.raises(ConfigError) as error:
        parse_city(small(ipv4_lan="192.168.0.0/25"), "city.yaml")
    assert error.value.problems == [
        "city.yaml: prefixes.ipv4_lan: 192.168.0.0/25 is longer than /24; give a /24 or shorter"]
    # The planner refuses it too, for graphs built without parse_city.
    graph = city_graph(parse_city(small(), "city.yaml"))
    with pytest.raises(TopologyError, match=r"^prefixes.ipv4_lan: 192.168.0.0/25 is smaller than one /24 LAN"):
        plan_city_addresses(graph, CityPrefixes(ipv4_lan="192.168.0.0/25"))


def test_ipv6_outside_longer_than_48_is_refused():
    with pytest.raises(ConfigError) as error:
        parse_city(small(ipv6_outside="3fff::/56"), "city.yaml")
    assert error.value.problems == [
        "city.yaml: prefixes.ipv6_outside: 3fff::/56 is longer than /48; give a /48 or shorter"]
    graph = city_graph(parse_city(small(), "city.yaml"))
    with pytest.raises(TopologyError, match=r"^prefixes.ipv6_outside: 3fff::/56 is longer than /48"):
        plan_city_addresses(graph, CityPrefixes(ipv6_outside="3fff::/56"))


# --- parse_city: the prefixes section --------------------------------------------


def test_prefixes_section_reaches_the_graph():
    spec = parse_city(small(ipv6="2001:db8:ab00::/40", site_length=44, delegated_length=60,
                            ipv4_lan="10.99.0.0/16"))
    assert spec.prefixes == CityPrefixes(ipv6="2001:db8:ab00::/40", site_length=44, delegated_length=60,
                                         ipv4_lan="10.99.0.0/16")
    assert city_graph(spec).graph["prefixes"] == spec.prefixes
    assert parse_city(small()).prefixes == CityPrefixes()
    assert parse_city(dict(SMALL, prefixes={})).prefixes == CityPrefixes()
    assert parse_city(dict(SMALL, prefixes=None)).prefixes == CityPrefixes()


@pytest.mark.parametrize("prefixes, problem", [
    ({"ipv4_publik": "11.64.0.0/16"}, "prefixes.ipv4_publik: unknown key (did you mean 'ipv4_public'?)"),
    ({"ipv6": "not-a-net"},
     "prefixes.ipv6: not an IPv6 network: 'not-a-net' does not appear to be an IPv4 or IPv6 network"),
    ({"ipv4_lan": "192.168.0.1/16"}, "prefixes.ipv4_lan: not an IPv4 network: 192.168.0.1/16 has host bits set"),
    ({"ipv4_public": "2001:db8::/32"}, "prefixes.ipv4_public: 2001:db8::/32 is not an IPv4 network"),
    ({"ipv6_outside": "10.0.0.0/8"}, "prefixes.ipv6_outside: 10.0.0.0/8 is not an IPv6 network"),
    ({"delegated_length": 50}, "prefixes.delegated_length: a CPE is delegated a /56, /60 or /64, got /50"),
    ({"site_length": 12}, "prefixes.site_length: must be between 16 and 48, got 12"),
    ({"ipv6": 32}, "prefixes.ipv6: expected str, got 32"),
    ({"site_length": "40"}, "prefixes.site_length: expected int, got '40'"),
])
def test_bad_prefixes(prefixes, problem):
    assert problems_of(dict(SMALL, prefixes=prefixes)) == [f"city.yaml: {problem}"]


def test_prefixes_not_a_mapping():
    assert problems_of(dict(SMALL, prefixes="2001:db8::/32")) == [
        "city.yaml: prefixes: expected a mapping, got str '2001:db8::/32'"]


def test_every_bad_prefix_at_once():
    assert problems_of(dict(SMALL, prefixes={"ipv6": "x", "ipv4_lan": "2001:db8::/48", "delegated_length": 50,
                                             "sitelength": 40})) == [
        "city.yaml: prefixes.sitelength: unknown key (did you mean 'site_length'?)",
        "city.yaml: prefixes.ipv6: not an IPv6 network: 'x' does not appear to be an IPv4 or IPv6 network",
        "city.yaml: prefixes.ipv4_lan: 2001:db8::/48 is not an IPv4 network",
        "city.yaml: prefixes.delegated_length: a CPE is delegated a /56, /60 or /64, got /50"]


def test_public_pool_in_cgn_space_is_refused(graph):
    # 100.64.0.0/10 is shared address space for carrier-grade NAT (RFC 6598), not public.
    with pytest.raises(TopologyError, match=r"^prefixes: 100.64.0.0/10 and 100.64.0.0/24 overlap"):
        plan_with(graph, ipv4_public="100.64.0.0/24")


def test_all_pairs_leave_out_a_repeated_lan_address(graph):
    # With both LANs on 192.168.0.0/24, "192.168.0.2" is d1f1h1 and d1f2h1 at once:
    # no pair is measured to it; each host's IPv6 address (d1f1h1's) still is.
    from simulator.measurements.reachability import pairs
    plan = plan_with(graph, ipv4_lan="192.168.0.0/24")
    records = pairs(CityModel(graph, plan, compute_routes(graph, plan), "city.test"))
    assert not [r for r in records if r["address"] == "192.168.0.2"]
    assert [r["family"] for r in records if r["source"] == "d1f2h1" and r["destination"] == "d1f1h1"] == ["ipv6"]

"""simulator.model.transition on the transition city: which mechanisms it runs, where, with
which addresses, and whether a host can run them.

The transition city (topologies/cities/transition.yaml, seed 11), as planned by
plan_city_addresses (tests/unit/test_city_transition.py works the plan out):

    n64 on c2   c2-n64 2001:db8:0:4::/64 (c2 ::1, n64 ::2); endpoint 2001:db8:0:6::/64;
                pool 11.64.0.152/29; NAT64 prefix 64:ff9b::/96
    aftr on c3  aftr-c3 2001:db8::/64 (aftr ::1: it sorts before c3); endpoint 2001:db8:0:5::/64;
                pool 11.64.0.144/29
    d1bng CGN   d1o1 100.64.0.0/29: d1bng .1, d1f1 .2, d1f2 .3; pool 11.64.0.160/31
    d3gw CGN    d3r 100.64.0.8/29: d3gw .9, d3u1 .10, d3u2 .11; pool 11.64.0.162/31
    d2f1, d2f2  DS-Lite CPEs on d2o1 2001:db8:200:3::/64 (d2bng ::1, d2f1 ::2, d2f2 ::3);
                delegated 2001:db8:201::/56 and 2001:db8:201:100::/56; LANs 192.168.2.0/24, 192.168.3.0/24
    d2u1, d2u2  464XLAT UEs on d2r 2001:db8:200:4::/64, advertised by d2gw (::1)
    d3f1        464XLAT CPE: delegated 2001:db8:301::/56, LAN 192.168.4.0/24

A softwire ends at the first address of the AFTR's endpoint /64 and, on a B4, at the
first address of the second /64 of its delegated prefix: 2001:db8:201:1::1 and
2001:db8:201:101::1. A CPE's CLAT maps its /24 into the first /120 of the third /64
of its delegated prefix: 2001:db8:301:2::/120. A UE's CLAT address is the modified
EUI-64 address of its /64 for the MAC 02 + sha256("<ue>>clat")[:5]:
    d2u1: 02:62:83:2a:24:1f -> 2001:db8:200:4:62:83ff:fe2a:241f
    d2u2: 02:29:35:1c:cf:88 -> 2001:db8:200:4:29:35ff:fe1c:cf88
"""

import hashlib
import ipaddress
from pathlib import Path

import pytest

from simulator.model import transition
from simulator.model.address_plan import plan_city_addresses
from simulator.model.city_model import reachable_in
from simulator.network.capabilities import Check, HostCapabilities
from simulator.network.daemons.translators import (
    CarrierGradeNat,
    Clat,
    DsLiteAftr,
    DsLiteB4,
    Nat64,
)
from simulator.network.mechanisms import check_host, deployment, host_support
from topologies.city import city_graph, load_city
from topologies.errors import ConfigError
from topologies.spec import Family, Role

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSITION_CITY = REPO_ROOT / "topologies" / "cities" / "transition.yaml"
DEFAULT_CITY = REPO_ROOT / "topologies" / "cities" / "default.yaml"

# Every check host_support looks at.
NEEDED = ("tayga", "tun", "nft-nat", "unbound", "srv6", "seg6local", "nf-hooks-lwtunnel", "sit", "ip6tnl")
CLAT_D2U1 = "2001:db8:200:4:62:83ff:fe2a:241f"
CLAT_D2U2 = "2001:db8:200:4:29:35ff:fe1c:cf88"


def ip(text):
    return ipaddress.ip_address(text)


def net(text):
    return ipaddress.ip_network(text)


def host(missing=()):
    """A host whose checks all pass but those in ``missing``."""
    return HostCapabilities(tuple(
        Check(name, name not in missing, "found" if name not in missing else "not found", "something", "install it",
              required=False) for name in NEEDED))


@pytest.fixture(scope="module")
def graph():
    return city_graph(load_city(TRANSITION_CITY))


@pytest.fixture(scope="module")
def mechanisms(graph, plan):
    return deployment(graph, plan, lambda node, peer: f"{node}-{peer}")


def of(mechanisms, kind, node):
    [found] = [m for m in mechanisms if isinstance(m, kind) and m.node == node]
    return found


# --- which mechanisms -------------------------------------------------------------------


def test_mechanisms_used_by_the_transition_city(graph):
    assert transition.mechanisms_used(graph) == ["464xlat", "cgn", "dns64", "ds-lite", "nat64"]


def test_the_default_city_uses_none():
    assert transition.mechanisms_used(city_graph(load_city(DEFAULT_CITY))) == []


def test_translators(graph, plan):
    assert transition.translator(graph, Role.NAT64) == "n64"
    assert transition.translator(graph, Role.AFTR) == "aftr"
    assert transition.translator(graph, Role.IDC_GATEWAY) is None
    assert transition.dns64_address(graph, plan) == ip("2001:db8:0:4::2")


def test_no_dns64_without_a_nat64():
    graph = city_graph(load_city(DEFAULT_CITY))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    assert transition.dns64_address(graph, plan) is None
    assert deployment(graph, plan, lambda node, peer: f"{node}-{peer}") == []


# --- what the host can run ----------------------------------------------------------------------


def test_a_host_with_everything_runs_all_but_map():
    support = host_support(host())
    assert {name: ok for name, (ok, _) in support.items()} == {
        "nat64": True, "dns64": True, "464xlat": True, "ds-lite": True, "cgn": True, "6rd": False,
        "map-e": False, "map-t": False}
    assert support["nat64"] == (True, "NAT64 (RFC 6146) with TAYGA and nftables")
    assert support["map-t"] == (
        False, "MAP-T (RFC 7599) needs a MAP-T translator: MAP-T needs Jool's kernel module "
        "(no loadable modules here)")
    assert support["map-e"] == (
        False, "MAP-E (RFC 7597) needs ip6tnl and a MAP CE/BR: no MAP-E CE/BR in Debian that runs without "
        "a kernel module")


def test_without_sit_no_6rd():
    support = host_support(host(missing={"sit"}))
    assert support["6rd"] == (False, "6rd (RFC 5969) needs sit tunnels: missing sit; v6lab builds no 6rd CE or "
                                     "border relay yet")
    assert [name for name, (ok, _) in support.items() if not ok] == ["6rd", "map-e", "map-t"]


def test_without_tayga_no_nat64_and_no_464xlat():
    support = host_support(host(missing={"tayga"}))
    assert [name for name, (ok, _) in support.items() if not ok] == ["nat64", "464xlat", "6rd", "map-e", "map-t"]
    assert support["464xlat"] == (
        False, "464XLAT (RFC 6877): a TAYGA CLAT, the NAT64 as PLAT: missing tayga")


def test_ds_lite_lists_everything_it_misses():
    support = host_support(host(missing={"seg6local", "nf-hooks-lwtunnel", "ip6tnl"}))
    assert support["ds-lite"] == (
        False, "DS-Lite (RFC 6333): the ip4ip6 softwire as an SRv6 encapsulation: missing seg6local, "
        "nf-hooks-lwtunnel")
    assert support["map-e"][1].endswith(": missing ip6tnl; no MAP-E CE/BR in Debian that runs without a kernel module")


def test_check_host_names_each_mechanism_it_cannot_run(graph):
    with pytest.raises(ConfigError) as error:
        check_host(graph, host(missing={"tayga"}), "transition.yaml")
    # In the order of mechanisms_used; dns64, ds-lite and cgn need no TAYGA.
    assert error.value.problems == [
        "transition.yaml: 464xlat: 464XLAT (RFC 6877): a TAYGA CLAT, the NAT64 as PLAT: missing tayga",
        "transition.yaml: nat64: NAT64 (RFC 6146) with TAYGA and nftables: missing tayga",
        "'v6lab doctor' lists what this host has",
    ]


def test_check_host_without_nftables_nat(graph):
    with pytest.raises(ConfigError) as error:
        check_host(graph, host(missing={"nft-nat"}), "t.yaml")
    assert [p.split(":")[1].strip() for p in error.value.problems[:-1]] == [
        "464xlat", "cgn", "ds-lite", "nat64"]


def test_check_host_passes(graph):
    assert check_host(graph, host(), "transition.yaml") is None
    # sit and ip6tnl are for mechanisms the city does not use.
    assert check_host(graph, host(missing={"sit", "ip6tnl"}), "transition.yaml") is None


def test_a_city_without_mechanisms_runs_on_any_host():
    graph = city_graph(load_city(DEFAULT_CITY))
    assert check_host(graph, host(missing=set(NEEDED)), "default.yaml") is None


# --- where they run ------------------------------------------------------------------------------


def test_deployment_order(mechanisms):
    # Translators first (NAT64, AFTR, CGNs by name), then B4s, then CLATs by node name;
    # d3f1h1 (464xlat, behind its CPE's CLAT) gets none of its own.
    assert [(type(m).__name__, m.node) for m in mechanisms] == [
        ("Nat64", "n64"), ("DsLiteAftr", "aftr"), ("CarrierGradeNat", "d1bng"), ("CarrierGradeNat", "d3gw"),
        ("DsLiteB4", "d2f1"), ("DsLiteB4", "d2f2"), ("Clat", "d2u1"), ("Clat", "d2u2"), ("Clat", "d3f1")]


def test_nat64_on_n64(mechanisms):
    nat64 = of(mechanisms, Nat64, "n64")
    assert (nat64.prefix, nat64.pool, nat64.endpoint) == (
        net("64:ff9b::/96"), net("11.64.0.152/29"), net("2001:db8:0:6::/64"))


def test_aftr_has_a_softwire_per_b4(mechanisms):
    aftr = of(mechanisms, DsLiteAftr, "aftr")
    assert (aftr.uplink, aftr.endpoint, aftr.pool) == ("aftr-c3", ip("2001:db8:0:5::1"), net("11.64.0.144/29"))
    assert aftr.softwires == [(ip("2001:db8:201:1::1"), net("192.168.2.0/24")),
                              (ip("2001:db8:201:101::1"), net("192.168.3.0/24"))]


@pytest.mark.parametrize("cpe, wan, lan, source, endpoint", [
    ("d2f1", "d2f1-d2o1", "d2f1-d2f1h1", "2001:db8:200:3::2", "2001:db8:201:1::1"),
    ("d2f2", "d2f2-d2o1", "d2f2-d2f2h1", "2001:db8:200:3::3", "2001:db8:201:101::1"),
])
def test_b4s(mechanisms, cpe, wan, lan, source, endpoint):
    b4 = of(mechanisms, DsLiteB4, cpe)
    assert (b4.wan, b4.lan, b4.source, b4.endpoint, b4.aftr) == (
        wan, lan, ip(source), ip(endpoint), ip("2001:db8:0:5::1"))


def clat_address(ue, prefix):
    """The modified EUI-64 address for the MAC 02 + sha256("<ue>>clat")[:5], worked out independently."""
    mac = bytes([0x02]) + hashlib.sha256(f"{ue}>clat".encode()).digest()[:5]
    eui64 = bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe" + mac[3:]
    return ipaddress.IPv6Address(int(net(prefix).network_address) | int.from_bytes(eui64, "big"))


def test_clat_addresses_by_the_rfc(plan):
    assert clat_address("d2u1", "2001:db8:200:4::/64") == ip(CLAT_D2U1)
    assert clat_address("d2u2", "2001:db8:200:4::/64") == ip(CLAT_D2U2)
    assert transition.clat_address(plan, "d2u1") == ip(CLAT_D2U1)
    # Not the UE's own SLAAC address (that one is of the MAC for d2u1>d2r).
    assert plan.primary("d2u1", Family.IPV6) != ip(CLAT_D2U1)


@pytest.mark.parametrize("ue, address", [("d2u1", CLAT_D2U1), ("d2u2", CLAT_D2U2)])
def test_clat_on_a_ue(mechanisms, ue, address):
    clat = of(mechanisms, Clat, ue)
    assert clat.on_host
    assert (clat.plat_prefix, clat.ipv4, clat.ipv6, clat.interface, clat.gateway) == (
        net("64:ff9b::/96"), net("192.0.0.1/32"), net(f"{address}/128"), f"{ue}-d2r", ip("2001:db8:200:4::1"))


def test_clat_on_a_cpe(mechanisms, plan):
    clat = of(mechanisms, Clat, "d3f1")
    assert not clat.on_host
    assert (clat.plat_prefix, clat.ipv4, clat.ipv6, clat.interface, clat.gateway) == (
        net("64:ff9b::/96"), net("192.168.4.0/24"), net("2001:db8:301:2::/120"), None, None)
    assert clat.ipv6.subnet_of(plan.delegated["d3f1"])


@pytest.mark.parametrize("router, pool, subscribers", [
    ("d1bng", "11.64.0.160/31", ["100.64.0.2", "100.64.0.3"]),
    ("d3gw", "11.64.0.162/31", ["100.64.0.10", "100.64.0.11"]),
])
def test_cgns(mechanisms, router, pool, subscribers):
    cgn = of(mechanisms, CarrierGradeNat, router)
    assert (cgn.pool, cgn.subscribers, cgn.shared) == (
        net(pool), [ip(a) for a in subscribers], net("100.64.0.0/10"))


def test_deployed_rules_render(mechanisms, tmp_path):
    # The objects of the plan render without complaint; one line of each NAT to show the port blocks.
    rules = {repr(m): m.render(tmp_path)["rules.nft"] for m in mechanisms}
    assert len(rules) == 9
    assert ('    ip saddr 192.168.3.0/24 oifname "aftr-c3" meta l4proto { tcp, udp } snat to 11.64.0.144:3072-5119\n'
            in rules["aftr@aftr"])
    assert ("    ip saddr 100.64.0.11 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } "
            "snat to 11.64.0.162:3072-5119\n" in rules["cgn@d3gw"])


# --- IPv4 reachability through the translators ---------------------------------------------------------


def test_ds_lite_lan_host_reaches_an_ipv4_only_server(graph, plan, routes):
    # x2 (shop) is IPv4-only; d2f1h1's IPv4 goes in its CPE's softwire to the AFTR.
    assert reachable_in(graph, plan, routes, "d2f1h1", "x2", Family.IPV4) == (
        True, "IPv4 over IPv6 from d2f1 to aftr (ds-lite), then IPv4 path aftr > c3 > c1 > tr1 > x2")


def test_464xlat_ue_reaches_an_ipv4_only_server(graph, plan, routes):
    assert reachable_in(graph, plan, routes, "d2u1", "x2", Family.IPV4) == (
        True, "IPv4 over IPv6 from d2u1 to n64 (464xlat), then IPv4 path n64 > c2 > c1 > tr1 > x2")


def test_464xlat_lan_host_goes_through_its_cpe(graph, plan, routes):
    assert reachable_in(graph, plan, routes, "d3f1h1", "x2", Family.IPV4) == (
        True, "IPv4 over IPv6 from d3f1 to n64 (464xlat), then IPv4 path n64 > c2 > c1 > tr1 > x2")


def test_ipv6_only_ue_has_no_ipv4(graph, plan, routes):
    assert reachable_in(graph, plan, routes, "d1u1", "x2", Family.IPV4) == (False, "d1u1 has no IPv4 address")


def test_over_ipv6_no_translator_is_involved(graph, plan, routes):
    ok, why = reachable_in(graph, plan, routes, "d2u1", "x3", Family.IPV6)
    assert (ok, why) == (True, "IPv6 path d2u1 > d2gw > d2agg > c2 > c1 > tr1 > x3")
    # x2 has no IPv6: a 464XLAT UE reaches it only over IPv4.
    assert reachable_in(graph, plan, routes, "d2u1", "x2", Family.IPV6) == (False, "x2 has no IPv6 address")


# --- what the controller classifies -------------------------------------------------------------------------


def test_controller_policy_of_the_transition_city(graph, plan):
    policy = transition.controller_policy(graph, plan)
    assert sorted(policy.pop("segments")) == ["d1o1", "d1r", "d2o1", "d2r", "d3o1", "d3r"]
    assert policy == {
        "nat64_prefix": "64:ff9b::/96",
        # The CLATs in deployment order: the two UEs' /128s, then d3f1's /120.
        "clat": [f"{CLAT_D2U1}/128", f"{CLAT_D2U2}/128", "2001:db8:301:2::/120"],
        "softwire": True,
        "shared_space": "100.64.0.0/10",
    }


def test_controller_policy_of_a_city_without_mechanisms():
    graph = city_graph(load_city(DEFAULT_CITY))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    policy = transition.controller_policy(graph, plan)
    policy.pop("segments")
    assert policy == {"nat64_prefix": None, "clat": [], "softwire": False, "shared_space": None}


def test_access_segments_name_router_and_subscriber_ports(graph):
    segments = transition.access_segments(graph)
    # d1o1's neighbours in name order: d1bng (port 1), d1f1 (2, IPv4-only), d1f2 (3).
    assert segments["d1o1"] == [{"name": "d1/fixed/d1o1", "router_ports": [1], "subscriber_ports": [2, 3],
                                 "ipv6": True}]
    # d3r: the gateway d3gw, then the UEs d3u1 (IPv4-only) and d3u2 (dual-stack).
    assert segments["d3r"] == [{"name": "d3/mobile/d3r", "router_ports": [1], "subscriber_ports": [2, 3],
                                "ipv6": True}]


def test_an_ipv4_only_access_is_not_admitted_to_ipv6():
    graph = city_graph(load_city(Path(__file__).resolve().parents[2] / "topologies" / "cities" / "migration.yaml"))
    segments = transition.access_segments(graph)
    assert segments["d2r"] == [{"name": "d2/mobile/d2r", "router_ports": [1], "subscriber_ports": [2, 3],
                                "ipv6": False}]
    assert {item["ipv6"] for items in segments.values() for item in items} == {False}

"""simulator.model.city_model on the transition city (topologies/cities/transition.yaml):
the facts every stage reads, checked against the city's description by hand.

Subscribers (see tests/integration/test_transition_city.py): d1f1h1 IPv4-only behind
its CPE's NAT44 and d1bng's CGN, d1f2h1 dual-stack (NAT44 + CGN too), d1u1/d1u2
IPv6-only, d2u1/d2u2 and d3f1h1 464XLAT, d2f1h1/d2f2h1 DS-Lite, d3u1 IPv4-only and
d3u2 dual-stack behind d3gw's CGN.
"""

from pathlib import Path

import pytest

from simulator.model.city_model import family_set_name
from simulator.model.resolvers import RDNSS
from topologies.city import city_graph, load_city
from topologies.spec import DUAL_STACK, IPV4_ONLY, Family, Role, ServiceKind

TRANSITION_CITY = Path(__file__).resolve().parents[2] / "topologies" / "cities" / "transition.yaml"


@pytest.fixture(scope="module")
def graph():
    return city_graph(load_city(TRANSITION_CITY))



def test_subscribers_and_their_kinds(city):
    assert {s.node: s.kind for s in city.subscribers} == {
        "d1f1h1": "ipv4-only", "d1f2h1": "dual-stack", "d1u1": "ipv6-only", "d1u2": "ipv6-only",
        "d2f1h1": "ds-lite", "d2f2h1": "ds-lite", "d2u1": "464xlat", "d2u2": "464xlat",
        "d3f1h1": "464xlat", "d3u1": "ipv4-only", "d3u2": "dual-stack"}
    assert [s.node for s in city.of_kind("464xlat")] == ["d2u1", "d2u2", "d3f1h1"]
    d1u1 = city.subscriber("d1u1")
    assert (d1u1.district, d1u1.subscriber_class, d1u1.gateway) == ("d1", "mobile", "d1gw")
    assert city.subscriber("d1f1h1").gateway == "d1f1"


def test_what_ipv4_crosses(city):
    assert {s.node: s.ipv4_crosses for s in city.subscribers} == {
        "d1f1h1": ("NAT44", "CGN"), "d1f2h1": ("NAT44", "CGN"), "d1u1": (), "d1u2": (),
        "d2f1h1": ("AFTR",), "d2f2h1": ("AFTR",), "d2u1": ("CLAT", "NAT64"), "d2u2": ("CLAT", "NAT64"),
        "d3f1h1": ("CLAT", "NAT64"), "d3u1": ("CGN",), "d3u2": ("CGN",)}


def test_services_translators_and_resolvers(city):
    assert [(s.fqdn, s.kind, s.family_set) for s in city.services] == [
        ("ns.city.test", ServiceKind.DNS, "dual-stack"), ("portal.city.test", ServiceKind.HTTP, "dual-stack"),
        ("school.city.test", ServiceKind.HTTP, "ipv4-only"), ("lab6.city.test", ServiceKind.HTTP, "ipv6-only"),
        ("video.city.test", ServiceKind.HTTP, "dual-stack"), ("shop.city.test", ServiceKind.HTTP, "ipv4-only"),
        ("mirror6.city.test", ServiceKind.HTTP, "ipv6-only")]
    shop = next(s for s in city.services if s.name == "shop")
    assert (shop.server, set(shop.addresses), str(shop.addresses[Family.IPV4])) == ("x2", {Family.IPV4}, "11.200.0.3")
    assert len(city.web_services()) == 6
    assert city.dns_server == "i1v1"
    assert dict(city.translators) == {Role.NAT64: "n64", Role.AFTR: "aftr"}
    assert city.mechanisms == ("464xlat", "cgn", "dns64", "ds-lite", "nat64")
    assert city.resolver("d1u1") == "2001:db8:0:4::2" and city.resolvers["d1u1"].source == RDNSS
    assert city.resolver("d3u1") == "11.64.0.66"


def test_paths_once_per_question(city):
    ok, why = city.reachable("d2f1h1", "x2", Family.IPV4)
    assert ok and why.startswith("IPv4 over IPv6 from d2f1 to aftr (ds-lite), then IPv4 path aftr > c3")
    assert city.reachable("d1u1", "x2", Family.IPV4) == (False, "d1u1 has no IPv4 address")
    assert city.reachable("d2f1h1", "x2", Family.IPV4) is city.reachable("d2f1h1", "x2", Family.IPV4)


def test_family_set_names():
    assert family_set_name(IPV4_ONLY) == "ipv4-only" and family_set_name(DUAL_STACK) == "dual-stack"

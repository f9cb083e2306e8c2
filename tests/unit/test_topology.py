"""topologies.city_slice and topologies.spec: the graph a generator returns and validate()."""

import networkx as nx
import pytest

from topologies import GENERATORS, city_slice
from topologies.city import city
from topologies.errors import TopologyError
from topologies.spec import (
    DUAL_STACK,
    IPV4_ONLY,
    IPV6_ONLY,
    Family,
    Kind,
    LinkSpec,
    NodeSpec,
    Role,
    ServiceKind,
    ServiceSpec,
    link_spec,
    node_spec,
    nodes_of_kind,
    validate,
)

DEFAULT_NODES = {
    "core", "m1", "m2", "m3", "bng1", "bng2", "idcgw", "a1", "a2", "dc1",
    "d1h1", "d1h2", "d2h1", "d2h2", "web", "dns",
}
# Drawn from the module docstring: core fans out to three metro switches, each metro
# switch to one router, each router to one switch, each switch to two hosts.
DEFAULT_EDGES = {
    ("core", "m1"), ("m1", "bng1"), ("bng1", "a1"), ("a1", "d1h1"), ("a1", "d1h2"),
    ("core", "m2"), ("m2", "bng2"), ("bng2", "a2"), ("a2", "d2h1"), ("a2", "d2h2"),
    ("core", "m3"), ("m3", "idcgw"), ("idcgw", "dc1"), ("dc1", "web"), ("dc1", "dns"),
}


def edge_set(graph):
    return {tuple(sorted(edge)) for edge in graph.edges}


def test_default_city_slice_has_16_nodes_and_15_edges():
    graph = city_slice()
    assert graph.number_of_nodes() == 16
    assert set(graph) == DEFAULT_NODES
    assert graph.number_of_edges() == 15
    assert edge_set(graph) == {tuple(sorted(e)) for e in DEFAULT_EDGES}
    assert graph.graph["name"] == "city-slice"


def test_default_city_slice_roles():
    graph = city_slice()
    roles = {name: node_spec(graph, name).role for name in graph}
    assert roles == {
        "core": Role.CORE_ROUTER,
        "m1": Role.METRO_SWITCH, "m2": Role.METRO_SWITCH, "m3": Role.METRO_SWITCH,
        "bng1": Role.ACCESS_ROUTER, "bng2": Role.ACCESS_ROUTER,
        "idcgw": Role.IDC_GATEWAY,
        "a1": Role.ACCESS_SWITCH, "a2": Role.ACCESS_SWITCH,
        "dc1": Role.IDC_SWITCH,
        "d1h1": Role.SUBSCRIBER, "d1h2": Role.SUBSCRIBER,
        "d2h1": Role.SUBSCRIBER, "d2h2": Role.SUBSCRIBER,
        "web": Role.SERVER, "dns": Role.SERVER,
    }


def test_default_city_slice_kinds():
    graph = city_slice()
    assert nodes_of_kind(graph, Kind.ROUTER) == ["bng1", "bng2", "core", "idcgw"]
    assert nodes_of_kind(graph, Kind.SWITCH) == ["a1", "a2", "dc1", "m1", "m2", "m3"]
    assert nodes_of_kind(graph, Kind.HOST) == ["d1h1", "d1h2", "d2h1", "d2h2", "dns", "web"]


def test_role_decides_kind():
    assert {role: role.kind for role in Role} == {
        Role.CORE_ROUTER: Kind.ROUTER, Role.ACCESS_ROUTER: Kind.ROUTER, Role.IDC_GATEWAY: Kind.ROUTER,
        Role.AGGREGATION_ROUTER: Kind.ROUTER, Role.MOBILE_GATEWAY: Kind.ROUTER, Role.CPE: Kind.ROUTER,
        Role.SPINE: Kind.ROUTER, Role.LEAF: Kind.ROUTER, Role.TRANSIT_ROUTER: Kind.ROUTER,
        Role.NAT64: Kind.ROUTER, Role.AFTR: Kind.ROUTER,
        Role.METRO_SWITCH: Kind.SWITCH, Role.ACCESS_SWITCH: Kind.SWITCH, Role.IDC_SWITCH: Kind.SWITCH,
        Role.SUBSCRIBER: Kind.HOST, Role.SERVER: Kind.HOST,
    }
    assert NodeSpec(Role.SERVER).kind is Kind.HOST


def test_districts_and_subscriber_class():
    graph = city_slice()
    districts = {name: node_spec(graph, name).district for name in graph}
    assert districts == {
        "core": None, "m1": None, "m2": None, "m3": None,
        "bng1": "d1", "a1": "d1", "d1h1": "d1", "d1h2": "d1",
        "bng2": "d2", "a2": "d2", "d2h1": "d2", "d2h2": "d2",
        "idcgw": "idc1", "dc1": "idc1", "web": "idc1", "dns": "idc1",
    }
    assert {n: node_spec(graph, n).subscriber_class for n in ("d1h1", "d2h2", "web")} == {
        "d1h1": "fixed", "d2h2": "fixed", "web": None}


def test_district_d2_hosts_and_access_links_are_ipv4_only():
    graph = city_slice()
    for host in ("d2h1", "d2h2"):
        assert node_spec(graph, host).families == IPV4_ONLY
        assert link_spec(graph, "a2", host).families == IPV4_ONLY
    assert node_spec(graph, "a2").families == IPV4_ONLY
    assert link_spec(graph, "bng2", "a2").families == IPV4_ONLY
    # The BNG itself is dual-stack; only its access side is IPv4-only.
    assert node_spec(graph, "bng2").families == DUAL_STACK
    assert link_spec(graph, "m2", "bng2").families == DUAL_STACK


def test_district_d1_and_idc_are_dual_stack():
    graph = city_slice()
    for host in ("d1h1", "d1h2", "web", "dns"):
        assert node_spec(graph, host).families == DUAL_STACK
    for a, b in (("a1", "d1h1"), ("bng1", "a1"), ("core", "m1"), ("idcgw", "dc1"), ("dc1", "web")):
        assert link_spec(graph, a, b) == LinkSpec(families=DUAL_STACK, bandwidth_mbps=None, delay_ms=None)


def test_servers_offer_www_and_ns():
    graph = city_slice()
    assert node_spec(graph, "web").services == (ServiceSpec("www", ServiceKind.HTTP, DUAL_STACK),)
    assert node_spec(graph, "dns").services == (ServiceSpec("ns", ServiceKind.DNS, DUAL_STACK),)
    assert node_spec(graph, "d1h1").services == ()


def test_same_arguments_give_the_same_graph():
    first, second = city_slice(), city_slice()
    assert first is not second
    assert dict(first.nodes(data=True)) == dict(second.nodes(data=True))
    assert ({tuple(sorted((a, b))): d for a, b, d in first.edges(data=True)}
            == {tuple(sorted((a, b))): d for a, b, d in second.edges(data=True)})


def test_three_subscribers_per_district_gives_six_subscribers():
    graph = city_slice(subscribers_per_district=3)
    subscribers = sorted(n for n in graph if node_spec(graph, n).role is Role.SUBSCRIBER)
    assert subscribers == ["d1h1", "d1h2", "d1h3", "d2h1", "d2h2", "d2h3"]
    # 16 default nodes + 2 extra hosts; 15 default links + 2 extra host links.
    assert graph.number_of_nodes() == 18
    assert graph.number_of_edges() == 17
    assert sorted(graph.neighbors("a2")) == ["bng2", "d2h1", "d2h2", "d2h3"]


def test_one_district_per_family_entry():
    graph = city_slice(district_families=(IPV6_ONLY,))
    # core, m1, bng1, a1, d1h1, d1h2, then the IDC on metro switch m2.
    assert set(graph) == {"core", "m1", "bng1", "a1", "d1h1", "d1h2", "m2", "idcgw", "dc1", "web", "dns"}
    assert node_spec(graph, "d1h1").families == frozenset({Family.IPV6})
    assert sorted(graph.neighbors("m2")) == ["core", "idcgw"]


def test_access_bandwidth_goes_on_access_links_only():
    graph = city_slice(access_bandwidth_mbps=100.0)
    assert link_spec(graph, "bng1", "a1").bandwidth_mbps == 100.0
    assert link_spec(graph, "a2", "d2h2").bandwidth_mbps == 100.0
    assert link_spec(graph, "core", "m1").bandwidth_mbps is None
    assert link_spec(graph, "dc1", "web").bandwidth_mbps is None


@pytest.mark.parametrize("kwargs, message", [
    ({"subscribers_per_district": 0}, "subscribers_per_district must be at least 1"),
    ({"district_families": ()}, "a city slice has 1 to 8 districts"),
    ({"district_families": (DUAL_STACK,) * 9}, "a city slice has 1 to 8 districts"),
])
def test_bad_generator_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        city_slice(**kwargs)


def test_registry_names_the_generator():
    assert GENERATORS == {"city": city, "city-slice": city_slice}


# --- validate() --------------------------------------------------------------------


def router(graph, name):
    graph.add_node(name, spec=NodeSpec(Role.CORE_ROUTER))


def switch(graph, name):
    graph.add_node(name, spec=NodeSpec(Role.METRO_SWITCH))


def host(graph, name):
    graph.add_node(name, spec=NodeSpec(Role.SUBSCRIBER))


def link(graph, a, b):
    graph.add_edge(a, b, spec=LinkSpec())


def test_default_graph_validates():
    assert validate(city_slice()) is None


@pytest.mark.parametrize("name", ["Core", "abcdefghi", "1core", "co-re", ""])
def test_bad_node_name(name):
    graph = nx.Graph()
    router(graph, name)
    with pytest.raises(TopologyError) as error:
        validate(graph)
    assert str(error.value) == (
        f"node {name!r}: names are 1-8 characters, a lower-case letter then letters or digits "
        "(they become Linux interface names)")


def test_eight_character_name_is_accepted():
    graph = nx.Graph()
    switch(graph, "abcdefgh")
    assert validate(graph) is None


def test_missing_specs_are_reported_together():
    graph = nx.Graph()
    graph.add_node("Bad", spec=NodeSpec(Role.CORE_ROUTER))
    router(graph, "r1")
    graph.add_node("nospec")
    graph.add_edge("r1", "nospec")
    with pytest.raises(TopologyError) as error:
        validate(graph)
    assert str(error.value).splitlines() == [
        "node 'Bad': names are 1-8 characters, a lower-case letter then letters or digits "
        "(they become Linux interface names)",
        "node 'nospec': no NodeSpec in its 'spec' attribute",
        "link r1--nospec: no LinkSpec in its 'spec' attribute",
    ]


def test_switch_loop():
    graph = nx.Graph()
    for name in ("s1", "s2", "s3"):
        switch(graph, name)
    link(graph, "s1", "s2")
    link(graph, "s2", "s3")
    link(graph, "s3", "s1")
    with pytest.raises(TopologyError) as error:
        validate(graph)
    assert str(error.value) == (
        "switches form a loop (s1 - s2 - s3): the controller floods broadcasts without a "
        "spanning tree, so switch links must form a tree; join the segments through a router instead")


def test_switch_loop_added_to_city_slice():
    graph = city_slice()
    link(graph, "m1", "m2")
    link(graph, "m2", "m3")
    link(graph, "m3", "m1")
    with pytest.raises(TopologyError, match=r"^switches form a loop \("):
        validate(graph)


def test_switch_tree_is_accepted():
    graph = nx.Graph()
    for name in ("s1", "s2", "s3"):
        switch(graph, name)
    link(graph, "s1", "s2")
    link(graph, "s2", "s3")
    assert validate(graph) is None


def test_host_with_two_links():
    graph = city_slice()
    link(graph, "d1h1", "a2")
    with pytest.raises(TopologyError) as error:
        validate(graph)
    assert str(error.value) == (
        "host d1h1: has 2 links; a host has exactly one (make it a router role to give it more)")


def test_host_with_no_link():
    graph = nx.Graph()
    switch(graph, "s1")  # see test_graph_without_switches: validate() needs one switch today
    host(graph, "h1")
    with pytest.raises(TopologyError, match=r"^host h1: has 0 links;"):
        validate(graph)


def test_two_hosts_joined_directly():
    graph = nx.Graph()
    switch(graph, "s1")  # see test_graph_without_switches: validate() needs one switch today
    host(graph, "h1")
    host(graph, "h2")
    link(graph, "h1", "h2")
    with pytest.raises(TopologyError) as error:
        validate(graph)
    assert str(error.value) == "link h1--h2: two hosts joined directly; put a switch or router between them"


def test_graph_without_switches():
    graph = nx.Graph()
    router(graph, "r1")
    router(graph, "r2")
    link(graph, "r1", "r2")
    assert validate(graph) is None


def test_specs_are_frozen():
    spec = NodeSpec(Role.SERVER)
    with pytest.raises(AttributeError):
        spec.role = Role.SUBSCRIBER
    assert Family.IPV6.label == "IPv6"
    assert Family.IPV4.label == "IPv4"


def test_access_mode_translators():
    from topologies.spec import AccessMode
    # (translator the city needs, resolver is the DNS64, IPv4 carried over IPv6 by)
    assert {m: (m.translator, m.uses_dns64, m.ipv4_via) for m in AccessMode} == {
        AccessMode.IPV4_ONLY: (None, False, None),
        AccessMode.DUAL_STACK: (None, False, None),
        AccessMode.IPV6_ONLY: (Role.NAT64, True, None),
        AccessMode.XLAT464: (Role.NAT64, True, Role.NAT64),
        AccessMode.DS_LITE: (Role.AFTR, False, Role.AFTR),
    }

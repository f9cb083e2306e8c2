"""topologies.city: the city spec, its parser (every problem at once) and the graph it builds."""

import dataclasses
import os
from pathlib import Path

import pytest

from simulator.model.address_plan import plan_addresses
from topologies import GENERATORS
from topologies.city import (
    CitySpec,
    District,
    FixedAccess,
    Idc,
    Metro,
    MobileAccess,
    Service,
    city,
    city_graph,
    load_city,
    parse_city,
)
from topologies.errors import ConfigError, TestbedError
from topologies.spec import (
    DUAL_STACK,
    IPV4_ONLY,
    IPV6_ONLY,
    Kind,
    Role,
    ServiceKind,
    ServiceSpec,
    link_spec,
    node_spec,
    nodes_of_kind,
    validate,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CITY = REPO_ROOT / "topologies" / "cities" / "default.yaml"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cities"


@pytest.fixture(scope="module")
def spec():
    return load_city(DEFAULT_CITY)


@pytest.fixture(scope="module")
def graph(spec):
    return city_graph(spec)


def core_edges(graph):
    cores = [n for n in graph if node_spec(graph, n).role is Role.CORE_ROUTER]
    return {tuple(sorted(e)) for e in graph.subgraph(cores).edges}


def dual_stack(graph, names):
    return {n for n in names if node_spec(graph, n).families == DUAL_STACK}


def small(**changes):
    """A small valid city document; ``changes`` replace its top-level keys."""
    data = {
        "name": "small",
        "districts": [{"id": "d1", "fixed": {"subscribers": 100, "emulated_hosts": 4}}],
        "idcs": [{"id": "i1"}],
        "services": [{"name": "www", "at": "i1"}],
    }
    data.update(changes)
    return data


def problems_of(data):
    with pytest.raises(ConfigError) as error:
        parse_city(data, "city.yaml")
    return error.value.problems


# --- the default city ------------------------------------------------------------


def test_default_spec_parsed(spec):
    assert spec.name == "default-city"
    assert spec.description == "A small city for the demo and the tests."
    assert spec.seed == 7
    assert spec.metro == Metro("ring", 4, 1)
    assert spec.core_names == ["c1", "c2", "c3", "c4"]
    assert spec.transit_core == "c1"
    assert spec.source == str(DEFAULT_CITY)
    assert [d.id for d in spec.districts] == ["d1", "d2", "d3", "d4"]
    assert spec.districts[0] == District(
        "d1", "Old Town", "c1",
        FixedAccess(subscribers=240000, emulated_hosts=12, ipv6_capable=0.84, olts=2, lan_hosts_per_cpe=1),
        MobileAccess(subscribers=610000, emulated_hosts=8, ipv6_capable=0.99))
    assert spec.districts[3] == District(
        "d4", "New District", "c4", None, MobileAccess(subscribers=150000, emulated_hosts=6, ipv6_capable=1.0))
    assert spec.idcs == (Idc("i1", "City IDC", "c4", spines=2, leaves=3, servers_per_leaf=2),)
    assert spec.services[0] == Service("ns", "i1", ServiceKind.DNS, DUAL_STACK, 0.0)
    assert spec.services[2] == Service("school", "i1", ServiceKind.HTTP, IPV4_ONLY, 0.05)
    assert spec.services[6] == Service("lab6", "outside", ServiceKind.HTTP, IPV6_ONLY, 0.05)


def test_default_city_counts(graph):
    # d1..d3 (fixed + mobile): m, agg, bng, o1, o2, 12 CPEs, 12 LAN hosts, gw, r, 8 UEs = 39 nodes each;
    # d4 (mobile only): m, agg, gw, r, 6 UEs = 10; IDC: 2 spines, 3 leaves, 3 racks, 6 servers = 14;
    # outside: xm, tr1, xs, x1..x3 = 6; core: 4.  4 + 3*39 + 10 + 14 + 6 = 151.
    assert graph.number_of_nodes() == 151
    # Ring 4; each of d1..d3: 2 uplink + 3 BNG/OLT + 12 OLT-CPE + 12 CPE-host + 2 gw + 8 UE = 39;
    # d4: 2 + 2 + 6 = 10; IDC: 2 core-spine + 6 spine-leaf + 3 leaf-rack + 6 rack-server = 17; outside 6.
    assert graph.number_of_edges() == 4 + 3 * 39 + 10 + 17 + 6 == 154
    # Routers: 4 core; per d1..d3: agg, bng, 12 CPEs, gw = 15; d4: agg, gw; 2 spines + 3 leaves; tr1.
    assert len(nodes_of_kind(graph, Kind.ROUTER)) == 4 + 3 * 15 + 2 + 5 + 1 == 57
    # Switches: per d1..d3: m, o1, o2, r; d4: m, r; 3 racks; xm, xs.
    assert len(nodes_of_kind(graph, Kind.SWITCH)) == 3 * 4 + 2 + 3 + 2 == 19
    # Hosts: 3 * (12 + 8) + 6 subscribers, 6 IDC servers, 3 outside servers.
    assert len(nodes_of_kind(graph, Kind.HOST)) == 60 + 6 + 6 + 3 == 75
    assert len([n for n in graph if node_spec(graph, n).role is Role.SUBSCRIBER]) == 66
    assert graph.name == "default-city"


def test_default_city_node_names(graph):
    expected = {"c1", "c2", "c3", "c4", "xm", "tr1", "xs", "x1", "x2", "x3"}
    for d in ("d1", "d2", "d3"):
        expected |= {f"{d}m", f"{d}agg", f"{d}bng", f"{d}o1", f"{d}o2", f"{d}gw", f"{d}r"}
        expected |= {f"{d}f{n}" for n in range(1, 13)} | {f"{d}f{n}h1" for n in range(1, 13)}
        expected |= {f"{d}u{n}" for n in range(1, 9)}
    expected |= {"d4m", "d4agg", "d4gw", "d4r"} | {f"d4u{n}" for n in range(1, 7)}
    expected |= {"i1s1", "i1s2", "i1l1", "i1l2", "i1l3", "i1r1", "i1r2", "i1r3"}
    expected |= {f"i1v{n}" for n in range(1, 7)}
    assert set(graph) == expected
    assert "d4bng" not in graph and "d4f1" not in graph and "d4o1" not in graph


@pytest.mark.parametrize("name, role, district", [
    ("c1", Role.CORE_ROUTER, None),
    ("d1m", Role.METRO_SWITCH, "d1"),
    ("d1agg", Role.AGGREGATION_ROUTER, "d1"),
    ("d1bng", Role.ACCESS_ROUTER, "d1"),
    ("d1o2", Role.ACCESS_SWITCH, "d1"),
    ("d1f12", Role.CPE, "d1"),
    ("d1f12h1", Role.SUBSCRIBER, "d1"),
    ("d1gw", Role.MOBILE_GATEWAY, "d1"),
    ("d1r", Role.ACCESS_SWITCH, "d1"),
    ("d4u6", Role.SUBSCRIBER, "d4"),
    ("i1s2", Role.SPINE, "i1"),
    ("i1l3", Role.LEAF, "i1"),
    ("i1r3", Role.IDC_SWITCH, "i1"),
    ("i1v6", Role.SERVER, "i1"),
    ("xm", Role.METRO_SWITCH, "outside"),
    ("tr1", Role.TRANSIT_ROUTER, "outside"),
    ("xs", Role.IDC_SWITCH, "outside"),
    ("x3", Role.SERVER, "outside"),
])
def test_default_city_roles(graph, name, role, district):
    assert node_spec(graph, name).role is role
    assert node_spec(graph, name).district == district


def test_default_city_metro_ring(graph):
    assert core_edges(graph) == {("c1", "c2"), ("c2", "c3"), ("c3", "c4"), ("c1", "c4")}


def test_districts_on_cores_round_robin(graph, spec):
    assert [d.core for d in spec.districts] == ["c1", "c2", "c3", "c4"]
    for d, core in (("d1", "c1"), ("d2", "c2"), ("d3", "c3"), ("d4", "c4")):
        assert set(graph.neighbors(f"{d}m")) == {core, f"{d}agg"}
    assert set(graph.neighbors("d1agg")) == {"d1m", "d1bng", "d1gw"}
    assert set(graph.neighbors("d4agg")) == {"d4m", "d4gw"}
    assert set(graph.neighbors("d1bng")) == {"d1agg", "d1o1", "d1o2"}
    assert set(graph.neighbors("d1gw")) == {"d1agg", "d1r"}
    assert set(graph.neighbors("d1r")) == {"d1gw"} | {f"d1u{n}" for n in range(1, 9)}


def test_cpes_alternate_between_olts(graph):
    # CPE n hangs off OLT (n - 1) % olts + 1.
    assert set(graph.neighbors("d1o1")) == {"d1bng"} | {f"d1f{n}" for n in (1, 3, 5, 7, 9, 11)}
    assert set(graph.neighbors("d1o2")) == {"d1bng"} | {f"d1f{n}" for n in (2, 4, 6, 8, 10, 12)}
    # One LAN host per CPE plugs straight into it, without a LAN switch.
    assert set(graph.neighbors("d1f1")) == {"d1o1", "d1f1h1"}
    assert "d1f1l" not in graph


def test_idc_on_c4_and_transit_on_c1(graph):
    assert set(graph.neighbors("c4")) == {"c1", "c3", "d4m", "i1s1", "i1s2"}
    assert set(graph.neighbors("c1")) == {"c2", "c4", "d1m", "xm"}
    assert set(graph.neighbors("i1s1")) == {"c4", "i1l1", "i1l2", "i1l3"}
    assert set(graph.neighbors("i1s2")) == {"c4", "i1l1", "i1l2", "i1l3"}
    assert set(graph.neighbors("i1l2")) == {"i1s1", "i1s2", "i1r2"}
    assert set(graph.neighbors("i1r2")) == {"i1l2", "i1v3", "i1v4"}
    assert set(graph.neighbors("xm")) == {"c1", "tr1"}
    assert set(graph.neighbors("tr1")) == {"xm", "xs"}
    assert set(graph.neighbors("xs")) == {"tr1", "x1", "x2", "x3"}


@pytest.mark.parametrize("pattern, count, capable", [
    ("d1f{}", 12, 10),   # round(0.84 * 12) = round(10.08)
    ("d1u{}", 8, 8),     # round(0.99 * 8) = round(7.92)
    ("d2f{}", 12, 9),    # round(0.75 * 12)
    ("d2u{}", 8, 8),     # round(0.95 * 8) = round(7.6)
    ("d3f{}", 12, 6),    # round(0.5 * 12)
    ("d3u{}", 8, 7),     # round(0.9 * 8) = round(7.2)
    ("d4u{}", 6, 6),     # round(1.0 * 6)
])
def test_ipv6_capable_share(graph, pattern, count, capable):
    names = [pattern.format(n) for n in range(1, count + 1)]
    ipv6 = dual_stack(graph, names)
    assert len(ipv6) == capable
    # The rest are IPv4-only, never IPv6-only.
    assert all(node_spec(graph, n).families == IPV4_ONLY for n in set(names) - ipv6)


def test_lan_hosts_and_links_carry_the_cpe_families(graph):
    for d in ("d1", "d2", "d3"):
        for n in range(1, 13):
            cpe = f"{d}f{n}"
            families = node_spec(graph, cpe).families
            assert node_spec(graph, f"{cpe}h1").families == families
            assert link_spec(graph, cpe, f"{cpe}h1").families == families
            assert link_spec(graph, f"{d}o{(n - 1) % 2 + 1}", cpe).families == families
    for n in range(1, 9):
        assert link_spec(graph, "d3r", f"d3u{n}").families == node_spec(graph, f"d3u{n}").families


@pytest.mark.parametrize("name, represents, subscriber_class", [
    ("d1f1", 20000, "fixed"),      # ceil(240000 / 12)
    ("d1f1h1", 20000, "fixed"),
    ("d1u1", 76250, "mobile"),     # ceil(610000 / 8)
    ("d2f5h1", 15000, "fixed"),    # ceil(180000 / 12)
    ("d2u8", 52500, "mobile"),     # ceil(420000 / 8)
    ("d3f12", 7500, "fixed"),      # ceil(90000 / 12)
    ("d3u3", 37500, "mobile"),     # ceil(300000 / 8)
    ("d4u6", 25000, "mobile"),     # ceil(150000 / 6)
    ("d1bng", 0, None),
    ("i1v1", 0, None),
])
def test_represents(graph, name, represents, subscriber_class):
    assert node_spec(graph, name).represents == represents
    assert node_spec(graph, name).subscriber_class == subscriber_class


def test_represents_rounds_up():
    assert FixedAccess(subscribers=10, emulated_hosts=3).represents == 4
    assert MobileAccess(subscribers=9, emulated_hosts=3).represents == 3
    assert MobileAccess(subscribers=1, emulated_hosts=1).represents == 1


def test_idc_services_round_robin_in_catalogue_order(graph):
    def hosted(name):
        return node_spec(graph, name).services
    assert hosted("i1v1") == (ServiceSpec("ns", ServiceKind.DNS, DUAL_STACK),)
    assert hosted("i1v2") == (ServiceSpec("gov", ServiceKind.HTTP, DUAL_STACK),)
    assert hosted("i1v3") == (ServiceSpec("school", ServiceKind.HTTP, IPV4_ONLY),)
    assert hosted("i1v4") == (ServiceSpec("news", ServiceKind.HTTP, DUAL_STACK),)
    assert hosted("i1v5") == () and hosted("i1v6") == ()
    assert node_spec(graph, "i1v3").families == IPV4_ONLY
    assert link_spec(graph, "i1r2", "i1v3").families == IPV4_ONLY
    assert node_spec(graph, "i1v1").families == DUAL_STACK
    # Servers without a service are dual-stack.
    assert node_spec(graph, "i1v6").families == DUAL_STACK


@pytest.mark.parametrize("server, service, families", [
    ("x1", "video", DUAL_STACK),
    ("x2", "shop", IPV4_ONLY),
    ("x3", "lab6", IPV6_ONLY),
])
def test_outside_services(graph, server, service, families):
    assert node_spec(graph, server).services == (ServiceSpec(service, ServiceKind.HTTP, families),)
    assert node_spec(graph, server).families == families
    assert link_spec(graph, "xs", server).families == families


def test_same_seed_same_graph(spec, graph):
    again = city_graph(load_city(DEFAULT_CITY))
    assert dict(again.nodes(data=True)) == dict(graph.nodes(data=True))
    assert {frozenset((a, b)): d for a, b, d in again.edges(data=True)} == \
           {frozenset((a, b)): d for a, b, d in graph.edges(data=True)}


def test_another_seed_changes_which_cpes_are_ipv6_capable(spec, graph):
    cpes = [n for n in graph if node_spec(graph, n).role is Role.CPE]
    other = city_graph(dataclasses.replace(spec, seed=1))
    # Same shares (10 + 9 + 6 dual-stack CPEs), other CPEs.
    assert len(dual_stack(other, cpes)) == len(dual_stack(graph, cpes)) == 25
    assert dual_stack(other, cpes) != dual_stack(graph, cpes)
    assert set(other) == set(graph)


def test_city_generator(graph):
    assert GENERATORS["city"] is city
    assert city.PATH_PARAMS == ("spec",)
    built = city(spec=str(DEFAULT_CITY))
    assert dict(built.nodes(data=True)) == dict(graph.nodes(data=True))
    assert set(built.edges) == set(graph.edges)


def test_spec_is_frozen(spec):
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.seed = 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.districts[0].fixed.emulated_hosts = 3


# --- small specs -------------------------------------------------------------------


def test_defaults_of_a_small_spec():
    spec = parse_city(small(), "small.yaml")
    assert spec == CitySpec(
        name="small", description="", seed=1, metro=Metro("ring", 3, 1),
        districts=(District("d1", "d1", "c1", FixedAccess(100, 4, 0.0, olts=1, lan_hosts_per_cpe=1), None),),
        idcs=(Idc("i1", "i1", "c3", 2, 2, 2),),
        services=(Service("www", "i1", ServiceKind.HTTP, DUAL_STACK, 0.0),),
        transit_core="c1", source="small.yaml")
    graph = city_graph(spec)
    # ipv6_capable defaults to 0: every CPE is IPv4-only.
    assert all(node_spec(graph, f"d1f{n}").families == IPV4_ONLY for n in range(1, 5))


def test_default_cores_round_robin_and_idcs_from_the_end():
    district = {"mobile": {"subscribers": 10, "emulated_hosts": 1}}
    spec = parse_city(small(districts=[dict(district, id=f"d{n}") for n in range(1, 5)],
                            idcs=[{"id": "i1"}, {"id": "i2"}]))
    # Three cores: districts c1, c2, c3, c1; IDCs from the last core backwards.
    assert [d.core for d in spec.districts] == ["c1", "c2", "c3", "c1"]
    assert [i.core for i in spec.idcs] == ["c3", "c2"]


@pytest.mark.parametrize("layout, cores, edges", [
    ("ring", 1, set()),
    ("ring", 2, {("c1", "c2")}),
    ("ring", 3, {("c1", "c2"), ("c2", "c3"), ("c1", "c3")}),
    # Inner ring c1 c2 and outer ring c3 c4 (a ring of two is one link), rungs c1-c3 and c2-c4.
    ("dual-ring", 4, {("c1", "c2"), ("c3", "c4"), ("c1", "c3"), ("c2", "c4")}),
    # Inner ring c1 c2 c3, outer ring c4 c5 c6, rungs c1-c4, c2-c5, c3-c6.
    ("dual-ring", 6, {("c1", "c2"), ("c2", "c3"), ("c1", "c3"), ("c4", "c5"), ("c5", "c6"), ("c4", "c6"),
                      ("c1", "c4"), ("c2", "c5"), ("c3", "c6")}),
])
def test_metro_layouts(layout, cores, edges):
    graph = city_graph(parse_city(small(metro={"layout": layout, "core_routers": cores})))
    assert core_edges(graph) == edges


RING5 = {("c1", "c2"), ("c2", "c3"), ("c3", "c4"), ("c4", "c5"), ("c1", "c5")}
CHORDS5 = {("c1", "c3"), ("c1", "c4"), ("c2", "c4"), ("c2", "c5"), ("c3", "c5")}


def mesh(cores, links, seed):
    return core_edges(city_graph(parse_city(small(
        seed=seed, metro={"layout": "mesh", "core_routers": cores, "mesh_links": links}))))


def test_mesh_adds_chords_to_the_ring():
    for seed in (1, 2, 3):
        edges = mesh(5, 2, seed)
        assert len(edges) == 5 + 2
        assert RING5 <= edges
        assert edges - RING5 <= CHORDS5
        assert mesh(5, 2, seed) == edges


def test_mesh_chords_depend_on_the_seed():
    assert len({frozenset(mesh(5, 2, seed)) for seed in (1, 2, 3)}) > 1


def test_mesh_links_capped_at_the_chords_there_are():
    # Four cores have two chords (c1-c3, c2-c4): asking for five gives the full mesh.
    assert mesh(4, 5, 1) == {("c1", "c2"), ("c2", "c3"), ("c3", "c4"), ("c1", "c4"), ("c1", "c3"), ("c2", "c4")}
    assert mesh(4, 0, 1) == {("c1", "c2"), ("c2", "c3"), ("c3", "c4"), ("c1", "c4")}


def test_two_lan_hosts_get_a_lan_switch():
    graph = city_graph(parse_city(small(districts=[{"id": "d1", "fixed": {
        "subscribers": 100, "emulated_hosts": 2, "lan_hosts_per_cpe": 2, "ipv6_capable": 0.5}}])))
    for cpe in ("d1f1", "d1f2"):
        lan = f"{cpe}l"
        assert node_spec(graph, lan).role is Role.ACCESS_SWITCH
        assert node_spec(graph, lan).district == "d1"
        assert set(graph.neighbors(cpe)) == {"d1o1", lan}
        assert set(graph.neighbors(lan)) == {cpe, f"{cpe}h1", f"{cpe}h2"}
        families = node_spec(graph, cpe).families
        for name in (lan, f"{cpe}h1", f"{cpe}h2"):
            assert node_spec(graph, name).families == families
        assert link_spec(graph, cpe, lan).families == families
        assert link_spec(graph, lan, f"{cpe}h2").families == families
        assert node_spec(graph, f"{cpe}h2").represents == 50    # ceil(100 / 2)
    # round(0.5 * 2) = 1 of the two CPEs is dual-stack.
    assert len(dual_stack(graph, ["d1f1", "d1f2"])) == 1


def test_more_services_than_servers_wrap_and_merge_families():
    graph = city_graph(parse_city(small(
        idcs=[{"id": "i1", "spines": 1, "leaves": 1, "servers_per_leaf": 1}],
        services=[{"name": "a", "at": "i1", "families": "ipv4-only"},
                  {"name": "b", "at": "outside", "families": "ipv6-only"},
                  {"name": "c", "at": "i1", "families": "ipv6-only", "kind": "dns"}])))
    assert node_spec(graph, "i1v1").services == (
        ServiceSpec("a", ServiceKind.HTTP, IPV4_ONLY), ServiceSpec("c", ServiceKind.DNS, IPV6_ONLY))
    # An IPv4-only and an IPv6-only service on one server: the server has both families.
    assert node_spec(graph, "i1v1").families == DUAL_STACK
    assert node_spec(graph, "x1").services == (ServiceSpec("b", ServiceKind.HTTP, IPV6_ONLY),)
    assert "x2" not in graph


def test_mobile_only_and_fixed_only_districts():
    graph = city_graph(parse_city(small(districts=[
        {"id": "a", "mobile": {"subscribers": 10, "emulated_hosts": 2}},
        {"id": "b", "fixed": {"subscribers": 10, "emulated_hosts": 2}}])))
    assert {n for n in graph if node_spec(graph, n).district == "a"} == {"am", "aagg", "agw", "ar", "au1", "au2"}
    assert {n for n in graph if node_spec(graph, n).district == "b"} == {
        "bm", "bagg", "bbng", "bo1", "bf1", "bf1h1", "bf2", "bf2h1"}


SMALL_CITIES = {
    "ring-2": small(metro={"core_routers": 2}),
    "ring-3": small(),
    "dual-ring-4": small(metro={"layout": "dual-ring", "core_routers": 4}),
    "dual-ring-6": small(metro={"layout": "dual-ring", "core_routers": 6}),
    "mesh-5": small(metro={"layout": "mesh", "core_routers": 5, "mesh_links": 3}),
    "lan-hosts": small(districts=[{"id": "d1", "fixed": {
        "subscribers": 100, "emulated_hosts": 3, "lan_hosts_per_cpe": 3, "ipv6_capable": 0.7, "olts": 2}}]),
    "no-idc": small(idcs=[], services=[{"name": "www", "families": "ipv6-only"}]),
}


@pytest.mark.parametrize("name", ["default"] + sorted(SMALL_CITIES))
def test_every_city_validates_and_gets_addresses(name):
    graph = city_graph(load_city(DEFAULT_CITY) if name == "default" else parse_city(SMALL_CITIES[name]))
    validate(graph)
    plan = plan_addresses(graph)
    assert plan is not None


# --- bad specs, one fixture file each ------------------------------------------------


def fixture_problems(name):
    path = FIXTURES / name
    with pytest.raises(ConfigError) as error:
        load_city(path)
    return path, error.value.problems


@pytest.mark.parametrize("name, expected", [
    ("unknown-key.yaml", [
        "distrcts: unknown key (did you mean 'districts'?)",
        # follows from the misspelling: the city has no 'districts'
        "districts: expected a list of at least one district"]),
    ("more-hosts.yaml", [
        "districts[0].fixed.emulated_hosts: 4 emulated hosts for 3 subscribers: each host stands for at least "
        "one subscriber; lower emulated_hosts"]),
    ("no-access.yaml", [
        "districts[0]: a district with no access network: give it 'fixed', 'mobile' or both"]),
    ("unknown-idc.yaml", [
        "services[0].at: no IDC 'i11': 'at' takes an IDC id or 'outside' (did you mean 'i1'?)"]),
    ("unknown-core.yaml", [
        "districts[0].core: no core router 'c9'; the metro has c1, c2, c3"]),
    ("long-id.yaml", [
        "districts[0].id: 'pudong': district ids are 1-3 characters, a lower-case letter then letters or digits "
        "(it prefixes node names); give the long name in 'name'"]),
    ("duplicate-ids.yaml", [
        "districts[1].id: 'd1' is already the id of another district or IDC"]),
    ("ipv6-share.yaml", [
        "districts[0].mobile.ipv6_capable: must be between 0 and 1, got 1.5"]),
    ("unknown-layout.yaml", [
        "metro.layout: unknown layout 'star' (known layouts: dual-ring, mesh, ring)"]),
    ("dual-ring-odd.yaml", [
        "metro.core_routers: a dual ring needs an even number of at least 4 routers, got 5"]),
    ("duplicate-services.yaml", [
        "services[1].name: service 'www' is listed twice"]),
    ("bad-service-name.yaml", [
        "services[0].name: 'web_1' is not a DNS label: lower-case letters, digits and '-', not starting or "
        "ending with '-'"]),
    # One line: not also the missing name, districts and services that follow from it.
    ("empty.yaml", [
        "empty city spec: it needs a name, districts and services"]),
])
def test_bad_spec(name, expected):
    path, problems = fixture_problems(name)
    assert problems == [f"{path}: {line}" for line in expected]


def test_wrong_type_reports_only_the_wrong_type():
    # Regression: subscribers: many fell back to 1 and also reported "4 emulated hosts for 1 subscribers",
    # a problem the file does not have.
    path, problems = fixture_problems("wrong-type.yaml")
    assert problems == [f"{path}: districts[0].fixed.subscribers: expected int, got 'many'"]


def test_not_yaml():
    path, problems = fixture_problems("not-yaml.yaml")
    # Line 3 ("  seed: 2"), column 7.
    assert problems == [f"{path}:3:7: not valid YAML: mapping values are not allowed here"]


def test_several_problems_in_one_error():
    path = FIXTURES / "several-problems.yaml"
    with pytest.raises(ConfigError) as error:
        load_city(path)
    expected = [f"{path}: {line}" for line in [
        "metro.mesh_link: unknown key (did you mean 'mesh_links'?)",
        "districts[1].fixed.emulated_hosts: 8 emulated hosts for 5 subscribers: each host stands for at least "
        "one subscriber; lower emulated_hosts",
        # the YAML says 2; the float field reports it as 2.0
        "districts[1].fixed.ipv6_capable: must be between 0 and 1, got 2.0",
        "districts[1].core: no core router 'c7'; the metro has c1, c2, c3",
        "idcs[0].spines: must be at least 1, got 0",
        "services[0].at: no IDC 'i2': 'at' takes an IDC id or 'outside' (known places: i1, outside)",
        "services[1].name: service 'www' is listed twice",
        "services[1].families: unknown families 'dual' (known values: dual-stack, ipv4-only, ipv6-only)",
    ]]
    assert error.value.problems == expected
    assert str(error.value) == "\n".join(expected)
    assert isinstance(error.value, TestbedError)
    assert error.value.exit_status == 2


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as error:
        load_city(path)
    assert error.value.problems == [f"{path}: no such city spec file; see topologies/cities/ for examples"]


def test_folder(tmp_path):
    with pytest.raises(ConfigError) as error:
        load_city(tmp_path)
    assert error.value.problems == [
        f"{tmp_path}: is a folder; give a city spec file; see topologies/cities/ for examples"]


def test_special_file_is_not_called_a_folder(tmp_path):
    path = tmp_path / "pipe.yaml"
    os.mkfifo(path)
    with pytest.raises(ConfigError) as error:
        load_city(path)
    [problem] = error.value.problems
    assert problem.startswith(f"{path}: ")
    assert "give a city spec file" in problem
    assert "folder" not in problem


# --- bad specs built in the test ------------------------------------------------------


def test_top_level_not_a_mapping():
    assert problems_of(["name", "x"]) == [
        "city.yaml: expected a mapping, got list ['name', 'x']",
        "city.yaml: name: missing: every city has a name",
        "city.yaml: districts: expected a list of at least one district",
        "city.yaml: services: expected a list of at least one service (name, at, families)",
    ]


def test_problems_in_access_and_idcs():
    assert problems_of(small(
        districts=[{"id": "d1", "fixed": {"emulated_hosts": 0, "olts": 10, "lan_hosts_per_cpe": 10},
                    "mobile": {"subscribers": 5000, "emulated_hosts": 1000, "ipv6_capable": True}}],
        idcs=[{"id": "I1", "leaves": 10}])) == [
        "city.yaml: districts[0].fixed.subscribers: missing: how many real subscribers, and how many emulated "
        "hosts stand for them",
        "city.yaml: districts[0].fixed.emulated_hosts: must be at least 1, got 0",
        "city.yaml: districts[0].fixed.olts: must be at most 9, got 10",
        "city.yaml: districts[0].fixed.lan_hosts_per_cpe: must be at most 9, got 10",
        "city.yaml: districts[0].mobile.emulated_hosts: must be at most 999, got 1000",
        "city.yaml: districts[0].mobile.ipv6_capable: expected float, got True",
        "city.yaml: idcs[0].id: 'I1': IDC ids are 1-3 characters, a lower-case letter then letters or digits "
        "(it prefixes node names); give the long name in 'name'",
        "city.yaml: idcs[0].leaves: must be at most 9, got 10",
        "city.yaml: services[0].at: no IDC 'i1': 'at' takes an IDC id or 'outside' (known places: I1, outside)",
    ]


def test_access_not_a_mapping():
    assert problems_of(small(districts=[{"id": "d1", "fixed": 5}])) == [
        "city.yaml: districts[0].fixed: expected a mapping, got int 5",
        "city.yaml: districts[0]: a district with no access network: give it 'fixed', 'mobile' or both",
    ]


def test_value_suggestions():
    assert problems_of(small(metro={"layout": "dual_ring", "core_routers": 4})) == [
        "city.yaml: metro.layout: unknown layout 'dual_ring' (did you mean 'dual-ring'?)"]
    assert problems_of(small(services=[{"name": "www", "at": "i1", "kind": "htp", "families": "ipv6"}])) == [
        "city.yaml: services[0].kind: unknown kind 'htp' (did you mean 'http'?)",
        "city.yaml: services[0].families: unknown families 'ipv6' (did you mean 'ipv6-only'?)",
    ]
    assert problems_of(small(districts=[{"id": "d1", "mobile": {"subscribers": 5, "emulated_hosts": 1},
                                         "fixd": {}}])) == [
        "city.yaml: districts[0].fixd: unknown key (did you mean 'fixed'?)"]


def test_dual_ring_too_small():
    assert problems_of(small(metro={"layout": "dual-ring", "core_routers": 2})) == [
        "city.yaml: metro.core_routers: a dual ring needs an even number of at least 4 routers, got 2"]


def test_bad_seed_and_description_are_reported():
    # Regression: seed and description were read after the parser had decided there were no problems,
    # so seed: 'abc' became 1 and description: 5 passed silently.
    assert problems_of(small(seed="abc", description=5)) == [
        "city.yaml: description: expected str, got 5",
        "city.yaml: seed: expected int, got 'abc'",
    ]


def test_seed_and_description_are_kept():
    spec = parse_city(small(seed=42, description="two words"))
    assert (spec.seed, spec.description) == (42, "two words")


def test_transit_core_is_used():
    # Regression: transit_core was read from the key 'core', which the top level never has.
    spec = parse_city(small(transit_core="c3"))
    assert spec.transit_core == "c3"
    graph = city_graph(spec)
    assert set(graph.neighbors("xm")) == {"c3", "tr1"}
    assert set(graph.neighbors("c1")) == {"c2", "c3", "d1m"}
    assert set(graph.neighbors("c3")) == {"c1", "c2", "i1s1", "i1s2", "xm"}


def test_unknown_transit_core_is_reported():
    # Regression: same cause; c9 on a three-router metro was accepted silently.
    assert problems_of(small(transit_core="c9")) == [
        "city.yaml: transit_core: no core router 'c9'; the metro has c1, c2, c3"]


def test_transit_core_of_the_wrong_type():
    assert problems_of(small(transit_core=3)) == ["city.yaml: transit_core: expected str, got 3"]


def test_transit_core_checked_against_the_metro_it_names():
    # Five core routers: c5 exists.
    spec = parse_city(small(metro={"core_routers": 5}, transit_core="c5"))
    assert set(city_graph(spec).neighbors("xm")) == {"c5", "tr1"}
    assert problems_of(small(metro={"core_routers": 2}, transit_core="c3")) == [
        "city.yaml: transit_core: no core router 'c3'; the metro has c1, c2"]


def test_empty_mapping_gives_one_line():
    assert problems_of({}) == ["city.yaml: empty city spec: it needs a name, districts and services"]
    assert problems_of(None) == ["city.yaml: empty city spec: it needs a name, districts and services"]


def test_more_hosts_than_one_subscriber_is_singular():
    assert problems_of(small(districts=[{"id": "d1", "mobile": {"subscribers": 1, "emulated_hosts": 4}}])) == [
        "city.yaml: districts[0].mobile.emulated_hosts: 4 emulated hosts for 1 subscriber: each host stands for "
        "at least one subscriber; lower emulated_hosts"]


@pytest.mark.parametrize("access, expected", [
    # A wrong-typed or out-of-range count is not also compared with the other one.
    ({"subscribers": 2, "emulated_hosts": "4"}, "emulated_hosts: expected int, got '4'"),
    ({"subscribers": 0, "emulated_hosts": 4}, "subscribers: must be at least 1, got 0"),
    ({"subscribers": 2.5, "emulated_hosts": 4}, "subscribers: expected int, got 2.5"),
    ({"subscribers": 2, "emulated_hosts": 1000}, "emulated_hosts: must be at most 999, got 1000"),
])
def test_a_bad_count_is_reported_alone(access, expected):
    assert problems_of(small(districts=[{"id": "d1", "mobile": access}])) == [
        f"city.yaml: districts[0].mobile.{expected}"]


def test_missing_subscribers_reported_alone():
    assert problems_of(small(districts=[{"id": "d1", "fixed": {"emulated_hosts": 4}}])) == [
        "city.yaml: districts[0].fixed.subscribers: missing: how many real subscribers, and how many emulated "
        "hosts stand for them"]


def test_value_lists_say_what_they_list():
    assert problems_of(small(services=[{"name": "www", "at": "zz", "kind": "ftp", "families": "nat64"}])) == [
        "city.yaml: services[0].at: no IDC 'zz': 'at' takes an IDC id or 'outside' (known places: i1, outside)",
        "city.yaml: services[0].kind: unknown kind 'ftp' (known kinds: dns, http)",
        "city.yaml: services[0].families: unknown families 'nat64' (known values: dual-stack, ipv4-only, "
        "ipv6-only)",
    ]


@pytest.mark.parametrize("name", ["-www", "www-", "Www", "w.w"])
def test_service_names_are_dns_labels(name):
    assert problems_of(small(services=[{"name": name, "at": "i1"}])) == [
        f"city.yaml: services[0].name: {name!r} is not a DNS label: lower-case letters, digits and '-', not "
        "starting or ending with '-'"]


def test_service_name_with_inner_dashes_is_a_label():
    assert parse_city(small(services=[{"name": "w-1-x", "at": "i1"}])).services[0].name == "w-1-x"


# --- node names that two parts of the city would share -------------------------------

X_DISTRICT = {"id": "x", "core": "c2", "mobile": {"subscribers": 10, "emulated_hosts": 1}}


def test_district_id_x_does_not_merge_with_the_outside():
    # Regression: district x's metro switch is 'xm', the outside network's metro switch; the two were merged
    # into one node (linking c1, c2, tr1 and xagg). Now the spec is refused.
    problems = problems_of(small(districts=[X_DISTRICT], services=[{"name": "www"}]))
    assert len(problems) == 1
    assert problems[0].startswith("city.yaml: ")
    assert problems[0].endswith("; choose another id")
    for part in ("node name 'xm' is also a node of", "districts[0] (id 'x')", "the outside network"):
        assert part in problems[0]


def test_idc_id_t_does_not_merge_with_the_transit_router():
    # Regression: IDC t's first rack switch is 'tr1', the transit router; the two were merged.
    problems = problems_of(small(idcs=[{"id": "t"}], services=[{"name": "www", "at": "t"}]))
    assert len(problems) == 1
    assert problems[0].startswith("city.yaml: ")
    assert problems[0].endswith("; choose another id")
    for part in ("node name 'tr1' is also a node of", "idcs[0] (id 't')", "the outside network"):
        assert part in problems[0]


def test_name_clash_is_a_config_error_from_load_city(tmp_path):
    path = tmp_path / "clash.yaml"
    path.write_text("name: clash\ndistricts:\n  - id: x\n    mobile: {subscribers: 10, emulated_hosts: 1}\n"
                    "services:\n  - {name: www}\n")
    with pytest.raises(ConfigError) as error:
        load_city(path)
    assert len(error.value.problems) == 1
    assert error.value.problems[0].startswith(f"{path}: ")
    assert error.value.exit_status == 2


def test_name_clash_names_the_part_whose_id_to_change():
    assert problems_of(small(districts=[X_DISTRICT], idcs=[{"id": "t"}], services=[{"name": "www", "at": "t"}])) == [
        "city.yaml: districts[0] (id 'x'): node name 'xm' is also a node of the outside network; choose another id",
        "city.yaml: idcs[0] (id 't'): node name 'tr1' is also a node of the outside network; choose another id",
    ]


@pytest.mark.parametrize("data, nodes", [
    # IDC x: xs1, xs2, xl1, xl2, xr1, xr2, xv1..xv4 -- none of them xm, xs or x1.
    # 3 cores + d1 (d1m, d1agg, d1bng, d1o1, 4 CPEs, 4 hosts = 12) + 10 + outside xm, tr1, xs, x1 = 29.
    (small(idcs=[{"id": "x"}], services=[{"name": "www", "at": "x"}, {"name": "ext"}]), 3 + 12 + 10 + 4),
    # District t (mobile): tm, tagg, tgw, tr, tu1 -- 'tr' is not 'tr1'. 3 + 5 + IDC i1 10 + xm, tr1, xs = 21.
    (small(districts=[{"id": "t", "mobile": {"subscribers": 10, "emulated_hosts": 1}}]), 3 + 5 + 10 + 3),
])
def test_ids_that_only_look_alike_are_accepted(data, nodes):
    graph = city_graph(parse_city(data))
    assert graph.number_of_nodes() == nodes

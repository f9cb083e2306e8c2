"""simulator.measurements.connectivity: cells, expected outcomes and probe input on the default slice.

Addresses used below (see test_address_plan.py): web 10.64.2.3 / 2001:db8:64:1::3,
dns 10.64.2.2 / 2001:db8:64:1::2; d1h* are dual-stack, d2h* IPv4-only.
"""

import dataclasses
import json
import sys
from types import SimpleNamespace

import pytest

from simulator.measurements import connectivity
from simulator.measurements.connectivity import (
    Cell,
    build_cells,
    expected,
    probe_checks,
)
from simulator.model.address_plan import plan_addresses
from simulator.model.city_model import CityModel
from simulator.model.resolvers import dns_server
from simulator.model.routing import compute_routes
from topologies import city_slice
from topologies.spec import IPV4_ONLY, Family, ServiceKind, ServiceSpec, node_spec

V4, V6 = Family.IPV4, Family.IPV6
WWW, NS = "www.city.test", "ns.city.test"
DNS4, DNS6 = "10.64.2.2", "2001:db8:64:1::2"
WEB4, WEB6 = "10.64.2.3", "2001:db8:64:1::3"


def build(graph):
    plan = plan_addresses(graph)
    return graph, plan, compute_routes(graph, plan)


@pytest.fixture(scope="module")
def network():
    return build(city_slice())


@pytest.fixture(scope="module")
def cells(network):
    graph, plan, _ = network
    return build_cells(city_of(graph, plan))


def city_of(graph, plan):
    return CityModel(graph, plan, compute_routes(graph, plan), "city.test")


def by_id(cells):
    return {cell.id: cell for cell in cells}


def test_subscribers_services_dns_server(network):
    graph, _, _ = network
    city = CityModel(graph, network[1], network[2], "city.test")
    assert [s.node for s in city.subscribers] == ["d1h1", "d1h2", "d2h1", "d2h2"]
    assert [(s.fqdn, s.server) for s in city.services] == [
        (NS, "dns"), (WWW, "web")]
    assert dns_server(graph) == "dns"


def test_32_cells(cells):
    # 4 clients x 2 services x 2 families x 2 methods (ping + http for www, ping + dns for ns).
    assert len(cells) == 32
    assert len({c.id for c in cells}) == 32
    assert sorted({c.method for c in cells}) == ["dns", "http", "ping"]
    assert sum(c.method == "ping" for c in cells) == 16
    assert sum(c.method == "http" for c in cells) == 8
    assert sum(c.method == "dns" for c in cells) == 8


def test_cells_of_d1h1(cells):
    assert [c for c in cells if c.client == "d1h1"] == [
        Cell("d1h1", NS, "dns", V4, "ping", DNS4),
        Cell("d1h1", NS, "dns", V4, "dns", DNS4),
        Cell("d1h1", NS, "dns", V6, "ping", DNS6),
        Cell("d1h1", NS, "dns", V6, "dns", DNS6),
        Cell("d1h1", WWW, "web", V4, "ping", WEB4),
        Cell("d1h1", WWW, "web", V4, "http", WWW, DNS6),
        Cell("d1h1", WWW, "web", V6, "ping", WEB6),
        Cell("d1h1", WWW, "web", V6, "http", WWW, DNS6),
    ]


def test_http_cells_use_the_resolver(cells, network):
    _, plan, _ = network
    cells = by_id(cells)
    # The slice's hosts have planned addresses: the plan gives them the city's DNS,
    # first over IPv6 where they have it (d1h1), else over IPv4 (d2h1).
    graph = network[0]
    assert cells["d1h1|www.city.test|ipv4|http"].resolver == DNS6
    assert cells["d1h1|www.city.test|ipv6|http"].resolver == DNS6
    assert cells["d2h1|www.city.test|ipv4|http"].resolver == DNS4
    assert cells["d2h1|www.city.test|ipv6|http"].resolver == DNS4
    assert CityModel(graph, plan, {}, "city.test").resolver("d1h1") == DNS6
    assert CityModel(graph, plan, {}, "city.test").resolver("d2h1") == DNS4


def test_cell_id():
    assert Cell("d2h1", WWW, "web", V6, "http", WWW, DNS4).id == "d2h1|www.city.test|ipv6|http"


def test_only_ping_cells_without_http_and_dns(network):
    graph, plan, _ = network
    cells = build_cells(city_of(graph, plan), http=False, dns=False)
    assert len(cells) == 16
    assert {c.method for c in cells} == {"ping"}


def test_expected_table(network, cells):
    graph, plan, routes = network
    table = {c.id: expected(CityModel(graph, plan, routes, "city.test"), c)[0] for c in cells}
    # District d1 (dual-stack): everything works.
    # District d2 (IPv4-only): every IPv4 cell works, every IPv6 cell fails.
    assert table == {
        f"{client}|{service}|{family}|{method}": client.startswith("d1") or family == "ipv4"
        for client in ("d1h1", "d1h2", "d2h1", "d2h2")
        for service, methods in ((NS, ("ping", "dns")), (WWW, ("ping", "http")))
        for family in ("ipv4", "ipv6")
        for method in methods
    }


def test_expected_reasons(network, cells):
    graph, plan, routes = network
    cells = by_id(cells)

    def why(cell_id):
        return expected(CityModel(graph, plan, routes, "city.test"), cells[cell_id])

    assert why("d1h1|www.city.test|ipv6|ping") == (True, "IPv6 path d1h1 > bng1 > core > idcgw > web")
    assert why("d1h1|ns.city.test|ipv4|dns") == (True, "IPv4 path d1h1 > bng1 > core > idcgw > dns")
    assert why("d1h1|www.city.test|ipv6|http") == (True, "IPv6 path d1h1 > bng1 > core > idcgw > web")
    assert why("d2h1|www.city.test|ipv4|http") == (True, "IPv4 path d2h1 > bng2 > core > idcgw > web")
    assert why("d2h1|www.city.test|ipv6|ping") == (False, "d2h1 has no IPv6 address")
    assert why("d2h1|ns.city.test|ipv6|dns") == (False, "d2h1 has no IPv6 address")
    # The resolver is reachable over IPv4, then the IPv6 leg fails for the same reason.
    assert why("d2h1|www.city.test|ipv6|http") == (False, "d2h1 has no IPv6 address")


def test_expected_after_link_failure():
    graph = city_slice()
    graph.remove_edge("core", "m1")
    graph, plan, routes = build(graph)
    cells = by_id(build_cells(city_of(graph, plan)))

    def why(cell_id):
        return expected(CityModel(graph, plan, routes, "city.test"), cells[cell_id])

    assert why("d1h1|www.city.test|ipv4|ping") == (False, "no IPv4 route from d1h1 to web")
    assert why("d1h1|www.city.test|ipv6|http") == (
        False, "resolver unreachable: no IPv6 route from d1h1 to dns")
    assert why("d2h1|www.city.test|ipv4|http")[0] is True


def test_expected_without_dns_server():
    graph = city_slice()
    graph.nodes["dns"]["spec"] = dataclasses.replace(node_spec(graph, "dns"), services=())
    graph, plan, routes = build(graph)
    assert CityModel(graph, plan, {}, "city.test").resolver("d2h1") is None
    cells = build_cells(city_of(graph, plan))
    # Only www is left: 4 clients x 2 families x (ping + http).
    assert len(cells) == 16
    http = by_id(cells)["d1h1|www.city.test|ipv4|http"]
    assert http.resolver is None
    assert expected(CityModel(graph, plan, routes, "city.test"), http) == (False, "d1h1 has no DNS server it can reach")


def test_probe_checks(cells):
    checks = probe_checks(cells, ping_count=5)
    assert sorted(checks) == ["d1h1", "d1h2", "d2h1", "d2h2"]
    assert all(len(items) == 8 for items in checks.values())
    assert checks["d1h1"] == [
        {"id": "d1h1|ns.city.test|ipv4|ping", "method": "ping", "address": DNS4, "count": 5},
        {"id": "d1h1|ns.city.test|ipv4|dns", "method": "dns", "server": DNS4, "name": NS, "record_family": 4},
        {"id": "d1h1|ns.city.test|ipv6|ping", "method": "ping", "address": DNS6, "count": 5},
        {"id": "d1h1|ns.city.test|ipv6|dns", "method": "dns", "server": DNS6, "name": NS, "record_family": 4},
        {"id": "d1h1|www.city.test|ipv4|ping", "method": "ping", "address": WEB4, "count": 5},
        {"id": "d1h1|www.city.test|ipv4|http", "method": "http", "name": WWW,
         "family": 4, "marker": "v6lab-service:www.city.test"},
        {"id": "d1h1|www.city.test|ipv6|ping", "method": "ping", "address": WEB6, "count": 5},
        {"id": "d1h1|www.city.test|ipv6|http", "method": "http", "name": WWW,
         "family": 6, "marker": "v6lab-service:www.city.test"},
    ]
    assert checks["d2h1"][7] == {"id": "d2h1|www.city.test|ipv6|http", "method": "http",
                                 "name": WWW, "family": 6, "marker": "v6lab-service:www.city.test"}
    json.dumps(checks)  # the probe gets them as one JSON argument


class FakeBackend:
    """Answers run_many like the probe would: one JSON line per check it was given."""

    def __init__(self, outcome):
        self.outcome = outcome
        self.commands = None

    def run_many(self, commands, timeout=None):
        # One call per client (a few clients at a time): keep them all.
        self.commands, self.timeout = {**(self.commands or {}), **commands}, timeout
        results = {}
        for client, command in commands.items():
            lines = [json.dumps({"id": check["id"], **self.outcome(check)}) for check in json.loads(command[-1])]
            results[client] = SimpleNamespace(stdout="noise\n" + "\n".join(lines) + "\n")
        return results


def test_measure_marks_findings(network):
    graph, plan, routes = network
    cells = [c for c in build_cells(city_of(graph, plan)) if c.client in ("d1h1", "d2h1")]
    # The fake network: everything over IPv4 works, nothing over IPv6.
    backend = FakeBackend(lambda check: {"ok": "ipv4" in check["id"]})
    city = CityModel(graph, plan, routes, "city.test")
    records = {r["id"]: r for r in connectivity.measure(backend, city, cells, ping_count=2)}
    assert sorted(backend.commands) == ["d1h1", "d2h1"]
    assert backend.commands["d1h1"][:6] == ["nice", "-n", "19", sys.executable, "-m", "simulator.measurements.probe"]
    # 8 checks per client: timeout 60 + 10 * 8.
    assert backend.timeout == 140
    d1 = records["d1h1|www.city.test|ipv6|ping"]
    assert (d1["expected"], d1["ok"], d1["as_expected"], d1["district"]) == (True, False, False, "d1")
    d2 = records["d2h1|www.city.test|ipv6|ping"]
    assert (d2["expected"], d2["ok"], d2["as_expected"], d2["district"]) == (False, False, True, "d2")
    assert d2["family"] == "ipv6" and d2["expected_reason"] == "d2h1 has no IPv6 address"
    # 16 cells, the 4 IPv6 cells of d1h1 are the only findings.
    assert sorted(i for i, r in records.items() if not r["as_expected"]) == [
        "d1h1|ns.city.test|ipv6|dns", "d1h1|ns.city.test|ipv6|ping",
        "d1h1|www.city.test|ipv6|http", "d1h1|www.city.test|ipv6|ping"]


def test_http_cell_for_a_service_without_aaaa():
    from simulator.network.preparation import zone_records

    graph = city_slice()
    graph.nodes["web"]["spec"] = dataclasses.replace(
        node_spec(graph, "web"), services=(ServiceSpec("www", ServiceKind.HTTP, IPV4_ONLY),))
    city = CityModel(*build(graph), "city.test")
    assert zone_records(city)["www"] == [WEB4]
    cell = by_id(build_cells(city))["d1h1|www.city.test|ipv6|http"]
    assert expected(city, cell) == (False, "www.city.test publishes no AAAA record")


def test_probe_slots_start_a_small_city_at_once_and_cap_a_large_one():
    from simulator.measurements.connectivity import probe_slots
    assert probe_slots(66, 2) == 64
    assert probe_slots(20, 2) == 20
    assert probe_slots(552, 2) == 64
    assert probe_slots(552, None) == 32

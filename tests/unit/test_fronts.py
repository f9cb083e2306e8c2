"""An IPv6 front for an IPv4-only service: an HTTP reverse proxy at its IDC's edge
(the city spec's ``front: proxy``, or a plan's ``{change: front, via: proxy}``). The
server is untouched; the name gains a AAAA, the front's; clients' IPv6 goes to the
front, which asks the server over IPv4."""

import pytest
import yaml

from simulator.measurements import connectivity
from simulator.model.address_plan import plan_city_addresses
from simulator.model.city_model import CityModel
from simulator.model.routing import compute_routes
from simulator.model.scenario import REPO_ROOT, parse_scenario
from simulator.network.daemons.web import ReverseProxy
from simulator.network.preparation import service_daemons, zone_records
from topologies.city import city_graph, parse_city
from topologies.errors import ConfigError
from topologies.spec import Family, node_spec

CITY = REPO_ROOT / "topologies" / "cities" / "migration.yaml"


def spec_with(**school):
    data = yaml.safe_load(CITY.read_text())
    data["services"] = [{**s, **school} if s["name"] == "school" else s for s in data["services"]]
    return data


def city_of(data):
    graph = city_graph(parse_city(data))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    return CityModel(graph, plan, compute_routes(graph, plan), "city.test")


def test_a_fronted_service_publishes_the_fronts_ipv6_beside_its_servers_ipv4():
    city = city_of(spec_with(front="proxy"))
    assert node_spec(city.graph, "i1p").fronts == ("school",) and list(city.graph.neighbors("i1p")) == ["i1s1"]
    school = city.service("school.city.test")
    server4 = city.plan.primary(school.server, Family.IPV4)
    front6 = city.plan.primary("i1p", Family.IPV6)
    assert (school.family_set, school.front) == ("dual-stack", "i1p")
    assert dict(school.addresses) == {Family.IPV4: server4, Family.IPV6: front6}
    assert (school.node_for(Family.IPV4), school.node_for(Family.IPV6)) == (school.server, "i1p")
    # The server itself stays IPv4-only.
    assert node_spec(city.graph, school.server).families == {Family.IPV4}
    assert zone_records(city)["school"] == [str(server4), str(front6)]
    proxies = [d for d in service_daemons(city) if isinstance(d, ReverseProxy)]
    assert [(p.node, p.listen, p.upstreams) for p in proxies] == [
        ("i1p", str(front6), {"school.city.test": str(server4)})]


def test_connectivity_goes_through_the_front_over_ipv6():
    data = spec_with(front="proxy")
    data["districts"][0]["fixed"]["mode"] = "dual-stack"
    city = city_of(data)
    cells = {c.id: c for c in connectivity.build_cells(city)}
    http6 = cells["d1f1h1|school.city.test|ipv6|http"]
    assert (http6.server, cells["d1f1h1|school.city.test|ipv4|http"].server) == ("i1p", city.service(
        "school.city.test").server)
    ok, why = connectivity.expected(city, http6)
    assert ok and "reverse proxy to IPv4" in why, why
    assert connectivity.expected(city, cells["d1f1h1|school.city.test|ipv6|ping"])[0]
    # An IPv4-only host still reaches it by its A record only.
    assert not connectivity.expected(city, cells["d2f1h1|school.city.test|ipv6|http"])[0]


@pytest.mark.parametrize("school, message", [
    ({"front": "siit-dc"}, "unknown front 'siit-dc' (known: proxy, an HTTP reverse proxy at the IDC's edge; SIIT-DC, "
                           "RFC 7755, goes the other way: it gives an IPv6-only server IPv4 reach, and is not built)"),
    ({"front": "proxy", "at": "outside"}, "school is outside, not in an IDC of the city: a front stands at an IDC's "
                                          "edge"),
    ({"front": "proxy", "families": "dual-stack"}, "school is not IPv4-only (dual-stack): a front gives IPv6 reach "
                                                   "to a server that has none"),
    ({"front": "proxy", "kind": "dns"}, "school is a dns service: an HTTP reverse proxy fronts web services only"),
])
def test_a_front_the_city_cannot_have(school, message):
    with pytest.raises(ConfigError) as error:
        parse_city(spec_with(**school), "city.yaml")
    assert error.value.problems == [f"city.yaml: services[2].front: {message}"]


def plan_of(changes):
    return parse_scenario({"name": "p", "topology": {"generator": "city", "params": {"spec": str(CITY)}},
                           "plan": [{"phase": "one", "changes": changes}]}, "p.yaml")


def test_a_plan_fronts_a_service_and_refuses_what_cannot_be():
    from simulator.model.migration import steps
    from topologies.city import load_city
    plan = plan_of([{"change": "front", "service": "school", "via": "proxy"}]).plan
    (step,) = steps(load_city(CITY), plan, "p.yaml")
    assert step.change.describe() == "school fronted by a reverse proxy"
    assert next(s for s in step.city.services if s.name == "school").front == "proxy"
    bad = plan_of([{"change": "front", "service": "shop", "via": "proxy"},
                   {"change": "front", "service": "school", "via": "siit-dc"},
                   {"change": "front", "service": "gov", "via": "proxy"},
                   {"change": "service", "service": "gov", "families": "dual-stack"},
                   {"change": "front", "service": "gov", "via": "proxy"}]).plan
    with pytest.raises(ConfigError) as error:
        steps(load_city(CITY), bad, "p.yaml")
    assert error.value.problems[:2] == [
        "p.yaml: plan[0].changes[0]: shop is outside, not in an IDC of the city: a front stands at an IDC's edge",
        "p.yaml: plan[0].changes[1].via: unknown front 'siit-dc' (known: proxy, an HTTP reverse proxy at the IDC's "
        "edge; SIIT-DC, RFC 7755, goes the other way: it gives an IPv6-only server IPv4 reach, and is not built)"]
    assert error.value.problems[2:] == [
        "p.yaml: plan[0].changes[3].service: gov already has an IPv6 front (proxy); changing a fronted service "
        "again is not built",
        "p.yaml: plan[0].changes[4].service: gov already has an IPv6 front (proxy); changing a fronted service "
        "again is not built"]


def test_the_proxy_configuration():
    proxy = ReverseProxy("i1p", "2001:db8:300:3::2", {"school.city.test": "11.64.0.70", "gov.city.test": "11.64.0.66"})
    conf = proxy.render(REPO_ROOT)["nginx.conf"]
    assert conf.count("listen [2001:db8:300:3::2]:80") == 2
    assert conf.count("default_server backlog=1024") == 1
    assert "server_name gov.city.test;\n        location / {\n            proxy_pass http://11.64.0.66:80;" in conf
    assert 'proxy_set_header Forwarded "for=\\"[$remote_addr]\\"";' in conf

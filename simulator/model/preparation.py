"""What a scenario decides before anything runs, from the files alone: the graph, the
address plan, the routes, the city model derived from them (``city_model``), the
controller's policy and the measurements' choices.

``model(scenario)`` is the pure half of ``simulator.network.preparation.prepare``,
which ``v6lab run`` and ``v6lab topo check`` both call: a problem found here stops
the run before it builds anything, and the check with the same message. Each
message is located: the file, the key path, the fix. A city's address plan is
located in the city file (``prefixes``), where the fix goes.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from simulator.model import transition
from simulator.model.address_plan import (
    AddressPlan,
    plan_addresses,
    plan_city_addresses,
)
from simulator.model.city_model import CityModel
from simulator.model.routing import Route, compute_routes
from simulator.model.scenario import Scenario
from topologies import GENERATORS
from topologies.errors import ConfigError, TopologyError
from topologies.spec import Family, Kind, Role, node_spec, validate


@dataclass(frozen=True)
class Model:
    scenario: Scenario
    graph: nx.Graph
    plan: AddressPlan
    routes: dict[str, list[Route]]
    # What the stages derive from the three: subscribers, services, resolvers, ...
    city: CityModel
    iperf_pair: tuple[str, str] | None
    capture_links: list[tuple[str, str]]
    controller_policy: dict


def build_graph(scenario: Scenario) -> nx.Graph:
    generator = GENERATORS[scenario.topology.generator]
    try:
        graph = generator(**scenario.topology.params)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{scenario.source}: topology.params: {error}") from None
    validate(graph)
    return graph


def address_plan(graph: nx.Graph, scenario: Scenario) -> AddressPlan:
    """A city's own prefixes when its generator gave them, else the scenario's pools."""
    if "prefixes" in graph.graph:
        try:
            return plan_city_addresses(graph, graph.graph["prefixes"])
        except TopologyError as error:
            # The fix goes into the city file's prefixes, not into the scenario.
            where = graph.graph.get("source", scenario.source)
            text = str(error)
            raise ConfigError(f"{where}: {text if text.startswith('prefixes') else 'prefixes: ' + text}") from None
    try:
        return plan_addresses(graph, scenario.addressing.ipv4_pool, scenario.addressing.ipv6_pool,
                              scenario.addressing.ipv4_prefixlen)
    except TopologyError as error:
        raise ConfigError(f"{scenario.source}: addressing: {error}") from None


def iperf_pair(city: CityModel, scenario: Scenario) -> tuple[str, str] | None:
    """The throughput step's client and server: the scenario's, or the first
    dual-stack subscriber and the first web server."""
    iperf = scenario.measurements.iperf
    if iperf is None:
        return None
    graph = city.graph
    subscribers = [s.node for s in city.subscribers]
    client = iperf.client or next((s.node for s in city.subscribers if s.families == frozenset(Family)),
                                  subscribers[0] if subscribers else None)
    server = iperf.server or next((s.server for s in city.web_services()), None)

    def checked(role: str, name: str | None) -> str:
        if name is None or name not in graph or node_spec(graph, name).kind is Kind.SWITCH:
            raise ConfigError(f"{scenario.source}: measurements.iperf.{role}: {name!r} is not a host or "
                              f"router of the topology (hosts: {', '.join(subscribers)})")
        return name
    return checked("client", client), checked("server", server)


def links_to_capture(graph: nx.Graph, scenario: Scenario) -> list[tuple[str, str]]:
    """(a, b) for each link of measurements.capture; 'translators' is the link of
    each NAT64 and AFTR, captured at the translator."""
    found = []
    for index, item in enumerate(scenario.measurements.capture):
        if item == "translators":
            found += [(n, next(iter(sorted(graph.neighbors(n))))) for n in sorted(graph)
                      if node_spec(graph, n).role in (Role.NAT64, Role.AFTR)]
            continue
        a, b = item.split("--")
        if graph.has_edge(a, b) and node_spec(graph, a).kind is Kind.SWITCH:
            raise ConfigError(f"{scenario.source}: measurements.capture[{index}]: {item!r} starts at switch {a}; "
                              f"a capture is taken at the first end, which must be a host or router: write "
                              f"'{b}--{a}'")
        if not graph.has_edge(a, b):
            links = sorted(f"{x}--{y}" for x, y in graph.edges(a)) if a in graph else []
            raise ConfigError(f"{scenario.source}: measurements.capture[{index}]: {item!r} is not a link from a "
                              "host or router of this topology" + (f" ({a}'s links: {', '.join(links)})"
                                                                   if links else ""))
        found.append((a, b))
    return list(dict.fromkeys(found))


def check_all_pairs(graph: nx.Graph, scenario: Scenario) -> None:
    tunnelled = {"ds-lite", "464xlat"} & set(transition.mechanisms_used(graph))
    if scenario.measurements.all_pairs and tunnelled:
        raise ConfigError(f"{scenario.source}: measurements.all_pairs: not available for a city with "
                          f"{' and '.join(sorted(tunnelled))}: what every host reaches through a softwire or a CLAT "
                          "(an AFTR hairpinning between two B4s, say) is not modelled yet, so pairs would be "
                          "judged against wrong expectations; the transition matrix measures these hosts")


def model(scenario: Scenario, graph: nx.Graph | None = None, plan: AddressPlan | None = None) -> Model:
    """Every pure stage of a run, in the run's order; raises the run's ConfigError.
    ``graph`` and ``plan``: one state of a migration rehearsal (``rehearsal.py``), in
    place of the scenario's city as it is built and numbered alone."""
    graph = build_graph(scenario) if graph is None else graph
    plan = address_plan(graph, scenario) if plan is None else plan
    routes = compute_routes(graph, plan)
    city = CityModel(graph, plan, routes, scenario.zone)
    pair = iperf_pair(city, scenario)
    capture = links_to_capture(graph, scenario)
    check_all_pairs(graph, scenario)
    return Model(scenario, graph, plan, routes, city, pair, capture, transition.controller_policy(graph, plan))

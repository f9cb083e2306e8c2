"""A migration rehearsal's city in every state, and the one network that holds them all.

A plan (``simulator.model.migration``) takes the city through states: before the plan,
then after each change (``migration.steps``: a rehearsal applies changes one at a time).
The rehearsal builds one network and changes it live, so:

- the network is the **layout**: every node and link of every state (a translator
  deployed in phase 2 is there from the start, unconfigured until then; one that
  moves is linked to both cores, one link unused in each state), each link and node
  with every family it carries in any state;
- each state's graph keeps its port numbers pinned to the layout's
  (``address_plan.layout_ports``), so an interface's name never moves;
- each state's address plan reserves room for every state
  (``plan_city_addresses(sizing=...)``): an address two states share is the same
  in both, so a change that does not have to move a flow's addresses does not.

``models(scenario)`` gives, for each state, the same ``Model`` a run of that city
would have; ``simulator.network.preparation.prepare_rehearsal`` adds each state's node
configurations and daemons.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import networkx as nx

from simulator.model.address_plan import layout_ports, plan_city_addresses
from simulator.model.migration import Step, refused_state, walk
from simulator.model.preparation import Model, model
from simulator.model.scenario import Scenario
from topologies.city import city_graph
from topologies.errors import TopologyError
from topologies.spec import link_spec, node_spec, validate


@dataclass(frozen=True)
class Rehearsal:
    layout: nx.Graph                # the network as built
    names: tuple[str, ...]          # "before", then each phase's name
    steps: tuple[Step, ...]         # every change, in the order it is applied
    models: tuple[Model, ...]       # the city before the plan, then after each step


def layout_graph(graphs: list[nx.Graph]) -> nx.Graph:
    """Every node and link of every graph; a node's or link's families are all those
    it has in any of them, the rest of its description the first graph's."""
    layout: nx.Graph = nx.Graph(**graphs[0].graph)
    for graph in graphs:
        for node in graph:
            spec = node_spec(graph, node)
            if node in layout:
                known = node_spec(layout, node)
                if known.kind is not spec.kind:
                    raise TopologyError(f"node {node} is a {known.kind.value} in one state and a {spec.kind.value} "
                                        "in another: a running network cannot change what a node is")
                spec = replace(known, families=known.families | spec.families)
            layout.add_node(node, spec=spec)
        for a, b in graph.edges:
            link = link_spec(graph, a, b)
            if layout.has_edge(a, b):
                link = replace(link_spec(layout, a, b), families=link_spec(layout, a, b).families | link.families)
            layout.add_edge(a, b, spec=link)
    return layout


def rehearsal(scenario: Scenario) -> Rehearsal:
    """The city of a scenario with a plan, in every state; ConfigError for a plan the
    city refuses (``migration.walk``) or a state it cannot number."""
    spec, migration_plan, found = walk(scenario)
    names = ("before", *(phase.name for phase in migration_plan.phases))
    specs = [spec, *(step.city for step in found)]
    graphs = [city_graph(state) for state in specs]
    layout = layout_graph(graphs)
    pinned = layout_ports(layout)
    layout.graph["ports"] = pinned
    for graph in graphs:
        graph.graph["ports"] = pinned
        validate(graph)
    models = []
    for index, graph in enumerate(graphs):
        try:
            plan = plan_city_addresses(graph, graph.graph["prefixes"], sizing=graphs)
        except TopologyError as error:
            raise refused_state(scenario.source, found[index - 1] if index else None, error) from None
        models.append(model(scenario, graph, plan))
    return Rehearsal(layout, names, tuple(found), tuple(models))

"""What a migration plan should do to every cell, computed from the RFC rules alone.

For the city before the plan and after each change (``simulator.model.migration.steps``)
the prediction builds the graph, the address plan, the routes and the city model, then
the expected value of every cell of both matrices: the connectivity matrix (ping, DNS,
HTTP per family) and the transition matrix (each service by name and by IPv4 literal).
For each phase, and each change within it, it lists the cells it breaks (worked
before, not after: a regression), the cells it gains, and, for a ``cut-over`` change, the cells that work
before and after but not while the old path is gone and the new one not yet up. A
``make-before-break`` change is predicted to break nothing in between.

``v6lab plan check SCENARIO`` prints this without a network; a run compares it with what
it measures, cell by cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.measurements import connectivity, matrix
from simulator.model.address_plan import plan_city_addresses
from simulator.model.city_model import CityModel
from simulator.model.migration import TRANSLATORS, Change, refused_state, walk
from simulator.model.routing import compute_routes
from simulator.model.scenario import Scenario
from topologies.city import CitySpec, city_graph
from topologies.errors import TopologyError
from topologies.spec import validate


@dataclass(frozen=True)
class ChangePrediction:
    change: Change
    touched: frozenset[str]           # the cells whose path the change alters
    transient: tuple[str, ...]        # working before and after, broken during a cut-over
    broken: tuple[str, ...] = ()      # worked before this change, not after
    gained: tuple[str, ...] = ()      # did not work before this change, works after


@dataclass(frozen=True)
class PhasePrediction:
    name: str                          # "before" for the city as it starts
    expected: dict[str, bool]          # cell id -> works
    broken: tuple[str, ...] = ()       # worked before this phase, not after (regressions)
    gained: tuple[str, ...] = ()       # did not work before, works after
    changes: tuple[ChangePrediction, ...] = field(default_factory=tuple)
    city: CityModel | None = None      # the city in this state (what the phase buys: reporting.kpis.predicted)

    @property
    def working(self) -> int:
        return sum(self.expected.values())


def city_model(spec: CitySpec, zone: str) -> CityModel:
    graph = city_graph(spec)
    validate(graph)
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    return CityModel(graph, plan, compute_routes(graph, plan), zone)


def expected_cells(city: CityModel, http: bool = True, dns: bool = True) -> dict[str, tuple[bool, str]]:
    """Every cell of both matrices: whether it works by the RFCs, and its path (the
    hops a connectivity cell's packets follow, the family and mechanism of a
    transition-matrix cell)."""
    cells = {cell.id: connectivity.expected(city, cell) for cell in connectivity.build_cells(city, http, dns)}
    for cell in matrix.build_cells(city):
        rule = cell.rule
        if rule.expected is not None:
            cells[cell.id] = (rule.expected, f"{rule.family.value if rule.family else '-'}: {rule.via}")
    return cells


def removes(change: Change) -> bool:
    """Whether the change takes something away (a mode's configuration, a translator or
    where it stood, a service's family, IPv4): only then can a cut-over break what
    works before and after."""
    return change.kind in ("set-mode", "move", "retire", "ipv4-off") or (
        change.kind == "service" and change.families is not None and len(change.families) == 1)


def touched_cells(change: Change, before: CityModel, after: CityModel, cells: set[str]) -> frozenset[str]:
    """The cells whose path goes through what the change alters: an access class's
    subscribers, the subscribers whose mode needs the translator, a service."""
    clients: set[str] = set()
    if change.district is not None:
        clients = {s.node for city in (before, after) for s in city.subscribers
                   if s.district == change.district and s.subscriber_class == change.access}
    elif change.translator is not None:
        role = TRANSLATORS[change.translator]
        clients = {s.node for city in (before, after) for s in city.subscribers
                   if s.mode is not None and s.mode.translator is role}
    if change.service is not None:
        fqdn = f"{change.service}.{after.zone}"
        return frozenset(c for c in cells if c.split("|")[1] == fqdn)
    return frozenset(c for c in cells if c.split("|")[0] in clients)


Cells = dict[str, tuple[bool, str]]


def _works(before: Cells, after: Cells) -> tuple[set[str], set[str]]:
    cells = set(before) | set(after)
    return ({c for c in cells if before.get(c, (False, ""))[0]}, {c for c in cells if after.get(c, (False, ""))[0]})


def _change(change: Change, before: tuple[CityModel, Cells], after: tuple[CityModel, Cells]) -> ChangePrediction:
    (old_city, old), (new_city, new) = before, after
    works_before, works_after = _works(old, new)
    touched = touched_cells(change, old_city, new_city, set(old) | set(new))
    # A cut-over breaks, until the new path is up, what works before and after over
    # a path that changes; a path that stays (native IPv6 through a mode change) holds.
    transient = tuple(sorted(c for c in touched & works_before & works_after if old[c][1] != new[c][1])) if (
        change.strategy == "cut-over" and removes(change)) else ()
    return ChangePrediction(change, touched, transient, tuple(sorted(works_before - works_after)),
                            tuple(sorted(works_after - works_before)))


def _phase(name: str, before: tuple[CityModel, Cells], after: tuple[CityModel, Cells],
           changes: list[ChangePrediction]) -> PhasePrediction:
    works_before, works_after = _works(before[1], after[1])
    return PhasePrediction(name, {c: value[0] for c, value in after[1].items()},
                           tuple(sorted(works_before - works_after)), tuple(sorted(works_after - works_before)),
                           tuple(changes), after[0])


def predict(scenario: Scenario) -> list[PhasePrediction]:
    """The city before the plan, then each phase, its changes predicted one at a time
    (as a rehearsal applies them); ConfigError for a plan the city refuses."""
    spec, plan, found = walk(scenario)
    http, dns = scenario.measurements.http, scenario.measurements.dns
    models = []
    for step, state in zip([None, *found], [spec, *(s.city for s in found)], strict=True):
        try:
            city = city_model(state, scenario.zone)
        except TopologyError as error:
            raise refused_state(scenario.source, step, error) from None
        models.append((city, expected_cells(city, http, dns)))
    result = [PhasePrediction("before", {c: value[0] for c, value in models[0][1].items()}, city=models[0][0])]
    start, changes = models[0], []
    for index, step in enumerate(found, start=1):
        changes.append(_change(step.change, models[index - 1], models[index]))
        if step.last:
            result.append(_phase(plan.phases[step.phase].name, start, models[index], changes))
            start, changes = models[index], []
    return result

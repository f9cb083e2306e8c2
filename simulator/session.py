"""A running city, and the named steps a run is made of.

A ``Session`` holds what one city is while it runs: its scenario, its model (the
``CityModel`` that ``prepare`` built), the backend that runs it (through the
interface of ``simulator.network.backends.base`` only), and what its steps measured
(a ``RunResult``). It is a context manager: the network stops on the
way out, also after an error or Ctrl-C.

A run is a pipeline of ``Step``s over a session: start the services, warm up,
measure the connectivity matrix, ..., read the counters. Each step reads the session
and writes its records into ``session.result``; a step can run again after the
network has changed (a link down, a daemon reloaded), and its records are then the
new ones. Steps whose ``captured`` is set run inside the scenario's packet captures.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from simulator.measurements import comparison, connectivity, matrix, meters, reachability
from simulator.measurements.run_result import RunResult
from simulator.measurements.throughput import measure_throughput, totals_by_family, traffic_delta
from simulator.model.city_model import CityModel
from simulator.model.routing import Route
from simulator.model.scenario import Comparison, Scenario
from simulator.network.backends.base import Backend
from simulator.network.daemons import IperfServer
from simulator.network.preparation import service_daemons
from simulator.progress import Progress
from topologies.errors import TestbedError


class Session:
    def __init__(self, scenario: Scenario, city: CityModel, backend: Backend, *, progress: Progress | None = None,
                 result: RunResult | None = None, iperf: tuple[str, str] | None = None,
                 captures: list[tuple[str, str, Path]] | None = None):
        self.scenario = scenario
        # Every step reads the city's facts here, derived once.
        self.city = city
        self.backend = backend
        self.progress = progress or Progress(quiet=True)
        self.result = result or RunResult(scenario.name, "", Path("."))
        self.iperf = iperf                   # (client, server) of the throughput step
        self.captures = captures or []       # (a, b, pcap path) for the captured steps
        # Controller snapshots around the measurements, and what they give per switch.
        self.counters_before: dict | None = None
        self.meter_points: list[meters.MeterPoint] = []   # where traffic is counted per family
        self.meters_before: list[dict] = []
        self.counters_after: dict | None = None
        self.traffic: list[dict] = []
        self.mechanism_traffic: list[dict] = []

    def set_link(self, a: str, b: str, up: bool) -> None:
        """A link down (or up again) in the running network, and every later
        expectation follows the routes now in force."""
        self._rerouted(self.backend.set_link(a, b, up))

    def set_node(self, node: str, up: bool) -> None:
        """Every link of a node down (or up again), as ``set_link``."""
        self._rerouted(self.backend.set_node(node, up))

    def _rerouted(self, routes: dict[str, list[Route]]) -> None:
        self.city = CityModel(self.city.graph, self.city.plan, routes, self.city.zone)

    def __enter__(self) -> Session:
        self.backend.start()
        return self

    def __exit__(self, exc_type, *exc) -> Literal[False]:
        keep_logs = getattr(self.backend, "keep_logs", None)
        if exc_type is not None and keep_logs is not None:
            keep_logs()    # what the daemons said, before the stop deletes the work folder
        self.backend.stop()
        return False

    def run(self, step: Step) -> None:
        """Run one step (again, if it ran before); a step that does not apply to this
        scenario is skipped."""
        if not step.applies(self):
            return
        text = step.describe(self) if step.describe else None
        with self.progress.step(text) if text else contextlib.nullcontext():
            step.run(self)

    def run_all(self, steps: list[Step]) -> None:
        """Run steps in order; consecutive captured steps share one capture."""
        index = 0
        while index < len(steps):
            if steps[index].captured and self.captures:
                group = []
                while index < len(steps) and steps[index].captured:
                    group.append(steps[index])
                    index += 1
                with self.backend.capture(self.captures):
                    for step in group:
                        self.run(step)
            else:
                self.run(steps[index])
                index += 1


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[Session], None]
    describe: Callable[[Session], str] | None = None     # the progress line; None: silent
    applies: Callable[[Session], bool] = field(default=lambda session: True)
    captured: bool = False


# --- the services a city offers -------------------------------------------------------------------


# What the services are (``service_daemons``) is ``prepare``'s: ``v6lab topo check``
# renders and dry-runs the same daemons.


def _iperf_servers(session: Session) -> list[str]:
    servers = [session.iperf[1]] if session.iperf else []
    settings = session.scenario.measurements.comparison
    if settings is not None:
        paths = comparison.paths(session.city)
        if paths and paths[0].server not in servers:
            servers.append(paths[0].server)
    return servers


def _start_services(session: Session) -> None:
    session.backend.start_daemons(service_daemons(session.city)
                          + [IperfServer(server) for server in _iperf_servers(session)])


def _connectivity(session: Session) -> None:
    settings = session.scenario.measurements
    cells = connectivity.build_cells(session.city, settings.http, settings.dns)
    session.result.cells = connectivity.measure(session.backend, session.city, cells, settings.ping_count)


def _connectivity_cells(session: Session) -> int:
    settings = session.scenario.measurements
    return len(connectivity.build_cells(session.city, settings.http, settings.dns))


def _transition(session: Session) -> None:
    cells = matrix.build_cells(session.city)
    session.result.transition = matrix.measure(session.backend, session.city, cells)


def _pairs(session: Session) -> None:
    with session.progress.step("following the routes for every pair of hosts (what to expect)"):
        records = reachability.pairs(session.city)
    with session.progress.step(f"all-pairs reachability ({len(records)} host pairs and families, fping)"):
        session.result.pairs = reachability.measure_all_pairs(session.backend, session.city, records)


def _throughput(session: Session) -> None:
    if session.iperf is None or session.scenario.measurements.iperf is None:
        raise TestbedError("the throughput step needs measurements.iperf and a client and server")
    client, server = session.iperf
    session.result.throughput = measure_throughput(session.backend, session.city.plan, client, server,
                                                   session.scenario.measurements.iperf.duration_s)


def _comparison_settings(session: Session) -> Comparison:
    settings = session.scenario.measurements.comparison
    if settings is None:
        raise TestbedError("the comparison step needs measurements.comparison")
    return settings


def _comparison(session: Session) -> None:
    settings = _comparison_settings(session)
    paths = comparison.paths(session.city)
    session.result.comparison = comparison.measure(session.backend, paths, settings.repeats, settings.duration_s,
                                                   settings.samples, session.progress)


def _counters_before(session: Session) -> None:
    session.counters_before = session.backend.counters()
    session.meter_points = meters.meter_points(session.city.graph)
    meters.install(session.backend, session.meter_points, session.backend.interface_name)
    session.meters_before = meters.collect(session.backend, session.meter_points)


def _traffic(session: Session) -> None:
    """Bytes per family and per mechanism since the counters before, from a snapshot
    taken after now."""
    before = session.counters_before or {"switches": {}}
    after = session.backend.counters(fresh_after=time.time())
    session.counters_after = after
    session.traffic = traffic_delta(before, after)
    session.result.traffic = totals_by_family(session.traffic)
    session.mechanism_traffic = traffic_delta(before, after, "mechanisms")
    session.result.mechanism_traffic = totals_by_family(session.mechanism_traffic, "mechanism")
    learned: dict[str, int] = {}
    for switch in after["switches"].values():
        for family, count in switch["learned_flows"].items():
            learned[family] = learned.get(family, 0) + count
    session.result.learned_flows = learned
    if session.meter_points:
        session.result.metered = meters.delta(session.meters_before,
                                              meters.collect(session.backend, session.meter_points))


SERVICES = Step("services", _start_services, lambda s: "starting services (DNS, HTTP, iperf3)")
WARM_UP = Step("warm-up", lambda s: s.backend.warm_up())
COUNTERS_BEFORE = Step("counters-before", _counters_before, captured=True)
CONNECTIVITY = Step("connectivity", _connectivity,
                    lambda s: f"measuring the connectivity matrix ({_connectivity_cells(s)} cells)", captured=True)
TRANSITION = Step("transition", _transition,
                  lambda s: (f"measuring the transition matrix ({len(matrix.build_cells(s.city))} "
                             "cells: client kinds x service kinds, by name and by IPv4 literal)"),
                  applies=lambda s: bool(s.city.mechanisms), captured=True)
PAIRS = Step("all-pairs", _pairs, applies=lambda s: s.scenario.measurements.all_pairs)
THROUGHPUT = Step("throughput", _throughput,
                  lambda s: f"measuring throughput {' -> '.join(s.iperf or ())} per family (iperf3)",
                  applies=lambda s: s.iperf is not None)
COMPARISON = Step("comparison", _comparison,
                  lambda s: (f"comparing {len(comparison.paths(s.city))} paths, mechanisms "
                             f"against native IPv6 ({_comparison_settings(s).repeats} repeats)"),
                  applies=lambda s: s.scenario.measurements.comparison is not None
                  and bool(comparison.paths(s.city)))
TRAFFIC = Step("traffic", _traffic)

# What `v6lab run` measures, in order, once the services run and the network is warm.
MEASUREMENTS = [COUNTERS_BEFORE, CONNECTIVITY, TRANSITION, PAIRS, THROUGHPUT, COMPARISON, TRAFFIC]

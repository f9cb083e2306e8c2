"""A migration rehearsal: the city built once, its plan applied live, phase after phase.

``v6lab run SCENARIO`` comes here when the scenario has a ``plan:``. The network is the
layout of every state of the city (``simulator.model.rehearsal``), brought up in the
state before the plan. Every subscriber host then runs one workload prober
(``simulator.measurements.workload``) for the whole rehearsal: connections by name to
every web service through its own resolver with Happy Eyeballs, a sequence-numbered UDP
echo stream per address family and a long-lived TCP flow to the city's DNS server, where
a workload server answers. Each phase is applied by the backend (``change_state``: the
controller's flows, every node's configuration, the daemons) with the phase's strategy,
held, and measured with both matrices. The samples give each phase's disruption (KPI 14,
``simulator.measurements.disruption``) and the prediction (``plan check``) is compared
with what was measured, cell by cell.

A phase's changes are applied one at a time, in the order listed, each with its own
strategy; each is watched for the phase's ``settle_s`` before the next (the last for
its ``hold_s``, then the matrices are measured). Disruption figures are per change
(``disruption.csv``), the matrices per phase (``phases.csv``).
"""

from __future__ import annotations

import json
import os
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.measurements import connectivity, disruption, matrix, prediction, workload
from simulator.measurements.run_result import RunResult
from simulator.model.city_model import CityModel, Subscriber
from simulator.model.migration import Change, Phase, phase_ends
from simulator.model.scenario import Scenario, Workload
from simulator.network.backends import backend_class
from simulator.network.capabilities import HostCapabilities, probe_host
from simulator.network.daemons import page_marker
from simulator.network.daemons.workload_server import WorkloadServer
from simulator.network.preparation import Prepared, prepare_rehearsal
from simulator.progress import Progress
from simulator.reporting import html, kpis, plots, rehearsal
from simulator.reporting.results import RunFolder, command_line, default_results_root, topology_hash, versions
from simulator.runner import CONNECTIVITY_COLUMNS, TRANSITION_COLUMNS, check_city_can_run, leftover_warnings, new_run_id
from simulator.session import SERVICES, WARM_UP, Session
from topologies.errors import HostError, TestbedError
from topologies.spec import AccessMode, Family

# The workload runs this long before the first change: each cell's state before it, and
# in the second half the baseline row (the workload alone, no change: the noise floor
# every change's figures are read against), a window as long as a change's settle_s.
BASELINE_S = 10.0

# The UDP echo's datagrams, in all and per address family (disruption.Disruption's).
PACKET_COLUMNS = ["packets_sent", "packets_lost", "packets_sent_ipv4", "packets_lost_ipv4", "packets_sent_ipv6",
                  "packets_lost_ipv6"]
DISRUPTION_COLUMNS = ["phase", "change", "strategy", "started", "ready", "ready_s", "done_s", "cells_broken_during",
                      "regressions", "gained", *PACKET_COLUMNS, "flows_reset", "flows_stalled",
                      "new_flow_s", "fallbacks", "recovery_s", "resolution_s", "predicted_broken",
                      "predicted_transient", "predicted_gained"]
# Per phase: its changes' figures summed (cells broken: the union), the matrices after it.
PHASE_COLUMNS = ["phase", "changes", "strategy", "started", "ready", "done", "measured", "cells_broken_during",
                 *PACKET_COLUMNS, "flows_reset", "fallbacks", "cells", "unexpected", "regressions", "gained"]
PREDICTION_COLUMNS = ["phase", "cell", "predicted", "measured", "agrees"]


def strategies(phase: Phase) -> str:
    """The strategies of a phase's changes, for its row: one, or both."""
    return "; ".join(sorted({c.strategy for c in phase.changes}))


def workload_config(city: CityModel, client: str, target: str, pace: Workload) -> dict[str, Any]:
    """The prober of ``client``: every web service by name; a UDP echo stream to the
    workload server ``target`` on each address family both have, so that a change
    that must end the client's IPv4 flows is told from one that loses its IPv6
    datagrams; the long flow on the first of them (IPv4 where there is one); at the
    scenario's pace (what the host achieved is reported beside each recovery time)."""
    families = [f for f in (Family.IPV4, Family.IPV6) if f.value in carries(city.subscriber(client))
                and city.plan.primary(target, f) is not None]
    if not families:
        raise TestbedError(f"{client} shares no address family with the workload server {target}")
    addresses = [str(city.plan.primary(target, f)) for f in families]
    return {"client": client, "interval_s": pace.interval_s, "timeout_s": pace.timeout_s,
            "services": [{"name": s.fqdn, "port": 80, "marker": page_marker(s.fqdn)} for s in city.web_services()],
            "udp": [{"address": address, "port": 7, "interval_s": pace.udp_interval_s, "timeout_s": 1.0}
                    for address in addresses],
            "stream": {"host": addresses[0], "port": 5001, "stall_s": 2.0, "give_up_s": 10.0}}


def carries(subscriber: Subscriber) -> frozenset[str]:
    """The families a subscriber's network carries to an address literal: IPv6 where
    it has IPv6; IPv4 where it has IPv4, or a CLAT (464XLAT) or a B4 (DS-Lite) carrying
    it. An IPv6-only host without a CLAT has no IPv4."""
    families = {f.value for f in subscriber.families}
    if subscriber.mode in (AccessMode.XLAT464, AccessMode.DS_LITE):
        families.add(Family.IPV4.value)
    return frozenset(families)


def carried(city: CityModel) -> dict[str, frozenset[str]]:
    """``carries`` for every client of the city."""
    return {subscriber.node: carries(subscriber) for subscriber in city.subscribers}


def expected_by_name(city: CityModel) -> dict[tuple[str, str], bool]:
    """(client, service fqdn) -> whether the client reaches the service by name (the
    transition matrix's rule), for the workload's cells."""
    return {(cell.client, cell.service): bool(cell.rule.expected) for cell in matrix.build_cells(city)
            if cell.access == "name" and cell.rule.expected is not None}


@dataclass
class ChangeRecord:
    change: Change
    state: int                       # index of the city after it in prepared.states
    times: dict[str, float]          # from change_state: started, ready, done


@dataclass
class PhaseRecord:
    name: str
    changes: str
    strategy: str
    times: dict[str, float] = field(default_factory=dict)
    cells: list[dict] = field(default_factory=list)
    transition: list[dict] = field(default_factory=list)
    steps: list[ChangeRecord] = field(default_factory=list)


def apply_phase(net, states: tuple[Prepared, ...], at: int, index: int, count: int, phase: Phase,
                progress: Progress, settle: bool = True) -> list[ChangeRecord]:
    """Apply phase ``index`` (of ``count``) to the running network ``net``, whose city is
    ``states[at]``: its changes one at a time, each with its own strategy, each watched
    for the phase's ``settle_s`` before the next if ``settle``."""
    done: list[ChangeRecord] = []
    for position, change in enumerate(phase.changes, start=1):
        if done and settle:
            time.sleep(phase.settle_s)
        with progress.step(f"phase {index} of {count} ({phase.name}), change {position} of {len(phase.changes)}: "
                           f"{change.describe()} ({change.strategy})"):
            times = net.change_state(states[at], states[at + 1], index, change.strategy)
        at += 1
        done.append(ChangeRecord(change, at, times))
    return done


def _measure(session: Session, state: Prepared) -> tuple[list[dict], list[dict]]:
    settings = session.scenario.measurements
    cells = connectivity.measure(session.backend, state.city,
                                 connectivity.build_cells(state.city, settings.http, settings.dns),
                                 settings.ping_count)
    return cells, matrix.measure(session.backend, state.city, matrix.build_cells(state.city))


def run_rehearsal(scenario: Scenario, *, results_root: Path | None = None, progress: Progress | None = None,
                  capabilities: HostCapabilities | None = None) -> RunResult:
    """Build the city, apply its plan phase by phase under a workload, and write what
    every phase did (see the module's docstring)."""
    progress = progress or Progress()
    if scenario.plan is None:
        raise TestbedError(f"{scenario.source}: a rehearsal needs a plan")
    run_id, prefix = new_run_id()
    prepared = prepare_rehearsal(scenario, prefix)
    predicted = prediction.predict(scenario)
    states, phases = prepared.states, scenario.plan.phases
    if os.geteuid() != 0:
        raise HostError("emulation needs root (network namespaces, Open vSwitch): run it with sudo")
    with progress.step("checking what this host can do"):
        capabilities = capabilities or probe_host()
    for state in states:
        check_city_can_run(state.graph, state.plan, capabilities, scenario.source)
    for line in leftover_warnings(prefix):
        progress.warn(line)
    folder = RunFolder(results_root or default_results_root(), scenario.name, run_id)
    result = RunResult(scenario.name, run_id, folder.path)
    manifest: dict[str, Any] = {
        "scenario": scenario.name, "scenario_file": scenario.source, "run_id": run_id, "resource_prefix": prefix,
        "seed": scenario.seed, "backend": "emulation", "command_line": command_line(),
        "started": datetime.now(UTC).isoformat(), "topology_hash": topology_hash(prepared.layout),
        "versions": versions(), "capabilities": capabilities.to_dict(), "status": "running",
        "phases": list(prepared.names)}
    folder.write_json("manifest.json", manifest)
    progress.note(f"rehearsal {run_id}: {len(phases)} phases; results in {folder.path}")
    first = states[0]
    records = [PhaseRecord("before", "", "")]
    samples_dir = folder.path / "samples"
    try:
        net = backend_class("emulation")(
            first.graph, first.plan, first.routes, prefix=prefix, datapath=capabilities.ovs_datapath,
            progress=progress, connect_timeout_s=scenario.controller.connect_timeout_s,
            controller_app=scenario.controller.app, zone=scenario.zone, node_daemons=first.node_daemons,
            manifest=folder.path / "manifest.json", logs_dir=folder.path / "logs", layout=prepared.layout)
        net.sizing_plans = [state.plan for state in states]
        with Session(scenario, first.city, net, progress=progress, result=result) as session:
            session.run(SERVICES)
            target = first.city.dns_server
            if target is None:
                raise TestbedError(f"{scenario.source}: a rehearsal's workload needs the city's DNS server (a "
                                   "service of kind dns) to answer its UDP echo and long flow")
            net.start_daemons([WorkloadServer(target)])
            session.run(WARM_UP)
            with progress.step(f"measuring the city before the plan ({len(first.city.subscribers)} subscribers)"):
                records[0].cells, records[0].transition = _measure(session, first)
            clients = matrix.clients(first.city)
            samples_dir.mkdir(parents=True, exist_ok=True)
            probers = []
            with progress.step(f"starting the workload on {len(clients)} subscriber hosts"):
                for client in clients:
                    with open(samples_dir / f"{client}.jsonl", "w") as out, \
                            open(samples_dir / f"{client}.log", "w") as err:
                        probers.append(net.popen(client, workload.command(workload_config(
                            first.city, client, target, scenario.measurements.workload)),
                                                 stdout=out, stderr=err))
                records[0].times = {"started": time.time()}
                time.sleep(BASELINE_S)
            try:
                at = 0
                for index, phase in enumerate(phases, start=1):
                    record = PhaseRecord(phase.name, "; ".join(c.describe() for c in phase.changes),
                                         strategies(phase))
                    record.steps = apply_phase(net, states, at, index, len(phases), phase, progress)
                    at = record.steps[-1].state
                    session.city = states[at].city
                    time.sleep(phase.hold_s)
                    record.times = {"started": record.steps[0].times["started"],
                                    "ready": record.steps[-1].times["ready"], "done": record.steps[-1].times["done"],
                                    "measured": time.time()}
                    with progress.step(f"measuring the city after phase {index}"):
                        record.cells, record.transition = _measure(session, states[at])
                    records.append(record)
            finally:
                end = time.time()
                for process in probers:
                    process.terminate()
                for process in probers:
                    process.wait(timeout=20)
            progress.note("stopping the network")
        with progress.step("writing results and figures"):
            _write(folder, scenario, records, predicted, [states[i] for i in phase_ends(prepared.steps)],
                   states, samples_dir, end, result)
    except BaseException as error:
        manifest.update(status="failed", error=f"{type(error).__name__}: {error}",
                        traceback=traceback.format_exc(), finished=datetime.now(UTC).isoformat())
        folder.write_json("manifest.json", manifest)
        raise
    manifest.update(status="ok", finished=datetime.now(UTC).isoformat(), unexpected_cells=len(result.unexpected))
    result.report = html.finish(folder, manifest, prepared.layout, f"{scenario.name}: every state ({run_id})",
                                progress)
    return result


def _samples(folder: Path) -> list[dict]:
    found = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
    return found


def _write(folder: RunFolder, scenario: Scenario, records: list[PhaseRecord], predicted, ends: list[Prepared],
           states: tuple[Prepared, ...], samples_dir: Path, end: float, result: RunResult) -> None:
    """``ends``: the city before the plan and after each phase; ``states``: after each change."""
    samples = _samples(samples_dir)
    folder.write_jsonl("samples.jsonl", samples)
    cells, transition, kpi_rows, compared = [], [], [], []
    for index, (record, state, guess) in enumerate(zip(records, ends, predicted, strict=True)):
        cells += [{**c, "phase": record.name} for c in record.cells]
        transition += [{**c, "phase": record.name} for c in record.transition]
        kpi_rows += kpis.of_run(state.city, record.cells, record.transition, record.name)
        folder.write_figure(f"connectivity-{index}.png", plots.connectivity_heatmap(
            record.cells, f"{scenario.name}: connectivity after {record.name}" if index else
            f"{scenario.name}: connectivity before the plan"))
        measured = {c["id"]: bool(c.get("ok")) for c in record.cells + record.transition if c.get("ok") is not None}
        compared += [{"phase": record.name, "cell": cell, "predicted": want, "measured": measured.get(cell),
                      "agrees": measured.get(cell) == want} for cell, want in sorted(guess.expected.items())]
    rows = _change_rows(samples, records, predicted, states)
    result.cells = [c for c in cells if c["phase"] == records[-1].name]
    result.transition = [c for c in transition if c["phase"] == records[-1].name]
    folder.write_csv("connectivity.csv", cells, ["phase", *CONNECTIVITY_COLUMNS])
    folder.write_csv("transition-matrix.csv", transition, ["phase", *TRANSITION_COLUMNS])
    folder.write_csv("kpis.csv", kpi_rows, kpis.COLUMNS)
    folder.write_csv("disruption.csv", rows, DISRUPTION_COLUMNS)
    result.phases, result.changes = _phase_rows(records, rows), rows
    folder.write_csv("phases.csv", result.phases, PHASE_COLUMNS)
    folder.write_csv("prediction.csv", compared, PREDICTION_COLUMNS)
    windows = [{"phase": r.name, "started": r.times["started"], "ready": r.times.get("ready"),
                "end": records[i + 1].times["started"] if i + 1 < len(records) else end}
               for i, r in enumerate(records)]
    # Kinds that hold through the plan: a client's mode changes, its district and access do not.
    kinds = {s.node: f"{s.district} {s.subscriber_class}" for s in states[0].city.subscribers}
    folder.write_figure("timeline.png", rehearsal.timeline(samples, windows, kinds, f"{scenario.name}: rehearsal"))


def _change_rows(samples: list[dict], records: list[PhaseRecord], predicted, states) -> list[dict]:
    """One disruption row per change, judged on its window: from its start to the next
    change's, the last of a phase until the matrices are measured (the matrices' own
    probes load the host: what the workload meets then is not the change's doing);
    before them the baseline's, the workload alone over the last half of BASELINE_S
    before the first change."""
    steps = [(record, step) for record in records[1:] for step in record.steps]
    guesses = [change for phase in predicted[1:] for change in phase.changes]
    first = steps[0][1].times["started"]
    alone = disruption.disruption(samples, first - BASELINE_S / 2, None, first, expected_by_name(states[0].city))
    rows = [{"phase": records[0].name, "change": disruption.BASELINE, "strategy": "", **alone.row(), "done_s": None,
             "predicted_broken": 0, "predicted_transient": 0, "predicted_gained": 0, "broken_cells":
             sorted(f"{client}|{fqdn}|name" for client, fqdn in alone.broken_during), "predicted_transient_cells": []}]
    for k, ((record, step), guess) in enumerate(zip(steps, guesses, strict=True)):
        last = k + 1 == len(steps) or steps[k + 1][0] is not record
        window_end = record.times["measured"] if last else steps[k + 1][1].times["started"]
        found = disruption.disruption(samples, step.times["started"], step.times["ready"], window_end,
                                      expected_by_name(states[step.state].city), carried(states[step.state - 1].city))
        rows.append({"phase": record.name, "change": step.change.describe(), "strategy": step.change.strategy,
                     **found.row(), "done_s": round(step.times["done"] - step.times["started"], 3),
                     "predicted_broken": len(guess.broken), "predicted_transient": len(guess.transient),
                     "predicted_gained": len(guess.gained),
                     # By cell (not in the CSV): the workload's by-name cells, as the matrix names them.
                     "broken_cells": sorted(f"{client}|{fqdn}|name" for client, fqdn in found.broken_during),
                     "predicted_transient_cells": list(guess.transient)})
    return rows


def _phase_rows(records: list[PhaseRecord], rows: list[dict]) -> list[dict]:
    """One row per phase: its changes' figures summed (the cells broken during any of
    them counted once), then both matrices after it, and the cells they show lost
    (regressions) and gained since the phase before."""
    found: list[dict] = []
    previous: set[str] = set()
    for index, record in enumerate(records):
        working = {c["id"] for c in record.cells + record.transition if c.get("ok")}
        mine = [row for row in rows if row["phase"] == record.name]
        found.append({
            "phase": record.name, "changes": record.changes, "strategy": record.strategy,
            **{k: round(v, 3) for k, v in record.times.items()},
            "cells_broken_during": len({c for row in mine for c in row["broken_cells"]}) if index else None,
            **{key: sum(row[key] for row in mine) if index else None
               for key in (*PACKET_COLUMNS, "flows_reset", "fallbacks")},
            "cells": len(record.cells) + len(record.transition),
            "unexpected": sum(1 for c in record.cells + record.transition if not c["as_expected"]),
            "regressions": len(previous - working) if index else None,
            "gained": len(working - previous) if index else None})
        previous = working
    return found

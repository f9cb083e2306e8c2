"""One scenario run: spec -> graph -> running network -> measurements -> results."""

from __future__ import annotations

import os
import secrets
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx

from simulator.measurements import comparison
from simulator.measurements.run_result import RunResult
from simulator.model.address_plan import AddressPlan
from simulator.model.scenario import Scenario
from simulator.network import cleanup, mechanisms
from simulator.network.backends import backend_class
from simulator.network.capabilities import HostCapabilities, probe_host
from simulator.network.preparation import NodeDaemons, prepare
from simulator.progress import Progress
from simulator.reporting import html, kpis, plots
from simulator.reporting.results import (
    RunFolder,
    command_line,
    default_results_root,
    topology_hash,
    versions,
)
from simulator.session import MEASUREMENTS, SERVICES, WARM_UP, Session
from topologies.errors import ConfigError, HostError, TestbedError
from topologies.spec import ServiceKind, link_spec, node_spec

CONNECTIVITY_COLUMNS = ["client", "district", "service", "server", "family", "method", "target",
                        "expected", "ok", "as_expected", "rtt_ms", "dns_ms", "connect_ms", "http_ms",
                        "error", "expected_reason", "resolver", "nameservers"]

TRANSITION_COLUMNS = ["client", "client_kind", "district", "service", "service_kind", "access", "expected",
                      "ok", "as_expected", "verdict", "address", "fell_back", "candidates", "dns_ms", "connect_ms",
                      "http_ms", "error", "expected_via", "reference", "nameservers"]

COMPARISON_COLUMNS = ["label", "client", "client_kind", "server", "address", "metric", "repeat", "value"]


def check_host_supports(graph: nx.Graph, capabilities: HostCapabilities, source: str) -> None:
    """Refuse, before anything starts, what this host cannot emulate faithfully."""
    if not capabilities.can_emulate:
        missing = capabilities.missing_for_emulation()
        raise HostError("this host cannot run the emulation: " + "; ".join(
            f"{c.name} ({c.detail}): {c.fix}" for c in missing) + ". 'v6lab doctor' tells more.")
    delayed = [f"{a}--{b}" for a, b in graph.edges if link_spec(graph, a, b).delay_ms]
    if delayed and not capabilities.has("netem"):
        raise ConfigError(
            f"{source}: links {', '.join(sorted(delayed))} ask for delay, but this kernel has no netem, so "
            "the delay would silently not exist; remove the delay (bandwidth shaping with HTB still "
            "works) or run on a host with sch_netem (the Vagrant VM has it)")
    for binary, needed_by in (("unbound", ServiceKind.DNS), ("iperf3", None)):
        if not capabilities.has(binary) and (needed_by is None or any(
                s.kind is needed_by for n in graph for s in node_spec(graph, n).services)):
            raise HostError(f"{binary} is not installed; run 'sudo scripts/setup.sh'")


def check_city_can_run(graph: nx.Graph, plan: AddressPlan, capabilities: HostCapabilities, source: str) -> None:
    """Refuse, before anything starts, a city this host cannot bring up: the
    emulation itself, its transition mechanisms, the daemons that number it."""
    check_host_supports(graph, capabilities, source)
    mechanisms.check_host(graph, capabilities, source)
    if plan.delegated and not (capabilities.has("kea-dhcp6") and capabilities.has("dhclient")):
        raise HostError("kea-dhcp6 or dhclient is not installed, and this city's CPEs get their IPv6 prefix "
                        "by DHCPv6 prefix delegation; run 'sudo scripts/setup.sh'")
    if any(s.advertiser for s in plan.segments.values()) and not capabilities.has("radvd"):
        raise HostError("radvd is not installed, and this city's access LANs get IPv6 by SLAAC from "
                        "router advertisements; run 'sudo scripts/setup.sh'")
    if any(node_spec(graph, n).fronts for n in graph) and not capabilities.has("nginx"):
        raise HostError("nginx is not installed, and this city has an IPv6 front (a reverse proxy) for an "
                        "IPv4-only service; run 'sudo scripts/setup.sh'")


def emulation(scenario: Scenario, graph: nx.Graph, plan: AddressPlan, routes, capabilities: HostCapabilities,
              prefix: str, progress: Progress, backend: str = "emulation", node_daemons: NodeDaemons | None = None,
              manifest: Path | None = None, logs_dir: Path | None = None, layout: nx.Graph | None = None):
    """The backend for a scenario's city, not started yet; ``node_daemons`` as
    ``prepare`` made them (else the backend makes the same), ``manifest`` for
    ``v6lab clean`` to mark if the run dies, ``layout`` the network of every state of
    a rehearsal (``model.rehearsal``) if the city is to change live."""
    return backend_class(backend)(graph, plan, routes, prefix=prefix, datapath=capabilities.ovs_datapath,
                                  progress=progress, connect_timeout_s=scenario.controller.connect_timeout_s,
                                  controller_app=scenario.controller.app, zone=scenario.zone,
                                  node_daemons=node_daemons, manifest=manifest, logs_dir=logs_dir, layout=layout)


def new_run_id() -> tuple[str, str]:
    """(run id, resource prefix). The prefix (v + 3 base-36 characters) tags everything."""
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    prefix = "v" + "".join(secrets.choice(alphabet) for _ in range(3))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{prefix}", prefix


def leftover_warnings(prefix: str) -> list[str]:
    """One line per earlier run whose resources are still on this host (not one that
    is running now), with the command that removes them."""
    found = cleanup.find_leftovers()
    lines = []
    for run in sorted(found.runs()):
        if run == prefix or cleanup.running(run):
            continue
        lines.append(f"run {run} left {found.of_run(run).describe()} behind; remove it with "
                     f"'v6lab clean --run {run}' (this run goes on: its own prefix is {prefix})")
    return lines


def refuse_plan(scenario: Scenario) -> None:
    """A scenario with a plan is a rehearsal (``simulator.rehearse``, what ``v6lab run``
    does with it): running the city as it starts and calling that the rehearsal
    would be a wrong answer, so say so instead."""
    if scenario.plan is not None:
        raise TestbedError(f"{scenario.source}: plan: this scenario is a migration rehearsal: 'v6lab run "
                           f"{scenario.source}' applies its plan phase by phase under a workload, 'v6lab up "
                           f"{scenario.source} --step' one phase at a time by hand; 'v6lab plan check "
                           f"{scenario.source}' predicts what each phase breaks and gains")


def run_scenario(scenario: Scenario, *, results_root: Path | None = None, backend: str = "emulation",
                 progress: Progress | None = None, capabilities: HostCapabilities | None = None,
                 fail_after_start: bool = False) -> RunResult:
    """Run one scenario end to end. ``fail_after_start`` raises once the network runs
    (tests use it to check that a failed run leaves nothing behind)."""
    progress = progress or Progress()
    refuse_plan(scenario)
    run_id, prefix = new_run_id()
    # Everything `v6lab topo check` checks too, and in the same function: a file that
    # check accepts gets this far, and one it refuses is refused here the same way.
    prepared = prepare(scenario, prefix)
    graph, plan, routes, pair = prepared.graph, prepared.plan, prepared.routes, prepared.iperf_pair
    if os.geteuid() != 0:
        raise HostError("emulation needs root (network namespaces, Open vSwitch): run it with sudo")
    with progress.step("checking what this host can do"):
        capabilities = capabilities or probe_host()
    check_city_can_run(graph, plan, capabilities, scenario.source)
    capture_links = prepared.capture_links
    if capture_links and not capabilities.has("tcpdump"):
        raise HostError("tcpdump is not installed, and measurements.capture needs it; run 'sudo scripts/setup.sh'")
    if scenario.measurements.all_pairs and not capabilities.has("fping"):
        raise HostError("fping is not installed, and measurements.all_pairs needs it; run 'sudo scripts/setup.sh'")
    for line in leftover_warnings(prefix):
        progress.warn(line)

    folder = RunFolder(results_root or default_results_root(), scenario.name, run_id)
    result = RunResult(scenario.name, run_id, folder.path)
    manifest = {
        "scenario": scenario.name, "scenario_file": scenario.source, "run_id": run_id,
        "resource_prefix": prefix, "seed": scenario.seed, "backend": backend,
        "command_line": command_line(), "started": datetime.now(UTC).isoformat(),
        "topology_hash": topology_hash(graph), "versions": versions(),
        "capabilities": capabilities.to_dict(), "status": "running",
    }
    folder.write_json("manifest.json", manifest)
    progress.note(f"run {run_id}: results in {folder.path}")
    started = time.monotonic()
    try:
        net = emulation(scenario, graph, plan, routes, capabilities, prefix, progress, backend,
                        prepared.node_daemons, folder.path / "manifest.json", folder.path / "logs")
        captures = [(a, b, folder.reserve(f"captures/{a}--{b}.pcap")) for a, b in capture_links]
        with Session(scenario, prepared.city, net, progress=progress, result=result, iperf=pair,
                     captures=captures) as session:
            session.run(SERVICES)
            if fail_after_start:
                raise TestbedError("failing on purpose after start (fail_after_start)")
            session.run(WARM_UP)
            session.run_all(MEASUREMENTS)
            progress.note("stopping the network")
        traffic, mechanism_rows, after = session.traffic, session.mechanism_traffic, session.counters_after
        result.timings = {**net.timings, "total_s": time.monotonic() - started}
        with progress.step("writing results and figures"):
            folder.write_jsonl("connectivity.jsonl", result.cells)
            folder.write_csv("connectivity.csv", result.cells, CONNECTIVITY_COLUMNS)
            folder.write_json("throughput.json", result.throughput)
            if result.pairs:
                folder.write_csv("reachability.csv", result.pairs,
                                 ["source", "destination", "family", "address", "expected", "ok", "as_expected",
                                  "error", "expected_reason"])
            folder.write_csv("traffic.csv", traffic, ["switch", "family", "packets", "bytes"])
            if result.metered:
                folder.write_csv("meters.csv", result.metered,
                                 ["kind", "point", "direction", "family", "packets", "bytes"])
            if mechanism_rows:
                folder.write_csv("mechanisms.csv", mechanism_rows, ["switch", "mechanism", "packets", "bytes"])
            folder.write_json("controller.json", after)
            folder.write_json("addresses.json", {
                f"{i.node}:{i.peer}": {"segment": i.segment, "ipv4": i.ipv4, "ipv6": i.ipv6}
                for i in sorted(plan.interfaces.values(), key=lambda i: (i.node, i.port))})
            if result.transition:
                folder.write_jsonl("transition-matrix.jsonl", result.transition)
                folder.write_csv("transition-matrix.csv", result.transition, TRANSITION_COLUMNS)
                folder.write_figure("transition-matrix.png", plots.transition_heatmap(
                    result.transition, f"{scenario.name}: transition matrix ({run_id})"))
            if result.comparison:
                folder.write_csv("comparison.csv", result.comparison, COMPARISON_COLUMNS)
                summary_rows = comparison.summarise(result.comparison)
                folder.write_csv("comparison-summary.csv", summary_rows,
                                 ["label", "client", "client_kind", "metric", "n", "failed", "mean", "stdev", "median"])
                folder.write_figure("comparison.png", plots.mechanism_comparison(
                    summary_rows, f"{scenario.name}: mechanisms against native IPv6 ({run_id})",
                    comparison.caveats(result.comparison)))
            folder.write_csv("kpis.csv", kpis.of_run(prepared.city, result.cells, result.transition), kpis.COLUMNS)
            folder.write_figure("connectivity.png", plots.connectivity_heatmap(
                result.cells, f"{scenario.name}: connectivity matrix ({run_id})"))
            folder.write_figure("families.png", plots.family_comparison(
                result.throughput, result.traffic, f"{scenario.name}: IPv4 and IPv6 ({run_id})"))
    except BaseException as error:
        manifest.update(status="failed", error=f"{type(error).__name__}: {error}",
                        traceback=traceback.format_exc(), finished=datetime.now(UTC).isoformat())
        folder.write_json("manifest.json", manifest)
        raise

    manifest.update(status="ok", finished=datetime.now(UTC).isoformat(), timings=result.timings,
                    unexpected_cells=len(result.unexpected))
    result.report = html.finish(folder, manifest, graph, f"{scenario.name} ({run_id})", progress)
    return result

"""The command line: ``v6lab doctor | run | up | step | exec | cli | down | topo
check|draw|export | plan check | report | compare | clean``. The only place that prints errors
and picks exit statuses."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from simulator import __version__
from topologies.errors import ConfigError, TestbedError


def _doctor(args) -> int:
    from simulator.network.capabilities import format_report, probe_host
    from simulator.network.mechanisms import host_support
    caps = probe_host()
    print(format_report(caps))
    print("transition mechanisms:")
    for name, (ok, why) in host_support(caps).items():
        print(f"  {'OK' if ok else 'NO':<8} {name:<8} {why}")
    return 0 if caps.can_emulate else 1


def _run(args) -> int:
    from simulator.model.scenario import load_scenario
    from simulator.progress import Progress
    from simulator.reporting.report import summary
    from simulator.runner import run_scenario

    scenario = load_scenario(args.scenario)
    if scenario.plan is not None:
        from simulator.rehearse import run_rehearsal
        from simulator.reporting.rehearsal import disruption_table

        result = run_rehearsal(scenario, results_root=args.results, progress=Progress(quiet=args.quiet))
        print(summary(result))
        print("\nchanges, one at a time (what each did to the workload; disruption.csv, timeline.png):")
        print(disruption_table(result.changes))
    else:
        result = run_scenario(scenario, results_root=args.results, progress=Progress(quiet=args.quiet))
        print(summary(result))
    if result.report is not None:
        print(f"\nreport: {result.report}")
    return 0 if not result.unexpected else 4


def _city_lines(spec) -> list[str]:
    lines = []
    for district in spec.districts:
        for kind, access in (("fixed", district.fixed), ("mobile", district.mobile)):
            if access:
                extra = ("" if access.mode.value == "dual-stack" else f", mode {access.mode.value}") + (
                    ", IPv4 behind a CGN" if access.cgn else "")
                lines.append(f"  {district.id} {district.name}: {kind} {access.subscribers:,} subscribers, "
                             f"{access.emulated_hosts} emulated (1 per {access.represents:,}), "
                             f"{access.ipv6_capable:.0%} IPv6-capable{extra}")
    placed = [f"{what} on {core}" for what, core in (("NAT64 + DNS64", spec.transition.nat64),
                                                     ("DS-Lite AFTR", spec.transition.aftr)) if core]
    if placed:
        lines.append(f"  translators: {', '.join(placed)}; NAT64 prefix {spec.prefixes.nat64}")
    return lines


def _graph_census(graph) -> str:
    from topologies.spec import Kind, Role, node_spec, nodes_of_kind
    subscribers = [n for n in graph if node_spec(graph, n).role is Role.SUBSCRIBER]
    return (f"{graph.number_of_nodes()} nodes ({len(nodes_of_kind(graph, Kind.ROUTER))} routers, "
            f"{len(nodes_of_kind(graph, Kind.SWITCH))} switches, {len(nodes_of_kind(graph, Kind.HOST))} hosts), "
            f"{graph.number_of_edges()} links, {len(subscribers)} emulated subscriber hosts")


def _prepared_lines(prepared, checked) -> list[str]:
    from collections import Counter

    from simulator.network import nodeconfig
    plan = prepared.plan
    # What the backend runs in each node, rendered as it will be (not run here).
    rendered = [nodeconfig.render_script(config) for config in prepared.node_configs.values()]
    names = Counter(d.NAME for d in prepared.daemons())
    lines = [(f"  address plan: {len(plan.segments)} segments, {len(plan.interfaces)} interfaces, "
              f"{len(plan.delegated)} delegated prefixes; routes for {len(prepared.routes)} nodes"),
             f"  node configurations rendered: {len(rendered)} routers and hosts",
             "  daemons: " + ", ".join(f"{count} {name}" for name, count in names.items())]
    if prepared.iperf_pair:
        lines.append(f"  throughput: {prepared.iperf_pair[0]} -> {prepared.iperf_pair[1]}")
    if prepared.capture_links:
        lines.append(f"  captures: {', '.join(f'{a}--{b}' for a, b in prepared.capture_links)}")
    lines.append("  dry runs passed: " + (", ".join(f"{label} ({count})" for label, count in checked.ran.items())
                                         or "none"))
    lines += [f"  not run here: {label}: {why}" for label, why in checked.skipped.items()]
    lines.append("  not checked here: what this host can run ('v6lab doctor'); the run checks it, and runs "
                 "every dry run again inside the nodes")
    return lines


# Keys only a scenario file has; any of them makes `topo check` read a scenario.
SCENARIO_KEYS = ("zone", "topology", "addressing", "measurements", "controller")


def _is_scenario(path: Path) -> bool:
    import yaml
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False    # the city reader says what is wrong with the file
    return isinstance(data, dict) and any(key in data for key in SCENARIO_KEYS)


def _check(args) -> int:
    """Everything a run does before it builds the network, by the run's own function."""
    import tempfile
    from types import MappingProxyType

    from simulator.model.scenario import Measurements, Scenario, Topology, load_scenario
    from simulator.network.preparation import dry_run, prepare
    from topologies.city import load_city

    path = args.file
    if _is_scenario(path):
        scenario = load_scenario(path)
        spec = None
        if scenario.topology.generator == "city":
            spec = load_city(scenario.topology.params["spec"])
        head = f"{path}: scenario {scenario.name!r} is valid"
    else:
        spec = load_city(path)
        # The city as a scenario that measures nothing of its own choosing: a
        # scenario file's measurements are checked when the scenario is.
        scenario = Scenario(name=spec.name, topology=Topology("city", MappingProxyType({"spec": str(path)})),
                            measurements=Measurements(iperf=None), source=str(path))
        head = f"{path}: city {spec.name!r} is valid"
    plan_lines = []
    with tempfile.TemporaryDirectory(prefix="v6lab-topo-check-") as folder:
        if scenario.plan is None:
            prepared = prepare(scenario)
            checked = dry_run(prepared.daemons(), Path(folder))
        else:
            # A rehearsal runs every state's daemons: each configuration it will start is checked.
            from simulator.measurements.prediction import predict
            from simulator.network.preparation import dry_run_states, prepare_rehearsal
            rehearsal = prepare_rehearsal(scenario)
            prepared = rehearsal.states[0]
            checked = dry_run_states(rehearsal.states, Path(folder))
            phases = predict(scenario)
            plan_lines = [f"plan: {len(phases) - 1} phases ({len(rehearsal.steps)} changes), valid for this city, "
                          f"every state's daemons checked; 'v6lab run {path}' rehearses it, 'v6lab plan check "
                          f"{path}' predicts what each change breaks and gains"]
    print("\n".join([f"{head}: {_graph_census(prepared.graph)}", *(_city_lines(spec) if spec else []),
                     *_prepared_lines(prepared, checked), *plan_lines]))
    return 0


FIGURE_SUFFIXES = {".png", ".svg", ".pdf"}
EXPORT_SUFFIXES = {".graphml": "graphml", ".json": "json"}


def _topo(args) -> int:
    from simulator.reporting.results import graph_document
    from topologies.city import city_graph, load_city

    spec = load_city(args.city)
    output = getattr(args, "output", None)
    if args.topo_command == "draw":   # (draw's --output has a default)
        if args.output.suffix.lower() not in FIGURE_SUFFIXES:
            raise TestbedError(f"cannot write {output}: give a file name ending in "
                               f"{', '.join(sorted(FIGURE_SUFFIXES))}")
    if output is not None:
        if output.is_dir():
            raise TestbedError(f"cannot write {output}: it is a folder; give a file name")
        if not output.parent.is_dir():
            raise TestbedError(f"cannot write {output}: folder {output.parent} does not exist")
    graph = city_graph(spec)
    if args.topo_command == "draw":
        from simulator.reporting.drawing import topology_figure
        figure = topology_figure(graph)
        try:
            figure.savefig(args.output, dpi=args.dpi, bbox_inches="tight")
        except OSError as error:
            raise TestbedError(f"cannot write {output}: {error.strerror or error}") from None
        print(f"wrote {args.output}")
    else:
        import json

        import networkx as nx
        format_ = args.format or (EXPORT_SUFFIXES.get(output.suffix.lower()) if output else "graphml")
        if format_ is None:
            raise TestbedError(f"cannot write {output}: give a file name ending in "
                               f"{' or '.join(sorted(EXPORT_SUFFIXES))}, or say --format graphml|json")
        output = output or Path(f"{spec.name}.{format_}")
        try:
            if format_ == "json":
                output.write_text(json.dumps(graph_document(graph), indent=2, sort_keys=True) + "\n")
            else:
                nx.write_graphml(flat_graph(graph), output)
        except OSError as error:
            raise TestbedError(f"cannot write {output}: {error.strerror or error}") from None
        print(f"wrote {output}")
    return 0


def flat_graph(graph):
    """The graph with scalar attributes only, as GraphML wants them."""
    import networkx as nx
    flat: nx.Graph[str] = nx.Graph(name=graph.name)
    for name, data in graph.nodes(data=True):
        spec = data["spec"]
        flat.add_node(name, role=spec.role.value, kind=spec.kind.value,
                      families=",".join(sorted(f.value for f in spec.families)),
                      district=spec.district or "", subscriber_class=spec.subscriber_class or "",
                      services=",".join(f"{s.name}:{s.kind.value}" for s in spec.services),
                      represents=spec.represents)
    for a, b, data in graph.edges(data=True):
        spec = data["spec"]
        flat.add_edge(a, b, families=",".join(sorted(f.value for f in spec.families)),
                      bandwidth_mbps=spec.bandwidth_mbps or 0.0, delay_ms=spec.delay_ms or 0.0)
    return flat


def _up(args) -> int:
    from simulator import handson
    return handson.up(args.scenario, args.results, args.quiet, args.cli, args.step)


def _step(args) -> int:
    from simulator import handson
    return handson.step()


def _exec(args) -> int:
    from simulator import handson
    return handson.exec_(args.node, args.command)


def _cli(args) -> int:
    from simulator import handson
    return handson.cli()


def _down(args) -> int:
    from simulator import handson
    if os.geteuid() != 0:
        raise TestbedError("down needs root to stop the city's namespaces and bridges: run it with sudo")
    return handson.down()


def _clean(args) -> int:
    from simulator.network import cleanup
    if os.geteuid() != 0:
        raise TestbedError("clean needs root to remove namespaces, links and OVS bridges: run it with sudo")
    found, marked = cleanup.clean_interrupted(args.run)
    what = f"run {args.run}" if args.run else "all v6lab runs"
    print(f"{what}: nothing left behind" if found.empty else f"{what}: removed {found.describe()}")
    for manifest in marked:
        print(f"marked {manifest} interrupted")
    return 0


def _plan(args) -> int:
    from simulator.measurements.prediction import predict
    from simulator.model.scenario import load_scenario
    scenario = load_scenario(args.scenario)
    phases = predict(scenario)
    print(plan_report(phases, args.cells))
    return 0


def _report(args) -> int:
    """Rebuild a run's report.html from its folder; the path alone on stdout, for scripts."""
    from simulator.reporting.html import write_report
    print(write_report(args.run_dir))
    return 0


def _compare(args) -> int:
    """Runs side by side in a folder; the page's path alone on stdout, for scripts."""
    from simulator.reporting.compare import compare
    print(compare(args.run_dirs, args.output, allow_different_cities=args.allow_different_cities))
    return 0


def _kpi_line(phase) -> str:
    """KPIs 1, 7 and 13 of a phase, city-wide where a city figure exists."""
    from simulator.reporting.kpis import Estimate, predicted
    best: dict[int, Estimate] = {}
    for estimate in predicted(phase.city):
        if estimate.kpi not in best or estimate.subscriber_class == "all":
            best[estimate.kpi] = estimate
    names = {1: "IPv6 addresses", 7: "access coverage", 13: "IPv6-only readiness"}
    parts = [f"{names[k]} {'-' if e.value is None else f'{100 * e.value:.0f}%'}"
             for k, e in sorted(best.items()) if k in names]
    return "  KPIs: " + ", ".join(parts)


def plan_report(phases, shown: int = 5) -> str:
    """The prediction, phase by phase: what each change alters and what it costs."""
    lines = []
    start = phases[0]
    lines.append(f"before: {start.working} of {len(start.expected)} cells work")
    lines.append(_kpi_line(start))
    for number, phase in enumerate(phases[1:], start=1):
        lines.append("")
        lines.append(f"phase {number} {phase.name!r}: {phase.working} of {len(phase.expected)} cells work "
                     f"({len(phase.gained)} gained, {len(phase.broken)} broken)")
        lines.append(_kpi_line(phase))
        for item in phase.changes:
            change = item.change
            during = (f"{len(item.transient)} working cells broken during the cut-over" if change.strategy == "cut-over"
                      else "nothing broken in between")
            counts = (("gains", item.gained), ("breaks", item.broken))
            during += "".join(f"; {verb} {len(cells)}" for verb, cells in counts if cells)
            lines.append(f"  {change.describe()} [{change.strategy}]: touches {len(item.touched)} cells; {during}")
            lines += [f"      {cell}" for cell in item.transient[:shown]]
            if len(item.transient) > shown:
                lines.append(f"      ... and {len(item.transient) - shown} more")
        if phase.broken:
            lines.append(f"  regressions (worked before this phase, not after): {len(phase.broken)}")
            lines += [f"      {cell}" for cell in phase.broken[:shown]]
            if len(phase.broken) > shown:
                lines.append(f"      ... and {len(phase.broken) - shown} more")
    regressions = sum(len(p.broken) for p in phases[1:])
    transient = sum(len(c.transient) for p in phases[1:] for c in p.changes)
    lines.append("")
    lines.append(f"predicted: {regressions} regressions and {transient} cells broken during cut-overs over "
                 f"{len(phases) - 1} phases; {phases[-1].working} of {len(phases[-1].expected)} cells work at the end")
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="v6lab", description="IPv6 migration testbed.")
    top.add_argument("--version", action="version", version=f"v6lab {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="what this host can emulate, and how to get what is missing")
    doctor.set_defaults(func=_doctor)

    run = sub.add_parser("run", help="run a scenario (default: the default city)")
    run.add_argument("scenario", nargs="?", help="scenario file (default: scenarios/default-city.yaml)")
    run.add_argument("--results", type=Path, help="results root (default: the repository's results/)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(func=_run)

    up = sub.add_parser("up", help="build a city and leave it running (one at a time)")
    up.add_argument("scenario", nargs="?", help="scenario file (default: scenarios/default-city.yaml)")
    up.add_argument("--results", type=Path, help="results root for the city's folder (default: results/)")
    up.add_argument("--quiet", action="store_true", help="no progress lines")
    up.add_argument("--cli", action="store_true", help="open Mininet's CLI on it once it is up")
    up.add_argument("--step", action="store_true",
                    help="a scenario with a plan: bring the city up as the plan starts, then apply one phase at a "
                         "time, asking before each")
    up.set_defaults(func=_up)

    stepping = sub.add_parser("step", help="apply the next phase of the plan of the city that is up (up --step)")
    stepping.set_defaults(func=_step)

    run_in = sub.add_parser("exec", help="run a command in a node of the city that is up",
                            usage="v6lab exec NODE -- COMMAND...")
    run_in.add_argument("node")
    run_in.add_argument("command", nargs=argparse.REMAINDER)
    run_in.set_defaults(func=_exec)

    console = sub.add_parser("cli", help="Mininet's CLI on the city that is up")
    console.set_defaults(func=_cli)

    stop = sub.add_parser("down", help="stop the city that is up; nothing is left")
    stop.set_defaults(func=_down)

    topo = sub.add_parser("topo", help="check a city spec or a scenario file, draw or export a city "
                          "(no network is built)")
    topo_sub = topo.add_subparsers(dest="topo_command", required=True, metavar="{check,draw,export}")
    check = topo_sub.add_parser("check", help="check a city spec or a scenario file as a run would, up to "
                                "building the network, and summarise it")
    check.add_argument("file", type=Path, help="a city spec (topologies/cities/) or a scenario file (scenarios/)")
    check.set_defaults(func=_check)
    draw = topo_sub.add_parser("draw", help="draw a city, layered core / aggregation / access / IDC / outside")
    draw.add_argument("city", type=Path)
    draw.add_argument("-o", "--output", type=Path, default=Path("city.png"))
    draw.add_argument("--dpi", type=int, default=120)
    export = topo_sub.add_parser("export", help="write the city graph as GraphML or JSON")
    export.add_argument("city", type=Path)
    export.add_argument("-o", "--output", type=Path, help="the file; its extension (.graphml, .json) gives the "
                        "format (default: CITY-NAME.graphml)")
    export.add_argument("--format", choices=["graphml", "json"], help="the format, whatever the extension")
    for command in (draw, export):
        command.set_defaults(func=_topo)

    plan = sub.add_parser("plan", help="check a scenario's migration plan and predict what each phase does")
    plan_sub = plan.add_subparsers(dest="plan_command", required=True, metavar="{check}")
    plan_check = plan_sub.add_parser("check", help="validate the plan against its city and predict, from the RFC "
                                     "rules and without a network, the cells every phase breaks or gains")
    plan_check.add_argument("scenario", help="a scenario file with a 'plan:'")
    plan_check.add_argument("--cells", type=int, default=5, help="cell ids listed per finding (default 5)")
    plan_check.set_defaults(func=_plan)

    report = sub.add_parser("report", help="rebuild a run's report.html, one self-contained page, from its "
                            "folder's files; prints its path")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's folder, results/<scenario>/<run-id>")
    report.set_defaults(func=_report)

    side = sub.add_parser("compare", help="compare finished runs of one city (plans) side by side: compare.csv, "
                          "figures and compare.html, one self-contained page, written to OUT_DIR; prints its path")
    side.add_argument("run_dirs", type=Path, nargs="+", metavar="RUN_DIR",
                      help="two or more runs' folders, results/<scenario>/<run-id>")
    side.add_argument("-o", "--output", type=Path, required=True, metavar="OUT_DIR",
                      help="the folder to write into (created if missing)")
    side.add_argument("--allow-different-cities", action="store_true",
                      help="compare runs whose manifests' topology_hash differ or is missing (the page says so)")
    side.set_defaults(func=_compare)

    clean = sub.add_parser("clean", help="remove what crashed runs left (only v6lab's own, by run tag)")
    clean.add_argument("--run", metavar="PREFIX", help="only this run's resources (e.g. vk3q)")
    clean.set_defaults(func=_clean)
    return top


def _interrupt(signum, frame):
    """SIGTERM tears down like Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    # Python leaves SIGINT ignored when it starts with it ignored (a background job
    # of a non-interactive shell): Ctrl-C must still tear the network down.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return args.func(args)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return error.exit_status
    except TestbedError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("interrupted: everything this run started has been removed", file=sys.stderr)
        return 130

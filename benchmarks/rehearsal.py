"""A migration's changes applied live on a city of more than 50 switches, each change
both ways: make-before-break, then cut-over, on two rehearsals of the same plan.

The city: 8 districts (fixed access with 4 OLT switches and 2 CPEs, each with a LAN
host; mobile access with 2 UEs), the migration city's IDC and services: 52 switches,
32 subscriber hosts each running the rehearsal's workload (simulator.measurements.
workload: by-name connections, a sequence-numbered UDP echo per address family, a
long-lived TCP flow). Before the plan, d2's fixed access and d3's mobile access are
dual-stack, the rest IPv4-only, and the AFTR is deployed (phase 1, always
make-before-break). Phase 2 is what is measured, every change with the run's strategy:

- deploy the NAT64 (and its DNS64) at c2          no flow's addresses move
- IPv6 on d1 fixed                                no flow's addresses move
- gov (an IDC service) gains IPv6                 no flow's addresses move
- d2 fixed to DS-Lite                             IPv4 flows move into a softwire (must end);
                                                  IPv6 flows run on
- d3 mobile to 464XLAT                            IPv4 flows move behind a CLAT (must end)
- move the NAT64 (and its DNS64) to c1            d3's IPv4 flows, through CLAT and NAT64,
                                                  run on; its DNS64's address moves

The baseline, measured in the same run: the workload alone on the same network with no
change, over a window as long as a change's (the noise floor of every figure). Goals
(issue 10): make-before-break loses no datagram of a flow it does not have to end;
where a flow must end, its reset is counted and the time until a new flow opens
given; every cell is as expected within 1 s of the change being ready. Protocol timers
are printed apart: what a host learns only when a timer fires is not the change's
doing.

    sudo .venv/bin/python -m benchmarks --only-rehearsal
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from simulator.model.scenario import load_scenario
from simulator.network.capabilities import probe_host
from simulator.network.daemons.radvd import DNS_LIFETIME_S, MAX_RTR_ADV_INTERVAL_S
from simulator.progress import Progress
from simulator.rehearse import run_rehearsal
from topologies.city import city_graph, load_city
from topologies.spec import Kind, node_spec

DISTRICTS = 8
# Slower than a rehearsal's default (1 s, 0.1 s): 32 probers on 2 cores.
PACE = {"interval_s": 2.0, "timeout_s": 2.0, "udp_interval_s": 0.2}
MEASURED: list[dict] = [
    {"change": "deploy", "translator": "nat64", "core": "c2"},
    {"change": "enable-ipv6", "district": "d1", "access": "fixed"},
    {"change": "service", "service": "gov", "families": "dual-stack"},
    {"change": "set-mode", "district": "d2", "access": "fixed", "mode": "ds-lite", "cgn": False},
    {"change": "set-mode", "district": "d3", "access": "mobile", "mode": "464xlat"},
    {"change": "move", "translator": "nat64", "core": "c1"},
]
MUST_END = {"d2 fixed to ds-lite without CGN": "IPv4", "d3 mobile to 464xlat": "IPv4"}


def city() -> dict:
    def access(district: int, kind: str) -> dict:
        dual = (district, kind) in ((2, "fixed"), (3, "mobile"))
        found = {"subscribers": 100000, "emulated_hosts": 2, "ipv6_capable": 1.0,
                 "mode": "dual-stack" if dual else "ipv4-only"}
        return {**found, "olts": 4} if kind == "fixed" else found

    return {
        "name": "bench-rehearsal", "seed": 5, "metro": {"layout": "ring", "core_routers": 3},
        "districts": [{"id": f"d{i}", "fixed": access(i, "fixed"), "mobile": access(i, "mobile")}
                      for i in range(1, DISTRICTS + 1)],
        "idcs": [{"id": "i1", "core": "c3", "spines": 1, "leaves": 2, "servers_per_leaf": 2}],
        "services": [{"name": "ns", "at": "i1", "kind": "dns", "families": "dual-stack"},
                     {"name": "gov", "at": "i1", "families": "ipv4-only"},
                     {"name": "video", "at": "outside", "families": "dual-stack"},
                     {"name": "shop", "at": "outside", "families": "ipv4-only"}],
    }


def scenario(folder: Path, strategy: str) -> Path:
    path = folder / f"bench-{strategy}.yaml"
    path.write_text(yaml.safe_dump({
        "name": f"bench-rehearsal-{strategy}", "seed": 5,
        "topology": {"generator": "city", "params": {"spec": "city.yaml"}},
        "measurements": {"ping_count": 2, "iperf": False, "workload": PACE},
        "plan": [{"phase": "prepare", "hold_s": 3, "changes": [{"change": "deploy", "translator": "aftr",
                                                                  "core": "c3"}]},
                 {"phase": "measured", "changes": [{**change, "strategy": strategy} for change in MEASURED]}],
    }, sort_keys=False))
    return path


def _lost(row: dict) -> str:
    if row.get("packets_lost_ipv4") is None:
        return f"{row['packets_lost']}/{row['packets_sent']}"
    return (f"{row['packets_lost_ipv4']}/{row['packets_sent_ipv4']} "
            f"{row['packets_lost_ipv6']}/{row['packets_sent_ipv6']}")


def _seconds(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _after_ready(row: dict) -> str:
    """Recovery counted from ready: how long after the change said it was ready the
    last cell became as expected (0 when none waited past ready)."""
    if row.get("recovery_s") is None:
        return "never"
    return f"{max(0.0, row['recovery_s'] - (row.get('ready_s') or 0.0)):.1f}"


def run() -> None:
    """Both rehearsals, then the table; their run folders stay under results/."""
    caps = probe_host()
    with tempfile.TemporaryDirectory(prefix="v6lab-bench-rehearsal-") as work:
        folder = Path(work)
        (folder / "city.yaml").write_text(yaml.safe_dump(city(), sort_keys=False))
        graph = city_graph(load_city(folder / "city.yaml"))
        switches = sum(1 for n in graph if node_spec(graph, n).kind is Kind.SWITCH)
        print(f"\nrehearsal: a city of {len(graph)} nodes and {switches} switches (the network of every state), "
              f"the workload on every subscriber host (a connection by name to each web service every "
              f"{PACE['interval_s']:g} s, a datagram per family every {PACE['udp_interval_s']:g} s, a long flow)")
        results = {}
        for strategy in ("make-before-break", "cut-over"):
            result = run_rehearsal(load_scenario(scenario(folder, strategy)), progress=Progress(), capabilities=caps)
            results[strategy] = result
        print(f"\n{'change':<34}{'strategy':<19}{'ready s':>8}  {'lost/sent v4 v6':<20}{'resets':>7}"
              f"{'new flow s':>11}{'broken':>7}{'recovery s':>11}{'after ready':>12}")
        by_strategy = {s: {row["change"]: row for row in r.changes} for s, r in results.items()}
        changes = list(by_strategy["make-before-break"])
        for change in changes:
            for strategy, rows in by_strategy.items():
                row = rows.get(change)
                if row is None or row["phase"] == "prepare":
                    continue
                label = change if strategy == "make-before-break" or row["phase"] == "before" else ""
                print(f"{label:<34}{row['strategy'] or 'baseline':<19}{_seconds(row['ready_s']):>8}  "
                      f"{_lost(row):<20}{row['flows_reset']:>7}{_seconds(row['new_flow_s']):>11}"
                      f"{row['cells_broken_during']:>7}{_seconds(row['recovery_s']):>11}{_after_ready(row):>12}")
        step = by_strategy["make-before-break"][changes[0]].get("resolution_s")
        print(f"  (recovery: from the change's start until every by-name cell is as expected, rounded up to the "
              f"sampling step achieved, {_seconds(step)} s; flows that must end: "
              + ", ".join(f"{c} ({family})" for c, family in MUST_END.items()) + ")")
        print(f"  protocol timers, not waited for by a change: router advertisements every {MAX_RTR_ADV_INTERVAL_S}"
              f" s at most, resolvers announced with a lifetime of {DNS_LIFETIME_S} s (RFC 8106)")
        for strategy, result in results.items():
            print(f"  {strategy}: {len(result.unexpected)} unexpected cells at the end; results in {result.path}")

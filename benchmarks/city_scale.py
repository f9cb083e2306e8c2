"""Cities of about 50, 150 and 300 nodes: v6lab against plain Mininet, same graph.

For each size: build (Mininet objects and links), ready (all addresses up and all
switches connected) and teardown, and the memory the running network takes. Two
plain Mininet scripts, both with the same switch class and datapath, standalone
switches instead of a controller:

- "plain": net.start() and the same addresses set by one shell command per node;
  subscribers' addresses are set statically, no daemon runs;
- "plain+d": the same daemons v6lab runs to give subscribers their addresses the
  way they get them (radvd, Kea and dhclient with the same configuration files),
  started with node.popen() as a script would, and polled until every SLAAC
  address is past DAD and every CPE holds its delegated prefix.

v6lab against "plain" is what the whole testbed costs; against "plain+d" what its
controller and orchestration cost beyond the work itself.

Memory is the resident memory of the run's processes (node shells, daemons,
controller). ovs-vswitchd is left out of it: it serves both, grows to a high-water
mark and keeps it, so its growth would be charged to whichever network ran first;
its size is printed once at the end. Ratios are what to read.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from functools import partial
from pathlib import Path

from benchmarks.foundation import add_graph, plain_addresses, plain_mininet
from simulator.model.address_plan import plan_city_addresses
from simulator.model.routing import compute_routes
from simulator.network import cleanup
from simulator.network.backends.emulation import EmulationBackend
from simulator.network.daemons.dhcpv6 import delegations
from simulator.network.daemons.radvd import advertisers
from simulator.runner import new_run_id
from topologies.city import city_graph, parse_city


def city_of(districts: int, hosts: int, ues: int | None = None) -> dict:
    """``districts`` of ``hosts`` CPEs (a LAN host each) and ``ues`` UEs (as many as
    CPEs by default)."""
    ues = hosts if ues is None else ues
    return {
        "name": f"bench-{districts}x{hosts}",
        "metro": {"layout": "ring", "core_routers": max(3, min(districts, 6))},
        "districts": [{"id": f"d{i}",
                       "fixed": {"subscribers": 100000, "emulated_hosts": hosts, "ipv6_capable": 0.8, "olts": 2},
                       "mobile": {"subscribers": 100000, "emulated_hosts": ues, "ipv6_capable": 0.9}}
                      for i in range(1, districts + 1)],
        "idcs": [{"id": "i1", "spines": 2, "leaves": 2, "servers_per_leaf": 2}],
        "services": [{"name": "ns", "at": "i1", "kind": "dns"}, {"name": "www", "at": "i1"},
                     {"name": "ext", "at": "outside"}],
    }


# Label -> (districts, CPEs per district, UEs per district, runs of each network).
# The city of about 1,000 nodes is the one the living-network issue named (12
# districts of 30 CPEs and 16 UEs); once each, as it takes minutes.
SIZES = {"~50": (2, 4, 4, 3), "~150": (4, 8, 8, 3), "~300": (6, 12, 12, 3), "~1000": (12, 30, 16, 1)}


def _rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _vswitchd_mib() -> float:
    try:
        pid = int(open("/var/run/openvswitch/ovs-vswitchd.pid").read())
    except (OSError, ValueError):
        return 0.0
    return _rss_mib(pid)


def run_memory(prefix: str) -> float:
    """Resident memory of the run's own processes (node shells, daemons, controller)."""
    return sum(_rss_mib(pid) for pid in cleanup.tagged_processes(prefix))


def v6lab(graph, datapath) -> dict:
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    prefix = new_run_id()[1]
    backend = EmulationBackend(graph, plan, compute_routes(graph, plan), prefix=prefix,
                               datapath=datapath, connect_timeout_s=120)
    started = time.monotonic()
    backend.start()
    ready = time.monotonic() - started
    memory = run_memory(prefix)
    backend.stop()
    return {"build": backend.timings["build_s"], "ready": ready, "stop": backend.timings["stop_s"], "mem": memory}


def plain(graph, datapath, daemons: bool = False) -> dict:
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    with plain_mininet(datapath) as (prefix, make_net):
        started = time.monotonic()
        net = make_net(build=False, autoSetMacs=False)
        added = add_graph(net, graph, prefix, plan)
        net.build()
        build = time.monotonic() - started
        net.start()
        plain_addresses(net, graph, plan, added, slaac=daemons)
        processes = _start_daemons(graph, plan, added, cleanup.workdir_for(prefix)) if daemons else []
        ready = time.monotonic() - started
        memory = run_memory(prefix)
        started = time.monotonic()
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
        net.stop()
        return {"build": build, "ready": ready, "stop": time.monotonic() - started, "mem": memory}


def _start_daemons(graph, plan, added: dict, folder: Path) -> list[subprocess.Popen]:
    """radvd, Kea and dhclient as a plain script would run them: wait until no
    address is tentative (they need their link-local addresses), start each one
    with node.popen(), then poll every host and CPE in turn until its address or
    its delegated prefix is there."""
    nodes, names = added["nodes"], added["interfaces"]

    def name(node, peer):
        return names[(node, peer)]

    l3 = [n for n in sorted(graph) if n in nodes and plan.interfaces_of(n)]
    _poll_each(nodes, l3, lambda out: "tentative" not in out, "ip -6 addr show")
    servers, clients = delegations(graph, plan, name)
    processes = []
    for daemon in advertisers(graph, plan, name) + servers + [client for client, _ in clients]:
        own = daemon.write_config(folder / daemon.node / daemon.NAME)
        with open(own / "daemon.log", "w") as log:
            processes.append(nodes[daemon.node].popen(
                daemon.start_command(own), stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **daemon.environment(own)}))
    slaac: dict[str, list[str]] = {}
    for interface in plan.interfaces.values():
        if interface.slaac:
            slaac.setdefault(interface.node, []).append(str(interface.ipv6.ip))
    for host, addresses in sorted(slaac.items()):
        _poll_each(nodes, [host], lambda out, addresses=addresses: all(f" {a}/64 " in out for a in addresses)
                   and "tentative" not in out, "ip -6 -o addr show scope global")
    for client, prefix in clients:
        lease = client.lease_file(folder / client.node / client.NAME)
        while f"iaprefix {prefix} " not in (lease.read_text() if lease.exists() else ""):
            time.sleep(0.05)
    return processes


def _poll_each(nodes: dict, names: list[str], done, command: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    for node in names:
        while not done(nodes[node].cmd(command)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"plain Mininet baseline: {node} not ready after {timeout_s:g} s")
            time.sleep(0.05)


def run(datapath: str, sizes: list[str] | None = None) -> None:
    print("\ncities: median of the runs each size names (3, or 1 for ~1000), the three networks in turn, "
          "each run first once")
    print(f"\n{'city':<8}{'nodes':>6}  {'':<10}{'v6lab':>8}{'plain':>8}{'ratio':>7}{'plain+d':>9}{'ratio':>7}")
    networks = (v6lab, plain, partial(plain, daemons=True))
    for label, (districts, hosts, ues, repeats) in SIZES.items():
        if sizes and label not in sizes:
            continue
        graph = city_graph(parse_city(city_of(districts, hosts, ues)))
        runs: list[list[dict]] = [[], [], []]
        for repeat in range(repeats):
            for k in range(3):
                index = (repeat + k) % 3
                runs[index].append(networks[index](graph, datapath))
        ours, theirs, same = ({key: statistics.median(r[key] for r in each) for key in each[0]} for each in runs)
        for key, unit in (("build", "s"), ("ready", "s"), ("stop", "s"), ("mem", "MiB")):
            first = f"{label:<8}{graph.number_of_nodes():>6}" if key == "build" else " " * 14
            print(f"{first}  {key + ' (' + unit + ')':<10}{ours[key]:>8.1f}{theirs[key]:>8.1f}"
                  f"{_ratio(ours[key], theirs[key]):>7.2f}{same[key]:>9.1f}{_ratio(ours[key], same[key]):>7.2f}",
                  flush=True)
    print(f"  (plain: addresses set statically, no daemons; plain+d: the same radvd, Kea and dhclient"
          f" as v6lab, started by the script;\n   ovs-vswitchd, shared by all of them: {_vswitchd_mib():.0f} MiB"
          " resident, not in mem)")


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")

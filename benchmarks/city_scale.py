"""Cities of about 50, 150 and 300 nodes: v6lab against plain Mininet, same graph.

For each size: build (Mininet objects and links), ready (all addresses up and all
switches connected: v6lab with its controller, addresses, routes, DHCPv6-PD and
SLAAC; plain Mininet with net.start() and the same addresses set by one shell
command per node, as a script would) and teardown, and the memory the running network
takes (resident memory of the run's processes plus ovs-vswitchd's growth). The plain script uses the same switch class and
datapath, standalone switches instead of a controller. Ratios are what to read.
"""

from __future__ import annotations

import time

from benchmarks.foundation import add_graph, plain_addresses, plain_mininet
from simulator.address_plan import plan_city_addresses
from simulator.backends.emulation import EmulationBackend
from simulator.routing import compute_routes
from simulator.runner import new_run_id
from topologies.city import city_graph, parse_city


def city_of(districts: int, hosts: int) -> dict:
    return {
        "name": f"bench-{districts}x{hosts}",
        "metro": {"layout": "ring", "core_routers": max(3, min(districts, 6))},
        "districts": [{"id": f"d{i}",
                       "fixed": {"subscribers": 100000, "emulated_hosts": hosts, "ipv6_capable": 0.8, "olts": 2},
                       "mobile": {"subscribers": 100000, "emulated_hosts": hosts, "ipv6_capable": 0.9}}
                      for i in range(1, districts + 1)],
        "idcs": [{"id": "i1", "spines": 2, "leaves": 2, "servers_per_leaf": 2}],
        "services": [{"name": "ns", "at": "i1", "kind": "dns"}, {"name": "www", "at": "i1"},
                     {"name": "ext", "at": "outside"}],
    }


SIZES = {"~50": (2, 4), "~150": (4, 8), "~300": (6, 12)}


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


def run_memory(prefix: str, vswitchd_before: float) -> float:
    """Resident memory of the run's own processes (node shells, daemons, controller)
    plus what ovs-vswitchd grew by for its bridges."""
    from simulator.cleanup import tagged_processes
    return sum(_rss_mib(pid) for pid in tagged_processes(prefix)) + _vswitchd_mib() - vswitchd_before


def v6lab(graph, datapath) -> dict:
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    prefix = new_run_id()[1]
    backend = EmulationBackend(graph, plan, compute_routes(graph, plan), prefix=prefix,
                               datapath=datapath, connect_timeout_s=120)
    vswitchd = _vswitchd_mib()
    started = time.monotonic()
    backend.start()
    ready = time.monotonic() - started
    memory = run_memory(prefix, vswitchd)
    backend.stop()
    return {"build": backend.timings["build_s"], "ready": ready, "stop": backend.timings["stop_s"], "mem": memory}


def plain(graph, datapath) -> dict:
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    with plain_mininet(datapath) as (prefix, make_net):
        vswitchd = _vswitchd_mib()
        started = time.monotonic()
        net = make_net(build=False, autoSetMacs=False)
        added = add_graph(net, graph, prefix)
        net.build()
        build = time.monotonic() - started
        net.start()
        plain_addresses(net, graph, plan, added)
        ready = time.monotonic() - started
        memory = run_memory(prefix, vswitchd)
        started = time.monotonic()
        net.stop()
        return {"build": build, "ready": ready, "stop": time.monotonic() - started, "mem": memory}


def run(datapath: str) -> None:
    print(f"\n{'city':<8}{'nodes':>6}  {'':<10}{'v6lab':>8}{'plain':>8}{'ratio':>7}")
    for label, (districts, hosts) in SIZES.items():
        graph = city_graph(parse_city(city_of(districts, hosts)))
        ours, theirs = v6lab(graph, datapath), plain(graph, datapath)
        for key, unit in (("build", "s"), ("ready", "s"), ("stop", "s"), ("mem", "MiB")):
            name = f"{key} ({unit})"
            first = f"{label:<8}{graph.number_of_nodes():>6}" if key == "build" else " " * 14
            print(f"{first}  {name:<10}{ours[key]:>8.1f}{theirs[key]:>8.1f}"
                  f"{ours[key] / theirs[key] if theirs[key] else float('nan'):>7.2f}")

"""The default city slice against plain Mininet and a bare OVS bridge, in one run.

- lifecycle: v6lab's backend (controller, build, switches connected, addresses,
  routes) against a plain Mininet script that builds the same graph with the same
  switch class (OVS, same datapath, standalone learning instead of a controller,
  Mininet's default addressing), then both tear down;
- throughput: iperf3 over IPv4 and IPv6 through the city slice (3 routers, 4
  switches) against two hosts on one bare OVS bridge, same switch class.

The machine is shared and noisy: read the ratios, not the seconds. Everything it
creates carries a run tag and is removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import statistics
import sys
import time
from functools import partial

from simulator.measurements.throughput import measure_throughput
from simulator.model.address_plan import plan_addresses
from simulator.model.routing import compute_routes
from simulator.network import cleanup
from simulator.network.backends.emulation import EmulationBackend
from simulator.network.capabilities import probe_host
from simulator.network.daemons import IperfServer
from simulator.runner import new_run_id
from topologies import city_slice
from topologies.spec import Kind, node_spec

REPEATS = 3


@contextlib.contextmanager
def plain_mininet(datapath):
    """Stock Mininet with standalone OVS switches (no controller) of the same class.

    Bridges and processes still carry a run tag, only so that the sweep at the end
    removes them even when the baseline fails half-way."""
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.node import OVSSwitch

    setLogLevel("error")
    Mininet.inited = True
    _, prefix = new_run_id()
    os.environ[cleanup.ENV_TAG] = prefix

    class Tagged(OVSSwitch):
        def bridgeOpts(self):
            return super().bridgeOpts() + f" external_ids:{cleanup.BRIDGE_TAG}={prefix}"

    switch = partial(Tagged, datapath=datapath, failMode="standalone")
    try:
        yield prefix, partial(Mininet, controller=None, switch=switch)
    finally:
        cleanup.clean(prefix)
        os.environ.pop(cleanup.ENV_TAG, None)


def add_graph(net, graph, prefix: str, plan=None) -> dict:
    """The graph's nodes and links, as a plain Mininet script adds them. Numbered names
    (<prefix>s12, <prefix>h7), as such a script would use: <name>-ethN must fit 15
    characters. With a plan, its MACs (SLAAC addresses and DHCPv6 reservations come
    from them). Returns (node, peer) -> the Mininet interface name."""
    nodes, names = {}, {}
    for index, name in enumerate(sorted(graph), start=1):
        if node_spec(graph, name).kind is Kind.SWITCH:
            nodes[name] = net.addSwitch(f"{prefix}s{index}", dpid=f"{index:016x}")
        else:
            nodes[name] = net.addHost(f"{prefix}h{index}")
    for a, b in sorted(tuple(sorted(e)) for e in graph.edges):
        macs = {}
        for end, key in (("addr1", (a, b)), ("addr2", (b, a))):
            interface = plan.interfaces.get(key) if plan is not None else None
            if interface is not None and interface.mac:
                macs[end] = interface.mac
        link = net.addLink(nodes[a], nodes[b], **macs)
        names[(a, b)], names[(b, a)] = link.intf1.name, link.intf2.name
    return {"nodes": nodes, "interfaces": names}


def plain_addresses(net, graph, plan, added: dict, slaac: bool = False) -> None:
    """The same addresses as v6lab's plan, the way a plain script sets them: one
    shell command per node (IPv6 without DAD, as v6lab sets planned addresses),
    forwarding on routers. With ``slaac``, the addresses subscribers get by SLAAC
    are left to router advertisements. What v6lab adds beyond this (controller,
    SLAAC, DHCPv6-PD, routes) is its own work."""
    for node in sorted(graph):
        if node_spec(graph, node).kind is Kind.SWITCH:
            continue
        lines = []
        if node_spec(graph, node).kind is Kind.ROUTER:
            lines += ["sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1"]
        for interface in plan.interfaces_of(node):
            name = added["interfaces"][(node, interface.peer)]
            lines.append(f"ip -4 addr flush dev {name}")
            if interface.ipv4:
                lines.append(f"ip -4 addr add {interface.ipv4} dev {name}")
            if interface.ipv6 and not (slaac and interface.slaac):
                lines.append(f"ip -6 addr add {interface.ipv6} dev {name} nodad")
        added["nodes"][node].cmd("; ".join(lines))


def v6lab_lifecycle(graph, datapath) -> dict:
    plan = plan_addresses(graph)
    routes = compute_routes(graph, plan)
    _, prefix = new_run_id()
    backend = EmulationBackend(graph, plan, routes, prefix=prefix, datapath=datapath)
    started = time.monotonic()
    backend.start()
    ready = time.monotonic() - started
    backend.stop()
    return {"ready_s": ready, "stop_s": backend.timings["stop_s"]}


def plain_mininet_lifecycle(graph, datapath) -> dict:
    """What a user would write with Mininet alone for the same graph."""
    plan = plan_addresses(graph)
    with plain_mininet(datapath) as (prefix, make_net):
        started = time.monotonic()
        net = make_net(build=False, autoSetMacs=False)
        added = add_graph(net, graph, prefix)
        net.start()
        plain_addresses(net, graph, plan, added)
        ready = time.monotonic() - started
        started = time.monotonic()
        net.stop()
        stop = time.monotonic() - started
    return {"ready_s": ready, "stop_s": stop}


def v6lab_throughput(graph, datapath, seconds) -> dict:
    plan = plan_addresses(graph)
    routes = compute_routes(graph, plan)
    _, prefix = new_run_id()
    with EmulationBackend(graph, plan, routes, prefix=prefix, datapath=datapath) as backend:
        backend.start_daemons([IperfServer("web")])
        records = measure_throughput(backend, plan, "d1h1", "web", seconds)
    return {r["family"]: r["bits_per_second"] for r in records}


def bare_bridge_throughput(datapath, seconds) -> dict:
    """Two hosts on one OVS bridge, Mininet's plain defaults plus IPv6 addresses."""
    rates = {}
    with plain_mininet(datapath) as (prefix, make_net):
        net = make_net(autoSetMacs=True)
        switch = net.addSwitch(f"{prefix}s1", dpid="1")
        one, two = net.addHost(f"{prefix}h1"), net.addHost(f"{prefix}h2")
        net.addLink(one, switch)
        net.addLink(two, switch)
        net.start()
        for host, address in ((one, "fd00::1/64"), (two, "fd00::2/64")):
            host.cmd(f"ip -6 addr add {address} dev {host.defaultIntf()} nodad")
        server = two.popen(["iperf3", "--server", "--port", "5201"])
        time.sleep(0.5)
        for family, target in (("ipv4", two.IP()), ("ipv6", "fd00::2")):
            out = one.cmd(f"iperf3 --client {target} --time {seconds:g} --json")
            rates[family] = json.loads(out)["end"]["sum_received"]["bits_per_second"]
        server.terminate()
        server.wait()
        net.stop()
    return rates


def _median(runs, key):
    return statistics.median(r[key] for r in runs)


def datapath() -> str | None:
    """The OVS datapath the benchmarks use, or None (said why) when this host cannot
    run them."""
    if os.geteuid() != 0:
        print("benchmarks build networks: run as root (sudo make bench)", file=sys.stderr)
        return None
    caps = probe_host()
    if not caps.can_emulate:
        print("this host cannot emulate; see v6lab doctor", file=sys.stderr)
        return None
    return caps.ovs_datapath


def run() -> str | None:
    """The city slice's lifecycle and throughput; returns the datapath used, or
    None when this host cannot run the benchmarks."""
    found = datapath()
    if found is None:
        return None
    return _run(found)


def _run(datapath: str) -> str:
    graph = city_slice()
    print(f"city slice: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} links; "
          f"OVS datapath {datapath}; median of {REPEATS} runs, alternating")
    ours, plain = [], []
    for _ in range(REPEATS):
        ours.append(v6lab_lifecycle(graph, datapath))
        plain.append(plain_mininet_lifecycle(graph, datapath))
    print(f"\n{'lifecycle':<34}{'v6lab':>10}{'plain Mininet':>15}{'ratio':>8}")
    for key, label in (("ready_s", "build to ready (s)"), ("stop_s", "teardown (s)")):
        a, b = _median(ours, key), _median(plain, key)
        print(f"{label:<34}{a:>10.2f}{b:>15.2f}{a / b:>8.2f}")
    print("  (ready: all addresses up, all switches connected; v6lab also starts its controller"
          " and installs routes;\n   plain Mininet sets the same addresses with one shell command per node)")

    seconds = 3.0
    city = v6lab_throughput(graph, datapath, seconds)
    bare = bare_bridge_throughput(datapath, seconds)
    print(f"\n{'TCP throughput, iperf3 ' + format(seconds, 'g') + ' s (Gbit/s)':<34}{'city':>10}"
          f"{'bare bridge':>15}{'ratio':>8}")
    for family in ("ipv4", "ipv6"):
        print(f"{family:<34}{city[family] / 1e9:>10.2f}{bare[family] / 1e9:>15.2f}"
              f"{city[family] / bare[family]:>8.2f}")
    print("  (city: d1h1 > bng1 > core > idcgw > web, 3 routers and 4 switches;"
          " bare: 2 hosts, 1 switch)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process: {peak:.0f} MiB")
    return datapath

"""The NAT64 and DNS64 of a v6lab city against bare TAYGA and a bare Unbound, in the
spirit of RFC 8219 (benchmarking IPv6 transition technologies):

- throughput: the highest UDP rate with no loss, found by binary search (RFC 8219
  section 7.1, with iperf3 in place of a tester);
- latency: median and 99.9th percentile of round trip times (section 7.2 asks for
  latency at the throughput rate with tagged frames; this is ping at light load,
  which says so in its label);
- DNS64 performance: answered queries per second with 32 in flight (section 9),
  for names that need synthesis.

Bare: three network namespaces joined by veth pairs (client, TAYGA with the same
nftables NAT44 as v6lab's, server), no switch and no controller. v6lab: the
transition city, from an IPv6-only UE through its switches, routers and NAT64 to
an IDC server, and the same UE to the same server over native IPv6, which tells the
network's share from the translator's. Read the ratios: the machine is shared.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from simulator.model import transition
from simulator.network import cleanup
from simulator.network.daemons.dns import DnsServer
from simulator.network.daemons.translators import Nat64
from topologies.rfc6052 import synthesize

UDP_PAYLOAD = 1200          # bytes: fits any path here, translated or not
SEARCH_STEPS = 7
SEARCH_CEILING_MBPS = 2000.0
PINGS = 1000


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def udp_throughput(run, target: str) -> float:
    """Highest rate (Mbit/s) at which iperf3 -u lost nothing; binary search."""
    low, high = 0.0, SEARCH_CEILING_MBPS
    for _ in range(SEARCH_STEPS):
        rate = (low + high) / 2
        out = run(["iperf3", "--client", target, "--connect-timeout", "3000", "--udp", "--bitrate", f"{rate:.0f}M",
                   "--length", str(UDP_PAYLOAD), "--time", "1", "--json"])
        try:
            lost = json.loads(out)["end"]["sum"]["lost_packets"]
        except (ValueError, KeyError):
            lost = None
        if lost == 0:
            low = rate
        else:
            high = rate
    return low


def latency(run, target: str) -> tuple[float, float]:
    out = run(["ping", "-n", "-c", str(PINGS), "-i", "0.002", "-W", "1", target])
    times = [float(x) for x in re.findall(r"time=([\d.]+) ms", out)]
    if not times:
        return float("nan"), float("nan")
    return statistics.median(times), _percentile(times, 0.999)


def dns64_qps(run, server: str, name: str) -> float:
    out = run([sys.executable, "-m", "benchmarks.dnsload", server, name, "3"])
    try:
        return json.loads(out)["qps"]
    except (ValueError, KeyError):
        return float("nan")


def measure(run, target: str, dns: tuple[str, str] | None) -> dict:
    median, tail = latency(run, target)
    found = {"udp_mbps": udp_throughput(run, target), "rtt_median_ms": median, "rtt_p999_ms": tail}
    if dns:
        found["dns64_qps"] = dns64_qps(run, *dns)
    return found


# --- bare TAYGA -------------------------------------------------------------------------

BARE_SCRIPT = """
set -e
for n in c x s; do ip netns add {p}$n; ip -n {p}$n link set lo up; done
ip link add {p}c0 netns {p}c type veth peer {p}x0 netns {p}x
ip link add {p}x1 netns {p}x type veth peer {p}s0 netns {p}s
for pair in c:{p}c0 x:{p}x0 x:{p}x1 s:{p}s0; do ip -n {p}${{pair%%:*}} link set ${{pair#*:}} up; done
ip -n {p}c -6 addr add 2001:db8:1::2/64 dev {p}c0 nodad
ip -n {p}c -6 route add default via 2001:db8:1::1
ip -n {p}x -6 addr add 2001:db8:1::1/64 dev {p}x0 nodad
ip -n {p}x addr add 11.200.9.1/24 dev {p}x1
ip -n {p}s addr add 11.200.9.2/24 dev {p}s0
ip -n {p}s route add default via 11.200.9.1
ip netns exec {p}x sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward; echo 1 > /proc/sys/net/ipv6/conf/all/forwarding'
"""


class BareTayga:
    """Client, TAYGA and server namespaces; everything goes at exit."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.folder = Path(tempfile.mkdtemp(prefix=f"v6lab-bench-{prefix}-"))
        self.processes: list[subprocess.Popen] = []
        self.env = {**os.environ, cleanup.ENV_TAG: prefix}

    def ns(self, name: str) -> list[str]:
        return ["ip", "netns", "exec", f"{self.prefix}{name}"]

    def __enter__(self):
        try:
            subprocess.run(["sh", "-c", BARE_SCRIPT.format(p=self.prefix)], check=True, capture_output=True)
            nat64 = Nat64("bare", "64:ff9b::/96", "11.201.0.0/29", "2001:db8:64::/64")
            folder = nat64.write_config(self.folder / "nat64")
            subprocess.run(self.ns("x") + ["sh", "-c", nat64.setup_script(folder)], check=True, capture_output=True)
            self.start("x", nat64.start_command(folder))
            dns = DnsServer("bare", "city.test", ["2001:db8:1::1"], {"shop": ["11.200.9.2"]},
                            dns64_prefix="64:ff9b::/96")
            folder = dns.write_config(self.folder / "dns64")
            self.start("x", dns.start_command(folder))
            self.start("s", ["iperf3", "--server", "--port", "5201"])
            time.sleep(1.0)
        except BaseException:
            self.__exit__()
            raise
        return self

    def start(self, namespace: str, command: list[str]) -> None:
        self.processes.append(subprocess.Popen(self.ns(namespace) + command, env=self.env, stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL))

    def run(self, command: list[str]) -> str:
        return subprocess.run(self.ns("c") + command, capture_output=True, text=True, timeout=60,
                              env=self.env).stdout

    def __exit__(self, *exc):
        for process in self.processes:
            process.terminate()
            try:
                process.wait(3)
            except subprocess.TimeoutExpired:
                process.kill()
        for name in ("c", "x", "s"):
            subprocess.run(["ip", "netns", "del", f"{self.prefix}{name}"], capture_output=True)
        subprocess.run(["rm", "-rf", str(self.folder)])


# --- the v6lab city -------------------------------------------------------------------


def v6lab(datapath: str) -> dict:
    from simulator.model.city_model import CityModel
    from simulator.model.preparation import address_plan, build_graph
    from simulator.model.routing import compute_routes
    from simulator.model.scenario import REPO_ROOT, load_scenario
    from simulator.network.backends.emulation import EmulationBackend
    from simulator.network.daemons import IperfServer
    from simulator.network.preparation import service_daemons
    from simulator.runner import new_run_id
    from topologies.spec import Family

    scenario = load_scenario(REPO_ROOT / "scenarios" / "transition.yaml")
    graph = build_graph(scenario)
    plan = address_plan(graph, scenario)
    _, prefix = new_run_id()
    client, server = "d1u1", "i1v2"
    with EmulationBackend(graph, plan, compute_routes(graph, plan), prefix=prefix, datapath=datapath,
                          zone=scenario.zone) as net:
        city = CityModel(graph, plan, compute_routes(graph, plan), scenario.zone)
        net.start_daemons(service_daemons(city) + [IperfServer(server)])
        net.warm_up()

        def run(command):
            return net.run(client, command, timeout=60).stdout

        translated = str(synthesize(plan.nat64_prefix, plan.primary(server, Family.IPV4)))
        dns = (str(transition.dns64_address(graph, plan)), "shop.city.test")
        return {"nat64": measure(run, translated, dns), "native": measure(run, str(plan.primary(server, Family.IPV6)),
                                                                           None)}


def run(datapath: str) -> None:
    from simulator.runner import new_run_id
    _, prefix = new_run_id()
    with BareTayga(prefix) as bare:
        baseline = measure(bare.run, str(synthesize("64:ff9b::/96", ipaddress.ip_address("11.200.9.2"))),
                           ("2001:db8:1::1", "shop.city.test"))
    city = v6lab(datapath)
    print(f"\n{'NAT64 and DNS64 (RFC 8219 style)':<40}{'v6lab NAT64':>12}{'bare TAYGA':>12}{'ratio':>8}"
          f"{'v6lab native IPv6':>19}")
    rows = (("UDP throughput, no loss (Mbit/s)", "udp_mbps", "{:.0f}"),
            ("RTT median, ping (ms)", "rtt_median_ms", "{:.3f}"),
            ("RTT 99.9th percentile, ping (ms)", "rtt_p999_ms", "{:.3f}"),
            ("DNS64 answers per second", "dns64_qps", "{:.0f}"))
    for label, key, form in rows:
        ours, base = city["nat64"].get(key), baseline.get(key)
        native = city["native"].get(key)
        ratio = f"{ours / base:.2f}" if ours and base else "-"
        print(f"{label:<40}{form.format(ours):>12}{form.format(base):>12}{ratio:>8}"
              f"{form.format(native) if native is not None else '-':>19}")
    print("  (v6lab: IPv6-only UE d1u1 -> radio switch -> gateway -> metro -> NAT64 -> IDC server i1v2;"
          f" bare: client -> TAYGA -> server on veth pairs; {SEARCH_STEPS} search steps of 1 s, "
          f"{UDP_PAYLOAD}-byte UDP payloads, {PINGS} pings every 2 ms)")

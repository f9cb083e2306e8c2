"""The backend's live operations on the city slice, while it runs: a daemon stopped,
started again and reloaded, a node's configuration changed, a node taken down and
brought back. Each change is checked by what a host sees (curl, dig, ping), never by
the backend's own word.

The slice (topologies/city_slice.py): d1h1 (dual-stack) behind bng1; web (www) and
dns (ns) behind idcgw; core joins them.
"""

import dataclasses
import ipaddress
import json
import subprocess
import sys
import time

import pytest

from simulator.measurements import meters, workload
from simulator.measurements.disruption import disruption
from simulator.model import transition
from simulator.model.address_plan import plan_addresses
from simulator.model.city_model import CityModel
from simulator.model.routing import compute_routes
from simulator.network.backends.emulation import EmulationBackend
from simulator.network.daemons import DnsServer, WebServer
from simulator.network.daemons.workload_server import WorkloadServer
from simulator.network.nodeconfig import Address
from simulator.network.preparation import zone_records
from simulator.progress import Progress
from simulator.runner import new_run_id
from topologies import city_slice
from topologies.spec import Family


@pytest.fixture(scope="module")
def city(capabilities):
    graph = city_slice()
    plan = plan_addresses(graph)
    backend = EmulationBackend(graph, plan, compute_routes(graph, plan), prefix=new_run_id()[1],
                               datapath=capabilities.ovs_datapath, progress=Progress(quiet=True), zone="city.test")
    with backend:
        web = WebServer("web", "www.city.test")
        dns = DnsServer("dns", "city.test", [str(a.ip) for f in Family for a in plan.addresses("dns", f)],
                        zone_records(CityModel(graph, plan, compute_routes(graph, plan), "city.test")))
        backend.start_daemons([web, dns])
        backend.warm_up()
        yield backend, plan, web, dns


def fetch(backend, plan):
    address = plan.primary("web", Family.IPV6)
    return backend.run("d1h1", ["curl", "-s", "-m", "3", "-g", f"http://[{address}]/"], timeout=10)


def test_stop_and_start_a_daemon(city):
    backend, plan, web, _ = city
    assert fetch(backend, plan).ok
    backend.stop_daemons([web])
    assert not fetch(backend, plan).ok
    backend.start_daemons([web])
    assert "v6lab-service:www.city.test" in fetch(backend, plan).stdout


def test_reload_the_dns_with_a_new_record(city):
    backend, plan, _, dns = city
    ask = ["dig", "+short", "+time=2", "A", "new.city.test"]
    assert backend.run("d1h1", ask, timeout=10).stdout.strip() == ""
    dns.records = {**dns.records, "new": ["192.0.2.80"]}
    backend.reload_daemon(dns)   # SIGHUP: Unbound reads its zone again
    assert backend.run("d1h1", ask, timeout=10).stdout.strip() == "192.0.2.80"


def test_configure_a_running_router(city):
    backend, plan, _, _ = city
    # bng1 stops forwarding IPv6: d1h1 loses the web server over IPv6, and gets it back.
    before = backend.configs["bng1"]
    off = dataclasses.replace(before, sysctls=tuple(
        (key, "0" if key == "net/ipv6/conf/all/forwarding" else value) for key, value in before.sysctls))
    backend.configure({"bng1": off})
    assert not fetch(backend, plan).ok
    backend.configure({"bng1": before})
    assert fetch(backend, plan).ok
    # An address added on a running interface is there, and goes again.
    first = before.interfaces[0]
    extra = dataclasses.replace(first, addresses=first.addresses + (
        Address(ipaddress.ip_interface("2001:db8:ffff::1/64"), skip_dad=True),))
    backend.configure({"bng1": dataclasses.replace(before, interfaces=(extra,) + before.interfaces[1:])})
    assert "2001:db8:ffff::1/64" in backend.run("bng1", ["ip", "-6", "addr", "show", "dev", first.name]).stdout
    backend.configure({"bng1": before})
    assert "2001:db8:ffff::1" not in backend.run("bng1", ["ip", "-6", "addr", "show", "dev", first.name]).stdout


def test_a_node_down_and_up(city):
    backend, plan, _, _ = city
    web4 = str(plan.primary("web", Family.IPV4))
    ping = ["ping", "-c", "1", "-W", "1", web4]
    backend.set_node("idcgw", up=False)
    assert not backend.run("d1h1", ping, timeout=10).ok
    backend.set_node("idcgw", up=True)
    assert backend.run("d1h1", ping, timeout=10).ok


def test_the_controller_refuses_and_readmits_ipv6_on_an_access_segment(city):
    """A phase change through the controller's control channel: IPv6 refused on d1's
    access switch a1, then admitted again; IPv4 is never touched."""
    backend, plan, _, _ = city
    web6, web4 = plan.primary("web", Family.IPV6), plan.primary("web", Family.IPV4)
    segments = transition.access_segments(backend.graph)

    def ping(address):
        return backend.run("d1h1", ["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", str(address)], timeout=15).ok

    def admitted(ipv6):
        return {name: [{**item, "ipv6": ipv6 if name == "a1" else item["ipv6"]} for item in items]
                for name, items in segments.items()}

    assert ping(web6) and ping(web4)
    # a1: the BNG on port 1, d1h1 and d1h2 on 2 and 3; the RA guard on 2 and 3 stays.
    refused = backend.enforce_phase(1, admitted(False), "make-before-break")
    assert (refused["flows_changed"], refused["pending"]) == (3, 0)
    assert not ping(web6)
    assert ping(web4)
    dropped = backend.counters(fresh_after=time.time())["switches"]["a1"]["dropped"]
    assert dropped["ipv6-admission"]["flows"] == 3 and dropped["ipv6-admission"]["packets"] >= 2
    readmitted = backend.enforce_phase(2, admitted(True), "make-before-break")
    assert (readmitted["flows_changed"], readmitted["pending"]) == (3, 0)
    assert backend.commit_phase()["flows_changed"] == 0
    assert ping(web6) and ping(web4)


def test_the_workload_measures_the_disruption_of_a_phase_change(city):
    """A subscriber's workload (connections, a UDP echo stream, a long-lived flow, all
    over IPv6 to web) while IPv6 is refused on its access switch for about 2 s: the
    disruption figures come from the samples it wrote."""
    backend, plan, _, _ = city
    web6 = str(plan.primary("web", Family.IPV6))
    server = WorkloadServer("web")
    backend.start_daemons([server])
    segments = transition.access_segments(backend.graph)
    closed = {name: [{**item, "ipv6": False if name == "a1" else item["ipv6"]} for item in items]
              for name, items in segments.items()}
    config = {"client": "d1h1", "interval_s": 0.2, "timeout_s": 1.0,
              "services": [{"name": web6, "port": 80, "marker": "v6lab-service:www.city.test"}],
              "udp": [{"address": web6, "port": 7, "interval_s": 0.1, "timeout_s": 1.0}],
              "stream": {"host": web6, "port": 5001, "stall_s": 1.0, "give_up_s": 10.0}}
    prober = backend.popen("d1h1", workload.command(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    try:
        time.sleep(2.5)
        started = time.time()
        backend.enforce_phase(11, closed, "make-before-break")
        ready = time.time()
        time.sleep(2.0)
        readmitting = time.time()
        backend.enforce_phase(12, segments, "make-before-break")
        time.sleep(3.0)
    finally:
        prober.terminate()
        out, err = prober.communicate(timeout=20)
        backend.stop_daemons([server])
    samples = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert samples and samples[-1]["kind"] == "summary", err
    found = disruption(samples, started, ready, time.time(), {("d1h1", web6): True})
    # The one cell broke while IPv6 was refused, and works again: no regression.
    assert (found.broken_during, found.regressions, found.gained) == ((("d1h1", web6),), (), ())
    # Datagrams were lost, and only those sent while IPv6 was refused (or within the
    # echo timeout before it was: their echoes came back into the refusal).
    lost = [d["t"] for d in samples if d["kind"] == "udp" and not d["ok"]]
    assert found.packets_lost == len(lost) > 0
    wait = config["udp"][0]["timeout_s"]
    assert all(started - wait <= t <= readmitting + wait for t in lost), lost
    # The cell failed until IPv6 was admitted again: it cannot have recovered sooner than
    # that, less one attempt's timeout (an attempt started just before may succeed).
    assert found.recovery_s is not None
    assert found.recovery_s >= readmitting - started - config["timeout_s"]
    assert found.flows_stalled + found.flows_reset >= 1


def test_meters_count_each_family_once_at_the_access_uplink(city):
    """Known traffic: 50 IPv4 and 50 IPv6 echoes of 1,400 bytes of payload from d1h1 to
    web. bng1's uplink counts each family's requests out and replies in: an IPv4 echo is
    1,428 bytes (20 + 8 + 1,400), an IPv6 one 1,448 (40 + 8 + 1,400)."""
    backend, plan, _, _ = city
    points = [p for p in meters.meter_points(backend.graph) if p.node == "bng1"]
    assert [p.name for p in points] == ["bng1-m1"]
    meters.install(backend, points, backend.interface_name)
    before = meters.collect(backend, points)
    for family in Family:
        address = str(plan.primary("web", family))
        assert backend.run("d1h1", ["ping", "-n", "-q", "-c", "50", "-i", "0.02", "-s", "1400", address],
                           timeout=20).ok
    counted = {(r["direction"], r["family"]): (r["packets"], r["bytes"])
               for r in meters.delta(before, meters.collect(backend, points))}
    for direction in ("out", "in"):
        assert counted[(direction, "ipv4")] == (50, 71_400)
        packets, size = counted[(direction, "ipv6")]
        # The link's own IPv6 (neighbour discovery, MLD: one 156-byte packet was seen)
        # is counted too, as it should be: within 1 %.
        assert 50 <= packets <= 53 and abs(size - 72_400) <= 724


ROGUE_RA = r"""
import socket, struct, sys
# RFC 4861 4.2: a router advertisement (hop limit 64, router lifetime 1800 s) with a
# prefix information option for 2001:db8:bad::/64 (on-link, autonomous).
prefix = socket.inet_pton(socket.AF_INET6, "2001:db8:bad::")
option = struct.pack("!BBBBIII", 3, 4, 64, 0xC0, 86400, 14400, 0) + prefix
message = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 1800, 0, 0) + option
sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
index = socket.if_nametoindex(sys.argv[1])
for _ in range(3):
    sock.sendto(message, ("ff02::1", 0, 0, index))
"""


def test_a_rogue_router_advertisement_from_a_subscriber_is_dropped(city):
    """d1h2 advertises itself as a router with a prefix of its own (RFC 6105's threat):
    the access switch's RA guard drops all three, and none reaches d1h1. (With the guard
    lifted, the same three were captured on d1h1: tried by hand.)"""
    backend, _, _, _ = city

    def guarded():
        return backend.counters(fresh_after=time.time())["switches"]["a1"]["dropped"]["ra-guard"]["packets"]

    before = guarded()
    listening = backend.popen("d1h1", ["tcpdump", "-n", "-l", "-i", backend.interface_name("d1h1", "a1"),
                                       "icmp6 and ip6[40] == 134"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    time.sleep(1.0)
    sent = backend.run("d1h2", [sys.executable, "-c", ROGUE_RA, backend.interface_name("d1h2", "a1")], timeout=10)
    assert sent.ok, sent.stderr
    time.sleep(1.0)
    listening.terminate()
    heard, _ = listening.communicate(timeout=10)
    assert guarded() - before == 3
    # bng1's own RAs may be heard; none from d1h2's link-local address.
    rogue = backend.run("d1h2", ["ip", "-6", "-o", "addr", "show", "dev", backend.interface_name("d1h2", "a1"),
                                 "scope", "link"], timeout=10).stdout.split()[3].split("/")[0]
    assert rogue.startswith("fe80:") and rogue not in heard

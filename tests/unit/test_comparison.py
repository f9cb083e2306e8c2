"""simulator.measurements.comparison: the paths compared on the transition city, the IPv4 path of a
client, the summary of hand-made samples, and measure() with a stand-in backend.

The transition city (topologies/cities/transition.yaml, seed 11; the plan is worked
out in tests/unit/test_city_transition.py and tests/unit/test_matrix.py):

    clients, sorted:  d1f1h1 (ipv4-only), d1f2h1 (dual-stack), d1u1 d1u2 (ipv6-only),
                      d2f1h1 d2f2h1 (ds-lite), d2u1 d2u2 (464xlat), d3f1h1 (464xlat),
                      d3u1 (ipv4-only), d3u2 (dual-stack)
    services, in node order: ns on i1v1 (DNS), portal on i1v2 (dual-stack, the first
    dual-stack web service: the target), school on i1v3 (IPv4-only, the first
    IPv4-only web service), lab6 on i1v4, video x1, shop x2, mirror6 x3.
    i1r1 = 11.64.0.64/29 and 2001:db8:400:3::/64, members i1l1 (router, 1), i1v1 (2),
    i1v2 (3): the city DNS is 11.64.0.66 / 2001:db8:400:3::2, the portal 11.64.0.67 /
    2001:db8:400:3::3. The DNS64 on n64 (c2-n64 = 2001:db8:0:4::/64, member 2):
    2001:db8:0:4::2. The NAT64 prefix is the well-known 64:ff9b::/96.
    The portal through the NAT64: 11.64.0.67 = 0b.40.00.43 -> 64:ff9b::b40:43.

Paths, one client of each kind in the order IPv6-only, 464XLAT, DS-Lite, dual-stack,
IPv4-only, the first of each kind in name order: d1u1, d2u1, d2f1h1, d1f2h1, d1f1h1.
IPv6-only and 464XLAT clients ask the DNS64; the others the city DNS, over IPv6 where
they have it. d1f1h1 and d1f2h1 sit on CPEs (NAT44) behind d1bng, a CGN: NAT444.
"""

import dataclasses
import ipaddress
import json
import statistics
import sys
from pathlib import Path

import pytest

from simulator.measurements.comparison import (
    DS_LITE_NOTE,
    METRICS,
    caveats,
    ipv4_path,
    measure,
    paths,
    summarise,
    target,
)
from simulator.measurements.comparison import Path as ComparisonPath
from simulator.model.address_plan import plan_city_addresses
from simulator.model.city_model import CityModel
from simulator.model.routing import compute_routes
from simulator.network.backends.base import CommandResult
from topologies.city import city_graph, load_city
from topologies.rfc6052 import synthesize
from topologies.spec import Family, ServiceKind

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSITION_CITY = REPO_ROOT / "topologies" / "cities" / "transition.yaml"
DEFAULT_CITY = REPO_ROOT / "topologies" / "cities" / "default.yaml"
ZONE = "city.test"

PORTAL_V4, PORTAL_V6, PORTAL_NAT64 = "11.64.0.67", "2001:db8:400:3::3", "64:ff9b::b40:43"
DNS64, CITY_DNS_V6, CITY_DNS_V4 = "2001:db8:0:4::2", "2001:db8:400:3::2", "11.64.0.66"
PORTAL, SCHOOL = "portal.city.test", "school.city.test"


@pytest.fixture(scope="module")
def graph():
    return city_graph(load_city(TRANSITION_CITY))



def test_target_is_the_first_dual_stack_web_service(city):
    # ns (i1v1) is dual-stack too, but a DNS service.
    service = target(city)
    assert service is not None and (service.fqdn, service.server) == (PORTAL, "i1v2")


def test_portal_nat64_address_by_hand(plan):
    assert str(plan.primary("i1v2", Family.IPV4)) == PORTAL_V4
    assert plan.nat64_prefix == ipaddress.ip_network("64:ff9b::/96")
    # RFC 6052 /96: the IPv4 address is the last 32 bits; 11 = 0x0b, 64 = 0x40, 0, 67 = 0x43.
    assert ipaddress.ip_address(PORTAL_NAT64).packed[12:] == bytes([11, 64, 0, 67])
    assert str(synthesize(plan.nat64_prefix, ipaddress.ip_address(PORTAL_V4))) == PORTAL_NAT64


def test_paths(city):
    P = ComparisonPath
    assert paths(city) == [
        # The DNS time of the NAT64 path is that of a synthesized AAAA: the first
        # IPv4-only service's, asked of the DNS64.
        P("NAT64", "d1u1", "ipv6-only", "i1v2", PORTAL_NAT64, SCHOOL, DNS64, 6),
        P("native IPv6", "d1u1", "ipv6-only", "i1v2", PORTAL_V6, PORTAL, DNS64, 6),
        P("464XLAT", "d2u1", "464xlat", "i1v2", PORTAL_V4, PORTAL, DNS64, 4),
        P("native IPv6", "d2u1", "464xlat", "i1v2", PORTAL_V6, PORTAL, DNS64, 6),
        P("DS-Lite", "d2f1h1", "ds-lite", "i1v2", PORTAL_V4, PORTAL, CITY_DNS_V6, 4),
        P("native IPv6", "d2f1h1", "ds-lite", "i1v2", PORTAL_V6, PORTAL, CITY_DNS_V6, 6),
        P("NAT444", "d1f2h1", "dual-stack", "i1v2", PORTAL_V4, PORTAL, CITY_DNS_V6, 4),
        P("native IPv6", "d1f2h1", "dual-stack", "i1v2", PORTAL_V6, PORTAL, CITY_DNS_V6, 6),
        # An IPv4-only client: no native IPv6 path, an A record over IPv4.
        P("NAT444", "d1f1h1", "ipv4-only", "i1v2", PORTAL_V4, PORTAL, CITY_DNS_V4, 4),
    ]


def test_native_property(city):
    assert [p.native for p in paths(city)] == [False, True, False, True, False, True, False, True, False]


def test_no_paths_without_a_dual_stack_web_service():
    # The default city with its dual-stack web services (gov, news, video) taken out.
    graph = city_graph(load_city(DEFAULT_CITY))
    for node in graph:
        spec = graph.nodes[node]["spec"]
        graph.nodes[node]["spec"] = dataclasses.replace(spec, services=tuple(
            s for s in spec.services if s.kind is ServiceKind.DNS or s.families != frozenset(Family)))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    city = CityModel(graph, plan, compute_routes(graph, plan), ZONE)
    assert target(city) is None
    assert paths(city) == []


# --- ipv4_path ----------------------------------------------------------------------------------


@pytest.mark.parametrize("client, crossed", [
    ("d1f1h1", "NAT444"),     # CPE d1f1 (NAT44), then d1bng (CGN)
    ("d1f2h1", "NAT444"),
    ("d3u1", "CGN"),          # a UE on d3r, whose gateway d3gw is a CGN
    ("d3u2", "CGN"),
])
def test_ipv4_path_transition_city(city, client, crossed):
    assert ipv4_path(city.subscriber(client).ipv4_crosses) == crossed


@pytest.fixture(scope="module")
def default_city():
    graph = city_graph(load_city(DEFAULT_CITY))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    return CityModel(graph, plan, compute_routes(graph, plan), ZONE)


def test_ipv4_path_default_city(default_city):
    crossed = {s.node: s.ipv4_crosses for s in default_city.subscribers}
    # The default city has no CGN: a LAN host crosses its CPE's NAT44 only.
    assert ipv4_path(crossed["d1f1h1"]) == "NAT44"
    assert ipv4_path(crossed["d1f12h1"]) == "NAT44"     # an IPv4-only LAN host
    # A UE has public IPv4.
    assert ipv4_path(crossed["d1u1"]) == "native IPv4"


# --- summarise and caveats ----------------------------------------------------------------------


def sample(label, client, kind, metric, value):
    return {"label": label, "client": client, "client_kind": kind, "server": "i1v2", "address": "x",
            "metric": metric, "repeat": 0, "value": value}


def test_summarise():
    records = [
        sample("NAT64", "d1u1", "ipv6-only", "rtt_ms", 10.0),
        sample("NAT64", "d1u1", "ipv6-only", "rtt_ms", None),
        sample("native IPv6", "d1u1", "ipv6-only", "rtt_ms", 4.0),
        sample("NAT64", "d1u1", "ipv6-only", "rtt_ms", 30.0),
        sample("NAT64", "d1u1", "ipv6-only", "rtt_ms", 20.0),
        sample("NAT64", "d1u1", "ipv6-only", "throughput_mbps", None),
        sample("NAT64", "d1u1", "ipv6-only", "throughput_mbps", None),
        sample("NAT444", "d1f1h1", "ipv4-only", "dns_ms", 1.0),
        sample("NAT444", "d1f1h1", "ipv4-only", "dns_ms", 2.0),
    ]
    # Groups in first-seen order. NAT64 rtt: 10, 30, 20 and one failure; mean 20,
    # stdev sqrt((100 + 100 + 0) / 2) = 10, median 20.
    assert summarise(records) == [
        {"label": "NAT64", "client": "d1u1", "client_kind": "ipv6-only", "metric": "rtt_ms", "n": 3, "failed": 1,
         "mean": 20.0, "stdev": 10.0, "median": 20.0},
        # One value: no spread to speak of, 0.0 rather than an error.
        {"label": "native IPv6", "client": "d1u1", "client_kind": "ipv6-only", "metric": "rtt_ms", "n": 1,
         "failed": 0, "mean": 4.0, "stdev": 0.0, "median": 4.0},
        # Every sample failed: no mean, nothing averaged in.
        {"label": "NAT64", "client": "d1u1", "client_kind": "ipv6-only", "metric": "throughput_mbps", "n": 0,
         "failed": 2, "mean": None, "stdev": None, "median": None},
        # 1 and 2: mean 1.5, stdev sqrt(0.5), median 1.5.
        {"label": "NAT444", "client": "d1f1h1", "client_kind": "ipv4-only", "metric": "dns_ms", "n": 2, "failed": 0,
         "mean": 1.5, "stdev": pytest.approx(0.5 ** 0.5), "median": 1.5},
    ]


def test_summarise_median_of_an_even_count():
    records = [sample("CGN", "d3u1", "ipv4-only", "connect_ms", v) for v in (4.0, 1.0, 3.0, 100.0)]
    (row,) = summarise(records)
    # Sorted 1, 3, 4, 100: median (3 + 4) / 2; mean 108 / 4.
    assert (row["n"], row["median"], row["mean"]) == (4, 3.5, 27.0)
    assert row["stdev"] == statistics.stdev([4.0, 1.0, 3.0, 100.0])


def test_summarise_nothing():
    assert summarise([]) == []


def test_caveats():
    assert caveats([]) == ""
    assert caveats([sample("NAT64", "d1u1", "ipv6-only", "rtt_ms", 1.0)]) == ""
    assert caveats([sample("native IPv6", "d2f1h1", "ds-lite", "rtt_ms", 1.0),
                    sample("DS-Lite", "d2f1h1", "ds-lite", "rtt_ms", 1.0)]) == DS_LITE_NOTE
    assert DS_LITE_NOTE.startswith("DS-Lite: the B4 and the AFTR compute IPv4 checksums in software")


def test_metric_names():
    assert METRICS == {"throughput_mbps": "TCP throughput (Mbit/s)", "rtt_ms": "RTT (ms)",
                       "connect_ms": "TCP connect (ms)", "dns_ms": "DNS resolution (ms)"}


# --- measure, with a stand-in backend -------------------------------------------------------------


class FakeBackend:
    """Answers the probe with ``timing`` (its stdout) and each iperf3 run with the
    next of ``iperf`` (stdouts, in turn)."""

    def __init__(self, timing, iperf):
        self.timing, self.iperf, self.calls = timing, list(iperf), []

    def run(self, node, command, timeout=None):
        self.calls.append((node, command, timeout))
        stdout = self.timing if "simulator.measurements.probe" in command else self.iperf.pop(0)
        return CommandResult(node, tuple(command), 0, stdout, "")


class Notes:
    def __init__(self):
        self.lines = []

    def note(self, text):
        self.lines.append(text)


TIMING = "probe starting\n" + json.dumps({"id": "timing", "ok": False, "rtt_ms": [1.5, 2.5, 2.0],
                                          "connect_ms": [0.5, 0.75, None], "dns_ms": [3.0, 4.0, 5.0],
                                          "failed": 1}) + "\n"


def iperf_json(bits_per_second):
    return json.dumps({"start": {}, "end": {"sum_sent": {"bits_per_second": bits_per_second + 1e6},
                                            "sum_received": {"bits_per_second": bits_per_second}}})


NAT64_PATH = ComparisonPath("NAT64", "d1u1", "ipv6-only", "i1v2", PORTAL_NAT64, SCHOOL, DNS64, 6)
NATIVE_PATH = ComparisonPath("native IPv6", "d1u1", "ipv6-only", "i1v2", PORTAL_V6, PORTAL, DNS64, 6)
NAT64_FIELDS = {"label": "NAT64", "client": "d1u1", "client_kind": "ipv6-only", "server": "i1v2",
                "address": PORTAL_NAT64, "name": SCHOOL, "resolver": DNS64, "record": 6}


def test_measure_commands():
    backend = FakeBackend(TIMING, [iperf_json(94.5e6), iperf_json(90e6)])
    measure(backend, [NAT64_PATH], repeats=2, duration_s=1.5, samples=3)
    check = {"id": "timing", "method": "timing", "address": PORTAL_NAT64, "name": SCHOOL, "server": DNS64,
             "record": 6, "count": 3}
    # At the lowest priority: probes yield the cores to the network they measure.
    probe = ["nice", "-n", "19", sys.executable, "-m", "simulator.measurements.probe", json.dumps([check])]
    iperf = ["iperf3", "--client", PORTAL_NAT64, "--time", "1.5", "--json"]
    # Per repeat: the probe (60 s), then iperf3 (the duration + 20 s).
    assert backend.calls == [("d1u1", probe, 60), ("d1u1", iperf, 21.5)] * 2


def test_measure_records():
    # 94.5e6 bit/s received -> 94.5 Mbit/s; the second run is no JSON at all.
    backend = FakeBackend(TIMING, [iperf_json(94.5e6), "iperf3: error - unable to connect to server"])
    records = measure(backend, [NAT64_PATH], repeats=2, samples=3)
    # Per repeat: 3 RTT + 3 connect (one failed: None) + 3 DNS samples and one
    # throughput record: 10, twice.
    assert len(records) == 20
    assert all({k: r[k] for k in NAT64_FIELDS} == NAT64_FIELDS for r in records)
    assert [(r["metric"], r["repeat"], r["value"]) for r in records] == [
        ("rtt_ms", 0, 1.5), ("rtt_ms", 0, 2.5), ("rtt_ms", 0, 2.0),
        ("connect_ms", 0, 0.5), ("connect_ms", 0, 0.75), ("connect_ms", 0, None),
        ("dns_ms", 0, 3.0), ("dns_ms", 0, 4.0), ("dns_ms", 0, 5.0),
        ("throughput_mbps", 0, 94.5),
        ("rtt_ms", 1, 1.5), ("rtt_ms", 1, 2.5), ("rtt_ms", 1, 2.0),
        ("connect_ms", 1, 0.5), ("connect_ms", 1, 0.75), ("connect_ms", 1, None),
        ("dns_ms", 1, 3.0), ("dns_ms", 1, 4.0), ("dns_ms", 1, 5.0),
        ("throughput_mbps", 1, None),
    ]
    assert set(records[0]) == set(NAT64_FIELDS) | {"metric", "repeat", "value"}


def test_measure_iperf_failures_are_none():
    outputs = [
        json.dumps({"start": {}, "intervals": [], "end": {},
                    "error": "unable to connect to server: Connection refused"}),    # no sum_received
        '{"end": {"sum_received": {"bits_per_se',                                  # cut short
        "",                                                                         # nothing at all
    ]
    records = measure(FakeBackend("", outputs), [NAT64_PATH], repeats=3, samples=2)
    # No probe output: every timing sample of the repeat failed (None), and so did
    # the three throughput runs.
    per_repeat = [(m, None) for m in ("rtt_ms", "rtt_ms", "connect_ms", "connect_ms", "dns_ms", "dns_ms",
                                      "throughput_mbps")]
    assert [(r["metric"], r["repeat"], r["value"]) for r in records] == [
        (m, repeat, v) for repeat in range(3) for m, v in per_repeat]
    assert {r["metric"]: (r["n"], r["failed"]) for r in summarise(records)} == {
        "rtt_ms": (0, 6), "connect_ms": (0, 6), "dns_ms": (0, 6), "throughput_mbps": (0, 3)}


def test_measure_two_paths_then_summarise():
    backend = FakeBackend(TIMING, [iperf_json(80e6), iperf_json(100e6), iperf_json(200e6), iperf_json(400e6)])
    progress = Notes()
    records = measure(backend, [NAT64_PATH, NATIVE_PATH], repeats=2, progress=progress)
    assert progress.lines == ["  comparison 1/2: NAT64 from d1u1", "  comparison 2/2: native IPv6 from d1u1"]
    assert [c[1][2] for c in backend.calls if c[1][0] == "iperf3"] == [PORTAL_NAT64, PORTAL_NAT64, PORTAL_V6,
                                                                       PORTAL_V6]
    assert len(records) == 40
    throughput = {(r["label"], r["metric"]): r for r in summarise(records) if r["metric"] == "throughput_mbps"}
    # NAT64: 80 and 100 Mbit/s; native: 200 and 400.
    assert throughput["NAT64", "throughput_mbps"]["mean"] == 90.0
    assert throughput["native IPv6", "throughput_mbps"]["mean"] == 300.0
    assert throughput["native IPv6", "throughput_mbps"]["median"] == 300.0
    rtt = [r for r in summarise(records) if r["metric"] == "rtt_ms"]
    # Each path: 1.5, 2.5, 2.0 twice -> 6 samples, mean 2.0.
    assert [(r["label"], r["n"], r["mean"]) for r in rtt] == [("NAT64", 6, 2.0), ("native IPv6", 6, 2.0)]


def test_measure_nothing():
    backend = FakeBackend(TIMING, [])
    assert measure(backend, []) == []
    assert backend.calls == []

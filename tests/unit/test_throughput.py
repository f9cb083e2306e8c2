"""simulator.measurements.throughput: per-family traffic from two controller snapshots, and iperf3
records from a fake backend."""

import json

from simulator.measurements.throughput import (
    measure_throughput,
    totals_by_family,
    traffic_delta,
)
from simulator.model.address_plan import plan_addresses
from simulator.network.backends.base import CommandResult
from topologies import city_slice

BEFORE = {"switches": {
    "a1": {"families": {"ipv4": {"packets": 10, "bytes": 1000},
                        "arp": {"packets": 2, "bytes": 84}}},
    "m1": {"families": {"ipv6": {"packets": 7, "bytes": 700}}},
}}
AFTER = {"switches": {
    "a1": {"families": {"ipv4": {"packets": 25, "bytes": 3500},
                        "ipv6": {"packets": 4, "bytes": 600},      # new family: counted from 0
                        "arp": {"packets": 3, "bytes": 126}}},
    "dc1": {"families": {"ipv4": {"packets": 5, "bytes": 700}}},  # new switch: counted from 0
    "m1": {"families": {"ipv6": {"packets": 7, "bytes": 700}}},   # idle: zero rows
}}


def test_traffic_delta():
    # a1: ipv4 25-10=15 packets, 3500-1000=2500 bytes; arp 3-2=1, 126-84=42; ipv6 4, 600.
    assert traffic_delta(BEFORE, AFTER) == [
        {"switch": "a1", "family": "arp", "packets": 1, "bytes": 42},
        {"switch": "a1", "family": "ipv4", "packets": 15, "bytes": 2500},
        {"switch": "a1", "family": "ipv6", "packets": 4, "bytes": 600},
        {"switch": "dc1", "family": "ipv4", "packets": 5, "bytes": 700},
        {"switch": "m1", "family": "ipv6", "packets": 0, "bytes": 0},
    ]


def test_totals_by_family():
    # ipv4 2500 + 700 = 3200; ipv6 600 + 0 = 600; arp 42.
    assert totals_by_family(traffic_delta(BEFORE, AFTER)) == {"arp": 42, "ipv4": 3200, "ipv6": 600}


def test_delta_from_empty_snapshot_is_the_snapshot():
    rows = traffic_delta({"switches": {}}, AFTER)
    assert totals_by_family(rows) == {"arp": 126, "ipv4": 4200, "ipv6": 1300}


def test_empty():
    assert traffic_delta({"switches": {}}, {"switches": {}}) == []
    assert totals_by_family([]) == {}


class FakeBackend:
    def __init__(self, replies):
        self.replies, self.calls = replies, []

    def run(self, node, command, timeout=None):
        self.calls.append((node, command, timeout))
        return CommandResult(node, tuple(command), 0, self.replies[command[-1]], "")


def test_measure_throughput_records():
    plan = plan_addresses(city_slice())
    backend = FakeBackend({
        "-4": json.dumps({"end": {"sum_received": {"bits_per_second": 1.5e9},
                                  "sum_sent": {"retransmits": 7}}}),
        "-6": json.dumps({"error": "unable to connect to server: Connection refused"}),
    })
    records = measure_throughput(backend, plan, "d1h1", "web", 2.5)
    assert backend.calls == [
        ("d1h1", ["iperf3", "--client", "10.64.2.3", "--time", "2.5", "--json", "-4"], 22.5),
        ("d1h1", ["iperf3", "--client", "2001:db8:64:1::3", "--time", "2.5", "--json", "-6"], 22.5),
    ]
    assert records == [
        {"client": "d1h1", "server": "web", "family": "ipv4", "duration_s": 2.5, "ok": True,
         "bits_per_second": 1.5e9, "retransmits": 7, "error": ""},
        {"client": "d1h1", "server": "web", "family": "ipv6", "duration_s": 2.5, "ok": False,
         "bits_per_second": None, "retransmits": None,
         "error": "unable to connect to server: Connection refused"},
    ]


def test_measure_throughput_without_ipv6_runs_ipv4_only():
    plan = plan_addresses(city_slice())
    backend = FakeBackend({"-4": "iperf3: error - unable to connect"})
    records = measure_throughput(backend, plan, "d2h1", "web", 3.0)
    assert [call[1][-1] for call in backend.calls] == ["-4"]
    # Not JSON: the text itself becomes the error.
    assert (records[0]["ok"], records[0]["error"]) == (False, "iperf3: error - unable to connect")
    assert (records[1]["ok"], records[1]["error"]) == (False, "d2h1 has no IPv6 address")

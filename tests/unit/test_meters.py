"""Measurement points and their nftables counters, without root."""

import json

from simulator.measurements import meters
from topologies import city_slice


def test_points_of_the_city_slice():
    points = meters.meter_points(city_slice())
    assert [(p.kind, p.node, p.peer) for p in points] == [
        ("fixed-uplink", "bng1", "m1"), ("fixed-uplink", "bng2", "m2"), ("idc-edge", "idcgw", "m3")]


def test_ruleset_of_one_point():
    point = meters.MeterPoint("fixed-uplink", "bng1", "m1")
    assert meters.ruleset([point], {"bng1-m1": "xbng1-e0"}) == """\
table inet v6lab_meter
delete table inet v6lab_meter
table inet v6lab_meter {
  counter bng1-m1_out_ipv4 { }
  counter bng1-m1_in_ipv4 { }
  counter bng1-m1_out_ipv6 { }
  counter bng1-m1_in_ipv6 { }
  chain forward {
    type filter hook forward priority -300; policy accept;
    oifname "xbng1-e0" meta nfproto ipv4 counter name "bng1-m1_out_ipv4"
    iifname "xbng1-e0" meta nfproto ipv4 counter name "bng1-m1_in_ipv4"
    oifname "xbng1-e0" meta nfproto ipv6 counter name "bng1-m1_out_ipv6"
    iifname "xbng1-e0" meta nfproto ipv6 counter name "bng1-m1_in_ipv6"
  }
  chain input {
    type filter hook input priority -300; policy accept;
    iifname "xbng1-e0" meta nfproto ipv4 counter name "bng1-m1_in_ipv4"
    iifname "xbng1-e0" meta nfproto ipv6 counter name "bng1-m1_in_ipv6"
  }
  chain output {
    type filter hook output priority -300; policy accept;
    oifname "xbng1-e0" meta nfproto ipv4 counter name "bng1-m1_out_ipv4"
    oifname "xbng1-e0" meta nfproto ipv6 counter name "bng1-m1_out_ipv6"
  }
}
"""


def test_counters_read_and_subtracted():
    point = meters.MeterPoint("fixed-uplink", "bng1", "m1")
    listing = {"nftables": [
        {"metainfo": {"version": "1.0.6"}},
        {"counter": {"family": "inet", "name": "bng1-m1_out_ipv4", "table": "v6lab_meter", "handle": 1,
                     "packets": 50, "bytes": 71400}},
        {"counter": {"family": "inet", "name": "bng1-m1_in_ipv6", "table": "v6lab_meter", "handle": 4,
                     "packets": 3, "bytes": 300}},
        {"counter": {"family": "ip", "name": "other", "table": "nat", "handle": 1, "packets": 9, "bytes": 9}}]}
    counters = meters.read(json.dumps(listing))
    assert counters == {"bng1-m1_out_ipv4": {"packets": 50, "bytes": 71400},
                        "bng1-m1_in_ipv6": {"packets": 3, "bytes": 300}}
    after = meters.by_point([point], counters)
    assert [(r["direction"], r["family"], r["packets"], r["bytes"]) for r in after] == [
        ("out", "ipv4", 50, 71400), ("out", "ipv6", 0, 0), ("in", "ipv4", 0, 0), ("in", "ipv6", 3, 300)]
    before = meters.by_point([point], {"bng1-m1_out_ipv4": {"packets": 20, "bytes": 28560}})
    assert meters.delta(before, after)[0] == {"kind": "fixed-uplink", "point": "bng1-m1", "direction": "out",
                                              "family": "ipv4", "packets": 30, "bytes": 42840}

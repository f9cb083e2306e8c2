r"""simulator.network.nodeconfig: each node's configuration and its script, worked out by hand.

The small city (CGN below): one core router, one district whose fixed access has a
carrier-grade NAT on its BNG and two CPEs (ipv6_capable 0.5: d1f1 dual-stack, d1f2
IPv4-only), one IDC server, the transit router to the outside:

    i1v1 - i1r1 - i1l1 - i1s1 - c1 - d1m - d1agg - d1bng - d1o1 - d1f1 - d1f1h1 (SLAAC)
                                |                              \-- d1f2 - d1f2h1 (IPv4 only)
                                xm - tr1 - xs

Interfaces are named "<node>-<peer>" here (the backend prefixes its run). The plan
(plan_city_addresses; tests/unit/test_city_address_plan.py explains the numbering):
one core router makes no metro segment, so the IPv6 sites are d1 2001:db8::/40 and
i1 2001:db8:100::/40; each site's links take /64s of its first /48 in name order,
CPEs /56s of its second:
    d1agg-d1bng 2001:db8::/64        11.64.0.16/30    d1agg .1, d1bng .2
    d1m         2001:db8:0:1::/64    11.64.0.20/30    c1 .1, d1agg .2
    d1o1        2001:db8:0:2::/64    100.64.0.0/29    d1bng .1, d1f1 .2, d1f2 .3  (shared space, RFC 6598)
    d1f1's LAN  2001:db8:1::/64      192.168.0.0/24   (the first /64 of its /56; NAT44)
    d1f2's LAN  -                    192.168.1.0/24   (NAT44)
    c1-i1s1     2001:db8:100::/64    11.64.0.0/30     c1 .1, i1s1 .2
    i1l1-i1s1   2001:db8:100:1::/64  11.64.0.4/30
    i1r1        2001:db8:100:2::/64  11.64.0.8/30
    xm          3fff::/64            11.200.0.0/30    c1 .1, tr1 .2
    xs          3fff:0:0:1::/64      11.200.0.4/30
Public IPv4 blocks, largest first: i1 (3 x /30 = 12 -> /28) 11.64.0.0/28, d1 (2 x /30)
11.64.0.16/29, then d1bng's CGN pool, a /31 for two subscribers: 11.64.0.24/31.
d1f1h1's SLAAC address: EUI-64 of 02:39:fc:77:b6:b9 (sha256("d1f1h1>d1f1")) in
2001:db8:1::/64 = 2001:db8:1:0:39:fcff:fe77:b6b9.

Routes: a router has one per segment it is not on and that is routed in that family
(a NAT44 LAN and shared space are not routed in IPv4), in segment-name order, then
the prefixes other nodes originate (d1bng's pool); a host has a default route, which
a SLAAC host learns from advertisements instead (not installed by hand).
"""

import dataclasses
import ipaddress
from pathlib import Path

import pytest

from simulator.model.address_plan import plan_city_addresses
from simulator.model.routing import Route, compute_routes
from simulator.network import nat, nodeconfig
from simulator.network.daemons.translators import CarrierGradeNat
from simulator.network.mechanisms import deployment
from simulator.network.nat import Masquerade, NatRule, NatTable
from simulator.network.nodeconfig import Address, ConfigChange, InterfaceConfig
from topologies.city import city_graph, load_city, parse_city
from topologies.errors import BackendError
from topologies.spec import Family

TRANSITION_CITY = Path(__file__).resolve().parents[2] / "topologies" / "cities" / "transition.yaml"

CGN = {
    "name": "cgn",
    "metro": {"core_routers": 1},
    "districts": [{"id": "d1", "fixed": {"subscribers": 20, "emulated_hosts": 2, "ipv6_capable": 0.5, "olts": 1,
                                         "cgn": True}}],
    "idcs": [{"id": "i1", "spines": 1, "leaves": 1, "servers_per_leaf": 1}],
    "services": [{"name": "www", "at": "i1"}],
}

V4, V6 = Family.IPV4, Family.IPV6


def name(node, peer):
    return f"{node}-{peer}"


def ip(text):
    return ipaddress.ip_address(text)


def net(text):
    return ipaddress.ip_network(text)


@pytest.fixture(scope="module")
def graph():
    return city_graph(parse_city(CGN, "cgn.yaml"))


@pytest.fixture(scope="module")
def configs(graph, plan, routes):
    return nodeconfig.node_configs(graph, plan, routes, name)


def echo(value, key):
    return f"echo {value} > /proc/sys/net/{key}"


IPV6_KEPT = [echo(1, "ipv6/conf/all/keep_addr_on_down"), echo(1, "ipv6/conf/default/keep_addr_on_down"),
             echo(0, "ipv6/conf/default/disable_ipv6"), echo(0, "ipv6/conf/lo/disable_ipv6")]
IPV6_OFF = [echo(1, "ipv6/conf/all/disable_ipv6"), echo(1, "ipv6/conf/default/disable_ipv6")]
FORWARDING = [echo(1, "ipv4/ip_forward"), echo(1, "ipv6/conf/all/forwarding")]


def static(interface):
    """An interface with planned addresses and no advertisements."""
    return [echo(0, f"ipv6/conf/{interface}/accept_ra"), echo(0, f"ipv6/conf/{interface}/disable_ipv6")]


def script(*parts):
    return "\n".join(line for part in parts for line in ([part] if isinstance(part, str) else part)) + "\n"


def batch(flag, *lines):
    return f"ip {flag} -batch - <<'IP'\n" + "\n".join(lines) + "\nIP"


START = ["set -e", "ip link set lo up"]


# --- which nodes ------------------------------------------------------------------------


def test_every_router_and_host_and_no_switch(configs):
    assert list(configs) == ["c1", "d1agg", "d1bng", "d1f1", "d1f1h1", "d1f2", "d1f2h1",
                             "i1l1", "i1s1", "i1v1", "tr1"]


def test_every_node_starts_without_dad_on_planned_interfaces(configs):
    assert {config.defaults for config in configs.values()} == {(("net/ipv6/conf/default/dad_transmits", "0"),)}
    assert nodeconfig.render_defaults(configs["c1"]) == "echo 0 > /proc/sys/net/ipv6/conf/default/dad_transmits\n"


# --- a core router ----------------------------------------------------------------------


def test_core_router_forwards_and_routes(configs):
    config = configs["c1"]
    assert config.sysctls == (("net/ipv6/conf/all/keep_addr_on_down", "1"),
                              ("net/ipv6/conf/default/keep_addr_on_down", "1"),
                              ("net/ipv6/conf/default/disable_ipv6", "0"), ("net/ipv6/conf/lo/disable_ipv6", "0"),
                              ("net/ipv4/ip_forward", "1"), ("net/ipv6/conf/all/forwarding", "1"))
    assert config.nat == ()
    assert config.interfaces[0] == InterfaceConfig(
        "c1-d1m", (("net/ipv6/conf/c1-d1m/accept_ra", "0"), ("net/ipv6/conf/c1-d1m/disable_ipv6", "0")),
        (Address(ipaddress.ip_interface("11.64.0.21/30")),
         Address(ipaddress.ip_interface("2001:db8:0:1::1/64"), skip_dad=True)))
    # d1agg (11.64.0.22, 2001:db8:0:1::2) leads to the district, i1s1 to the IDC, tr1 out.
    assert nodeconfig.render_script(config) == script(
        START, IPV6_KEPT, FORWARDING, static("c1-d1m"), static("c1-i1s1"), static("c1-xm"),
        batch("-4",
              "addr flush dev c1-d1m", "addr add 11.64.0.21/30 dev c1-d1m", "link set dev c1-d1m up",
              "addr flush dev c1-i1s1", "addr add 11.64.0.1/30 dev c1-i1s1", "link set dev c1-i1s1 up",
              "addr flush dev c1-xm", "addr add 11.200.0.1/30 dev c1-xm", "link set dev c1-xm up",
              "route replace 11.64.0.16/30 via 11.64.0.22",     # d1agg-d1bng
              "route replace 11.64.0.4/30 via 11.64.0.2",       # i1l1-i1s1
              "route replace 11.64.0.8/30 via 11.64.0.2",       # i1r1
              "route replace 11.200.0.4/30 via 11.200.0.2",     # xs
              "route replace 11.64.0.24/31 via 11.64.0.22"),    # d1bng's CGN pool
        batch("-6",
              "addr add 2001:db8:0:1::1/64 dev c1-d1m nodad",
              "addr add 2001:db8:100::1/64 dev c1-i1s1 nodad",
              "addr add 3fff::1/64 dev c1-xm nodad",
              "route replace 2001:db8::/64 via 2001:db8:0:1::2",       # d1agg-d1bng
              "route replace 2001:db8:1::/64 via 2001:db8:0:1::2",     # d1f1's LAN
              "route replace 2001:db8:0:2::/64 via 2001:db8:0:1::2",   # d1o1
              "route replace 2001:db8:100:1::/64 via 2001:db8:100::2",
              "route replace 2001:db8:100:2::/64 via 2001:db8:100::2",
              "route replace 3fff:0:0:1::/64 via 3fff::2"))


# --- the CGN router -----------------------------------------------------------------------


def test_cgn_router_holds_shared_space_and_routes_everything_up(configs):
    # Its NAT is the CGN mechanism's (next test); only routes to the CPE LAN's /64
    # point down, through d1f1 (2001:db8:0:2::2).
    assert nodeconfig.render_script(configs["d1bng"]) == script(
        START, IPV6_KEPT, FORWARDING, static("d1bng-d1agg"), static("d1bng-d1o1"),
        batch("-4",
              "addr flush dev d1bng-d1agg", "addr add 11.64.0.18/30 dev d1bng-d1agg", "link set dev d1bng-d1agg up",
              "addr flush dev d1bng-d1o1", "addr add 100.64.0.1/29 dev d1bng-d1o1", "link set dev d1bng-d1o1 up",
              "route replace 11.64.0.0/30 via 11.64.0.17",
              "route replace 11.64.0.20/30 via 11.64.0.17",
              "route replace 11.64.0.4/30 via 11.64.0.17",
              "route replace 11.64.0.8/30 via 11.64.0.17",
              "route replace 11.200.0.0/30 via 11.64.0.17",
              "route replace 11.200.0.4/30 via 11.64.0.17"),
        batch("-6",
              "addr add 2001:db8::2/64 dev d1bng-d1agg nodad",
              "addr add 2001:db8:0:2::1/64 dev d1bng-d1o1 nodad",
              "route replace 2001:db8:100::/64 via 2001:db8::1",
              "route replace 2001:db8:1::/64 via 2001:db8:0:2::2",
              "route replace 2001:db8:0:1::/64 via 2001:db8::1",
              "route replace 2001:db8:100:1::/64 via 2001:db8::1",
              "route replace 2001:db8:100:2::/64 via 2001:db8::1",
              "route replace 3fff::/64 via 2001:db8::1",
              "route replace 3fff:0:0:1::/64 via 2001:db8::1"))


def test_cgn_rules_of_this_city(graph, plan, tmp_path):
    [cgn] = [m for m in deployment(graph, plan, name) if isinstance(m, CarrierGradeNat)]
    # The CPEs' WAN addresses, in address order, take the first two port blocks of 11.64.0.24/31.
    assert cgn.render(tmp_path)["rules.nft"] == (
        "table ip v6lab_cgn {\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        "    ip saddr 100.64.0.2 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } snat to 11.64.0.24:1024-3071\n"
        "    ip saddr 100.64.0.2 ip daddr != 100.64.0.0/10 snat to 11.64.0.24\n"
        "    ip saddr 100.64.0.3 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } snat to 11.64.0.24:3072-5119\n"
        "    ip saddr 100.64.0.3 ip daddr != 100.64.0.0/10 snat to 11.64.0.24\n"
        "  }\n"
        "}\n")


# --- CPEs -------------------------------------------------------------------------------------


def test_dual_stack_cpe_masquerades_its_lan(configs):
    config = configs["d1f1"]
    assert config.nat == (NatTable("v6lab_nat", (NatRule(net("192.168.0.0/24"), Masquerade(),
                                                         not_oifname="d1f1-d1f1h1"),)),)
    # Every route points at the BNG; nothing routes to its own LAN, it is on it.
    up4 = [f"route replace {prefix} via 100.64.0.1" for prefix in (
        "11.64.0.0/30", "11.64.0.16/30", "11.64.0.20/30", "11.64.0.4/30", "11.64.0.8/30",
        "11.200.0.0/30", "11.200.0.4/30", "11.64.0.24/31")]
    up6 = [f"route replace {prefix} via 2001:db8:0:2::1" for prefix in (
        "2001:db8:100::/64", "2001:db8::/64", "2001:db8:0:1::/64", "2001:db8:100:1::/64",
        "2001:db8:100:2::/64", "3fff::/64", "3fff:0:0:1::/64")]
    assert nodeconfig.render_script(config) == script(
        START, IPV6_KEPT, FORWARDING,
        "nft -f - <<'NFT'\n"
        "table ip v6lab_nat {\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        '    ip saddr 192.168.0.0/24 oifname != "d1f1-d1f1h1" masquerade\n'
        "  }\n"
        "}\n"
        "NFT",
        static("d1f1-d1f1h1"), static("d1f1-d1o1"),
        batch("-4",
              "addr flush dev d1f1-d1f1h1", "addr add 192.168.0.1/24 dev d1f1-d1f1h1", "link set dev d1f1-d1f1h1 up",
              "addr flush dev d1f1-d1o1", "addr add 100.64.0.2/29 dev d1f1-d1o1", "link set dev d1f1-d1o1 up",
              *up4),
        batch("-6",
              "addr add 2001:db8:1::1/64 dev d1f1-d1f1h1 nodad",
              "addr add 2001:db8:0:2::2/64 dev d1f1-d1o1 nodad",
              *up6))


def test_ipv4_only_cpe_has_no_ipv6_at_all(configs):
    script_text = nodeconfig.render_script(configs["d1f2"])
    assert script_text.splitlines()[:6] == START + IPV6_OFF + FORWARDING
    assert '    ip saddr 192.168.1.0/24 oifname != "d1f2-d1f2h1" masquerade\n' in script_text
    assert "ip -6" not in script_text and "accept_ra" not in script_text


def test_cpes_that_carry_ipv4_on_do_no_nat44():
    # DS-Lite B4s (d2f1, d2f2) put their LAN into the softwire, a 464XLAT CPE (d3f1)
    # translates it statelessly; the dual-stack CPEs of d1 masquerade theirs.
    graph = city_graph(load_city(TRANSITION_CITY))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    configs = nodeconfig.node_configs(graph, plan, compute_routes(graph, plan), name)
    assert {n: len(configs[n].nat) for n in ("d1f1", "d1f2", "d2f1", "d2f2", "d3f1")} == {
        "d1f1": 1, "d1f2": 1, "d2f1": 0, "d2f2": 0, "d3f1": 0}


# --- hosts -------------------------------------------------------------------------------------


def test_slaac_host_takes_advertisements_with_fast_timers(configs):
    config = configs["d1f1h1"]
    [interface] = config.interfaces
    assert interface.slaac == ipaddress.ip_interface("2001:db8:1:0:39:fcff:fe77:b6b9/64")
    assert interface.addresses == (Address(ipaddress.ip_interface("192.168.0.2/24")),)
    # Its IPv6 default route comes from the advertisements: nothing for ip -6.
    assert config.routes == (Route(V4, None, ip("192.168.0.1")),)
    assert nodeconfig.render_script(config) == script(
        START, IPV6_KEPT,
        echo(1, "ipv6/conf/d1f1h1-d1f1/accept_ra"),
        echo(0, "ipv6/conf/d1f1h1-d1f1/disable_ipv6"),
        echo(1, "ipv6/conf/d1f1h1-d1f1/dad_transmits"),
        echo(0, "ipv6/conf/d1f1h1-d1f1/router_solicitation_delay"),
        echo(100, "ipv6/neigh/d1f1h1-d1f1/retrans_time_ms"),
        batch("-4", "addr flush dev d1f1h1-d1f1", "addr add 192.168.0.2/24 dev d1f1h1-d1f1",
              "link set dev d1f1h1-d1f1 up", "route replace default via 192.168.0.1"))


def test_slaac_host_gets_the_kernel_timers_back(configs):
    restore = nodeconfig.restore_timers(configs["d1f1h1"], {"retrans_time_ms": "1000"})
    assert nodeconfig.render_sysctls(restore) == [
        ("echo $(cat /proc/sys/net/ipv6/conf/default/router_solicitation_delay) > "
         "/proc/sys/net/ipv6/conf/d1f1h1-d1f1/router_solicitation_delay"),
        "echo 1000 > /proc/sys/net/ipv6/neigh/d1f1h1-d1f1/retrans_time_ms"]
    assert nodeconfig.restore_timers(configs["c1"], {"retrans_time_ms": "1000"}) == ()


def test_ipv4_only_host_disables_ipv6(configs):
    assert nodeconfig.render_script(configs["d1f2h1"]) == script(
        START, IPV6_OFF,
        batch("-4", "addr flush dev d1f2h1-d1f2", "addr add 192.168.1.2/24 dev d1f2h1-d1f2",
              "link set dev d1f2h1-d1f2 up", "route replace default via 192.168.1.1"))


def test_ip_batch_alone(configs):
    assert nodeconfig.ip_batch(configs["d1f2h1"], V6) == []
    assert nodeconfig.ip_batch(configs["i1v1"], V6) == [
        "addr add 2001:db8:100:2::2/64 dev i1v1-i1r1 nodad", "route replace default via 2001:db8:100:2::1"]


# --- changes on a running node: a ring loses a link -------------------------------------------


def ring_city():
    # Three core routers in a ring; district d1 on c1, the IDC on c3 (as in
    # tests/unit/test_routing_faults.py). Links c1-c2 11.64.0.32/30 2001:db8::/64,
    # c1-c3 11.64.0.36/30 2001:db8:0:1::/64, c2-c3 11.64.0.40/30 2001:db8:0:2::/64
    # (the lower name is .1/::1); the IDC's segments c3-i1s1 11.64.0.16/30
    # 2001:db8:200::/64, i1l1-i1s1 .20/30 :200:1::/64, i1r1 .24/30 :200:2::/64.
    return city_graph(parse_city({
        "name": "ring", "metro": {"layout": "ring", "core_routers": 3},
        "districts": [{"id": "d1", "core": "c1",
                       "mobile": {"subscribers": 10, "emulated_hosts": 1, "ipv6_capable": 1.0}}],
        "idcs": [{"id": "i1", "core": "c3", "spines": 1, "leaves": 1, "servers_per_leaf": 1}],
        "services": [{"name": "www", "at": "i1"}]}, "ring.yaml"))


@pytest.fixture(scope="module")
def ring_change():
    graph = ring_city()
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    before = nodeconfig.node_configs(graph, plan, compute_routes(graph, plan), name)
    after = nodeconfig.node_configs(graph, plan, compute_routes(graph, plan, frozenset({frozenset(("c1", "c3"))})),
                                    name)
    return {node: nodeconfig.diff(before[node], after[node]) for node in before}


def test_cut_ring_link_moves_c1_to_c2_for_the_idc(ring_change):
    # The IDC's three segments were via c3 (11.64.0.38, 2001:db8:0:1::2), now via
    # c2 (11.64.0.34, 2001:db8::2).
    idc4 = ("11.64.0.16/30", "11.64.0.20/30", "11.64.0.24/30")
    idc6 = ("2001:db8:200:1::/64", "2001:db8:200:2::/64", "2001:db8:200::/64")
    change = ring_change["c1"]
    assert change.routes_removed == tuple(
        [Route(V4, net(p), ip("11.64.0.38")) for p in idc4] + [Route(V6, net(p), ip("2001:db8:0:1::2")) for p in idc6])
    assert change.routes_added == tuple(
        [Route(V4, net(p), ip("11.64.0.34")) for p in idc4] + [Route(V6, net(p), ip("2001:db8::2")) for p in idc6])
    # A route that moves is replaced in place, never deleted first: no packet
    # meets a node without a route to its destination.
    assert nodeconfig.render_change(change) == (
        "ip -4 route replace 11.64.0.16/30 via 11.64.0.34\n"
        "ip -4 route replace 11.64.0.20/30 via 11.64.0.34\n"
        "ip -4 route replace 11.64.0.24/30 via 11.64.0.34\n"
        "ip -6 route replace 2001:db8:200:1::/64 via 2001:db8::2\n"
        "ip -6 route replace 2001:db8:200:2::/64 via 2001:db8::2\n"
        "ip -6 route replace 2001:db8:200::/64 via 2001:db8::2\n"
        "true\n")


def test_cut_ring_link_moves_c3_to_c2_for_the_district_and_beyond(ring_change):
    # c3 reached c1's side (c1-c2, the district's d1agg-d1gw .0/30, d1m .4/30,
    # d1r .8/30, and xm, xs outside) through c1 (11.64.0.37); now through c2 (11.64.0.41).
    change = ring_change["c3"]
    assert {r.via for r in change.routes_removed} == {ip("11.64.0.37"), ip("2001:db8:0:1::1")}
    assert {r.via for r in change.routes_added} == {ip("11.64.0.41"), ip("2001:db8:0:2::1")}
    assert sorted(str(r.destination) for r in change.routes_added if r.family is V4) == [
        "11.200.0.0/30", "11.200.0.4/30", "11.64.0.0/30", "11.64.0.32/30", "11.64.0.4/30", "11.64.0.8/30"]


def test_cut_link_is_unreachable_for_everyone_else(ring_change):
    # Both ends of c1-c3 are down: its subnet is reached by nobody, and only removed.
    for node in ("c2", "d1agg", "d1gw", "i1l1", "i1s1", "tr1"):
        change = ring_change[node]
        assert [str(r.destination) for r in change.routes_removed] == ["11.64.0.36/30", "2001:db8:0:1::/64"]
        assert change.routes_added == ()
        assert nodeconfig.render_change(change) == (
            f"ip -4 route del 11.64.0.36/30 via {change.routes_removed[0].via} 2>/dev/null\n"
            f"ip -6 route del 2001:db8:0:1::/64 via {change.routes_removed[1].via} 2>/dev/null\ntrue\n")
    # Hosts keep their default routes: nothing to do, no script.
    for node in ("d1u1", "i1v1"):
        assert ring_change[node].empty
        assert nodeconfig.render_change(ring_change[node]) == ""


def test_diff_refuses_what_cannot_change_on_a_running_node(configs):
    config = configs["c1"]
    with pytest.raises(BackendError) as error:
        nodeconfig.diff(config, dataclasses.replace(config, defaults=()))
    assert str(error.value) == ("node c1: its defaults changed; they apply when interfaces are made, so start "
                                "the network again")
    with pytest.raises(BackendError) as error:
        nodeconfig.diff(config, dataclasses.replace(config, interfaces=config.interfaces[:1]))
    assert "node c1: its interfaces changed" in str(error.value)
    with pytest.raises(BackendError):
        nodeconfig.diff(config, configs["d1agg"])
    assert nodeconfig.diff(config, config) == ConfigChange("c1")


def test_live_changes_of_sysctls_nat_addresses_and_links(configs):
    # A running c1 gets forwarding off, a NAT table, another address on its first
    # interface instead of its IPv4 one, and that interface down.
    config = configs["c1"]
    first = config.interfaces[0]
    old_v4 = next(a for a in first.addresses if a.family is Family.IPV4)
    new_v4 = nodeconfig.Address(ipaddress.IPv4Interface("11.64.9.1/30"))
    table = nat.NatTable("v6lab_test", (nat.masquerade(ipaddress.IPv4Network("192.168.0.0/24"), "lan"),))
    changed = dataclasses.replace(
        config, sysctls=tuple((k, "0" if k == "net/ipv4/ip_forward" else v) for k, v in config.sysctls),
        nat=(table,), interfaces=(dataclasses.replace(
            first, up=False, addresses=tuple(new_v4 if a == old_v4 else a for a in first.addresses)),)
        + config.interfaces[1:])
    change = nodeconfig.diff(config, changed)
    assert change.sysctls == (("net/ipv4/ip_forward", "0"),)
    assert (change.nat_loaded, change.nat_removed) == ((table,), ())
    assert change.addresses_removed == ((first.name, old_v4),) and change.addresses_added == ((first.name, new_v4),)
    assert change.links == ((first.name, False),) and not change.routes_added and not change.routes_removed
    assert nodeconfig.render_change(change) == (
        "echo 0 > /proc/sys/net/ipv4/ip_forward\n"
        "nft -f - <<'NFT'\ntable ip v6lab_test\ndelete table ip v6lab_test\n"
        "table ip v6lab_test {\n  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n"
        '    ip saddr 192.168.0.0/24 oifname != "lan" masquerade\n  }\n}\nNFT\n'
        f"ip addr del {old_v4.address} dev {first.name}\n"
        f"ip addr add 11.64.9.1/30 dev {first.name}\n"
        f"ip link set dev {first.name} down\n"
        "true\n")
    # Going back removes the table and restores the rest.
    back = nodeconfig.diff(changed, config)
    assert back.nat_removed == ("v6lab_test",) and back.links == ((first.name, True),)
    assert back.sysctls == (("net/ipv4/ip_forward", "1"),)


# --- a city that changes while it runs (migration rehearsals) -------------------------------


def test_make_before_break_keeps_the_old_path_until_the_new_is_ready():
    """additions(old, new): old route kept where both route a destination, new route to a
    new destination added, both addresses; then diff(additions, new) removes the old."""
    old = nodeconfig.NodeConfig("h", (), (), (), (InterfaceConfig("h-e0", (), (Address(ipaddress.ip_interface(
        "100.64.0.2/29")),)),), (Route(V4, None, ip("100.64.0.1")),))
    new = nodeconfig.NodeConfig("h", (), (), (), (InterfaceConfig("h-e0", (), (Address(ipaddress.ip_interface(
        "11.64.0.2/29")),)),), (Route(V4, None, ip("11.64.0.1")), Route(V4, net("11.200.0.0/30"), ip("11.64.0.1"))))
    between = nodeconfig.additions(old, new)
    assert [str(a.address) for a in between.interfaces[0].addresses] == ["100.64.0.2/29", "11.64.0.2/29"]
    assert between.routes == (Route(V4, None, ip("100.64.0.1")), Route(V4, net("11.200.0.0/30"), ip("11.64.0.1")))
    change = nodeconfig.diff(between, new)
    assert [str(a.address) for _, a in change.addresses_removed] == ["100.64.0.2/29"]
    # The default route moves by replacement, never deleted first.
    assert nodeconfig.render_change(change) == (
        "ip addr del 100.64.0.2/29 dev h-e0\nip -4 route replace default via 11.64.0.1\ntrue\n")


def test_padded_to_the_layout_and_ipv6_turned_on():
    """A node's configuration lists every interface of the network as built; one the
    state does not use yet has IPv6 off; turning it on is seen by ipv6_turned_on."""
    import networkx as nx

    from topologies.spec import LinkSpec, NodeSpec, Role
    graph = nx.Graph()
    for node, role in (("r", Role.CORE_ROUTER), ("a", Role.CORE_ROUTER), ("t", Role.NAT64)):
        graph.add_node(node, spec=NodeSpec(role))
    graph.add_edge("r", "a", spec=LinkSpec())
    layout = graph.copy()
    layout.add_edge("r", "t", spec=LinkSpec())
    from simulator.model.address_plan import plan_addresses
    plan = plan_addresses(graph)
    padded = nodeconfig.node_configs(graph, plan, {}, name, layout)
    assert [i.name for i in padded["r"].interfaces] == ["r-a", "r-t"]
    assert padded["r"].interfaces[1] == InterfaceConfig("r-t", (("net/ipv6/conf/r-t/accept_ra", "0"),
                                                                  ("net/ipv6/conf/r-t/disable_ipv6", "1")))
    assert padded["t"].interfaces == (InterfaceConfig("t-r"),) and padded["t"].routes == ()
    used = dataclasses.replace(padded["r"], interfaces=(padded["r"].interfaces[0], InterfaceConfig(
        "r-t", (("net/ipv6/conf/r-t/disable_ipv6", "0"),))))
    assert nodeconfig.ipv6_turned_on(padded["r"], used) == ["r-t"]
    assert nodeconfig.ipv6_turned_on(used, used) == []

"""controllers.phases: a migration phase enforced on an access switch, checked by
where hand-written packets go through a fake flow table (tests/unit/flowtable.py).

The switch of every test below (dpid 1):

      BNG --1--+            +--4-- mobile gateway      d1/fixed:  router port 1, subscriber ports 2, 3
    CPE-A --2--+-- switch --+                          d1/mobile: router port 4, subscriber port 5
    CPE-B --3--+            +--5-- UE

The plan: phase 1 IPv4-only, phase 2 IPv6 on d1/fixed, phase 3 IPv6 on both.
"""

from types import SimpleNamespace

import pytest
from flowtable import FLOOD, FlowTable, Packet, Result
from os_ken.ofproto import ofproto_v1_3, ofproto_v1_3_parser

from controllers.dual_stack import DualStackController
from controllers.phases import (
    ADMISSION_PRIORITY,
    RA_GUARD_PRIORITY,
    Segment,
    Step,
    cookie_phase,
    flows_after,
    phase_cookie,
    phase_flows,
    swap,
)
from controllers.policy import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    MECHANISM_COOKIES,
    ND_COOKIE,
    FlowSpec,
    LearningSwitchPolicy,
    Mechanisms,
    PacketInfo,
    mechanism_of,
)
from topologies.errors import ConfigError

DPID = 1
BNG, CPE_A, CPE_B = "02:00:00:00:01:01", "02:00:00:00:02:01", "02:00:00:00:03:01"
GATEWAY, UE = "02:00:00:00:04:01", "02:00:00:00:05:01"
ALL_ROUTERS = "33:33:00:00:00:01"
# CPE-B is never learned: its packets are copied to the controller.
LEARNED = ((BNG, 1), (CPE_A, 2), (GATEWAY, 4), (UE, 5))


def segments(fixed_v6, mobile_v6):
    return (Segment("d1/fixed", DPID, (1,), (2, 3), fixed_v6), Segment("d1/mobile", DPID, (4,), (5,), mobile_v6))


PLAN = {1: segments(False, False), 2: segments(True, False), 3: segments(True, True)}


def ra_guard(port, phase):
    return FlowSpec(200, (("eth_type", 0x86DD), ("icmpv6_type", 134), ("in_port", port), ("ip_proto", 58)), (),
                    table_id=0, cookie=phase_cookie(phase, "ra-guard"))


def admission(port, phase, priority=100):
    return FlowSpec(priority, (("eth_type", 0x86DD), ("in_port", port)), (), table_id=0,
                    cookie=phase_cookie(phase, "ipv6-admission"))


def learning_switch():
    """The policy's flows with LEARNED learned, as the switch holds them before any phase."""
    policy = LearningSwitchPolicy(Mechanisms(nat64_prefix="64:ff9b::/96"))
    table = FlowTable(policy.switch_connected(DPID))
    for mac, port in LEARNED:
        for flow in policy.packet_received(PacketInfo(DPID, port, mac, "ff:ff:ff:ff:ff:ff", ETH_TYPE_ARP)).flows:
            table.install(flow)
    return table


def switch(phase):
    table = learning_switch()
    for flow in phase_flows(PLAN[phase], phase):
        table.install(flow)
    return table


def ipv4(in_port, src, dst):
    return Packet(in_port, src, dst, ETH_TYPE_IPV4, ip_proto=1, ipv4_src="192.0.2.2", ipv4_dst="198.51.100.10")


def echo6(in_port, src, dst, ipv6_dst="2001:db8:ffff::10"):
    return Packet(in_port, src, dst, ETH_TYPE_IPV6, ip_proto=58, icmpv6_type=128, ipv6_src="2001:db8:1:200::2",
                  ipv6_dst=ipv6_dst)


def ra(in_port, src):
    return Packet(in_port, src, ALL_ROUTERS, ETH_TYPE_IPV6, ip_proto=58, icmpv6_type=134, ipv6_src="fe80::1",
                  ipv6_dst="ff02::1")


# --- the phase's flows -------------------------------------------------------


def test_phase_flows_of_an_ipv4_only_switch():
    assert (RA_GUARD_PRIORITY, ADMISSION_PRIORITY) == (200, 100)
    assert phase_flows(PLAN[1], 1) == (
        ra_guard(2, 1), ra_guard(3, 1), ra_guard(5, 1),
        admission(1, 1), admission(2, 1), admission(3, 1), admission(4, 1), admission(5, 1))


def test_phase_flows_once_ipv6_is_admitted_are_the_ra_guard_alone():
    assert phase_flows(PLAN[2], 2) == (ra_guard(2, 2), ra_guard(3, 2), ra_guard(5, 2), admission(4, 2), admission(5, 2))
    assert phase_flows(PLAN[3], 3) == (ra_guard(2, 3), ra_guard(3, 3), ra_guard(5, 3))


def test_segments_that_cannot_share_a_switch_are_refused_with_every_problem():
    bad = (Segment("d1/fixed", 1, (1,), (2, 3), False), Segment("d1/mobile", 1, (4,), (3, 4), True),
           Segment("d2/fixed", 2, (1,), (2,), True))
    with pytest.raises(ConfigError) as error:
        phase_flows(bad, 1)
    assert error.value.problems == [
        "segments d1/fixed, d1/mobile, d2/fixed: on switches [1, 2]; compute one switch's phase flows at a time",
        "segment d1/mobile: port 4 is both a router and a subscriber port; give it one role",
        "segment d1/mobile: port 3 of switch 1 is a port of d1/fixed already; give each port one segment",
    ]


# --- cookies -----------------------------------------------------------------


def test_phase_cookie_layout():
    assert phase_cookie(0, "ra-guard") == 0x0000_0000_8000_0001
    assert phase_cookie(1, "ipv6-admission") == 0x0000_0001_8000_0002
    assert phase_cookie(3, "ra-guard") == 0x0000_0003_8000_0001
    assert phase_cookie(0xFFFF_FFFF, "ipv6-admission") == 0xFFFF_FFFF_8000_0002


@pytest.mark.parametrize("phase", [0, 1, 3, 0xFFFF_FFFF])
@pytest.mark.parametrize("purpose", ["ra-guard", "ipv6-admission"])
def test_cookies_decode_back_to_phase_and_purpose(phase, purpose):
    assert cookie_phase(phase_cookie(phase, purpose)) == (phase, purpose)
    assert mechanism_of(phase_cookie(phase, purpose)) is None


def test_other_cookies_are_no_phase_cookies():
    # Table-miss flows (0), the mechanisms (1..4), ND; then a marker with an unknown
    # purpose, and a known purpose with stray bits.
    for cookie in (0, *MECHANISM_COOKIES.values(), ND_COOKIE, 0x8000_0003, 0x1_8000_0101, 0x1_0000_0001):
        assert cookie_phase(cookie) is None


def test_bad_cookie_requests_are_refused():
    with pytest.raises(ConfigError, match="unknown purpose 'nat64'; use one of ra-guard, ipv6-admission"):
        phase_cookie(1, "nat64")
    with pytest.raises(ConfigError, match="phase 4294967296 does not fit 32 bits"):
        phase_cookie(1 << 32, "ra-guard")
    with pytest.raises(ConfigError, match="phase -1 does not fit 32 bits"):
        phase_cookie(-1, "ra-guard")


# --- where packets go --------------------------------------------------------


def test_unicast_ipv4_to_a_learned_mac_goes_out_of_its_port_in_every_phase():
    to_bng = FlowSpec(10, (("eth_dst", BNG), ("eth_type", 0x0800)), (("output", 1),), table_id=2)
    for phase in PLAN:
        assert switch(phase).process(ipv4(2, CPE_A, BNG)) == Result((1,), False, (
            FlowSpec(0, (), (), table_id=0, goto_table=1),
            FlowSpec(10, (("eth_src", CPE_A), ("in_port", 2)), (), table_id=1, goto_table=2),
            to_bng))


def test_unknown_unicast_floods_and_an_unknown_source_is_copied_to_the_controller():
    table = switch(1)
    assert table.process(ipv4(2, CPE_A, "02:00:00:00:09:09")).outputs == (FLOOD,)
    result = table.process(ipv4(3, CPE_B, BNG))
    assert (result.outputs, result.to_controller, result.cookies) == ((1,), True, (0, 0, 0))


@pytest.mark.parametrize("phase", [1, 2, 3])
def test_ra_from_a_subscriber_port_is_dropped_in_every_phase(phase):
    table = switch(phase)
    assert table.process(ra(2, CPE_A)) == Result((), False, (ra_guard(2, phase),))
    assert table.process(ra(3, CPE_B)) == Result((), False, (ra_guard(3, phase),))
    assert table.process(ra(5, UE)) == Result((), False, (ra_guard(5, phase),))


@pytest.mark.parametrize("phase, fixed, mobile", [
    # Floods as multicast ND (its cookie in table 2) where IPv6 is admitted; dropped by admission where not.
    (1, ((), (phase_cookie(1, "ipv6-admission"),)), ((), (phase_cookie(1, "ipv6-admission"),))),
    (2, ((FLOOD,), (0, 0, ND_COOKIE)), ((), (phase_cookie(2, "ipv6-admission"),))),
    (3, ((FLOOD,), (0, 0, ND_COOKIE)), ((FLOOD,), (0, 0, ND_COOKIE))),
])
def test_ra_from_a_router_port_floods_where_ipv6_is_admitted(phase, fixed, mobile):
    table = switch(phase)
    result = table.process(ra(1, BNG))
    assert (result.outputs, result.cookies) == fixed
    result = table.process(ra(4, GATEWAY))
    assert (result.outputs, result.cookies) == mobile


def test_without_ipv6_admission_ipv6_is_dropped_both_ways_and_ipv4_still_forwarded():
    table = switch(1)
    assert table.process(echo6(2, CPE_A, BNG)) == Result((), False, (admission(2, 1),))
    assert table.process(echo6(1, BNG, CPE_A)) == Result((), False, (admission(1, 1),))
    assert table.process(echo6(5, UE, GATEWAY)) == Result((), False, (admission(5, 1),))
    assert table.process(ipv4(2, CPE_A, BNG)).outputs == (1,)
    assert table.process(ipv4(1, BNG, CPE_A)).outputs == (2,)
    assert table.process(ipv4(5, UE, GATEWAY)).outputs == (4,)


def test_ipv6_admitted_on_one_segment_is_forwarded_there_only():
    table = switch(2)
    assert table.process(echo6(2, CPE_A, BNG)).outputs == (1,)
    assert table.process(echo6(1, BNG, CPE_A)).outputs == (2,)
    assert table.process(echo6(5, UE, GATEWAY)) == Result((), False, (admission(5, 2),))
    assert table.process(echo6(4, GATEWAY, UE)) == Result((), False, (admission(4, 2),))
    table = switch(3)
    assert table.process(echo6(5, UE, GATEWAY)).outputs == (4,)
    assert table.process(echo6(4, GATEWAY, UE)).outputs == (5,)


def test_a_nat64_packet_is_counted_as_nat64_and_forwarded_once_admitted():
    to_nat64 = echo6(2, CPE_A, BNG, ipv6_dst="64:ff9b::c633:640a")   # 198.51.100.10 in the well-known prefix
    result = switch(2).process(to_nat64)
    assert (result.outputs, result.cookies) == ((1,), (MECHANISM_COOKIES["nat64"], 0, 0))
    # Not admitted yet: dropped above the counting flows, so never counted as NAT64 traffic.
    assert switch(1).process(to_nat64) == Result((), False, (admission(2, 1),))


def test_the_shim_sends_a_drop_flow_as_a_flow_mod_without_instructions():
    sent = []
    datapath = SimpleNamespace(ofproto=ofproto_v1_3, ofproto_parser=ofproto_v1_3_parser, send_msg=sent.append)
    DualStackController._install(None, datapath, ra_guard(2, 1))   # uses nothing of the app itself
    (message,) = sent
    message.serialize()
    assert (message.table_id, message.priority, message.cookie, message.instructions) == (0, 200, 0x1_8000_0001, [])
    assert dict(message.match.items()) == {"in_port": 2, "eth_type": 0x86DD, "ip_proto": 58, "icmpv6_type": 134}


# --- swaps -------------------------------------------------------------------

# A hand-made pair: the RA guard of port 2 is common (only its cookie differs), the
# admission drop moves from port 2 to port 5.
OLD = (ra_guard(2, 1), admission(2, 1))
NEW = (ra_guard(2, 2), admission(5, 2))


def test_make_before_break_installs_one_above_verifies_then_removes():
    steps = swap(OLD, NEW, "make-before-break")
    assert steps == (Step("install", (admission(5, 2, priority=101),)),
                     Step("verify", (admission(5, 2, priority=101),)),
                     Step("remove", (admission(2, 1),)))
    # The common flow stays as it was installed, cookie of phase 1 and all.
    assert flows_after(OLD, steps) == (ra_guard(2, 1), admission(5, 2, priority=101))


def test_cut_over_removes_then_installs():
    steps = swap(OLD, NEW, "cut-over")
    assert steps == (Step("remove", (admission(2, 1),)), Step("install", (admission(5, 2),)))
    assert flows_after(OLD, steps) == (ra_guard(2, 1), admission(5, 2))


def test_swap_between_alike_phases_has_no_steps_and_empty_steps_are_left_out():
    assert swap(phase_flows(PLAN[3], 3), phase_flows(PLAN[3], 4), "make-before-break") == ()
    # Enabling IPv6 on d1/fixed only removes: nothing to install, nothing to verify.
    assert swap(phase_flows(PLAN[1], 1), phase_flows(PLAN[2], 2), "make-before-break") == (
        Step("remove", (admission(1, 1), admission(2, 1), admission(3, 1))),)


def test_make_before_break_lifts_the_new_flows_above_the_highest_old_one():
    # Port 3 leaves d1/fixed: its RA guard (200) goes, so every new flow starts at 201.
    old = phase_flows(PLAN[1], 1)
    new = phase_flows((Segment("d1/fixed", DPID, (1,), (2,), False), Segment("d1/mobile", DPID, (4,), (5, 6), False)),
                      2)
    lifted = (FlowSpec(301, ra_guard(6, 2).match, (), table_id=0, cookie=phase_cookie(2, "ra-guard")),
              admission(6, 2, priority=201))
    assert swap(old, new, "make-before-break") == (
        Step("install", lifted), Step("verify", lifted), Step("remove", (ra_guard(3, 1), admission(3, 1))))


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ConfigError, match="unknown strategy 'big-bang'; use one of make-before-break, cut-over"):
        swap(OLD, NEW, "big-bang")


def fates_along(table, steps, packets):
    """Where each packet goes before the first step and after each one."""
    fates = [tuple(table.process(packet).outputs for packet in packets)]
    for step in steps:
        table.apply(step)
        fates.append(tuple(table.process(packet).outputs for packet in packets))
    return fates


# An allow-list that widens (hand-made, in table 0): during a pilot, CPE-A's IPv6 is
# admitted towards 2001:db8:1::/48 only; the next phase admits 2001:db8::/32. A
# packet to 2001:db8:1::10 is forwarded by both phases.
DROP_IPV6 = admission(2, 1)
PILOT = FlowSpec(110, (("eth_type", 0x86DD), ("in_port", 2), ("ipv6_dst", ("2001:db8:1::", "ffff:ffff:ffff::"))),
                 (), table_id=0, goto_table=1, cookie=phase_cookie(1, "ipv6-admission"))
WIDER = FlowSpec(110, (("eth_type", 0x86DD), ("in_port", 2), ("ipv6_dst", ("2001:db8::", "ffff:ffff::"))),
                 (), table_id=0, goto_table=1, cookie=phase_cookie(2, "ipv6-admission"))
PROBES = (echo6(2, CPE_A, BNG, "2001:db8:1::10"),    # forwarded by both
          echo6(2, CPE_A, BNG, "2001:db8:2::10"),    # dropped by the pilot, forwarded by the next phase
          echo6(2, CPE_A, BNG, "2001:db9::10"))      # dropped by both


def pilot_switch():
    table = learning_switch()
    for flow in (DROP_IPV6, PILOT):
        table.install(flow)
    return table


def test_make_before_break_never_drops_what_both_phases_forward():
    steps = swap((DROP_IPV6, PILOT), (admission(2, 2), WIDER), "make-before-break")
    assert [step.kind for step in steps] == ["install", "verify", "remove"]
    assert fates_along(pilot_switch(), steps, PROBES) == [
        ((1,), (), ()),
        ((1,), (1,), ()),       # the wider flow, at 111, takes over at once
        ((1,), (1,), ()),
        ((1,), (1,), ()),
    ]


def test_cut_over_drops_what_both_phases_forward_between_its_steps():
    steps = swap((DROP_IPV6, PILOT), (admission(2, 2), WIDER), "cut-over")
    assert fates_along(pilot_switch(), steps, PROBES) == [
        ((1,), (), ()),
        ((), (), ()),           # neither allow flow is there: the common drop takes everything
        ((1,), (1,), ()),
    ]


@pytest.mark.parametrize("strategy, fates", [
    ("make-before-break", [
        ((1,), (1,), (), (), ()),
        ((1,), (), (), (), ()),      # d1/fixed closed before d1/mobile opens
        ((1,), (), (), (), ()),
        ((1,), (), (4,), (), ()),
    ]),
    ("cut-over", [
        ((1,), (1,), (), (), ()),
        ((1,), (1,), (4,), (), ()),  # both open for a moment; IPv4 and rogue RAs never change
        ((1,), (), (4,), (), ()),
    ]),
])
def test_phase_swap_keeps_what_both_phases_agree_on_at_every_step(strategy, fates):
    # d1/fixed is taken back to IPv4-only while d1/mobile gets IPv6.
    old = phase_flows(PLAN[2], 2)
    new = phase_flows(segments(False, True), 3)
    table = switch(2)
    packets = (ipv4(2, CPE_A, BNG), echo6(2, CPE_A, BNG), echo6(5, UE, GATEWAY), ra(2, CPE_A), ra(5, UE))
    steps = swap(old, new, strategy)
    assert fates_along(table, steps, packets) == fates
    # The rogue RA is still counted by the RA guard phase 2 installed, left alone.
    assert table.process(ra(2, CPE_A)).cookies == (phase_cookie(2, "ra-guard"),)
    phase = {flow for flow in table.flows() if flow.table_id == 0 and flow.priority >= ADMISSION_PRIORITY}
    assert phase == set(flows_after(old, steps))


def test_enforcement_prepares_up_to_the_verify_and_commits_the_rest():
    from controllers.phases import Enforcement, phase_flows
    open_ = Segment("d1/fixed/a1", 7, (1,), (2, 3), True)
    closed = Segment("d1/fixed/a1", 7, (1,), (2, 3), False)
    enforcement = Enforcement({7: (closed,)})
    start = enforcement.connected(7)
    assert start == phase_flows((closed,), 0) and len(start) == 5      # 2 RA guards, 3 admission drops
    # Admitting IPv6: nothing to install; make-before-break has no verify left, so the
    # removal of the 3 admission flows is the step to take now.
    now = enforcement.prepare(1, {7: (open_,)}, "make-before-break")
    assert [(step.kind, len(step.flows)) for step in now[7]] == [("remove", 3)]
    assert enforcement.pending == {} and enforcement.commit() == {}
    assert enforcement.installed[7] == phase_flows((open_,), 0)          # the RA guards, left alone
    # Refusing it again, make-before-break: install now, nothing to remove later.
    now = enforcement.prepare(2, {7: (closed,)}, "make-before-break")
    assert [(step.kind, len(step.flows)) for step in now[7]] == [("install", 3)]
    assert enforcement.phase == 2 and enforcement.commit() == {}
    # A cut-over back does it all at once, and a second prepare waits for a commit.
    enforcement.pending = {7: (Step("remove", start[:1]),)}
    with pytest.raises(ConfigError, match="already prepared"):
        enforcement.prepare(3, {7: (open_,)}, "cut-over")
    assert [(s.kind, len(s.flows)) for s in enforcement.commit()[7]] == [("remove", 1)]


def test_enforcement_of_a_switch_that_is_not_connected_is_kept_for_when_it_is():
    from controllers.phases import Enforcement
    closed = Segment("d2/fixed/a2", 9, (1,), (2,), False)
    enforcement = Enforcement({})
    assert enforcement.prepare(1, {9: (closed,)}, "cut-over") == {}
    assert [f.cookie >> 32 for f in enforcement.connected(9)] == [1, 1, 1]   # phase 1's flows

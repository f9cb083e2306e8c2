"""tests/unit/flowtable.py: the fake switch is checked against the learning policy it
stands in for, and against the OpenFlow rules it claims to follow."""

import pytest
from flowtable import FLOOD, FlowTable, Packet, Result, field_matches

from controllers.phases import Step
from controllers.policy import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    ND_COOKIE,
    FlowSpec,
    LearningSwitchPolicy,
    PacketInfo,
    source_flow,
)

DPID = 1
H1, H2, H3 = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"
BROADCAST = "ff:ff:ff:ff:ff:ff"
MISS_0 = FlowSpec(0, (), (), table_id=0, goto_table=1)
MISS_1 = FlowSpec(0, (), (("controller", 64),), table_id=1, goto_table=2)
FLOOD_IPV4 = FlowSpec(1, (("eth_type", 0x0800),), (("flood", None),), table_id=2)


def to_h2_ipv4(in_port, src):
    return Packet(in_port, src, H2, ETH_TYPE_IPV4, ip_proto=1, ipv4_src="192.0.2.1", ipv4_dst="192.0.2.2")


def learn(policy, table, mac, port):
    for flow in policy.packet_received(PacketInfo(DPID, port, mac, BROADCAST, ETH_TYPE_ARP)).flows:
        table.install(flow)


@pytest.fixture
def policy():
    return LearningSwitchPolicy()


@pytest.fixture
def table(policy):
    return FlowTable(policy.switch_connected(DPID))


def test_before_learning_a_unicast_floods_and_its_source_goes_to_the_controller(table):
    assert table.process(to_h2_ipv4(1, H1)) == Result((FLOOD,), True, (MISS_0, MISS_1, FLOOD_IPV4))


def test_a_learned_destination_goes_out_of_its_port_and_a_learned_source_is_not_copied(policy, table):
    learn(policy, table, H1, 1)
    learn(policy, table, H2, 3)
    to_h2 = FlowSpec(10, (("eth_dst", H2), ("eth_type", 0x0800)), (("output", 3),), table_id=2)
    assert table.process(to_h2_ipv4(1, H1)) == Result((3,), False, (MISS_0, source_flow(1, H1), to_h2))
    # H3 is not known as a source yet: copied to the controller, forwarded all the same.
    assert table.process(to_h2_ipv4(2, H3)) == Result((3,), True, (MISS_0, MISS_1, to_h2))


def test_a_station_seen_on_another_port_is_copied_until_the_controller_moves_it(policy, table):
    learn(policy, table, H1, 1)
    assert table.process(to_h2_ipv4(4, H1)).to_controller is True
    decision = policy.packet_received(PacketInfo(DPID, 4, H1, H2, ETH_TYPE_IPV4))
    for flow in decision.removals:
        table.remove(flow)
    for flow in decision.flows:
        table.install(flow)
    assert table.process(to_h2_ipv4(4, H1)).to_controller is False
    assert table.process(to_h2_ipv4(1, H1)).to_controller is True
    to_h1 = Packet(2, H2, H1, ETH_TYPE_IPV6, ipv6_src="2001:db8::2", ipv6_dst="2001:db8::1")
    assert table.process(to_h1).outputs == (4,)


def test_multicast_nd_floods_under_its_cookie_and_a_group_source_is_not_learned(table):
    solicitation = Packet(1, H1, "33:33:ff:00:00:02", ETH_TYPE_IPV6, ip_proto=58, icmpv6_type=135,
                          ipv6_src="::", ipv6_dst="ff02::1:ff00:2")
    result = table.process(solicitation)
    assert (result.outputs, result.to_controller, result.cookies) == ((FLOOD,), True, (0, 0, ND_COOKIE))
    from_group = Packet(1, BROADCAST, H1, 0x88CC)
    assert table.process(from_group) == Result((FLOOD,), False, (
        MISS_0, FlowSpec(1, (("eth_src", ("01:00:00:00:00:00", "01:00:00:00:00:00")),), (), table_id=1, goto_table=2),
        FlowSpec(0, (), (("flood", None),), table_id=2)))


@pytest.mark.parametrize("name, wanted, value, matches", [
    ("eth_dst", ("01:00:00:00:00:00", "01:00:00:00:00:00"), "33:33:00:00:00:01", True),
    ("eth_dst", ("01:00:00:00:00:00", "01:00:00:00:00:00"), "02:00:00:00:00:01", False),
    ("eth_src", "02:00:00:00:00:0A", "02:00:00:00:00:0a", True),           # MACs compare as numbers
    ("ipv4_src", ("100.64.0.0", "255.192.0.0"), "100.127.255.254", True),  # last of 100.64.0.0/10
    ("ipv4_src", ("100.64.0.0", "255.192.0.0"), "100.128.0.1", False),
    ("ipv6_dst", ("64:ff9b::", "ffff:ffff:ffff:ffff:ffff:ffff::"), "64:ff9b::c000:201", True),
    ("ipv6_dst", ("64:ff9b::", "ffff:ffff:ffff:ffff:ffff:ffff::"), "64:ff9b:1::c000:201", False),
    ("ipv6_dst", "2001:db8::1", "2001:db8:0:0::1", True),
    ("eth_type", 0x86DD, 0x86DD, True),
    ("icmpv6_type", 134, None, False),                                     # the packet lacks the field
])
def test_field_matches(name, wanted, value, matches):
    assert field_matches(name, wanted, value) is matches


def test_install_replaces_a_flow_with_the_same_priority_and_match_and_remove_is_strict():
    match = (("eth_type", 0x0800),)
    table = FlowTable((FlowSpec(5, match, (("output", 1),), table_id=2),))
    table.install(FlowSpec(5, match, (("output", 2),), table_id=2))
    table.install(FlowSpec(6, match, (("output", 3),), table_id=2))
    assert table.flows() == (FlowSpec(5, match, (("output", 2),), table_id=2),
                             FlowSpec(6, match, (("output", 3),), table_id=2))
    table.remove(FlowSpec(6, match, (), table_id=2))       # actions do not matter to a strict delete
    table.remove(FlowSpec(5, (), (), table_id=2))          # nor does a flow that is not there
    assert table.flows() == (FlowSpec(5, match, (("output", 2),), table_id=2),)


def test_a_table_with_no_flow_for_the_packet_drops_it():
    table = FlowTable((FlowSpec(0, (), (), table_id=0, goto_table=2),))
    assert table.process(to_h2_ipv4(1, H1)) == Result((), False, (FlowSpec(0, (), (), table_id=0, goto_table=2),))
    assert table.process(to_h2_ipv4(1, H1)).dropped is True


def test_flows_a_switch_would_refuse_are_refused():
    table = FlowTable()
    with pytest.raises(ValueError, match="icmpv6_type needs ip_proto in \\[58\\]"):
        table.install(FlowSpec(5, (("eth_type", 0x86DD), ("icmpv6_type", 134)), (), table_id=0))
    with pytest.raises(ValueError, match="ipv4_dst needs eth_type in \\[2048\\]"):
        table.install(FlowSpec(5, (("eth_type", 0x86DD), ("ipv4_dst", "192.0.2.1")), (), table_id=0))
    with pytest.raises(ValueError, match="goto table 1 is not after table 2"):
        table.install(FlowSpec(5, (), (), table_id=2, goto_table=1))
    with pytest.raises(ValueError, match="match field vlan_vid is not one the fake table knows"):
        table.install(FlowSpec(5, (("vlan_vid", 10),), (), table_id=0))
    assert table.flows() == ()


def test_flows_that_tie_for_a_packet_are_an_error_not_a_coin_toss():
    table = FlowTable((FlowSpec(5, (("in_port", 1),), (("output", 2),), table_id=0),
                       FlowSpec(5, (("eth_type", 0x0800),), (("output", 3),), table_id=0)))
    with pytest.raises(AssertionError, match="2 flows of table 0 tie at priority 5"):
        table.process(to_h2_ipv4(1, H1))


def test_steps_apply_and_verify_reads_back_what_was_installed():
    flow = FlowSpec(100, (("eth_type", 0x86DD), ("in_port", 2)), (), table_id=0)
    table = FlowTable()
    with pytest.raises(AssertionError, match="verify: .* is not installed"):
        table.apply(Step("verify", (flow,)))
    table.apply(Step("install", (flow,)))
    table.apply(Step("verify", (flow,)))
    assert table.flows() == (flow,)
    table.apply(Step("remove", (flow,)))
    assert table.flows() == ()

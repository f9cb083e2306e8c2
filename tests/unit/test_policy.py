"""controllers.policy: flows and decisions from hand-made packet descriptions."""

import struct
from types import SimpleNamespace

import pytest

from controllers.dual_stack import count_flows, decode
from controllers.policy import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    FAMILIES,
    LEARNED_PRIORITY,
    MECHANISM_COOKIES,
    ND_COOKIE,
    TABLE_MISS_PRIORITY,
    ArpForwarding,
    Counter,
    Decision,
    FamilyForwarding,
    FlowSpec,
    IPv4Forwarding,
    IPv6Forwarding,
    LearningSwitchPolicy,
    Mechanisms,
    PacketInfo,
    family_of,
    is_group_address,
    mechanism_of,
    source_flow,
)

DPID = 1
H1, H2, H3 = "00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03"
BROADCAST = "ff:ff:ff:ff:ff:ff"
SOLICITED_NODE = "33:33:ff:00:00:02"   # multicast MAC of H2's solicited-node address
GROUP = ("01:00:00:00:00:00", "01:00:00:00:00:00")
FLOOD = (("flood", None),)


def packet(src, dst, eth_type, in_port):
    return PacketInfo(dpid=DPID, in_port=in_port, eth_src=src, eth_dst=dst, eth_type=eth_type)


def forwarding(mac, port):
    """The three flows, written out, that send a learned MAC's packets out of its port."""
    return tuple(FlowSpec(10, (("eth_dst", mac), ("eth_type", eth_type)), (("output", port),), table_id=2)
                 for eth_type in (0x0800, 0x86DD, 0x0806))


def learned(mac, port):
    return (FlowSpec(10, (("eth_src", mac), ("in_port", port)), (), table_id=1, goto_table=2),) + forwarding(mac, port)


@pytest.fixture
def policy():
    policy = LearningSwitchPolicy()
    policy.switch_connected(DPID)
    return policy


def test_flows_on_connect_let_the_switch_forward_everything_itself():
    policy = LearningSwitchPolicy()
    nd = ((("eth_dst", GROUP), ("eth_type", 0x86DD), ("icmpv6_type", t), ("ip_proto", 58))
          for t in (133, 134, 135, 136))
    assert policy.switch_connected(7) == (
        # Table 0 (no mechanisms to count) passes everything to table 1.
        FlowSpec(0, (), (), table_id=0, goto_table=1),
        # Table 1: group sources are not learned; an unknown source is copied (64 bytes) to the controller.
        FlowSpec(1, (("eth_src", GROUP),), (), table_id=1, goto_table=2),
        FlowSpec(0, (), (("controller", 64),), table_id=1, goto_table=2),
        # Table 2: multicast ND floods under a cookie of its own, each family floods, the rest floods.
        *(FlowSpec(5, match, FLOOD, table_id=2, cookie=ND_COOKIE) for match in nd),
        FlowSpec(1, (("eth_type", 0x0800),), FLOOD, table_id=2),
        FlowSpec(1, (("eth_type", 0x86DD),), FLOOD, table_id=2),
        FlowSpec(1, (("eth_type", 0x0806),), FLOOD, table_id=2),
        FlowSpec(0, (), FLOOD, table_id=2),
    )
    assert TABLE_MISS_PRIORITY == 0 and LEARNED_PRIORITY == 10
    assert policy.mac_tables == {7: {}}


def test_a_new_source_gets_a_source_flow_and_forwarding_flows(policy):
    decision = policy.packet_received(packet(H1, BROADCAST, ETH_TYPE_ARP, in_port=1))
    assert decision == Decision(flows=learned(H1, 1))
    assert decision.flows[0] == source_flow(1, H1)
    assert decision.flows[0].match_dict == {"in_port": 1, "eth_src": H1}
    assert [family_of(f.match_dict["eth_type"]) for f in decision.flows[1:]] == ["ipv4", "ipv6", "arp"]
    assert policy.mac_tables[DPID] == {H1: 1}


def test_learning_from_unicast_too(policy):
    # The switch floods a unicast to a MAC it does not know; the controller learns its source.
    assert policy.packet_received(packet(H1, H2, ETH_TYPE_IPV4, in_port=1)) == Decision(flows=learned(H1, 1))
    assert policy.packet_received(packet(H2, H1, ETH_TYPE_IPV6, in_port=3)) == Decision(flows=learned(H2, 3))
    assert policy.mac_tables[DPID] == {H1: 1, H2: 3}


def test_copies_sent_before_the_source_flow_only_reinstall_it(policy):
    policy.packet_received(packet(H1, BROADCAST, ETH_TYPE_ARP, in_port=1))
    # Forwarding flows are not sent again: replacing them would reset their counters.
    assert policy.packet_received(packet(H1, H2, ETH_TYPE_IPV4, in_port=1)) == Decision(flows=(source_flow(1, H1),))


def test_a_station_that_moves_is_forwarded_to_its_new_port(policy):
    policy.packet_received(packet(H1, BROADCAST, ETH_TYPE_ARP, in_port=1))
    decision = policy.packet_received(packet(H1, BROADCAST, ETH_TYPE_ARP, in_port=4))
    # The old source flow goes, else a move back to port 1 would never be seen.
    assert decision == Decision(flows=learned(H1, 4), removals=(source_flow(1, H1),))
    assert policy.mac_tables[DPID] == {H1: 4}


def test_group_source_is_not_learned(policy):
    assert policy.packet_received(packet(BROADCAST, H1, ETH_TYPE_IPV4, in_port=4)) == Decision()
    assert policy.mac_tables[DPID] == {}


def test_mac_tables_per_switch():
    policy = LearningSwitchPolicy()
    policy.switch_connected(1)
    policy.switch_connected(2)
    policy.packet_received(PacketInfo(1, 1, H1, BROADCAST, ETH_TYPE_ARP))
    policy.packet_received(PacketInfo(2, 3, H1, H2, ETH_TYPE_IPV4))
    assert policy.mac_tables == {1: {H1: 1}, 2: {H1: 3}}


def test_disconnect_forgets_learned_macs(policy):
    policy.packet_received(packet(H2, BROADCAST, ETH_TYPE_ARP, in_port=2))
    policy.switch_disconnected(DPID)
    assert DPID not in policy.mac_tables
    # Learned afresh when the switch comes back (its flows went with it).
    assert policy.packet_received(packet(H2, H1, ETH_TYPE_IPV4, in_port=2)) == Decision(flows=learned(H2, 2))


def test_packet_from_unannounced_switch_is_handled():
    policy = LearningSwitchPolicy()
    assert policy.packet_received(PacketInfo(9, 3, H1, BROADCAST, ETH_TYPE_ARP)) == Decision(flows=learned(H1, 3))
    assert policy.mac_tables == {9: {H1: 3}}


def test_decode_reads_the_ethernet_header_of_a_64_byte_copy():
    frame = bytes.fromhex("3333ff000002" "000000000001") + struct.pack("!H", ETH_TYPE_IPV6) + bytes(50)
    assert decode(5, 2, frame) == PacketInfo(5, 2, H1, SOLICITED_NODE, ETH_TYPE_IPV6)


def _stat(table_id, priority, packets, size, cookie=0, **match):
    return SimpleNamespace(table_id=table_id, priority=priority, cookie=cookie, match=match,
                           packet_count=packets, byte_count=size)


def test_flow_statistics_summed_per_family_and_mechanism():
    stats = [
        _stat(0, 20, 4, 400, cookie=MECHANISM_COOKIES["nat64"], eth_type=0x86DD),
        _stat(0, 0, 99, 9900),                                     # classification miss: no mechanism
        _stat(1, 0, 7, 700),                                       # table 1 counts nothing of its own
        _stat(2, 10, 3, 294, eth_dst=H1, eth_type=0x0800),         # echo requests to H1: 3 x 98 bytes
        _stat(2, 10, 0, 0, eth_dst=H1, eth_type=0x86DD),           # installed, never used
        _stat(2, 10, 2, 84, eth_dst=H1, eth_type=0x0806),          # ARP replies: 2 x 42
        _stat(2, 10, 5, 590, eth_dst=H2, eth_type=0x86DD),         # 5 x 118-byte ICMPv6 echoes
        _stat(2, 5, 2, 172, cookie=ND_COOKIE, eth_type=0x86DD),    # 2 multicast NS of 86 bytes
        _stat(2, 1, 1, 42, eth_type=0x0806),                       # one ARP request flooded
        _stat(2, 0, 1, 60),                                        # one LLDP frame flooded
    ]
    from controllers.phases import phase_cookie
    stats += [_stat(0, 200, 1, 70, cookie=phase_cookie(0, "ra-guard"), eth_type=0x86DD, in_port=2),
              _stat(0, 200, 0, 0, cookie=phase_cookie(0, "ra-guard"), eth_type=0x86DD, in_port=3),
              _stat(0, 100, 4, 360, cookie=phase_cookie(0, "ipv6-admission"), eth_type=0x86DD, in_port=1)]
    counts = count_flows(stats)
    # Dropped by the phase's flows, per purpose, with how many such flows the switch has.
    assert {k: (v.packets, v.bytes, v.flows) for k, v in counts.phase.items()} == {
        "ra-guard": (1, 70, 2), "ipv6-admission": (4, 360, 1)}
    assert counts.families == {"ipv4": Counter(3, 294), "ipv6": Counter(7, 762),
                               "arp": Counter(3, 126), "other": Counter(1, 60)}
    assert counts.used == {"ipv4": 1, "ipv6": 1, "arp": 1}
    assert counts.mechanisms == {"nat64": Counter(4, 400)}
    assert counts.neighbor_discovery == Counter(2, 172)


@pytest.mark.parametrize("mac, group", [
    (BROADCAST, True), (SOLICITED_NODE, True), ("01:00:5e:00:00:fb", True),
    (H1, False), ("02:00:00:00:00:01", False), ("FF:FF:FF:FF:FF:FF", True)])
def test_is_group_address(mac, group):
    assert is_group_address(mac) is group


def test_family_of():
    assert [family_of(t) for t in (0x0800, 0x86DD, 0x0806, 0x88CC, 0)] == ["ipv4", "ipv6", "arp", "other", "other"]


def test_ipv4_and_ipv6_classes_differ_only_by_constants():
    def own(cls):
        return {k: v for k, v in vars(cls).items() if not k.startswith("__")}

    assert own(IPv4Forwarding) == {"NAME": "ipv4", "ETH_TYPES": (0x0800,)}
    assert own(IPv6Forwarding) == {"NAME": "ipv6", "ETH_TYPES": (0x86DD,)}
    assert own(ArpForwarding) == {"NAME": "arp", "ETH_TYPES": (0x0806,)}
    for cls in (IPv4Forwarding, IPv6Forwarding, ArpForwarding):
        assert cls.__bases__ == (FamilyForwarding,)
        assert cls.learned_flows is FamilyForwarding.learned_flows
        assert cls.flood_flows is FamilyForwarding.flood_flows
        assert cls.handles is FamilyForwarding.handles
    assert [type(f) for f in FAMILIES] == [IPv4Forwarding, IPv6Forwarding, ArpForwarding]


def test_learned_flow_of_each_family():
    assert IPv6Forwarding().learned_flows(H2, 5) == (FlowSpec(
        10, (("eth_dst", H2), ("eth_type", 0x86DD)), (("output", 5),), 0, table_id=2),)
    assert IPv4Forwarding().handles(ETH_TYPE_IPV4) is True
    assert IPv4Forwarding().handles(ETH_TYPE_IPV6) is False


def test_mechanism_flows_count_each_mechanism_in_table_0():
    mechanisms = Mechanisms(nat64_prefix="64:ff9b::/96", clat=("2001:db8:301:200::/120",), softwire=True,
                            shared_space="100.64.0.0/10")
    flows = mechanisms.flows()
    six = ETH_TYPE_IPV6
    by_cookie = {}
    for flow in flows:
        by_cookie.setdefault(flow.cookie, []).append((flow.priority, flow.match_dict))
        assert (flow.table_id, flow.goto_table, flow.actions) == (0, 1, ())
    clat_mask = "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00"
    assert by_cookie[MECHANISM_COOKIES["464xlat"]] == [
        (30, {"eth_type": six, "ipv6_src": ("2001:db8:301:200::", clat_mask)}),
        (30, {"eth_type": six, "ipv6_dst": ("2001:db8:301:200::", clat_mask)})]
    wkp = ("64:ff9b::", "ffff:ffff:ffff:ffff:ffff:ffff::")
    assert by_cookie[MECHANISM_COOKIES["nat64"]] == [(20, {"eth_type": six, "ipv6_src": wkp}),
                                                     (20, {"eth_type": six, "ipv6_dst": wkp})]
    assert by_cookie[MECHANISM_COOKIES["ds-lite"]] == [(20, {"eth_type": six, "ip_proto": 4})]
    assert by_cookie[MECHANISM_COOKIES["cgn"]] == [
        (20, {"eth_type": ETH_TYPE_IPV4, "ipv4_src": ("100.64.0.0", "255.192.0.0")}),
        (20, {"eth_type": ETH_TYPE_IPV4, "ipv4_dst": ("100.64.0.0", "255.192.0.0")})]
    assert flows[-1] == FlowSpec(0, (), (), table_id=0, goto_table=1)
    assert [mechanism_of(c) for c in (1, 2, 3, 4, 0)] == ["464xlat", "nat64", "ds-lite", "cgn", None]


def test_mechanisms_from_the_runners_file():
    assert Mechanisms.from_dict({"nat64_prefix": "64:ff9b::/96", "clat": ["2001:db8::1/128"], "softwire": True,
                                 "shared_space": None}) == Mechanisms("64:ff9b::/96", ("2001:db8::1/128",), True, None)
    assert Mechanisms.from_dict({}).flows() == (FlowSpec(0, (), (), table_id=0, goto_table=1),)

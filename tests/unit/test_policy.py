"""controllers.policy: flows and decisions from hand-made packet descriptions."""

import pytest

from controllers.policy import (
    ETH_TYPE_ARP,
    ETH_TYPE_IPV4,
    ETH_TYPE_IPV6,
    FAMILIES,
    FLOOD,
    LEARNED_PRIORITY,
    MECHANISM_COOKIES,
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
    is_neighbor_discovery,
    mechanism_of,
)

DPID = 1
H1, H2, H3 = "00:00:00:00:00:01", "00:00:00:00:00:02", "00:00:00:00:00:03"
BROADCAST = "ff:ff:ff:ff:ff:ff"
SOLICITED_NODE = "33:33:ff:00:00:02"   # multicast MAC of H2's solicited-node address


def packet(src, dst, eth_type, in_port, size=0, **extra):
    return PacketInfo(dpid=DPID, in_port=in_port, eth_src=src, eth_dst=dst, eth_type=eth_type,
                      size=size, **extra)


@pytest.fixture
def policy():
    policy = LearningSwitchPolicy()
    policy.switch_connected(DPID)
    return policy


def test_table_miss_flow_on_connect():
    policy = LearningSwitchPolicy()
    # Table 0 (no mechanisms to count) passes everything to table 1, whose miss
    # sends the packet to the controller.
    assert policy.switch_connected(7) == (
        FlowSpec(priority=0, match=(), actions=(), table_id=0, goto_table=1),
        FlowSpec(priority=TABLE_MISS_PRIORITY, match=(), actions=(("controller", 0xFFFF),), idle_timeout=0,
                 table_id=1),)
    assert TABLE_MISS_PRIORITY == 0
    assert policy.mac_tables == {7: {}}
    assert policy.packet_in == {7: {}}
    assert policy.neighbor_discovery == {7: Counter(0, 0)}


def test_broadcast_arp_request_floods_and_learns_source(policy):
    decision = policy.packet_received(packet(H1, BROADCAST, ETH_TYPE_ARP, in_port=1, size=42))
    assert decision == Decision(flows=(), output=FLOOD)
    assert policy.mac_tables[DPID] == {H1: 1}
    assert policy.packet_in[DPID] == {"arp": Counter(packets=1, bytes=42)}


def test_unicast_to_unknown_mac_floods(policy):
    decision = policy.packet_received(packet(H1, H2, ETH_TYPE_IPV4, in_port=1, size=98))
    assert decision == Decision(output=FLOOD)
    assert policy.mac_tables[DPID] == {H1: 1}


@pytest.mark.parametrize("eth_type, family", [
    (ETH_TYPE_IPV4, "ipv4"), (ETH_TYPE_IPV6, "ipv6"), (ETH_TYPE_ARP, "arp")])
def test_unicast_to_learned_mac_installs_one_flow(policy, eth_type, family):
    policy.packet_received(packet(H2, BROADCAST, ETH_TYPE_ARP, in_port=2, size=42))   # learns H2 on 2
    decision = policy.packet_received(packet(H1, H2, eth_type, in_port=1, size=100))
    assert decision == Decision(
        flows=(FlowSpec(priority=LEARNED_PRIORITY,
                        match=(("eth_dst", H2), ("eth_type", eth_type)),
                        actions=(("output", 2),)),),
        output=2)
    (flow,) = decision.flows
    assert flow.match_dict == {"eth_dst": H2, "eth_type": eth_type}
    assert flow.priority == 10
    assert family_of(flow.match_dict["eth_type"]) == family
    assert policy.mac_tables[DPID] == {H2: 2, H1: 1}


def test_reply_after_request_goes_back_to_the_requester(policy):
    policy.packet_received(packet(H1, BROADCAST, ETH_TYPE_ARP, in_port=1, size=42))
    decision = policy.packet_received(packet(H2, H1, ETH_TYPE_ARP, in_port=3, size=42))
    assert decision.output == 1
    assert decision.flows[0].actions == (("output", 1),)
    assert policy.packet_in[DPID] == {"arp": Counter(2, 84)}


def test_destination_behind_in_port_is_dropped(policy):
    policy.packet_received(packet(H1, BROADCAST, ETH_TYPE_ARP, in_port=1))
    # H3 also sits behind port 1 (another switch or a hub there): do not send it back.
    decision = policy.packet_received(packet(H3, H1, ETH_TYPE_IPV4, in_port=1, size=98))
    assert decision == Decision()
    assert decision.flows == () and decision.output is None
    assert policy.mac_tables[DPID] == {H1: 1, H3: 1}


def test_other_ethertype_is_forwarded_without_flow(policy):
    policy.packet_received(packet(H2, BROADCAST, ETH_TYPE_ARP, in_port=2))
    decision = policy.packet_received(packet(H1, H2, 0x88CC, in_port=1, size=60))
    assert decision == Decision(flows=(), output=2)
    assert policy.packet_in[DPID]["other"] == Counter(1, 60)


def test_group_source_is_not_learned(policy):
    policy.packet_received(packet(BROADCAST, H1, ETH_TYPE_IPV4, in_port=4))
    assert policy.mac_tables[DPID] == {}


def test_neighbor_discovery_counted_as_ipv6(policy):
    # Neighbor solicitation (135) to a solicited-node multicast MAC: 86 bytes
    # (14 Ethernet + 40 IPv6 + 32 ICMPv6 with source link-layer option).
    ns = packet(H1, SOLICITED_NODE, ETH_TYPE_IPV6, in_port=1, size=86, ip_proto=58, icmpv6_type=135)
    assert is_neighbor_discovery(ns) is True
    assert policy.packet_received(ns) == Decision(output=FLOOD)
    assert policy.neighbor_discovery[DPID] == Counter(packets=1, bytes=86)
    assert policy.packet_in[DPID] == {"ipv6": Counter(packets=1, bytes=86)}

    # The advertisement (136) back, unicast to H1 (learned on port 1), 86 bytes too.
    na = packet(H2, H1, ETH_TYPE_IPV6, in_port=2, size=86, ip_proto=58, icmpv6_type=136)
    assert policy.packet_received(na).output == 1
    # An echo request (ICMPv6 128) is IPv6 but not ND: 118 bytes.
    echo = packet(H1, H2, ETH_TYPE_IPV6, in_port=1, size=118, ip_proto=58, icmpv6_type=128)
    assert is_neighbor_discovery(echo) is False
    policy.packet_received(echo)
    # ND: 86 + 86 = 172 bytes in 2 packets; IPv6 packet-in: 86 + 86 + 118 = 290 in 3.
    assert policy.neighbor_discovery[DPID] == Counter(2, 172)
    assert policy.packet_in[DPID] == {"ipv6": Counter(3, 290)}


def test_icmpv6_type_135_needs_icmpv6_protocol():
    not_nd = PacketInfo(DPID, 1, H1, H2, ETH_TYPE_IPV6, 86, ip_proto=17, icmpv6_type=135)
    assert is_neighbor_discovery(not_nd) is False
    ipv4 = PacketInfo(DPID, 1, H1, H2, ETH_TYPE_IPV4, 86, ip_proto=58, icmpv6_type=135)
    assert is_neighbor_discovery(ipv4) is False


def test_counters_per_switch():
    policy = LearningSwitchPolicy()
    policy.switch_connected(1)
    policy.switch_connected(2)
    policy.packet_received(PacketInfo(1, 1, H1, BROADCAST, ETH_TYPE_ARP, 42))
    policy.packet_received(PacketInfo(2, 1, H1, H2, ETH_TYPE_IPV4, 1000))
    policy.packet_received(PacketInfo(2, 1, H1, H2, ETH_TYPE_IPV4, 500))
    assert policy.packet_in == {1: {"arp": Counter(1, 42)}, 2: {"ipv4": Counter(2, 1500)}}
    assert policy.mac_tables == {1: {H1: 1}, 2: {H1: 1}}


def test_disconnect_forgets_learned_macs(policy):
    policy.packet_received(packet(H2, BROADCAST, ETH_TYPE_ARP, in_port=2))
    policy.switch_disconnected(DPID)
    assert DPID not in policy.mac_tables
    # Unknown again, so the next packet to H2 floods.
    assert policy.packet_received(packet(H1, H2, ETH_TYPE_IPV4, in_port=1)) == Decision(output=FLOOD)


def test_packet_from_unannounced_switch_is_handled():
    policy = LearningSwitchPolicy()
    assert policy.packet_received(PacketInfo(9, 3, H1, BROADCAST, ETH_TYPE_ARP, 42)) == Decision(output=FLOOD)
    assert policy.mac_tables == {9: {H1: 3}}


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
        assert cls.learned_flow is FamilyForwarding.learned_flow
        assert cls.handles is FamilyForwarding.handles
    assert [type(f) for f in FAMILIES] == [IPv4Forwarding, IPv6Forwarding, ArpForwarding]


def test_learned_flow_of_each_family():
    assert IPv6Forwarding().learned_flow(ETH_TYPE_IPV6, H2, 5) == FlowSpec(
        10, (("eth_dst", H2), ("eth_type", 0x86DD)), (("output", 5),), 0)
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

"""simulator.network.nat: one nftables NAT44 renderer for its four uses, worked out by hand.

The values are those of the transition city (tests/unit/test_translators.py lists
them): a CPE's LAN 192.168.0.0/24; the CGN on d1bng, pool 11.64.0.160/31, subscribers
100.64.0.2 and .3 in shared space 100.64.0.0/10; the AFTR, pool 11.64.0.144/29, B4
LANs 192.168.2.0/24 and 192.168.3.0/24, uplink "aftr-c3"; the NAT64, internal pool
10.255.64.0/24, public pool 11.64.0.152/29.

Port blocks (RFC 7422): subscriber i gets address pool[i // 31] and ports
1024 + (i % 31) * 2048 .. that + 2047, so i = 0 -> 1024-3071, i = 1 -> 3072-5119,
i = 31 -> the pool's second address, 1024-3071.
"""

import ipaddress

import pytest

from simulator.network import nat
from simulator.network.nat import Masquerade, NatRule, NatTable, Snat
from topologies.errors import TopologyError

HEAD = ("  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n")
TAIL = "  }\n}\n"


def ip(text):
    return ipaddress.ip_address(text)


def net(text):
    return ipaddress.ip_network(text)


# --- the four uses ------------------------------------------------------------------


def test_cpe_masquerades_its_lan_except_towards_the_lan():
    table = NatTable("v6lab_nat", (nat.masquerade(net("192.168.0.0/24"), "d1f1-d1f1h1"),))
    assert nat.render(table) == (
        "table ip v6lab_nat {\n" + HEAD
        + '    ip saddr 192.168.0.0/24 oifname != "d1f1-d1f1h1" masquerade\n' + TAIL)


def test_cgn_port_blocks_never_between_subscribers():
    shared, pool = net("100.64.0.0/10"), net("11.64.0.160/31")
    rules = (nat.port_block_rules(ip("100.64.0.2"), pool, 0, not_destination=shared)
             + nat.port_block_rules(ip("100.64.0.3"), pool, 1, not_destination=shared))
    assert nat.render(NatTable("v6lab_cgn", rules)) == (
        "table ip v6lab_cgn {\n" + HEAD
        + "    ip saddr 100.64.0.2 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } snat to 11.64.0.160:1024-3071\n"
        "    ip saddr 100.64.0.2 ip daddr != 100.64.0.0/10 snat to 11.64.0.160\n"
        "    ip saddr 100.64.0.3 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } snat to 11.64.0.160:3072-5119\n"
        "    ip saddr 100.64.0.3 ip daddr != 100.64.0.0/10 snat to 11.64.0.160\n" + TAIL)


def test_aftr_port_blocks_only_out_of_its_uplink():
    pool = net("11.64.0.144/29")
    rules = (nat.port_block_rules(net("192.168.2.0/24"), pool, 0, oifname="aftr-c3")
             + nat.port_block_rules(net("192.168.3.0/24"), pool, 1, oifname="aftr-c3"))
    assert nat.render(NatTable("v6lab_aftr", rules)) == (
        "table ip v6lab_aftr {\n" + HEAD
        + '    ip saddr 192.168.2.0/24 oifname "aftr-c3" meta l4proto { tcp, udp } snat to 11.64.0.144:1024-3071\n'
        '    ip saddr 192.168.2.0/24 oifname "aftr-c3" snat to 11.64.0.144\n'
        '    ip saddr 192.168.3.0/24 oifname "aftr-c3" meta l4proto { tcp, udp } snat to 11.64.0.144:3072-5119\n'
        '    ip saddr 192.168.3.0/24 oifname "aftr-c3" snat to 11.64.0.144\n' + TAIL)


def test_nat64_internal_pool_to_the_whole_public_pool():
    # A /29 pool is routed to the NAT64, not a segment: .152 to .159, all eight.
    table = NatTable("v6lab_nat64", (nat.pool_snat(net("10.255.64.0/24"), net("11.64.0.152/29")),))
    assert nat.render(table) == (
        "table ip v6lab_nat64 {\n" + HEAD
        + "    ip saddr 10.255.64.0/24 snat to 11.64.0.152-11.64.0.159\n" + TAIL)


# --- the rules themselves -----------------------------------------------------------


def test_port_block_rules_are_typed():
    tcp_udp, rest = nat.port_block_rules(ip("100.64.0.2"), net("11.64.0.160/31"), 31,
                                         not_destination=net("100.64.0.0/10"))
    # Subscriber 31 is the first of the pool's second address.
    assert tcp_udp == NatRule(ip("100.64.0.2"), Snat(ip("11.64.0.161"), ports=(1024, 3071)),
                              not_destination=net("100.64.0.0/10"), protocols=("tcp", "udp"))
    assert rest == NatRule(ip("100.64.0.2"), Snat(ip("11.64.0.161")), not_destination=net("100.64.0.0/10"))


def test_port_block_rules_beyond_the_pool():
    with pytest.raises(TopologyError) as error:
        nat.port_block_rules(ip("100.64.0.2"), net("11.64.0.160/31"), 62)
    assert "subscriber 63 has no port block" in str(error.value)


@pytest.mark.parametrize("action, text", [
    (Masquerade(), "masquerade"),
    (Snat(ip("192.0.2.1")), "snat to 192.0.2.1"),
    (Snat(ip("192.0.2.1"), last=ip("192.0.2.7")), "snat to 192.0.2.1-192.0.2.7"),
    (Snat(ip("192.0.2.1"), ports=(1024, 3071)), "snat to 192.0.2.1:1024-3071"),
])
def test_actions(action, text):
    assert str(action) == text


def test_one_protocol_is_not_a_set():
    rule = NatRule(net("10.0.0.0/8"), Masquerade(), oifname="wan", protocols=("udp",))
    assert str(rule) == 'ip saddr 10.0.0.0/8 oifname "wan" meta l4proto udp masquerade'


def test_an_empty_table_has_an_empty_chain():
    assert nat.render(NatTable("v6lab_none", ())) == "table ip v6lab_none {\n" + HEAD + TAIL

"""simulator.network.daemons.translators, the DNS64 and per-link RDNSS: rendered files and
command lines, worked out by hand.

The values are those of the transition city (topologies/cities/transition.yaml;
tests/unit/test_transition.py derives them from its address plan):

    NAT64 n64      prefix 64:ff9b::/96, public pool 11.64.0.152/29, endpoint 2001:db8:0:6::/64
    AFTR  aftr     uplink towards c3, endpoint 2001:db8:0:5::1, pool 11.64.0.144/29
    B4s   d2f1     WAN 2001:db8:200:3::2, endpoint 2001:db8:201:1::1, LAN 192.168.2.0/24
          d2f2     endpoint 2001:db8:201:101::1, LAN 192.168.3.0/24
    CLAT  d2u1     192.0.0.1/32 -> 2001:db8:200:4:62:83ff:fe2a:241f/128, gateway 2001:db8:200:4::1
          d3f1     192.168.4.0/24 -> 2001:db8:301:2::/120
    CGN   d1bng    pool 11.64.0.160/31, subscribers 100.64.0.2 and 100.64.0.3

Port blocks (RFC 7422): ports 1024..65535 are 64512 ports, which hold
64512 // 2048 = 31 blocks of 2048 ports per public address (the last 1024 ports stay
unused). Subscriber i gets address pool[i // 31] and ports
1024 + (i % 31) * 2048 .. that + 2047:
    i = 0   -> pool[0], 1024..3071
    i = 1   -> pool[0], 3072..5119
    i = 30  -> pool[0], 1024 + 61440 = 62464 .. 64511
    i = 31  -> pool[1], 1024..3071
    a /31 holds 2 * 31 = 62 subscribers, so i = 62 has no block.

Nothing here runs nft, tayga or ip: ``nft -c`` needs netlink inside a node.
"""

import ipaddress
import os
import shutil
import subprocess

import pytest

from simulator.model import address_plan
from simulator.model.address_plan import port_block
from simulator.network.daemons import DnsServer
from simulator.network.daemons.radvd import RouterAdvertisements
from simulator.network.daemons.translators import (
    CLAT_HOST,
    CLAT_MTU,
    CLAT_TAYGA,
    NAT64_INTERNAL_POOL,
    SOFTWIRE_MSS,
    CarrierGradeNat,
    Clat,
    DsLiteAftr,
    DsLiteB4,
    Nat64,
)
from topologies.errors import DaemonError, TopologyError

CLAT_D2U1 = "2001:db8:200:4:62:83ff:fe2a:241f"


def ip(text):
    return ipaddress.ip_address(text)


# --- port blocks -----------------------------------------------------------------


def test_port_block_constants():
    assert (address_plan.FIRST_PORT, address_plan.PORTS_PER_SUBSCRIBER) == (1024, 2048)
    assert address_plan.SUBSCRIBERS_PER_ADDRESS == 31


@pytest.mark.parametrize("index, address, first, last", [
    (0, "11.64.0.160", 1024, 3071),
    (1, "11.64.0.160", 3072, 5119),
    (30, "11.64.0.160", 62464, 64511),
    (31, "11.64.0.161", 1024, 3071),
    (61, "11.64.0.161", 62464, 64511),
])
def test_port_block(index, address, first, last):
    assert port_block(ipaddress.ip_network("11.64.0.160/31"), index) == (ip(address), first, last)


def test_port_block_outside_the_pool():
    pool = ipaddress.ip_network("11.64.0.160/31")
    with pytest.raises(TopologyError) as error:
        port_block(pool, 62)
    assert str(error.value) == (
        "NAT pool 11.64.0.160/31 holds 62 subscribers of 2048 ports; subscriber 63 has no port block: "
        "give the pool more addresses")
    with pytest.raises(TopologyError):
        port_block(pool, -1)


def test_port_block_of_a_single_address():
    # A /32 holds 31 subscribers; the 31st ends 1024 ports short of 65535.
    pool = ipaddress.ip_network("192.0.2.7/32")
    assert port_block(pool, 30) == (ip("192.0.2.7"), 62464, 64511)
    with pytest.raises(TopologyError):
        port_block(pool, 31)


# --- NAT64 -------------------------------------------------------------------------


def nat64():
    return Nat64("n64", "64:ff9b::/96", "11.64.0.152/29", "2001:db8:0:6::/64")


def test_nat64_tayga_conf(tmp_path):
    files = nat64().render(tmp_path)
    assert sorted(files) == ["rules.nft", "tayga.conf"]
    # TAYGA's own addresses: the first of the internal pool, the first of the endpoint /64.
    assert files["tayga.conf"].splitlines() == [
        "tun-device nat64",
        "ipv4-addr 10.255.64.1",
        "ipv6-addr 2001:db8:0:6::1",
        "prefix 64:ff9b::/96",
        "dynamic-pool 10.255.64.0/24",
        f"data-dir {tmp_path}",
    ]
    assert NAT64_INTERNAL_POOL == ipaddress.ip_network("10.255.64.0/24")


def test_nat64_rules_translate_the_internal_pool_to_the_whole_public_pool(tmp_path):
    # 11.64.0.152/29: .152 to .159, all eight (the pool is routed to n64, not a segment).
    assert nat64().render(tmp_path)["rules.nft"] == (
        "table ip v6lab_nat64 {\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        "    ip saddr 10.255.64.0/24 snat to 11.64.0.152-11.64.0.159\n"
        "  }\n"
        "}\n")


def test_nat64_setup_script(tmp_path):
    assert nat64().setup_script(tmp_path).splitlines() == [
        "set -e",
        f"tayga --mktun -c {tmp_path}/tayga.conf",
        "ip link set nat64 up",
        "ip -4 route replace 10.255.64.0/24 dev nat64",
        "ip -6 route replace 64:ff9b::/96 dev nat64",
        "ip -6 route replace 2001:db8:0:6::1/128 dev nat64",
        f"nft -f {tmp_path}/rules.nft",
    ]


def test_nat64_commands(tmp_path):
    daemon = nat64()
    assert daemon.check_command(tmp_path) == [
        "sh", "-c", f"nft -c -f {tmp_path}/rules.nft && unshare --net tayga --mktun -c {tmp_path}/tayga.conf "
        ">/dev/null"]
    assert daemon.start_command(tmp_path) == [
        "tayga", "--nodetach", "-c", str(tmp_path / "tayga.conf"), "--pidfile", str(tmp_path / "tayga.pid")]
    assert (daemon.NAME, daemon.BINARIES, daemon.CHECK_IN_NODE) == ("nat64", ("tayga", "nft", "unshare"), True)
    assert repr(daemon) == "nat64@n64"


def test_nat64_network_specific_prefix_and_other_internal_pool(tmp_path):
    daemon = Nat64("n64", "2001:db8:64::/96", "198.51.100.0/30", "2001:db8:0:9::/64", internal="10.9.0.0/16")
    assert daemon.render(tmp_path)["tayga.conf"].splitlines()[:5] == [
        "tun-device nat64", "ipv4-addr 10.9.0.1", "ipv6-addr 2001:db8:0:9::1", "prefix 2001:db8:64::/96",
        "dynamic-pool 10.9.0.0/16"]
    assert "    ip saddr 10.9.0.0/16 snat to 198.51.100.0-198.51.100.3\n" in daemon.render(tmp_path)["rules.nft"]


# --- 464XLAT CLAT --------------------------------------------------------------------


def clat_on_ue():
    return Clat("d2u1", "64:ff9b::/96", f"{CLAT_HOST}/32", f"{CLAT_D2U1}/128", "d2u1-d2r", "2001:db8:200:4::1")


def clat_on_cpe():
    return Clat("d3f1", "64:ff9b::/96", "192.168.4.0/24", "2001:db8:301:2::/120")


MSS_RT_MTU = (
    "table inet v6lab_clat {\n"
    "  chain forward {\n"
    "    type filter hook forward priority mangle; policy accept;\n"
    "    meta nfproto ipv4 tcp flags syn tcp option maxseg size set rt mtu\n"
    "  }\n"
    "}\n")


def test_clat_constants():
    # RFC 7335: 192.0.0.0/29 is the IPv4 service continuity prefix.
    assert (CLAT_HOST, CLAT_TAYGA) == (ip("192.0.0.1"), ip("192.0.0.2"))
    assert CLAT_HOST in ipaddress.ip_network("192.0.0.0/29") and CLAT_TAYGA in ipaddress.ip_network("192.0.0.0/29")
    # TAYGA's IPv4 -> IPv6 adds 20 bytes (a 40-byte header for a 20-byte one): 1480 + 20 = 1500.
    assert CLAT_MTU == 1480


def test_clat_on_a_ue_renders_a_one_address_map(tmp_path):
    daemon = clat_on_ue()
    assert daemon.on_host
    files = daemon.render(tmp_path)
    assert files["tayga.conf"].splitlines() == [
        "tun-device clat",
        "ipv4-addr 192.0.0.2",
        "prefix 64:ff9b::/96",
        f"map 192.0.0.1/32 {CLAT_D2U1}/128",
        f"data-dir {tmp_path}",
    ]
    assert files["rules.nft"] == MSS_RT_MTU


def test_clat_on_a_ue_setup_script(tmp_path):
    assert clat_on_ue().setup_script(tmp_path).splitlines() == [
        "set -e",
        f"tayga --mktun -c {tmp_path}/tayga.conf",
        "ip link set clat up mtu 1480",
        f"ip -6 route replace {CLAT_D2U1}/128 dev clat",
        "ip -4 addr add 192.0.0.1/29 dev clat",
        "ip -4 route replace default dev clat src 192.0.0.1",
        "echo 2 > /proc/sys/net/ipv6/conf/d2u1-d2r/accept_ra",
        "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
        "ip -6 route replace default via 2001:db8:200:4::1 dev d2u1-d2r",
        "echo 1 > /proc/sys/net/ipv6/conf/d2u1-d2r/proxy_ndp",
        f"ip -6 neigh replace proxy {CLAT_D2U1} dev d2u1-d2r",
        f"nft -f {tmp_path}/rules.nft",
    ]


def test_clat_on_a_cpe_maps_its_lan_into_a_120(tmp_path):
    daemon = clat_on_cpe()
    assert not daemon.on_host
    files = daemon.render(tmp_path)
    assert files["tayga.conf"].splitlines() == [
        "tun-device clat",
        "ipv4-addr 192.0.0.2",
        "prefix 64:ff9b::/96",
        "map 192.168.4.0/24 2001:db8:301:2::/120",
        f"data-dir {tmp_path}",
    ]
    assert files["rules.nft"] == MSS_RT_MTU


def test_clat_on_a_cpe_setup_script(tmp_path):
    # No host address, no proxy NDP: the CPE routes its LAN's IPv4 into the CLAT.
    assert clat_on_cpe().setup_script(tmp_path).splitlines() == [
        "set -e",
        f"tayga --mktun -c {tmp_path}/tayga.conf",
        "ip link set clat up mtu 1480",
        "ip -6 route replace 2001:db8:301:2::/120 dev clat",
        "ip -4 route replace default dev clat",
        f"nft -f {tmp_path}/rules.nft",
    ]


def test_clat_commands(tmp_path):
    for daemon in (clat_on_ue(), clat_on_cpe()):
        assert daemon.check_command(tmp_path) == nat64().check_command(tmp_path)
        assert daemon.start_command(tmp_path) == [
            "tayga", "--nodetach", "-c", str(tmp_path / "tayga.conf"), "--pidfile", str(tmp_path / "tayga.pid")]
        assert (daemon.NAME, daemon.BINARIES, daemon.CHECK_IN_NODE) == ("clat", ("tayga", "nft", "unshare"), True)
    assert repr(clat_on_cpe()) == "clat@d3f1"


@pytest.mark.parametrize("ipv4, ipv6", [
    ("192.168.4.0/24", "2001:db8:301:2::/64"),     # 256 addresses into 2**64
    ("192.0.0.1/32", "2001:db8:301:2::/120"),      # 1 into 256
])
def test_clat_map_of_unequal_sizes_is_refused(ipv4, ipv6):
    with pytest.raises(DaemonError) as error:
        Clat("d3f1", "64:ff9b::/96", ipv4, ipv6)
    assert str(error.value) == f"d3f1: CLAT map {ipv4} -> {ipv6}: the two must hold as many addresses"


# --- DS-Lite ---------------------------------------------------------------------------


def b4():
    return DsLiteB4("d2f1", "d2f1-d2o1", "d2f1-d2f1h1", "2001:db8:200:3::2", "2001:db8:201:1::1",
                    "2001:db8:0:5::1")


def aftr():
    return DsLiteAftr("aftr", "aftr-c3", "2001:db8:0:5::1", "11.64.0.144/29",
                      [("2001:db8:201:1::1", "192.168.2.0/24"), ("2001:db8:201:101::1", "192.168.3.0/24")])


MSS_1420 = (
    "  chain forward {\n"
    "    type filter hook forward priority mangle; policy accept;\n"
    "    meta nfproto ipv4 tcp flags syn tcp option maxseg size set 1420\n"
    "  }\n"
    "}\n")


def test_softwire_mss():
    # 1500 - 40 (the softwire's IPv6 header) - 20 (IPv4) - 20 (TCP) = 1420.
    assert SOFTWIRE_MSS == 1500 - 40 - 20 - 20 == 1420


def test_b4_render(tmp_path):
    assert b4().render(tmp_path) == {"rules.nft": "table inet v6lab_b4 {\n" + MSS_1420}


def test_b4_setup_script(tmp_path):
    # Out: the LAN's IPv4 first crosses the CPE's own veth pair (table 4 for what comes
    # in from the LAN), whose sending end b4in computes checksums, then goes into the
    # softwire to the AFTR's endpoint, from the WAN address. The WAN keeps its offloads.
    # In: the B4's own endpoint takes the IPv4 packet out (End.DX4) onto the LAN.
    assert b4().setup_script(tmp_path).splitlines() == [
        "set -e",
        "echo 1 > /proc/sys/net/ipv6/conf/all/seg6_enabled",
        "echo 1 > /proc/sys/net/ipv6/conf/d2f1-d2o1/seg6_enabled",
        "ip link add b4in type veth peer name b4out",
        "ethtool -K b4in tx off >/dev/null",
        "echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter",
        "echo 0 > /proc/sys/net/ipv4/conf/b4out/rp_filter",
        "ip -4 addr add 169.254.4.1/30 dev b4in",
        "ip link set b4in up",
        "ip link set b4out up",
        "ip -4 neigh replace 169.254.4.2 lladdr $(cat /sys/class/net/b4out/address) dev b4in nud permanent",
        "ip -4 rule add iif d2f1-d2f1h1 lookup 4",
        "ip -4 route replace default via 169.254.4.2 dev b4in table 4",
        "ip sr tunsrc set 2001:db8:200:3::2",
        "ip -4 route replace default encap seg6 mode encap.red segs 2001:db8:0:5::1 dev d2f1-d2o1",
        "ip -6 route replace 2001:db8:201:1::1/128 encap seg6local action End.DX4 nh4 0.0.0.0 dev d2f1-d2f1h1",
        f"nft -f {tmp_path}/rules.nft",
    ]


def test_aftr_render_gives_each_b4_its_port_block(tmp_path):
    # B4 0 (192.168.2.0/24): 11.64.0.144 ports 1024-3071; B4 1 (192.168.3.0/24): 3072-5119.
    assert aftr().render(tmp_path) == {"rules.nft": (
        "table ip v6lab_aftr {\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        '    ip saddr 192.168.2.0/24 oifname "aftr-c3" meta l4proto { tcp, udp } snat to 11.64.0.144:1024-3071\n'
        '    ip saddr 192.168.2.0/24 oifname "aftr-c3" snat to 11.64.0.144\n'
        '    ip saddr 192.168.3.0/24 oifname "aftr-c3" meta l4proto { tcp, udp } snat to 11.64.0.144:3072-5119\n'
        '    ip saddr 192.168.3.0/24 oifname "aftr-c3" snat to 11.64.0.144\n'
        "  }\n"
        "}\n"
        "table inet v6lab_aftr_mss {\n" + MSS_1420)}


def test_aftr_setup_script(tmp_path):
    assert aftr().setup_script(tmp_path).splitlines() == [
        "set -e",
        "echo 1 > /proc/sys/net/ipv6/conf/all/seg6_enabled",
        "echo 1 > /proc/sys/net/ipv6/conf/aftr-c3/seg6_enabled",
        "ethtool -K aftr-c3 tx off >/dev/null",
        "ip sr tunsrc set 2001:db8:0:5::1",
        "ip -6 route replace 2001:db8:0:5::1/128 encap seg6local action End.DX4 nh4 0.0.0.0 dev aftr-c3",
        "ip -4 route replace 192.168.2.0/24 encap seg6 mode encap.red segs 2001:db8:201:1::1 dev aftr-c3",
        "ip -4 route replace 192.168.3.0/24 encap seg6 mode encap.red segs 2001:db8:201:101::1 dev aftr-c3",
        f"nft -f {tmp_path}/rules.nft",
    ]


def test_softwire_ends_have_no_process(tmp_path):
    for daemon, name in ((b4(), "b4"), (aftr(), "aftr")):
        assert daemon.start_command(tmp_path) is None
        assert daemon.check_command(tmp_path) == ["nft", "-c", "-f", str(tmp_path / "rules.nft")]
        assert (daemon.NAME, daemon.BINARIES, daemon.CHECK_IN_NODE) == (name, ("ip", "nft", "ethtool"), True)
    assert repr(aftr()) == "aftr@aftr"


def test_aftr_with_more_b4s_than_its_pool_holds(tmp_path):
    # A /32 pool holds 31 B4s; the 32nd has no port block.
    softwires = [(f"2001:db8:1:{n:x}::1", f"10.{n}.0.0/24") for n in range(32)]
    with pytest.raises(TopologyError) as error:
        DsLiteAftr("aftr", "up", "2001:db8::1", "192.0.2.1/32", softwires).render(tmp_path)
    assert "subscriber 32 has no port block" in str(error.value)
    rules = DsLiteAftr("aftr", "up", "2001:db8::1", "192.0.2.1/32", softwires[:31]).render(tmp_path)["rules.nft"]
    assert [line for line in rules.splitlines() if "10.30.0.0/24" in line] == [
        '    ip saddr 10.30.0.0/24 oifname "up" meta l4proto { tcp, udp } snat to 192.0.2.1:62464-64511',
        '    ip saddr 10.30.0.0/24 oifname "up" snat to 192.0.2.1']


# --- carrier-grade NAT ------------------------------------------------------------------------


def test_cgn_render(tmp_path):
    daemon = CarrierGradeNat("d1bng", "11.64.0.160/31", ["100.64.0.2", "100.64.0.3"])
    # Traffic to other shared addresses (subscriber to subscriber) is not translated.
    assert daemon.render(tmp_path) == {"rules.nft": (
        "table ip v6lab_cgn {\n"
        "  chain postrouting {\n"
        "    type nat hook postrouting priority srcnat; policy accept;\n"
        "    ip saddr 100.64.0.2 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } snat to 11.64.0.160:1024-3071\n"
        "    ip saddr 100.64.0.2 ip daddr != 100.64.0.0/10 snat to 11.64.0.160\n"
        "    ip saddr 100.64.0.3 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } snat to 11.64.0.160:3072-5119\n"
        "    ip saddr 100.64.0.3 ip daddr != 100.64.0.0/10 snat to 11.64.0.160\n"
        "  }\n"
        "}\n")}


def test_cgn_32nd_subscriber_moves_to_the_second_address(tmp_path):
    subscribers = [str(ipaddress.ip_address("100.64.0.2") + n) for n in range(32)]   # .2 .. .33
    lines = CarrierGradeNat("d1bng", "11.64.0.160/31", subscribers).render(tmp_path)["rules.nft"].splitlines()
    rules = [line for line in lines if "l4proto" in line]
    assert len(rules) == 32
    assert rules[30] == ("    ip saddr 100.64.0.32 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } "
                         "snat to 11.64.0.160:62464-64511")
    assert rules[31] == ("    ip saddr 100.64.0.33 ip daddr != 100.64.0.0/10 meta l4proto { tcp, udp } "
                         "snat to 11.64.0.161:1024-3071")


def test_cgn_other_shared_space(tmp_path):
    rules = CarrierGradeNat("gw", "198.51.100.8/31", ["10.0.0.2"], shared="10.0.0.0/8").render(tmp_path)
    assert "    ip saddr 10.0.0.2 ip daddr != 10.0.0.0/8 snat to 198.51.100.8\n" in rules["rules.nft"]


def test_cgn_with_more_subscribers_than_its_pool_holds(tmp_path):
    subscribers = [str(ipaddress.ip_address("100.64.0.2") + n) for n in range(63)]
    with pytest.raises(TopologyError) as error:
        CarrierGradeNat("d1bng", "11.64.0.160/31", subscribers).render(tmp_path)
    assert str(error.value).startswith("NAT pool 11.64.0.160/31 holds 62 subscribers of 2048 ports; subscriber 63 ")


def test_cgn_commands(tmp_path):
    daemon = CarrierGradeNat("d1bng", "11.64.0.160/31", ["100.64.0.2"])
    assert daemon.setup_script(tmp_path) == f"set -e\nnft -f {tmp_path}/rules.nft\n"
    assert daemon.start_command(tmp_path) is None
    assert daemon.check_command(tmp_path) == ["nft", "-c", "-f", str(tmp_path / "rules.nft")]
    assert (daemon.NAME, daemon.BINARIES, daemon.CHECK_IN_NODE) == ("cgn", ("nft",), True)
    assert repr(daemon) == "cgn@d1bng"


# --- DNS64 ------------------------------------------------------------------------------------


RECORDS = {"shop": ["11.200.0.3"], "video": ["11.200.0.2", "3fff:0:0:1::2"]}


def dns64():
    return DnsServer("n64", "city.test", ["2001:db8:0:4::2"], RECORDS, dns64_prefix="64:ff9b::/96")


def test_dns64_modules_and_prefix(tmp_path):
    conf = dns64().render(tmp_path)["unbound.conf"].splitlines()
    start = conf.index("    access-control: ::/0 allow")
    assert conf[start + 1:start + 4] == [
        '    module-config: "dns64 iterator"',
        "    dns64-prefix: 64:ff9b::/96",
        '    local-zone: "test." nodefault',
    ]
    assert [line for line in conf if "interface:" in line] == ["    interface: 2001:db8:0:4::2"]


def test_dns64_answers_through_its_modules_not_from_the_zone(tmp_path):
    conf = dns64().render(tmp_path)["unbound.conf"].splitlines()
    start = conf.index("auth-zone:")
    assert conf[start:start + 5] == [
        "auth-zone:",
        '    name: "city.test."',
        f'    zonefile: "{tmp_path / "city.test.zone"}"',
        "    for-downstream: no",
        "    for-upstream: yes",
    ]


def test_dns64_zone_holds_only_the_real_records(tmp_path):
    # Nothing synthesized in the file: shop keeps its one A record.
    zone = dns64().render(tmp_path)["city.test.zone"].splitlines()
    assert zone[4:] == ["shop IN A 11.200.0.3", "video IN A 11.200.0.2", "video IN AAAA 3fff:0:0:1::2"]


def test_plain_dns_server_has_no_dns64(tmp_path):
    server = DnsServer("i1v1", "city.test", ["2001:db8:400:3::2"], RECORDS)
    conf = server.render(tmp_path)["unbound.conf"].splitlines()
    assert '    module-config: "iterator"' in conf
    assert not any("dns64" in line for line in conf)
    assert "    for-downstream: yes" in conf
    assert server.NAME == "unbound"


def test_dns64_name_is_its_own(tmp_path):
    server = dns64()
    assert server.NAME == "dns64" and repr(server) == "dns64@n64"
    # The instance is renamed, not the class: a later plain server is still unbound.
    assert DnsServer.NAME == "unbound"
    assert server.check_command(tmp_path) == ["unbound-checkconf", str(tmp_path / "unbound.conf")]
    assert server.start_command(tmp_path) == ["unbound", "-d", "-c", str(tmp_path / "unbound.conf")]


def test_unbound_checkconf_accepts_the_dns64(tmp_path):
    # The same dry run as for the city's DNS (tests/unit/test_daemons.py): no network, no root needed.
    assert shutil.which("unbound-checkconf") is not None, "install unbound (sudo scripts/setup.sh)"
    server = dns64()
    server.write_config(tmp_path)
    result = subprocess.run(server.check_command(tmp_path), capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout.strip()) == (
        0, f"unbound-checkconf: no errors in {tmp_path / 'unbound.conf'}"), result.stderr


# --- router advertisements with a resolver per link ------------------------------------------------


def test_radvd_one_link(tmp_path):
    daemon = RouterAdvertisements("d1gw", [("d1gw-d1r", "2001:db8:100:4::/64", ["2001:db8:0:4::2"])],
                                  "city.test")
    assert daemon.render(tmp_path) == {"radvd.conf": (
        "interface d1gw-d1r {\n"
        "    AdvSendAdvert on;\n"
        "    MinRtrAdvInterval 3;\n"
        "    MaxRtrAdvInterval 10;\n"
        "    prefix 2001:db8:100:4::/64 {\n"
        "        AdvOnLink on;\n"
        "        AdvAutonomous on;\n"
        "    };\n"
        # RFC 8106 5.1: lifetimes of 3 x MaxRtrAdvInterval.
        "    RDNSS 2001:db8:0:4::2 {\n"
        "        AdvRDNSSLifetime 30;\n"
        "    };\n"
        "    DNSSL city.test {\n"
        "        AdvDNSSLLifetime 30;\n"
        "    };\n"
        "};\n")}


def test_radvd_resolver_per_link(tmp_path):
    # An IPv6-only LAN is told of the DNS64, a dual-stack LAN of the city's DNS, and a
    # link without resolvers gets no RDNSS option (and, with no search domain, no DNSSL).
    daemon = RouterAdvertisements("d3f1", [
        ("lan6", "2001:db8:301::/64", ["2001:db8:0:4::2"]),
        ("lan", "2001:db8:101::/64", ["2001:db8:400:3::2", "2001:db8:400:3::5"]),
        ("bare", "2001:db8:9::/64", []),
    ])
    text = daemon.render(tmp_path)["radvd.conf"]
    blocks = text.split("};\ninterface ")
    assert len(blocks) == 3
    assert text.startswith("interface lan6 {\n")
    assert "    RDNSS 2001:db8:0:4::2 {\n        AdvRDNSSLifetime 30;\n    };\n" in blocks[0]
    assert blocks[1].startswith("lan {\n")
    assert "    RDNSS 2001:db8:400:3::2 2001:db8:400:3::5 {\n        AdvRDNSSLifetime 30;\n    };\n" in blocks[1]
    assert blocks[2] == (
        "bare {\n"
        "    AdvSendAdvert on;\n"
        "    MinRtrAdvInterval 3;\n"
        "    MaxRtrAdvInterval 10;\n"
        "    prefix 2001:db8:9::/64 {\n"
        "        AdvOnLink on;\n"
        "        AdvAutonomous on;\n"
        "    };\n"
        "};\n")
    assert "    DNSSL " not in text
    assert text.count("    RDNSS ") == 2


def test_radvd_commands(tmp_path):
    daemon = RouterAdvertisements("d1gw", [])
    assert daemon.check_command(tmp_path) == ["radvd", "--configtest", "--config", str(tmp_path / "radvd.conf")]
    assert daemon.start_command(tmp_path) == [
        "radvd", "--nodaemon", "--config", str(tmp_path / "radvd.conf"),
        "--pidfile", str(tmp_path / "radvd.pid"), "--logmethod", "stderr"]
    assert (daemon.NAME, daemon.BINARIES, daemon.LISTENS, daemon.CHECK_IN_NODE) == ("radvd", ("radvd",), (), False)
    assert daemon.setup_script(tmp_path) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="nft -c and a throwaway namespace need root")
def test_tayga_dry_run_catches_a_bad_configuration(tmp_path):
    # The check is real: TAYGA parses the file while making its TUN device in a
    # namespace of its own; a prefix of a length RFC 6052 does not allow fails it.
    daemon = nat64()
    daemon.write_config(tmp_path)
    assert subprocess.run(daemon.check_command(tmp_path), capture_output=True).returncode == 0
    conf = tmp_path / "tayga.conf"
    conf.write_text(conf.read_text().replace("prefix 64:ff9b::/96", "prefix 64:ff9b::/80"))
    assert subprocess.run(daemon.check_command(tmp_path), capture_output=True).returncode != 0

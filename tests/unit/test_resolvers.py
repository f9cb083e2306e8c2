"""Each node's resolver: what its network gives it (simulator.model.resolvers), the
RDNSS agent's reading of router advertisements (simulator.network.rdnss), and the
CPE's DHCPv6 client script (simulator.network.daemons.dhcpv6)."""

import ipaddress
import socket
import struct
import subprocess
from pathlib import Path

import pytest

from simulator.measurements.connectivity import Cell, expected
from simulator.model.city_model import CityModel
from simulator.model.resolvers import DHCPV6, PLAN, RDNSS, Resolver, render_resolv_conf, resolvers
from simulator.network import rdnss
from simulator.network.daemons.dhcpv6 import CLIENT_SCRIPT, PrefixDelegationClient
from topologies.city import city_graph, load_city
from topologies.spec import Family

# The transition city (its plan: tests/unit/test_city_transition.py): ns.city.test
# is i1v1, the DNS64 is n64 on its link to c2.
DNS4, DNS6, DNS64 = "11.64.0.66", "2001:db8:400:3::2", "2001:db8:0:4::2"
TRANSITION_CITY = Path(__file__).resolve().parents[2] / "topologies" / "cities" / "transition.yaml"


@pytest.fixture(scope="module")
def graph():
    return city_graph(load_city(TRANSITION_CITY))


def test_render_resolv_conf():
    assert render_resolv_conf(["2001:db8::53", "11.64.0.2"], ["city.test"], "from the plan") == (
        "# written by v6lab: from the plan\nnameserver 2001:db8::53\nnameserver 11.64.0.2\nsearch city.test\n")
    # glibc reads three name servers at most (MAXNS): a fourth is not written.
    assert render_resolv_conf(["a", "b", "c", "d"], [], "x").count("nameserver") == 3


def test_what_each_node_of_the_transition_city_is_given(graph, plan):
    given = resolvers(graph, plan, "city.test")
    # Routers from the plan, both families; an IPv4-only CPE and its host over IPv4.
    assert given["c1"] == Resolver((DNS6, DNS4), ("city.test",), PLAN)
    assert given["d1f1"] == given["d1f1h1"] == Resolver((DNS4,), ("city.test",), PLAN)
    # A dual-stack CPE by DHCPv6, its LAN host by its advertisements; a 464XLAT CPE
    # is given the DNS64, and so is its LAN.
    assert given["d1f2"] == Resolver((DNS6,), ("city.test",), DHCPV6)
    assert given["d1f2h1"] == Resolver((DNS6,), ("city.test",), RDNSS)
    assert given["d3f1"] == Resolver((DNS64,), ("city.test",), DHCPV6)
    assert given["d3f1h1"] == Resolver((DNS64,), ("city.test",), RDNSS)
    # UEs: IPv6-only d1 and 464XLAT d2 ask the DNS64; an IPv4-only UE the plan's IPv4 DNS.
    assert given["d1u1"].servers == given["d2u1"].servers == (DNS64,)
    assert given["d3u1"] == Resolver((DNS4,), ("city.test",), PLAN)
    # Switches have no resolver.
    assert "d1r" not in given


def test_an_ipv6_only_host_reaches_an_ipv4_only_name_through_the_dns64(graph, plan, routes):
    # Its resolver is the DNS64, which synthesizes a AAAA for shop (IPv4-only, x2):
    # the IPv6 cell works through the NAT64; an IPv4-only host has no such path.
    cell = Cell("d1u1", "shop.city.test", "x2", Family.IPV6, "http", "shop.city.test", DNS64)
    city = CityModel(graph, plan, routes, "city.test")
    ok, why = expected(city, cell)
    assert ok is True
    assert why.startswith("a AAAA synthesized by the DNS64 (RFC 6147), IPv6 path d1u1 > d1gw")
    assert "NAT64 to IPv4" in why
    plain = Cell("d3u1", "shop.city.test", "x2", Family.IPV6, "http", "shop.city.test", DNS4)
    assert expected(city, plain) == (False, "shop.city.test publishes no AAAA record")


# --- router advertisements, as the kernel hands them over rtnetlink --------------------------------


def _option(kind: int, lifetime: int, body: bytes) -> bytes:
    padded = body + b"\0" * (-(len(body) + 8) % 8)
    return struct.pack("!BBHI", kind, (len(padded) + 8) // 8, 0, lifetime) + padded


def _message(option: bytes, ifindex: int = 3, router: str = "fe80::1") -> bytes:
    header = struct.pack("=BBHiBBHI", socket.AF_INET6, 0, len(option), ifindex, 134, 0, 0, 0)
    attribute = struct.pack("=HH", 20, 1) + ipaddress.IPv6Address(router).packed
    body = header + option + attribute
    return struct.pack("=IHHII", 16 + len(body), 68, 0, 0, 0) + body


RDNSS_OPTION = _option(25, 20, ipaddress.IPv6Address("2001:db8::53").packed)
DNSSL_OPTION = _option(31, 20, b"\x04city\x04test\x00")


def test_rdnss_and_dnssl_options_parsed():
    # Two messages in one read, as the kernel sends one per option.
    found = rdnss.parse_messages(_message(RDNSS_OPTION) + _message(DNSSL_OPTION))
    assert found == [rdnss.NdOption(25, 20, ("2001:db8::53",), 3, "fe80::1"),
                     rdnss.NdOption(31, 20, ("city.test",), 3, "fe80::1")]
    # RFC 8106's layout: 8 octets of header, then the values.
    assert len(RDNSS_OPTION) == 24 and RDNSS_OPTION[1] == 3
    assert len(DNSSL_OPTION) == 24 and DNSSL_OPTION[1] == 3


def test_other_messages_and_options_are_ignored():
    prefix_info = _option(3, 0, b"\0" * 24)
    assert rdnss.parse_messages(_message(prefix_info)) == []
    other = struct.pack("=IHHII", 16, 24, 0, 0, 0)   # RTM_NEWROUTE, empty
    assert rdnss.parse_messages(other) == []


def _address(kind: int, ifindex: int, address: str, flags: int = 0, scope: int = 0, extended: bool = True) -> bytes:
    """An RTM_NEWADDR or RTM_DELADDR message: ifaddrmsg, IFA_ADDRESS, and IFA_FLAGS
    (32 bits) if ``extended``, else the flags in the header only."""
    header = struct.pack("=BBBBI", socket.AF_INET6, 64, flags & 0xFF, scope, ifindex)
    attributes = struct.pack("=HH", 20, 1) + ipaddress.IPv6Address(address).packed
    if extended:
        attributes += struct.pack("=HHI", 8, 8, flags)
    body = header + attributes
    return struct.pack("=IHHII", 16 + len(body), kind, 0, 0, 0) + body


def test_address_messages_parsed():
    tentative = _address(20, 3, "2001:db8:1::10", flags=0x40)
    done = _address(20, 3, "2001:db8:1::10", flags=0x100, extended=False)   # no IFA_FLAGS: the header's 8 bits
    link = _address(20, 3, "fe80::10", scope=253)
    failed = _address(20, 4, "2001:db8:2::10", flags=0x08)
    gone = _address(21, 3, "2001:db8:1::10")
    found = rdnss.parse_address_messages(tentative + done + link + failed + gone)
    assert found == [rdnss.AddressEvent(True, 3, "2001:db8:1::10", False),
                     rdnss.AddressEvent(True, 3, "2001:db8:1::10", True),
                     rdnss.AddressEvent(True, 3, "fe80::10", False),
                     rdnss.AddressEvent(True, 4, "2001:db8:2::10", False),
                     rdnss.AddressEvent(False, 3, "2001:db8:1::10", True)]
    assert rdnss.parse_messages(tentative) == [] and rdnss.parse_address_messages(_message(RDNSS_OPTION)) == []


def test_a_server_is_written_once_the_host_can_reach_it():
    """The RA that starts SLAAC names the server: until the address on that interface
    is past DAD, the host keeps what it had (the file is not rewritten)."""
    host = rdnss.HostResolvers()
    for option in rdnss.parse_messages(_message(RDNSS_OPTION, ifindex=3)):
        host.learn(option, now=0.0)
    assert host.reachable() == []
    for event in rdnss.parse_address_messages(_address(20, 3, "fe80::10", scope=253)
                                              + _address(20, 3, "2001:db8:1::10", flags=0x40)
                                              + _address(20, 4, "2001:db8:2::10")):
        host.address(event)
    assert host.reachable() == []          # tentative on 3; usable only on another interface
    host.address(rdnss.AddressEvent(True, 3, "2001:db8:1::10", True))
    assert host.reachable() == ["2001:db8::53"]
    host.address(rdnss.AddressEvent(False, 3, "2001:db8:1::10", True))
    assert host.reachable() == []
    # Learned with no interface (ifindex 0): usable at once.
    host.learn(rdnss.NdOption(25, 20, ("2001:db8::54",)), now=1.0)
    assert host.reachable() == ["2001:db8::54"]


def test_a_host_learns_then_forgets_when_the_lifetime_ends():
    host = rdnss.HostResolvers()
    host.address(rdnss.AddressEvent(True, 3, "2001:db8:1::10", True))
    for option in rdnss.parse_messages(_message(RDNSS_OPTION) + _message(DNSSL_OPTION)):
        host.learn(option, now=100.0)
    assert host.resolv_conf() == (
        f"# written by v6lab: {RDNSS}, from fe80::1\nnameserver 2001:db8::53\nsearch city.test\n")
    host.expire(119.0)
    assert list(host.servers) == ["2001:db8::53"]
    host.expire(120.0)   # 100 s + a lifetime of 20 s
    assert (host.servers, host.search) == ({}, {})
    # A lifetime of zero withdraws at once (RFC 8106 5.1).
    host.learn(rdnss.NdOption(25, 20, ("2001:db8::53",)), now=0.0)
    host.learn(rdnss.NdOption(25, 0, ("2001:db8::53",)), now=1.0)
    assert host.servers == {}


def test_written_in_place(tmp_path):
    # A bind mount holds the inode: the file is rewritten, never replaced.
    path = tmp_path / "resolv.conf"
    path.write_text("# waiting, a long placeholder line\n")
    inode = path.stat().st_ino
    rdnss.write_in_place(str(path), "nameserver ::1\n")
    assert (path.read_text(), path.stat().st_ino) == ("nameserver ::1\n", inode)


# --- the CPE's DHCPv6 client script ---------------------------------------------------------------


def test_dhclient_script_writes_the_nodes_own_file(tmp_path):
    # Never /etc/resolv.conf by name: outside a v6lab node that is the machine's.
    client = PrefixDelegationClient("d1f1", "d1f1-e0")
    script = client.render(tmp_path / "d1f1" / "dhclient")["dhclient-script"]
    assert f"}} > {tmp_path / 'd1f1' / 'resolv.conf'}\n" in script
    assert "/etc/resolv.conf" not in script


def test_dhclient_script_writes_what_the_reply_carried(tmp_path):
    target = tmp_path / "resolv.conf"
    script = tmp_path / "script"
    script.write_text(CLIENT_SCRIPT.replace("@RESOLV_CONF@", str(target)))
    environment = {"PATH": "/usr/bin:/bin", "reason": "BOUND6", "new_dhcp6_name_servers": "2001:db8::53",
                   "new_dhcp6_domain_search": '"city.test."'}
    subprocess.run(["sh", str(script)], env=environment, check=True)
    assert target.read_text() == ("# written by v6lab: from DHCPv6 (RFC 8415 and RFC 3646), by dhclient\n"
                                  "nameserver 2001:db8::53\nsearch city.test\n")
    # Other reasons (PREINIT6, EXPIRE6, ...) leave the file alone.
    subprocess.run(["sh", str(script)], env={**environment, "reason": "PREINIT6", "new_dhcp6_name_servers": "::9"},
                   check=True)
    assert "nameserver 2001:db8::53" in target.read_text()

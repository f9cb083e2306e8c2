"""The controller re-injects packets with valid TCP/UDP checksums."""

from os_ken.lib.packet import ethernet, icmpv6, ipv4, ipv6, packet, tcp, udp

from controllers.wire import with_valid_checksums


def build(*layers) -> bytes:
    pkt = packet.Packet()
    for layer in layers:
        pkt.add_protocol(layer)
    pkt.serialize()
    return bytes(pkt.data)


def corrupt_l4_checksum(data: bytes, offset: int) -> bytes:
    # What a packet-in carries with checksum offload: the field holds a partial sum.
    return data[:offset] + b"\x12\x34" + data[offset + 2:]


def test_udp_over_ipv6_checksum_recomputed():
    # A DHCPv6 solicit's shape: fe80:: -> ff02::1:2, UDP 546 -> 547.
    good = build(ethernet.ethernet("33:33:00:01:00:02", "02:aa:bb:cc:dd:ee", 0x86DD),
                 ipv6.ipv6(nxt=17, src="fe80::aa:bbff:fecc:ddee", dst="ff02::1:2"),
                 udp.udp(546, 547), b"\x01\x00\x00\x01")
    offset = 14 + 40 + 6   # Ethernet, IPv6 header, then the UDP checksum field
    bad = corrupt_l4_checksum(good, offset)
    assert bad != good
    assert with_valid_checksums(bad) == good


def test_tcp_over_ipv4_checksum_recomputed():
    good = build(ethernet.ethernet("02:00:00:00:00:02", "02:00:00:00:00:01", 0x0800),
                 ipv4.ipv4(proto=6, src="11.64.0.2", dst="11.64.0.26"),
                 tcp.tcp(40000, 80, seq=1, bits=tcp.TCP_SYN, window_size=64240))
    offset = 14 + 20 + 16  # Ethernet, IPv4 header, then the TCP checksum field
    assert with_valid_checksums(corrupt_l4_checksum(good, offset)) == good


def test_other_packets_untouched():
    data = build(ethernet.ethernet("33:33:00:00:00:01", "02:00:00:00:00:01", 0x86DD),
                 ipv6.ipv6(nxt=58, src="fe80::1", dst="ff02::1"),
                 icmpv6.icmpv6(type_=134, data=icmpv6.nd_router_advert()))
    assert with_valid_checksums(data) is data
    assert with_valid_checksums(b"\x00\x01") == b"\x00\x01"

"""simulator.measurements.pcap on captures written byte by byte in the test.

A classic pcap file is a 24-byte header (magic a1b2c3d4 in the writer's byte order,
version 2.4, zone, accuracy, snap length, link type) and, per packet, a 16-byte record
header (seconds, microseconds, captured length, original length) then the frame.
Frames here are Ethernet: destination MAC, source MAC, EtherType (0x8100 adds a
4-byte 802.1Q tag before the real EtherType).
"""

import ipaddress
import struct

import pytest

from simulator.measurements.pcap import Packet, read

MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def pcap(frames, order="<", link_type=1, magic=0xA1B2C3D4):
    data = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, link_type)
    for second, frame in enumerate(frames):
        data += struct.pack(order + "IIII", second, 0, len(frame), len(frame)) + frame
    return data


def ethernet(ethertype, payload, vlan=None):
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return MAC_A + MAC_B + tag + struct.pack("!H", ethertype) + payload


def ipv4(source, destination, protocol, payload, options=b""):
    ihl = 5 + len(options) // 4
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), 1, 0, 64, protocol, 0,
                       ipaddress.IPv4Address(source).packed, ipaddress.IPv4Address(destination).packed
                       ) + options + payload


def ipv6(source, destination, next_header, payload):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64,
                       ipaddress.IPv6Address(source).packed, ipaddress.IPv6Address(destination).packed) + payload


# UDP 5000 -> 53, length 10 (8 + 2), checksum 0, then "hi".
UDP = struct.pack("!HHHH", 5000, 53, 10, 0) + b"hi"
# ICMP echo request, id 1, sequence 1 (checksum left at 0: the reader does not check it).
ECHO = struct.pack("!BBHHH", 8, 0, 0, 1, 1)
# ICMPv6 echo request, id 1, sequence 2.
ECHO6 = struct.pack("!BBHHH", 128, 0, 0, 1, 2)
# An ARP request: hardware 1, protocol 0x0800, sizes 6 and 4, operation 1, then the addresses.
ARP = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + MAC_A + bytes([192, 168, 2, 1]) + bytes(6) + bytes([192, 168, 2, 2])

UDP_FRAME = ethernet(0x0800, ipv4("10.64.2.2", "10.64.3.3", 17, UDP))
# A DS-Lite softwire: the B4 (2001:db8:201::1) to the AFTR (2001:db8:0:5::1), next
# header 4, carrying the LAN host's IPv4 echo to the portal.
INNER = ipv4("192.168.2.2", "11.64.0.67", 1, ECHO)
SOFTWIRE_FRAME = ethernet(0x86DD, ipv6("2001:db8:201::1", "2001:db8:0:5::1", 4, INNER))
TAGGED_FRAME = ethernet(0x86DD, ipv6("2001:db8:100::2", "64:ff9b::b40:43", 58, ECHO6), vlan=10)
ARP_FRAME = ethernet(0x0806, ARP)

UDP_PACKET = Packet(4, ipaddress.IPv4Address("10.64.2.2"), ipaddress.IPv4Address("10.64.3.3"), 17, UDP)
INNER_PACKET = Packet(4, ipaddress.IPv4Address("192.168.2.2"), ipaddress.IPv4Address("11.64.0.67"), 1, ECHO)
SOFTWIRE_PACKET = Packet(6, ipaddress.IPv6Address("2001:db8:201::1"), ipaddress.IPv6Address("2001:db8:0:5::1"), 4,
                         INNER, INNER_PACKET)
TAGGED_PACKET = Packet(6, ipaddress.IPv6Address("2001:db8:100::2"), ipaddress.IPv6Address("64:ff9b::b40:43"), 58,
                       ECHO6)


def write(tmp_path, data, name="capture.pcap"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_frames_built_by_hand():
    # Header lengths, to be sure the helpers build what the docstring says.
    assert len(UDP_FRAME) == 14 + 20 + 10
    assert len(SOFTWIRE_FRAME) == 14 + 40 + 20 + 8
    assert len(TAGGED_FRAME) == 18 + 40 + 8
    assert UDP_FRAME[12:14] == b"\x08\x00"
    assert TAGGED_FRAME[12:18] == b"\x81\x00\x00\x0a\x86\xdd"
    assert len(pcap([])) == 24


@pytest.mark.parametrize("order", ["<", ">"])
def test_every_kind_of_frame(tmp_path, order):
    path = write(tmp_path, pcap([UDP_FRAME, ARP_FRAME, SOFTWIRE_FRAME, TAGGED_FRAME], order))
    # Either byte order gives the same packets; the ARP frame is skipped.
    assert read(path) == [UDP_PACKET, SOFTWIRE_PACKET, TAGGED_PACKET]


def test_ipv4_udp_fields(tmp_path):
    (packet,) = read(write(tmp_path, pcap([UDP_FRAME])))
    assert packet.version == 4
    assert packet.source == ipaddress.IPv4Address("10.64.2.2")
    assert packet.destination == ipaddress.IPv4Address("10.64.3.3")
    assert packet.protocol == 17
    # The payload starts at the UDP header: ports 5000 (0x1388) and 53.
    assert packet.payload == b"\x13\x88\x00\x35\x00\x0a\x00\x00hi"
    assert packet.inner is None


def test_ipv4_options_are_skipped(tmp_path):
    # IHL 6: a 24-byte header, one 4-byte option (no-operation x3, end of list).
    frame = ethernet(0x0800, ipv4("10.0.0.1", "10.0.0.2", 17, UDP, options=b"\x01\x01\x01\x00"))
    (packet,) = read(write(tmp_path, pcap([frame])))
    assert packet.payload == UDP


def test_softwire_carries_the_ipv4_packet(tmp_path):
    (packet,) = read(write(tmp_path, pcap([SOFTWIRE_FRAME])))
    assert (packet.version, packet.protocol) == (6, 4)
    assert str(packet.source) == "2001:db8:201::1"
    assert str(packet.destination) == "2001:db8:0:5::1"
    assert packet.payload == INNER
    assert packet.inner == INNER_PACKET
    assert (packet.inner.version, str(packet.inner.source), str(packet.inner.destination), packet.inner.protocol) == (
        4, "192.168.2.2", "11.64.0.67", 1)
    assert packet.inner.payload == ECHO
    assert packet.inner.inner is None


def test_ipv6_other_next_header_has_no_inner(tmp_path):
    (packet,) = read(write(tmp_path, pcap([TAGGED_FRAME])))
    assert (packet.version, packet.protocol, packet.inner) == (6, 58, None)
    assert str(packet.destination) == "64:ff9b::b40:43"
    assert packet.payload == ECHO6


def test_vlan_tagged_ipv4(tmp_path):
    (packet,) = read(write(tmp_path, pcap([ethernet(0x0800, ipv4("10.64.2.2", "10.64.3.3", 17, UDP), vlan=20)])))
    assert packet == UDP_PACKET


def test_nanosecond_magic(tmp_path):
    # a1b23c4d: the same format with nanosecond timestamps.
    assert read(write(tmp_path, pcap([UDP_FRAME], "<", magic=0xA1B23C4D))) == [UDP_PACKET]
    assert read(write(tmp_path, pcap([UDP_FRAME], ">", magic=0xA1B23C4D), "big.pcap")) == [UDP_PACKET]


def test_truncated_frames_are_skipped(tmp_path):
    frames = [
        UDP_FRAME[:13],                   # no whole EtherType
        UDP_FRAME[:14 + 19],              # 19 bytes of a 20-byte IPv4 header
        TAGGED_FRAME[:18 + 39],           # 39 bytes of a 40-byte IPv6 header
        TAGGED_FRAME[:16],                # a VLAN tag without the EtherType after it
        UDP_FRAME,
    ]
    assert read(write(tmp_path, pcap(frames))) == [UDP_PACKET]


def test_frame_cut_at_the_snap_length(tmp_path):
    # Captured 14 + 20 + 4 bytes: the IPv4 header whole, 4 bytes of its payload.
    (packet,) = read(write(tmp_path, pcap([UDP_FRAME[:38]])))
    assert packet == Packet(4, ipaddress.IPv4Address("10.64.2.2"), ipaddress.IPv4Address("10.64.3.3"), 17,
                            b"\x13\x88\x00\x35")


def test_file_cut_inside_a_record(tmp_path):
    # The last record says 44 bytes, the file holds 10 of them; the first packet is still read.
    data = pcap([UDP_FRAME, UDP_FRAME])[:-34]
    assert read(write(tmp_path, data)) == [UDP_PACKET]
    # A record header cut short is no record at all.
    assert read(write(tmp_path, pcap([UDP_FRAME]) + b"\x00" * 15, "short.pcap")) == [UDP_PACKET]


def test_header_only(tmp_path):
    assert read(write(tmp_path, pcap([]))) == []


def test_not_a_pcap(tmp_path):
    path = write(tmp_path, b"this is not a capture, but it is longer than 24 bytes", "notes.txt")
    with pytest.raises(ValueError) as error:
        read(path)
    assert str(error.value) == f"{path}: not a pcap capture"


def test_too_short_for_a_header(tmp_path):
    path = write(tmp_path, pcap([])[:23])
    with pytest.raises(ValueError) as error:
        read(path)
    assert str(error.value) == f"{path}: not a pcap capture"


def test_pcapng_is_not_read(tmp_path):
    # A pcapng section header block starts 0a0d0d0a.
    path = write(tmp_path, bytes.fromhex("0a0d0d0a") + bytes(28), "capture.pcapng")
    with pytest.raises(ValueError) as error:
        read(path)
    assert str(error.value) == f"{path}: not a pcap capture"


@pytest.mark.parametrize("order", ["<", ">"])
def test_linux_cooked_capture_refused(tmp_path, order):
    # Link type 113 is Linux "cooked" capture (tcpdump -i any), not Ethernet.
    path = write(tmp_path, pcap([UDP_FRAME], order, link_type=113))
    with pytest.raises(ValueError) as error:
        read(path)
    assert str(error.value) == f"{path}: link type 113, expected Ethernet (1)"


def test_path_given_as_a_string(tmp_path):
    path = write(tmp_path, pcap([UDP_FRAME]))
    assert read(str(path)) == [UDP_PACKET]

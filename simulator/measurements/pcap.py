"""Reading the captures a run writes (libpcap format, Ethernet), enough to check
what the translators put on the wire: IPv6 with next header 4 for a DS-Lite
softwire, IPv4 embedded in NAT64 addresses as RFC 6052 says.

No dependency: the classic pcap format is a 24-byte file header, then a 16-byte
header before each packet (https://wiki.wireshark.org/Development/LibpcapFileFormat).
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from pathlib import Path

ETH_IPV4, ETH_IPV6, ETH_VLAN = 0x0800, 0x86DD, 0x8100
MAGIC = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">", b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}


@dataclass(frozen=True)
class Packet:
    version: int                 # 4 or 6
    source: ipaddress.IPv4Address | ipaddress.IPv6Address
    destination: ipaddress.IPv4Address | ipaddress.IPv6Address
    protocol: int                # IPv4 protocol or IPv6 next header
    payload: bytes               # what follows the (first) IP header, as captured
    inner: Packet | None = None   # the IPv4 packet inside IPv6 next header 4


def _ip(data: bytes) -> Packet | None:
    if len(data) < 20:
        return None
    version = data[0] >> 4
    if version == 4:
        header = (data[0] & 0x0F) * 4
        return Packet(4, ipaddress.IPv4Address(data[12:16]), ipaddress.IPv4Address(data[16:20]), data[9],
                      data[header:])
    if version == 6 and len(data) >= 40:
        payload = data[40:]
        inner = _ip(payload) if data[6] == 4 else None
        return Packet(6, ipaddress.IPv6Address(data[8:24]), ipaddress.IPv6Address(data[24:40]), data[6],
                      payload, inner)
    return None


def read(path: str | Path) -> list[Packet]:
    """The IPv4 and IPv6 packets of an Ethernet capture, in order."""
    data = Path(path).read_bytes()
    if len(data) < 24 or data[:4] not in MAGIC:
        raise ValueError(f"{path}: not a pcap capture")
    order = MAGIC[data[:4]]
    link_type = struct.unpack(order + "I", data[20:24])[0]
    if link_type != 1:
        raise ValueError(f"{path}: link type {link_type}, expected Ethernet (1)")
    packets, offset = [], 24
    while offset + 16 <= len(data):
        captured = struct.unpack(order + "I", data[offset + 8:offset + 12])[0]
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        ethertype, start = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0, 14
        if ethertype == ETH_VLAN and len(frame) >= 18:
            ethertype, start = struct.unpack("!H", frame[16:18])[0], 18
        if ethertype in (ETH_IPV4, ETH_IPV6):
            packet = _ip(frame[start:])
            if packet is not None:
                packets.append(packet)
    return packets

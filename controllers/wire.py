"""Packets the controller sends back out must be valid on the wire.

With Open vSwitch's userspace datapath and checksum offload on the veths, a TCP or
UDP packet that reaches the controller in a packet-in still carries a partial
checksum (only the pseudo-header sum: the sending kernel left the rest to "the
hardware"). Sent back out as it is, the receiver drops it as corrupt: the first
packet of every TCP/UDP exchange, and every flooded UDP packet (DHCPv6 solicits to
ff02::1:2) would be lost. Flows installed in the datapath are not affected.
"""

from __future__ import annotations

import struct

ETH_HEADER = 14
CHECKSUM_OFFSET = {6: 16, 17: 6}   # TCP, UDP


def _ones_complement(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def with_valid_checksums(data: bytes) -> bytes:
    """The same bytes with the TCP or UDP checksum recomputed (RFC 768, RFC 9293,
    RFC 8200 section 8.1); anything else is returned untouched. Only the checksum
    field changes: the payload is never parsed or re-encoded."""
    if len(data) < ETH_HEADER + 20:
        return data
    ethertype = struct.unpack("!H", data[12:14])[0]
    ip = ETH_HEADER
    if ethertype == 0x0800:
        header = (data[ip] & 0x0F) * 4
        protocol, total = data[ip + 9], struct.unpack("!H", data[ip + 2:ip + 4])[0]
        l4_start, l4_end = ip + header, ip + total
        pseudo = data[ip + 12:ip + 20] + struct.pack("!BBH", 0, protocol, total - header)
    elif ethertype == 0x86DD and len(data) >= ETH_HEADER + 40:
        # Extension headers are not followed: only TCP or UDP right after the header.
        protocol, length = data[ip + 6], struct.unpack("!H", data[ip + 4:ip + 6])[0]
        l4_start, l4_end = ip + 40, ip + 40 + length
        pseudo = data[ip + 8:ip + 40] + struct.pack("!IxxxB", length, protocol)
    else:
        return data
    offset = CHECKSUM_OFFSET.get(protocol)
    if offset is None or l4_end > len(data) or l4_end - l4_start < offset + 2:
        return data
    segment = bytearray(data[l4_start:l4_end])
    segment[offset:offset + 2] = b"\0\0"
    checksum = _ones_complement(pseudo + bytes(segment))
    if protocol == 17 and checksum == 0:
        checksum = 0xFFFF   # a UDP checksum of zero means "none"
    segment[offset:offset + 2] = struct.pack("!H", checksum)
    return data[:l4_start] + bytes(segment) + data[l4_end:]

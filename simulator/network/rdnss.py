"""Hosts learn their resolver from router advertisements, as real ones do.

A host numbered by SLAAC is told its DNS servers and search list in the same router
advertisement (RDNSS and DNSSL options, RFC 8106). The kernel processes the RA for
the address and hands these options to userspace over rtnetlink
(RTM_NEWNDUSEROPT, group RTNLGRP_ND_USEROPT), which is where rdnssd or
systemd-networkd pick them up and write resolv.conf.

This agent does the same for every host of a run from one process: it opens an
rtnetlink socket inside each host's network namespace (a socket keeps the namespace
it was made in), then writes each host's own resolv.conf (bind-mounted over
/etc/resolv.conf in the host's mount namespace) from the options that arrive,
dropping them when their lifetime ends.

A server is written only once the host can reach it: once the interface the
advertisement came in on holds a global IPv6 address past duplicate address
detection (as a network manager commits a connection's DNS with its addresses). The
same advertisement starts SLAAC and names the server; written at once, the server
would take the host's questions during the second its address is tentative, when
they leave with no usable source address and go unanswered. Found live: a LAN host
whose access gained IPv6 lost two by-name connections that way, while its IPv4
resolver still answered. The agent follows each host's addresses over a second
rtnetlink socket (RTM_NEWADDR, RTM_DELADDR, and a dump at start). rdnssd itself would take two processes per
host and knows no DNSSL (search list), which RFC 8106 hosts use.

    python -m simulator.network.rdnss CONFIG.json

CONFIG: {"hosts": [{"node": ..., "pid": <a process in the host's namespaces>,
"path": <its resolv.conf>}]}. Prints "ready" once every socket is open.
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import os
import select
import socket
import struct
import sys
import time
from dataclasses import dataclass, field

from simulator.model.resolvers import RDNSS as SOURCE
from simulator.model.resolvers import render_resolv_conf

RTM_NEWNDUSEROPT = 68
RTNLGRP_ND_USEROPT = 20
RTM_NEWADDR, RTM_DELADDR, RTM_GETADDR = 20, 21, 22
RTNLGRP_IPV6_IFADDR = 9
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
IFA_ADDRESS, IFA_FLAGS = 1, 8
IFA_F_DADFAILED, IFA_F_TENTATIVE = 0x08, 0x40
RT_SCOPE_UNIVERSE = 0
IFADDRMSG = struct.Struct("=BBBBI")             # family, prefix length, flags, scope, ifindex
NDUSEROPT_SRCADDR = 1
ND_OPT_RDNSS, ND_OPT_DNSSL = 25, 31
CLONE_NEWNET = 0x40000000
NLMSG_HEADER = struct.Struct("=IHHII")
NDUSEROPT_HEADER = struct.Struct("=BBHiBBHI")   # family, pad, opts_len, ifindex, icmp type, code, pad, pad
RTATTR_HEADER = struct.Struct("=HH")


@dataclass(frozen=True)
class NdOption:
    """One DNS option of a router advertisement."""

    kind: int                       # ND_OPT_RDNSS or ND_OPT_DNSSL
    lifetime: int                   # seconds; 0 withdraws, 0xffffffff is infinity
    values: tuple[str, ...]         # addresses (RDNSS) or domain names (DNSSL)
    ifindex: int = 0
    router: str | None = None


def _align(length: int, to: int = 4) -> int:
    return (length + to - 1) // to * to


def _domain_names(data: bytes) -> tuple[str, ...]:
    """The domain names of a DNSSL option, in DNS wire format (RFC 1035 3.1), ended
    by zero padding (RFC 8106 5.2)."""
    names: list[str] = []
    labels: list[str] = []
    index = 0
    while index < len(data):
        length = data[index]
        index += 1
        if length == 0:
            if labels:
                names.append(".".join(labels))
                labels = []
            continue
        labels.append(data[index:index + length].decode("ascii", errors="replace"))
        index += length
    return tuple(names)


def parse_option(option: bytes, ifindex: int = 0, router: str | None = None) -> NdOption | None:
    """An RDNSS or DNSSL option (type, length in 8-octet units, 2 reserved octets, a
    32-bit lifetime, then the values); None for any other option."""
    if len(option) < 8:
        return None
    kind, units = option[0], option[1]
    body = option[8:units * 8] if units else b""
    lifetime = struct.unpack("!I", option[4:8])[0]
    if kind == ND_OPT_RDNSS:
        values = tuple(str(ipaddress.IPv6Address(body[i:i + 16])) for i in range(0, len(body) - 15, 16))
    elif kind == ND_OPT_DNSSL:
        values = _domain_names(body)
    else:
        return None
    return NdOption(kind, lifetime, values, ifindex, router)


def _messages(data: bytes):
    """(type, body) of each rtnetlink message in a buffer, the header taken off."""
    offset = 0
    while offset + NLMSG_HEADER.size <= len(data):
        length, kind, _, _, _ = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HEADER.size:
            return
        yield kind, data[offset + NLMSG_HEADER.size:offset + length]
        offset += _align(length)


def _attributes(data: bytes):
    """(type, payload) of each routing attribute (rtattr) in a buffer."""
    while len(data) >= RTATTR_HEADER.size:
        length, kind = RTATTR_HEADER.unpack_from(data)
        if length < RTATTR_HEADER.size:
            return
        yield kind, data[RTATTR_HEADER.size:length]
        data = data[_align(length):]


def parse_messages(data: bytes) -> list[NdOption]:
    """The DNS options in a buffer of rtnetlink messages (RTM_NEWNDUSEROPT only)."""
    found = []
    for kind, message in _messages(data):
        if kind != RTM_NEWNDUSEROPT or len(message) < NDUSEROPT_HEADER.size:
            continue
        _, _, opts_len, ifindex, _, _, _, _ = NDUSEROPT_HEADER.unpack_from(message)
        options = message[NDUSEROPT_HEADER.size:NDUSEROPT_HEADER.size + opts_len]
        router = None
        for attr_type, payload in _attributes(message[NDUSEROPT_HEADER.size + _align(opts_len):]):
            if attr_type == NDUSEROPT_SRCADDR and len(payload) == 16:
                router = str(ipaddress.IPv6Address(payload))
        position = 0
        while position + 2 <= len(options):
            units = options[position + 1]
            if units == 0:
                break
            option = parse_option(options[position:position + units * 8], ifindex, router)
            if option is not None:
                found.append(option)
            position += units * 8
    return found


@dataclass(frozen=True)
class AddressEvent:
    """An IPv6 address of a host appearing or changing (new), or going (not new)."""

    new: bool
    ifindex: int
    address: str
    usable: bool        # global scope, past duplicate address detection


def parse_address_messages(data: bytes) -> list[AddressEvent]:
    """The IPv6 address messages (RTM_NEWADDR, RTM_DELADDR) in a buffer of rtnetlink
    messages, a dump's or an event's. The flags are IFA_FLAGS' when it is there (32
    bits), else the header's 8."""
    found = []
    for kind, message in _messages(data):
        if kind not in (RTM_NEWADDR, RTM_DELADDR) or len(message) < IFADDRMSG.size:
            continue
        family, _, flags, scope, ifindex = IFADDRMSG.unpack_from(message)
        if family != socket.AF_INET6:
            continue
        address = None
        for attr_type, payload in _attributes(message[IFADDRMSG.size:]):
            if attr_type == IFA_ADDRESS and len(payload) == 16:
                address = str(ipaddress.IPv6Address(payload))
            elif attr_type == IFA_FLAGS and len(payload) == 4:
                flags = struct.unpack("=I", payload)[0]
        if address is None:
            continue
        usable = scope == RT_SCOPE_UNIVERSE and not flags & (IFA_F_TENTATIVE | IFA_F_DADFAILED)
        found.append(AddressEvent(kind == RTM_NEWADDR, ifindex, address, bool(usable)))
    return found


@dataclass
class HostResolvers:
    """What one host has been told, each value with when it expires (RFC 8106 5.1:
    an option's lifetime; an option with lifetime 0 withdraws its values), and the
    interface it came in on; the host's usable global IPv6 addresses by interface."""

    servers: dict[str, float] = field(default_factory=dict)
    search: dict[str, float] = field(default_factory=dict)
    router: str | None = None
    arrived_on: dict[str, int] = field(default_factory=dict)
    addresses: dict[tuple[int, str], bool] = field(default_factory=dict)

    def learn(self, option: NdOption, now: float) -> None:
        table = self.servers if option.kind == ND_OPT_RDNSS else self.search
        for value in option.values:
            if option.lifetime == 0:
                table.pop(value, None)
            else:
                table[value] = float("inf") if option.lifetime == 0xFFFFFFFF else now + option.lifetime
                if option.kind == ND_OPT_RDNSS:
                    self.arrived_on[value] = option.ifindex
        if option.router:
            self.router = option.router

    def address(self, event: AddressEvent) -> None:
        if event.new:
            self.addresses[(event.ifindex, event.address)] = event.usable
        else:
            self.addresses.pop((event.ifindex, event.address), None)

    def reachable(self) -> list[str]:
        """The servers the host can use now: learned on an interface that holds a
        usable global address (a server learned with no interface: always)."""
        ready = {ifindex for (ifindex, _), usable in self.addresses.items() if usable}
        return [s for s in self.servers if self.arrived_on.get(s, 0) in ready or not self.arrived_on.get(s, 0)]

    def expire(self, now: float) -> None:
        for table in (self.servers, self.search):
            for value in [v for v, until in table.items() if until <= now]:
                del table[value]

    def resolv_conf(self) -> str:
        origin = f"{SOURCE}, from {self.router}" if self.router else SOURCE
        return render_resolv_conf(self.reachable(), list(self.search), origin)


def write_in_place(path: str, text: str) -> None:
    """Rewrite the file without replacing it: a host sees it through a bind mount,
    which holds the file's inode, so a rename would leave the host the old one."""
    with open(path, "r+" if os.path.exists(path) else "w") as out:
        out.seek(0)
        out.write(text)
        out.truncate()


def _open_in_namespace(libc, pid: int) -> tuple[socket.socket, socket.socket]:
    """Two rtnetlink sockets in the network namespace of ``pid``: one subscribed to ND
    user options, one to IPv6 address changes (which has asked for a dump of the
    addresses already there)."""
    with open(f"/proc/{pid}/ns/net") as target:
        if libc.setns(target.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into the namespace of pid {pid}")
    options = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    options.bind((0, 1 << (RTNLGRP_ND_USEROPT - 1)))
    addresses = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
    addresses.bind((0, 1 << (RTNLGRP_IPV6_IFADDR - 1)))
    request = IFADDRMSG.pack(socket.AF_INET6, 0, 0, 0, 0)
    addresses.send(NLMSG_HEADER.pack(NLMSG_HEADER.size + len(request), RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
                   + request)
    return options, addresses


def main(argv: list[str] | None = None) -> int:
    config = json.loads(open((argv or sys.argv[1:])[0]).read())
    libc = ctypes.CDLL(None, use_errno=True)
    sockets: dict[int, tuple[socket.socket, str, bool]] = {}     # fd -> socket, resolv.conf, of addresses
    with open("/proc/self/ns/net") as home:
        try:
            for host in config["hosts"]:
                options, addresses = _open_in_namespace(libc, host["pid"])
                sockets[options.fileno()] = (options, host["path"], False)
                sockets[addresses.fileno()] = (addresses, host["path"], True)
        finally:
            libc.setns(home.fileno(), CLONE_NEWNET)
    state = {path: HostResolvers() for _, path, _ in sockets.values()}
    written = {path: "" for path in state}
    print("ready", flush=True)
    poller = select.poll()      # not select.select: a city's hosts hold more than 1,024 descriptors
    for fd in sockets:
        poller.register(fd, select.POLLIN)
    while True:
        readable = [fd for fd, _ in poller.poll(1000)]
        now = time.monotonic()
        for fd in readable:
            sock, path, of_addresses = sockets[fd]
            data = sock.recv(65536)
            if of_addresses:
                for event in parse_address_messages(data):
                    state[path].address(event)
                continue
            for option in parse_messages(data):
                state[path].learn(option, now)
        for path, host in state.items():
            host.expire(now)
            # Nothing usable yet: the file stays as it was (a static resolver, or none).
            if host.reachable() or written[path]:
                text = host.resolv_conf()
                if text != written[path]:
                    write_in_place(path, text)
                    written[path] = text


if __name__ == "__main__":
    raise SystemExit(main())

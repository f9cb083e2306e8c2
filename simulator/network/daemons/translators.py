"""The transition mechanisms, one class each, as real data paths inside the nodes.

- ``Nat64``: stateful NAT64 (RFC 6146) = TAYGA's stateless translation (RFC 7915)
  between the NAT64 prefix and a private pool inside the node, then nftables NAT44
  from that pool to the public pool. It is also the PLAT of 464XLAT.
- ``Clat``: the customer-side translator of 464XLAT (RFC 6877): a stateless TAYGA
  on a UE (its one IPv4 address, RFC 7335) or on a CPE (its whole LAN, into a /64 of
  the delegated prefix dedicated to the CLAT).
- ``DsLiteB4`` and ``DsLiteAftr``: DS-Lite (RFC 6333). The softwire is IPv4 directly
  in IPv6 (next header 4). This kernel has no ip6tnl, so the softwire is an SRv6
  encapsulation with one segment and no routing header (``encap.red``), which puts
  the same packet on the wire; ``End.DX4`` takes the IPv4 packet out at the far end.
  The AFTR then translates each B4's LAN to its own port block of the public pool.
- ``CarrierGradeNat``: NAT44 on an access router (RFC 6888) from shared space
  (RFC 6598) to a public pool, with a fixed port block per subscriber (RFC 7422),
  so a public address and port name one subscriber.

Kernel-only mechanisms (DS-Lite, CGN) have no process: ``start_command`` is None and
their state lives in the node's namespace, which goes away with the node. Every
nftables ruleset is checked with ``nft -c`` inside the node before it is applied.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from simulator.network import nat
from simulator.network.daemons.base import Daemon, OfflineCheck
from topologies.errors import DaemonError

# Inside the NAT64 node only: TAYGA gives each IPv6 client an address of this pool,
# which nftables then translates to the public pool. Never routed anywhere.
NAT64_INTERNAL_POOL = ipaddress.IPv4Network("10.255.64.0/24")
# RFC 7335: the IPv4 service continuity prefix, for a UE's CLAT.
CLAT_HOST = ipaddress.IPv4Address("192.0.0.1")
CLAT_TAYGA = ipaddress.IPv4Address("192.0.0.2")
# TAYGA adds 20 bytes going from IPv4 to IPv6: an IPv4 MTU of 1480 fits a 1500 link.
CLAT_MTU = 1480
# DS-Lite adds a 40-byte IPv6 header: TCP segments of 1420 bytes fit a 1500 link.
SOFTWIRE_MSS = 1420


def _mss_clamp(table: str, mss: int | str) -> str:
    """Clamp the MSS of IPv4 TCP (what the softwire or the CLAT carries); native
    IPv6 through the same node keeps its own."""
    return (f"table inet {table} {{\n"
            "  chain forward {\n"
            "    type filter hook forward priority mangle; policy accept;\n"
            f"    meta nfproto ipv4 tcp flags syn tcp option maxseg size set {mss}\n"
            "  }\n"
            "}\n")


class _Translator(Daemon):
    """What the mechanisms share: an nftables file checked in the node."""

    CHECK_IN_NODE = True
    BINARIES: tuple[str, ...] = ("nft",)
    RULES = "rules.nft"

    def check_command(self, folder: Path) -> list[str]:
        return ["nft", "-c", "-f", str(folder / self.RULES)]

    def offline_checks(self, folder: Path) -> list[OfflineCheck]:
        # The rules name interfaces only by name (oifname), so any namespace will do.
        return [OfflineCheck("nft -c", ("nft", "-c", "-f", str(folder / self.RULES)), namespace=True)]


class _Tayga(_Translator):
    """A TAYGA translator. TAYGA has no dry-run option, so the check has it create its
    TUN device in a throwaway network namespace: that parses the whole configuration
    (prefix, map, pool) and touches nothing the run keeps."""

    BINARIES = ("tayga", "nft", "unshare")

    def check_command(self, folder: Path) -> list[str]:
        return ["sh", "-c", f"nft -c -f {folder / self.RULES} && "
                f"unshare --net tayga --mktun -c {folder / 'tayga.conf'} >/dev/null"]

    def offline_checks(self, folder: Path) -> list[OfflineCheck]:
        return super().offline_checks(folder) + [OfflineCheck(
            "tayga --mktun", ("tayga", "--mktun", "-c", str(folder / "tayga.conf")), namespace=True, root=True)]

    def start_command(self, folder: Path) -> list[str]:
        return ["tayga", "--nodetach", "-c", str(folder / "tayga.conf"), "--pidfile", str(folder / "tayga.pid")]


class Nat64(_Tayga):
    NAME = "nat64"
    DEVICE = "nat64"

    def __init__(self, node: str, prefix, pool, endpoint, internal=NAT64_INTERNAL_POOL):
        """``prefix``: the NAT64 prefix; ``pool``: public IPv4 pool; ``endpoint``: the
        node's own /64 (TAYGA's IPv6 address is its first address)."""
        super().__init__(node)
        self.prefix = ipaddress.IPv6Network(prefix)
        self.pool = ipaddress.IPv4Network(pool)
        self.endpoint = ipaddress.IPv6Network(endpoint)
        self.internal = ipaddress.IPv4Network(internal)

    def render(self, folder: Path) -> dict[str, str]:
        conf = (f"tun-device {self.DEVICE}\n"
                f"ipv4-addr {self.internal[1]}\n"
                f"ipv6-addr {self.endpoint[1]}\n"
                f"prefix {self.prefix}\n"
                f"dynamic-pool {self.internal}\n"
                f"data-dir {folder}\n")
        rules = nat.render(nat.NatTable("v6lab_nat64", (nat.pool_snat(self.internal, self.pool),)))
        return {"tayga.conf": conf, self.RULES: rules}

    def setup_script(self, folder: Path) -> str:
        return "\n".join([
            "set -e",
            f"tayga --mktun -c {folder}/tayga.conf",
            f"ip link set {self.DEVICE} up",
            f"ip -4 route replace {self.internal} dev {self.DEVICE}",
            f"ip -6 route replace {self.prefix} dev {self.DEVICE}",
            f"ip -6 route replace {self.endpoint[1]}/128 dev {self.DEVICE}",
            f"nft -f {folder}/{self.RULES}",
        ]) + "\n"

    def stop_script(self, folder: Path) -> str:
        # The routes go with the device.
        return f"ip link del {self.DEVICE}\nnft delete table ip v6lab_nat64\n"


class Clat(_Tayga):
    """464XLAT's CLAT. On a UE (``interface`` given): the UE's IPv4 address is
    192.0.0.1 on the CLAT device, mapped to one IPv6 address of its /64 that the UE
    answers neighbour solicitations for. On a CPE: the LAN's /24 maps into a /120."""

    NAME = "clat"
    DEPENDS = ("nat64",)   # the PLAT
    DEVICE = "clat"

    def __init__(self, node: str, plat_prefix, ipv4, ipv6, interface: str | None = None,
                 gateway=None):
        super().__init__(node)
        self.plat_prefix = ipaddress.IPv6Network(plat_prefix)
        self.ipv4 = ipaddress.IPv4Network(ipv4)
        self.ipv6 = ipaddress.IPv6Network(ipv6)
        if 32 - self.ipv4.prefixlen != 128 - self.ipv6.prefixlen:
            raise DaemonError(f"{node}: CLAT map {self.ipv4} -> {self.ipv6}: the two must hold as many addresses")
        self.interface, self.gateway = interface, gateway

    @property
    def on_host(self) -> bool:
        return self.interface is not None

    def render(self, folder: Path) -> dict[str, str]:
        conf = (f"tun-device {self.DEVICE}\n"
                f"ipv4-addr {CLAT_TAYGA}\n"
                f"prefix {self.plat_prefix}\n"
                f"map {self.ipv4} {self.ipv6}\n"
                f"data-dir {folder}\n")
        # Traffic leaving through the CLAT fits its smaller IPv4 MTU.
        return {"tayga.conf": conf, self.RULES: _mss_clamp("v6lab_clat", "rt mtu")}

    def setup_script(self, folder: Path) -> str:
        lines = ["set -e", f"tayga --mktun -c {folder}/tayga.conf",
                 f"ip link set {self.DEVICE} up mtu {CLAT_MTU}",
                 f"ip -6 route replace {self.ipv6} dev {self.DEVICE}"]
        if self.on_host:
            conf = f"/proc/sys/net/ipv6/conf/{self.interface}"
            lines += [
                f"ip -4 addr add {CLAT_HOST}/29 dev {self.DEVICE}",
                f"ip -4 route replace default dev {self.DEVICE} src {CLAT_HOST}",
                # The UE now forwards between its interface and the CLAT device. With
                # forwarding on, the kernel drops routes learned from advertisements,
                # so the default route is set by hand and SLAAC stays on (accept_ra 2).
                f"echo 2 > {conf}/accept_ra",
                "echo 1 > /proc/sys/net/ipv6/conf/all/forwarding",
                f"ip -6 route replace default via {self.gateway} dev {self.interface}",
                f"echo 1 > {conf}/proxy_ndp",
                f"ip -6 neigh replace proxy {self.ipv6.network_address} dev {self.interface}",
            ]
        else:
            lines.append(f"ip -4 route replace default dev {self.DEVICE}")
        lines.append(f"nft -f {folder}/{self.RULES}")
        return "\n".join(lines) + "\n"

    def stop_script(self, folder: Path) -> str:
        # The CLAT's routes go with its device.
        return f"ip link del {self.DEVICE}\nnft delete table inet v6lab_clat\n"


def _softwire_link(interfaces: list[str], checksums: bool = True) -> list[str]:
    """SRv6 on, and (``checksums``) checksums computed in software on these links: a
    TCP or UDP packet put into the softwire with its checksum left to offload would
    cross the userspace switch, which does not complete checksums inside a tunnel,
    and be dropped at the far end (ping works, TCP and UDP silently do not)."""
    return ([f"echo 1 > /proc/sys/net/ipv6/conf/{name}/seg6_enabled" for name in ["all", *interfaces]]
            + [f"ethtool -K {name} tx off >/dev/null" for name in interfaces if checksums])


class DsLiteB4(_Translator):
    """The B4 on a CPE: its LAN's IPv4 goes into the softwire to the AFTR, and what
    comes back out of the softwire goes onto the LAN. No NAT here (RFC 6333 section 5).

    Checksums: the LAN's IPv4 first crosses a veth pair inside the CPE (``b4in`` ->
    ``b4out``, policy-routed by input interface) whose sending end computes
    checksums in software; only then is it encapsulated. So the softwire carries
    complete checksums, while the WAN link keeps its offloads and native IPv6
    through the CPE its full speed. (The AFTR, a translator only, computes them on
    its uplink.)"""

    NAME = "b4"
    DEPENDS = ("aftr",)
    BINARIES = ("ip", "nft", "ethtool")
    # The CPE-internal hop before the softwire, in link-local IPv4 space (RFC 3927).
    HOP = ipaddress.IPv4Network("169.254.4.0/30")
    TABLE = 4

    def __init__(self, node: str, wan: str, lan: str, source, endpoint, aftr):
        super().__init__(node)
        self.wan, self.lan = wan, lan
        self.source = ipaddress.IPv6Address(source)
        self.endpoint = ipaddress.IPv6Address(endpoint)
        self.aftr = ipaddress.IPv6Address(aftr)

    def render(self, folder: Path) -> dict[str, str]:
        return {self.RULES: _mss_clamp("v6lab_b4", SOFTWIRE_MSS)}

    def setup_script(self, folder: Path) -> str:
        near, far = self.HOP[1], self.HOP[2]
        return "\n".join(["set -e", *_softwire_link([self.wan], checksums=False),
                          "ip link add b4in type veth peer name b4out",
                          "ethtool -K b4in tx off >/dev/null",
                          "echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter",
                          "echo 0 > /proc/sys/net/ipv4/conf/b4out/rp_filter",
                          # b4out has no address of its own: a next hop that were a local
                          # address would never answer ARP from this very namespace.
                          f"ip -4 addr add {near}/{self.HOP.prefixlen} dev b4in",
                          "ip link set b4in up", "ip link set b4out up",
                          f"ip -4 neigh replace {far} lladdr $(cat /sys/class/net/b4out/address) dev b4in "
                          "nud permanent",
                          f"ip -4 rule add iif {self.lan} lookup {self.TABLE}",
                          f"ip -4 route replace default via {far} dev b4in table {self.TABLE}",
                          f"ip sr tunsrc set {self.source}",
                          f"ip -4 route replace default encap seg6 mode encap.red segs {self.aftr} dev {self.wan}",
                          f"ip -6 route replace {self.endpoint}/128 encap seg6local action End.DX4 nh4 0.0.0.0 "
                          f"dev {self.lan}",
                          f"nft -f {folder}/{self.RULES}"]) + "\n"

    def stop_script(self, folder: Path) -> str:
        return "\n".join([f"ip -4 rule del iif {self.lan} lookup {self.TABLE}",
                          f"ip -4 route flush table {self.TABLE}",
                          "ip -4 route del default", f"ip -6 route del {self.endpoint}/128",
                          "ip link del b4in", "nft delete table inet v6lab_b4"]) + "\n"

    def start_command(self, folder: Path) -> None:
        return None


class DsLiteAftr(_Translator):
    """The AFTR: takes IPv4 out of each B4's softwire, translates it to the B4's port
    block of the public pool, and sends replies back into that B4's softwire."""

    NAME = "aftr"
    BINARIES = ("ip", "nft", "ethtool")

    def __init__(self, node: str, uplink: str, endpoint, pool, softwires: list[tuple[str, str]]):
        """``softwires``: (B4 endpoint, B4 LAN /24) for each B4."""
        super().__init__(node)
        self.uplink = uplink
        self.endpoint = ipaddress.IPv6Address(endpoint)
        self.pool = ipaddress.IPv4Network(pool)
        self.softwires = [(ipaddress.IPv6Address(b4), ipaddress.IPv4Network(lan)) for b4, lan in softwires]

    def render(self, folder: Path) -> dict[str, str]:
        rules = tuple(rule for index, (_, lan) in enumerate(self.softwires)
                      for rule in nat.port_block_rules(lan, self.pool, index, oifname=self.uplink))
        return {self.RULES: nat.render(nat.NatTable("v6lab_aftr", rules))
                + _mss_clamp("v6lab_aftr_mss", SOFTWIRE_MSS)}

    def setup_script(self, folder: Path) -> str:
        lines = ["set -e", *_softwire_link([self.uplink]),
                 f"ip sr tunsrc set {self.endpoint}",
                 f"ip -6 route replace {self.endpoint}/128 encap seg6local action End.DX4 nh4 0.0.0.0 "
                 f"dev {self.uplink}"]
        lines += [f"ip -4 route replace {lan} encap seg6 mode encap.red segs {b4} dev {self.uplink}"
                  for b4, lan in self.softwires]
        lines.append(f"nft -f {folder}/{self.RULES}")
        return "\n".join(lines) + "\n"

    def stop_script(self, folder: Path) -> str:
        return "\n".join([f"ip -6 route del {self.endpoint}/128",
                          *[f"ip -4 route del {lan}" for _, lan in self.softwires],
                          "nft delete table ip v6lab_aftr", "nft delete table inet v6lab_aftr_mss"]) + "\n"

    def start_command(self, folder: Path) -> None:
        return None


class CarrierGradeNat(_Translator):
    """NAT44 on a BNG or mobile gateway: each subscriber's shared address gets its
    own port block of the public pool; traffic between subscribers is not translated."""

    NAME = "cgn"

    def __init__(self, node: str, pool, subscribers: list[str], shared="100.64.0.0/10"):
        super().__init__(node)
        self.pool = ipaddress.IPv4Network(pool)
        self.subscribers = [ipaddress.IPv4Address(a) for a in subscribers]
        self.shared = ipaddress.IPv4Network(shared)

    def render(self, folder: Path) -> dict[str, str]:
        rules = tuple(rule for index, address in enumerate(self.subscribers)
                      for rule in nat.port_block_rules(address, self.pool, index, not_destination=self.shared))
        return {self.RULES: nat.render(nat.NatTable("v6lab_cgn", rules))}

    def setup_script(self, folder: Path) -> str:
        return f"set -e\nnft -f {folder}/{self.RULES}\n"

    def stop_script(self, folder: Path) -> str:
        return "nft delete table ip v6lab_cgn\n"

    def start_command(self, folder: Path) -> None:
        return None

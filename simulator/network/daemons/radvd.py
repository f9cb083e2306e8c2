"""Router advertisements: radvd on the router of an access LAN, so subscribers get
their IPv6 address by SLAAC (RFC 4862) and their resolver by RDNSS (RFC 8106), as
they do from a real CPE or mobile gateway."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from simulator.model.resolvers import lan_resolver
from simulator.network.daemons.base import Daemon

MAX_RTR_ADV_INTERVAL_S = 10
DNS_LIFETIME_S = 3 * MAX_RTR_ADV_INTERVAL_S


class RouterAdvertisements(Daemon):
    NAME = "radvd"
    RELOAD = "hup"   # radvd rereads radvd.conf on SIGHUP
    BINARIES = ("radvd",)
    LISTENS = ()   # a raw ICMPv6 socket; readiness is the hosts' addresses

    def __init__(self, node: str, links: list[tuple[str, str, list[str]]], search: str = "",
                 withdrawn: dict[str, list[str]] | None = None):
        """``links``: (interface name, /64 prefix, RDNSS addresses) for each LAN; the
        resolver is per LAN because IPv6-only LANs are told of the DNS64.
        ``withdrawn``: interface -> resolvers announced before and no longer, sent
        with a lifetime of 0 (RFC 8106 section 5.1), so hosts drop them at once
        instead of keeping them until their lifetime runs out."""
        super().__init__(node)
        self.links, self.search = links, search
        self.withdrawn = withdrawn or {}

    def succeeding(self, running: Daemon) -> RouterAdvertisements:
        """This configuration, taking over from ``running`` live: the resolvers it
        announced that this one does not are withdrawn."""
        if not isinstance(running, RouterAdvertisements):
            return self
        before = {interface: dns for interface, _, dns in running.links}
        withdrawn = {interface: [d for d in before.get(interface, []) if d not in dns]
                     for interface, _, dns in self.links}
        return RouterAdvertisements(self.node, self.links, self.search,
                                    {i: dns for i, dns in withdrawn.items() if dns})

    def render(self, folder: Path) -> dict[str, str]:
        blocks = []
        for interface, prefix, dns in self.links:
            lines = [
                f"interface {interface} {{",
                "    AdvSendAdvert on;",
                # Short intervals: an emulated LAN should not wait minutes for a router.
                "    MinRtrAdvInterval 3;",
                f"    MaxRtrAdvInterval {MAX_RTR_ADV_INTERVAL_S};",
                f"    prefix {prefix} {{",
                "        AdvOnLink on;",
                "        AdvAutonomous on;",
                "    };",
            ]
            # RFC 8106 section 5.1: a lifetime of at least 3 x MaxRtrAdvInterval, so
            # that a host keeps its resolver across a lost advertisement (radvd's own
            # default, 2 x, follows RFC 6106, which RFC 8106 replaced).
            if dns:
                lines += [f"    RDNSS {' '.join(dns)} {{", f"        AdvRDNSSLifetime {DNS_LIFETIME_S};", "    };"]
            gone = self.withdrawn.get(interface)
            if gone:
                lines += [f"    RDNSS {' '.join(gone)} {{", "        AdvRDNSSLifetime 0;", "    };"]
            if self.search:
                lines += [f"    DNSSL {self.search} {{", f"        AdvDNSSLLifetime {DNS_LIFETIME_S};", "    };"]
            lines.append("};")
            blocks.append("\n".join(lines))
        return {"radvd.conf": "\n".join(blocks) + "\n"}

    def check_command(self, folder: Path) -> list[str]:
        return ["radvd", "--configtest", "--config", str(folder / "radvd.conf")]

    def start_command(self, folder: Path) -> list[str]:
        return ["radvd", "--nodaemon", "--config", str(folder / "radvd.conf"),
                "--pidfile", str(folder / "radvd.pid"), "--logmethod", "stderr"]


def advertisers(graph, plan, interface_name: Callable[[str, str], str], search: str = "") -> list[RouterAdvertisements]:
    """One radvd for each router that numbers an access LAN, from the address plan,
    each LAN announcing the resolver ``simulator.model.resolvers.lan_resolver`` gives
    it (the DNS64 for IPv6-only and 464XLAT LANs, when there is one)."""
    links: dict[str, list[tuple[str, str, list[str]]]] = {}
    for segment in sorted(plan.segments.values(), key=lambda s: s.name):
        if segment.advertiser:
            peer = next(i.peer for i in plan.interfaces_of(segment.advertiser) if i.segment == segment.name)
            server = lan_resolver(graph, plan, segment)
            links.setdefault(segment.advertiser, []).append(
                (interface_name(segment.advertiser, peer), str(segment.ipv6), [server] if server else []))
    return [RouterAdvertisements(router, router_links, search) for router, router_links in sorted(links.items())]

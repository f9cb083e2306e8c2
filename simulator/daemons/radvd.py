"""Router advertisements: radvd on the router of an access LAN, so subscribers get
their IPv6 address by SLAAC (RFC 4862) and their resolver by RDNSS (RFC 8106), as
they do from a real CPE or mobile gateway."""

from __future__ import annotations

from pathlib import Path

from simulator.daemons.base import Daemon


class RouterAdvertisements(Daemon):
    NAME = "radvd"
    BINARIES = ("radvd",)
    LISTENS = ()   # a raw ICMPv6 socket; readiness is the hosts' addresses

    def __init__(self, node: str, links: list[tuple[str, str, list[str]]], search: str = ""):
        """``links``: (interface name, /64 prefix, RDNSS addresses) for each LAN; the
        resolver is per LAN because IPv6-only LANs are told of the DNS64."""
        super().__init__(node)
        self.links, self.search = links, search

    def render(self, folder: Path) -> dict[str, str]:
        blocks = []
        for interface, prefix, dns in self.links:
            lines = [
                f"interface {interface} {{",
                "    AdvSendAdvert on;",
                # Short intervals: an emulated LAN should not wait minutes for a router.
                "    MinRtrAdvInterval 3;",
                "    MaxRtrAdvInterval 10;",
                f"    prefix {prefix} {{",
                "        AdvOnLink on;",
                "        AdvAutonomous on;",
                "    };",
            ]
            if dns:
                lines += [f"    RDNSS {' '.join(dns)} {{", "    };"]
            if self.search:
                lines += [f"    DNSSL {self.search} {{", "    };"]
            lines.append("};")
            blocks.append("\n".join(lines))
        return {"radvd.conf": "\n".join(blocks) + "\n"}

    def check_command(self, folder: Path) -> list[str]:
        return ["radvd", "--configtest", "--config", str(folder / "radvd.conf")]

    def start_command(self, folder: Path) -> list[str]:
        return ["radvd", "--nodaemon", "--config", str(folder / "radvd.conf"),
                "--pidfile", str(folder / "radvd.pid"), "--logmethod", "stderr"]

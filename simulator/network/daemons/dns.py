"""An authoritative DNS server for the city zone: Unbound serving an ``auth-zone``.

Unbound rather than a resolver's ``local-data`` because DNS64 (``dns64_prefix``:
the same server on the NAT64 node) only synthesizes answers for names that come
from a zone (see ENVIRONMENT.md).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from simulator.network.daemons.base import Daemon


def render_zone(zone: str, records: dict[str, list[str]], serial: int = 1) -> str:
    """A zone file with SOA, NS and the given names (label -> addresses, v4 and v6)."""
    origin = zone.rstrip(".") + "."
    lines = [
        f"$ORIGIN {origin}",
        "$TTL 60",
        f"@ IN SOA ns.{origin} hostmaster.{origin} {serial} 3600 600 86400 60",
        f"@ IN NS ns.{origin}",
    ]
    for label in sorted(records):
        for address in records[label]:
            kind = "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
            lines.append(f"{label} IN {kind} {address}")
    return "\n".join(lines) + "\n"


class DnsServer(Daemon):
    NAME = "unbound"
    RELOAD = "hup"   # Unbound rereads its configuration and zones on SIGHUP
    BINARIES = ("unbound", "unbound-checkconf")
    LISTENS = (("udp", 53), ("tcp", 53))

    def __init__(self, node: str, zone: str, listen: list[str], records: dict[str, list[str]],
                 dns64_prefix: str | None = None):
        """With ``dns64_prefix`` it is a DNS64 (RFC 6147): names with no AAAA record
        get one synthesized from their A record under that prefix (RFC 6052)."""
        super().__init__(node)
        self.zone = zone.rstrip(".")
        self.listen = list(listen)
        self.records = records
        self.dns64_prefix = dns64_prefix
        if dns64_prefix:
            self.NAME = "dns64"

    def reloads(self, running: Daemon) -> bool:
        """Unbound rereads its zones on SIGHUP but keeps the sockets it opened: an
        address it must listen on anew (its node's moved, a DNS64 whose translator
        went to another core) needs a restart. Found live: after such a move the
        reloaded DNS64 still listened on the old address, and refused every query."""
        return isinstance(running, DnsServer) and running.listen == self.listen

    def render(self, folder: Path) -> dict[str, str]:
        zone_file = f"{self.zone}.zone"
        interfaces = "".join(f"    interface: {address}\n" for address in self.listen)
        conf = (
            "server:\n"
            "    verbosity: 1\n"
            f"{interfaces}"
            "    port: 53\n"
            "    do-ip4: yes\n"
            "    do-ip6: yes\n"
            "    do-daemonize: no\n"
            # Runs as root inside an emulated node; no chroot so paths stay plain.
            "    username: \"\"\n"
            "    chroot: \"\"\n"
            f"    directory: \"{folder}\"\n"
            f"    pidfile: \"{folder}/unbound.pid\"\n"
            "    use-syslog: no\n"
            "    logfile: \"\"\n"
            "    num-threads: 1\n"
            "    access-control: 0.0.0.0/0 allow\n"
            "    access-control: ::/0 allow\n"
            + (f"    module-config: \"dns64 iterator\"\n    dns64-prefix: {self.dns64_prefix}\n"
               if self.dns64_prefix else "    module-config: \"iterator\"\n") +
            # test. is one of Unbound's built-in empty zones; let ours through.
            f"    local-zone: \"{self.zone.split('.')[-1]}.\" nodefault\n"
            "auth-zone:\n"
            f"    name: \"{self.zone}.\"\n"
            f"    zonefile: \"{folder / zone_file}\"\n"
            # A DNS64 answers through its modules (dns64, then the zone as an
            # upstream); answered straight from the zone, nothing is synthesized.
            f"    for-downstream: {'no' if self.dns64_prefix else 'yes'}\n"
            "    for-upstream: yes\n"
            "remote-control:\n"
            "    control-enable: no\n"
        )
        return {"unbound.conf": conf, zone_file: render_zone(self.zone, self.records)}

    def check_command(self, folder: Path) -> list[str]:
        return ["unbound-checkconf", str(folder / "unbound.conf")]

    def start_command(self, folder: Path) -> list[str]:
        return ["unbound", "-d", "-c", str(folder / "unbound.conf")]

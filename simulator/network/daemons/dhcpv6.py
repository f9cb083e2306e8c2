"""DHCPv6 prefix delegation (RFC 8415): Kea on the BNG, dhclient on each CPE.

Each CPE is reserved the /56 the address plan gave it, by its DUID-LL (RFC 8415
section 11.4: type 3, hardware type 1, then its WAN MAC), so the exchange on the wire
is real and its outcome is the plan's. The same reply carries the CPE's resolver and
search list (options 23 and 24, RFC 3646): the client's script writes them into the
CPE's own /etc/resolv.conf and does nothing else (the CPE's LAN keeps the /64 the
plan put there), and the lease file says what was delegated.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from simulator.model.resolvers import delegation_resolver
from simulator.network.daemons.base import Daemon, OfflineCheck
from topologies.errors import DaemonError
from topologies.spec import Role, node_spec


def duid_ll(mac: str) -> str:
    return "00:03:00:01:" + mac.lower()


class PrefixDelegationServer(Daemon):
    NAME = "kea-dhcp6"
    RELOAD = "hup"
    BINARIES = ("kea-dhcp6",)
    LISTENS = (("udp", 547),)
    CHECK_IN_NODE = True   # Kea checks that the interfaces exist

    def __init__(self, node: str, links: list[tuple[str, str, list[tuple[str, str, str | None]]]],
                 search: str = ""):
        """``links``: (interface, its /64, [(client MAC, delegated prefix, the client's resolver)]);
        ``search``: the domain search list every client is given."""
        super().__init__(node)
        self.links = links
        self.search = search

    def _reservation(self, mac: str, prefix: str, resolver: str | None) -> dict:
        reservation: dict = {"duid": duid_ll(mac), "prefixes": [prefix]}
        options = ([{"name": "dns-servers", "data": resolver, "always-send": True}] if resolver else []) + (
            [{"name": "domain-search", "data": self.search, "always-send": True}] if self.search else [])
        if options:
            reservation["option-data"] = options
        return reservation

    def render(self, folder: Path) -> dict[str, str]:
        subnets = []
        for index, (interface, subnet, clients) in enumerate(self.links, start=1):
            subnets.append({
                "id": index, "subnet": subnet, "interface": interface,
                "reservations": [self._reservation(*client) for client in clients],
            })
        config = {"Dhcp6": {
            "interfaces-config": {"interfaces": [interface for interface, _, _ in self.links]},
            "lease-database": {"type": "memfile", "persist": False},
            # A server DUID kept in memory: nothing written under /var/lib/kea.
            "server-id": {"type": "LL", "persist": False},
            "host-reservation-identifiers": ["duid"],
            # The BNG is the segment's only server: preference 255 tells the client
            # to go ahead with it at once instead of collecting advertisements for
            # a second (RFC 8415 section 18.2.1).
            "option-data": [{"name": "preference", "data": "255", "always-send": True}],
            "subnet6": subnets,
            "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": "stdout"}], "severity": "WARN"}],
        }}
        return {"kea-dhcp6.json": json.dumps(config, indent=2) + "\n"}

    def environment(self, folder: Path) -> dict[str, str]:
        return {"KEA_LOCKFILE_DIR": str(folder), "KEA_PIDFILE_DIR": str(folder)}

    def check_command(self, folder: Path) -> list[str]:
        return ["kea-dhcp6", "-t", str(folder / "kea-dhcp6.json")]

    def offline_checks(self, folder: Path) -> list[OfflineCheck]:
        return [OfflineCheck("kea-dhcp6 -t", node_only="Kea checks that the BNG's interfaces exist")]

    def start_command(self, folder: Path) -> list[str]:
        return ["kea-dhcp6", "-c", str(folder / "kea-dhcp6.json")]


class PrefixDelegationClient(Daemon):
    NAME = "dhclient"
    # A Solicit sent before the server listens is lost (and retried only after a while).
    DEPENDS = ("kea-dhcp6",)
    BINARIES = ("dhclient",)

    def __init__(self, node: str, interface: str, announced: str | None = None):
        """``announced``: the resolver its server gives it. A live change that changes
        it restarts the client (its configuration differs), which asks again at once:
        a real CPE would learn it at its next renewal, or sooner if the server sent a
        Reconfigure (RFC 8415 section 18.2.11), which Kea does not."""
        super().__init__(node)
        self.interface = interface
        self.announced = announced

    def lease_file(self, folder: Path) -> Path:
        return folder / "dhclient6.leases"

    def render(self, folder: Path) -> dict[str, str]:
        # The node's own resolv.conf, the file the backend bind-mounts over its
        # /etc/resolv.conf: written by path, never through /etc/resolv.conf, which
        # outside a node of v6lab's (a plain script's, say) is the machine's own.
        script = CLIENT_SCRIPT.replace("@RESOLV_CONF@", str(folder.parent / "resolv.conf"))
        return {"dhclient-script": script.replace(
            "@ANNOUNCED@", f"# the server announces {self.announced or 'no resolver'}")}

    def write_config(self, folder: Path) -> Path:
        super().write_config(folder)
        (folder / "dhclient-script").chmod(0o755)
        return folder

    def start_command(self, folder: Path) -> list[str]:
        # -P: ask for a prefix only; -D LL: the DUID the server has the reservation for.
        return ["dhclient", "-6", "-P", "-D", "LL", "-d", "-v", "-lf", str(self.lease_file(folder)),
                "-pf", str(folder / "dhclient.pid"), "-sf", str(folder / "dhclient-script"), self.interface]


# dhclient runs it with the reason and the new_dhcp6_* values of the reply. It
# writes the node's own resolv.conf (@RESOLV_CONF@: the file bind-mounted over the
# node's /etc/resolv.conf; '>' rewrites it in place, so the mount keeps seeing it)
# and nothing else. Search domains come with their trailing dot, which resolv.conf
# does not need.
CLIENT_SCRIPT = """#!/bin/sh
@ANNOUNCED@
case "$reason" in
BOUND6|RENEW6|REBIND6|REBOOT6)
    [ -n "$new_dhcp6_name_servers" ] || exit 0
    {
        echo "# written by v6lab: from DHCPv6 (RFC 8415 and RFC 3646), by dhclient"
        for server in $new_dhcp6_name_servers; do echo "nameserver $server"; done
        search=$(echo "$new_dhcp6_domain_search" | tr -d '"' | sed 's/\\.\\( \\|$\\)/\\1/g')
        [ -z "$search" ] || echo "search $search"
    } > @RESOLV_CONF@
    ;;
esac
exit 0
"""


def delegations(graph, plan, interface_name: Callable[[str, str], str], search: str = ""
                ) -> tuple[list[PrefixDelegationServer], list[tuple[PrefixDelegationClient, str]]]:
    """Kea on each BNG that has CPEs, dhclient on each CPE, from the address plan:
    the servers, and each client with the prefix its lease must hold. Each CPE is
    given the resolver ``simulator.model.resolvers.delegation_resolver`` names."""
    servers: dict[str, dict[str, tuple[str, str, list]]] = {}
    clients = []
    for cpe, prefix in sorted(plan.delegated.items()):
        wan = next(i for i in plan.interfaces_of(cpe) if plan.segments[i.segment].nat_gateway != cpe
                   and plan.segments[i.segment].advertiser != cpe)
        segment = plan.segments[wan.segment]
        server = next((m for m in segment.members if node_spec(graph, m).role is Role.ACCESS_ROUTER), None)
        if server is None:
            raise DaemonError(f"CPE {cpe}: no BNG on its segment {segment.name} to delegate {prefix}")
        peer = next(i.peer for i in plan.interfaces_of(server) if i.segment == segment.name)
        interface = interface_name(server, peer)
        entry = servers.setdefault(server, {}).setdefault(interface, (interface, str(segment.ipv6), []))
        resolver = delegation_resolver(graph, plan, cpe)
        entry[2].append((wan.mac, str(prefix), resolver))
        clients.append((PrefixDelegationClient(cpe, interface_name(cpe, wan.peer), resolver), str(prefix)))
    return ([PrefixDelegationServer(server, list(links.values()), search)
             for server, links in sorted(servers.items())],
            clients)

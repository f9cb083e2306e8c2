"""What bringing an emulated city up waits for, and what makes each node a real host:
duplicate address detection, SLAAC addresses, delegated prefixes, and each node's own
resolv.conf (written from the plan, or learned from DHCPv6 and router
advertisements, the latter by the RDNSS agent, ``simulator.network.rdnss``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import networkx as nx

from simulator.model.address_plan import AddressPlan
from simulator.model.resolvers import PLAN, RDNSS, Resolver
from simulator.network import nodeconfig
from simulator.network.backends.base import CommandResult
from simulator.network.backends.shells import NodeShells, poll, read, some, tail, terminate
from simulator.network.daemons.dhcpv6 import PrefixDelegationClient
from topologies.errors import BackendError
from topologies.spec import Family, Kind, node_spec


class BringUp:
    def __init__(self, graph: nx.Graph, plan: AddressPlan, shells: NodeShells, workdir: Path,
                 interface_name: Callable[[str, str], str], resolvers: Mapping[str, Resolver],
                 dad_timeout_s: float = 10.0, located: Callable[[Path], Path] = lambda path: path,
                 layout: nx.Graph | None = None):
        """``layout``: the network as built, when ``graph`` is one state of a city that
        changes while it runs (its nodes all get a resolv.conf; the RDNSS agent
        listens in every host, which may learn its resolver by RA in a later state)."""
        self.graph, self.plan, self.shells, self.workdir = graph, plan, shells, workdir
        self.layout = graph if layout is None else layout
        self.interface_name = interface_name
        # What each node's own /etc/resolv.conf will say, and who tells it (see
        # simulator.model.resolvers): the plan, DHCPv6 or router advertisements.
        self.resolvers = resolvers
        self.dad_timeout_s = dad_timeout_s
        self.located = located   # where a file of the work folder is read after the run
        self.rdnss: subprocess.Popen[str] | None = None

    def _l3_nodes(self, graph: nx.Graph | None = None) -> list[str]:
        graph = self.graph if graph is None else graph
        return sorted(n for n in graph if node_spec(graph, n).kind is not Kind.SWITCH)

    # --- resolvers ----------------------------------------------------------------------------------

    def resolv_conf_path(self, node: str) -> Path:
        return self.workdir / node / "resolv.conf"

    def write_resolv_confs(self) -> None:
        """The plan's nodes get their final file; the others a placeholder until DHCPv6
        or a router advertisement tells them."""
        for node in self._l3_nodes(self.layout):
            path = self.resolv_conf_path(node)
            path.parent.mkdir(parents=True, exist_ok=True)
            resolver = self.resolvers.get(node)
            path.write_text(resolver.resolv_conf() if resolver is not None and resolver.source == PLAN
                            else f"# written by v6lab: waiting for {resolver.source if resolver else 'its network'}\n")

    def mount_resolv_conf(self, node: str) -> str:
        """The script line that makes the node's file its /etc/resolv.conf, in its own
        mount namespace (Mininet makes one per node)."""
        return f"mount --bind {self.resolv_conf_path(node)} /etc/resolv.conf\n"

    def spawn_rdnss(self) -> None:
        """The agent that writes SLAAC hosts' resolv.conf from their RAs; it listens
        before the first advertisement is sent."""
        changing = self.layout is not self.graph
        hosts = [{"node": n, "pid": self.shells.nodes[n].pid, "path": str(self.resolv_conf_path(n))}
                 for n in self._l3_nodes(self.layout)
                 if (n in self.resolvers and self.resolvers[n].source == RDNSS)
                 or (changing and node_spec(self.layout, n).kind is Kind.HOST)]
        if not hosts:
            return
        config = self.workdir / "rdnss.json"
        config.write_text(json.dumps({"hosts": hosts}))
        with open(self.workdir / "rdnss.log", "w") as log:
            self.rdnss = rdnss = subprocess.Popen(
                [sys.executable, "-m", "simulator.network.rdnss", str(config)],
                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True)
        line = rdnss.stdout.readline().strip() if rdnss.stdout is not None else ""
        if line != "ready":
            rdnss.wait(5)
            raise BackendError(f"the RDNSS agent did not start (exit status {rdnss.returncode}):\n"
                               f"{tail(self.workdir / 'rdnss.log')}")

    def wait_resolvers(self, timeout_s: float = 20.0) -> None:
        """Until every host that learns its resolver from DHCPv6 or an advertisement
        names the one its network announces (the files are read here, no shell round)."""
        def servers(node):
            return tuple(line.split()[1] for line in read(self.resolv_conf_path(node)).splitlines()
                         if line.startswith("nameserver ") and len(line.split()) > 1)

        learning = sorted(n for n in self._l3_nodes() if self.resolvers[n].source != PLAN
                          and self.resolvers[n].servers)
        poll(learning, lambda nodes: [n for n in nodes if servers(n) != self.resolvers[n].servers],
             timeout_s, 0.1,
             lambda nodes: f"{len(nodes)} nodes did not learn their resolver within {timeout_s:g} s: "
             + "; ".join(f"{n} has {', '.join(servers(n)) or 'none'}, its network announces "
                         f"{', '.join(self.resolvers[n].servers)} by {self.resolvers[n].source}" for n in nodes[:5]))

    # --- addresses ----------------------------------------------------------------------------------

    def wait_dad(self, shown: dict[str, CommandResult]) -> None:
        """Wait until no IPv6 address is tentative; a failed DAD is an error.
        ``shown``: each node's `ip -6 -o addr show`, as the address script ended."""
        def tentative(results):
            failed = [f"{n}: {line.split()[3]}" for n, r in results.items()
                      for line in r.stdout.splitlines() if "dadfailed" in line]
            if failed:
                raise BackendError("IPv6 duplicate address detection failed on " + "; ".join(failed)
                                   + ": two interfaces share an address; check the address plan")
            return [n for n, r in results.items() if "tentative" in r.stdout]

        ipv6 = [n for n in self._l3_nodes() if self.plan.addresses(n, Family.IPV6)]
        poll(tentative({n: shown[n] for n in ipv6}),
             lambda nodes: tentative(self.shells.run_in_shells({n: "ip -6 -o addr show\n" for n in nodes})),
             self.dad_timeout_s, 0.1,
             lambda nodes: f"IPv6 addresses still tentative after {self.dad_timeout_s:g} s on {some(nodes)}")

    def wait_link_local(self, interfaces: Mapping[str, list[str]], timeout_s: float = 10.0) -> None:
        """Until each of these interfaces (node -> names), whose IPv6 was just turned
        on, has its link-local address past DAD: a DHCPv6 client binds to it, and
        the kernel makes it a moment after the sysctl."""
        def pending(nodes):
            results = self.shells.run_in_shells({n: "ip -6 -o addr show scope link\n" for n in nodes})
            def ready(node, name):
                return any(f" {name} " in f" {line} " and "tentative" not in line
                           for line in results[node].stdout.splitlines())
            return [n for n in nodes if not all(ready(n, name) for name in interfaces[n])]

        poll(sorted(n for n, names in interfaces.items() if names), pending, timeout_s, 0.1,
             lambda nodes: f"no link-local IPv6 address after {timeout_s:g} s on {some(nodes)}")

    def wait_delegation(self, clients: list[tuple[PrefixDelegationClient, str]], timeout_s: float = 30.0) -> None:
        """Until every CPE's lease holds the prefix the plan reserved for it."""
        poll(
            clients,
            lambda pending: [(c, p) for c, p in pending
                             if f"iaprefix {p} " not in read(c.lease_file(self.workdir / c.node / c.NAME))],
            timeout_s, 0.2,
            lambda pending: f"{len(pending)} CPEs got no delegated prefix within {timeout_s:g} s "
                            f"({some([c.node for c, _ in pending])}); see the kea-dhcp6 and dhclient "
                            f"logs under {self.located(self.workdir)}")

    def wait_slaac(self, configs: Mapping[str, nodeconfig.NodeConfig], timeout_s: float = 20.0) -> None:
        """Until every SLAAC host has the address the plan predicts, past DAD."""
        expected: dict[str, list[tuple[str, str]]] = {}
        for interface in self.plan.interfaces.values():
            if interface.slaac and interface.ipv6 is not None:
                expected.setdefault(interface.node, []).append(
                    (self.interface_name(interface.node, interface.peer), str(interface.ipv6.ip)))
        neigh_defaults = self._neigh_defaults()

        def check(node):
            # Shows the addresses; once every expected one is past DAD (a failed
            # one still reads "tentative"), gives the interfaces their kernel timers
            # back in the same breath (see nodeconfig.BRING_UP_TIMERS).
            done = " && ".join(f"echo \"$out\" | grep \" {name} .* {address}/64 \" | grep -qv tentative"
                               for name, address in expected[node])
            restore = "\n".join(nodeconfig.render_sysctls(nodeconfig.restore_timers(configs[node], neigh_defaults)))
            return f'out=$(ip -6 -o addr show scope global)\necho "$out"\nif {done}; then\n{restore}\nfi\n'

        def still_pending(nodes):
            results = self.shells.run_in_shells({n: check(n) for n in nodes})
            waiting = []
            for node in nodes:
                if not results[node].ok:
                    raise BackendError(f"{node}: checking its SLAAC address failed: {results[node].stderr.strip()}")
                lines = results[node].stdout.splitlines()
                for name, address in expected[node]:
                    line = next((text for text in lines if f" {name} " in f" {text} " and f" {address}/64 " in text),
                                None)
                    # A failed address also reads "tentative": look for the failure first.
                    if line is not None and "dadfailed" in line:
                        raise BackendError(f"{node}: SLAAC address {address} failed duplicate address detection")
                    if line is None or "tentative" in line:
                        waiting.append(node)
                        break
            return waiting

        poll(sorted(expected), still_pending, timeout_s, 0.2,
             lambda nodes: f"{len(nodes)} hosts have no SLAAC address after {timeout_s:g} s "
                           f"({some(nodes)}); see the radvd logs under {self.located(self.workdir)}")

    @staticmethod
    def _neigh_defaults() -> dict[str, str]:
        """The host's neighbour-table defaults, which SLAAC interfaces get back."""
        return {timer.key: read(Path(f"/proc/sys/net/ipv6/neigh/default/{timer.key}")).strip() or "1000"
                for timer in nodeconfig.BRING_UP_TIMERS if timer.kind == "neigh"}

    def stop(self) -> None:
        if self.rdnss is not None:
            terminate(self.rdnss)

"""The emulation backend: a graph becomes a Mininet network of Open vSwitch bridges
and Linux nodes, driven by the project's os-ken controller.

The only module that imports Mininet. Everything it creates carries the run prefix
(see ``simulator.network.cleanup``), and ``stop()`` removes it all, also after an error or
Ctrl-C, and also when called twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import networkx as nx

from simulator.model import transition
from simulator.model.address_plan import AddressPlan, ports
from simulator.model.resolvers import PLAN, RDNSS, resolvers
from simulator.model.routing import Route, compute_routes
from simulator.network import cleanup, nodeconfig
from simulator.network.backends.base import CommandResult
from simulator.network.daemons import Daemon
from simulator.network.daemons.base import order
from simulator.network.daemons.dhcpv6 import delegations
from simulator.network.daemons.radvd import advertisers
from simulator.network.daemons.translators import DsLiteAftr
from simulator.network.mechanisms import deployment
from simulator.progress import Progress
from topologies.errors import BackendError, DaemonError
from topologies.spec import Family, Kind, link_spec, node_spec

OPENFLOW_VERSION = "OpenFlow13"
LWTUNNEL_HOOKS = "/proc/sys/net/netfilter/nf_hooks_lwtunnel"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class EmulationBackend:
    name = "emulation"

    def __init__(self, graph: nx.Graph, plan: AddressPlan, routes: dict[str, list[Route]], *,
                 prefix: str, datapath: str, progress: Progress | None = None,
                 connect_timeout_s: float = 30.0, controller_app: str = "dual-stack",
                 dad_timeout_s: float = 10.0, zone: str = ""):
        if datapath not in ("kernel", "user"):
            raise BackendError(f"datapath {datapath!r}: use 'kernel' or 'user' (v6lab doctor tells which works)")
        self.graph, self.plan, self.routes = graph, plan, routes
        self.prefix = prefix
        self.datapath = datapath
        self.progress = progress or Progress(quiet=True)
        self.connect_timeout_s = connect_timeout_s
        self.controller_app = controller_app
        self.dad_timeout_s = dad_timeout_s
        # What each node's own /etc/resolv.conf will say, and who tells it (see
        # simulator.model.resolvers): the plan, DHCPv6 or router advertisements.
        self.zone = zone
        self.resolvers = resolvers(graph, plan, zone)
        self.rdnss: subprocess.Popen[str] | None = None
        self.down: frozenset = frozenset()
        self.workdir = cleanup.workdir_for(prefix)
        self.state_file = cleanup.STATE_DIR / f"{prefix}.json"
        self.controller_port: int | None = None
        self.controller: subprocess.Popen | None = None
        # Mininet has no type hints: its network and nodes are Any.
        self.net: Any = None
        self.nodes: dict[str, Any] = {}
        self.daemons: list[tuple[Daemon, subprocess.Popen]] = []
        self.started: list[Daemon] = []      # with a process or not, in the order started
        self.configs: dict[str, nodeconfig.NodeConfig] = {}   # each node's configuration in force
        self.timings: dict[str, float] = {}
        self._saved_env: str | None = None
        self._started = False
        self._stopped = False

    # --- names ---------------------------------------------------------------------

    def node_name(self, node: str) -> str:
        return f"{self.prefix}{node}"

    def interface_name(self, node: str, peer: str) -> str:
        return f"{self.prefix}{node}-e{ports(self.graph, node)[peer]}"

    def dpid(self, switch: str) -> str:
        # Distinct per run, so two runs sharing one ovs-vswitchd never mix up in logs.
        index = sorted(self.graph).index(switch) + 1
        return f"{(int(self.prefix[1:], 36) << 24) | index:016x}"

    def switch_of_dpid(self) -> dict[str, str]:
        return {self.dpid(s): s for s in self.graph if node_spec(self.graph, s).kind is Kind.SWITCH}

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def start(self) -> None:
        if self._started:
            raise BackendError("this backend was already started; make a new one for another run")
        self._started = True
        leftovers = cleanup.find_leftovers(self.prefix)
        if not leftovers.empty:
            raise BackendError(f"run prefix {self.prefix} is in use ({leftovers.describe()}); "
                               f"run 'v6lab clean --run {self.prefix}' or pick another run id")
        self.workdir.mkdir(parents=True)
        self._write_state()
        self._saved_env = os.environ.get(cleanup.ENV_TAG)
        os.environ[cleanup.ENV_TAG] = self.prefix
        try:
            started = time.monotonic()
            # The controller's interpreter starts while Mininet builds; the switches
            # are started (and connect) only once it listens.
            self._spawn_controller()
            with self.progress.step(f"starting the controller and building the network ({self._census()})"):
                self._build()
            self.timings["build_s"] = time.monotonic() - started
            mark = time.monotonic()
            # Addresses and routes need no switch: they go in while the switches
            # connect. Advertisements and DHCPv6 below need the network.
            with self.progress.step("assigning addresses and routes"):
                shown = self._configure_addresses()
            connecting = time.monotonic()
            with self.progress.step(f"waiting for {len(self._switches())} switches to connect"):
                self._wait_connected()
            self.timings["connect_s"] = time.monotonic() - connecting
            with self.progress.step("waiting for IPv6 DAD"):
                self._wait_dad(shown)
            servers, leases = delegations(self.graph, self.plan, self.interface_name, self.zone)
            routers = advertisers(self.graph, self.plan, self.interface_name, self.zone)
            if servers or routers:
                # All at once: prefix delegation and router advertisements do not wait
                # for each other (the LAN /64s are the plan's either way). The DHCPv6
                # clients depend on their servers, so they start once those listen
                # and no Solicit is lost.
                with self.progress.step("DHCPv6 prefix delegation to CPEs, SLAAC addresses for subscribers"):
                    # Hosts learn their resolver from the advertisements: listen first.
                    self._spawn_rdnss()
                    self.start_daemons(servers + routers + [client for client, _ in leases])
                    self._wait_slaac()
                    self._wait_delegation(leases)
                    self._wait_resolvers()
            self.timings["address_s"] = time.monotonic() - mark
            mechanisms = deployment(self.graph, self.plan, self.interface_name)
            if mechanisms:
                mark = time.monotonic()
                names = sorted({m.NAME for m in mechanisms})
                with self.progress.step(f"starting transition mechanisms ({', '.join(names)})"):
                    self._start_mechanisms(mechanisms)
                self.timings["mechanisms_s"] = time.monotonic() - mark
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        if self._stopped or not self._started:
            return
        self._stopped = True
        # A second Ctrl-C must not leave teardown half done.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        started = time.monotonic()
        try:
            for _, process in reversed(self.daemons):
                _terminate(process)
            if self.net is not None:
                try:
                    self._stop_network()
                except Exception as error:  # the sweep below removes what this missed
                    self.progress.note(f"network stop: {error}; sweeping by run prefix")
            for process in (self.controller, self.rdnss):
                if process is not None:
                    _terminate(process)
            cleanup.clean(self.prefix)
            if self._saved_env is None:
                os.environ.pop(cleanup.ENV_TAG, None)
            else:
                os.environ[cleanup.ENV_TAG] = self._saved_env
        finally:
            signal.signal(signal.SIGINT, previous)
            self.timings["stop_s"] = time.monotonic() - started

    def _stop_network(self) -> None:
        """Mininet's net.stop() deletes links one `ip link del` at a time (seconds for
        a city). Ending the node shells ends their namespaces, and with them every
        veth pair that has an end inside; the bridges go in one ovs-vsctl call. The
        sweep that follows removes whatever is left, by tag."""
        from mininet.log import setLogLevel
        from mininet.node import OVSSwitch
        setLogLevel("critical")
        for node in self.net.hosts + self.net.controllers:
            node.terminate()
        if self.net.switches:
            OVSSwitch.batchShutdown(self.net.switches)

    # --- building ------------------------------------------------------------------

    def _switches(self) -> list[str]:
        return sorted(n for n in self.graph if node_spec(self.graph, n).kind is Kind.SWITCH)

    def _census(self) -> str:
        kinds = [node_spec(self.graph, n).kind for n in self.graph]
        return (f"{kinds.count(Kind.SWITCH)} switches, {kinds.count(Kind.ROUTER)} routers, "
                f"{kinds.count(Kind.HOST)} hosts, {self.graph.number_of_edges()} links")

    def _write_state(self) -> None:
        cleanup.STATE_DIR.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({
            "prefix": self.prefix, "pid": os.getpid(), "started": time.time(),
            "bridges": [self.node_name(s) for s in self._switches()],
            "workdir": str(self.workdir)}))

    def _spawn_controller(self) -> None:
        self.controller_port = free_port()
        self.stats_path = self.workdir / "controller-stats.json"
        mechanisms = self.workdir / "controller-mechanisms.json"
        mechanisms.write_text(json.dumps(transition.controller_policy(self.graph, self.plan)))
        with open(self.workdir / "controller.log", "w") as log:
            self.controller = subprocess.Popen(
                [sys.executable, "-m", "controllers.launcher", "--app", self.controller_app,
                 "--host", "127.0.0.1", "--port", str(self.controller_port),
                 "--stats-file", str(self.stats_path), "--stats-interval", "0.5",
                 "--mechanisms", str(mechanisms)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def resolv_conf_path(self, node: str) -> Path:
        return self.workdir / node / "resolv.conf"

    def _write_resolv_confs(self) -> None:
        """The plan's nodes get their final file; the others a placeholder until DHCPv6
        or a router advertisement tells them."""
        for node in self._l3_nodes():
            path = self.resolv_conf_path(node)
            path.parent.mkdir(parents=True, exist_ok=True)
            resolver = self.resolvers[node]
            path.write_text(resolver.resolv_conf() if resolver.source == PLAN
                            else f"# written by v6lab: waiting for {resolver.source}\n")

    def _spawn_rdnss(self) -> None:
        """The agent that writes SLAAC hosts' resolv.conf from their RAs (simulator.network.rdnss)."""
        hosts = [{"node": n, "pid": self.nodes[n].pid, "path": str(self.resolv_conf_path(n))}
                 for n in self._l3_nodes() if self.resolvers[n].source == RDNSS]
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
                               f"{self._tail('rdnss.log')}")

    def _wait_resolvers(self, timeout_s: float = 20.0) -> None:
        """Until every host that learns its resolver from DHCPv6 or an advertisement
        names the one its network announces (the files are read here, no shell round)."""
        def servers(node):
            return tuple(line.split()[1] for line in _read(self.resolv_conf_path(node)).splitlines()
                         if line.startswith("nameserver ") and len(line.split()) > 1)

        learning = sorted(n for n in self._l3_nodes() if self.resolvers[n].source != PLAN
                          and self.resolvers[n].servers)
        self._poll(learning, lambda nodes: [n for n in nodes if servers(n) != self.resolvers[n].servers],
                   timeout_s, 0.1,
                   lambda nodes: f"{len(nodes)} nodes did not learn their resolver within {timeout_s:g} s: "
                   + "; ".join(
                       f"{n} has {', '.join(servers(n)) or 'none'}, its network announces "
                       f"{', '.join(self.resolvers[n].servers)} by {self.resolvers[n].source}" for n in nodes[:5]))

    def _controller_process(self) -> subprocess.Popen:
        if self.controller is None:
            raise BackendError("the controller was never started (start() starts it before the switches)")
        return self.controller

    def _wait_controller_listening(self) -> None:
        deadline = time.monotonic() + 20
        controller = self._controller_process()
        while time.monotonic() < deadline:
            if controller.poll() is not None:
                raise BackendError(f"the controller exited with status {controller.returncode}:\n"
                                   f"{self._tail('controller.log')}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.controller_port)) == 0:
                    return
            time.sleep(0.1)
        raise BackendError(f"the controller did not listen on 127.0.0.1:{self.controller_port} "
                           f"within 20 s:\n{self._tail('controller.log')}")

    def _tail(self, name: str, lines: int = 15) -> str:
        path = self.workdir / name
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty log)"

    def _build(self) -> None:
        from mininet.link import Link, TCLink
        from mininet.log import setLogLevel
        from mininet.net import Mininet
        from mininet.node import OVSSwitch, RemoteController

        setLogLevel("error")
        # Mininet.init() raises host-wide sysctls and rlimits; a run must not change
        # the host it runs on, and these small networks do not need them.
        Mininet.inited = True

        prefix = self.prefix

        class TaggedSwitch(OVSSwitch):
            def bridgeOpts(self):
                return super().bridgeOpts() + f" external_ids:{cleanup.BRIDGE_TAG}={prefix}"

        switch_class = partial(TaggedSwitch, datapath=self.datapath, protocols=OPENFLOW_VERSION,
                               failMode="secure", batch=True)
        self.net = net = Mininet(build=False, controller=None, switch=switch_class,
                                 autoSetMacs=False, waitConnected=False)
        net.addController(RemoteController(f"{prefix}c0", ip="127.0.0.1", port=self.controller_port))
        for node in sorted(self.graph):
            if node_spec(self.graph, node).kind is Kind.SWITCH:
                self.nodes[node] = net.addSwitch(self.node_name(node), dpid=self.dpid(node))
            else:
                self.nodes[node] = net.addHost(self.node_name(node), ip=None)
        # Before any link exists (see nodeconfig.LINK_DEFAULTS). And each node's own
        # /etc/resolv.conf, in its own mount namespace (Mininet makes one per node),
        # so that every program run there asks the resolver its network gave it,
        # not the machine's.
        self._write_resolv_confs()
        self._run_scripts({n: nodeconfig.render_defaults(config)
                           + f"mount --bind {self.resolv_conf_path(n)} /etc/resolv.conf\n"
                           for n, config in self._node_configs().items()},
                          "setting the nodes' IPv6 defaults and resolv.conf")
        for a, b in sorted(tuple(sorted(e)) for e in self.graph.edges):
            spec = link_spec(self.graph, a, b)
            # HTB for bandwidth, netem for delay; the runner has refused delay already
            # where the kernel has no netem.
            params: dict[str, float | str] = {}
            if spec.bandwidth_mbps:
                params["bw"] = spec.bandwidth_mbps
            if spec.delay_ms:
                params["delay"] = f"{spec.delay_ms:g}ms"
            cls = TCLink if params else Link
            # Fixed MACs where the plan has them: SLAAC addresses derive from them.
            for end, (node, peer) in (("addr1", (a, b)), ("addr2", (b, a))):
                interface = self.plan.interfaces.get((node, peer))
                if interface is not None and interface.mac:
                    params[end] = interface.mac
            port_a, port_b = ports(self.graph, a)[b], ports(self.graph, b)[a]
            # OpenFlow port numbers start at 1; host interface numbers at 0.
            if node_spec(self.graph, a).kind is Kind.SWITCH:
                port_a += 1
            if node_spec(self.graph, b).kind is Kind.SWITCH:
                port_b += 1
            net.addLink(self.nodes[a], self.nodes[b], port1=port_a, port2=port_b,
                        intfName1=self.interface_name(a, b), intfName2=self.interface_name(b, a),
                        cls=cls, **params)
        net.build()
        self._tag_root_links()
        self._wait_controller_listening()
        net.start()

    def _tag_root_links(self) -> None:
        names = [self.interface_name(s, peer) for s in self._switches() for peer in self.graph.neighbors(s)]
        batch = "".join(f"link set dev {name} alias {cleanup.ALIAS_TAG}{self.prefix}\n" for name in names)
        subprocess.run(["ip", "-batch", "-"], input=batch, text=True, capture_output=True)

    def unconnected_switches(self) -> list[str]:
        """Switches the controller has not completed its handshake with, by graph name.

        Asked of the controller, not of OVSDB: ovs-vswitchd refreshes the Controller
        table's is_connected only every few seconds, the controller knows at once.
        """
        try:
            snapshot = json.loads(self.stats_path.read_text())
        except (OSError, ValueError):
            return self._switches()
        connected = {dpid for dpid, value in snapshot["switches"].items() if value["connected"]}
        return [s for s in self._switches() if self.dpid(s) not in connected]

    def _wait_connected(self) -> None:
        deadline = time.monotonic() + self.connect_timeout_s
        while True:
            missing = self.unconnected_switches()
            if not missing:
                return
            if self._controller_process().poll() is not None:
                raise BackendError(f"the controller died while switches connected:\n{self._tail('controller.log')}")
            if time.monotonic() > deadline:
                raise BackendError(
                    f"{len(missing)} of {len(self._switches())} switches never connected to the controller "
                    f"at 127.0.0.1:{self.controller_port} within {self.connect_timeout_s:g} s: "
                    f"{', '.join(missing)}. Check 'ovs-vsctl show' and {self.workdir}/controller.log; "
                    "raise controller.connect_timeout_s for large networks")
            time.sleep(0.1)

    def _node_configs(self, routes: dict[str, list[Route]] | None = None) -> dict[str, nodeconfig.NodeConfig]:
        """Every router's and host's configuration, with ``routes`` (by default the
        routes in force)."""
        return nodeconfig.node_configs(self.graph, self.plan, self.routes if routes is None else routes,
                                       self.interface_name)

    @staticmethod
    def _neigh_defaults() -> dict[str, str]:
        """The host's neighbour-table defaults, which SLAAC interfaces get back."""
        return {timer.key: _read(Path(f"/proc/sys/net/ipv6/neigh/default/{timer.key}")).strip() or "1000"
                for timer in nodeconfig.BRING_UP_TIMERS if timer.kind == "neigh"}

    def _l3_nodes(self) -> list[str]:
        return sorted(n for n in self.graph if node_spec(self.graph, n).kind is not Kind.SWITCH)

    def run_in_shells(self, scripts: dict[str, str]) -> dict[str, CommandResult]:
        """Run a short shell script on each node through the node's own shell, all at once.

        Cheaper than run_many for the many small steps of bringing a network up: no
        process is started per node (mnexec, sh), the shells Mininet keeps do the work.
        Only for scripts that end quickly; measurements use run_many.
        """
        folder = self.workdir / "scripts"
        folder.mkdir(exist_ok=True)
        self._script_counter = getattr(self, "_script_counter", 0) + 1
        files = {}
        for node, script in scripts.items():
            base = folder / f"{node}.{self._script_counter}"
            Path(f"{base}.sh").write_text(script)
            files[node] = base
            self.nodes[node].sendCmd(f"sh {base}.sh > {base}.out 2> {base}.err; echo $? > {base}.rc")
        results = {}
        for node, base in files.items():
            self.nodes[node].waitOutput()
            code = _read(Path(f"{base}.rc")).strip()
            results[node] = CommandResult(node, ("sh", f"{base}.sh"), int(code) if code.isdigit() else -1,
                                          _read(Path(f"{base}.out")), _read(Path(f"{base}.err")))
        return results

    def _run_scripts(self, scripts: dict[str, str], what: str) -> dict[str, CommandResult]:
        results = self.run_in_shells(scripts)
        failed = {n: r for n, r in results.items() if not r.ok}
        if failed:
            shown = sorted(failed.items())[:5]
            more = f" (and {len(failed) - len(shown)} more nodes)" if len(failed) > len(shown) else ""
            raise BackendError(f"{what} failed on " + "; ".join(
                f"{n}: {r.stderr.strip() or r.stdout.strip()}" for n, r in shown) + more)
        return results

    def _configure_addresses(self) -> dict[str, CommandResult]:
        """Addresses and routes on every node; returns what each node's script printed
        last: its IPv6 addresses, with their flags, for the DAD wait."""
        self.configs = self._node_configs()
        return self._run_scripts({n: nodeconfig.render_script(config) + "ip -6 -o addr show\n"
                                  for n, config in self.configs.items()},
                                 "address and route configuration")

    def _poll(self, pending: list, still_pending, timeout_s: float, interval_s: float, failure) -> None:
        """Ask ``still_pending(pending)`` again until it returns nothing; past the
        timeout raise a BackendError saying ``failure(pending)``."""
        deadline = time.monotonic() + timeout_s
        while pending:
            pending = still_pending(pending)
            if pending and time.monotonic() > deadline:
                raise BackendError(failure(pending))
            if pending:
                time.sleep(interval_s)

    @staticmethod
    def _some(names: list[str], limit: int = 8) -> str:
        return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")

    def _wait_dad(self, shown: dict[str, CommandResult]) -> None:
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
        self._poll(tentative({n: shown[n] for n in ipv6}),
                   lambda nodes: tentative(self.run_in_shells({n: "ip -6 -o addr show\n" for n in nodes})),
                   self.dad_timeout_s, 0.1,
                   lambda nodes: f"IPv6 addresses still tentative after {self.dad_timeout_s:g} s on "
                                 f"{self._some(nodes)}")

    def _wait_delegation(self, clients: list, timeout_s: float = 30.0) -> None:
        """Until every CPE's lease holds the prefix the plan reserved for it."""
        self._poll(
            clients,
            lambda pending: [(c, p) for c, p in pending
                             if f"iaprefix {p} " not in _read(c.lease_file(self.workdir / c.node / c.NAME))],
            timeout_s, 0.2,
            lambda pending: f"{len(pending)} CPEs got no delegated prefix within {timeout_s:g} s "
                            f"({self._some([c.node for c, _ in pending])}); see the kea-dhcp6 and dhclient "
                            f"logs under {self.workdir}")

    def _wait_slaac(self, timeout_s: float = 20.0) -> None:
        """Until every SLAAC host has the address the plan predicts, past DAD."""
        expected: dict[str, list[tuple[str, str]]] = {}
        for interface in self.plan.interfaces.values():
            if interface.slaac and interface.ipv6 is not None:
                expected.setdefault(interface.node, []).append(
                    (self.interface_name(interface.node, interface.peer), str(interface.ipv6.ip)))

        configs, neigh_defaults = self._node_configs(), self._neigh_defaults()

        def check(node):
            # Shows the addresses; once every expected one is past DAD (a failed
            # one still reads "tentative"), gives the interfaces their kernel timers
            # back in the same breath (see nodeconfig.BRING_UP_TIMERS).
            done = " && ".join(f"echo \"$out\" | grep \" {name} .* {address}/64 \" | grep -qv tentative"
                               for name, address in expected[node])
            restore = "\n".join(nodeconfig.render_sysctls(nodeconfig.restore_timers(configs[node], neigh_defaults)))
            return f'out=$(ip -6 -o addr show scope global)\necho "$out"\nif {done}; then\n{restore}\nfi\n'

        def still_pending(nodes):
            results = self.run_in_shells({n: check(n) for n in nodes})
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

        self._poll(sorted(expected), still_pending, timeout_s, 0.2,
                   lambda nodes: f"{len(nodes)} hosts have no SLAAC address after {timeout_s:g} s "
                                 f"({self._some(nodes)}); see the radvd logs under {self.workdir}")

    @contextlib.contextmanager
    def capture(self, links: list[tuple[str, str, Path]], snaplen: int = 256):
        """tcpdump at a's end of each link (a, b, pcap path) while the block runs.
        Headers are what captures are for here, so packets are cut at ``snaplen``."""
        running = []
        try:
            for a, b, path in links:
                process = self.popen(a, ["tcpdump", "-n", "-U", "-s", str(snaplen), "-i",
                                         self.interface_name(a, b), "-w", str(path)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                running.append((a, b, process))
                if process.stderr is None:
                    raise BackendError(f"capture on {a}--{b}: tcpdump has no stderr pipe to say it listens on")
                # tcpdump says "listening on" once its socket is open.
                line = process.stderr.readline().decode(errors="replace")
                if "listening on" not in line:
                    process.wait(2)
                    raise BackendError(f"capture on {a}--{b} did not start: {line.strip()} "
                                       f"{process.stderr.read().decode(errors='replace').strip()}")
            yield
        finally:
            for _, _, process in running:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)
            for _, _, process in running:
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
                if process.stderr is not None:
                    process.stderr.close()

    def _start_mechanisms(self, mechanisms: list) -> None:
        if any(isinstance(m, DsLiteAftr) for m in mechanisms):
            # Without it, IPv4 taken out of a softwire skips netfilter, so the AFTR
            # could not translate it. Host-wide and one-way (the kernel refuses 0
            # again); it only makes netfilter see decapsulated packets.
            try:
                Path(LWTUNNEL_HOOKS).write_text("1\n")
            except OSError as error:
                raise BackendError(f"DS-Lite needs {LWTUNNEL_HOOKS} = 1 and it could not be set: {error}") from None
        self.start_daemons(mechanisms)

    def warm_up(self) -> None:
        """Bring neighbour caches and the controller's MAC tables up (see _warm_up);
        the runner calls it before measuring. Not part of start(): the network is
        ready without it."""
        mark = time.monotonic()
        with self.progress.step("warming up neighbour caches and the controller's MAC tables"):
            self._warm_up()
        self.timings["warm_up_s"] = time.monotonic() - mark

    def _warm_up(self) -> None:
        """Every node pings the routers on its segments, and routers ping every member.

        A network that has been running knows its neighbours; a fresh one resolves
        each next hop through ARP or ND, and on every switch the first packets go
        through the controller. Without this the first probe of each path measures
        that cold start (seconds, with dozens of hosts starting at once) rather than
        whether the path works. Later packets are what the matrix is about.
        """
        scripts = {}
        for node in self._l3_nodes():
            targets = set()
            for interface in self.plan.interfaces_of(node):
                segment = self.plan.segments[interface.segment]
                for member in segment.members:
                    if member == node:
                        continue
                    if node_spec(self.graph, member).kind is not Kind.ROUTER and \
                            node_spec(self.graph, node).kind is not Kind.ROUTER:
                        continue
                    peer = next(i for i in self.plan.interfaces_of(member) if i.segment == segment.name)
                    for family in Family:
                        if interface.address(family) and peer.address(family):
                            targets.add(str(peer.address(family).ip))
            if targets:
                scripts[node] = "".join(f"ping -n -q -c 1 -W 1 {t} >/dev/null 2>&1 &\n" for t in sorted(targets)) \
                    + "wait\n"
        # Pings that fail here are not errors: the matrix measures and reports them.
        self.run_in_shells(scripts)

    # --- faults ----------------------------------------------------------------------

    def set_link(self, a: str, b: str, up: bool) -> dict[str, list[Route]]:
        """Take the link a--b down (or bring it back) and route around it.

        Both ends go administratively down, as when a fibre is cut; routes are then
        computed again from the graph without the link and only the differences are
        applied to each node. Returns the routes now in force."""
        if not self.graph.has_edge(a, b):
            raise BackendError(f"no link {a}--{b} in this network")
        return self._set_links([(a, b)], up)

    def set_node(self, node: str, up: bool) -> dict[str, list[Route]]:
        """Every link of ``node`` down (a router or switch that fails), or up again,
        and routes around it."""
        if node not in self.graph:
            raise BackendError(f"no node {node!r} in this network")
        return self._set_links([(node, peer) for peer in sorted(self.graph.neighbors(node))], up)

    def _set_links(self, links: list[tuple[str, str]], up: bool) -> dict[str, list[Route]]:
        edges = {frozenset(link) for link in links}
        self.down = (self.down | edges) if not up else (self.down - edges)
        state = "up" if up else "down"
        for a, b in links:
            for node, peer in ((a, b), (b, a)):
                name = self.interface_name(node, peer)
                if node_spec(self.graph, node).kind is Kind.SWITCH:
                    subprocess.run(["ip", "link", "set", "dev", name, state], check=True, capture_output=True)
                else:
                    result = self.run(node, ["ip", "link", "set", "dev", name, state])
                    if not result.ok:
                        raise BackendError(f"{node}: could not set {name} {state}: {result.stderr.strip()}")
        new = compute_routes(self.graph, self.plan, self.down)
        self.configure(self._node_configs(new))
        self.routes = new
        return new

    def configure(self, configs: dict[str, nodeconfig.NodeConfig]) -> None:
        """Bring running nodes to these configurations: only what differs from the
        configuration in force is applied (routes, sysctls, NAT, addresses, links)."""
        scripts = {}
        for node, config in configs.items():
            if node not in self.configs:
                raise BackendError(f"node {node!r}: not a running host or router of this network")
            script = nodeconfig.render_change(nodeconfig.diff(self.configs[node], config))
            if script:
                scripts[node] = script
        if scripts:
            self._run_scripts(scripts, "changing the configuration of running nodes")
        self.configs.update(configs)

    def stop_daemons(self, daemons: list[Daemon]) -> None:
        """Stop these daemons, in the reverse of their start order: end the process
        (if any), then undo what the daemon's setup did in its node."""
        for layer in reversed(order(daemons)):
            undo: dict[str, str] = {}
            for daemon in layer:
                if daemon not in self.started:
                    raise DaemonError(f"{daemon}: was not started in this network")
                process = next((p for d, p in self.daemons if d is daemon), None)
                script = daemon.stop_script(self.daemon_folder(daemon))
                if process is None and script is None:
                    raise DaemonError(f"{daemon}: has no process and nothing to undo; it cannot be stopped alone")
                if process is not None:
                    _terminate(process)
                    self.daemons = [(d, p) for d, p in self.daemons if d is not daemon]
                if script:
                    undo[daemon.node] = undo.get(daemon.node, "") + script
                self.started.remove(daemon)
            if undo:
                self._run_scripts(undo, "undoing what stopped daemons set up")

    def reload_daemon(self, daemon: Daemon) -> None:
        """Its configuration rendered again and dry-run; then SIGHUP for a daemon that
        rereads its files, else a restart."""
        if daemon not in self.started:
            raise DaemonError(f"{daemon}: was not started in this network")
        folder = daemon.write_config(self.daemon_folder(daemon))
        self._check_configurations([daemon], [folder])
        process = next((p for d, p in self.daemons if d is daemon), None)
        if daemon.RELOAD == "hup" and process is not None and process.poll() is None:
            process.send_signal(signal.SIGHUP)
            return
        self.stop_daemons([daemon])
        self.start_daemons([daemon])

    # --- using the running network -------------------------------------------------

    def popen(self, node: str, command: list[str], **kwargs) -> subprocess.Popen:
        if node not in self.nodes or node_spec(self.graph, node).kind is Kind.SWITCH:
            raise BackendError(f"node {node!r}: not a host or router of this network")
        return self.nodes[node].popen(command, **kwargs)

    def run(self, node: str, command: list[str], timeout: float | None = None) -> CommandResult:
        return self.run_many({node: command}, timeout)[node]

    def run_many(self, commands: dict[str, list[str]], timeout: float | None = None) -> dict[str, CommandResult]:
        """Run one command on each of several nodes at once; wait for all."""
        processes = {node: self.popen(node, command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                     for node, command in commands.items()}
        results = {}
        deadline = None if timeout is None else time.monotonic() + timeout
        for node, process in processes.items():
            remaining = None if deadline is None else max(0.1, deadline - time.monotonic())
            try:
                out, err = process.communicate(timeout=remaining)
                code = process.returncode
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
                code, err = -9, err + f"\ntimed out after {timeout:g} s".encode()
            results[node] = CommandResult(node, tuple(commands[node]), code,
                                          out.decode(errors="replace"), err.decode(errors="replace"))
        return results

    def daemon_folder(self, daemon: Daemon) -> Path:
        return self.workdir / daemon.node / daemon.NAME

    def start_daemons(self, daemons: list[Daemon], ready_timeout_s: float = 10.0) -> None:
        """Write every configuration and dry-run them all at once (a bad one stops
        the batch before anything starts), then, layer by layer in the order their
        DEPENDS ask for, run the setup scripts, start the daemons and wait for all of
        them to listen: a city's dozens of daemons come up side by side, not one by one."""
        folders = {id(daemon): daemon.write_config(self.daemon_folder(daemon)) for daemon in daemons}
        self._check_configurations(daemons, [folders[id(d)] for d in daemons])
        for layer in order(daemons):
            self._start_layer(layer, [folders[id(d)] for d in layer], ready_timeout_s)

    def _start_layer(self, daemons: list[Daemon], folders: list[Path], ready_timeout_s: float) -> None:
        # One round through the shells per setup a node has (most have one at most).
        rounds: list[dict[Daemon, str]] = []
        for daemon, folder in zip(daemons, folders, strict=True):
            script = daemon.setup_script(folder)
            if script:
                free = next((r for r in rounds if all(d.node != daemon.node for d in r)), None)
                if free is None:
                    rounds.append(free := {})
                free[daemon] = script
        for setups in rounds:
            results = self.run_in_shells({daemon.node: script for daemon, script in setups.items()})
            for daemon in setups:
                if not results[daemon.node].ok:
                    result = results[daemon.node]
                    raise DaemonError(f"{daemon}: setting up failed: {(result.stderr or result.stdout).strip()}")
        started = []
        for daemon, folder in zip(daemons, folders, strict=True):
            self.started.append(daemon)
            command = daemon.start_command(folder)
            if command is None:
                continue
            # The daemon keeps its own descriptor for the log; ours closes at once.
            with open(folder / "daemon.log", "w") as log:
                process = self.popen(daemon.node, command, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env={**os.environ, **daemon.environment(folder)})
            self.daemons.append((daemon, process))
            started.append((daemon, folder, process))
        deadline = time.monotonic() + ready_timeout_s
        while started:
            waiting = []
            for daemon, folder, process in started:
                if process.poll() is not None:
                    raise DaemonError(f"{daemon}: exited with status {process.returncode}:\n"
                                      f"{(folder / 'daemon.log').read_text(errors='replace')[-2000:]}")
                if not self._listening(daemon):
                    waiting.append((daemon, folder, process))
            started = waiting
            if started and time.monotonic() > deadline:
                daemon, folder, _ = started[0]
                raise DaemonError(f"{daemon}: not listening on {daemon.LISTENS} after {ready_timeout_s:g} s; "
                                  f"see {folder / 'daemon.log'}")
            if started:
                time.sleep(0.1)

    def _check_configurations(self, daemons: list[Daemon], folders: list[Path]) -> None:
        """Every daemon's dry run (``radvd --configtest``, ``kea-dhcp6 -t``, ...), all at once."""
        checks = []
        for daemon, folder in zip(daemons, folders, strict=True):
            check = daemon.check_command(folder)
            if check is None:
                continue
            try:
                if daemon.CHECK_IN_NODE:
                    process = self.popen(daemon.node, check, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                else:
                    process = subprocess.Popen(check, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except FileNotFoundError:
                raise DaemonError(f"{daemon}: {check[0]} is not installed; run 'sudo scripts/setup.sh'") from None
            checks.append((daemon, check, process))
        failed = None
        for daemon, check, process in checks:
            try:
                out, err = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            if process.returncode != 0 and failed is None:
                failed = DaemonError(f"{daemon}: configuration check '{' '.join(check)}' failed:\n"
                                     f"{(err or out).decode(errors='replace').strip()}")
        if failed is not None:
            raise failed

    def _listening(self, daemon: Daemon) -> bool:
        if not daemon.LISTENS:
            return True
        out = self.run(daemon.node, ["ss", "-Hlntu"]).stdout
        ports = {(line.split()[0], line.split()[4].rsplit(":", 1)[-1]) for line in out.splitlines() if line.strip()}
        return all((proto, str(port)) in ports for proto, port in daemon.LISTENS)

    def counters(self, fresh_after: float | None = None, timeout_s: float = 5.0) -> dict:
        """The controller's latest per-family counters, taken after ``fresh_after``."""
        fresh_after = time.time() if fresh_after is None else fresh_after
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                snapshot = json.loads(self.stats_path.read_text())
                if snapshot["time"] >= fresh_after:
                    names = self.switch_of_dpid()
                    snapshot["switches"] = {names.get(dpid, dpid): value
                                            for dpid, value in snapshot["switches"].items()}
                    return snapshot
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise BackendError(f"the controller wrote no counters for {timeout_s:g} s "
                                   f"({self.stats_path}); see {self.workdir}/controller.log")
            time.sleep(0.1)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _terminate(process: subprocess.Popen, grace_s: float = 2.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()

"""The emulation backend: a graph becomes a Mininet network of Open vSwitch bridges
and Linux nodes, driven by the project's os-ken controller.

The only module that imports Mininet. It builds the network, runs its lifecycle and
its live changes, and composes the parts that do the rest, each in a module of its
own: the node shells (``shells``), the controller process (``controller``), the
daemons (``daemon_runner``) and what bring-up waits for, resolvers included
(``bringup``). Everything it creates carries the run prefix (see
``simulator.network.cleanup``), and ``stop()`` removes it all, also after an error or
Ctrl-C, and also when called twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from functools import partial
from pathlib import Path
from typing import Any

import networkx as nx

from simulator.model import transition
from simulator.model.address_plan import AddressPlan, mac_address, openflow_ports, ports
from simulator.model.resolvers import resolvers
from simulator.model.routing import Route, compute_routes
from simulator.network import cleanup, neighbour_tables, nodeconfig
from simulator.network.backends.base import CommandResult
from simulator.network.backends.bringup import BringUp
from simulator.network.backends.controller import ControllerProcess
from simulator.network.backends.daemon_runner import DaemonRunner
from simulator.network.backends.shells import NodeShells
from simulator.network.daemons import Daemon
from simulator.network.daemons.translators import DsLiteAftr
from simulator.network.preparation import NodeDaemons, Prepared, interface_name, node_daemons
from simulator.progress import Progress
from topologies.errors import BackendError
from topologies.spec import Family, Kind, link_spec, node_spec

OPENFLOW_VERSION = "OpenFlow13"
NEIGHBOUR_SYSCTL = {Family.IPV4: "/proc/sys/net/ipv4/neigh/default", Family.IPV6: "/proc/sys/net/ipv6/neigh/default"}
NEIGHBOUR_STATS = {Family.IPV4: "/proc/net/stat/arp_cache", Family.IPV6: "/proc/net/stat/ndisc_cache"}
LWTUNNEL_HOOKS = "/proc/sys/net/netfilter/nf_hooks_lwtunnel"


class EmulationBackend:
    name = "emulation"

    def __init__(self, graph: nx.Graph, plan: AddressPlan, routes: dict[str, list[Route]], *,
                 prefix: str, datapath: str, progress: Progress | None = None,
                 connect_timeout_s: float = 30.0, controller_app: str = "dual-stack",
                 dad_timeout_s: float = 10.0, zone: str = "", node_daemons: NodeDaemons | None = None,
                 manifest: Path | None = None, logs_dir: Path | None = None, layout: nx.Graph | None = None):
        """``node_daemons``: Kea, dhclient, radvd and the mechanisms as ``prepare`` made
        them for this prefix (made here when not given); ``manifest``: the run's
        manifest, which ``v6lab clean`` marks interrupted if the run dies;
        ``logs_dir``: where the work folder's logs are kept when the run fails
        (teardown deletes the work folder; error messages point at the copy);
        ``layout``: the network to build when ``graph`` is the first state of a
        city that changes while it runs (``model.rehearsal``): every node and link
        of every state (``change_state`` moves it from one state to the next)."""
        if datapath not in ("kernel", "user"):
            raise BackendError(f"datapath {datapath!r}: use 'kernel' or 'user' (v6lab doctor tells which works)")
        self.graph, self.plan, self.routes = graph, plan, routes
        self.layout = graph if layout is None else layout
        # The plans whose neighbours the kernel's tables must hold (every state's).
        self.sizing_plans: list[AddressPlan] = [plan]
        self.prefix = prefix
        self.datapath = datapath
        self.progress = progress or Progress(quiet=True)
        self.zone = zone
        self.node_daemons = node_daemons
        self.manifest = manifest
        self.logs_dir = logs_dir
        self.down: frozenset = frozenset()
        self.workdir = cleanup.workdir_for(prefix)
        self.state_file = cleanup.STATE_DIR / f"{prefix}.json"
        # Mininet has no type hints: its network is Any.
        self.net: Any = None
        self.shells = NodeShells(self.layout, self.workdir)
        located = self.log_path
        self.controller = ControllerProcess(
            self.workdir, controller_app, transition.controller_policy(graph, plan),
            {s: self.dpid(s) for s in self._switches()}, connect_timeout_s, located)
        self.daemon_runner = DaemonRunner(self.shells, self.workdir, located)
        self.bring_up = BringUp(graph, plan, self.shells, self.workdir, self.interface_name,
                                resolvers(graph, plan, zone), dad_timeout_s, located, self.layout)
        self.configs: dict[str, nodeconfig.NodeConfig] = {}   # each node's configuration in force
        self.timings: dict[str, float] = {}
        self._saved_env: str | None = None
        # (sysctl path, value before the run, value the run set) to put back at stop.
        self._raised_sysctls: list[tuple[Path, str, str]] = []
        self._started = False
        self._stopped = False

    # --- names ---------------------------------------------------------------------

    def node_name(self, node: str) -> str:
        return f"{self.prefix}{node}"

    def interface_name(self, node: str, peer: str) -> str:
        return interface_name(self.layout, self.prefix, node, peer)

    def dpid(self, switch: str) -> str:
        # Distinct per run, so two runs sharing one ovs-vswitchd never mix up in logs.
        index = sorted(self.layout).index(switch) + 1
        return f"{(int(self.prefix[1:], 36) << 24) | index:016x}"

    @property
    def nodes(self) -> dict[str, Any]:
        """Graph name -> Mininet node."""
        return self.shells.nodes

    # --- lifecycle -----------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None:
            self.keep_logs()
        self.stop()
        return False

    def log_path(self, path: Path | str = "") -> Path:
        """Where a file of the work folder can be read once the run has ended: its
        copy under ``logs_dir`` when there is one (see keep_logs)."""
        relative = Path(path).relative_to(self.workdir) if Path(path).is_absolute() else Path(path)
        return (self.logs_dir if self.logs_dir is not None else self.workdir) / relative

    def keep_logs(self) -> None:
        """Copy the work folder (daemons' logs and configurations, the controller's
        log, leases) to ``logs_dir`` before teardown deletes it. The node scripts'
        files are left out: thousands of them in a large city, and errors from them
        are in the exception already."""
        if self.logs_dir is None or not self.workdir.is_dir():
            return
        for path in sorted(self.workdir.rglob("*")):
            relative = path.relative_to(self.workdir)
            if relative.parts[0] == "scripts" or not path.is_file():
                continue
            target = self.logs_dir / relative
            with contextlib.suppress(OSError):
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)

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
            self._size_neighbour_tables()
            # The controller's interpreter starts while Mininet builds; the switches
            # are started (and connect) only once it listens.
            self.controller.spawn()
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
                self.controller.wait_connected()
            self.timings["connect_s"] = time.monotonic() - connecting
            with self.progress.step("waiting for IPv6 DAD"):
                self.bring_up.wait_dad(shown)
            own = self.node_daemons or node_daemons(self.graph, self.plan, self.interface_name, self.zone)
            servers, leases, routers = own.delegation_servers, own.delegation_clients, own.advertisers
            if servers or routers:
                # All at once: prefix delegation and router advertisements do not wait
                # for each other (the LAN /64s are the plan's either way). The DHCPv6
                # clients depend on their servers, so they start once those listen
                # and no Solicit is lost.
                with self.progress.step("DHCPv6 prefix delegation to CPEs, SLAAC addresses for subscribers"):
                    # Hosts learn their resolver from the advertisements: listen first.
                    self.bring_up.spawn_rdnss()
                    self.start_daemons(servers + routers + [client for client, _ in leases])
                    self.bring_up.wait_slaac(self.configs)
                    self.bring_up.wait_delegation(leases)
                    self.bring_up.wait_resolvers()
            self.timings["address_s"] = time.monotonic() - mark
            mechanisms = own.mechanisms
            if mechanisms:
                mark = time.monotonic()
                names = sorted({m.NAME for m in mechanisms})
                with self.progress.step(f"starting transition mechanisms ({', '.join(names)})"):
                    self._start_mechanisms(mechanisms)
                self.timings["mechanisms_s"] = time.monotonic() - mark
        except BaseException:
            self.keep_logs()
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
            self.daemon_runner.terminate_all()
            if self.net is not None:
                try:
                    self._stop_network()
                except Exception as error:  # the sweep below removes what this missed
                    self.progress.note(f"network stop: {error}; sweeping by run prefix")
            self.controller.stop()
            self.bring_up.stop()
            cleanup.clean(self.prefix)
            self._restore_sysctls()
            if self._saved_env is None:
                os.environ.pop(cleanup.ENV_TAG, None)
            else:
                os.environ[cleanup.ENV_TAG] = self._saved_env
        finally:
            signal.signal(signal.SIGINT, previous)
            self.timings["stop_s"] = time.monotonic() - started

    def _size_neighbour_tables(self) -> None:
        """Give the kernel's one neighbour table per family room for every node's
        (see simulator.network.neighbour_tables): with the host's defaults, entries
        that the nodes still use were evicted mid-run. Put back at stop."""
        for family in Family:
            folder = Path(NEIGHBOUR_SYSCTL[family])
            try:
                thresh2, thresh3 = (int((folder / f"gc_thresh{n}").read_text()) for n in (2, 3))
                present = int(Path(NEIGHBOUR_STATS[family]).read_text().splitlines()[1].split()[0], 16)
            except (OSError, ValueError, IndexError):
                continue   # no such table (IPv6 off on this host): nothing to size
            current = (thresh2, thresh3)
            needed = max(neighbour_tables.entries_needed(plan, family) for plan in self.sizing_plans)
            raised = neighbour_tables.thresholds(current, needed, present)
            if raised is None:
                continue
            # gc_thresh3 first, so that a reader of the two never sees thresh2 above thresh3.
            for n, old, new in sorted(zip((2, 3), current, raised, strict=True), key=lambda item: -item[0]):
                if new != old:
                    path = folder / f"gc_thresh{n}"
                    path.write_text(f"{new}\n")
                    self._raised_sysctls.append((path, str(old), str(new)))

    def _restore_sysctls(self) -> None:
        """Put back what _size_neighbour_tables raised, unless someone changed it since."""
        for path, old, new in reversed(self._raised_sysctls):
            with contextlib.suppress(OSError):
                if path.read_text().strip() == new:
                    path.write_text(f"{old}\n")
        self._raised_sysctls = []

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
        return sorted(n for n in self.layout if node_spec(self.layout, n).kind is Kind.SWITCH)

    def _census(self) -> str:
        kinds = [node_spec(self.layout, n).kind for n in self.layout]
        return (f"{kinds.count(Kind.SWITCH)} switches, {kinds.count(Kind.ROUTER)} routers, "
                f"{kinds.count(Kind.HOST)} hosts, {self.layout.number_of_edges()} links")

    def _write_state(self) -> None:
        cleanup.STATE_DIR.mkdir(parents=True, exist_ok=True)
        self.state_file.write_text(json.dumps({
            "prefix": self.prefix, "pid": os.getpid(), "started": time.time(),
            "bridges": [self.node_name(s) for s in self._switches()],
            "workdir": str(self.workdir), "manifest": str(self.manifest) if self.manifest else None}))

    def _build(self) -> None:
        from mininet.link import Link, TCLink
        from mininet.log import setLogLevel
        from mininet.net import Mininet
        from mininet.node import OVSSwitch, RemoteController

        setLogLevel("error")
        # Mininet.init() raises host-wide sysctls and rlimits; a run must not change
        # the host it runs on, and these small networks do not need them, except the
        # neighbour tables' sizes, which start() raises for the run alone.
        Mininet.inited = True

        prefix = self.prefix

        class TaggedSwitch(OVSSwitch):
            def bridgeOpts(self):
                return super().bridgeOpts() + f" external_ids:{cleanup.BRIDGE_TAG}={prefix}"

        switch_class = partial(TaggedSwitch, datapath=self.datapath, protocols=OPENFLOW_VERSION,
                               failMode="secure", batch=True)
        self.net = net = Mininet(build=False, controller=None, switch=switch_class,
                                 autoSetMacs=False, waitConnected=False)
        net.addController(RemoteController(f"{prefix}c0", ip="127.0.0.1", port=self.controller.port))
        layout = self.layout
        for node in sorted(layout):
            if node_spec(layout, node).kind is Kind.SWITCH:
                self.nodes[node] = net.addSwitch(self.node_name(node), dpid=self.dpid(node))
            else:
                self.nodes[node] = net.addHost(self.node_name(node), ip=None)
        # Before any link exists (see nodeconfig.LINK_DEFAULTS). And each node's own
        # /etc/resolv.conf, in its own mount namespace (Mininet makes one per node),
        # so that every program run there asks the resolver its network gave it,
        # not the machine's.
        self.bring_up.write_resolv_confs()
        self.shells.run_scripts({n: nodeconfig.render_defaults(config) + self.bring_up.mount_resolv_conf(n)
                                 for n, config in self._node_configs().items()},
                                "setting the nodes' IPv6 defaults and resolv.conf")
        for a, b in sorted(tuple(sorted(e)) for e in layout.edges):
            spec = link_spec(layout, a, b)
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
                elif layout is not self.graph and node_spec(layout, node).kind is not Kind.SWITCH:
                    # A link of a later state: its MAC as that state's plan has it.
                    params[end] = mac_address(node, peer)
            # OpenFlow port numbers start at 1; host interface numbers at 0.
            port_a, port_b = ((openflow_ports if node_spec(layout, x).kind is Kind.SWITCH else ports)(
                layout, x)[y] for x, y in ((a, b), (b, a)))
            net.addLink(self.nodes[a], self.nodes[b], port1=port_a, port2=port_b,
                        intfName1=self.interface_name(a, b), intfName2=self.interface_name(b, a),
                        cls=cls, **params)
        net.build()
        self._tag_root_links()
        self.controller.wait_listening()
        net.start()

    def _tag_root_links(self) -> None:
        names = [self.interface_name(s, peer) for s in self._switches() for peer in self.layout.neighbors(s)]
        batch = "".join(f"link set dev {name} alias {cleanup.ALIAS_TAG}{self.prefix}\n" for name in names)
        subprocess.run(["ip", "-batch", "-"], input=batch, text=True, capture_output=True)
        # A switch port is a wire into OVS, not an interface of this host. With IPv6
        # on, the host's kernel took every advertisement a gateway sent on its port:
        # a SLAAC address in the district's /64 and a default route into the city at
        # the metric of the host's own; and its ports' solicitations and MLD reports
        # kept some 300 entries in the kernel's one IPv6 neighbour table, which the
        # nodes share (see simulator.network.neighbour_tables).
        for name in names:
            with contextlib.suppress(OSError):
                Path(f"/proc/sys/net/ipv6/conf/{name}/disable_ipv6").write_text("1\n")

    def _node_configs(self, routes: dict[str, list[Route]] | None = None) -> dict[str, nodeconfig.NodeConfig]:
        """Every router's and host's configuration, with ``routes`` (by default the
        routes in force)."""
        return nodeconfig.node_configs(self.graph, self.plan, self.routes if routes is None else routes,
                                       self.interface_name, None if self.layout is self.graph else self.layout)

    def _l3_nodes(self) -> list[str]:
        return sorted(n for n in self.graph if node_spec(self.graph, n).kind is not Kind.SWITCH)

    def _configure_addresses(self) -> dict[str, CommandResult]:
        """Addresses and routes on every node; returns what each node's script printed
        last: its IPv6 addresses, with their flags, for the DAD wait."""
        self.configs = self._node_configs()
        return self.shells.run_scripts({n: nodeconfig.render_script(config) + "ip -6 -o addr show\n"
                                         for n, config in self.configs.items()},
                                        "address and route configuration")

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
        self.shells.run_in_shells(scripts)

    # --- faults ----------------------------------------------------------------------

    def set_link(self, a: str, b: str, up: bool) -> dict[str, list[Route]]:
        """Take the link a--b down (or bring it back) and route around it.

        Both ends go administratively down, as when a fibre is cut; routes are then
        computed again from the graph without the link and only the differences are
        applied to each node. Returns the routes now in force."""
        if not self.graph.has_edge(a, b):
            raise BackendError(f"no link {a}--{b} in this network")
        return self._set_links([(a, b)], up)

    def enforce_phase(self, phase: int, segments: dict[str, list[dict]], strategy: str) -> dict:
        return self._control({"op": "prepare", "phase": phase, "strategy": strategy,
                              "segments": self.controller.segments_by_dpid(segments)})

    def commit_phase(self) -> dict:
        return self._control({"op": "commit"})

    def change_state(self, before: Prepared, after: Prepared, phase: int, strategy: str) -> dict[str, float]:
        """Move the running network to another state of its city (the next phase of a
        migration plan, on the layout it was built with): the access switches' flows
        for the phase, every node's configuration, the daemons started, replaced
        (reloaded) or stopped. Returns when it ``started``, when the new state was
        ``ready`` (its daemons listening, SLAAC addresses past DAD, leases held,
        resolvers learned) and when it was ``done`` (the old state's leftovers gone).
        Only ``before``'s daemons are compared with ``after``'s: others (a workload's
        servers) run on untouched.

        make-before-break: the switches' new flows go in above the old ones, every
        node gains what the new state adds (addresses, routes to new destinations, NAT
        tables, daemons) while it keeps what it had; the switches commit; once ready,
        what the new state no longer has is removed (old routes replaced in place,
        old addresses, daemons stopped). A node whose own transition mechanism starts
        or changes (a CPE's B4, a UE's CLAT) takes its new configuration at once, with
        it. cut-over: the old is removed first, then the
        new is built."""
        started = time.time()
        if self.layout is self.graph:
            raise BackendError("this network was built for one state of its city; a rehearsal builds the layout "
                               "of every state (EmulationBackend(layout=...))")
        old_configs = dict(self.configs)
        graph, plan = after.graph, after.plan
        self.graph, self.plan, self.routes = graph, plan, after.routes
        self.bring_up.graph, self.bring_up.plan = graph, plan
        self.bring_up.resolvers = resolvers(graph, plan, self.zone)
        new_configs = self._node_configs()
        state = {(d.NAME, d.node) for d in before.daemons()}
        running = {(d.NAME, d.node): d for d in self.daemon_runner.started if (d.NAME, d.node) in state}
        wanted = {(d.NAME, d.node): d for d in after.daemons()}
        own = after.node_daemons
        added = [d for key, d in wanted.items() if key not in running]
        removed = [d for key, d in running.items() if key not in wanted]
        changed = [(running[key], d) for key, d in wanted.items() if key in running and not self._same(running[key], d)]
        self.enforce_phase(phase, transition.access_segments(graph), strategy)
        if strategy == "cut-over":
            if removed:
                self.stop_daemons(removed)
            self.configure(new_configs)
            self.commit_phase()
        else:
            # A node whose own mechanism starts or changes (a B4, a CLAT) moves at once:
            # its mechanism replaces its old path itself, and needs the node as the new
            # state has it (the kernel flushes every IPv4 route through an interface
            # that loses its last IPv4 address, the B4's softwire route too).
            moving = {d.node for d in [*added, *(new for _, new in changed)] if d in own.mechanisms}
            self.configure({n: config if n in moving else nodeconfig.additions(old_configs[n], config)
                            for n, config in new_configs.items()})
        self.bring_up.wait_link_local({n: nodeconfig.ipv6_turned_on(old_configs[n], config)
                                       for n, config in new_configs.items()})
        if self.bring_up.rdnss is None:
            self.bring_up.spawn_rdnss()
        if added:
            self._start_mechanisms(added)
        for old, new in changed:
            self.daemon_runner.replace(old, new.succeeding(old))
        if strategy != "cut-over":
            self.commit_phase()
        self.bring_up.wait_slaac(self.configs)
        self.bring_up.wait_delegation(own.delegation_clients)
        self.bring_up.wait_resolvers()
        ready = time.time()
        if strategy != "cut-over":
            self.configure(new_configs)
            if removed:
                self.stop_daemons(removed)
        self.node_daemons = own
        return {"started": started, "ready": ready, "done": time.time()}

    def _same(self, running: Daemon, wanted: Daemon) -> bool:
        """Whether a running daemon is configured as ``wanted`` would be."""
        if type(running) is not type(wanted):
            return False
        folder = self.daemon_runner.folder(wanted)
        return all(getattr(running, f)(folder) == getattr(wanted, f)(folder)
                   for f in ("render", "setup_script", "start_command", "environment"))

    def _control(self, request: dict) -> dict:
        """A request to the controller, returned once every switch has applied it: flow
        statistics asked for after the reply follow its flow-mods on each connection."""
        reply = self.controller.control(request)
        self.counters(fresh_after=time.time())
        return reply

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
            self.shells.run_scripts(scripts, "changing the configuration of running nodes")
        self.configs.update(configs)

    def stop_daemons(self, daemons: list[Daemon]) -> None:
        """Stop these daemons, last started first, and undo what they set up."""
        self.daemon_runner.stop(daemons)

    def reload_daemon(self, daemon: Daemon) -> None:
        """Configuration rendered again and dry-run, then SIGHUP or a restart."""
        self.daemon_runner.reload(daemon)

    # --- using the running network -------------------------------------------------

    def popen(self, node: str, command: list[str], **kwargs) -> subprocess.Popen:
        return self.shells.popen(node, command, **kwargs)

    def run(self, node: str, command: list[str], timeout: float | None = None) -> CommandResult:
        return self.shells.run_many({node: command}, timeout)[node]

    def run_many(self, commands: dict[str, list[str]], timeout: float | None = None) -> dict[str, CommandResult]:
        """Run one command on each of several nodes at once; wait for all."""
        return self.shells.run_many(commands, timeout)

    def start_daemons(self, daemons: list[Daemon], ready_timeout_s: float = 10.0) -> None:
        """Configurations dry-run all at once, then started layer by layer as their
        DEPENDS ask (see DaemonRunner.start)."""
        self.daemon_runner.start(daemons, ready_timeout_s)

    def counters(self, fresh_after: float | None = None, timeout_s: float = 5.0) -> dict:
        """The controller's latest per-family counters, taken after ``fresh_after``."""
        return self.controller.counters(fresh_after, timeout_s)

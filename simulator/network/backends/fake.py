"""A backend that runs nothing: it records what is asked of it and answers commands
from a script, so that the runner, the session and the measurements have unit tests
without root. It offers the whole interface of ``base.Backend``.

    backend = FakeBackend(graph, plan, routes, answer=lambda node, command: ...)

``answer(node, command)`` returns a ``CommandResult`` (or None: exit status 0, no
output). ``calls`` lists every call as (method, arguments), in order.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import networkx as nx

from simulator.model.address_plan import ports
from simulator.model.routing import Route, compute_routes
from simulator.network.backends.base import CommandResult
from simulator.network.daemons.base import Daemon, order
from simulator.network.nodeconfig import NodeConfig
from topologies.errors import BackendError, DaemonError
from topologies.spec import Kind, node_spec

Answer = Callable[[str, list[str]], "CommandResult | None"]


class FakeBackend:
    name = "fake"

    def __init__(self, graph: nx.Graph, plan, routes: dict[str, list[Route]], *, answer: Answer | None = None,
                 **settings):
        self.graph, self.plan, self.routes = graph, plan, routes
        self.answer = answer or (lambda node, command: None)
        self.settings = settings
        self.calls: list[tuple[str, tuple]] = []
        self.timings: dict[str, float] = {}
        self.started: list[Daemon] = []
        self.configs: dict[str, NodeConfig] = {}
        self.down: frozenset = frozenset()
        self.running = False
        self.stopped = False
        self.counter_snapshots = 0

    def _record(self, method: str, *args) -> None:
        self.calls.append((method, args))

    def methods(self) -> list[str]:
        """The methods called, in order."""
        return [method for method, _ in self.calls]

    # --- lifecycle ---

    def start(self) -> None:
        self._record("start")
        if self.running or self.stopped:
            raise BackendError("this backend was already started; make a new one for another run")
        self.running = True

    def stop(self) -> None:
        if self.running and not self.stopped:
            self._record("stop")
            self.running, self.stopped = False, True

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> Literal[False]:
        self.stop()
        return False

    def _require_running(self) -> None:
        if not self.running:
            raise BackendError("the network is not running")

    def _require_node(self, node: str) -> None:
        if node not in self.graph or node_spec(self.graph, node).kind is Kind.SWITCH:
            raise BackendError(f"node {node!r}: not a host or router of this network")

    # --- commands ---

    def run(self, node: str, command: list[str], timeout: float | None = None) -> CommandResult:
        return self.run_many({node: command}, timeout)[node]

    def run_many(self, commands: dict[str, list[str]], timeout: float | None = None) -> dict[str, CommandResult]:
        self._require_running()
        results = {}
        for node, command in commands.items():
            self._require_node(node)
            self._record("run", node, tuple(command))
            results[node] = self.answer(node, list(command)) or CommandResult(node, tuple(command), 0, "", "")
        return results

    def popen(self, node: str, command: list[str], **kwargs) -> subprocess.Popen:
        self._require_running()
        self._require_node(node)
        self._record("popen", node, tuple(command))
        return subprocess.Popen(["true"], **{k: v for k, v in kwargs.items() if k in ("stdout", "stderr")})

    # --- daemons ---

    def start_daemons(self, daemons: list[Daemon], ready_timeout_s: float = 10.0) -> None:
        self._require_running()
        for layer in order(daemons):
            for daemon in layer:
                self._require_node(daemon.node)
                self._record("start_daemon", repr(daemon))
                self.started.append(daemon)

    def stop_daemons(self, daemons: list[Daemon]) -> None:
        for layer in reversed(order(daemons)):
            for daemon in layer:
                if daemon not in self.started:
                    raise DaemonError(f"{daemon}: was not started in this network")
                self._record("stop_daemon", repr(daemon))
                self.started.remove(daemon)

    def reload_daemon(self, daemon: Daemon) -> None:
        if daemon not in self.started:
            raise DaemonError(f"{daemon}: was not started in this network")
        self._record("reload_daemon", repr(daemon))

    # --- changes ---

    def configure(self, configs: dict[str, NodeConfig]) -> None:
        self._require_running()
        self._record("configure", tuple(sorted(configs)))
        self.configs.update(configs)

    def set_link(self, a: str, b: str, up: bool) -> dict[str, list[Route]]:
        if not self.graph.has_edge(a, b):
            raise BackendError(f"no link {a}--{b} in this network")
        self._record("set_link", a, b, up)
        edge = frozenset((a, b))
        self.down = (self.down - {edge}) if up else (self.down | {edge})
        self.routes = compute_routes(self.graph, self.plan, self.down)
        return self.routes

    def set_node(self, node: str, up: bool) -> dict[str, list[Route]]:
        self._record("set_node", node, up)
        edges = {frozenset((node, peer)) for peer in self.graph.neighbors(node)}
        self.down = (self.down - edges) if up else (self.down | edges)
        self.routes = compute_routes(self.graph, self.plan, self.down)
        return self.routes

    def interface_name(self, node: str, peer: str) -> str:
        return f"{node}-e{ports(self.graph, node)[peer]}"

    def enforce_phase(self, phase: int, segments: dict[str, list[dict]], strategy: str) -> dict:
        self._record("enforce_phase", phase, strategy)
        return {"ok": True, "phase": phase, "flows_changed": 0, "pending": 0}

    def commit_phase(self) -> dict:
        self._record("commit_phase")
        return {"ok": True, "flows_changed": 0, "pending": 0}

    # --- measuring ---

    def warm_up(self) -> None:
        self._require_running()
        self._record("warm_up")

    def counters(self, fresh_after: float | None = None) -> dict:
        """Counters that grow by 1000 bytes and 10 packets per family and switch at each call."""
        self._require_running()
        self._record("counters")
        self.counter_snapshots += 1
        count = self.counter_snapshots
        switches = sorted(n for n in self.graph if node_spec(self.graph, n).kind is Kind.SWITCH)
        family = {"packets": 10 * count, "bytes": 1000 * count}
        return {"time": time.time(), "seq": count, "switches": {
            switch: {"connected": True, "families": {"ipv4": dict(family), "ipv6": dict(family)},
                     "learned_flows": {"ipv4": 1, "ipv6": 1}, "mechanisms": {},
                     "neighbor_discovery": {"packets": 0, "bytes": 0}} for switch in switches}}

    @contextlib.contextmanager
    def capture(self, links: list[tuple[str, str, Path]]):
        self._record("capture", tuple((a, b) for a, b, _ in links))
        yield

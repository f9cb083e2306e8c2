"""The one interface every backend offers, and the only one the runner, the session
and the measurements use.

The emulation backend (``emulation``) runs the graph in Mininet; the fake backend
(``fake``) records what is asked of it and answers from a script, so that the runner
and the measurements have unit tests without root; a model backend (later) will
compute the same outputs from the graph alone.
"""

from __future__ import annotations

import subprocess
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from simulator.model.routing import Route
from simulator.network.daemons.base import Daemon
from simulator.network.nodeconfig import NodeConfig


@dataclass(frozen=True)
class CommandResult:
    node: str
    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Backend(Protocol):
    name: str
    # Seconds each phase took (build_s, address_s, warm_up_s, stop_s, ...).
    timings: dict[str, float]

    # --- lifecycle: a context manager; stop() is idempotent and runs on error ---
    def start(self) -> None: ...

    def stop(self) -> None: ...

    def __enter__(self) -> Backend: ...

    def __exit__(self, *exc) -> bool: ...

    # --- commands in a node (a host or router, never a switch) ---
    def run(self, node: str, command: list[str], timeout: float | None = None) -> CommandResult: ...

    def run_many(self, commands: dict[str, list[str]], timeout: float | None = None) -> dict[str, CommandResult]: ...

    def popen(self, node: str, command: list[str], **kwargs) -> subprocess.Popen: ...

    # --- daemons: started in the order given (see simulator.network.daemons.order) ---
    def start_daemons(self, daemons: list[Daemon], ready_timeout_s: float = 10.0) -> None: ...

    def stop_daemons(self, daemons: list[Daemon]) -> None: ...

    def reload_daemon(self, daemon: Daemon) -> None: ...

    # --- changes to the running network ---
    def configure(self, configs: dict[str, NodeConfig]) -> None:
        """Bring running nodes to these configurations (what differs is applied)."""

    def set_link(self, a: str, b: str, up: bool) -> dict[str, list[Route]]:
        """A link down (or up again), routed around; returns the routes in force."""

    def set_node(self, node: str, up: bool) -> dict[str, list[Route]]:
        """Every link of a node down (or up again), routed around."""

    def interface_name(self, node: str, peer: str) -> str:
        """The name of ``node``'s interface towards ``peer``."""

    def enforce_phase(self, phase: int, segments: dict[str, list[dict]], strategy: str) -> dict:
        """The access switches move to a phase's segments (``transition.access_segments``
        by switch name), as far as the strategy goes before a verify; the reply says
        how many flows changed and how many removals wait for ``commit_phase``."""

    def commit_phase(self) -> dict:
        """The rest of a prepared phase change: the old flows go."""

    # --- measuring ---
    def warm_up(self) -> None: ...

    def counters(self, fresh_after: float | None = None) -> dict:
        """The controller's per-switch counters, read after ``fresh_after`` (a time.time())."""

    def capture(self, links: list[tuple[str, str, Path]]) -> AbstractContextManager:
        """tcpdump at a's end of each (a, b, pcap path) while the block runs."""

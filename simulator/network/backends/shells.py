"""Commands in the emulated nodes: through Mininet's own node shells (cheap, for the
many short steps of bringing a network up) or as processes of their own (for
measurements and daemons). Plus the small process and polling helpers the emulation
backend's parts share."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx

from simulator.network.backends.base import CommandResult
from topologies.errors import BackendError
from topologies.spec import Kind, node_spec


class NodeShells:
    def __init__(self, graph: nx.Graph, workdir: Path):
        self.graph, self.workdir = graph, workdir
        # Mininet has no type hints: its nodes are Any. Filled as the network is built.
        self.nodes: dict[str, Any] = {}
        self._scripts = 0

    def popen(self, node: str, command: list[str], **kwargs) -> subprocess.Popen:
        if node not in self.nodes or node_spec(self.graph, node).kind is Kind.SWITCH:
            raise BackendError(f"node {node!r}: not a host or router of this network")
        return self.nodes[node].popen(command, **kwargs)

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

    def run_in_shells(self, scripts: dict[str, str]) -> dict[str, CommandResult]:
        """Run a short shell script on each node through the node's own shell, all at once.

        Cheaper than run_many for the many small steps of bringing a network up: no
        process is started per node (mnexec, sh), the shells Mininet keeps do the work.
        Only for scripts that end quickly; measurements use run_many.
        """
        folder = self.workdir / "scripts"
        folder.mkdir(exist_ok=True)
        self._scripts += 1
        files = {}
        for node, script in scripts.items():
            base = folder / f"{node}.{self._scripts}"
            Path(f"{base}.sh").write_text(script)
            files[node] = base
            self.nodes[node].sendCmd(f"sh {base}.sh > {base}.out 2> {base}.err; echo $? > {base}.rc")
        results = {}
        for node, base in files.items():
            self.nodes[node].waitOutput()
            code = read(Path(f"{base}.rc")).strip()
            results[node] = CommandResult(node, ("sh", f"{base}.sh"), int(code) if code.isdigit() else -1,
                                          read(Path(f"{base}.out")), read(Path(f"{base}.err")))
        return results

    def run_scripts(self, scripts: dict[str, str], what: str) -> dict[str, CommandResult]:
        """``run_in_shells``, raising one BackendError that names the nodes that failed."""
        results = self.run_in_shells(scripts)
        failed = {n: r for n, r in results.items() if not r.ok}
        if failed:
            shown = sorted(failed.items())[:5]
            more = f" (and {len(failed) - len(shown)} more nodes)" if len(failed) > len(shown) else ""
            raise BackendError(f"{what} failed on " + "; ".join(
                f"{n}: {r.stderr.strip() or r.stdout.strip()}" for n, r in shown) + more)
        return results


def read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def tail(path: Path, lines: int = 15) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) or "(empty log)"


def terminate(process: subprocess.Popen, grace_s: float = 2.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def some(names: list[str], limit: int = 8) -> str:
    return ", ".join(names[:limit]) + (", ..." if len(names) > limit else "")


def poll(pending: list, still_pending: Callable[[list], list], timeout_s: float, interval_s: float,
         failure: Callable[[list], str]) -> None:
    """Ask ``still_pending(pending)`` again until it returns nothing; past the
    timeout raise a BackendError saying ``failure(pending)``."""
    deadline = time.monotonic() + timeout_s
    while pending:
        pending = still_pending(pending)
        if pending and time.monotonic() > deadline:
            raise BackendError(failure(pending))
        if pending:
            time.sleep(interval_s)

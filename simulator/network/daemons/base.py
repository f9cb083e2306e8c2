"""What every daemon that runs inside a node has: a name, what it needs, what it
depends on, its rendered configuration, a dry-run check, the command that starts it,
and how it is reloaded and stopped.

``render()`` needs no root and no network, so configurations have unit tests; the
backend writes the files, runs ``check_command`` and only then starts the daemon.
``order`` puts a set of daemons in the order their ``DEPENDS`` ask for: each layer
starts once the layer before listens, and stops after the layer after it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from topologies.errors import DaemonError


@dataclass(frozen=True)
class OfflineCheck:
    """A dry run as ``v6lab topo check`` runs it, outside any node: its name, its
    command, whether it needs a network namespace of its own (``nft -c``) or root,
    and why it can only run inside the node (then it has no command here)."""

    label: str
    command: tuple[str, ...] = ()
    namespace: bool = False
    root: bool = False
    node_only: str = ""


class Daemon:
    NAME = ""
    BINARIES: tuple[str, ...] = ()
    # Where the daemon is ready: (transport, port) pairs the backend waits for.
    LISTENS: tuple[tuple[str, int], ...] = ()
    # Whether the dry run must run inside the node (it looks at the node's interfaces).
    CHECK_IN_NODE = False
    # NAMEs of the daemons that must be up first (a DHCPv6 client needs its server,
    # a B4 its AFTR), wherever they run.
    DEPENDS: tuple[str, ...] = ()
    # How a changed configuration is taken: "hup" (the daemon rereads its files on
    # SIGHUP) or "restart".
    RELOAD = "restart"

    def __init__(self, node: str):
        self.node = node

    def render(self, folder: Path) -> dict[str, str]:
        """File name -> content, to be written into ``folder`` (the daemon's own)."""
        return {}

    def write_config(self, folder: Path) -> Path:
        """Render into ``folder`` (made if missing) and return it."""
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in self.render(folder).items():
            (folder / name).write_text(content)
        return folder

    def environment(self, folder: Path) -> dict[str, str]:
        """Extra environment variables for the daemon."""
        return {}

    def check_command(self, folder: Path) -> list[str] | None:
        """A dry run of the configuration (``unbound-checkconf``, ...), or None."""
        return None

    def offline_checks(self, folder: Path) -> list[OfflineCheck]:
        """The dry runs ``v6lab topo check`` can run without the network: by default
        the whole check, unless it must run inside the node."""
        command = self.check_command(folder)
        if command is None:
            return []
        label = Path(command[0]).name + (f" {command[1]}" if len(command) > 1 and command[1].startswith("-") else "")
        if self.CHECK_IN_NODE:
            return [OfflineCheck(label, node_only="it looks at the node's interfaces")]
        return [OfflineCheck(label, tuple(command))]

    def setup_script(self, folder: Path) -> str | None:
        """Shell commands run in the node after the check and before the start
        (tunnel devices, routes, nftables rules), or None."""
        return None

    def start_command(self, folder: Path) -> list[str] | None:
        """The daemon's command line; None for a function of the node's kernel alone
        (routes and rules), which has no process and ends with the node."""
        raise NotImplementedError

    def stop_script(self, folder: Path) -> str | None:
        """Shell commands that undo ``setup_script`` in a running node (after the
        process, if any, has ended), or None when there is nothing to undo."""
        return None

    def reloads(self, running: Daemon) -> bool:
        """Whether this configuration can be taken by ``running`` on SIGHUP (RELOAD
        "hup"), or needs a restart: by default whenever the daemon rereads its files."""
        return self.RELOAD == "hup"

    def succeeding(self, running: Daemon) -> Daemon:
        """What this daemon is when it takes over from ``running`` (the same daemon on
        the same node, configured otherwise) while the network runs: by default
        itself; radvd also withdraws what it announced before."""
        return self

    def __repr__(self) -> str:
        return f"{self.NAME}@{self.node}"


def order(daemons: Iterable[Daemon]) -> list[list[Daemon]]:
    """Layers to start in turn: each daemon comes after every daemon whose NAME it
    DEPENDS on (a dependency absent from the set is not waited for). Stop them in
    the reverse order."""
    pending = list(daemons)
    layers: list[list[Daemon]] = []
    placed: set[str] = set()
    while pending:
        present = {d.NAME for d in pending}
        layer = [d for d in pending if not (set(d.DEPENDS) & present)]
        if not layer:
            names = ", ".join(sorted(f"{d} (needs {', '.join(d.DEPENDS)})" for d in pending))
            raise DaemonError(f"daemons that depend on each other in a circle: {names}")
        layers.append(layer)
        placed |= {d.NAME for d in layer}
        pending = [d for d in pending if d not in layer]
    return layers


def wait_checks(started: Iterable[tuple[Daemon, Sequence[str], subprocess.Popen]], timeout_s: float = 30.0) -> None:
    """Wait for dry runs started side by side; raise a DaemonError naming the first
    that failed, with what it printed."""
    failed = None
    for daemon, check, process in started:
        try:
            out, err = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
        if process.returncode != 0 and failed is None:
            failed = DaemonError(f"{daemon}: configuration check '{' '.join(check)}' failed:\n"
                                 f"{(err or out).decode(errors='replace').strip()}")
    if failed is not None:
        raise failed

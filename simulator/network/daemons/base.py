"""What every daemon that runs inside a node has: a name, what it needs, its rendered
configuration, a dry-run check and the command that starts it.

``render()`` needs no root and no network, so configurations have unit tests; the
backend writes the files, runs ``check_command`` and only then starts the daemon.
"""

from __future__ import annotations

from pathlib import Path


class Daemon:
    NAME = ""
    BINARIES: tuple[str, ...] = ()
    # Where the daemon is ready: (transport, port) pairs the backend waits for.
    LISTENS: tuple[tuple[str, int], ...] = ()
    # Whether the dry run must run inside the node (it looks at the node's interfaces).
    CHECK_IN_NODE = False

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

    def setup_script(self, folder: Path) -> str | None:
        """Shell commands run in the node after the check and before the start
        (tunnel devices, routes, nftables rules), or None."""
        return None

    def start_command(self, folder: Path) -> list[str] | None:
        """The daemon's command line; None for a function of the node's kernel alone
        (routes and rules), which has no process and ends with the node."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{self.NAME}@{self.node}"

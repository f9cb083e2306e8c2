"""Daemons inside emulated nodes: configurations written and dry-run, setup scripts,
processes started in the order their dependencies ask and waited for until they
listen; stopped, undone and reloaded while the network runs."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from simulator.network.backends.shells import NodeShells, terminate
from simulator.network.daemons.base import Daemon, order, wait_checks
from topologies.errors import DaemonError


class DaemonRunner:
    def __init__(self, shells: NodeShells, workdir: Path, located: Callable[[Path], Path] = lambda path: path):
        """``located``: where a file of the work folder is read after the run."""
        self.shells, self.workdir, self.located = shells, workdir, located
        self.processes: list[tuple[Daemon, subprocess.Popen]] = []
        self.started: list[Daemon] = []      # with a process or not, in the order started

    def folder(self, daemon: Daemon) -> Path:
        return self.workdir / daemon.node / daemon.NAME

    def start(self, daemons: list[Daemon], ready_timeout_s: float = 10.0) -> None:
        """Write every configuration and dry-run them all at once (a bad one stops
        the batch before anything starts), then, layer by layer in the order their
        DEPENDS ask for, run the setup scripts, start the daemons and wait for all of
        them to listen: a city's dozens of daemons come up side by side, not one by one."""
        folders = {id(daemon): daemon.write_config(self.folder(daemon)) for daemon in daemons}
        self.check(daemons, [folders[id(d)] for d in daemons])
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
            results = self.shells.run_in_shells({daemon.node: script for daemon, script in setups.items()})
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
                process = self.shells.popen(daemon.node, command, stdout=log,
                                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                            env={**os.environ, **daemon.environment(folder)})
            self.processes.append((daemon, process))
            started.append((daemon, folder, process))
        deadline = time.monotonic() + ready_timeout_s
        while started:
            waiting = []
            for daemon, folder, process in started:
                if process.poll() is not None:
                    raise DaemonError(f"{daemon}: exited with status {process.returncode}:\n"
                                      f"{(folder / 'daemon.log').read_text(errors='replace')[-2000:]}")
                if not self.listening(daemon):
                    waiting.append((daemon, folder, process))
            started = waiting
            if started and time.monotonic() > deadline:
                daemon, folder, _ = started[0]
                raise DaemonError(f"{daemon}: not listening on {daemon.LISTENS} after {ready_timeout_s:g} s; "
                                  f"see {self.located(folder / 'daemon.log')}")
            if started:
                time.sleep(0.1)

    def check(self, daemons: list[Daemon], folders: list[Path]) -> None:
        """Every daemon's dry run (``radvd --configtest``, ``kea-dhcp6 -t``, ...), all at once."""
        checks = []
        for daemon, folder in zip(daemons, folders, strict=True):
            check = daemon.check_command(folder)
            if check is None:
                continue
            try:
                if daemon.CHECK_IN_NODE:
                    process = self.shells.popen(daemon.node, check, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                else:
                    process = subprocess.Popen(check, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            except FileNotFoundError:
                raise DaemonError(f"{daemon}: {check[0]} is not installed; run 'sudo scripts/setup.sh'") from None
            checks.append((daemon, check, process))
        wait_checks(checks)

    def listening(self, daemon: Daemon) -> bool:
        if not daemon.LISTENS:
            return True
        out = self.shells.run_many({daemon.node: ["ss", "-Hlntu"]})[daemon.node].stdout
        ports = {(line.split()[0], line.split()[4].rsplit(":", 1)[-1]) for line in out.splitlines() if line.strip()}
        return all((proto, str(port)) in ports for proto, port in daemon.LISTENS)

    def process_of(self, daemon: Daemon) -> subprocess.Popen | None:
        return next((p for d, p in self.processes if d is daemon), None)

    def stop(self, daemons: list[Daemon]) -> None:
        """Stop these daemons, in the reverse of their start order: end the process
        (if any), then undo what the daemon's setup did in its node."""
        for layer in reversed(order(daemons)):
            undo: dict[str, str] = {}
            for daemon in layer:
                if daemon not in self.started:
                    raise DaemonError(f"{daemon}: was not started in this network")
                process = self.process_of(daemon)
                script = daemon.stop_script(self.folder(daemon))
                if process is None and script is None:
                    raise DaemonError(f"{daemon}: has no process and nothing to undo; it cannot be stopped alone")
                if process is not None:
                    terminate(process)
                    self.processes = [(d, p) for d, p in self.processes if d is not daemon]
                if script:
                    undo[daemon.node] = undo.get(daemon.node, "") + script
                self.started.remove(daemon)
            if undo:
                self.shells.run_scripts(undo, "undoing what stopped daemons set up")

    def reload(self, daemon: Daemon) -> None:
        """Its configuration rendered again and dry-run; then SIGHUP for a daemon that
        rereads its files, else a restart."""
        if daemon not in self.started:
            raise DaemonError(f"{daemon}: was not started in this network")
        folder = daemon.write_config(self.folder(daemon))
        self.check([daemon], [folder])
        process = self.process_of(daemon)
        if daemon.RELOAD == "hup" and process is not None and process.poll() is None:
            process.send_signal(signal.SIGHUP)
            return
        self.stop([daemon])
        self.start([daemon])

    def replace(self, old: Daemon, new: Daemon) -> None:
        """``new`` in place of the running ``old`` (the same daemon on the same node,
        configured otherwise): its files rendered and dry-run, then SIGHUP for a
        daemon that rereads them, else ``old`` stopped and undone and ``new`` started."""
        if old not in self.started:
            raise DaemonError(f"{old}: was not started in this network")
        process = self.process_of(old)
        if type(new) is type(old) and new.reloads(old) and process is not None and process.poll() is None:
            folder = new.write_config(self.folder(new))
            self.check([new], [folder])
            self.started[self.started.index(old)] = new
            self.processes = [(new if d is old else d, p) for d, p in self.processes]
            process.send_signal(signal.SIGHUP)
            return
        self.stop([old])
        self.start([new])

    def terminate_all(self) -> None:
        """Every process, last started first (teardown; the nodes go next)."""
        for _, process in reversed(self.processes):
            terminate(process)

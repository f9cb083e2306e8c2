"""The os-ken controller as a process of the run: started from the project's launcher
on loopback, asked (through the snapshots it writes) which switches have connected
and what its counters say."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from simulator.network.backends.shells import tail, terminate
from topologies.errors import BackendError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ControllerProcess:
    def __init__(self, workdir: Path, app: str, policy: dict, dpids: dict[str, str], connect_timeout_s: float = 30.0,
                 located: Callable[[Path], Path] = lambda path: path):
        """``policy``: what table 0 classifies (simulator.model.transition.controller_policy);
        ``dpids``: switch name -> its datapath id, as the switches present themselves;
        ``located``: where a file of the work folder is read after the run."""
        self.located = located
        self.workdir, self.app, self.policy, self.dpids = workdir, app, policy, dpids
        self.connect_timeout_s = connect_timeout_s
        self.port = self.control_port = 0
        self.stats_path = workdir / "controller-stats.json"
        self.log = workdir / "controller.log"
        self.process: subprocess.Popen | None = None

    def spawn(self) -> None:
        """Start it; its interpreter comes up while the network is built."""
        self.port = free_port()
        self.control_port = free_port()
        mechanisms = self.workdir / "controller-mechanisms.json"
        # The controller knows switches by datapath id only.
        segments = self.segments_by_dpid(self.policy.get("segments", {}))
        mechanisms.write_text(json.dumps({**self.policy, "segments": segments}))
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controllers.launcher", "--app", self.app,
                 "--host", "127.0.0.1", "--port", str(self.port),
                 "--stats-file", str(self.stats_path), "--stats-interval", "0.5",
                 "--mechanisms", str(mechanisms), "--control-port", str(self.control_port)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def segments_by_dpid(self, segments: dict[str, list[dict]]) -> dict[str, list[dict]]:
        """Switch name -> segments, as the controller knows switches: by datapath id."""
        return {str(int(self.dpids[name], 16)): value for name, value in segments.items() if name in self.dpids}

    def control(self, request: dict, timeout_s: float = 10.0) -> dict:
        """One request over the controller's control channel (loopback); its reply."""
        self._running()
        try:
            with socket.create_connection(("127.0.0.1", self.control_port), timeout=timeout_s) as channel:
                channel.sendall((json.dumps(request) + "\n").encode())
                reply = channel.makefile("r").readline()
        except OSError as error:
            raise BackendError(f"the controller's control channel (127.0.0.1:{self.control_port}): {error}") from None
        answer = json.loads(reply) if reply else {"ok": False, "error": "no reply"}
        if not answer.get("ok"):
            raise BackendError(f"the controller refused {request.get('op')!r}: {answer.get('error')}")
        return answer

    def _running(self) -> subprocess.Popen:
        if self.process is None:
            raise BackendError("the controller was never started (start() starts it before the switches)")
        return self.process

    def wait_listening(self, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        process = self._running()
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BackendError(f"the controller exited with status {process.returncode}:\n{tail(self.log)}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise BackendError(f"the controller did not listen on 127.0.0.1:{self.port} within {timeout_s:g} s:\n"
                           f"{tail(self.log)}")

    def unconnected(self) -> list[str]:
        """Switches the controller has not completed its handshake with, by name.

        Asked of the controller, not of OVSDB: ovs-vswitchd refreshes the Controller
        table's is_connected only every few seconds, the controller knows at once.
        """
        try:
            snapshot = json.loads(self.stats_path.read_text())
        except (OSError, ValueError):
            return sorted(self.dpids)
        connected = {dpid for dpid, value in snapshot["switches"].items() if value["connected"]}
        return [s for s in sorted(self.dpids) if self.dpids[s] not in connected]

    def wait_connected(self) -> None:
        deadline = time.monotonic() + self.connect_timeout_s
        while True:
            missing = self.unconnected()
            if not missing:
                return
            if self._running().poll() is not None:
                raise BackendError(f"the controller died while switches connected:\n{tail(self.log)}")
            if time.monotonic() > deadline:
                raise BackendError(
                    f"{len(missing)} of {len(self.dpids)} switches never connected to the controller "
                    f"at 127.0.0.1:{self.port} within {self.connect_timeout_s:g} s: "
                    f"{', '.join(missing)}. Check 'ovs-vsctl show' and {self.located(self.log)}; "
                    "raise controller.connect_timeout_s for large networks")
            time.sleep(0.1)

    def counters(self, fresh_after: float | None = None, timeout_s: float = 5.0) -> dict:
        """The controller's latest per-family counters, taken after ``fresh_after``,
        keyed by switch name."""
        fresh_after = time.time() if fresh_after is None else fresh_after
        names = {dpid: name for name, dpid in self.dpids.items()}
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                snapshot = json.loads(self.stats_path.read_text())
                if snapshot["time"] >= fresh_after:
                    snapshot["switches"] = {names.get(dpid, dpid): value
                                            for dpid, value in snapshot["switches"].items()}
                    return snapshot
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise BackendError(f"the controller wrote no counters for {timeout_s:g} s "
                                   f"({self.stats_path}); see {self.located(self.log)}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)

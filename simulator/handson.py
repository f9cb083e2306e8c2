"""Hands-on mode: a city that stays up while people work in it.

    v6lab up [SCENARIO] [--cli]     build the city and leave it running
    v6lab up SCENARIO --step        ... as its migration plan starts, then apply the plan
                                    one phase at a time, waiting for the operator in between
    v6lab step                      apply the next phase of the city that is up
    v6lab exec NODE -- COMMAND...   run a command in a node (exit status and output are the command's)
    v6lab cli                       Mininet's CLI on the running city
    v6lab down                      stop it; nothing is left

The city is held by a process of its own (the *holder*, ``python -m
simulator.handson``), detached from the terminal: Mininet's node shells, the
controller and the daemons live as long as it does. ``up`` starts it, relays its
progress and returns once the city is ready. Only one city is up at a time; the
session file in the state folder says which, and where the holder listens (a Unix
socket, root only).

``exec`` needs no holder: it enters the node's network and mount namespaces
(``mnexec -a``), so the command sees the node's interfaces and its own
/etc/resolv.conf, exactly as a program started by the run would. ``cli`` hands the
terminal to the holder (its file descriptors, over the socket), which forks
Mininet's CLI onto it. ``down`` asks the holder to stop, then checks by run tag that
nothing is left and removes what is.

With ``--step`` the holder builds the network of every state of the plan (as ``v6lab
run`` does for a rehearsal, ``simulator.rehearse``) in its first state; each ``step``
request applies the next phase live, change by change, each with its strategy, and
streams the progress back. ``up --step`` asks before each phase (Enter applies it,
``cli`` opens Mininet's CLI to look around first, ``q`` stops asking and leaves the
city up); read from a pipe, each line is an Enter and the end of input a ``q``.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from simulator.network import cleanup
from topologies.errors import BackendError, TestbedError

SESSION_FILE = cleanup.STATE_DIR / "session.json"
SOCKET_FILE = cleanup.STATE_DIR / "session.sock"
READY = "v6lab-holder-ready"


# --- the session file --------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _session_file() -> dict | None:
    try:
        session = json.loads(SESSION_FILE.read_text())
    except (OSError, ValueError):
        return None
    return session if isinstance(session, dict) else None


def current() -> dict | None:
    """The city that is up, or None (a session whose holder died is not up)."""
    session = _session_file()
    return session if session is not None and _alive(session.get("pid", 0)) else None


def _require() -> dict:
    session = current()
    if session is None:
        raise TestbedError("no city is up; start one with 'v6lab up [SCENARIO]'")
    return session


def _stale() -> dict | None:
    """A session file whose holder is gone (killed, or the machine's processes ended)."""
    session = _session_file()
    return session if session is not None and not _alive(session.get("pid", 0)) else None


# --- up ----------------------------------------------------------------------------------------


def up(scenario: str | None, results: Path | None, quiet: bool, open_cli: bool, step: bool = False) -> int:
    running = current()
    if running is not None:
        raise TestbedError(f"a city is already up: {running['scenario']} (run {running['run_id']}, since "
                           f"{running['started']}); work in it with 'v6lab exec' or 'v6lab cli', or stop it "
                           "with 'v6lab down'")
    stale = _stale()
    if stale is not None:
        found = cleanup.clean(stale["prefix"])
        SESSION_FILE.unlink(missing_ok=True)
        print(f"note: the city of run {stale['run_id']} had stopped without 'v6lab down'; removed what it left "
              f"({found.describe()})", file=sys.stderr)
    from simulator.runner import new_run_id
    run_id, prefix = new_run_id()
    command = [sys.executable, "-m", "simulator.handson", "--run-id", run_id] + ([scenario] if scenario else []) + (
        ["--results", str(results)] if results else []) + (["--quiet"] if quiet else []) + (
        ["--step"] if step else [])
    # Its own session: the holder outlives this command and the terminal's Ctrl-C.
    # Tagged with the run's prefix from its start, so that 'v6lab clean' finds it too.
    holder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              text=True, start_new_session=True, env={**os.environ, cleanup.ENV_TAG: prefix})
    output = holder.stdout or iter(())
    ready = False
    try:
        for line in output:
            if line.startswith(READY):
                ready = True
                break
            sys.stderr.write(line)
    except KeyboardInterrupt:
        # The holder tears its half-built city down on SIGTERM, as a run does on Ctrl-C.
        holder.terminate()
        for line in output:
            sys.stderr.write(line)
        holder.wait()
        print("interrupted: everything the city started has been removed", file=sys.stderr)
        return 130
    if not ready:
        return holder.wait() or 1
    session = _require()
    print(f"city {session['scenario']} is up (run {session['run_id']}): 'v6lab exec NODE -- COMMAND', "
          "'v6lab cli', 'v6lab down'" + (", 'v6lab step'" if step else ""))
    if step:
        return _step_by_hand()
    return cli() if open_cli else 0


# --- stepping through a plan --------------------------------------------------------------------


def _ask(request: dict) -> dict:
    """One request to the holder; lines it streams meanwhile go to stderr."""
    with _connect(_require()) as sock:
        _send(sock, request)
        for reply in _replies(sock):
            if "line" in reply:
                sys.stderr.write(reply["line"])
                sys.stderr.flush()
                continue
            if "error" in reply:
                raise TestbedError(reply["error"])
            return reply
    raise BackendError("the city's holder closed the connection without an answer; its log is holder.log in the "
                       "run's folder")


def _describe(phase: dict) -> str:
    return (f"phase {phase['index']} of {phase['count']} '{phase['phase']}': "
            + "; ".join(f"{c['change']} ({c['strategy']})" for c in phase["changes"]))


def step() -> int:
    """Apply the next phase of the plan of the city that is up."""
    reply = _ask({"op": "step"})
    for change in reply["applied"]:
        print(f"  {change['change']} ({change['strategy']}): ready in {change['ready_s']:.1f} s, "
              f"done in {change['done_s']:.1f} s")
    following = reply.get("next")
    print(f"phase {reply['index']} of {reply['count']} '{reply['phase']}' applied; "
          + (f"next: {_describe(following)} ('v6lab step')" if following else
             "the plan is done: the city is as its last phase leaves it"))
    return 0


def _step_by_hand() -> int:
    """Before each phase, wait for the operator: Enter applies it, 'cli' opens the CLI, 'q' stops asking."""
    while True:
        following = _ask({"op": "position"}).get("next")
        if following is None:
            print("the plan is done; the city stays up: 'v6lab exec', 'v6lab cli', 'v6lab down'")
            return 0
        print(f"next: {_describe(following)}\n  Enter applies it, 'cli' opens Mininet's CLI, 'q' stops asking "
              "(the city stays up; 'v6lab step' goes on): ", end="", flush=True)
        answer = sys.stdin.readline()
        if not sys.stdin.isatty():
            print()
        if answer.strip() == "cli":
            cli()
            continue
        if not answer or answer.strip() in ("q", "quit"):
            print("stopped asking; the city stays up: 'v6lab step' applies the next phase, 'v6lab down' stops it")
            return 0
        step()


# --- exec --------------------------------------------------------------------------------------


def exec_(node: str, command: list[str]) -> int:
    session = _require()
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise TestbedError("give the command to run after the node: v6lab exec NODE -- COMMAND...")
    nodes = session["nodes"]
    if node not in nodes:
        if node in session.get("switches", []):
            raise TestbedError(f"{node} is a switch (an Open vSwitch bridge), not a host or router: nothing runs "
                               "in it; 'ovs-ofctl -O OpenFlow13 dump-flows' shows its flows")
        shown = ", ".join(sorted(nodes)[:12]) + (", ..." if len(nodes) > 12 else "")
        raise TestbedError(f"no node {node!r} in the city that is up ({session['scenario']}); its nodes: {shown}")
    # Tagged like everything the run starts, so that 'down' also ends what it leaves running.
    environment = {**os.environ, cleanup.ENV_TAG: session["prefix"]}
    try:
        return subprocess.call(["mnexec", "-a", str(nodes[node]), *command], env=environment)
    except KeyboardInterrupt:
        return 130


# --- talking to the holder ---------------------------------------------------------------------


def _connect(session: dict) -> socket.socket:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(session["socket"])
    except OSError as error:
        client.close()
        raise BackendError(f"the city's holder (pid {session['pid']}) does not answer on {session['socket']}: "
                           f"{error.strerror or error}; 'v6lab down' stops it anyway") from None
    return client


def _send(sock: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = (json.dumps(message) + "\n").encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.sendall(data)


def _replies(sock: socket.socket):
    buffer = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield json.loads(line)


def cli() -> int:
    session = _require()
    with _connect(session) as sock:
        _send(sock, {"op": "cli"}, [0, 1, 2])
        replies = _replies(sock)
        first: dict[str, Any] = next(replies, {})
        if "error" in first:
            raise BackendError(first["error"])
        child = first["pid"]
        # Ctrl-C is the terminal's, and so reaches this process: the CLI gets it.
        previous = signal.signal(signal.SIGINT, lambda *_: os.kill(child, signal.SIGINT))
        try:
            for _ in replies:
                break
        finally:
            signal.signal(signal.SIGINT, previous)
    return 0


# --- down --------------------------------------------------------------------------------------


def down(timeout_s: float = 120.0) -> int:
    session = current()
    if session is None:
        stale = _stale()
        if stale is None:
            print("no city is up: nothing to stop")
            return 0
        found = cleanup.clean(stale["prefix"])
        SESSION_FILE.unlink(missing_ok=True)
        print(f"the city of run {stale['run_id']} had already stopped; removed what it left ({found.describe()})")
        return 0
    try:
        with _connect(session) as sock:
            _send(sock, {"op": "down"})
            for _ in _replies(sock):
                break
    except BackendError:
        os.kill(session["pid"], signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(session["pid"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(session["pid"]):
        os.kill(session["pid"], signal.SIGKILL)
    left = cleanup.clean(session["prefix"])
    SESSION_FILE.unlink(missing_ok=True)
    extra = "" if left.empty else f"; removed what the holder left ({left.describe()})"
    print(f"city {session['scenario']} (run {session['run_id']}) is down{extra}")
    return 0


# --- the holder ---------------------------------------------------------------------------------


def _open_cli(backend, fds: list[int]) -> int:
    """Fork Mininet's CLI onto the terminal whose descriptors came over the socket.
    Nodes answer to the city's names (d1u1) as well as Mininet's (<run prefix>d1u1)."""
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child:
        for fd in fds:
            os.close(fd)
        return child
    try:
        for target, fd in zip((0, 1, 2), fds, strict=False):
            os.dup2(fd, target)
        from mininet.cli import CLI
        from mininet.log import setLogLevel
        setLogLevel("output")
        for name, node in backend.nodes.items():
            backend.net.nameToNode.setdefault(name, node)
        CLI(backend.net)
    finally:
        os._exit(0)


class _PeerLines:
    """A stream whose lines go to a peer as {"line": ...} (a Progress's, while it steps)."""

    def __init__(self, peer: socket.socket):
        self.peer = peer

    def write(self, text: str) -> None:
        try:
            _send(self.peer, {"line": text})
        except OSError:
            pass        # the operator left; the phase goes on

    def flush(self) -> None:
        pass


class Stepper:
    """The plan of a city brought up with --step, and where the running network is in it."""

    def __init__(self, net, rehearsal, phases):
        self.net, self.rehearsal, self.phases = net, rehearsal, phases
        self.phase, self.at = 0, 0          # phases applied; index of the city's state in rehearsal.states

    def next(self) -> dict | None:
        if self.phase == len(self.phases):
            return None
        phase = self.phases[self.phase]
        return {"index": self.phase + 1, "count": len(self.phases), "phase": phase.name,
                "changes": [{"change": c.describe(), "strategy": c.strategy} for c in phase.changes]}

    def step(self, stream) -> dict:
        """Apply the next phase; its progress lines go to ``stream``."""
        from simulator.progress import Progress
        from simulator.rehearse import apply_phase
        if self.phase == len(self.phases):
            raise TestbedError(f"the plan is done: all {len(self.phases)} phases are applied; 'v6lab down' stops "
                               "the city")
        phase = self.phases[self.phase]
        done = apply_phase(self.net, self.rehearsal.states, self.at, self.phase + 1, len(self.phases), phase,
                           Progress(stream=stream), settle=False)
        self.phase, self.at = self.phase + 1, done[-1].state
        return {"index": self.phase, "count": len(self.phases), "phase": phase.name, "next": self.next(),
                "applied": [{"change": d.change.describe(), "strategy": d.change.strategy,
                             "ready_s": d.times["ready"] - d.times["started"],
                             "done_s": d.times["done"] - d.times["started"]} for d in done]}


def _serve(net, server: socket.socket, stepper: Stepper | None = None) -> None:
    """Answer requests until one says down; one CLI at a time."""
    cli_child, cli_peer = None, None
    # Not select.select: a city of 1,000 nodes holds more than FD_SETSIZE (1,024)
    # descriptors (a pty per node), so this socket's number is beyond what select takes.
    selector = selectors.DefaultSelector()
    selector.register(server, selectors.EVENT_READ)
    while True:
        readable = [key.fileobj for key, _ in selector.select(0.5)]
        if cli_child is not None and cli_peer is not None:
            done, _ = os.waitpid(cli_child, os.WNOHANG)
            if done:
                _send(cli_peer, {"done": True})
                cli_peer.close()
                cli_child, cli_peer = None, None
        if server not in readable:
            continue
        peer, _ = server.accept()
        data, fds, _, _ = socket.recv_fds(peer, 4096, 3)
        request = json.loads(data.split(b"\n", 1)[0] or b"{}")
        if request.get("op") == "down":
            _send(peer, {"stopping": True})
            peer.close()
            if cli_child is not None:
                os.kill(cli_child, signal.SIGTERM)
            return
        if request.get("op") == "cli":
            if cli_child is not None:
                _send(peer, {"error": "a CLI is already open on this city; leave it first ('exit')"})
                for fd in fds:
                    os.close(fd)
                peer.close()
                continue
            cli_child, cli_peer = _open_cli(net, fds), peer
            _send(peer, {"pid": cli_child})
            continue
        if request.get("op") in ("step", "position"):
            _send(peer, _stepping(stepper, request["op"], peer))
            peer.close()
            continue
        _send(peer, {"error": f"unknown request {request!r}"})
        peer.close()


def _stepping(stepper: Stepper | None, op: str, peer: socket.socket) -> dict:
    if stepper is None:
        return {"error": "this city was brought up without a plan to step through: 'v6lab up SCENARIO --step' "
                         "brings one up as its plan starts"}
    if op == "position":
        return {"next": stepper.next()}
    try:
        return stepper.step(_PeerLines(peer))
    except TestbedError as error:
        return {"error": str(error)}
    except Exception as error:
        traceback.print_exc()
        return {"error": f"applying the phase failed: {type(error).__name__}: {error}; the city is left as it "
                         "is to look at (holder.log in the run's folder has the details); 'v6lab down' stops it"}


def _interrupt(signum, frame):
    """SIGTERM (from 'up' on Ctrl-C, or from 'down') tears the city down like Ctrl-C."""
    raise KeyboardInterrupt


def hold(argv: list[str] | None = None) -> int:
    """The holder's main: build the city, say ready, serve until down."""
    import argparse

    from simulator.model.scenario import load_scenario
    from simulator.network.capabilities import probe_host
    from simulator.network.preparation import prepare, prepare_rehearsal
    from simulator.progress import Progress
    from simulator.reporting.results import RunFolder, command_line, default_results_root, versions
    from simulator.runner import check_city_can_run, emulation, leftover_warnings, refuse_plan
    from simulator.session import SERVICES, WARM_UP, Session
    from topologies.spec import Kind, node_spec

    parser = argparse.ArgumentParser(prog="simulator.handson")
    parser.add_argument("scenario", nargs="?")
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--results", type=Path)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--step", action="store_true")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    progress = Progress(quiet=args.quiet)
    try:
        if os.geteuid() != 0:
            raise TestbedError("emulation needs root (network namespaces, Open vSwitch): run it with sudo")
        scenario = load_scenario(args.scenario)
        run_id, prefix = args.run_id, args.run_id.rsplit("-", 1)[1]
        rehearsal = None
        if args.step:
            if scenario.plan is None:
                raise TestbedError(f"{scenario.source}: --step applies a migration plan one phase at a time, and "
                                   f"this scenario has none ('plan:'); 'v6lab up {scenario.source}' brings its "
                                   "city up as it is")
            rehearsal = prepare_rehearsal(scenario, prefix)
            prepared = rehearsal.states[0]
        else:
            refuse_plan(scenario)
            # What `v6lab run` and `v6lab topo check` do before building, the same way.
            prepared = prepare(scenario, prefix)
        graph, plan, routes = prepared.graph, prepared.plan, prepared.routes
        with progress.step("checking what this host can do"):
            capabilities = probe_host()
        for state in rehearsal.states if rehearsal else [prepared]:
            check_city_can_run(state.graph, state.plan, capabilities, scenario.source)
        for line in leftover_warnings(prefix):
            progress.warn(line)
        folder = RunFolder(args.results or default_results_root(), scenario.name, run_id)
        manifest = {"scenario": scenario.name, "scenario_file": scenario.source, "run_id": run_id,
                    "resource_prefix": prefix, "mode": "up", "command_line": command_line(),
                    "started": datetime.now(UTC).isoformat(), "versions": versions(), "status": "up"}
        folder.write_json("manifest.json", manifest)
        progress.note(f"run {run_id}: the city's folder is {folder.path}")
        net = emulation(scenario, graph, plan, routes, capabilities, prefix, progress,
                        node_daemons=prepared.node_daemons, manifest=folder.path / "manifest.json",
                        logs_dir=folder.path / "logs", layout=rehearsal.layout if rehearsal else None)
        if rehearsal is not None:
            net.sizing_plans = [state.plan for state in rehearsal.states]
        stepper = Stepper(net, rehearsal, scenario.plan.phases) if rehearsal and scenario.plan else None
        built = rehearsal.layout if rehearsal else graph
        try:
            with Session(scenario, prepared.city, net, progress=progress, iperf=prepared.iperf_pair) as session:
                session.run(SERVICES)
                session.run(WARM_UP)
                cleanup.STATE_DIR.mkdir(parents=True, exist_ok=True)
                SOCKET_FILE.unlink(missing_ok=True)
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
                    server.bind(str(SOCKET_FILE))
                    os.chmod(SOCKET_FILE, 0o600)
                    server.listen(4)
                    described = {"scenario": scenario.name, "scenario_file": scenario.source, "run_id": run_id,
                                 "prefix": prefix, "pid": os.getpid(), "socket": str(SOCKET_FILE),
                                 "started": manifest["started"], "results": str(folder.path),
                                 "nodes": {name: net.nodes[name].pid for name in sorted(built)
                                           if node_spec(built, name).kind is not Kind.SWITCH},
                                 "switches": [name for name in sorted(built)
                                              if node_spec(built, name).kind is Kind.SWITCH],
                                 "stepping": stepper is not None}
                    SESSION_FILE.write_text(json.dumps(described, indent=2) + "\n")
                    print(READY, flush=True)
                    # From here on nobody reads this process's output: it goes to the run's folder,
                    # which outlives the city (the work folder does not).
                    log = os.open(folder.path / "holder.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                    os.dup2(log, 1)
                    os.dup2(log, 2)
                    try:
                        _serve(net, server, stepper)
                    finally:
                        SESSION_FILE.unlink(missing_ok=True)
                        SOCKET_FILE.unlink(missing_ok=True)
        except BaseException as error:
            # The city is torn down by now; say so in its manifest, whatever stopped it.
            manifest.update(status="interrupted" if isinstance(error, KeyboardInterrupt) else "failed",
                            error=str(error) or type(error).__name__, finished=datetime.now(UTC).isoformat())
            folder.write_json("manifest.json", manifest)
            raise
        manifest.update(status="down", finished=datetime.now(UTC).isoformat())
        folder.write_json("manifest.json", manifest)
        return 0
    except TestbedError as error:
        from topologies.errors import ConfigError
        for problem in (error.problems if isinstance(error, ConfigError) else [str(error)]):
            print(f"error: {problem}", flush=True)
        return error.exit_status
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(hold())

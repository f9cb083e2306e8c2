"""simulator.measurements.workload against the workload server
(simulator.network.daemons.workload_server) and a web page, all on the loopback.

The workload server runs on a loop of its own in a thread, bound to "::" with
IPV6_V6ONLY off as in a node; the web page is http.server on 127.0.0.1. Services are
named by address literal, so that no DNS is involved, except where a stand-in for
getaddrinfo answers (as in test_probe_fetch). Disruptions are made exactly by the
servers: an echo that drops the datagrams numbered 3 and 4, one that drops 3, 4 and 5
of the stream that comes over IPv4 only, a stream that resets its first connection
after five chunks, one that goes silent.

No assertion is about how long anything took, only about what happened and in which
order, and that the summary's counts are those of the lines.
"""

import asyncio
import http.server
import io
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from simulator.measurements import workload
from simulator.network.daemons import page_marker
from simulator.network.daemons.workload_server import CHUNK, CHUNK_INTERVAL_S, Echo, Stream, WorkloadServer, serve
from topologies.errors import ConfigError

NAME = "portal.city.test"
MARKER = page_marker(NAME)
PAGE = f"<html><body><h1>{NAME}</h1><!-- {MARKER} --></body></html>\n".encode()
ROOT = Path(__file__).resolve().parents[2]


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    """The portal's page on 127.0.0.1, on a free port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join()


class Servers:
    """The workload server on "::" (free ports), on a loop in a thread of its own."""

    def __init__(self, echo=Echo, stream=None):
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start():
            self.transport, self.server = await serve("::", 0, 0, echo, stream)
            ready.set()

        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        asyncio.run_coroutine_threadsafe(start(), self.loop).result(timeout=5)
        ready.wait(5)
        self.udp_port = self.transport.get_extra_info("sockname")[1]
        self.stream_port = self.server.sockets[0].getsockname()[1]

    def close(self):
        async def stop():
            self.transport.close()
            self.server.close()
            # Handlers still sending to the prober's last flow end with it.
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(timeout=5)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def servers():
    started = []

    def start(**kwargs):
        started.append(Servers(**kwargs))
        return started[-1]
    yield start
    for server in started:
        server.close()


def config(duration_s=None, services=(), udp=None, stream=None, **more):
    return {"client": "h1", "services": list(services), "udp": udp, "stream": stream, "duration_s": duration_s,
            **more}


def run(cfg):
    """Run the prober in this process; its lines, parsed."""
    out = io.StringIO()
    workload.run(workload.parse_config(cfg), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def of(lines, kind):
    return [line for line in lines if line["kind"] == kind]


def flow_events(lines, flow):
    return [line["event"] for line in of(lines, "flow") if line["flow"] == flow]


def check_counts(lines):
    """The summary is the last line, and its counts are those of the lines before it:
    each family's stream numbered from 0 without a gap, its datagrams and losses."""
    summary = lines[-1]
    assert summary["kind"] == "summary" and "summary" not in [line["kind"] for line in lines[:-1]]
    udp = of(lines, "udp")
    per_family = {}
    for family in sorted({line["family"] for line in udp}):
        stream = [line for line in udp if line["family"] == family]
        assert sorted(line["seq"] for line in stream) == list(range(len(stream)))
        per_family[family] = {"sent": len(stream), "lost": len([line for line in stream if not line["ok"]])}
    assert summary["udp"] == per_family
    assert summary["udp_sent"] == len(udp)
    assert summary["udp_lost"] == len([line for line in udp if not line["ok"]])
    assert summary["flows"] == len([line for line in of(lines, "flow") if line["event"] == "open"])
    return summary


# --- a quiet run, as a process ---------------------------------------------------------------------


def prober(cfg):
    return subprocess.Popen([sys.executable, "-m", "simulator.measurements.workload", json.dumps(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_a_quiet_run_every_sample_ok_and_counted(servers, web):
    serving = servers()
    cfg = config(duration_s=2.0, services=[{"name": "127.0.0.1", "port": web, "marker": MARKER}],
                 udp=[{"address": "127.0.0.1", "port": serving.udp_port}, {"address": "::1", "port": serving.udp_port}],
                 stream={"host": "::1", "port": serving.stream_port})
    process = prober(cfg)
    out, err = process.communicate(timeout=20)
    assert (process.returncode, err) == (0, "")
    lines = [json.loads(line) for line in out.splitlines()]
    assert all(line["client"] == "h1" and isinstance(line["t"], float) for line in lines)

    connects = of(lines, "connect")
    assert len(connects) >= 2
    assert {(c["service"], c["ok"], c["family"], c["fell_back"], c["error"]) for c in connects} == {
        ("127.0.0.1", True, "ipv4", False, "")}
    assert all(isinstance(c["ms"], float) for c in connects)
    assert set(connects[0]) == {"t", "client", "kind", "service", "ok", "family", "fell_back", "ms", "error"}

    udp = of(lines, "udp")
    # One stream per family, each echoed in order on the loopback; the dual-stack echo answers both.
    for family in ("ipv4", "ipv6"):
        stream = [line["seq"] for line in udp if line["family"] == family]
        assert len(stream) >= 10 and stream == list(range(len(stream)))
    assert {line["family"] for line in udp} == {"ipv4", "ipv6"}
    assert all(line["ok"] and isinstance(line["rtt_ms"], float) for line in udp)
    assert set(udp[0]) == {"t", "client", "kind", "family", "seq", "ok", "rtt_ms"}

    events = flow_events(lines, 0)
    assert events[0] == "open" and events[-1] == "closed"
    assert set(events[1:-1]) == {"progress"}
    progress = [line["bytes"] for line in of(lines, "flow") if line["event"] == "progress"]
    assert progress[0] > 0 and progress == sorted(progress) and all(b % len(CHUNK) == 0 for b in progress)
    assert set(of(lines, "flow")[0]) == {"t", "client", "kind", "event", "flow", "bytes"}

    summary = check_counts(lines)
    assert (summary["udp_lost"], summary["flows"]) == (0, 1)
    assert list(summary["interval_s"]) == ["127.0.0.1"] and summary["interval_s"]["127.0.0.1"] > 0
    assert set(summary) == {"t", "client", "kind", "interval_s", "udp_sent", "udp_lost", "udp", "flows"}
    assert [summary["udp"][family]["lost"] for family in ("ipv4", "ipv6")] == [0, 0]


def test_sigterm_ends_with_the_summary_and_status_0(servers):
    serving = servers()
    process = prober(config(udp=[{"address": "::1", "port": serving.udp_port, "interval_s": 0.05}]))
    first = json.loads(process.stdout.readline())
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert (process.returncode, err) == (0, "")
    lines = [first] + [json.loads(line) for line in out.splitlines()]
    assert (first["kind"], first["family"], first["seq"], first["ok"]) == ("udp", "ipv6", 0, True)
    summary = check_counts(lines)
    assert (summary["udp_lost"], summary["flows"], summary["interval_s"]) == (0, 0, {})
    assert list(summary["udp"]) == ["ipv6"]


# --- disruptions, made exactly ---------------------------------------------------------------------


class DropThreeAndFour(Echo):
    def reply(self, data):
        _, seq, _ = workload.DATAGRAM.unpack(data)
        return None if seq in (3, 4) else data


def test_exactly_the_dropped_datagrams_are_lost(servers):
    serving = servers(echo=DropThreeAndFour)
    lines = run(config(duration_s=1.0, udp=[{"address": "::1", "port": serving.udp_port, "interval_s": 0.05,
                                             "timeout_s": 0.3}]))
    udp = of(lines, "udp")
    assert len(udp) >= 10
    assert [line["seq"] for line in udp if not line["ok"]] == [3, 4]
    assert [line["rtt_ms"] for line in udp if not line["ok"]] == [None, None]
    summary = check_counts(lines)
    assert summary["udp_lost"] == 2
    assert summary["udp"]["ipv6"]["lost"] == 2


class DropIpv4ThreeToFive(Echo):
    """Drops datagrams 3, 4 and 5 that came over IPv4 (v4-mapped on the dual-stack
    socket), as a change that must end a host's IPv4 flows would; IPv6's all come back."""

    def datagram_received(self, data, addr):
        _, seq, _ = workload.DATAGRAM.unpack(data)
        if not (addr[0].startswith("::ffff:") and seq in (3, 4, 5)):
            super().datagram_received(data, addr)


def test_each_family_is_a_stream_of_its_own(servers):
    serving = servers(echo=DropIpv4ThreeToFive)
    lines = run(config(duration_s=1.0, udp=[
        {"address": "127.0.0.1", "port": serving.udp_port, "interval_s": 0.05, "timeout_s": 0.3},
        {"address": "::1", "port": serving.udp_port, "interval_s": 0.05, "timeout_s": 0.3}]))
    udp = of(lines, "udp")
    ipv4 = [line for line in udp if line["family"] == "ipv4"]
    ipv6 = [line for line in udp if line["family"] == "ipv6"]
    assert len(ipv4) >= 10 and len(ipv6) >= 10 and len(ipv4) + len(ipv6) == len(udp)
    # Both streams number from 0: the IPv6 stream's 3, 4 and 5 are other datagrams, and echoed.
    assert [line["seq"] for line in ipv4 if not line["ok"]] == [3, 4, 5]
    assert [line["seq"] for line in ipv6 if not line["ok"]] == []
    summary = check_counts(lines)
    assert summary["udp"] == {"ipv4": {"sent": len(ipv4), "lost": 3}, "ipv6": {"sent": len(ipv6), "lost": 0}}
    assert (summary["udp_sent"], summary["udp_lost"]) == (len(ipv4) + len(ipv6), 3)


def reset(writer):
    """Close with a TCP reset: SO_LINGER on with a zero timeout."""
    writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class ResetTheFirstFlow(Stream):
    """Five chunks (0.5 s) on the first connection, then a reset; later ones as usual."""

    def __init__(self):
        self.connections = 0

    async def handle(self, reader, writer):
        self.connections += 1
        if self.connections > 1:
            return await super().handle(reader, writer)
        for _ in range(5):
            writer.write(CHUNK)
            await writer.drain()
            await asyncio.sleep(CHUNK_INTERVAL_S)
        reset(writer)


def test_a_reset_flow_is_replaced_by_a_new_one(servers):
    serving = servers(stream=ResetTheFirstFlow())
    lines = run(config(duration_s=2.0, stream={"host": "127.0.0.1", "port": serving.stream_port}))
    flows = [(line["event"], line["flow"]) for line in of(lines, "flow")]
    assert flows[:3] == [("open", 0), ("reset", 0), ("open", 1)]
    reset_line = of(lines, "flow")[1]
    assert reset_line["bytes"] == 5 * len(CHUNK)
    events = flow_events(lines, 1)
    assert events[0] == "open" and events[-1] == "closed" and set(events[1:-1]) == {"progress"}
    assert check_counts(lines)["flows"] == 2


class SilentFirstFlow(Stream):
    """Two chunks on the first connection, then silence with the connection open."""

    def __init__(self):
        self.connections = 0

    async def handle(self, reader, writer):
        self.connections += 1
        if self.connections > 1:
            return await super().handle(reader, writer)
        writer.write(CHUNK * 2)
        await writer.drain()
        await asyncio.sleep(30)


def test_a_silent_flow_stalls_then_is_given_up(servers):
    serving = servers(stream=SilentFirstFlow())
    lines = run(config(duration_s=1.5, stream={"host": "::1", "port": serving.stream_port, "stall_s": 0.3,
                                               "give_up_s": 0.6}))
    flows = [(line["event"], line["flow"], line["bytes"]) for line in of(lines, "flow")]
    assert flows[:4] == [("open", 0, 0), ("stall", 0, 2048), ("closed", 0, 2048), ("open", 1, 0)]
    assert flows[-1][:2] == ("closed", 1)
    assert check_counts(lines)["flows"] == 2


# --- by name, through getaddrinfo, and the errors --------------------------------------------------


def test_by_name_fallback_and_errors(monkeypatch, web):
    records = {NAME: ["::1", "127.0.0.1"], "school.city.test": ["127.0.0.1"]}
    asked = []
    real = socket.getaddrinfo

    def resolver(name, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 (getaddrinfo's names)
        if name in ("127.0.0.1", "::1"):
            return real(name, port, family, type, proto, flags)
        asked.append((name, family, bool(flags & socket.AI_ADDRCONFIG)))
        if name not in records:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                 (a, port, 0, 0) if ":" in a else (a, port)) for a in records[name]]

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))     # bound, not listening: connections are refused
    services = [{"name": NAME, "port": web, "marker": MARKER},
                {"name": "school.city.test", "port": web, "marker": page_marker("school.city.test")},
                {"name": "gone.city.test", "port": web, "marker": "x"},
                {"name": "127.0.0.1", "port": closed.getsockname()[1], "marker": "x"}]
    try:
        lines = run(config(duration_s=0.7, services=services, interval_s=0.5))
    finally:
        closed.close()
    outcome = {(c["service"], c["ok"], c["family"], c["fell_back"], c["error"]) for c in of(lines, "connect")}
    assert outcome == {
        # ::1 refuses (the page is on 127.0.0.1 only): Happy Eyeballs falls back.
        (NAME, True, "ipv4", True, ""),
        ("school.city.test", False, "ipv4", False, "HTTP: 200 but not the service's page"),
        ("gone.city.test", False, None, False, "DNS for gone.city.test: Name or service not known"),
        ("127.0.0.1", False, None, False, "TCP: Connect call failed ('127.0.0.1', "
                                          f"{services[3]['port']})"),
    }
    assert len(of(lines, "connect")) == 8
    assert {line["ms"] is None for line in of(lines, "connect") if not line["ok"]} == {True}
    # One lookup per attempt, as applications make it: both families, only those the host has.
    assert sorted(set(asked)) == [("gone.city.test", 0, True), (NAME, 0, True), ("school.city.test", 0, True)]
    assert len(asked) == 6


def test_timeouts_name_the_step_reached(monkeypatch):
    real = socket.getaddrinfo

    def slow_resolver(name, *args, **kwargs):
        if name == "slow.city.test":
            threading.Event().wait(1.0)    # a resolver that does not answer in time
        return real(name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", slow_resolver)
    mute = socket.socket()
    mute.bind(("127.0.0.1", 0))
    mute.listen()     # the kernel completes connections; nobody ever answers
    services = [{"name": "slow.city.test", "port": 80}, {"name": "127.0.0.1", "port": mute.getsockname()[1]}]
    try:
        lines = run(config(duration_s=0.6, services=services, interval_s=1.0, timeout_s=0.3))
    finally:
        mute.close()
    assert {(c["service"], c["ok"], c["family"], c["error"]) for c in of(lines, "connect")} == {
        ("slow.city.test", False, None, "DNS for slow.city.test: no answer within 0.3 s"),
        ("127.0.0.1", False, "ipv4", "HTTP: no answer within 0.3 s"),
    }


# --- config, command, daemon -----------------------------------------------------------------------


def test_config_defaults():
    parsed = workload.parse_config({"client": "h1", "services": [{"name": NAME}],
                                    "udp": [{"address": "2001:db8::7"}, {"address": "192.0.2.7", "port": 9}],
                                    "stream": {"host": "s.city.test"}})
    assert parsed == workload.Config(
        client="h1", services=(workload.Service(NAME, 80, ""),), interval_s=1.0, timeout_s=5.0,
        udp=(workload.UdpTarget("2001:db8::7", 7, 0.1, 1.0), workload.UdpTarget("192.0.2.7", 9, 0.1, 1.0)),
        stream=workload.StreamTarget("s.city.test", 5001, 2.0, 10.0), duration_s=None)
    # No echo: the list empty, null or missing.
    assert {workload.parse_config({"client": "h1", **udp}).udp for udp in ({"udp": []}, {"udp": None}, {})} == {()}


def test_config_problems_all_at_once():
    with pytest.raises(ConfigError) as raised:
        workload.parse_config({"intervals_s": 1, "services": [{"port": 80}],
                               "udp": [{"address": "192.0.2.7"}, {"address": "echo.city.test", "interval_s": 0},
                                       {"port": 7}, {"address": "192.0.2.8"}]})
    assert raised.value.problems == [
        "config.services[0].name: missing",
        "config.udp[1].interval_s: 0 is not a positive number of seconds",
        "config.udp[1].address: 'echo.city.test' is not an address literal (the echo is reached by address, "
        "like 2001:db8::7 or 192.0.2.7)",
        "config.udp[2].address: missing",
        "config.udp[3].address: '192.0.2.8' is a second ipv4 target (config.udp[0] is one); give at most one per "
        "address family, since samples tell streams apart by family",
        "config.intervals_s: unknown key (known: client, services, interval_s, timeout_s, udp, stream, duration_s)",
        "config.client: missing",
    ]


def test_config_udp_is_a_list():
    with pytest.raises(ConfigError) as raised:
        workload.parse_config({"client": "h1", "udp": {"address": "::1"}})
    assert raised.value.problems == [
        "config.udp: expected a list of echo targets, got {'address': '::1'} (one target is a list of one: "
        '[{"address": ...}])']


def test_main_refuses_a_bad_config(capsys):
    assert workload.main(['{"client": "h1", "udp": [{"address": "::1", "port": 7, "every": 1}]}']) == 2
    assert capsys.readouterr().err == (
        "workload: config.udp[0].every: unknown key (known: address, port, interval_s, timeout_s)\n")
    assert workload.main([]) == 2


def test_command_runs_at_the_probes_priority():
    assert workload.command({"client": "h1"}) == [
        "nice", "-n", "19", sys.executable, "-m", "simulator.measurements.workload", '{"client": "h1"}']


def test_workload_server_daemon(tmp_path):
    server = WorkloadServer("idc1")
    assert server.start_command(tmp_path) == [
        sys.executable, "-m", "simulator.network.daemons.workload_server", "--udp-port", "7", "--stream-port", "5001",
        "--bind", "::"]
    assert server.LISTENS == (("udp", 7), ("tcp", 5001))
    assert WorkloadServer("idc1", udp_port=9, stream_port=6001).LISTENS == (("udp", 9), ("tcp", 6001))
    assert repr(server) == "workload@idc1"

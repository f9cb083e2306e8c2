"""Runs inside one emulated host for the whole of a migration rehearsal and keeps a
subscriber's workload going, so that what the migration disrupts, and for how long,
is measured rather than guessed.

    python -m simulator.measurements.workload '<json config>'

One process per host, one asyncio loop, for three kinds of traffic at once:

- *connects*: every ``interval_s``, each service is reached by name as an
  application reaches it (getaddrinfo through this host's own resolver, then Python's
  Happy Eyeballs with AI_ADDRCONFIG), and ``GET /`` must return the page holding the
  service's marker. Attempts start on a fixed schedule and run side by side, so an
  attempt that hangs until its timeout does not delay the next one.
- *udp*: for each echo target, a datagram every ``interval_s`` to a UDP echo
  (simulator.network.daemons.workload_server) carrying (run token, sequence number,
  send time); a datagram whose echo has not come back within ``timeout_s`` is lost.
  Each target is a stream of its own (its socket, token and sequence numbers), at
  most one per address family: when a change must end a host's IPv4 flows, losses
  on its IPv4 stream are expected and any on its IPv6 stream are not. Losses are
  counted by sequence number, exactly.
- *flow*: one long-lived TCP connection to the stream server, which sends 1 KiB
  every 0.1 s. A flow that ends is replaced by a new one as soon as one connects.

The config (argv[1], one JSON object; unknown keys are errors)::

    {"client": "h1",
     "services": [{"name": "www.city.test", "port": 80, "marker": "v6lab-service:www.city.test"}],
     "interval_s": 1.0,        # between connect attempts to one service
     "timeout_s": 5.0,         # one connect attempt: lookup, connect and page
     "udp": [{"address": "192.0.2.7", "port": 7, "interval_s": 0.1, "timeout_s": 1.0},
             {"address": "2001:db8::7", "port": 7, "interval_s": 0.1, "timeout_s": 1.0}],
     "stream": {"host": "stream.city.test", "port": 5001, "stall_s": 2.0, "give_up_s": 10.0} | null,
     "duration_s": 600.0 | null}  # null: until SIGTERM or SIGINT

``udp`` is a list of echo targets (empty or missing: none), each with an address
literal of a family no other target has; ``stream.host`` and service names are looked
up like the services. Only ``client`` is required; a service needs ``name``, a udp
target ``address``.

Output: one JSON object per line on stdout, flushed as it is written. Every line has
``t``, a wall-clock time (time.time(), seconds), ``client`` and ``kind``:

    {"t": T, "client": C, "kind": "connect", "service": NAME, "ok": bool, "family": "ipv4"|"ipv6"|null,
     "fell_back": bool, "ms": float|null, "error": str}
        One attempt; t is when it started. family: of the connection made (null if
        none was). fell_back: Happy Eyeballs connected with the other family than
        that of the first address getaddrinfo answered (false for a literal). ms:
        from start to the page read, null unless ok. error: "" when ok, else
        "DNS for NAME: ...", "TCP: ..." or "HTTP: ...".
    {"t": T, "client": C, "kind": "udp", "family": "ipv4"|"ipv6", "seq": N, "ok": bool, "rtt_ms": float|null}
        One datagram, written when its echo comes or its timeout passes; t is when it
        was sent. family: of the target's address, which names the stream. seq counts
        from 0 with no gap in each stream; rtt_ms is null when lost.
    {"t": T, "client": C, "kind": "flow", "event": EVENT, "flow": K, "bytes": B}
        K counts flows from 0; B is flow K's bytes so far. EVENT is
        "open"      flow K connected (B = 0); after a reset, t - the reset's t is
                    how long until a new flow worked;
        "progress"  every second of flow K, from its open;
        "stall"     no byte for stall_s; t is the last byte's time + stall_s. The
                    flow is kept: progress lines show whether bytes come back;
        "reset"     the connection ended with an error (a TCP reset, mostly);
        "closed"    the server closed it, or no byte came for give_up_s (after a
                    "stall"), or the run ended (just before the summary).
    {"t": T, "client": C, "kind": "summary", "interval_s": {NAME: float|null}, "udp_sent": N, "udp_lost": N,
     "udp": {"ipv4": {"sent": N, "lost": N}, "ipv6": {"sent": N, "lost": N}}, "flows": N}
        The last line, at SIGTERM, SIGINT or duration_s. interval_s: per service,
        the median time between the starts of its attempts, as achieved (null
        under two attempts): a recovery time is never finer than its sampling, and a
        loaded host may not keep the asked interval. udp_sent and udp_lost equal
        the udp lines and those with ok false, over every stream; udp, the same per
        family, for the families that had a target ({} for none). Datagrams still in
        flight at the end are waited for, up to their target's timeout_s. Connect
        attempts still running at the end are dropped without a line. flows: the
        "open" lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import socket
import statistics
import struct
import sys
import threading
import time
from contextvars import ContextVar
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any, ClassVar, TextIO

from simulator.measurements.probe import CONNECTION_ATTEMPT_DELAY_S, niced, page_verdict
from topologies.errors import ConfigError


def _is_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def family_of(address: str) -> str:
    """"ipv4" or "ipv6": the family of the address literal ``address``, as samples name it."""
    return f"ipv{ipaddress.ip_address(address).version}"


# --- configuration ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    name: str
    port: int = 80
    marker: str = ""


@dataclass(frozen=True)
class UdpTarget:
    address: str
    port: int = 7
    interval_s: float = 0.1
    timeout_s: float = 1.0


@dataclass(frozen=True)
class StreamTarget:
    host: str
    port: int = 5001
    stall_s: float = 2.0
    give_up_s: float = 10.0


@dataclass(frozen=True)
class Config:
    client: str
    services: tuple[Service, ...] = ()
    interval_s: float = 1.0
    timeout_s: float = 5.0
    udp: tuple[UdpTarget, ...] = ()
    stream: StreamTarget | None = None
    duration_s: float | None = None


def _make(cls: type, raw: Any, path: str, problems: list[str]) -> Any:
    """``cls`` from the object ``raw``, or None after adding its problems (unknown or
    missing keys, durations that are not positive) to ``problems``."""
    if not isinstance(raw, dict):
        problems.append(f"{path}: expected an object, got {raw!r}")
        return None
    found: list[str] = []
    known = {f.name: f for f in fields(cls)}
    found += [f"{path}.{key}: unknown key (known: {', '.join(known)})" for key in raw if key not in known]
    found += [f"{path}.{name}: missing" for name, spec in known.items()
              if spec.default is spec.default_factory is MISSING and name not in raw]
    found += [f"{path}.{key}: {value!r} is not a positive number of seconds" for key, value in raw.items()
              if key.endswith("_s") and value is not None and not (isinstance(value, int | float) and value > 0)]
    if cls is UdpTarget and "address" in raw and not _is_literal(str(raw["address"])):
        found.append(f"{path}.address: {raw['address']!r} is not an address literal "
                     "(the echo is reached by address, like 2001:db8::7 or 192.0.2.7)")
    problems += found
    return None if found else cls(**raw)


def _udp_targets(raw: Any, problems: list[str]) -> tuple[UdpTarget, ...]:
    """The echo targets from ``config.udp`` (None: none), after adding their problems
    to ``problems``: each item's at its index, and a family given twice."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.append(f"config.udp: expected a list of echo targets, got {raw!r} (one target is a list of one: "
                        '[{"address": ...}])')
        return ()
    targets = tuple(_make(UdpTarget, item, f"config.udp[{index}]", problems) for index, item in enumerate(raw))
    first: dict[str, int] = {}
    for index, target in enumerate(targets):
        if target is None:
            continue
        family = family_of(target.address)
        if family in first:
            problems.append(f"config.udp[{index}].address: {target.address!r} is a second {family} target "
                            f"(config.udp[{first[family]}] is one); give at most one per address family, "
                            "since samples tell streams apart by family")
        first.setdefault(family, index)
    return targets


def parse_config(raw: Any) -> Config:
    """The prober's config from its JSON object; raises ConfigError with every problem."""
    problems: list[str] = []
    top = dict(raw) if isinstance(raw, dict) else raw
    parts: dict[str, Any] = {}
    if isinstance(top, dict):
        services = top.pop("services", None) or []
        parts["services"] = tuple(_make(Service, item, f"config.services[{index}]", problems)
                                  for index, item in enumerate(services))
        parts["udp"] = _udp_targets(top.pop("udp", None), problems)
        if top.get("stream") is not None:
            parts["stream"] = _make(StreamTarget, top.pop("stream"), "config.stream", problems)
    config = _make(Config, top, "config", problems)
    if problems:
        raise ConfigError(problems)
    return replace(config, **parts)


# --- what is written -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connect:
    KIND: ClassVar[str] = "connect"
    t: float
    service: str
    ok: bool
    family: str | None
    fell_back: bool
    ms: float | None
    error: str


@dataclass(frozen=True)
class Datagram:
    KIND: ClassVar[str] = "udp"
    t: float
    family: str
    seq: int
    ok: bool
    rtt_ms: float | None


@dataclass(frozen=True)
class FlowEvent:
    KIND: ClassVar[str] = "flow"
    t: float
    event: str
    flow: int
    bytes: int


@dataclass(frozen=True)
class Summary:
    KIND: ClassVar[str] = "summary"
    t: float
    interval_s: dict[str, float | None]
    udp_sent: int
    udp_lost: int
    udp: dict[str, dict[str, int]]      # family -> {"sent": N, "lost": N}
    flows: int


Record = Connect | Datagram | FlowEvent | Summary


class Lines:
    """Writes records as JSON lines, each flushed at once: a run that is killed keeps
    every line written before."""

    def __init__(self, client: str, out: TextIO):
        self.client, self.out = client, out

    def write(self, record: Record) -> None:
        values = asdict(record)
        line = {"t": values.pop("t"), "client": self.client, "kind": record.KIND, **values}
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()


# The echo's datagram: run token, sequence number, send time (time.time()).
DATAGRAM = struct.Struct("!16sQd")


def command(config: dict) -> list[str]:
    """The command that runs the workload in a node, at the probes' priority (see probe.NICE)."""
    return niced("simulator.measurements.workload", config)


# --- name lookups ----------------------------------------------------------------------------------


@dataclass
class _Attempt:
    """One connect attempt: what its lookup answered, in the resolver's order (None:
    no answer yet), and the connection it made."""

    candidates: list[str] | None = None
    family: str | None = None
    fell_back: bool = False


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("workload_attempt", default=None)


class Loop(asyncio.SelectorEventLoop):
    """asyncio's loop, but each name lookup runs in a thread of its own and tells the
    attempt that made it (through a context variable) what it answered.

    A thread per lookup rather than the default executor's pool (6 threads on 2
    cores): while a resolver is unreachable each lookup blocks for glibc's timeouts,
    and the next attempts would queue behind them and report the pool's queue, not
    the network. The threads are daemons, so a lookup still blocked at the end does
    not hold the process's exit."""

    async def getaddrinfo(self, host, port, *, family=0, type=0, proto=0, flags=0):  # noqa: A002 (asyncio's names)
        answer = self.create_future()

        def settle(result: Any, error: Exception | None) -> None:
            if answer.done():
                return
            if error is not None:
                answer.set_exception(error)
            else:
                answer.set_result(result)

        def look_up() -> None:
            try:
                result, error = socket.getaddrinfo(host, port, family, type, proto, flags), None
            except Exception as failure:   # handed to the task that awaits the answer
                result, error = None, failure
            with contextlib.suppress(RuntimeError):   # the loop has closed: nobody waits any more
                self.call_soon_threadsafe(settle, result, error)

        threading.Thread(target=look_up, daemon=True, name=f"getaddrinfo {host}").start()
        infos = await answer
        attempt = _ATTEMPT.get()
        if attempt is not None:
            attempt.candidates = list(dict.fromkeys(str(info[4][0]) for info in infos))
        return infos


# --- the prober ------------------------------------------------------------------------------------

PROGRESS_S = 1.0
# After a flow could not be opened, the next try (a refused connect fails at once).
RECONNECT_S = 0.1
READ_SIZE = 65536


def _ms(since: float) -> float:
    return round((asyncio.get_running_loop().time() - since) * 1000, 3)


class _Echoes(asyncio.DatagramProtocol):
    def __init__(self, received):
        self.received = received

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.received(data)

    def error_received(self, exc: Exception) -> None:
        # No route, port unreachable: the datagram is lost, and its timeout says so.
        pass


@dataclass
class _Udp:
    """One echo target's stream: its own token and sequence numbers, so that each
    family's losses are counted apart (its socket is opened when the run starts)."""

    target: UdpTarget
    token: bytes = field(default_factory=lambda: os.urandom(16))
    next_seq: int = 0
    lost: int = 0
    # seq -> (wall send time, loop send time, its timeout)
    pending: dict[int, tuple[float, float, asyncio.TimerHandle]] = field(default_factory=dict)
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def family(self) -> str:
        return family_of(self.target.address)

    async def drained(self) -> None:
        """Until every datagram sent so far is echoed or has timed out."""
        self.settled.clear()
        if self.pending:
            await self.settled.wait()


class Prober:
    def __init__(self, config: Config, lines: Lines):
        self.config, self.lines = config, lines
        self.starts: dict[str, list[float]] = {service.name: [] for service in config.services}
        self.attempts: set[asyncio.Task] = set()
        self.udp = [_Udp(target) for target in config.udp]
        self.flows = 0

    async def run(self, signals: bool = False) -> Summary:
        """Run until SIGTERM or SIGINT (with ``signals``) or ``duration_s``; write the
        summary and return it."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        if signals:
            for number in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(number, stop.set)
        if self.config.duration_s is not None:
            loop.call_later(self.config.duration_s, stop.set)
        transports = [await self._udp_socket(udp) for udp in self.udp]
        tasks = [asyncio.create_task(self._service(service)) for service in self.config.services]
        tasks += [asyncio.create_task(self._udp_send(transport, udp))
                  for transport, udp in zip(transports, self.udp, strict=True)]
        if self.config.stream:
            tasks.append(asyncio.create_task(self._flows(self.config.stream)))
        try:
            await stop.wait()
        finally:
            for task in [*tasks, *self.attempts]:
                task.cancel()
            await asyncio.gather(*tasks, *self.attempts, return_exceptions=True)
            if signals:
                for number in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(number)
        # Every datagram sent gets its line: the last ones are echoed or time out.
        await asyncio.gather(*(udp.drained() for udp in self.udp))
        for transport in transports:
            transport.close()
        summary = Summary(time.time(), {name: self._interval(starts) for name, starts in self.starts.items()},
                          sum(udp.next_seq for udp in self.udp), sum(udp.lost for udp in self.udp),
                          {udp.family: {"sent": udp.next_seq, "lost": udp.lost} for udp in self.udp}, self.flows)
        self.lines.write(summary)
        return summary

    @staticmethod
    def _interval(starts: list[float]) -> float | None:
        if len(starts) < 2:
            return None
        return round(statistics.median(b - a for a, b in zip(starts, starts[1:], strict=False)), 4)

    @staticmethod
    async def _every(interval_s: float, step) -> None:
        """``step()`` every ``interval_s``; a loop that wakes late does not catch up in a burst."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            step()
            due = max(due + interval_s, loop.time())
            await asyncio.sleep(due - loop.time())

    # connects

    async def _service(self, service: Service) -> None:
        loop = asyncio.get_running_loop()

        def start() -> None:
            self.starts[service.name].append(loop.time())
            task = asyncio.create_task(self._attempt(service))
            self.attempts.add(task)
            task.add_done_callback(self.attempts.discard)

        await self._every(self.config.interval_s, start)

    async def _attempt(self, service: Service) -> None:
        t, started = time.time(), asyncio.get_running_loop().time()
        attempt = _Attempt()
        _ATTEMPT.set(attempt)
        ms, deadline = None, asyncio.timeout(self.config.timeout_s)
        try:
            async with deadline:
                body = await self._exchange(service, attempt)
            verdict = page_verdict(body, service.marker)
            error = verdict["error"]
            if verdict["ok"]:
                ms = _ms(started)
        except OSError as failure:
            error = self._failure(service, attempt, failure, deadline.expired())
        self.lines.write(Connect(t, service.name, ms is not None, attempt.family, attempt.fell_back, ms, error))

    @staticmethod
    async def _exchange(service: Service, attempt: _Attempt) -> bytes:
        # Python's Happy Eyeballs (RFC 8305) with the probe's attempt delay, so that
        # "fell back" means here what it means in the connectivity matrix.
        reader, writer = await asyncio.open_connection(
            service.name, service.port, happy_eyeballs_delay=CONNECTION_ATTEMPT_DELAY_S, flags=socket.AI_ADDRCONFIG)
        try:
            address = str(writer.get_extra_info("peername")[0])
            attempt.family = "ipv6" if writer.get_extra_info("socket").family == socket.AF_INET6 else "ipv4"
            if attempt.candidates:
                attempt.fell_back = (":" in address) != (":" in attempt.candidates[0])
            writer.write(f"GET / HTTP/1.0\r\nHost: {service.name}\r\n\r\n".encode())
            return await reader.read()
        finally:
            writer.close()

    def _failure(self, service: Service, attempt: _Attempt, failure: OSError, timed_out: bool) -> str:
        """The error text of an attempt that failed at the step it had reached."""
        if isinstance(failure, socket.gaierror):
            return f"DNS for {service.name}: {failure.strerror}"
        step = "HTTP" if attempt.family else "TCP"
        if not timed_out:
            # When every address failed, asyncio names each one's error.
            return f"{step}: {failure.strerror or failure}"
        if step == "TCP" and attempt.candidates is None and not _is_literal(service.name):
            return f"DNS for {service.name}: no answer within {self.config.timeout_s:g} s"
        return f"{step}: no answer within {self.config.timeout_s:g} s"

    # udp

    async def _udp_socket(self, udp: _Udp) -> asyncio.DatagramTransport:
        """A socket of ``udp``'s family whose echoes go to ``udp``."""
        family = socket.AF_INET6 if udp.family == "ipv6" else socket.AF_INET
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _Echoes(lambda data: self._echoed(udp, data)), family=family)
        return transport

    async def _udp_send(self, transport: asyncio.DatagramTransport, udp: _Udp) -> None:
        loop, target = asyncio.get_running_loop(), udp.target
        address = (target.address, target.port)

        def send() -> None:
            seq, t, sent = udp.next_seq, time.time(), loop.time()
            udp.pending[seq] = (t, sent, loop.call_at(sent + target.timeout_s, self._expired, udp, seq))
            udp.next_seq += 1
            transport.sendto(DATAGRAM.pack(udp.token, seq, t), address)

        await self._every(target.interval_s, send)

    def _echoed(self, udp: _Udp, data: bytes) -> None:
        if len(data) != DATAGRAM.size:
            return
        token, seq, _ = DATAGRAM.unpack(data)
        if token != udp.token or seq not in udp.pending:
            return   # another run's, a duplicate, or one already counted lost
        t, sent, timer = udp.pending.pop(seq)
        timer.cancel()
        self.lines.write(Datagram(t, udp.family, seq, True, _ms(sent)))
        self._settle(udp)

    def _expired(self, udp: _Udp, seq: int) -> None:
        t, _, _ = udp.pending.pop(seq)
        udp.lost += 1
        self.lines.write(Datagram(t, udp.family, seq, False, None))
        self._settle(udp)

    @staticmethod
    def _settle(udp: _Udp) -> None:
        if not udp.pending:
            udp.settled.set()

    # flow

    async def _flows(self, target: StreamTarget) -> None:
        while True:
            try:
                async with asyncio.timeout(self.config.timeout_s):
                    reader, writer = await asyncio.open_connection(
                        target.host, target.port, happy_eyeballs_delay=CONNECTION_ATTEMPT_DELAY_S,
                        flags=socket.AI_ADDRCONFIG)
            except (OSError, TimeoutError):
                await asyncio.sleep(RECONNECT_S)
                continue
            flow, self.flows = self.flows, self.flows + 1
            self.lines.write(FlowEvent(time.time(), "open", flow, 0))
            try:
                await self._follow(flow, reader, target)
            finally:
                writer.close()

    async def _follow(self, flow: int, reader: asyncio.StreamReader, target: StreamTarget) -> None:
        """Read flow ``flow`` until it ends, writing its events."""
        loop = asyncio.get_running_loop()
        total, last_byte, last_byte_t = 0, loop.time(), time.time()
        next_progress, stalled = last_byte + PROGRESS_S, False
        try:
            while True:
                limit = last_byte + (target.give_up_s if stalled else target.stall_s)
                deadline = asyncio.timeout_at(min(next_progress, limit))
                try:
                    async with deadline:
                        chunk = await reader.read(READ_SIZE)
                    if not chunk:
                        break   # the server closed it
                    total, last_byte, last_byte_t, stalled = total + len(chunk), loop.time(), time.time(), False
                except TimeoutError:
                    if not deadline.expired():
                        raise   # the socket's own (ETIMEDOUT): the connection is gone
                now = loop.time()
                if now >= next_progress:
                    self.lines.write(FlowEvent(time.time(), "progress", flow, total))
                    while next_progress <= now:
                        next_progress += PROGRESS_S
                if not stalled and now >= last_byte + target.stall_s:
                    self.lines.write(FlowEvent(last_byte_t + target.stall_s, "stall", flow, total))
                    stalled = True
                elif stalled and now >= last_byte + target.give_up_s:
                    break
        except OSError:
            self.lines.write(FlowEvent(time.time(), "reset", flow, total))
            return
        except asyncio.CancelledError:
            self.lines.write(FlowEvent(time.time(), "closed", flow, total))
            raise
        self.lines.write(FlowEvent(time.time(), "closed", flow, total))


def run(config: Config, out: TextIO, signals: bool = False) -> Summary:
    """Run the workload on a loop of its own, writing its lines to ``out``."""
    with asyncio.Runner(loop_factory=Loop) as runner:
        return runner.run(Prober(config, Lines(config.client, out)).run(signals))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        config = parse_config(json.loads(args[0]))
    except (IndexError, json.JSONDecodeError) as error:
        print(f"workload: argv[1] must be the config, one JSON object ({error})", file=sys.stderr)
        return 2
    except ConfigError as error:
        print(f"workload: {error}", file=sys.stderr)
        return error.exit_status
    run(config, sys.stdout, signals=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

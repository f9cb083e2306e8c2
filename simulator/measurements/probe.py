"""Runs inside one emulated host and measures its row of the connectivity matrix.

    python -m simulator.measurements.probe '<json list of checks>'

Prints one JSON object per check. Each check is a real exchange on the wire:
``ping`` (ICMP echo to an address literal), ``dns`` (one query to a given DNS server
over a chosen transport family, as ``dig @server`` asks), ``http`` (a name looked up
for one family, then TCP connect to the answer, then an HTTP GET that must return
the service's own page), ``fetch`` (a name reached as an application reaches it:
Happy Eyeballs over what the resolver answered) and ``timing`` (samples for the
mechanism comparison).

Names are looked up the way applications look them up: getaddrinfo, which asks the
resolver named in this host's own /etc/resolv.conf, the one its network gave it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import sys
import time
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

RECORD_TYPE = {4: "A", 6: "AAAA"}


# Probes run at the lowest priority (nice 19). They share the host's cores with the
# network they measure: the userspace switches, the kernel's forwarding and the
# daemons. When 64 probes started at once in a 1,000-node city (0.13 s of CPU each,
# to start Python), Open vSwitch got about 4 % of the CPU for 5 s and round trips
# through it grew from 0.2 s to 5 s: the matrix measured the probes' own load. At
# nice 19 the slowest was 3.2 s, and 1.1-2.4 s with the first wave ramped (see
# connectivity.PROBE_RAMP_S). Ping takes its round trips from kernel timestamps, so
# a probe that waits for a core does not lengthen them.
NICE = 19


def niced(module: str, argument) -> list[str]:
    """The command that runs a measurement module in a node at the probes' priority,
    its one argument as JSON."""
    return ["nice", "-n", str(NICE), sys.executable, "-m", module, json.dumps(argument)]


def command(checks: list[dict]) -> list[str]:
    """The command that runs these checks in a node, one after the other."""
    return niced("simulator.measurements.probe", checks)


def _ms(since: float) -> float:
    return round((time.monotonic() - since) * 1000, 3)


# How long ping waits for a reply that has not come (iputils' -W; once a reply has
# come it waits two round trips). One second measured the emulation host rather than
# the path: in a 1,000-node city on 2 cores, round trips through the userspace
# switches are 20-600 ms, and replies to the first wave of probes came back after
# 4.6 s. A real ping waits 10 s.
PING_WAIT_S = 5


def ping(check: dict) -> dict:
    count = check.get("count", 3)
    started = time.monotonic()
    out = subprocess.run(["ping", "-n", "-c", str(count), "-i", "0.2", "-W", str(PING_WAIT_S), check["address"]],
                         capture_output=True, text=True)
    received = re.search(r"(\d+) received", out.stdout)
    rtt = re.search(r"= [\d.]+/([\d.]+)/", out.stdout)
    got = int(received.group(1)) if received else 0
    error = ""
    if not got:
        lines = out.stdout.strip().splitlines()
        error = out.stderr.strip() or (lines[-1] if lines else f"exit status {out.returncode}")
    result = {"ok": got > 0, "sent": count, "received": got,
              "rtt_ms": float(rtt.group(1)) if rtt else None, "error": error, "elapsed_ms": _ms(started)}
    if received and got < count:
        # Packets left and some never came back: what the kernel knew of the way
        # out, right after, so that a loss explains itself.
        result["neighbour_state"] = neighbour_state(check["address"])
    return result


# /proc/net/stat/{arp,ndisc}_cache: the kernel's one table per family, shared by
# every namespace; a row per CPU, in hexadecimal. Only the host's namespace has the
# file, so it is read through process 1's view of /proc/net.
TABLE_STATS = {4: "/proc/1/net/stat/arp_cache", 6: "/proc/1/net/stat/ndisc_cache"}
TABLE_COUNTERS = ("forced_gc_runs", "table_fulls", "unresolved_discards")


def table_counters(text: str) -> dict:
    """Entries now and, summed over CPUs, the counters that say entries were
    evicted or refused, from the text of /proc/net/stat/{arp,ndisc}_cache."""
    lines = text.split("\n")
    names = lines[0].split()
    rows = [dict(zip(names, (int(value, 16) for value in line.split()), strict=False))
            for line in lines[1:] if line.strip()]
    if not rows:
        return {}
    return {"entries": rows[0]["entries"], **{name: sum(row.get(name, 0) for row in rows) for name in TABLE_COUNTERS}}


def next_hop(route: str) -> tuple[str | None, str | None]:
    """(device, gateway or None) from one line of `ip -o route get`."""
    words = route.split()
    dev = words[words.index("dev") + 1] if "dev" in words[:-1] else None
    via = words[words.index("via") + 1] if "via" in words[:-1] else None
    return dev, via


def neighbour_state(address: str) -> dict:
    """The route to ``address``, its next hop, and the neighbour entries of the
    interface it leaves by, with the shared table's counters."""
    def run(command):
        return subprocess.run(command, capture_output=True, text=True).stdout.strip()
    route = run(["ip", "-o", "route", "get", address])
    dev, via = next_hop(route)
    try:
        with open(TABLE_STATS[6 if ":" in address else 4]) as stats:
            table = table_counters(stats.read())
    except OSError:
        table = {}
    return {"route": route, "next_hop": via or address,
            "neighbours": run(["ip", "-o", "neigh", "show", "dev", dev]).splitlines() if dev else [],
            "table": table}


def _query(name: str, family: int, server: str, timeout: float, attempts: int = 2):
    """One question, asked again on timeout like a stub resolver (glibc tries twice)."""
    query = dns.message.make_query(name, RECORD_TYPE[family])
    for attempt in range(attempts):
        try:
            return dns.query.udp(query, server, timeout=timeout)
        except dns.exception.Timeout:
            if attempt == attempts - 1:
                raise


def _addresses(response, family: int) -> list[str]:
    wanted = dns.rdatatype.from_text(RECORD_TYPE[family])
    return [item.address for rrset in response.answer if rrset.rdtype == wanted for item in rrset]


def dns_check(check: dict) -> dict:
    started = time.monotonic()
    try:
        response = _query(check["name"], check.get("record_family", 4), check["server"], check.get("timeout", 2.0))
    except (dns.exception.DNSException, OSError) as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}", "dns_ms": _ms(started)}
    answers = _addresses(response, check.get("record_family", 4))
    return {"ok": bool(answers), "answers": answers, "dns_ms": _ms(started),
            "error": "" if answers else f"no answer (rcode {response.rcode()})"}


def _get(address: str, name: str, marker: str, timeout: float, port: int = 80) -> dict:
    """TCP connect to ``address`` and GET / for ``name``; ok when the page is the service's own."""
    result: dict[str, Any] = {"ok": False, "connect_ms": None, "http_ms": None, "error": ""}
    started = time.monotonic()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect((address, port))
            result["connect_ms"] = _ms(started)
            started = time.monotonic()
            sock.sendall(f"GET / HTTP/1.0\r\nHost: {name}\r\n\r\n".encode())
            body = b""
            while chunk := sock.recv(65536):
                body += chunk
            result["http_ms"] = _ms(started)
    except OSError as error:
        result["error"] = f"TCP: {error.strerror or error}"
        return result
    result.update(page_verdict(body, marker))
    return result


def page_verdict(body: bytes, marker: str) -> dict:
    status = body.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200 " not in status + " ":
        return {"ok": False, "error": f"HTTP: {status}"}
    if marker.encode() not in body:
        return {"ok": False, "error": "HTTP: 200 but not the service's page"}
    return {"ok": True, "error": ""}


def _family(version: int | None) -> int:
    return {4: socket.AF_INET, 6: socket.AF_INET6}.get(version or 0, socket.AF_UNSPEC)


def nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    """The name servers this host's resolver asks, in order (what its network gave it)."""
    try:
        with open(path) as conf:
            return [line.split()[1] for line in conf if line.startswith("nameserver") and len(line.split()) > 1]
    except OSError:
        return []


def _lookup(name: str, family: int, port: int = 80) -> list[str]:
    """Addresses of ``name`` from the system resolver (getaddrinfo, which reads this
    host's /etc/resolv.conf), in the order the resolver gives them (RFC 6724)."""
    infos = socket.getaddrinfo(name, port, family, socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def http(check: dict) -> dict:
    """DNS lookup of a name for one family through the system resolver, then TCP
    connect to the first answer, then an HTTP GET that must return the service's page."""
    family = check["family"]
    result: dict[str, Any] = {"ok": False, "dns_ms": None, "connect_ms": None, "http_ms": None, "address": None,
                              "error": "", "nameservers": ",".join(nameservers())}
    started = time.monotonic()
    try:
        answers = _lookup(check["name"], _family(family), check.get("port", 80))
    except socket.gaierror as error:
        result.update(error=f"DNS: no {RECORD_TYPE[family]} answer for {check['name']} ({error.strerror})",
                      dns_ms=_ms(started))
        return result
    result["dns_ms"] = _ms(started)
    result["address"] = answers[0]
    result.update(_get(answers[0], check["name"], check["marker"], check.get("timeout", 3.0), check.get("port", 80)))
    return result


# RFC 8305 section 5: the next connection attempt starts when the previous one has
# not connected within the Connection Attempt Delay: 250 ms by default, anywhere from
# 100 ms to 2 s. Here the upper bound: on an emulation host of two cores, where every
# client probes at once and a flow's first packets go through the controller, a
# working IPv6 path can take longer than 250 ms to answer its first SYN, and a
# fallback would then report the emulator's load as a broken path. A path that is
# broken still falls back, and is reported as such.
CONNECTION_ATTEMPT_DELAY_S = 2.0


class _RecordingLoop(asyncio.SelectorEventLoop):
    """An event loop that remembers the answer of the name lookup its connections
    make (the candidates Happy Eyeballs tries, in the resolver's order) and how long
    it took, so that the name is resolved once, by the connection itself."""

    candidates: list[str] = []
    dns_ms: float | None = None

    async def getaddrinfo(self, *args, **kwargs):
        started = time.monotonic()
        try:
            infos = await super().getaddrinfo(*args, **kwargs)
        finally:
            self.dns_ms = _ms(started)
        self.candidates = list(dict.fromkeys(str(info[4][0]) for info in infos))
        return infos


async def _exchange(name: str, host: str, marker: str, port: int, timeout: float, result: dict) -> None:
    started = time.monotonic()
    # Python's own Happy Eyeballs (RFC 8305): candidates by family in turn, the next
    # attempt started when the previous one has not connected within the delay.
    # AI_ADDRCONFIG as applications ask: only the families this host has.
    reader, writer = await asyncio.wait_for(asyncio.open_connection(
        name, port, happy_eyeballs_delay=CONNECTION_ATTEMPT_DELAY_S, flags=socket.AI_ADDRCONFIG), timeout)
    try:
        result["connect_ms"] = _ms(started)
        result["address"] = writer.get_extra_info("peername")[0]
        started = time.monotonic()
        writer.write(f"GET / HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        body = await asyncio.wait_for(reader.read(), timeout)
        result["http_ms"] = _ms(started)
    finally:
        writer.close()
    result.update(page_verdict(body, marker))


def _happy_eyeballs(check: dict) -> dict:
    result: dict[str, Any] = {"ok": False, "dns_ms": None, "connect_ms": None, "http_ms": None, "address": None,
                              "error": "", "candidates": [], "fell_back": False, "nameservers": ",".join(nameservers())}
    loop, timeout = _RecordingLoop(), check.get("timeout", 5.0)
    try:
        loop.run_until_complete(_exchange(check["name"], check["host"], check["marker"], check.get("port", 80),
                                          timeout, result))
    except socket.gaierror as error:
        result["error"] = f"DNS for {check['name']}: {error.strerror}"
    except TimeoutError:
        result["error"] = f"TCP: no answer within {timeout:g} s"
    except OSError as error:
        # Every attempt failed: asyncio says which, one error per address.
        result["error"] = f"TCP: {error.strerror or error}"
    finally:
        loop.close()
    result["dns_ms"], result["candidates"] = loop.dns_ms, loop.candidates
    if result["address"] and loop.candidates:
        # The host's first choice was the other family: Happy Eyeballs fell back.
        result["fell_back"] = (":" in result["address"]) != (":" in loop.candidates[0])
    return result


def fetch(check: dict) -> dict:
    """Reach a service as an application does: by name (the system resolver, then
    Happy Eyeballs over what it answered) or by an address literal."""
    if "address" not in check:
        return _happy_eyeballs(check)
    result = {"ok": False, "dns_ms": None, "connect_ms": None, "http_ms": None, "address": check["address"],
              "error": "", "candidates": [check["address"]], "fell_back": False}
    outcome = _get(check["address"], check["host"], check["marker"], check.get("timeout", 3.0), check.get("port", 80))
    result.update(outcome)
    if not result["ok"]:
        result["error"] = f"{check['address']}: {outcome['error']}"
    return result


def timing(check: dict) -> dict:
    """``count`` samples each of RTT (ping), TCP connect time and DNS resolution
    time, for the mechanism comparison; a failed sample is a None in its list
    (never a number), and ``failed`` counts them all."""
    count = check.get("count", 5)
    out = subprocess.run(["ping", "-n", "-c", str(count), "-i", "0.05", "-W", str(PING_WAIT_S), check["address"]],
                         capture_output=True, text=True)
    rtts: list[float | None] = [float(m) for m in re.findall(r"time=([\d.]+) ms", out.stdout)[:count]]
    rtts += [None] * (count - len(rtts))
    connects: list[float | None] = []
    for _ in range(count):
        started = time.monotonic()
        family = socket.AF_INET6 if ":" in check["address"] else socket.AF_INET
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(3.0)
                sock.connect((check["address"], check.get("port", 80)))
                connects.append(_ms(started))
        except OSError:
            connects.append(None)
    lookups = []
    for _ in range(count):
        started = time.monotonic()
        try:
            answered = _lookup(check["name"], _family(check["record"]))
        except OSError:
            answered = []
        lookups.append(_ms(started) if answered else None)
    samples = rtts + connects + lookups
    return {"ok": None not in samples, "rtt_ms": rtts, "connect_ms": connects, "dns_ms": lookups,
            "failed": samples.count(None)}


CHECKS = {"ping": ping, "dns": dns_check, "http": http, "fetch": fetch, "timing": timing}


def main(argv=None) -> int:
    checks = json.loads((argv or sys.argv[1:])[0])
    for check in checks:
        outcome = CHECKS[check["method"]](check)
        print(json.dumps({"id": check["id"], **outcome}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

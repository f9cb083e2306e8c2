"""Runs inside one emulated host and measures its row of the connectivity matrix.

    python -m simulator.measurements.probe '<json list of checks>'

Prints one JSON object per check. Each check is a real exchange on the wire:
``ping`` (ICMP echo to an address literal), ``dns`` (one query to a DNS server over a
chosen transport family), ``http`` (DNS lookup of a name for one family, then TCP
connect to the answer, then an HTTP GET that must return the service's own page).
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time

import dns.exception
import dns.message
import dns.query
import dns.rdatatype

RECORD_TYPE = {4: "A", 6: "AAAA"}


def _ms(since: float) -> float:
    return round((time.monotonic() - since) * 1000, 3)


def ping(check: dict) -> dict:
    count = check.get("count", 3)
    started = time.monotonic()
    out = subprocess.run(["ping", "-n", "-c", str(count), "-i", "0.2", "-W", "1", check["address"]],
                         capture_output=True, text=True)
    received = re.search(r"(\d+) received", out.stdout)
    rtt = re.search(r"= [\d.]+/([\d.]+)/", out.stdout)
    got = int(received.group(1)) if received else 0
    error = ""
    if not got:
        lines = out.stdout.strip().splitlines()
        error = out.stderr.strip() or (lines[-1] if lines else f"exit status {out.returncode}")
    return {"ok": got > 0, "sent": count, "received": got,
            "rtt_ms": float(rtt.group(1)) if rtt else None, "error": error, "elapsed_ms": _ms(started)}


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
    result = {"ok": False, "connect_ms": None, "http_ms": None, "error": ""}
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
    status = body.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200 " not in status + " ":
        result["error"] = f"HTTP: {status}"
    elif marker.encode() not in body:
        result["error"] = "HTTP: 200 but not the service's page"
    else:
        result["ok"] = True
    return result


def http(check: dict) -> dict:
    family = check["family"]
    result = {"ok": False, "dns_ms": None, "connect_ms": None, "http_ms": None, "address": None, "error": ""}
    started = time.monotonic()
    try:
        response = _query(check["name"], family, check["server"], check.get("timeout", 2.0))
    except (dns.exception.DNSException, OSError) as error:
        result.update(error=f"DNS: {type(error).__name__}: {error}", dns_ms=_ms(started))
        return result
    result["dns_ms"] = _ms(started)
    answers = _addresses(response, family)
    if not answers:
        result["error"] = f"DNS: no {RECORD_TYPE[family]} record for {check['name']}"
        return result
    result["address"] = answers[0]
    result.update(_get(answers[0], check["name"], check["marker"], check.get("timeout", 3.0), check.get("port", 80)))
    return result


def fetch(check: dict) -> dict:
    """Reach a service as an application does: by name (ask the families the host
    has, IPv6 first, then try each address in turn) or by an address literal."""
    result = {"ok": False, "dns_ms": None, "connect_ms": None, "http_ms": None, "address": None,
              "error": "", "attempts": []}
    if "address" in check:
        candidates = [check["address"]]
    else:
        candidates, problems = [], []
        started = time.monotonic()
        for family in check["families"]:
            try:
                found = _addresses(_query(check["name"], family, check["server"], check.get("timeout", 2.0)), family)
            except (dns.exception.DNSException, OSError) as error:
                problems.append(f"{RECORD_TYPE[family]} query failed ({type(error).__name__}: {error})")
                continue
            candidates += found[:1]
            if not found:
                problems.append(f"no {RECORD_TYPE[family]} record")
        result["dns_ms"] = _ms(started)
        if not candidates:
            result["error"] = f"DNS for {check['name']}: {'; '.join(problems)}"
            return result
    for address in candidates:
        outcome = _get(address, check["host"], check["marker"], check.get("timeout", 3.0), check.get("port", 80))
        result["attempts"].append({"address": address, **outcome})
        result.update(outcome, address=address)
        if outcome["ok"]:
            break
    if not result["ok"]:
        result["error"] = "; ".join(f"{a['address']}: {a['error']}" for a in result["attempts"])
    return result


def timing(check: dict) -> dict:
    """``count`` samples each of RTT (ping), TCP connect time and DNS resolution
    time, for the mechanism comparison; a failed sample is a None in its list
    (never a number), and ``failed`` counts them all."""
    count = check.get("count", 5)
    out = subprocess.run(["ping", "-n", "-c", str(count), "-i", "0.05", "-W", "1", check["address"]],
                         capture_output=True, text=True)
    rtts = [float(m) for m in re.findall(r"time=([\d.]+) ms", out.stdout)][:count]
    rtts += [None] * (count - len(rtts))
    connects = []
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
            answered = _addresses(_query(check["name"], check["record"], check["server"], 2.0), check["record"])
        except (dns.exception.DNSException, OSError):
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

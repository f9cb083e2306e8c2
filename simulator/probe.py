"""Runs inside one emulated host and measures its row of the connectivity matrix.

    python -m simulator.probe '<json list of checks>'

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
    address = result["address"] = answers[0]
    started = time.monotonic()
    try:
        with socket.socket(socket.AF_INET6 if family == 6 else socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(check.get("timeout", 3.0))
            sock.connect((address, check.get("port", 80)))
            result["connect_ms"] = _ms(started)
            started = time.monotonic()
            sock.sendall(f"GET / HTTP/1.0\r\nHost: {check['name']}\r\n\r\n".encode())
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
    elif check["marker"].encode() not in body:
        result["error"] = "HTTP: 200 but not the service's page"
    else:
        result["ok"] = True
    return result


CHECKS = {"ping": ping, "dns": dns_check, "http": http}


def main(argv=None) -> int:
    checks = json.loads((argv or sys.argv[1:])[0])
    for check in checks:
        outcome = CHECKS[check["method"]](check)
        print(json.dumps({"id": check["id"], **outcome}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

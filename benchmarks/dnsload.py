"""DNS queries per second against one server, with a fixed number in flight.

    python -m benchmarks.dnsload SERVER NAME SECONDS [IN_FLIGHT]

Prints one JSON object: answered queries per second, and how many went unanswered.
Runs inside an emulated node (or a namespace) like the probe does.
"""

from __future__ import annotations

import json
import select
import socket
import sys
import time

import dns.message
import dns.rdatatype


def load(server: str, name: str, seconds: float, in_flight: int = 32) -> dict:
    family = socket.AF_INET6 if ":" in server else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.connect((server, 53))
    sock.setblocking(False)
    template = dns.message.make_query(name, dns.rdatatype.AAAA)
    outstanding: dict[int, float] = {}
    answered = sent = timeouts = 0
    next_id = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        now = time.monotonic()
        for query_id, when in list(outstanding.items()):
            if now - when > 1.0:       # a lost query frees its slot after 1 s
                del outstanding[query_id]
                timeouts += 1
        while len(outstanding) < in_flight:
            next_id = (next_id + 1) % 65536
            template.id = next_id
            sock.send(template.to_wire())
            outstanding[next_id] = time.monotonic()
            sent += 1
        readable, _, _ = select.select([sock], [], [], 0.05)
        while readable:
            try:
                data = sock.recv(4096)
            except BlockingIOError:
                break
            response = dns.message.from_wire(data)
            if outstanding.pop(response.id, None) is not None and response.answer:
                answered += 1
    sock.close()
    return {"qps": answered / seconds, "sent": sent, "answered": answered, "unanswered": timeouts}


if __name__ == "__main__":
    args = sys.argv[1:]
    print(json.dumps(load(args[0], args[1], float(args[2]), int(args[3]) if len(args) > 3 else 32)))

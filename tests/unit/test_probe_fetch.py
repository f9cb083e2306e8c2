"""simulator.measurements.probe fetch and timing against real servers on the loopback: a web
server (http.server, in a thread) and a small DNS server (a UDP socket in a thread,
answering from a dict with dnspython messages).

The probe asks its DNS server on port 53, which a test cannot take without root and
might find taken; ``dns_server`` points dnspython's UDP queries at its own free port
instead. Everything else is as in an emulated host: real sockets, real DNS messages,
real HTTP.

No assertion is about how long anything took: times are checked to be there (or
None), never their values.
"""

import http.server
import os
import socket
import threading
from functools import partial

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from simulator.measurements import probe
from simulator.network.daemons import page_marker

NAME = "portal.city.test"
MARKER = page_marker(NAME)            # "v6lab-service:portal.city.test"
PAGE = f"<html><body><h1>{NAME}</h1><!-- {MARKER} --></body></html>\n".encode()


class Page(http.server.BaseHTTPRequestHandler):
    """The portal's page at /, a 404 anywhere else."""

    def do_GET(self):
        found = self.path == "/"
        body = PAGE if found else b"not here\n"
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve(server):
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return thread


def stop(server, thread):
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def web():
    """The portal's page on 127.0.0.1, on a free port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = serve(server)
    yield server.server_address[1]
    stop(server, thread)


@pytest.fixture
def web6():
    """The portal's page on ::1, on a free port."""
    server = Server6(("::1", 0), Page)
    thread = serve(server)
    yield server.server_address[1]
    stop(server, thread)


def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A TCP port nothing listens on (taken from the kernel, then given back)."""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class DnsServer:
    """Answers A and AAAA questions from ``records`` ({(name, "A"): [addresses]});
    a name it holds nothing for gets an empty NOERROR answer. ``asked`` lists the
    questions in the order they came. With ``answer=False`` it never replies."""

    def __init__(self, records, answer=True):
        self.records, self.answer, self.asked = records, answer, []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while self.running:
            try:
                wire, client = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            query = dns.message.from_wire(wire)
            question = query.question[0]
            name, kind = question.name.to_text(omit_final_dot=True), dns.rdatatype.to_text(question.rdtype)
            self.asked.append((name, kind))
            if not self.answer:
                continue
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            addresses = self.records.get((name, kind), [])
            if addresses:
                response.answer.append(dns.rrset.from_text_list(question.name, 60, "IN", kind, addresses))
            self.sock.sendto(response.to_wire(), client)

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


@pytest.fixture
def dns_server(monkeypatch):
    """Start a DnsServer with the given records, and send the probe's queries to it."""
    started = []

    def start(records, answer=True):
        server = DnsServer(records, answer)
        started.append(server)
        monkeypatch.setattr(probe.dns.query, "udp", partial(dns.query.udp, port=server.port))
        return server
    yield start
    for server in started:
        server.close()


def by_name(families, port, **more):
    return {"name": NAME, "families": families, "server": "127.0.0.1", "host": NAME, "marker": MARKER,
            "port": port, "timeout": 1.0, **more}


def check_times(result, dns=True, connected=True):
    """Times are numbers where the step happened, None where it did not."""
    assert (isinstance(result["dns_ms"], float) if dns else result["dns_ms"] is None)
    for key in ("connect_ms", "http_ms"):
        assert (isinstance(result[key], float) if connected else result[key] is None)


def without_times(attempts):
    return [{k: v for k, v in a.items() if k not in ("connect_ms", "http_ms")} for a in attempts]


# --- fetch by name ------------------------------------------------------------------------------


def test_only_an_a_record_falls_back_to_ipv4(dns_server, web):
    server = dns_server({(NAME, "A"): ["127.0.0.1"]})
    result = probe.fetch(by_name([6, 4], web))
    # IPv6 first, as a stub resolver on a dual-stack host asks.
    assert server.asked == [(NAME, "AAAA"), (NAME, "A")]
    assert (result["ok"], result["address"], result["error"]) == (True, "127.0.0.1", "")
    assert without_times(result["attempts"]) == [{"address": "127.0.0.1", "ok": True, "error": ""}]
    check_times(result)
    assert set(result) == {"ok", "dns_ms", "connect_ms", "http_ms", "address", "error", "attempts"}


def test_ipv6_answer_used_first(dns_server, web6):
    dns_server({(NAME, "AAAA"): ["::1"], (NAME, "A"): ["127.0.0.1"]})
    result = probe.fetch(by_name([6, 4], web6))
    assert (result["ok"], result["address"], result["error"]) == (True, "::1", "")
    # It worked at once: the IPv4 address is never tried.
    assert without_times(result["attempts"]) == [{"address": "::1", "ok": True, "error": ""}]


def test_only_the_families_asked(dns_server, web):
    # An IPv4-only host asks for A records only, even where a AAAA exists.
    server = dns_server({(NAME, "AAAA"): ["::1"], (NAME, "A"): ["127.0.0.1"]})
    result = probe.fetch(by_name([4], web))
    assert server.asked == [(NAME, "A")]
    assert (result["ok"], result["address"]) == (True, "127.0.0.1")


def test_no_records(dns_server, web):
    server = dns_server({})
    result = probe.fetch(by_name([6, 4], web))
    assert server.asked == [(NAME, "AAAA"), (NAME, "A")]
    assert result["ok"] is False
    assert result["error"] == "DNS for portal.city.test: no AAAA record; no A record"
    assert (result["address"], result["attempts"]) == (None, [])
    check_times(result, dns=True, connected=False)


def test_no_dns_answer(dns_server, web):
    # A DNS server that never replies: asked twice (a stub resolver's retry), then given up.
    server = dns_server({(NAME, "A"): ["127.0.0.1"]}, answer=False)
    result = probe.fetch(by_name([4], web, timeout=0.1))
    assert server.asked == [(NAME, "A"), (NAME, "A")]
    assert result["ok"] is False
    assert result["error"] == "DNS for portal.city.test: A query failed (Timeout: The DNS operation timed out.)"
    assert result["attempts"] == []


def test_first_address_refused_second_works(dns_server, web):
    # The web server listens on 127.0.0.1 only: ::1 refuses the connection.
    dns_server({(NAME, "AAAA"): ["::1"], (NAME, "A"): ["127.0.0.1"]})
    result = probe.fetch(by_name([6, 4], web))
    assert without_times(result["attempts"]) == [
        {"address": "::1", "ok": False, "error": "TCP: Connection refused"},
        {"address": "127.0.0.1", "ok": True, "error": ""},
    ]
    assert (result["attempts"][0]["connect_ms"], result["attempts"][0]["http_ms"]) == (None, None)
    # The result is the attempt that worked.
    assert (result["ok"], result["address"], result["error"]) == (True, "127.0.0.1", "")
    check_times(result)


def test_every_address_refused(dns_server):
    port = free_port()
    dns_server({(NAME, "AAAA"): ["::1"], (NAME, "A"): ["127.0.0.1"]})
    result = probe.fetch(by_name([6, 4], port))
    assert result["ok"] is False
    # Each attempt's error, in the order tried; the last address is the one reported.
    assert result["error"] == "::1: TCP: Connection refused; 127.0.0.1: TCP: Connection refused"
    assert result["address"] == "127.0.0.1"
    assert len(result["attempts"]) == 2
    check_times(result, dns=True, connected=False)


def test_another_services_page(dns_server, web):
    # The server answers 200, but with the portal's page, not the school's.
    dns_server({("school.city.test", "A"): ["127.0.0.1"]})
    result = probe.fetch({**by_name([4], web), "name": "school.city.test", "host": "school.city.test",
                          "marker": page_marker("school.city.test")})
    assert (result["ok"], result["error"]) == (False, "127.0.0.1: HTTP: 200 but not the service's page")


# --- fetch by address literal --------------------------------------------------------------------


def test_ipv4_literal(web):
    result = probe.fetch({"address": "127.0.0.1", "host": NAME, "marker": MARKER, "port": web})
    assert (result["ok"], result["address"], result["error"]) == (True, "127.0.0.1", "")
    assert without_times(result["attempts"]) == [{"address": "127.0.0.1", "ok": True, "error": ""}]
    # No DNS lookup for a literal.
    check_times(result, dns=False)


def test_ipv6_literal(web6):
    result = probe.fetch({"address": "::1", "host": NAME, "marker": MARKER, "port": web6})
    assert (result["ok"], result["address"], result["error"]) == (True, "::1", "")
    check_times(result, dns=False)


def test_literal_refused():
    port = free_port(socket.AF_INET6, "::1")
    result = probe.fetch({"address": "::1", "host": NAME, "marker": MARKER, "port": port})
    assert (result["ok"], result["address"], result["error"]) == (False, "::1", "::1: TCP: Connection refused")
    check_times(result, dns=False, connected=False)


def test_get_not_found():
    # _get asks for /; a server that has no page there answers 404.
    class Missing(Page):
        def do_GET(self):
            self.path = "/elsewhere"
            super().do_GET()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Missing)
    thread = serve(server)
    try:
        result = probe._get("127.0.0.1", NAME, MARKER, 1.0, server.server_address[1])
    finally:
        stop(server, thread)
    assert (result["ok"], result["error"]) == (False, "HTTP: HTTP/1.0 404 Not Found")
    assert isinstance(result["connect_ms"], float)


# --- timing --------------------------------------------------------------------------------------


def probe_can_ping():
    """Whether this user may ping at the probe's 50 ms interval (root may)."""
    return os.geteuid() == 0


def timing_check(port, count=3, record=4, address="127.0.0.1"):
    return {"address": address, "name": NAME, "server": "127.0.0.1", "record": record, "count": count,
            "port": port}


def test_timing(dns_server, web):
    server = dns_server({(NAME, "A"): ["127.0.0.1"]})
    result = probe.timing(timing_check(web, count=3))
    assert set(result) == {"ok", "rtt_ms", "connect_ms", "dns_ms", "failed"}
    # count connects and count lookups, each a number.
    assert len(result["connect_ms"]) == 3 and all(isinstance(v, float) for v in result["connect_ms"])
    assert len(result["dns_ms"]) == 3 and all(isinstance(v, float) for v in result["dns_ms"])
    assert server.asked == [(NAME, "A")] * 3
    assert isinstance(result["rtt_ms"], list)
    if probe_can_ping():
        assert len(result["rtt_ms"]) == 3 and all(isinstance(v, float) for v in result["rtt_ms"])
        assert (result["ok"], result["failed"]) == (True, 0)


def test_timing_ipv6_record(dns_server, web6):
    server = dns_server({(NAME, "AAAA"): ["::1"]})
    result = probe.timing(timing_check(web6, count=2, record=6, address="::1"))
    assert server.asked == [(NAME, "AAAA")] * 2
    assert (len(result["connect_ms"]), len(result["dns_ms"])) == (2, 2)


def test_timing_failures_counted(dns_server):
    # Nothing listens on the port and the name has no A record: every connect and
    # every lookup fails, 2 + 2, plus any ping that got no reply.
    dns_server({})
    result = probe.timing(timing_check(free_port(), count=2))
    # A failed sample is a None in its list, so a metric whose samples all fail
    # still shows in the comparison, as failures.
    assert (result["connect_ms"], result["dns_ms"], result["ok"]) == ([None, None], [None, None], False)
    assert len(result["rtt_ms"]) == 2
    assert result["failed"] == 4 + result["rtt_ms"].count(None)
    if probe_can_ping():
        assert result["failed"] == 4

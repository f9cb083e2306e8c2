"""simulator.measurements.probe http, fetch and timing against real web servers on the
loopback (http.server, in a thread), through Python's own Happy Eyeballs.

The probe resolves names with getaddrinfo, which asks the resolver of the host's
/etc/resolv.conf; a test without root cannot point that at a DNS server of its own,
so ``resolver`` stands in for the system resolver (socket.getaddrinfo, as the probe
and asyncio call it) and answers from a dict, the way glibc does: IPv6 first (RFC
6724 on a dual-stack host), only the families asked for, and with AI_ADDRCONFIG
only those the host has. Everything else is as in an emulated host: real sockets,
real HTTP, asyncio's real Happy Eyeballs.

No assertion is about how long anything took: times are checked to be there (or
None), never their values.
"""

import http.server
import os
import socket
import socketserver
import threading

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

    def server_bind(self):
        # http.server looks its address up in reverse (getfqdn), and a host whose
        # /etc/hosts has no "::1" line asks DNS for it: seconds of timeouts here.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]


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


class Resolver:
    """A stand-in for getaddrinfo: ``records`` maps (name, 4 or 6) to addresses; the
    host has the families in ``host``. ``asked`` lists (name, family asked, whether
    AI_ADDRCONFIG was set) in order."""

    def __init__(self, records, host=(6, 4)):
        self.records, self.host, self.asked = records, host, []
        self.real = socket.getaddrinfo

    def __call__(self, name, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 (getaddrinfo's names)
        if name in ("127.0.0.1", "::1"):
            return self.real(name, port, family, type, proto, flags)
        self.asked.append((name, family, bool(flags & socket.AI_ADDRCONFIG)))
        versions = {socket.AF_INET: [4], socket.AF_INET6: [6]}.get(family, [6, 4])
        if flags & socket.AI_ADDRCONFIG:
            versions = [v for v in versions if v in self.host]
        found = [(socket.AF_INET6 if v == 6 else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                  (address, port) + ((0, 0) if v == 6 else ()))
                 for v in versions for address in self.records.get((name, v), [])]
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return found


@pytest.fixture
def resolver(monkeypatch):
    def install(records, host=(6, 4)):
        stand_in = Resolver(records, host)
        monkeypatch.setattr(socket, "getaddrinfo", stand_in)
        return stand_in
    return install


def by_name(port, **more):
    return {"name": NAME, "host": NAME, "marker": MARKER, "port": port, "timeout": 1.0, **more}


def check_times(result, dns=True, connected=True):
    """Times are numbers where the step happened, None where it did not."""
    assert (isinstance(result["dns_ms"], float) if dns else result["dns_ms"] is None)
    for key in ("connect_ms", "http_ms"):
        assert (isinstance(result[key], float) if connected else result[key] is None)


FETCH_KEYS = {"ok", "dns_ms", "connect_ms", "http_ms", "address", "error", "candidates", "fell_back", "nameservers"}


# --- fetch by name: the system resolver, then Happy Eyeballs ---------------------------------------


def test_only_an_a_record(resolver, web):
    ask = resolver({(NAME, 4): ["127.0.0.1"]})
    result = probe.fetch(by_name(web))
    # One lookup, as applications make it: both families, only those the host has.
    assert ask.asked == [(NAME, socket.AF_UNSPEC, True)]
    assert (result["ok"], result["address"], result["error"], result["fell_back"]) == (True, "127.0.0.1", "", False)
    assert result["candidates"] == ["127.0.0.1"]
    check_times(result)
    assert set(result) == FETCH_KEYS


def test_ipv6_answer_used_first(resolver, web6):
    resolver({(NAME, 6): ["::1"], (NAME, 4): ["127.0.0.1"]})
    result = probe.fetch(by_name(web6))
    assert (result["ok"], result["address"], result["error"], result["fell_back"]) == (True, "::1", "", False)
    assert result["candidates"] == ["::1", "127.0.0.1"]


def test_an_ipv4_only_host_asks_for_ipv4_only(resolver, web):
    # AI_ADDRCONFIG: a host without IPv6 gets no AAAA answer, even where one exists.
    resolver({(NAME, 6): ["::1"], (NAME, 4): ["127.0.0.1"]}, host=(4,))
    result = probe.fetch(by_name(web))
    assert (result["ok"], result["address"], result["candidates"]) == (True, "127.0.0.1", ["127.0.0.1"])


def test_no_records(resolver, web):
    resolver({})
    result = probe.fetch(by_name(web))
    assert (result["ok"], result["address"], result["candidates"]) == (False, None, [])
    assert result["error"] == "DNS for portal.city.test: Name or service not known"
    check_times(result, dns=True, connected=False)


def test_ipv6_refused_happy_eyeballs_falls_back_to_ipv4(resolver, web):
    # The web server listens on 127.0.0.1 only: ::1 refuses, the IPv4 attempt works,
    # and the record says the host's first choice (IPv6) was not the one used.
    resolver({(NAME, 6): ["::1"], (NAME, 4): ["127.0.0.1"]})
    result = probe.fetch(by_name(web))
    assert (result["ok"], result["address"], result["error"], result["fell_back"]) == (True, "127.0.0.1", "", True)
    assert result["candidates"] == ["::1", "127.0.0.1"]
    check_times(result)


def test_every_address_refused(resolver):
    port = free_port()
    resolver({(NAME, 6): ["::1"], (NAME, 4): ["127.0.0.1"]})
    result = probe.fetch(by_name(port))
    assert (result["ok"], result["address"], result["fell_back"]) == (False, None, False)
    # asyncio names each address's failure.
    assert result["error"].startswith("TCP: Multiple exceptions: ")
    assert "Connect call failed ('::1'" in result["error"] and "Connect call failed ('127.0.0.1'" in result["error"]
    check_times(result, dns=True, connected=False)


def test_another_services_page(resolver, web):
    # The server answers 200, but with the portal's page, not the school's.
    resolver({("school.city.test", 4): ["127.0.0.1"]})
    result = probe.fetch({**by_name(web), "name": "school.city.test", "host": "school.city.test",
                          "marker": page_marker("school.city.test")})
    assert (result["ok"], result["error"]) == (False, "HTTP: 200 but not the service's page")


# --- http: one family, through the system resolver -------------------------------------------------


def test_http_asks_one_family(resolver, web):
    ask = resolver({(NAME, 6): ["::1"], (NAME, 4): ["127.0.0.1"]})
    result = probe.http({"name": NAME, "family": 4, "marker": MARKER, "port": web})
    assert ask.asked == [(NAME, socket.AF_INET, False)]
    assert (result["ok"], result["address"], result["error"]) == (True, "127.0.0.1", "")
    check_times(result)


def test_http_no_record_of_the_family(resolver, web):
    resolver({(NAME, 4): ["127.0.0.1"]})
    result = probe.http({"name": NAME, "family": 6, "marker": MARKER, "port": web})
    assert (result["ok"], result["address"]) == (False, None)
    assert result["error"] == "DNS: no AAAA answer for portal.city.test (Name or service not known)"


def test_nameservers_read_from_resolv_conf(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# written by v6lab\nnameserver 2001:db8::53\nnameserver 11.64.0.2\nsearch city.test\n")
    assert probe.nameservers(str(conf)) == ["2001:db8::53", "11.64.0.2"]
    assert probe.nameservers(str(tmp_path / "missing")) == []


# --- fetch by address literal --------------------------------------------------------------------


def test_ipv4_literal(web):
    result = probe.fetch({"address": "127.0.0.1", "host": NAME, "marker": MARKER, "port": web})
    assert (result["ok"], result["address"], result["error"]) == (True, "127.0.0.1", "")
    assert (result["candidates"], result["fell_back"]) == (["127.0.0.1"], False)
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
    return {"address": address, "name": NAME, "record": record, "count": count, "port": port}


def test_timing(resolver, web):
    server = resolver({(NAME, 4): ["127.0.0.1"]})
    result = probe.timing(timing_check(web, count=3))
    assert set(result) == {"ok", "rtt_ms", "connect_ms", "dns_ms", "failed"}
    # count connects and count lookups, each a number.
    assert len(result["connect_ms"]) == 3 and all(isinstance(v, float) for v in result["connect_ms"])
    assert len(result["dns_ms"]) == 3 and all(isinstance(v, float) for v in result["dns_ms"])
    assert server.asked == [(NAME, socket.AF_INET, False)] * 3
    assert isinstance(result["rtt_ms"], list)
    if probe_can_ping():
        assert len(result["rtt_ms"]) == 3 and all(isinstance(v, float) for v in result["rtt_ms"])
        assert (result["ok"], result["failed"]) == (True, 0)


def test_timing_ipv6_record(resolver, web6):
    server = resolver({(NAME, 6): ["::1"]})
    result = probe.timing(timing_check(web6, count=2, record=6, address="::1"))
    assert server.asked == [(NAME, socket.AF_INET6, False)] * 2
    assert (len(result["connect_ms"]), len(result["dns_ms"])) == (2, 2)


def test_timing_failures_counted(resolver):
    # Nothing listens on the port and the name has no A record: every connect and
    # every lookup fails, 2 + 2, plus any ping that got no reply.
    resolver({})
    result = probe.timing(timing_check(free_port(), count=2))
    # A failed sample is a None in its list, so a metric whose samples all fail
    # still shows in the comparison, as failures.
    assert (result["connect_ms"], result["dns_ms"], result["ok"]) == ([None, None], [None, None], False)
    assert len(result["rtt_ms"]) == 2
    assert result["failed"] == 4 + result["rtt_ms"].count(None)
    if probe_can_ping():
        assert result["failed"] == 4

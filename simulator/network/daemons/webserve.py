"""The HTTP service's server process: Python's ``http.server`` with a city-sized backlog.

    python -m simulator.network.daemons.webserve --port 80 --directory FOLDER

``python -m http.server`` listens with a backlog of 5 (socketserver's default): when
the first wave of probes of a 1,000-node city reached a service at once, connections
beyond the queue were refused or reset, a failure of the server's settings and not
of the path. Real web servers listen with a backlog of hundreds (nginx: 511); this one
asks for 1,024 (the kernel caps it at net.core.somaxconn).

Bound to ``::`` with IPV6_V6ONLY off, one process answers on both families, like a
dual-stack web server.

``/whoami`` answers with what the server sees of the request, as "what is my address"
pages do: the peer's address (an IPv4-mapped peer, ``::ffff:a.b.c.d``, written as the
IPv4 address it is) and the Forwarded (RFC 7239) and X-Forwarded-For headers a proxy
added, one ``key: value`` line each.
"""

from __future__ import annotations

import argparse
import functools
import ipaddress
import socket
import socketserver
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

BACKLOG = 1024


class DualStackServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    request_queue_size = BACKLOG
    daemon_threads = True

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # HTTPServer.server_bind would also look "::" up in reverse (getfqdn): a DNS
        # question, with its timeouts, before the first request. The name is unused.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]


class IPv4Server(DualStackServer):
    """Bound to one IPv4 address (``--bind 127.0.0.1``): tests beside another server."""

    address_family = socket.AF_INET


class Handler(SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/whoami":
            super().do_GET()
            return
        body = whoami(self.client_address[0], self.headers.get("Forwarded"),
                      self.headers.get("X-Forwarded-For")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def whoami(peer: str, forwarded: str | None, forwarded_for: str | None) -> str:
    """The /whoami page: the peer as an address of its own family, then the headers
    ("-" when absent)."""
    address = ipaddress.ip_address(peer.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return f"client: {address}\nforwarded: {forwarded or '-'}\nx-forwarded-for: {forwarded_for or '-'}\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulator.network.daemons.webserve", description=__doc__)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--bind", default="::")
    parser.add_argument("--directory", required=True)
    args = parser.parse_args(argv)
    handler = functools.partial(Handler, directory=args.directory)
    server_class = IPv4Server if ipaddress.ip_address(args.bind).version == 4 else DualStackServer
    with server_class((args.bind, args.port), handler) as server:
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

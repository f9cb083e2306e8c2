"""The HTTP service's server process: Python's ``http.server`` with a city-sized backlog.

    python -m simulator.network.daemons.webserve --port 80 --directory FOLDER

``python -m http.server`` listens with a backlog of 5 (socketserver's default): when
the first wave of probes of a 1,000-node city reached a service at once, connections
beyond the queue were refused or reset, a failure of the server's settings and not
of the path. Real web servers listen with a backlog of hundreds (nginx: 511); this one
asks for 1,024 (the kernel caps it at net.core.somaxconn).

Bound to ``::`` with IPV6_V6ONLY off, one process answers on both families, like a
dual-stack web server.
"""

from __future__ import annotations

import argparse
import functools
import socket
import socketserver
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

BACKLOG = 1024


class DualStackServer(ThreadingHTTPServer):
    address_family = socket.AF_INET6
    request_queue_size = BACKLOG
    daemon_threads = True

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # HTTPServer.server_bind would also look "::" up in reverse (getfqdn): a DNS
        # question, with its timeouts, before the first request. The name is unused.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "localhost", self.server_address[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulator.network.daemons.webserve", description=__doc__)
    parser.add_argument("--port", type=int, default=80)
    parser.add_argument("--bind", default="::")
    parser.add_argument("--directory", required=True)
    args = parser.parse_args(argv)
    handler = functools.partial(SimpleHTTPRequestHandler, directory=args.directory)
    with DualStackServer((args.bind, args.port), handler) as server:
        server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

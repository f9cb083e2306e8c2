"""A dual-stack HTTP service: Python's ``http.server`` serving a static page.

The process is ``simulator.network.daemons.webserve``: bound to ``::`` with
IPV6_V6ONLY off, so one process answers on both families, like a dual-stack web
server, and with a backlog a city's bursts fit in.
"""

from __future__ import annotations

import sys
from pathlib import Path

from simulator.network.daemons.base import Daemon, OfflineCheck


def page_marker(fqdn: str) -> str:
    """The text a probe looks for to know it got this service's page, not any page."""
    return f"v6lab-service:{fqdn}"


class WebServer(Daemon):
    NAME = "http"
    LISTENS = (("tcp", 80),)

    def __init__(self, node: str, fqdn: str, port: int = 80):
        super().__init__(node)
        self.fqdn = fqdn
        self.port = port
        self.LISTENS = (("tcp", port),)

    def render(self, folder: Path) -> dict[str, str]:
        return {"index.html": (
            "<!doctype html>\n"
            f"<html><head><title>{self.fqdn}</title></head>\n"
            f"<body><h1>{self.fqdn}</h1><p>served by node {self.node}</p>\n"
            f"<!-- {page_marker(self.fqdn)} --></body></html>\n")}

    def check_command(self, folder: Path) -> list[str]:
        return [sys.executable, "-c",
                f"import pathlib,sys; sys.exit(0 if pathlib.Path({str(folder / 'index.html')!r}).is_file() else 1)"]

    def offline_checks(self, folder: Path) -> list[OfflineCheck]:
        return [OfflineCheck("http page", tuple(self.check_command(folder)))]

    def start_command(self, folder: Path) -> list[str]:
        return [sys.executable, "-m", "simulator.network.daemons.webserve", "--port", str(self.port),
                "--bind", "::", "--directory", str(folder)]


class IperfServer(Daemon):
    NAME = "iperf3"
    BINARIES = ("iperf3",)
    LISTENS = (("tcp", 5201),)

    def start_command(self, folder: Path) -> list[str]:
        # Listens on :: and so on both families.
        return ["iperf3", "--server", "--port", "5201"]


class ReverseProxy(Daemon):
    """nginx at an IDC's edge, giving IPv4-only web services IPv6 reach without
    touching their servers: it listens on its own IPv6 address (the services' AAAA)
    and relays each request over IPv4 to the service's server. The server sees the
    proxy's IPv4 address as its peer, and the client's in the Forwarded header (RFC
    7239 section 4: ``for="[2001:db8::1]"``) and in X-Forwarded-For."""

    NAME = "proxy"
    BINARIES = ("nginx",)
    LISTENS = (("tcp", 80),)
    RELOAD = "hup"      # nginx rereads its configuration on SIGHUP, its connections run on
    # nginx -t binds the listening address: only the node has it.
    CHECK_IN_NODE = True

    def __init__(self, node: str, listen: str, upstreams: dict[str, str], port: int = 80):
        super().__init__(node)
        self.listen = listen                  # the front's IPv6 address
        self.upstreams = dict(sorted(upstreams.items()))    # fqdn -> the server's IPv4 address
        self.port = port

    def render(self, folder: Path) -> dict[str, str]:
        # The listen options (a backlog a city's bursts fit in) go with the first server only.
        servers = "".join(
            f"    server {{\n"
            f"        listen [{self.listen}]:{self.port}{' default_server backlog=1024' if not index else ''};\n"
            f"        server_name {fqdn};\n"
            f"        location / {{\n"
            f"            proxy_pass http://{upstream}:{self.port};\n"
            f"            proxy_set_header Host $host;\n"
            f"            proxy_set_header Forwarded \"for=\\\"[$remote_addr]\\\"\";\n"
            f"            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
            f"            proxy_connect_timeout 5s;\n"
            f"        }}\n"
            f"    }}\n" for index, (fqdn, upstream) in enumerate(self.upstreams.items()))
        return {"nginx.conf": (
            "# v6lab: an IPv6 front for IPv4-only web services (reverse proxy)\n"
            "daemon off;\nuser root;\nworker_processes 1;\n"
            f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {folder}/access.log;\n"
            + "".join(f"    {kind}_temp_path {folder}/{kind};\n"
                      for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
            + servers + "}\n")}

    def check_command(self, folder: Path) -> list[str]:
        return ["nginx", "-t", "-q", "-p", str(folder), "-c", str(folder / "nginx.conf")]

    def start_command(self, folder: Path) -> list[str]:
        return ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf")]

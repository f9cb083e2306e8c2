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

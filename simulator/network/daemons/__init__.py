"""Daemons that run inside emulated nodes, one class each."""

from simulator.network.daemons.base import Daemon
from simulator.network.daemons.dns import DnsServer, render_zone
from simulator.network.daemons.web import IperfServer, WebServer, page_marker

__all__ = ["Daemon", "DnsServer", "IperfServer", "WebServer", "page_marker", "render_zone"]

"""Daemons that run inside emulated nodes, one class each."""

from simulator.daemons.base import Daemon
from simulator.daemons.dns import DnsServer, render_zone
from simulator.daemons.web import IperfServer, WebServer, page_marker

__all__ = ["Daemon", "DnsServer", "IperfServer", "WebServer", "page_marker", "render_zone"]

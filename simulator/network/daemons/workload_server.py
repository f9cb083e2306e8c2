"""The far end of the rehearsal workload (simulator.measurements.workload): a UDP echo
and a TCP stream, in one process.

    python -m simulator.network.daemons.workload_server --udp-port 7 --stream-port 5001 [--bind ::]

The echo sends every datagram back to its sender, as it came. The stream sends each
connection a 1 KiB chunk every 0.1 s until the connection ends; it never reads, so a
client sees a steady flow it can measure and notice stop. Bound to ``::`` with
IPV6_V6ONLY off, one process answers on both families, like webserve.

``WorkloadServer`` is the daemon that starts it in a node.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
from pathlib import Path
from typing import cast

from simulator.network.daemons.base import Daemon

CHUNK = bytes(1024)
CHUNK_INTERVAL_S = 0.1
BACKLOG = 1024


class WorkloadServer(Daemon):
    NAME = "workload"
    LISTENS = (("udp", 7), ("tcp", 5001))

    def __init__(self, node: str, udp_port: int = 7, stream_port: int = 5001):
        super().__init__(node)
        self.udp_port, self.stream_port = udp_port, stream_port
        self.LISTENS = (("udp", udp_port), ("tcp", stream_port))

    def start_command(self, folder: Path) -> list[str]:
        return [sys.executable, "-m", "simulator.network.daemons.workload_server", "--udp-port", str(self.udp_port),
                "--stream-port", str(self.stream_port), "--bind", "::"]


class Echo(asyncio.DatagramProtocol):
    """Sends each datagram back to where it came from."""

    transport: asyncio.DatagramTransport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        reply = self.reply(data)
        if reply is not None:
            self.transport.sendto(reply, addr)

    def reply(self, data: bytes) -> bytes | None:
        """What goes back for ``data``; None for nothing."""
        return data

    def error_received(self, exc: Exception) -> None:
        # An ICMP error for an earlier echo (the sender has gone): nothing to do.
        pass


class Stream:
    """Each connection gets ``CHUNK`` every ``CHUNK_INTERVAL_S`` until it ends."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while not reader.at_eof():
                writer.write(CHUNK)
                await writer.drain()
                await asyncio.sleep(CHUNK_INTERVAL_S)
        except OSError:
            pass   # the client went away, or its path did: the next connection is another flow
        finally:
            writer.close()


def _socket(bind: str, port: int, kind: socket.SocketKind) -> socket.socket:
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, kind)
    if family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    if kind == socket.SOCK_STREAM:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((bind, port))
    return sock


async def serve(bind: str, udp_port: int, stream_port: int, echo: type[Echo] = Echo,
                stream: Stream | None = None) -> tuple[asyncio.DatagramTransport, asyncio.Server]:
    """Start both services on the running loop (port 0: one the kernel picks; read
    the bound ports from the sockets)."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(echo, sock=_socket(bind, udp_port, socket.SOCK_DGRAM))
    listener = _socket(bind, stream_port, socket.SOCK_STREAM)
    server = await asyncio.start_server((stream or Stream()).handle, sock=listener, backlog=BACKLOG)
    return transport, server


async def _serve_forever(bind: str, udp_port: int, stream_port: int) -> None:
    _, server = await serve(bind, udp_port, stream_port)
    await server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="simulator.network.daemons.workload_server", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--udp-port", type=int, default=7)
    parser.add_argument("--stream-port", type=int, default=5001)
    parser.add_argument("--bind", default="::")
    args = parser.parse_args(argv)
    asyncio.run(_serve_forever(args.bind, args.udp_port, args.stream_port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

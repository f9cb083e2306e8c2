"""simulator.network.daemons.webserve: one process, both families, a city-sized backlog."""

import functools
import subprocess
import threading
import urllib.request
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest

from simulator.network.daemons.webserve import BACKLOG, DualStackServer


@pytest.fixture
def served(tmp_path):
    (tmp_path / "index.html").write_text("<!-- v6lab-service:www.city.test -->\n")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = DualStackServer(("::", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_one_server_answers_on_both_families(served, host):
    port = served.server_address[1]
    with urllib.request.urlopen(f"http://{host}:{port}/", timeout=5) as response:
        assert response.status == 200
        assert response.read() == b"<!-- v6lab-service:www.city.test -->\n"


def test_listens_with_a_backlog_of_1024_not_5(served):
    assert BACKLOG == 1024
    # ss shows a listening socket's accept queue limit as its Send-Q:
    # min(backlog, net.core.somaxconn), where somaxconn is 4096 by default.
    somaxconn = int(Path("/proc/sys/net/core/somaxconn").read_text())
    port = served.server_address[1]
    line = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True,
                          check=True).stdout.split()
    assert int(line[2]) == min(1024, somaxconn)
    # No reverse lookup of "::" at bind time.
    assert served.server_name == "localhost"

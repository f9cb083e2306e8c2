"""simulator.network.daemons.webserve: one process, both families, a city-sized backlog."""

import functools
import os
import shutil
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


def test_whoami_page():
    from simulator.network.daemons.webserve import whoami
    assert whoami("::ffff:11.64.0.62", 'for="[2001:db8:1::10]"', "2001:db8:1::10") == (
        'client: 11.64.0.62\nforwarded: for="[2001:db8:1::10]"\nx-forwarded-for: 2001:db8:1::10\n')
    assert whoami("2001:db8:1::10", None, None) == "client: 2001:db8:1::10\nforwarded: -\nx-forwarded-for: -\n"


def _free_port() -> int:
    import socket
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        return probe.getsockname()[1]


# Skipped only outside CI ('make unit' without setup): in CI a missing nginx fails.
@pytest.mark.skipif(not shutil.which("nginx") and not os.environ.get("CI"),
                    reason="nginx is installed by scripts/setup.sh")
def test_the_reverse_proxy_relays_over_ipv4_and_says_who_asked(tmp_path):
    """A real nginx as ReverseProxy renders it, on [::1], in front of the web server on
    127.0.0.1 (the same port, as at the front): the page comes through, and the
    server sees the proxy's IPv4 address and the client's IPv6 one in Forwarded."""
    import sys
    import time

    from simulator.network.daemons.web import ReverseProxy
    port = _free_port()
    site, front = tmp_path / "site", tmp_path / "front"
    site.mkdir()
    (site / "index.html").write_text("<!-- v6lab-service:school.city.test -->\n")
    proxy = ReverseProxy("i1p", "::1", {"school.city.test": "127.0.0.1"}, port=port)
    proxy.write_config(front)
    assert subprocess.run(proxy.check_command(front), capture_output=True).returncode == 0
    processes = [subprocess.Popen([sys.executable, "-m", "simulator.network.daemons.webserve", "--port", str(port),
                                   "--bind", "127.0.0.1", "--directory", str(site)], stderr=subprocess.DEVNULL),
                 subprocess.Popen(proxy.start_command(front))]
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for _ in range(50):
            try:
                request = urllib.request.Request(f"http://[::1]:{port}/whoami", headers={"Host": "school.city.test"})
                seen = opener.open(request, timeout=2).read().decode()
                break
            except OSError:
                time.sleep(0.1)
        assert seen == 'client: 127.0.0.1\nforwarded: for="[::1]"\nx-forwarded-for: ::1\n'
        page = opener.open(urllib.request.Request(f"http://[::1]:{port}/", headers={"Host": "school.city.test"}),
                           timeout=2).read()
        assert page == b"<!-- v6lab-service:school.city.test -->\n"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)

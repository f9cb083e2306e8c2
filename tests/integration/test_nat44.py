"""NAT44 on a CPE, seen from the far end: the server logs the CPE's WAN address,
never the LAN host's private one."""

import sys

import pytest

from simulator.address_plan import plan_city_addresses
from simulator.backends.emulation import EmulationBackend
from simulator.daemons import WebServer
from simulator.progress import Progress
from simulator.routing import compute_routes
from simulator.runner import new_run_id
from topologies.city import load_city, city_graph
from topologies.spec import Family
from simulator.scenario import REPO_ROOT

FETCH = ("import socket,sys; s=socket.create_connection((sys.argv[1], 80), timeout=5); "
         "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print(s.recv(100).split(b'\\r\\n')[0].decode())")


@pytest.fixture(scope="module")
def city(capabilities):
    graph = city_graph(load_city(REPO_ROOT / "topologies" / "cities" / "default.yaml"))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    backend = EmulationBackend(graph, plan, compute_routes(graph, plan), prefix=new_run_id()[1],
                               datapath=capabilities.ovs_datapath, progress=Progress(quiet=True))
    with backend:
        backend.start_daemon(WebServer("x1", "video.city.test"))
        yield backend, plan


def test_lan_host_is_seen_as_its_cpe(city):
    backend, plan = city
    server = str(plan.primary("x1", Family.IPV4))
    result = backend.run("d1f1h1", [sys.executable, "-c", FETCH, server], timeout=20)
    assert result.stdout.strip() == "HTTP/1.0 200 OK", result.stderr
    log = (backend.workdir / "x1" / "http" / "daemon.log").read_text()
    private, public = plan.primary("d1f1h1", Family.IPV4), plan.public_address("d1f1h1", Family.IPV4)
    assert str(private).startswith("192.168.")
    assert public == plan.interfaces[("d1f1", "d1o1")].ipv4.ip   # the CPE's WAN address, on its OLT
    assert f"{public} - -" in log
    assert f"{private} - -" not in log


def test_lan_is_not_reachable_from_outside_over_ipv4(city):
    backend, plan = city
    private = str(plan.primary("d1f1h1", Family.IPV4))
    result = backend.run("x1", ["ping", "-n", "-c", "1", "-W", "1", private], timeout=10)
    assert result.returncode != 0


def test_lan_host_is_reachable_over_ipv6(city):
    # IPv6 is not translated: the delegated prefix is routed to the CPE.
    backend, plan = city
    address = str(plan.primary("d1f1h1", Family.IPV6))
    assert plan.delegated["d1f1"].network_address.packed[:7] == plan.primary("d1f1h1", Family.IPV6).packed[:7]
    result = backend.run("x1", ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", address], timeout=10)
    assert result.returncode == 0, result.stdout + result.stderr

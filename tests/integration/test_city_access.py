"""How subscribers of the default city get online: SLAAC and RDNSS from their CPE or
mobile gateway, and NAT44 on the CPE seen from the far end (the server logs the CPE's
WAN address, never the LAN host's private one)."""

import sys

import pytest

from simulator.model.address_plan import plan_city_addresses
from simulator.model.routing import compute_routes
from simulator.model.scenario import REPO_ROOT
from simulator.network.backends.emulation import EmulationBackend
from simulator.network.daemons import IperfServer, WebServer
from simulator.network.daemons.radvd import RouterAdvertisements
from simulator.progress import Progress
from simulator.runner import new_run_id
from topologies.city import city_graph, load_city
from topologies.errors import DaemonError
from topologies.spec import Family

FETCH = ("import socket,sys; s=socket.create_connection((sys.argv[1], 80), timeout=5); "
         "s.sendall(b'GET / HTTP/1.0\\r\\n\\r\\n'); print(s.recv(100).split(b'\\r\\n')[0].decode())")


@pytest.fixture(scope="module")
def city(capabilities):
    graph = city_graph(load_city(REPO_ROOT / "topologies" / "cities" / "default.yaml"))
    plan = plan_city_addresses(graph, graph.graph["prefixes"])
    backend = EmulationBackend(graph, plan, compute_routes(graph, plan), prefix=new_run_id()[1],
                               datapath=capabilities.ovs_datapath, progress=Progress(quiet=True),
                               zone="city.test")
    with backend:
        backend.start_daemons([WebServer("x1", "video.city.test")])
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


def test_ue_address_comes_from_router_advertisements(city):
    backend, plan = city
    interface = plan.interfaces[("d1u1", "d1r")]
    assert interface.slaac
    # Modified EUI-64 of the planned MAC under the RAN segment's /64 (RFC 4291).
    mac = [int(x, 16) for x in interface.mac.split(":")]
    suffix = f"{mac[0] ^ 2:02x}{mac[1]:02x}:{mac[2]:02x}ff:fe{mac[3]:02x}:{mac[4]:02x}{mac[5]:02x}"
    assert str(interface.ipv6.ip).endswith(suffix.lstrip("0"))
    name = backend.interface_name("d1u1", "d1r")
    shown = backend.run("d1u1", ["ip", "-6", "-o", "addr", "show", "dev", name, "scope", "global"]).stdout
    # "dynamic" with lifetimes: the kernel made it from an advertisement; nobody added it.
    assert f"{interface.ipv6.ip}/64" in shown and "dynamic" in shown, shown
    routes = backend.run("d1u1", ["ip", "-6", "route", "show", "default"]).stdout
    assert "proto ra" in routes and "via fe80::" in routes, routes


def test_advertisements_carry_the_resolver(city):
    backend, plan = city
    name = backend.interface_name("d1f1h1", "d1f1")
    out = backend.run("d1f1h1", ["rdisc6", "-1", "-r", "3", "-w", "1500", name], timeout=20).stdout
    assert f"Recursive DNS server     : {plan.primary('i1v1', Family.IPV6)}" in out, out
    assert f"Prefix                   : {plan.segments['d1f1-d1f1h1'].ipv6}" in out, out


def _ping(backend, node, address):
    """Replies within a few seconds: the first packets after a reroute resolve new neighbours."""
    return backend.run(node, ["ping", "-n", "-c", "5", "-i", "0.3", "-W", "2", str(address)], timeout=20)


def test_routes_around_a_cut_core_link(city):
    # d1 hangs off c1 and the IDC off c4, on the ring c1-c2-c3-c4-c1: the direct
    # link c1-c4 carries d1's traffic to the IDC until it is cut, then c1-c2-c3-c4.
    backend, plan = city
    via = {family: plan.interfaces[("c2", "c1")].address(family).ip for family in Family}
    direct = {family: plan.interfaces[("c4", "c1")].address(family).ip for family in Family}
    server = {family: plan.primary("i1v2", family) for family in Family}
    route_get = lambda family: backend.run(  # noqa: E731
        "c1", ["ip", f"-{4 if family is Family.IPV4 else 6}", "route", "get", str(server[family])]).stdout
    for family in Family:
        assert f"via {direct[family]} " in route_get(family)
    try:
        backend.set_link("c1", "c4", up=False)
        for family in Family:
            assert f"via {via[family]} " in route_get(family), route_get(family)
            result = _ping(backend, "d1f1h1", server[family])
            assert result.returncode == 0, result.stdout + result.stderr
    finally:
        backend.set_link("c1", "c4", up=True)
    for family in Family:
        assert f"via {direct[family]} " in route_get(family)
        result = _ping(backend, "d1f1h1", server[family])
        assert result.returncode == 0, result.stdout + result.stderr


def test_cpe_holds_its_delegated_prefix(city):
    # DHCPv6-PD on the wire: Kea on d1bng reserved d1f1 its planned /56 by DUID-LL.
    backend, plan = city
    lease = (backend.workdir / "d1f1" / "dhclient" / "dhclient6.leases").read_text()
    assert f"iaprefix {plan.delegated['d1f1']} " in lease
    # The IPv4-only CPEs ask for nothing and hold nothing.
    ipv4_only = [cpe for cpe in ("d1f8", "d1f12") if cpe not in plan.delegated]
    assert ipv4_only and not any((backend.workdir / cpe / "dhclient").exists() for cpe in ipv4_only)


def _sysctl(backend, node, path):
    return backend.run(node, ["cat", f"/proc/sys/net/ipv6/{path}"]).stdout.strip()


def test_slaac_hosts_keep_kernel_timers_and_dad_after_bring_up(city):
    # Hosts come up with 100 ms DAD timers and no solicitation delay; once their
    # addresses are in they have the kernel's defaults again (1000 ms, 1 s) and one
    # DAD probe per address (RFC 4862). Routers' planned addresses skip DAD.
    backend, _ = city
    host = backend.interface_name("d1u1", "d1r")
    assert [_sysctl(backend, "d1u1", f"neigh/{host}/retrans_time_ms"),
            _sysctl(backend, "d1u1", f"conf/{host}/router_solicitation_delay"),
            _sysctl(backend, "d1u1", f"conf/{host}/dad_transmits")] == ["1000", "1", "1"]
    router = backend.interface_name("d1gw", "d1r")
    assert _sysctl(backend, "d1gw", f"conf/{router}/dad_transmits") == "0"


def test_a_bad_configuration_stops_the_batch_before_anything_starts(city):
    # Every dry run goes first: the good daemon in the same batch is not started.
    backend, _ = city
    before = (list(backend.daemon_runner.processes), list(backend.daemon_runner.started))
    bad = RouterAdvertisements("d1gw", [(backend.interface_name("d1gw", "d1r"), "2001:db8::/130", [])])
    with pytest.raises(DaemonError, match=r"radvd@d1gw: configuration check 'radvd --configtest"):
        backend.start_daemons([IperfServer("x1"), bad])
    assert (backend.daemon_runner.processes, backend.daemon_runner.started) == before

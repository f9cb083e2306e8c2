"""simulator.session on the fake backend: the pipeline of a run, a step run twice, a
failing step, captures; daemon order; and that both backends offer the interface."""

import inspect
import json

import pytest

from simulator.measurements.run_result import RunResult
from simulator.model.address_plan import plan_addresses
from simulator.model.city_model import CityModel
from simulator.model.preparation import iperf_pair
from simulator.model.routing import compute_routes
from simulator.model.scenario import parse_scenario
from simulator.network.backends import base
from simulator.network.backends.base import CommandResult
from simulator.network.backends.emulation import EmulationBackend
from simulator.network.backends.fake import FakeBackend
from simulator.network.daemons import DnsServer, IperfServer, WebServer
from simulator.network.daemons.base import order
from simulator.network.daemons.dhcpv6 import PrefixDelegationClient, PrefixDelegationServer
from simulator.network.daemons.translators import Clat, DsLiteAftr, DsLiteB4, Nat64
from simulator.session import CONNECTIVITY, MEASUREMENTS, SERVICES, WARM_UP, Session, Step
from topologies import city_slice
from topologies.errors import DaemonError, TestbedError

SCENARIO = parse_scenario({"name": "slice", "measurements": {"all_pairs": True, "iperf": {"duration_s": 1}}},
                          "slice.yaml")


def probe_answers(node, command):
    """Every probe check of the node works; fping and iperf3 answer nothing."""
    if "simulator.measurements.probe" in command:
        checks = json.loads(command[-1])
        lines = [json.dumps({"id": check["id"], "ok": True, "error": ""}) for check in checks]
        return CommandResult(node, tuple(command), 0, "\n".join(lines) + "\n", "")
    return None


@pytest.fixture
def session():
    graph = city_slice()
    plan = plan_addresses(graph)
    routes = compute_routes(graph, plan)
    backend = FakeBackend(graph, plan, routes, answer=probe_answers)
    city = CityModel(graph, plan, routes, SCENARIO.zone)
    return Session(SCENARIO, city, backend, result=RunResult("slice", "r1", None), iperf=iperf_pair(city, SCENARIO))


def test_the_pipeline_of_a_run(session):
    backend = session.backend
    with session:
        session.run(SERVICES)
        session.run(WARM_UP)
        session.run_all(MEASUREMENTS)
    methods = backend.methods()
    # Started, services (DNS, HTTP, iperf3), warm-up, counters, probes, ..., counters, stopped.
    assert methods[0] == "start" and methods[-1] == "stop"
    assert [args[0] for method, args in backend.calls if method == "start_daemon"] == [
        "unbound@dns", "http@web", "iperf3@web"]
    assert methods.index("warm_up") < methods.index("counters") < methods.index("run")
    assert methods.count("counters") == 2
    # Meters at bng1, bng2 and idcgw: installed and read before the measurements, read again after.
    nft = [(args[0], args[1][0]) for method, args in backend.calls if method == "run" and "nft" in " ".join(args[1])]
    assert nft == [(n, "sh") for n in ("bng1", "bng2", "idcgw")] + [(n, "nft") for n in ("bng1", "bng2", "idcgw")] * 2
    # The slice: 4 clients x (ns: 2 families x ping + dns; www: 2 x ping + http) = 32 cells,
    # every one measured by the probe (the fake says all work).
    assert len(session.result.cells) == 32 and all(c["ok"] for c in session.result.cells)
    # The counters grew by 1000 bytes per family and switch between the two
    # snapshots, on the slice's six switches (m1-m3, a1, a2, dc1).
    assert session.result.traffic == {"ipv4": 6000, "ipv6": 6000}
    assert session.result.pairs and session.result.throughput


def test_a_step_runs_again_after_a_change(session):
    backend = session.backend
    with session:
        session.run(CONNECTIVITY)
        first = session.result.cells
        # bng1's link to the metro switch m1 cut: district d1 (d1h1, d1h2) is alone.
        session.set_link("m1", "bng1", up=False)
        session.run(CONNECTIVITY)
    probes = [args for method, args in backend.calls if method == "run"]
    # Two rounds, one probe per client each; the records are the second round's.
    assert len(probes) == 2 * 4
    assert session.result.cells is not first and len(session.result.cells) == len(first)
    assert ("set_link", ("m1", "bng1", False)) in backend.calls
    # The expectations followed the routes: every d1 cell worked by the model before
    # (d1 is dual-stack) and none does now; d2's did not change.
    d1 = [c for c in session.result.cells if c["client"] in ("d1h1", "d1h2")]
    assert all(c["expected"] for c in first if c["client"] in ("d1h1", "d1h2"))
    assert len(d1) == 16 and not any(c["expected"] for c in d1)
    assert [c["expected"] for c in session.result.cells if c["client"] == "d2h1"] == [
        c["expected"] for c in first if c["client"] == "d2h1"]


def test_a_failing_step_stops_the_run_and_the_network(session):
    def broken(session):
        raise TestbedError("the step failed")

    with pytest.raises(TestbedError, match="the step failed"):
        with session:
            session.run(SERVICES)
            session.run(Step("broken", broken))
            session.run(WARM_UP)
    assert session.backend.stopped and session.backend.methods()[-1] == "stop"
    assert "warm_up" not in session.backend.methods()


def test_captured_steps_share_one_capture(session, tmp_path):
    session.captures = [("d1h1", "bng1", tmp_path / "x.pcap")]
    with session:
        session.run_all(MEASUREMENTS)
    methods = session.backend.methods()
    assert methods.count("capture") == 1
    # Counters before, then the connectivity probes, inside it; all-pairs after.
    assert methods.index("capture") < methods.index("counters")


def test_a_step_that_does_not_apply_is_skipped(session):
    with session:
        session.run(Step("never", lambda s: s.backend.warm_up(), applies=lambda s: False))
    assert "warm_up" not in session.backend.methods()


# --- daemon order ---------------------------------------------------------------------------------


def test_daemons_start_after_what_they_depend_on():
    kea, dhclient = PrefixDelegationServer("bng", []), PrefixDelegationClient("cpe", "eth0")
    aftr = DsLiteAftr("aftr", "eth0", "2001:db8::1", "11.64.0.8/29", [])
    b4 = DsLiteB4("cpe2", "wan", "lan", "2001:db8:1::1", "2001:db8:1::2", "2001:db8::1")
    nat64 = Nat64("n64", "64:ff9b::/96", "11.64.0.16/29", "2001:db8:0:4::/64")
    clat = Clat("ue", "64:ff9b::/96", "192.0.0.1/32", "2001:db8:5::1/128", "eth0", "fe80::1")
    web = WebServer("web", "www.city.test")
    layers = order([dhclient, b4, clat, web, kea, aftr, nat64])
    assert layers == [[web, kea, aftr, nat64], [dhclient, b4, clat]]
    # A dependency that is not in the set is not waited for.
    assert order([dhclient]) == [[dhclient]]


def test_a_circle_of_dependencies_is_refused():
    class A(IperfServer):
        NAME, DEPENDS = "a", ("b",)

    class B(IperfServer):
        NAME, DEPENDS = "b", ("a",)

    with pytest.raises(DaemonError) as error:
        order([A("x"), B("y")])
    assert str(error.value) == "daemons that depend on each other in a circle: a@x (needs b), b@y (needs a)"


def test_reload_kinds():
    assert DnsServer("dns", "city.test", [], {}).RELOAD == "hup"
    assert WebServer("web", "www.city.test").RELOAD == "restart"


# --- the interface -------------------------------------------------------------------------------


def interface_methods():
    return {name for name, _ in inspect.getmembers(base.Backend, inspect.isfunction) if not name.startswith("_")}


@pytest.mark.parametrize("backend", [FakeBackend, EmulationBackend])
def test_every_backend_offers_the_whole_interface(backend):
    assert interface_methods() == {
        "start", "stop", "run", "run_many", "popen", "start_daemons", "stop_daemons", "reload_daemon",
        "configure", "set_link", "set_node", "interface_name", "enforce_phase", "commit_phase", "warm_up", "counters",
        "capture"}
    missing = {name for name in interface_methods() if not callable(getattr(backend, name, None))}
    assert missing == set()
    for name in interface_methods():
        wanted = list(inspect.signature(getattr(base.Backend, name)).parameters)
        assert list(inspect.signature(getattr(backend, name)).parameters)[:len(wanted)] == wanted, name

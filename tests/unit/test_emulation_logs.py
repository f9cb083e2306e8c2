"""The emulation backend keeps its work folder's logs for a failed run (no network:
the folder is made by hand)."""

import pytest

from simulator.model.address_plan import plan_addresses
from simulator.model.routing import compute_routes
from simulator.network.backends.emulation import EmulationBackend
from topologies.city_slice import city_slice


@pytest.fixture
def backend(tmp_path):
    graph = city_slice()
    plan = plan_addresses(graph, "10.64.0.0/16", "2001:db8:64::/48", 24)
    backend = EmulationBackend(graph, plan, compute_routes(graph, plan), prefix="vt01", datapath="user",
                               logs_dir=tmp_path / "results" / "logs")
    backend.workdir = tmp_path / "work"
    return backend


def test_keep_logs_copies_daemons_and_controller_but_not_node_scripts(backend, tmp_path):
    (backend.workdir / "d1gw" / "radvd").mkdir(parents=True)
    (backend.workdir / "d1gw" / "radvd" / "daemon.log").write_text("sending RA on v1d1gw-e1\n")
    (backend.workdir / "d1gw" / "radvd" / "radvd.conf").write_text("interface v1d1gw-e1 {};\n")
    (backend.workdir / "controller.log").write_text("connected\n")
    (backend.workdir / "scripts").mkdir()
    (backend.workdir / "scripts" / "d1u1.3.sh").write_text("ip -6 addr\n")
    backend.keep_logs()
    kept = tmp_path / "results" / "logs"
    assert sorted(str(p.relative_to(kept)) for p in kept.rglob("*") if p.is_file()) == [
        "controller.log", "d1gw/radvd/daemon.log", "d1gw/radvd/radvd.conf"]
    assert (kept / "d1gw" / "radvd" / "daemon.log").read_text() == "sending RA on v1d1gw-e1\n"


def test_log_paths_point_at_the_copy(backend, tmp_path):
    kept = tmp_path / "results" / "logs"
    assert backend.log_path() == kept
    assert backend.log_path("controller.log") == kept / "controller.log"
    assert backend.log_path(backend.workdir / "d1gw" / "radvd" / "daemon.log") == kept / "d1gw/radvd/daemon.log"


def test_without_a_logs_folder_paths_stay_in_the_work_folder(backend):
    backend.logs_dir = None
    assert backend.log_path("controller.log") == backend.workdir / "controller.log"
    backend.keep_logs()   # nothing to copy to, nothing raised

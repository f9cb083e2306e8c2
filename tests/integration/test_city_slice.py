"""The default scenario on a real emulated network, asserted cell by cell."""

import json

import pytest
from conftest import leftovers_of

from simulator.model.scenario import REPO_ROOT, load_scenario
from simulator.network import cleanup
from simulator.progress import Progress
from simulator.runner import run_scenario
from topologies.errors import TestbedError

# The default city slice by hand: district d1 is dual-stack, district d2 is IPv4-only
# (no IPv6 address at all), web (www) and dns (ns) in the IDC are dual-stack. So d1's
# subscribers reach both services over both families, by address and by name; d2's
# reach them over IPv4 only.
D1_CLIENTS, D2_CLIENTS = ("d1h1", "d1h2"), ("d2h1", "d2h2")
SERVICES = {"www.city.test": ("ping", "http"), "ns.city.test": ("ping", "dns")}
CITY_SLICE = REPO_ROOT / "scenarios" / "city-slice.yaml"


def expected_matrix():
    table = {}
    for client in D1_CLIENTS + D2_CLIENTS:
        for service, methods in SERVICES.items():
            for method in methods:
                table[(client, service, "ipv4", method)] = True
                table[(client, service, "ipv6", method)] = client in D1_CLIENTS
    return table


@pytest.fixture(scope="module")
def default_run(capabilities, tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    result = run_scenario(load_scenario(CITY_SLICE), results_root=results, progress=Progress(quiet=True),
                          capabilities=capabilities)
    return result


def test_matrix_cell_by_cell(default_run):
    measured = {(c["client"], c["service"], c["family"], c["method"]): c["ok"] for c in default_run.cells}
    assert measured == expected_matrix()


def test_every_cell_matches_the_graph_prediction(default_run):
    assert [c["id"] for c in default_run.cells if not c["as_expected"]] == []


def test_ipv4_only_clients_fail_for_want_of_ipv6(default_run):
    errors = {c["error"] for c in default_run.cells
              if c["client"] in D2_CLIENTS and c["family"] == "ipv6" and c["method"] == "http"}
    # The AAAA lookup succeeds over IPv4; the connect has no IPv6 to leave with.
    assert len(errors) >= 1 and all(e.startswith("TCP:") for e in errors), errors


def test_controller_installed_flows_for_both_families(default_run):
    assert default_run.learned_flows.get("ipv4", 0) > 0
    assert default_run.learned_flows.get("ipv6", 0) > 0
    snapshot = json.loads((default_run.path / "controller.json").read_text())
    # The IPv4-only access switch a2 must never have learned an IPv6 unicast flow.
    assert "ipv6" not in snapshot["switches"]["a2"]["learned_flows"]
    assert snapshot["switches"]["a1"]["learned_flows"]["ipv6"] > 0
    assert sorted(snapshot["switches"]) == ["a1", "a2", "dc1", "m1", "m2", "m3"]


def test_access_switches_guard_ras_and_admit_ipv6_by_district(default_run):
    switches = json.loads((default_run.path / "controller.json").read_text())["switches"]
    # a1 (dual-stack d1) and a2 (IPv4-only d2): port 1 the BNG, ports 2 and 3 the hosts.
    # RA guard on both host ports of each; IPv6 refused on all three ports of a2 only.
    assert {name: {k: v["flows"] for k, v in switches[name]["dropped"].items()} for name in ("a1", "a2")} == {
        "a1": {"ra-guard": 2}, "a2": {"ra-guard": 2, "ipv6-admission": 3}}
    assert switches["m1"]["dropped"] == {}


def test_throughput_and_bytes_per_family(default_run):
    by_family = {r["family"]: r for r in default_run.throughput}
    assert set(by_family) == {"ipv4", "ipv6"}
    assert all(r["ok"] and r["bits_per_second"] > 0 for r in by_family.values()), by_family
    # iperf3 moved at least its own bytes across the metro switches in each family.
    for family in ("ipv4", "ipv6"):
        sent = by_family[family]["bits_per_second"] * by_family[family]["duration_s"] / 8
        assert default_run.traffic[family] > sent


def test_results_folder(default_run):
    manifest = json.loads((default_run.path / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert manifest["scenario"] == "city-slice"
    assert manifest["topology_hash"].startswith("sha256:")
    assert manifest["capabilities"]["checks"]
    for name in ("connectivity.jsonl", "connectivity.csv", "throughput.json", "traffic.csv",
                 "connectivity.png", "families.png", "addresses.json"):
        assert (default_run.path / name).stat().st_size > 0, name
    assert len((default_run.path / "connectivity.jsonl").read_text().splitlines()) == 32


def test_nothing_left_after_the_run(default_run):
    prefix = default_run.run_id.rsplit("-", 1)[1]
    found = leftovers_of(prefix)
    assert found.empty, found.describe()


def test_failed_run_leaves_nothing(capabilities, tmp_path):
    with pytest.raises(TestbedError, match="on purpose"):
        run_scenario(load_scenario(CITY_SLICE), results_root=tmp_path, progress=Progress(quiet=True),
                     capabilities=capabilities, fail_after_start=True)
    [manifest_path] = tmp_path.glob("city-slice/*/manifest.json")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["status"] == "failed"
    found = cleanup.find_leftovers(manifest["resource_prefix"])
    assert found.empty, found.describe()

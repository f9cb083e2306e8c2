"""The default city (151 nodes, 66 subscriber hosts) on a real emulated network.

Expected values by hand from topologies/cities/default.yaml: IPv6-capable emulated
subscribers are round(share x hosts) per district and class:
  d1 fixed round(0.84 x 12) = 10, d1 mobile round(0.99 x 8) = 8,
  d2 fixed round(0.75 x 12) = 9,  d2 mobile round(0.95 x 8) = 8,
  d3 fixed round(0.50 x 12) = 6,  d3 mobile round(0.90 x 8) = 7,
  d4 mobile round(1.00 x 6) = 6   -> 54 of 66 subscriber hosts are dual-stack.
Every subscriber has IPv4. Without translators (not in this scenario), the
IPv6-only service lab6 is reachable exactly from the 54, and the IPv4-only services
shop and school from all 66 over IPv4 and from none over IPv6.
"""

import pytest

from simulator.model.scenario import REPO_ROOT, load_scenario
from simulator.network import cleanup
from simulator.progress import Progress
from simulator.runner import run_scenario

SUBSCRIBERS, DUAL_STACK_SUBSCRIBERS = 66, 54


@pytest.fixture(scope="module")
def city_run(capabilities, tmp_path_factory):
    scenario = load_scenario(REPO_ROOT / "scenarios" / "default-city.yaml")
    return run_scenario(scenario, results_root=tmp_path_factory.mktemp("results"),
                        progress=Progress(quiet=True), capabilities=capabilities)


def reached(run, service, family, method="http"):
    return sorted(c["client"] for c in run.cells
                  if c["service"] == f"{service}.city.test" and c["family"] == family
                  and c["method"] == method and c["ok"])


def test_every_cell_as_the_graph_predicts(city_run):
    assert len(city_run.cells) == SUBSCRIBERS * 7 * 2 * 2
    assert [c["id"] for c in city_run.cells if not c["as_expected"]] == []


def test_ipv6_only_service_reached_by_dual_stack_subscribers_only(city_run):
    assert len(reached(city_run, "lab6", "ipv6")) == DUAL_STACK_SUBSCRIBERS
    assert reached(city_run, "lab6", "ipv4") == []


def test_ipv4_only_services(city_run):
    for service in ("shop", "school"):
        assert len(reached(city_run, service, "ipv4")) == SUBSCRIBERS
        assert reached(city_run, service, "ipv6") == []


def test_dual_stack_services_over_both_families(city_run):
    for service in ("gov", "news", "video"):
        assert len(reached(city_run, service, "ipv4")) == SUBSCRIBERS
        assert len(reached(city_run, service, "ipv6")) == DUAL_STACK_SUBSCRIBERS


def test_nothing_left(city_run):
    prefix = city_run.run_id.rsplit("-", 1)[1]
    found = cleanup.find_leftovers(prefix)
    assert found.empty, found.describe()


def test_all_pairs_reachability(city_run):
    # By hand: 75 hosts (66 subscribers, 6 IDC servers, 3 outside servers).
    # IPv4: 74 have an address (not x3, IPv6-only): 74 destinations x 74 other hosts =
    #   5476 pairs. The 36 CPE LAN hosts' addresses are private behind NAT44, so only
    #   the 38 others are reachable, from every other IPv4 host: 38 x 73 = 2774.
    # IPv6: 61 have an address (54 dual-stack subscribers, 5 IDC servers (not school's
    #   i1v3), x1, x3): 61 x 74 = 4514 pairs; reachable from the 60 other IPv6 hosts:
    #   61 x 60 = 3660.
    from simulator.measurements.reachability import summarise
    assert summarise(city_run.pairs) == {
        "ipv4": {"pairs": 5476, "ok": 2774, "expected": 2774, "as_expected": 5476},
        "ipv6": {"pairs": 4514, "ok": 3660, "expected": 3660, "as_expected": 4514},
    }


def test_the_run_ends_with_its_report(city_run):
    """The run folder's manifest names every file once, the city drawing and the report
    among them; report.html embeds the drawing and the matrix."""
    import json
    manifest = json.loads((city_run.path / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    assert len(manifest["files"]) == len(set(manifest["files"]))
    assert {"city.png", "report.html", "connectivity.png", "kpis.csv"} <= set(manifest["files"])
    assert city_run.report == city_run.path / "report.html"
    page = city_run.report.read_text()
    assert page.count("data:image/png;base64,") >= 3 and "http://" not in page.replace("http://www.w3.org", "")

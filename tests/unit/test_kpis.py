"""KPIs of ../shared/KPIS.md from hand-made measurements, each figure computed by hand.

The transition city (topologies/cities/transition.yaml) samples its subscribers so:
fixed CPEs d1f1 (IPv4-only) and d1f2 stand for 10,000 each, d2f1 and d2f2 (DS-Lite) for
15,000, d3f1 (464XLAT) for 8,000; UEs d1u1, d1u2 (IPv6-only) 25,000 each, d2u1, d2u2
(464XLAT) 30,000, d3u1 (IPv4-only) and d3u2 (dual-stack) 6,000.
"""

from pathlib import Path

import pytest

from simulator.measurements.prediction import city_model
from simulator.reporting import kpis
from topologies.city import load_city

CITIES = Path(__file__).resolve().parents[2] / "topologies" / "cities"


@pytest.fixture(scope="module")
def city():
    return city_model(load_city(CITIES / "transition.yaml"), "city.test")


def test_wilson_interval_of_8_in_10():
    low, high = kpis.wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert kpis.wilson(0, 0) == (0.0, 1.0)


def test_assignment_rate_weighs_each_host_by_the_subscribers_it_stands_for(city):
    found = {e.subscriber_class: e for e in kpis.assignment_rate(city)}
    # Fixed: all but d1f1 hold IPv6: (10,000 + 2 x 15,000 + 8,000) / 58,000.
    assert found["fixed"].value == pytest.approx(48_000 / 58_000)
    # Mobile: all but d3u1: (2 x 25,000 + 2 x 30,000 + 6,000) / 122,000.
    assert found["mobile"].value == pytest.approx(116_000 / 122_000)
    assert found["all"].value == pytest.approx(164_000 / 180_000)
    assert (found["fixed"].sample, found["mobile"].sample, found["all"].sample) == (5, 6, 11)
    # The fixed sample's effective size: 58,000^2 / (2 x 10,000^2 + 2 x 15,000^2 + 8,000^2) = 4.711.
    assert (found["fixed"].low, found["fixed"].high) == pytest.approx(kpis.wilson_p(48 / 58, 3.364e9 / 7.14e8))


def test_connectivity_rate_counts_hosts_that_reached_an_ipv6_only_service(city):
    def cell(client, ok, service="lab6.city.test", family="ipv6", method="http"):
        return {"client": client, "service": service, "family": family, "method": method, "ok": ok}
    cells = [cell("d1f2h1", True), cell("d1f2h1", False, "mirror6.city.test"), cell("d2u1", True),
             cell("d1u1", False), cell("d3u2", True, family="ipv4"), cell("d2f1h1", True, method="ping")]
    found = {e.subscriber_class: e for e in kpis.connectivity_rate(city, cells)}
    # Fixed hosts: only d1f2h1 (10,000 of 58,000); mobile: only d2u1 (30,000 of 122,000).
    assert found["fixed"].value == pytest.approx(10_000 / 58_000)
    assert found["mobile"].value == pytest.approx(30_000 / 122_000)
    assert found["all"].value == pytest.approx(40_000 / 180_000)


def test_connectivity_rate_needs_an_ipv6_only_service():
    city = city_model(load_city(CITIES / "migration.yaml"), "city.test")
    (found,) = kpis.connectivity_rate(city, [])
    assert found.value is None and found.source == "no IPv6-only web service in the city to test against"


def test_preferred_rate_reads_the_family_each_connection_used(city):
    def record(client, address, ok=True, kind="dual-stack", access="name"):
        return {"client": client, "service_kind": kind, "access": access, "ok": ok, "address": address}
    records = [record("d1f2h1", "2001:db8::80"), record("d1f1h1", "11.64.0.5"), record("d3u2", "2001:db8::80"),
               record("d3u2", "11.64.0.5", ok=False), record("d3u1", "11.64.0.5", kind="ipv4-only"),
               record("d2u1", "64:ff9b::b40:5", access="ipv4-literal")]
    found = {e.subscriber_class: e for e in kpis.preferred_rate(city, records)}
    # Fixed: d1f2h1 over IPv6, d1f1h1 over IPv4, 10,000 each; mobile: d3u2's one success.
    assert found["fixed"].value == pytest.approx(0.5)
    assert found["mobile"].value == 1.0
    assert found["all"].value == pytest.approx(16_000 / 26_000)
    assert kpis.preferred_rate(city, [])[0].value is None


def test_access_coverage_is_a_census_weighted_by_subscribers(city):
    found = {e.subscriber_class: e for e in kpis.access_coverage(city)}
    assert {cls: e.value for cls, e in found.items()} == {"fixed": 1.0, "mobile": 1.0, "all": 1.0}
    assert found["all"].low is None
    migration = city_model(load_city(CITIES / "migration.yaml"), "city.test")
    assert {e.subscriber_class: e.value for e in kpis.access_coverage(migration)} == {
        "fixed": 0.0, "mobile": 0.0, "all": 0.0}


def test_ipv6_only_readiness_over_the_cells_of_ipv6_only_hosts():
    def record(kind, ok, expected=True):
        return {"client_kind": kind, "ok": ok, "expected": expected}
    records = [record("ipv6-only", True), record("ipv6-only", False), record("464xlat", True),
               record("464xlat", True), record("ipv6-only", None, expected=None), record("dual-stack", False)]
    (found,) = kpis.ipv6_only_readiness(records)
    assert (found.value, found.sample) == (0.75, 4)
    assert found.row()["value"] == 75.0 and found.row()["unit"] == "%"


def test_a_run_writes_every_kpi_as_a_row(city):
    rows = kpis.of_run(city, [], [])
    assert [(r["kpi"], r["class"]) for r in rows] == [
        (1, "fixed"), (1, "mobile"), (1, "all"), (2, "fixed"), (2, "mobile"), (2, "all"), (4, "all"),
        (7, "fixed"), (7, "mobile"), (7, "all"), (13, "all")]
    assert set(rows[0]) == set(kpis.COLUMNS)
    assert rows[0]["reference"].startswith("2019 target") and rows[0]["phase"] == "-"


def test_hosts_of_a_topology_without_sampling_ratios_stand_for_themselves():
    from simulator.model.address_plan import plan_addresses
    from simulator.model.city_model import CityModel
    from simulator.model.routing import compute_routes
    from topologies import city_slice
    graph = city_slice()
    plan = plan_addresses(graph)
    rows = kpis.of_run(CityModel(graph, plan, compute_routes(graph, plan)), [], [])
    # No CPE or UE in the slice: no KPI 1; its 4 hosts are fixed, d1 dual-stack, d2 IPv4-only.
    assert [(r["kpi"], r["class"], r["value"]) for r in rows] == [
        (2, "all", None), (4, "all", None), (7, "fixed", 50.0), (13, "all", None)]

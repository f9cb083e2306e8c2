"""All-pairs reachability on the city slice, with a fake backend standing in for fping."""

from simulator.measurements.reachability import (
    measure_all_pairs,
    pairs,
    summarise,
)
from simulator.model.address_plan import plan_addresses
from simulator.model.city_model import CityModel
from simulator.model.routing import compute_routes
from simulator.network.backends.base import CommandResult
from topologies import city_slice
from topologies.spec import Family


def slice_plan():
    graph = city_slice()
    plan = plan_addresses(graph)
    return graph, plan, compute_routes(graph, plan)


def test_pairs_and_expected_by_hand():
    # Hosts: d1h1 d1h2 (dual-stack), d2h1 d2h2 (IPv4-only), web dns (dual-stack): 6.
    # IPv4: every host has an address, 6 x 5 = 30 pairs, all expected to work.
    # IPv6: 4 destinations (d1h1, d1h2, web, dns) x 5 sources = 20 pairs; the two
    # IPv4-only sources cannot: 4 x 3 = 12 expected to work.
    graph, plan, routes = slice_plan()
    city = CityModel(graph, plan, routes, "city.test")
    assert city.hosts == ("d1h1", "d1h2", "d2h1", "d2h2", "dns", "web")
    found = pairs(city)
    by_family = {f: [p for p in found if p["family"] == f] for f in ("ipv4", "ipv6")}
    assert (len(by_family["ipv4"]), sum(p["expected"] for p in by_family["ipv4"])) == (30, 30)
    assert (len(by_family["ipv6"]), sum(p["expected"] for p in by_family["ipv6"])) == (20, 12)
    [one] = [p for p in found if (p["source"], p["destination"], p["family"]) == ("d2h1", "web", "ipv6")]
    assert (one["expected"], one["expected_reason"]) == (False, "d2h1 has no IPv6 address")


class FakeFping:
    """Answers every fping as if all packets came back, except to one address."""

    def __init__(self, lost: str):
        self.lost, self.calls = lost, []

    def run_many(self, commands, timeout=None):
        self.calls.append(commands)
        results = {}
        for node, command in commands.items():
            targets = command[command.index("100") + 1:]
            lines = [f"{t} : xmt/rcv/%loss = 2/{0 if t == self.lost else 2}/{100 if t == self.lost else 0}%"
                     for t in targets]
            results[node] = CommandResult(node, tuple(command), 0, "", "\n".join(lines))
        return results


def test_measure_parses_fping_and_compares():
    graph, plan, routes = slice_plan()
    web6 = str(plan.primary("web", Family.IPV6))
    backend = FakeFping(lost=web6)
    city = CityModel(graph, plan, routes, "city.test")
    records = measure_all_pairs(backend, city, pairs(city))
    first, second = backend.calls
    backend.commands = first
    # The second pass asks again, slower, only for what did not answer: web's IPv6
    # address, from the three other dual-stack hosts.
    assert second == {source: ["fping", "-q", "-c", "3", "-t", "1500", "-p", "100", web6]
                      for source in ("d1h1", "d1h2", "dns")}
    # IPv4-only sources are not asked for IPv6 targets: d2h1 pings the 5 IPv4 addresses only.
    assert backend.commands["d2h1"][:8] == ["fping", "-q", "-c", "2", "-t", "500", "-p", "100"]
    assert sorted(backend.commands["d2h1"][8:]) == sorted(
        str(plan.primary(h, Family.IPV4)) for h in ("d1h1", "d1h2", "d2h2", "dns", "web"))
    assert len(backend.commands["d1h1"][8:]) == 5 + 3   # 5 IPv4 and 3 IPv6 targets
    summary = summarise(records)
    # IPv6: 12 expected; the 3 dual-stack sources lose web's IPv6 address: 9 reached, 3 unexpected.
    assert summary["ipv6"] == {"pairs": 20, "ok": 9, "expected": 12, "as_expected": 17}
    assert summary["ipv4"] == {"pairs": 30, "ok": 30, "expected": 30, "as_expected": 30}
    [missing] = [r for r in records if r["source"] == "d2h1" and r["destination"] == "web" and r["family"] == "ipv6"]
    assert (missing["ok"], missing["error"], missing["as_expected"]) == (False, "d2h1 has no IPv6 address", True)

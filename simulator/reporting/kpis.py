"""Migration KPIs of ../shared/KPIS.md that one run's measurements give, per subscriber
class and for the whole city, scaled from the emulated sample to the real one.

Each emulated host stands for ``represents`` real subscribers (its district class's
``subscribers / emulated_hosts``). A figure is the share of real subscribers: each host
weighs what it stands for, per class and for the whole city, with a 95 % Wilson interval
at the sample's effective size. A figure a run cannot
give (no IPv6-only service to test KPI 2 against, no transition matrix for KPI 4) is
None, with the reason, never a guess.

Computed here: 1 IPv6 address assignment rate, 2 IPv6 connectivity rate, 4 IPv6-preferred
rate, 7 access coverage, 13 IPv6-only readiness. KPI 14 (disruption) is
``simulator.measurements.disruption``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from simulator.measurements import matrix
from simulator.model.city_model import CityModel
from topologies.spec import AccessMode, Family, Role, node_spec

Z95 = 1.959964


# Reference values of ../shared/KPIS.md, for the reader; never a pass/fail rule.
REFERENCES = {
    1: "2019 target: 90% mobile, 40% fixed; Shanghai 2023: >99% mobile, 84% fixed",
    2: "fixed broadband >= 80% (2024)",
    4: "scenario parameter",
    7: "scenario parameter",
    13: "scenario parameter",
}
COLUMNS = ["phase", "kpi", "name", "class", "value", "low", "high", "unit", "sample", "reference", "source"]


@dataclass(frozen=True)
class Estimate:
    kpi: int
    name: str
    subscriber_class: str            # "fixed", "mobile" or "all"
    value: float | None              # a share, 0..1
    low: float | None
    high: float | None
    sample: int                      # emulated hosts (or cells) it was measured on
    source: str                      # the measurement it came from, or why there is none

    def row(self) -> dict:
        def percent(x):
            return None if x is None else round(100 * x, 2)
        return {"kpi": self.kpi, "name": self.name, "class": self.subscriber_class, "value": percent(self.value),
                "low": percent(self.low), "high": percent(self.high), "unit": "%", "sample": self.sample,
                "reference": REFERENCES.get(self.kpi, ""), "source": self.source}


def wilson(successes: int, n: int) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion."""
    return (0.0, 1.0) if n == 0 else wilson_p(successes / n, n)


def weighted_share(kpi: int, name: str, cls: str, sample: list[tuple[bool, float]], source: str) -> Estimate:
    """The share of real subscribers for which the outcome holds, from emulated hosts
    that each stand for ``weight`` of them; the interval is Wilson's at the sample's
    effective size (Kish: (sum w)^2 / sum w^2), which is its size when all weigh the same."""
    total = sum(w for _, w in sample)
    p = sum(w for ok, w in sample if ok) / total
    effective = total * total / sum(w * w for _, w in sample)
    low, high = wilson_p(p, effective)
    return Estimate(kpi, name, cls, p, low, high, len(sample), source)


def wilson_p(p: float, n: float) -> tuple[float, float]:
    centre = (p + Z95 ** 2 / (2 * n)) / (1 + Z95 ** 2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / (1 + Z95 ** 2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def shares(kpi: int, name: str, outcomes: Mapping[str, list[tuple[bool, float]]], source: str) -> list[Estimate]:
    """Per class (class -> (outcome, subscribers it stands for) per emulated host), then
    the whole city from all of them."""
    found = [weighted_share(kpi, name, cls, outcomes[cls], source) for cls in sorted(outcomes) if outcomes[cls]]
    if len(found) > 1:
        found.append(weighted_share(kpi, name, "all", [x for cls in sorted(outcomes) for x in outcomes[cls]], source))
    return found


def _weight(represents: int) -> float:
    """What a host stands for; a host of a topology without sampling ratios stands for itself."""
    return float(represents) if represents > 0 else 1.0


def _is_subscriber(city: CityModel, node: str) -> bool:
    """A subscriber line: a CPE for fixed access, a UE for mobile."""
    spec = node_spec(city.graph, node)
    return spec.role is Role.CPE or (spec.role is Role.SUBSCRIBER and spec.subscriber_class == "mobile")


def assignment_rate(city: CityModel) -> list[Estimate]:
    """KPI 1: subscribers (a CPE's WAN, a UE) holding a global IPv6 address (a CPE
    also a delegated prefix) / all subscribers. The run's bring-up waits for every
    planned address and prefix, so the plan's are the ones held."""
    outcomes: dict[str, list[tuple[bool, float]]] = {}
    for node in sorted(city.graph):
        spec = node_spec(city.graph, node)
        if _is_subscriber(city, node) and spec.subscriber_class:
            outcomes.setdefault(spec.subscriber_class, []).append(
                (Family.IPV6 in spec.families, _weight(spec.represents)))
    return shares(1, "IPv6 address assignment rate", outcomes, "addresses and prefixes held at bring-up")


def connectivity_rate(city: CityModel, cells: list[dict]) -> list[Estimate]:
    """KPI 2: subscriber hosts whose TCP + HTTP GET to an IPv6-only service worked /
    all subscriber hosts; a host counts if it reached any IPv6-only web service."""
    targets = {s.fqdn for s in city.web_services() if s.families == frozenset({Family.IPV6})}
    if not targets:
        return [Estimate(2, "IPv6 connectivity rate", "all", None, None, None, 0,
                         "no IPv6-only web service in the city to test against")]
    reached: dict[str, bool] = {}
    for cell in cells:
        if cell["service"] in targets and cell["family"] == "ipv6" and cell["method"] == "http":
            reached[cell["client"]] = reached.get(cell["client"], False) or bool(cell["ok"])
    outcomes: dict[str, list[tuple[bool, float]]] = {}
    for subscriber in city.subscribers:
        if subscriber.subscriber_class:
            outcomes.setdefault(subscriber.subscriber_class, []).append(
                (reached.get(subscriber.node, False), _weight(subscriber.represents)))
    return shares(2, "IPv6 connectivity rate", outcomes, "connectivity matrix: HTTP over IPv6 to IPv6-only services")


def preferred_rate(city: CityModel, transition: list[dict]) -> list[Estimate]:
    """KPI 4: connections by name to dual-stack services completed over IPv6 / all
    such connections completed (the host's resolver and Happy Eyeballs chose)."""
    chosen = [r for r in transition if r["service_kind"] == "dual-stack" and r["access"] == "name" and r.get("ok")]
    if not chosen:
        return [Estimate(4, "IPv6-preferred rate", "all", None, None, None, 0,
                         "no transition matrix in this run (a city with transition mechanisms measures one)")]
    outcomes: dict[str, list[tuple[bool, float]]] = {}
    for record in chosen:
        subscriber = city.subscriber(record["client"])
        outcomes.setdefault(subscriber.subscriber_class or "other", []).append(
            (":" in (record.get("address") or ""), _weight(subscriber.represents)))
    return shares(4, "IPv6-preferred rate", outcomes, "transition matrix: connections by name to dual-stack services")


def access_coverage(city: CityModel) -> list[Estimate]:
    """KPI 7: access networks (a BNG's or a mobile gateway's) that provision IPv6 to
    their subscribers, weighted by the subscribers behind them; a census, not a sample."""
    behind: dict[tuple[str, str], list] = {}
    for subscriber in city.subscribers:
        if subscriber.district and subscriber.subscriber_class:
            behind.setdefault((subscriber.district, subscriber.subscriber_class), []).append(subscriber)
    covered: dict[str, float] = {}
    total: dict[str, float] = {}
    for (_, cls), members in behind.items():
        weight = sum(_weight(m.represents) for m in members)
        total[cls] = total.get(cls, 0) + weight
        if any(Family.IPV6 in m.families for m in members):
            covered[cls] = covered.get(cls, 0) + weight
    found = [Estimate(7, "Access coverage", cls, covered.get(cls, 0) / total[cls], None, None,
                      sum(1 for (_, c) in behind if c == cls), "access networks provisioning IPv6")
             for cls in sorted(total)]
    if len(total) > 1:
        found.append(Estimate(7, "Access coverage", "all", sum(covered.values()) / sum(total.values()), None, None,
                              len(behind), "access networks provisioning IPv6"))
    return found


def ipv6_only_readiness(transition: list[dict]) -> list[Estimate]:
    """KPI 13: transition-matrix cells (client x service, by name and by IPv4 literal)
    that work from IPv6-only hosts (DNS64/NAT64 or 464XLAT) / all such cells."""
    cells = [r for r in transition if r["client_kind"] in (AccessMode.IPV6_ONLY.value, AccessMode.XLAT464.value)
             and r.get("expected") is not None]
    if not cells:
        return [Estimate(13, "IPv6-only readiness", "all", None, None, None, 0,
                         "no IPv6-only or 464XLAT host in this city")]
    working = sum(1 for r in cells if r.get("ok"))
    low, high = wilson(working, len(cells))
    return [Estimate(13, "IPv6-only readiness", "all", working / len(cells), low, high, len(cells),
                     "transition matrix: cells of IPv6-only and 464XLAT hosts")]


def of_run(city: CityModel, cells: list[dict], transition: list[dict], phase: str = "-") -> list[dict]:
    """Every KPI this module computes, as kpis.csv rows (COLUMNS)."""
    estimates = (assignment_rate(city) + connectivity_rate(city, cells) + preferred_rate(city, transition)
                 + access_coverage(city) + ipv6_only_readiness(transition))
    return [{"phase": phase, **estimate.row()} for estimate in estimates]


def predicted(city: CityModel) -> list[Estimate]:
    """KPIs 1 (address assignment), 7 (access coverage) and 13 (IPv6-only readiness,
    over the transition matrix as the RFC rules fill it) of a city state, before any
    measurement: what a phase of a plan buys."""
    cells = [{"client_kind": cell.client_kind, "expected": cell.rule.expected, "ok": cell.rule.expected}
             for cell in matrix.build_cells(city) if cell.rule.expected is not None]
    return assignment_rate(city) + access_coverage(city) + ipv6_only_readiness(cells)

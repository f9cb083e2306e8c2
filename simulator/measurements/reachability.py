"""All-pairs reachability: every host pings every other host's own address, per family.

A NAT44 LAN host's own IPv4 address is private, so nobody outside its LAN reaches
it; an IPv4-only host reaches no IPv6 address. In a city large enough that CPE LANs
repeat their /24s (see ``simulator.model.address_plan``), an address held by more
than one host names none of them: such destinations are left out. The expected value of each pair comes
from the city model's paths, as for the connectivity matrix (``CityModel.reachable``).
"""

from __future__ import annotations

import re

from simulator.model.city_model import CityModel
from simulator.network.backends.base import Backend
from topologies.spec import Family

FPING_LINE = re.compile(r"^(\S+)\s+: xmt/rcv/%loss = (\d+)/(\d+)/")


def pairs(city: CityModel) -> list[dict]:
    """Every ordered (source, destination, family) with a destination address, and its expected value."""
    found = []
    for source in city.hosts:
        for destination in city.hosts:
            if destination == source:
                continue
            for family in Family:
                address = city.plan.primary(destination, family)
                # A LAN address that repeats behind other CPEs names no single host.
                if address is None or not city.plan.unique(address):
                    continue
                want, why = city.reachable(source, destination, family)
                found.append({"source": source, "destination": destination, "family": family.value,
                              "address": str(address), "expected": want, "expected_reason": why})
    return found


def measure_all_pairs(backend: Backend, city: CityModel, records: list[dict], count: int = 2) -> list[dict]:
    """fping from every host at once, each to all its targets; ``records`` (from
    ``pairs``) get what was measured, one per pair."""
    plan = city.plan
    wanted = {}
    for source in city.hosts:
        targets = sorted({r["address"] for r in records if r["source"] == source
                          and plan.primary(source, Family(r["family"])) is not None})
        if targets:
            wanted[source] = targets
    received = _fping(backend, wanted, count, len(city.hosts))
    # A second, slower pass over the pairs that did not answer: with 75 hosts pinging
    # at once on two cores, a couple of replies can miss a 500 ms timeout. A pair
    # that is really broken fails both passes; the record says which pass answered.
    again: dict[str, list[str]] = {}
    for (source, address), replies in received.items():
        if not replies:
            again.setdefault(source, []).append(address)
    retried = _fping(backend, again, 3, len(city.hosts), timeout_ms=1500) if again else {}
    received.update({key: got for key, got in retried.items() if got})
    for record in records:
        key = (record["source"], record["address"])
        got = received.get(key)
        record["ok"] = bool(got)
        record["second_pass"] = bool(retried.get(key))
        record["error"] = "" if got else (
            f"{record['source']} has no {Family(record['family']).label} address" if got is None
            and plan.primary(record["source"], Family(record["family"])) is None else "no reply")
        record["as_expected"] = record["ok"] == record["expected"]
    return records


def _fping(backend, wanted: dict[str, list[str]], count: int, hosts_count: int,
           timeout_ms: int = 500) -> dict[tuple[str, str], int]:
    """(source, address) -> replies received, for every source's targets at once."""
    commands = {source: ["fping", "-q", "-c", str(count), "-t", str(timeout_ms), "-p", "100", *targets]
                for source, targets in wanted.items()}
    results = backend.run_many(commands, timeout=60 + 2 * hosts_count)
    received: dict[tuple[str, str], int] = {}
    for source, result in results.items():
        for line in result.stderr.splitlines():
            match = FPING_LINE.match(line)
            if match:
                received[(source, match.group(1))] = int(match.group(3))
    return received


def summarise(records: list[dict]) -> dict[str, dict[str, int]]:
    """Per family: pairs, pairs that worked, pairs expected to work, pairs as expected."""
    out: dict[str, dict[str, int]] = {}
    for record in records:
        row = out.setdefault(record["family"], {"pairs": 0, "ok": 0, "expected": 0, "as_expected": 0})
        row["pairs"] += 1
        row["ok"] += record["ok"]
        row["expected"] += record["expected"]
        row["as_expected"] += record["as_expected"]
    return out

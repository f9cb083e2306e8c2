"""The connectivity matrix: every subscriber to every service, per family and method.

Each cell has an *expected* value computed from the city model (addresses,
families, resolvers and routes, following the routes hop by hop as the kernels
will, ``simulator.model.city_model``) with the reason in words, and a *measured*
value from a real exchange run inside the subscriber's node
(``simulator.measurements.probe``). A cell whose two values differ is a finding.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

from simulator.measurements import probe
from simulator.model.city_model import CityModel, reachable
from simulator.network.backends.base import Backend, CommandResult
from simulator.network.daemons import page_marker
from topologies.spec import Family, Role, ServiceKind

METHODS = {ServiceKind.HTTP: "http", ServiceKind.DNS: "dns"}


@dataclass(frozen=True)
class Cell:
    client: str
    service: str       # fully qualified name, e.g. www.city.test
    server: str        # node that offers it
    family: Family
    method: str        # ping (address literal), dns (query over that family), http (by name)
    target: str        # the address or name the probe uses
    resolver: str | None = None

    @property
    def id(self) -> str:
        return f"{self.client}|{self.service}|{self.family.value}|{self.method}"


def build_cells(city: CityModel, http: bool = True, dns: bool = True) -> list[Cell]:
    cells = []
    for subscriber in city.subscribers:
        resolver = city.resolver(subscriber.node)
        for service in city.services:
            for family in Family:
                address = service.addresses.get(family)
                target = str(address) if address is not None else ""
                server = service.node_for(family)
                cells.append(Cell(subscriber.node, service.fqdn, server, family, "ping", target))
                method = METHODS[service.kind]
                if method == "http" and http:
                    cells.append(Cell(subscriber.node, service.fqdn, server, family, method, service.fqdn, resolver))
                elif method == "dns" and dns:
                    cells.append(Cell(subscriber.node, service.fqdn, server, family, method, target))
    return cells


def expected(city: CityModel, cell: Cell) -> tuple[bool, str]:
    """The expected outcome of a cell and why.

    - ping, dns: the client and the server both have an address of the family and the
      routes carry packets both ways (RFC 791 / RFC 8200 forwarding, nothing more).
    - http by name: the resolver in the client's resolv.conf must be reachable over
      the family of its address, the answer must hold an address of the cell's
      family, and the service must be reachable there. The answer is the service's
      record (A for IPv4, AAAA for IPv6, RFC 3596), or, when the resolver is a DNS64
      and the service publishes no AAAA, one synthesized from its A record (RFC 6147
      section 5.1.7), which leads to the NAT64 and from there over IPv4 (RFC 6146).
    """
    if cell.method in ("ping", "dns"):
        return city.reachable(cell.client, cell.server, cell.family)
    resolver = cell.resolver
    resolver_node = city.plan.holder(resolver) if resolver else None
    if resolver is None or resolver_node is None:
        return False, f"{cell.client} has no DNS server it can reach"
    resolver_family = Family.IPV6 if ":" in resolver else Family.IPV4
    ok, why = city.reachable(cell.client, resolver_node, resolver_family)
    if not ok:
        return False, f"resolver unreachable: {why}"
    service = city.service(cell.service)
    if cell.family in service.families:
        if service.node_for(cell.family) != service.server:
            return _through_front(city, cell, service.server)
        return city.reachable(cell.client, cell.server, cell.family)
    published = service.families
    nat64 = city.translators.get(Role.NAT64)
    if cell.family is Family.IPV6 and nat64 is not None and resolver_node == nat64 and Family.IPV4 in published:
        ok, why = city.reachable(cell.client, nat64, Family.IPV6)
        if not ok:
            return False, f"DNS64 synthesizes a AAAA, but {why}"
        ok, onward = reachable(city.plan, city.routes, nat64, cell.server, Family.IPV4)
        if not ok:
            return False, f"DNS64 synthesizes a AAAA, but from the NAT64 {onward}"
        return True, f"a AAAA synthesized by the DNS64 (RFC 6147), {why}, NAT64 to IPv4: {onward}"
    return False, f"{cell.service} publishes no {'AAAA' if cell.family is Family.IPV6 else 'A'} record"


def _through_front(city: CityModel, cell: Cell, server: str) -> tuple[bool, str]:
    """An IPv4-only service's AAAA is its front's: the client's HTTP goes over IPv6 to
    the reverse proxy, which asks the server over IPv4 (and tells it the client's
    address in Forwarded, RFC 7239)."""
    ok, why = city.reachable(cell.client, cell.server, cell.family)
    if not ok:
        return False, f"to the reverse proxy: {why}"
    ok, onward = reachable(city.plan, city.routes, cell.server, server, Family.IPV4)
    if not ok:
        return False, f"the reverse proxy {cell.server} cannot reach the server: {onward}"
    return True, f"{why}, reverse proxy to IPv4: {onward}"


def probe_checks(cells: list[Cell], ping_count: int) -> dict[str, list[dict]]:
    """The probe's input per client."""
    per_client: dict[str, list[dict]] = {}
    for cell in cells:
        check: dict[str, Any] = {"id": cell.id, "method": cell.method}
        version = 4 if cell.family is Family.IPV4 else 6
        if cell.method == "ping":
            check.update(address=cell.target, count=ping_count)
        elif cell.method == "dns":
            check.update(server=cell.target, name=cell.service, record_family=4)
        else:
            check.update(name=cell.service, family=version, marker=page_marker(cell.service))
        per_client.setdefault(cell.client, []).append(check)
    return per_client


# Probes running at once per core of the emulation host. Every emulated subscriber
# is a machine of its own in a real city; here they share the host's cores, and 552
# probes started together (a 1,000-node city on 2 cores) put ping round trips at
# 0.6 s median and lost nearly every first check: the matrix measured the host's
# load, not the paths. The default city (66 clients) still starts nearly all at once.
PROBES_PER_CORE = 32
# The first wave enters one probe every PROBE_RAMP_S rather than all at once (64 on 2
# cores: 3.2 s); later probes start one by one as earlier ones end. In a 1,000-node
# city the slowest first-wave round trip to the DNS server was 5.4 s unramped, with
# probes at normal priority, and 1.1-2.4 s ramped at the lowest (see probe.NICE).
PROBE_RAMP_S = 0.05


def probe_slots(clients: int, cores: int | None) -> int:
    """How many clients probe at once: all of them, up to PROBES_PER_CORE per core."""
    return max(1, min(clients, PROBES_PER_CORE * (cores or 1)))


def run_probes(backend: Backend, checks: dict[str, list[dict]], seconds_per_check: float = 10) -> dict[str, dict]:
    """Run ``simulator.measurements.probe`` in every client with its checks, at most
    ``probe_slots`` clients at a time (a client starts as soon as another ends);
    return the outcome of each check by its id."""
    commands = {client: probe.command(items) for client, items in checks.items()}
    longest = max((len(c) for c in checks.values()), default=0)
    timeout = 60 + seconds_per_check * longest
    slots = probe_slots(len(commands), os.cpu_count())
    started = itertools.count()

    def run(item: tuple[str, list[str]]) -> CommandResult:
        index = next(started)
        if index < slots:
            time.sleep(index * PROBE_RAMP_S)
        return backend.run_many(dict([item]), timeout=timeout)[item[0]]

    with ThreadPoolExecutor(max_workers=slots) as pool:
        results = list(pool.map(run, commands.items()))
    outcomes = {}
    for result in results:
        for line in result.stdout.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            outcomes[record.pop("id")] = record
    return outcomes


def measure(backend: Backend, city: CityModel, cells: list[Cell], ping_count: int = 3) -> list[dict]:
    """Run every client's probe at once; return one record per cell."""
    outcomes = run_probes(backend, probe_checks([c for c in cells if c.target or c.method == "http"], ping_count))
    records = []
    for cell in cells:
        want, why = expected(city, cell)
        outcome = outcomes.get(cell.id)
        if outcome is None:
            outcome = {"ok": False, "error": "no measurement (target has no address of this family)"
                       if not cell.target and cell.method != "http" else "probe gave no result"}
        subscriber = city.subscriber(cell.client)
        record = {**asdict(cell), "family": cell.family.value, "id": cell.id,
                  "district": subscriber.district, "subscriber_class": subscriber.subscriber_class,
                  "expected": want, "expected_reason": why, **outcome}
        record["as_expected"] = record["ok"] == want
        records.append(record)
    return records

"""The transition connectivity matrix: each kind of client against each kind of
service, by name and by IPv4 literal, with the expected value of every cell taken
from the RFCs.

Rows are client kinds (the access mode of the host: IPv4-only, dual-stack,
IPv6-only with DNS64/NAT64, IPv6-only with 464XLAT, a DS-Lite LAN host); columns are
service kinds (IPv4-only, dual-stack, IPv6-only) reached by name or by an IPv4
literal. ``RULES`` is the table; each rule says whether the cell works, over which
family the client connects, whether a NAT64 is on the path, and which RFC says so.
A measured cell (``simulator.measurements.probe`` "fetch") is a DNS lookup as a stub resolver
does it, a TCP connect and an HTTP GET of the service's own page.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Any

from simulator.measurements import connectivity
from simulator.model.city_model import CityModel
from simulator.network.backends.base import Backend
from simulator.network.daemons import page_marker
from topologies.spec import FAMILY_SETS, AccessMode, Family

SERVICE_KINDS = FAMILY_SETS
ACCESS = ("name", "ipv4-literal")


@dataclass(frozen=True)
class Rule:
    expected: bool | None      # None: no such cell (an IPv6-only service has no IPv4 literal)
    family: Family | None      # the family the client's connection uses
    via: str                   # what carries it, in words
    reference: str
    nat64: bool = False        # the connection goes to an address under the NAT64 prefix


_V4, _V6 = Family.IPV4, Family.IPV6
_NO_LITERAL = Rule(None, None, "", "an IPv6-only service has no IPv4 address to write as a literal")
_A_ONLY = "RFC 1035 / RFC 3596: the service publishes only an A record"
_LITERAL_NO_V4 = ("RFC 6877 section 1: on IPv6-only access without a CLAT, IPv4 literals fail: the host "
                  "has no IPv4, and a literal never asks the DNS64")

RULES: dict[tuple[AccessMode, str, str], Rule] = {
    # An IPv4-only host: A records and IPv4 only (its IPv4 may cross NAT44 or a CGN).
    (AccessMode.IPV4_ONLY, "ipv4-only", "name"): Rule(True, _V4, "IPv4", _A_ONLY),
    (AccessMode.IPV4_ONLY, "dual-stack", "name"): Rule(True, _V4, "IPv4", "RFC 1035: the A record"),
    (AccessMode.IPV4_ONLY, "ipv6-only", "name"): Rule(
        False, None, "", "RFC 3596: only a AAAA record, which an IPv4-only host cannot use"),
    (AccessMode.IPV4_ONLY, "ipv4-only", "ipv4-literal"): Rule(True, _V4, "IPv4", "RFC 791"),
    (AccessMode.IPV4_ONLY, "dual-stack", "ipv4-literal"): Rule(True, _V4, "IPv4", "RFC 791"),
    (AccessMode.IPV4_ONLY, "ipv6-only", "ipv4-literal"): _NO_LITERAL,
    # Dual-stack (RFC 4213): IPv6 preferred where both exist (RFC 6724 section 10.3, RFC 8305).
    (AccessMode.DUAL_STACK, "ipv4-only", "name"): Rule(True, _V4, "IPv4", _A_ONLY),
    (AccessMode.DUAL_STACK, "dual-stack", "name"): Rule(
        True, _V6, "IPv6", "RFC 6724 section 2.1: the default policy prefers IPv6 over IPv4"),
    (AccessMode.DUAL_STACK, "ipv6-only", "name"): Rule(True, _V6, "IPv6", "RFC 3596: the AAAA record"),
    (AccessMode.DUAL_STACK, "ipv4-only", "ipv4-literal"): Rule(True, _V4, "IPv4", "RFC 4213: native IPv4"),
    (AccessMode.DUAL_STACK, "dual-stack", "ipv4-literal"): Rule(True, _V4, "IPv4", "RFC 4213: native IPv4"),
    (AccessMode.DUAL_STACK, "ipv6-only", "ipv4-literal"): _NO_LITERAL,
    # IPv6-only with DNS64 + NAT64.
    (AccessMode.IPV6_ONLY, "ipv4-only", "name"): Rule(
        True, _V6, "IPv6 to a synthesized AAAA, NAT64 to IPv4",
        "RFC 6147 section 5.1.7: DNS64 synthesizes a AAAA from the A record; RFC 6146 translates", nat64=True),
    (AccessMode.IPV6_ONLY, "dual-stack", "name"): Rule(
        True, _V6, "IPv6", "RFC 6147 section 5.1.1: a real AAAA record is returned, nothing synthesized"),
    (AccessMode.IPV6_ONLY, "ipv6-only", "name"): Rule(True, _V6, "IPv6", "RFC 3596: the AAAA record"),
    (AccessMode.IPV6_ONLY, "ipv4-only", "ipv4-literal"): Rule(False, None, "", _LITERAL_NO_V4),
    (AccessMode.IPV6_ONLY, "dual-stack", "ipv4-literal"): Rule(False, None, "", _LITERAL_NO_V4),
    (AccessMode.IPV6_ONLY, "ipv6-only", "ipv4-literal"): _NO_LITERAL,
    # IPv6-only with 464XLAT: as above by name, and IPv4 literals through CLAT and PLAT.
    (AccessMode.XLAT464, "ipv4-only", "name"): Rule(
        True, _V6, "IPv6 to a synthesized AAAA, NAT64 to IPv4",
        "RFC 6147 section 5.1.7 synthesizes a AAAA, which RFC 6724 section 2.1 prefers to the CLAT's "
        "IPv4 (RFC 6877 leaves such traffic to NAT64)", nat64=True),
    (AccessMode.XLAT464, "dual-stack", "name"): Rule(
        True, _V6, "IPv6", "RFC 6147 section 5.1.1 and RFC 6724 section 2.1: the real AAAA, over IPv6"),
    (AccessMode.XLAT464, "ipv6-only", "name"): Rule(True, _V6, "IPv6", "RFC 3596: the AAAA record"),
    (AccessMode.XLAT464, "ipv4-only", "ipv4-literal"): Rule(
        True, _V4, "IPv4 through the CLAT, then the PLAT (NAT64)",
        "RFC 6877 section 6: the CLAT translates IPv4 to IPv6 (RFC 7915), the PLAT back to IPv4"),
    (AccessMode.XLAT464, "dual-stack", "ipv4-literal"): Rule(
        True, _V4, "IPv4 through the CLAT, then the PLAT (NAT64)",
        "RFC 6877 section 6: the CLAT translates IPv4 to IPv6 (RFC 7915), the PLAT back to IPv4"),
    (AccessMode.XLAT464, "ipv6-only", "ipv4-literal"): _NO_LITERAL,
    # A host on a DS-Lite CPE's LAN: native IPv6, IPv4 in the softwire to the AFTR.
    (AccessMode.DS_LITE, "ipv4-only", "name"): Rule(
        True, _V4, "IPv4 in the softwire, NAT44 at the AFTR",
        "RFC 6333 sections 5.2 and 6.7: the B4 carries the LAN's IPv4 to the AFTR, which translates it"),
    (AccessMode.DS_LITE, "dual-stack", "name"): Rule(
        True, _V6, "IPv6", "RFC 6333 section 1: DS-Lite keeps native IPv6; RFC 6724 section 2.1 prefers it"),
    (AccessMode.DS_LITE, "ipv6-only", "name"): Rule(True, _V6, "IPv6", "RFC 6333 section 1: native IPv6"),
    (AccessMode.DS_LITE, "ipv4-only", "ipv4-literal"): Rule(
        True, _V4, "IPv4 in the softwire, NAT44 at the AFTR", "RFC 6333 sections 5.2 and 6.7"),
    (AccessMode.DS_LITE, "dual-stack", "ipv4-literal"): Rule(
        True, _V4, "IPv4 in the softwire, NAT44 at the AFTR", "RFC 6333 sections 5.2 and 6.7"),
    (AccessMode.DS_LITE, "ipv6-only", "ipv4-literal"): _NO_LITERAL,
}

@dataclass(frozen=True)
class MatrixCell:
    client: str
    client_kind: str
    service: str       # fully qualified name
    server: str
    service_kind: str
    access: str        # "name" or "ipv4-literal"

    @property
    def id(self) -> str:
        return f"{self.client}|{self.service}|{self.access}"

    @property
    def rule(self) -> Rule:
        return RULES[(AccessMode(self.client_kind), self.service_kind, self.access)]


def clients(city: CityModel) -> list[str]:
    """The subscribers of districts' access networks: those with an access mode."""
    return [s.node for s in city.subscribers if s.mode is not None]


def build_cells(city: CityModel) -> list[MatrixCell]:
    cells = []
    for subscriber in city.subscribers:
        if subscriber.mode is None:
            continue
        for service in city.web_services():
            for access in ACCESS:
                cells.append(MatrixCell(subscriber.node, subscriber.mode.value, service.fqdn, service.server,
                                        service.family_set, access))
    return cells


def probe_checks(city: CityModel, cells: list[MatrixCell]) -> dict[str, list[dict]]:
    per_client: dict[str, list[dict]] = {}
    for cell in cells:
        if cell.rule.expected is None:
            continue
        check: dict[str, Any] = {"id": cell.id, "method": "fetch", "host": cell.service,
                                 "marker": page_marker(cell.service)}
        if cell.access == "name":
            check.update(name=cell.service)
        else:
            check.update(address=str(city.service(cell.service).addresses[Family.IPV4]))
        per_client.setdefault(cell.client, []).append(check)
    return per_client


def judge(cell: MatrixCell, outcome: dict, nat64_prefix) -> tuple[bool, str]:
    """Whether a measured outcome is what the rule expects: success or failure as
    the rule says, and on success the family (and NAT64 or not) the rule names."""
    rule = cell.rule
    if outcome.get("ok") != rule.expected:
        return False, "works" if outcome.get("ok") else "fails"
    if not rule.expected:
        return True, "fails, as expected"
    address = ipaddress.ip_address(outcome["address"])
    family = Family.IPV4 if address.version == 4 else Family.IPV6
    through_nat64 = nat64_prefix is not None and address.version == 6 and address in nat64_prefix
    # Happy Eyeballs (RFC 8305) tried the host's first choice of family and fell
    # back to the other: said as such, whether or not the rule names that family.
    fallback = " after Happy Eyeballs fell back from the other family" if outcome.get("fell_back") else ""
    if family is not rule.family or through_nat64 != rule.nat64:
        used = f"{family.label}{' via NAT64' if through_nat64 else ''} ({address})"
        return False, f"works, but over {used}{fallback} instead of {rule.via}"
    return True, f"works over {rule.via}{fallback}"


def measure(backend: Backend, city: CityModel, cells: list[MatrixCell]) -> list[dict]:
    # A fetch may try two addresses with 3 s timeouts each.
    outcomes = connectivity.run_probes(backend, probe_checks(city, cells), seconds_per_check=15)
    records = []
    for cell in cells:
        rule = cell.rule
        record = {**asdict(cell), "id": cell.id, "district": city.subscriber(cell.client).district,
                  "expected": rule.expected, "expected_via": rule.via, "reference": rule.reference}
        if rule.expected is None:
            record.update(ok=None, as_expected=True, verdict="no such cell")
        else:
            outcome = outcomes.get(cell.id, {"ok": False, "error": "probe gave no result"})
            record.update(outcome)
            record["as_expected"], record["verdict"] = judge(cell, outcome, city.plan.nat64_prefix)
        records.append(record)
    return records


def summary_table(records: list[dict]) -> dict[tuple[str, str, str], dict]:
    """(client kind, service kind, access) -> counts of cells, successes and surprises."""
    table: dict[tuple[str, str, str], dict] = {}
    for r in records:
        entry = table.setdefault((r["client_kind"], r["service_kind"], r["access"]),
                                 {"cells": 0, "ok": 0, "unexpected": 0, "expected": r["expected"]})
        entry["cells"] += 1
        entry["ok"] += bool(r.get("ok"))
        entry["unexpected"] += not r["as_expected"]
    return table

"""simulator.measurements.matrix: the RFC rule table, the cells and probe checks of the transition
city, the verdicts on hand-made outcomes and the summary table.

The transition city (topologies/cities/transition.yaml, seed 11) has 11 subscriber
hosts: one LAN host per fixed CPE and the UEs. Which of d1's two CPEs and which of
d3's two UEs is IPv6-capable follows from random.Random(11): the samples taken in
district order are d1 fixed [2], d1 mobile [2, 1], d2 fixed [1, 2], d2 mobile [2, 1],
d3 fixed [1], d3 mobile [2]. So:

    ipv4-only   d1f1h1, d3u1          dual-stack  d1f2h1, d3u2
    ipv6-only   d1u1, d1u2            464xlat     d2u1, d2u2, d3f1h1
    ds-lite     d2f1h1, d2f2h1

HTTP services, in node order: portal (i1v2, dual-stack), school (i1v3, IPv4-only),
lab6 (i1v4, IPv6-only), video (x1, dual-stack), shop (x2, IPv4-only), mirror6 (x3,
IPv6-only); ns (i1v1) is the DNS. Cells: 11 clients x 6 services x 2 accesses = 132;
the 11 x 2 IPv6-only services by IPv4 literal are no cells to probe, leaving 110.

Addresses (the plan, see tests/unit/test_city_transition.py):
    DNS64 on n64 (c2-n64 = 2001:db8:0:4::/64, member 2): 2001:db8:0:4::2
    city DNS i1v1 on i1r1 (11.64.0.64/29, 2001:db8:400:3::/64, member 2): 11.64.0.66, 2001:db8:400:3::2
    portal i1v2 11.64.0.67; school i1v3 11.64.0.74 (i1r2 11.64.0.72/29, member 2)
    video x1 11.200.0.2, shop x2 11.200.0.3 (xs 11.200.0.0/29, members tr1, x1, x2, x3)
"""

import ipaddress
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from simulator.measurements import matrix
from simulator.measurements.matrix import (
    ACCESS,
    RULES,
    SERVICE_KINDS,
    MatrixCell,
    Rule,
    build_cells,
    judge,
    probe_checks,
    summary_table,
)
from simulator.model import transition
from simulator.model.city_model import family_set_name
from simulator.model.resolvers import PLAN, RDNSS, resolvers
from topologies import rfc6052
from topologies.city import city_graph, load_city
from topologies.spec import (
    DUAL_STACK,
    IPV4_ONLY,
    IPV6_ONLY,
    AccessMode,
    Family,
    node_spec,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
TRANSITION_CITY = REPO_ROOT / "topologies" / "cities" / "transition.yaml"
ZONE = "city.test"
WKP = ipaddress.ip_network("64:ff9b::/96")

T, F, N = True, False, None
V4, V6 = Family.IPV4, Family.IPV6

# Client kind -> ((IPv4-only, dual-stack, IPv6-only service) by name, (the same) by IPv4 literal).
EXPECTED = {
    AccessMode.IPV4_ONLY: ((T, T, F), (T, T, N)),
    AccessMode.DUAL_STACK: ((T, T, T), (T, T, N)),
    AccessMode.IPV6_ONLY: ((T, T, T), (F, F, N)),
    AccessMode.XLAT464: ((T, T, T), (T, T, N)),
    AccessMode.DS_LITE: ((T, T, T), (T, T, N)),
}
# The family each connection uses: dual-stack prefers IPv6 where the service has it
# (RFC 6724); an IPv4-only service by name is IPv4 where the host has IPv4 of its own
# (DS-Lite, dual-stack), a synthesized AAAA where it has not (IPv6-only, 464XLAT).
FAMILIES = {
    AccessMode.IPV4_ONLY: ((V4, V4, N), (V4, V4, N)),
    AccessMode.DUAL_STACK: ((V4, V6, V6), (V4, V4, N)),
    AccessMode.IPV6_ONLY: ((V6, V6, V6), (N, N, N)),
    AccessMode.XLAT464: ((V6, V6, V6), (V4, V4, N)),
    AccessMode.DS_LITE: ((V4, V6, V6), (V4, V4, N)),
}
SERVICE_ORDER = ("ipv4-only", "dual-stack", "ipv6-only")

CLIENTS = {"d1f1h1": "ipv4-only", "d1f2h1": "dual-stack", "d1u1": "ipv6-only", "d1u2": "ipv6-only",
           "d2f1h1": "ds-lite", "d2f2h1": "ds-lite", "d2u1": "464xlat", "d2u2": "464xlat",
           "d3f1h1": "464xlat", "d3u1": "ipv4-only", "d3u2": "dual-stack"}
SERVICES = [("portal", "i1v2", "dual-stack"), ("school", "i1v3", "ipv4-only"), ("lab6", "i1v4", "ipv6-only"),
            ("video", "x1", "dual-stack"), ("shop", "x2", "ipv4-only"), ("mirror6", "x3", "ipv6-only")]
DNS64, DNS4, DNS6 = "2001:db8:0:4::2", "11.64.0.66", "2001:db8:400:3::2"
LITERALS = {"portal": "11.64.0.67", "school": "11.64.0.74", "video": "11.200.0.2", "shop": "11.200.0.3"}


@pytest.fixture(scope="module")
def graph():
    return city_graph(load_city(TRANSITION_CITY))



@pytest.fixture(scope="module")
def cells(city):
    return build_cells(city)


def cell(client_kind, service_kind, access, client="c", service="s.city.test", server="x"):
    return MatrixCell(client, client_kind, service, server, service_kind, access)


# --- the rule table --------------------------------------------------------------------


def test_the_table_has_every_cell_once():
    keys = {(mode, service, access) for mode in AccessMode for service in SERVICE_KINDS for access in ACCESS}
    assert len(keys) == 5 * 3 * 2 == 30
    assert set(RULES) == keys
    assert ACCESS == ("name", "ipv4-literal")
    assert SERVICE_KINDS == {"ipv4-only": IPV4_ONLY, "dual-stack": DUAL_STACK, "ipv6-only": IPV6_ONLY}


@pytest.mark.parametrize("mode", list(AccessMode))
def test_expected_values(mode):
    got = tuple(tuple(RULES[(mode, service, access)].expected for service in SERVICE_ORDER) for access in ACCESS)
    assert got == EXPECTED[mode]


@pytest.mark.parametrize("mode", list(AccessMode))
def test_families(mode):
    got = tuple(tuple(RULES[(mode, service, access)].family for service in SERVICE_ORDER) for access in ACCESS)
    assert got == FAMILIES[mode]


def test_a_working_cell_names_its_family_and_a_failing_one_none():
    for key, rule in RULES.items():
        if rule.expected:
            assert rule.family in (V4, V6) and rule.via, key
        else:
            assert (rule.family, rule.via) == (None, ""), key


def test_only_ipv6_only_clients_reach_ipv4_only_services_by_name_through_nat64():
    assert sorted((mode.value, s, a) for (mode, s, a), rule in RULES.items() if rule.nat64) == [
        ("464xlat", "ipv4-only", "name"), ("ipv6-only", "ipv4-only", "name")]


def test_every_rule_cites_an_rfc_but_the_missing_cells():
    for key, rule in RULES.items():
        if rule.expected is None:
            assert rule.reference == "an IPv6-only service has no IPv4 address to write as a literal", key
            assert "RFC" not in rule.reference
        else:
            assert "RFC" in rule.reference, key


def test_a_few_rules_in_words():
    assert RULES[(AccessMode.IPV6_ONLY, "ipv4-only", "ipv4-literal")] == Rule(
        False, None, "",
        "RFC 6877 section 1: on IPv6-only access without a CLAT, IPv4 literals fail: the host has no IPv4, and "
        "a literal never asks the DNS64")
    assert RULES[(AccessMode.XLAT464, "ipv4-only", "ipv4-literal")].via == \
        "IPv4 through the CLAT, then the PLAT (NAT64)"
    assert RULES[(AccessMode.DS_LITE, "ipv4-only", "name")].via == "IPv4 in the softwire, NAT44 at the AFTR"


def test_service_kind():
    assert family_set_name(IPV4_ONLY) == "ipv4-only"
    assert family_set_name({Family.IPV6, Family.IPV4}) == "dual-stack"
    assert family_set_name([Family.IPV6]) == "ipv6-only"


def test_cell_id_and_rule():
    c = MatrixCell("d1u1", "ipv6-only", "shop.city.test", "x2", "ipv4-only", "name")
    assert c.id == "d1u1|shop.city.test|name"
    assert c.rule is RULES[(AccessMode.IPV6_ONLY, "ipv4-only", "name")]


# --- cells and probe checks on the transition city ------------------------------------------


def test_clients_and_their_kinds(graph, city):
    assert matrix.clients(city) == sorted(CLIENTS)
    assert {c: node_spec(graph, c).mode.value for c in CLIENTS} == CLIENTS


def test_132_cells(cells):
    assert len(cells) == 11 * 6 * 2 == 132
    assert len({c.id for c in cells}) == 132
    assert {(c.client, c.client_kind) for c in cells} == set(CLIENTS.items())
    assert {(c.service, c.server, c.service_kind) for c in cells} == {
        (f"{name}.{ZONE}", server, kind) for name, server, kind in SERVICES}


def test_cells_of_one_client_in_order(cells):
    got = [(c.service, c.access) for c in cells if c.client == "d1u1"]
    assert got == [(f"{name}.{ZONE}", access) for name, _, _ in SERVICES for access in ACCESS]
    assert all(c.client_kind == "ipv6-only" for c in cells if c.client == "d1u1")


def test_no_check_for_the_missing_cells(city, cells):
    checks = probe_checks(city, cells)
    assert sorted(checks) == sorted(CLIENTS)
    assert sum(len(items) for items in checks.values()) == 132 - 11 * 2 == 110
    ids = {check["id"] for items in checks.values() for check in items}
    missing = {c.id for c in cells} - ids
    assert missing == {f"{client}|{name}.{ZONE}|ipv4-literal" for client in CLIENTS for name in ("lab6", "mirror6")}
    assert all(c.rule.expected is None for c in cells if c.id in missing)


def test_resolver_per_client_kind(graph, plan):
    # What each client's own resolv.conf names: the DNS64 for IPv6-only and 464XLAT
    # hosts (from their LAN's advertisements), the city's DNS for the others, over
    # IPv6 from an advertisement, over IPv4 from the plan for IPv4-only hosts.
    assert str(transition.dns64_address(graph, plan)) == DNS64
    expected = {"ipv4-only": (DNS4, PLAN), "dual-stack": (DNS6, RDNSS), "ipv6-only": (DNS64, RDNSS),
                "464xlat": (DNS64, RDNSS), "ds-lite": (DNS6, RDNSS)}
    given = resolvers(graph, plan, ZONE)
    for client, kind in CLIENTS.items():
        assert (given[client].servers, given[client].source) == ((expected[kind][0],), expected[kind][1]), client
        assert given[client].search == (ZONE,)


def test_checks_by_name_leave_the_resolver_to_the_host(city, cells):
    # The probe asks the host's own resolver (getaddrinfo): a check names no server
    # and no families, the host's addresses decide what is asked (AI_ADDRCONFIG).
    checks = probe_checks(city, cells)
    for client in CLIENTS:
        by_name = [c for c in checks[client] if "name" in c]
        assert len(by_name) == 6
        assert all(set(c) == {"id", "method", "host", "marker", "name"} for c in by_name), client


def test_checks_of_an_ipv6_only_ue(city, cells):
    checks = probe_checks(city, cells)["d1u1"]
    assert [c["id"] for c in checks] == [
        "d1u1|portal.city.test|name", "d1u1|portal.city.test|ipv4-literal",
        "d1u1|school.city.test|name", "d1u1|school.city.test|ipv4-literal",
        "d1u1|lab6.city.test|name",
        "d1u1|video.city.test|name", "d1u1|video.city.test|ipv4-literal",
        "d1u1|shop.city.test|name", "d1u1|shop.city.test|ipv4-literal",
        "d1u1|mirror6.city.test|name"]
    assert checks[7] == {"id": "d1u1|shop.city.test|name", "method": "fetch", "host": "shop.city.test",
                         "marker": "v6lab-service:shop.city.test", "name": "shop.city.test"}
    # A literal is probed even where the rule says it fails: the failure is the measurement.
    assert checks[8] == {"id": "d1u1|shop.city.test|ipv4-literal", "method": "fetch", "host": "shop.city.test",
                         "marker": "v6lab-service:shop.city.test", "address": "11.200.0.3"}


def test_literals_are_the_servers_ipv4(city, cells):
    checks = probe_checks(city, cells)
    for client in ("d1f1h1", "d2f1h1", "d2u1", "d3f1h1"):
        literal = {c["host"].split(".")[0]: c["address"] for c in checks[client] if "address" in c}
        assert literal == LITERALS, client
    assert checks["d1f1h1"][0] == {
        "id": "d1f1h1|portal.city.test|name", "method": "fetch", "host": "portal.city.test",
        "marker": "v6lab-service:portal.city.test", "name": "portal.city.test"}
    json.dumps(checks)   # the probe gets them as one JSON argument


# --- verdicts on hand-made outcomes --------------------------------------------------------------


SHOP_SYNTHESIZED = "64:ff9b::bc8:3"     # 11.200.0.3 = 0b.c8.00.03 in the last 32 bits
VIDEO_SYNTHESIZED = "64:ff9b::bc8:2"


def test_synthesized_addresses_by_hand():
    assert rfc6052.synthesize(WKP, "11.200.0.3") == ipaddress.ip_address(SHOP_SYNTHESIZED)
    assert rfc6052.synthesize(WKP, "11.200.0.2") == ipaddress.ip_address(VIDEO_SYNTHESIZED)


@pytest.mark.parametrize("kind, service, access, outcome, verdict", [
    # success over the family the rule names
    ("dual-stack", "dual-stack", "name", {"ok": True, "address": "3fff:0:0:1::2"}, (True, "works over IPv6")),
    ("ipv6-only", "ipv4-only", "name", {"ok": True, "address": SHOP_SYNTHESIZED},
     (True, "works over IPv6 to a synthesized AAAA, NAT64 to IPv4")),
    ("464xlat", "ipv4-only", "ipv4-literal", {"ok": True, "address": "11.200.0.3"},
     (True, "works over IPv4 through the CLAT, then the PLAT (NAT64)")),
    ("ds-lite", "ipv4-only", "name", {"ok": True, "address": "11.200.0.3"},
     (True, "works over IPv4 in the softwire, NAT44 at the AFTR")),
    # success, but over the other family
    ("dual-stack", "dual-stack", "name", {"ok": True, "address": "11.200.0.2"},
     (False, "works, but over IPv4 (11.200.0.2) instead of IPv6")),
    # success, but through the NAT64 where the service has a real AAAA
    ("ipv6-only", "dual-stack", "name", {"ok": True, "address": VIDEO_SYNTHESIZED},
     (False, f"works, but over IPv6 via NAT64 ({VIDEO_SYNTHESIZED}) instead of IPv6")),
    # failure where failure is expected
    ("ipv6-only", "ipv4-only", "ipv4-literal", {"ok": False, "error": "Network is unreachable"},
     (True, "fails, as expected")),
    ("ipv4-only", "ipv6-only", "name", {"ok": False, "error": "DNS: no A record"}, (True, "fails, as expected")),
    # success where failure is expected, failure where success is
    ("ipv6-only", "ipv4-only", "ipv4-literal", {"ok": True, "address": "11.200.0.3"}, (False, "works")),
    ("dual-stack", "ipv4-only", "name", {"ok": False, "error": "timed out"}, (False, "fails")),
])
def test_judge(kind, service, access, outcome, verdict):
    assert judge(cell(kind, service, access), outcome, WKP) == verdict


def test_judge_knows_the_nat64_by_the_plans_prefix():
    ipv6_only_to_shop = cell("ipv6-only", "ipv4-only", "name")
    nsp = ipaddress.ip_network("2001:db8:64::/96")
    assert judge(ipv6_only_to_shop, {"ok": True, "address": "2001:db8:64::bc8:3"}, nsp) == (
        True, "works over IPv6 to a synthesized AAAA, NAT64 to IPv4")
    # The well-known prefix is no NAT64 in a city that uses another one.
    assert judge(ipv6_only_to_shop, {"ok": True, "address": SHOP_SYNTHESIZED}, nsp) == (
        False, f"works, but over IPv6 ({SHOP_SYNTHESIZED}) instead of IPv6 to a synthesized AAAA, NAT64 to IPv4")


# --- measure, with a stand-in for the probe --------------------------------------------------------


NAMED = {"portal": "2001:db8:400:3::3", "school": "64:ff9b::b40:4a", "lab6": "2001:db8:400:4::3",
         "video": "3fff:0:0:1::2", "shop": SHOP_SYNTHESIZED, "mirror6": "3fff:0:0:1::4"}


class FakeBackend:
    """Answers run_many like the probe would: one JSON line per check it was given,
    except for the ids in ``silent``."""

    def __init__(self, outcome, silent=()):
        self.outcome, self.silent = outcome, set(silent)
        self.commands = self.timeout = None

    def run_many(self, commands, timeout=None):
        # One call per client (a few clients at a time): keep them all.
        self.commands, self.timeout = {**(self.commands or {}), **commands}, timeout
        results = {}
        for client, command in commands.items():
            lines = [json.dumps({"id": check["id"], **self.outcome(client, check)})
                     for check in json.loads(command[-1]) if check["id"] not in self.silent]
            results[client] = SimpleNamespace(stdout="noise\n" + "\n".join(lines) + "\n")
        return results


def as_the_rfcs_say(client, check):
    """An IPv6-only UE (d1u1) and a 464XLAT UE (d2u1) on a network that works."""
    if "name" in check:
        return {"ok": True, "address": NAMED[check["host"].split(".")[0]]}
    return {"ok": True, "address": check["address"]} if client == "d2u1" else {"ok": False, "error": "unreachable"}


def test_school_synthesized_by_hand():
    # school is 11.64.0.74 = 0b.40.00.4a
    assert rfc6052.synthesize(WKP, LITERALS["school"]) == ipaddress.ip_address(NAMED["school"])


def test_measure(city, cells):
    chosen = [c for c in cells if c.client in ("d1u1", "d2u1")]
    backend = FakeBackend(as_the_rfcs_say, silent={"d2u1|video.city.test|ipv4-literal"})
    records = {r["id"]: r for r in matrix.measure(backend, city, chosen)}
    assert sorted(backend.commands) == ["d1u1", "d2u1"]
    assert backend.commands["d1u1"][:6] == ["nice", "-n", "19", sys.executable, "-m", "simulator.measurements.probe"]
    # 10 checks per client: 60 + 15 * 10 seconds.
    assert backend.timeout == 210
    assert len(records) == 24
    # The one finding: a check the probe did not answer.
    assert [i for i, r in records.items() if not r["as_expected"]] == ["d2u1|video.city.test|ipv4-literal"]
    silent = records["d2u1|video.city.test|ipv4-literal"]
    assert (silent["ok"], silent["error"], silent["verdict"]) == (False, "probe gave no result", "fails")
    shop = records["d1u1|shop.city.test|name"]
    assert (shop["expected"], shop["ok"], shop["address"], shop["verdict"], shop["district"]) == (
        True, True, SHOP_SYNTHESIZED, "works over IPv6 to a synthesized AAAA, NAT64 to IPv4", "d1")
    assert shop["reference"].startswith("RFC 6147 section 5.1.7")
    literal = records["d1u1|shop.city.test|ipv4-literal"]
    assert (literal["expected"], literal["ok"], literal["as_expected"], literal["verdict"]) == (
        False, False, True, "fails, as expected")
    missing = records["d1u1|lab6.city.test|ipv4-literal"]
    assert (missing["expected"], missing["ok"], missing["as_expected"], missing["verdict"]) == (
        None, None, True, "no such cell")


# --- the summary table ----------------------------------------------------------------------------------


def record(kind, service, access, expected, ok, as_expected):
    return {"client_kind": kind, "service_kind": service, "access": access, "expected": expected, "ok": ok,
            "as_expected": as_expected}


def test_summary_table():
    records = [
        record("ipv6-only", "ipv4-only", "name", True, True, True),
        record("ipv6-only", "ipv4-only", "name", True, False, False),
        record("ipv6-only", "ipv4-only", "name", True, True, True),
        record("ipv6-only", "ipv6-only", "ipv4-literal", None, None, True),
        record("dual-stack", "dual-stack", "name", True, True, False),    # worked over the wrong family
        record("ipv6-only", "ipv4-only", "ipv4-literal", False, False, True),
    ]
    assert summary_table(records) == {
        ("ipv6-only", "ipv4-only", "name"): {"cells": 3, "ok": 2, "unexpected": 1, "expected": True},
        ("ipv6-only", "ipv6-only", "ipv4-literal"): {"cells": 1, "ok": 0, "unexpected": 0, "expected": None},
        ("dual-stack", "dual-stack", "name"): {"cells": 1, "ok": 1, "unexpected": 1, "expected": True},
        ("ipv6-only", "ipv4-only", "ipv4-literal"): {"cells": 1, "ok": 0, "unexpected": 0, "expected": False},
    }


def test_summary_table_of_nothing():
    assert summary_table([]) == {}

"""Every transition mechanism on a real emulated network (scenarios/transition.yaml).

The city (topologies/cities/transition.yaml, seed 11) has 11 subscriber hosts of
five kinds; which fixed CPE of d1 and which UE of d3 are the IPv6-capable ones
follows from the seed (d1f2 and d3u2):

    IPv4-only   d1f1h1 (behind its CPE's NAT44 and the BNG's CGN), d3u1 (CGN)
    dual-stack  d1f2h1 (IPv4 through NAT44 + CGN), d3u2 (IPv4 through CGN)
    IPv6-only   d1u1, d1u2 (DNS64 + NAT64)
    464XLAT     d2u1, d2u2 (CLAT on the UE), d3f1h1 (CLAT on its CPE)
    DS-Lite     d2f1h1, d2f2h1 (B4 on their CPEs, AFTR on c3)

Services: two of each kind (IPv4-only school, shop; dual-stack portal, video;
IPv6-only lab6, mirror6), each reached by name and by IPv4 literal. The grid below
is the RFC table written out again by hand, so a change to either shows here.
"""

import ipaddress

import pytest

from simulator.measurements import pcap
from simulator.model.scenario import REPO_ROOT, load_scenario
from simulator.network import cleanup
from simulator.progress import Progress
from simulator.runner import run_scenario
from topologies import rfc6052

KINDS = {"ipv4-only": 2, "dual-stack": 2, "ipv6-only": 2, "464xlat": 3, "ds-lite": 2}
# (client kind) -> works? for (IPv4-only, dual-stack, IPv6-only service) by name,
# then IPv4-only and dual-stack services by IPv4 literal (IPv6-only has none).
GRID = {
    "ipv4-only": ((True, True, False), (True, True)),
    "dual-stack": ((True, True, True), (True, True)),
    "ipv6-only": ((True, True, True), (False, False)),
    "464xlat": ((True, True, True), (True, True)),
    "ds-lite": ((True, True, True), (True, True)),
}
SERVICE_KINDS = ("ipv4-only", "dual-stack", "ipv6-only")


@pytest.fixture(scope="module")
def run(capabilities, tmp_path_factory):
    scenario = load_scenario(REPO_ROOT / "scenarios" / "transition.yaml")
    return run_scenario(scenario, results_root=tmp_path_factory.mktemp("results"),
                        progress=Progress(quiet=True), capabilities=capabilities)


def test_every_cell_as_the_rfcs_say(run):
    assert len(run.transition) == 11 * 6 * 2
    assert [(r["id"], r["verdict"], r.get("error")) for r in run.transition if not r["as_expected"]] == []


def test_the_grid_by_client_kind(run):
    from simulator.measurements.matrix import summary_table
    table = summary_table(run.transition)
    for kind, (by_name, by_literal) in GRID.items():
        for service, works in zip(SERVICE_KINDS, by_name, strict=True):
            assert table[(kind, service, "name")]["ok"] == (2 * KINDS[kind] if works else 0), (kind, service)
        for service, works in zip(SERVICE_KINDS, by_literal, strict=False):
            assert table[(kind, service, "ipv4-literal")]["ok"] == (2 * KINDS[kind] if works else 0), (kind, service)
        assert table[(kind, "ipv6-only", "ipv4-literal")]["expected"] is None


def cell(run, client, service, access):
    return next(r for r in run.transition if r["id"] == f"{client}|{service}.city.test|{access}")


def test_ipv6_only_reaches_ipv4_only_service_through_nat64(run):
    shop = cell(run, "d1u1", "shop", "name")
    literal = cell(run, "d1u1", "shop", "ipv4-literal")
    assert shop["ok"] and not literal["ok"]
    # The synthesized AAAA carries shop's IPv4 address as RFC 6052 says.
    assert str(rfc6052.extract("64:ff9b::/96", shop["address"])) == literal["address"]


def test_464xlat_reaches_an_ipv4_literal(run):
    for client in ("d2u1", "d3f1h1"):
        record = cell(run, client, "shop", "ipv4-literal")
        assert record["ok"] and ipaddress.ip_address(record["address"]).version == 4


def test_dual_stack_prefers_ipv6_and_ds_lite_uses_ipv4_in_the_softwire(run):
    assert ipaddress.ip_address(cell(run, "d1f2h1", "video", "name")["address"]).version == 6
    assert ipaddress.ip_address(cell(run, "d2f1h1", "shop", "name")["address"]).version == 4


def test_old_matrix_agrees_with_the_graph(run):
    assert [c["id"] for c in run.cells if not c["as_expected"]] == []


def test_ds_lite_softwire_on_the_wire(run):
    packets = pcap.read(run.path / "captures" / "aftr--c3.pcap")
    softwire = [p for p in packets if p.version == 6 and p.protocol == 4 and p.inner is not None]
    assert softwire, "no IPv6 packets with next header 4 on the AFTR's link"
    lans = {ipaddress.ip_network("192.168.2.0/24"), ipaddress.ip_network("192.168.3.0/24")}
    # Towards the AFTR: outer destination its endpoint, inner source a B4's LAN host.
    towards = [p for p in softwire if p.destination == ipaddress.ip_address("2001:db8:0:5::1")]
    assert towards and all(any(p.inner.source in lan for lan in lans) for p in towards)
    # And translated: IPv4 leaves the AFTR from its pool, 11.64.0.144/29.
    pool = ipaddress.ip_network("11.64.0.144/29")
    assert any(p.version == 4 and p.source in pool for p in packets)


def test_nat64_translation_on_the_wire(run):
    packets = pcap.read(run.path / "captures" / "n64--c2.pcap")
    prefix = ipaddress.ip_network("64:ff9b::/96")
    translated = [p for p in packets if p.version == 6 and p.destination in prefix]
    assert translated
    servers = {rfc6052.extract(prefix, p.destination) for p in translated}
    pool = ipaddress.ip_network("11.64.0.152/29")
    # Each embedded IPv4 address is met again as the destination of IPv4 packets
    # that leave the NAT64 from its pool.
    leaving = {p.destination for p in packets if p.version == 4 and p.source in pool}
    assert servers and servers <= leaving


def test_nothing_left(run):
    prefix = run.run_id.rsplit("-", 1)[1]
    found = cleanup.find_leftovers(prefix)
    assert found.empty, found.describe()


@pytest.fixture(scope="module")
def nsp_run(capabilities, tmp_path_factory):
    scenario = load_scenario(REPO_ROOT / "tests" / "fixtures" / "scenarios" / "transition-nsp.yaml")
    return run_scenario(scenario, results_root=tmp_path_factory.mktemp("results"),
                        progress=Progress(quiet=True), capabilities=capabilities)


def test_network_specific_prefix(nsp_run):
    """The same city with NAT64 prefix 2001:db8:ff64::/64: TAYGA, Unbound's DNS64 and
    the address synthesis of RFC 6052 agree on where the IPv4 address goes (bytes
    9 to 12, after the zero u octet)."""
    assert [(r["id"], r["verdict"]) for r in nsp_run.transition if not r["as_expected"]] == []
    shop = cell(nsp_run, "d1u1", "shop", "name")
    literal = cell(nsp_run, "d1u1", "shop", "ipv4-literal")
    # shop is x2, 11.200.0.3 = 0b.c8.00.03: 2001:db8:ff64:0:0b:c800:300:0 by figure 1 of RFC 6052.
    assert shop["ok"] and ipaddress.ip_address(shop["address"]) == ipaddress.ip_address("2001:db8:ff64:0:b:c800:300:0")
    assert str(rfc6052.extract("2001:db8:ff64::/64", shop["address"])) == "11.200.0.3"
    assert not literal["ok"]
    packets = pcap.read(nsp_run.path / "captures" / "n64--c2.pcap")
    assert any(p.version == 6 and p.destination == ipaddress.ip_address("2001:db8:ff64:0:b:c800:300:0")
               for p in packets)

"""simulator.network.preparation: what a run prepares before it builds a network, and
the dry runs `v6lab topo check` runs on it without a node."""

from pathlib import Path

import pytest

from simulator.model.scenario import load_scenario
from simulator.network.daemons import DnsServer
from simulator.network.preparation import dry_run, interface_name, prepare
from topologies.errors import DaemonError

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def transition():
    return prepare(load_scenario(REPO_ROOT / "scenarios" / "transition.yaml"), "vabc")


def test_daemons_carry_the_run_prefix(transition):
    # Every interface a daemon names is the backend's name for it in this run.
    graph = transition.graph
    assert interface_name(graph, "vabc", "d1bng", "d1o1") == "vabcd1bng-e1"
    kea = {d.node: d for d in transition.node_daemons.delegation_servers}
    assert [link[0] for link in kea["d1bng"].links] == ["vabcd1bng-e1"]
    assert all(link[0].startswith(f"vabc{router.node}-e") for router in transition.node_daemons.advertisers
               for link in router.links)


def test_what_the_transition_city_runs(transition):
    # Three BNGs delegate to the 2 + 2 + 1 CPEs; d1's half of IPv4-only CPEs get none.
    assert [d.node for d in transition.node_daemons.delegation_servers] == ["d1bng", "d2bng", "d3bng"]
    assert len(transition.node_daemons.delegation_clients) == 4
    assert sorted(repr(m) for m in transition.node_daemons.mechanisms) == [
        "aftr@aftr", "b4@d2f1", "b4@d2f2", "cgn@d1bng", "cgn@d3gw", "clat@d2u1", "clat@d2u2", "clat@d3f1",
        "nat64@n64"]
    # The DNS64 on the NAT64 node, beside the city's own DNS server.
    assert [repr(d) for d in transition.services if isinstance(d, DnsServer)] == ["unbound@i1v1", "dns64@n64"]
    assert transition.capture_links == [("aftr", "c3"), ("n64", "c2")]


def test_dry_run_without_root(transition, tmp_path):
    checked = dry_run(transition.daemons(), tmp_path, as_root=False)
    assert checked.ran["unbound-checkconf"] == 2
    assert checked.ran["radvd --configtest"] == 7
    assert checked.ran["http page"] == 6
    assert checked.skipped["kea-dhcp6 -t"] == "Kea checks that the BNG's interfaces exist"
    assert checked.skipped["tayga --mktun"] == "it needs root"
    # nftables checks need a network namespace: a user namespace where the host allows one.
    assert checked.ran.get("nft -c") == 9 or "nft -c" in checked.skipped
    assert (tmp_path / "n64" / "dns64" / "unbound.conf").is_file()


def test_a_failing_dry_run_names_the_daemon_and_the_check(tmp_path):
    bad = DnsServer("ns1", "city.test", ["not-an-address"], {"www": ["192.0.2.1"]})
    with pytest.raises(DaemonError) as error:
        dry_run([bad], tmp_path, as_root=False)
    first = str(error.value).splitlines()[0]
    assert first == f"unbound@ns1: configuration check 'unbound-checkconf {tmp_path}/ns1/unbound/unbound.conf' failed:"

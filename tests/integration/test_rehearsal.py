"""Both shipped rehearsals of the migration city, applied live under the workload
(real Mininet, OVS, controller, radvd, Kea, dhclient, TAYGA, Unbound, nftables, SRv6).

The smooth plan (translators first, dual-stack next, IPv6-only access last, every change
make-before-break) breaks no cell and loses no datagram while addresses stay; the
naive plan's cut-overs break cells, and only cells that ``plan check`` predicted
would break in between. Both end with every cell of both matrices as expected.
"""

import pytest

from simulator.model.scenario import REPO_ROOT, load_scenario
from simulator.network import cleanup
from simulator.progress import Progress
from simulator.rehearse import run_rehearsal

CELLS = 160 + 64     # the connectivity and transition matrices of the migration city


def rehearse(name, capabilities, tmp_path_factory):
    return run_rehearsal(load_scenario(REPO_ROOT / "scenarios" / f"{name}.yaml"),
                         results_root=tmp_path_factory.mktemp(name), progress=Progress(quiet=True),
                         capabilities=capabilities)


@pytest.fixture(scope="module")
def smooth(capabilities, tmp_path_factory):
    return rehearse("migration-smooth", capabilities, tmp_path_factory)


@pytest.fixture(scope="module")
def naive(capabilities, tmp_path_factory):
    return rehearse("migration-naive", capabilities, tmp_path_factory)


def by_phase(run):
    return {row["phase"]: row for row in run.phases}


def test_the_smooth_plan_keeps_everyone_connected(smooth):
    phases = by_phase(smooth)
    assert list(phases) == ["translators first", "dual-stack", "ipv6-only access"]
    assert len(smooth.cells) + len(smooth.transition) == CELLS
    assert [c["id"] for c in smooth.unexpected] == []
    for row in phases.values():
        assert (row["regressions"], row["matrix_unexpected"]) == (0, 0), row
        assert row["recovery_s"] is not None, row
    # Deploying translators and enabling IPv6 leave every flow's addresses as they are:
    # no cell breaks, not one datagram of the echo streams is lost.
    for name in ("translators first", "dual-stack"):
        row = phases[name]
        assert (row["cells_broken_during"], row["recovery_s"]) == (0, 0.0), row
        assert row["packets_sent"] > 0 and row["packets_lost"] == 0, row
    # The last phase moves the IPv4 source of d1 and d2 mobile (to a CLAT) and d2 fixed
    # (into a softwire): a connection over IPv4 in flight at that moment may fail, as a
    # flow that must end. Only those can break: by name, shop (the one IPv4-only
    # service left) from those clients.
    moving = ("d1u1", "d1u2", "d2u1", "d2u2", "d2f1h1", "d2f2h1")
    allowed = {f"{client}|shop.city.test|name" for client in moving}
    assert set(phases["ipv6-only access"]["broken_cells"]) <= allowed, phases["ipv6-only access"]


def test_the_naive_plan_breaks_what_was_predicted_and_recovers(naive):
    phases = by_phase(naive)
    first = phases["ipv6-only mobile now"]
    assert first["strategy"] == "cut-over"
    assert first["broken_cells"], first
    for row in phases.values():
        assert set(row["broken_cells"]) <= set(row["predicted_transient_cells"]), row
        assert row["regressions"] == 0 and row["recovery_s"] is not None, row
    assert first["packets_lost"] > 0
    assert [c["id"] for c in naive.unexpected] == []


@pytest.mark.parametrize("run", ["smooth", "naive"])
def test_nothing_left(run, request):
    result = request.getfixturevalue(run)
    prefix = result.run_id.rsplit("-", 1)[1]
    found = cleanup.find_leftovers(prefix)
    assert found.empty, found.describe()

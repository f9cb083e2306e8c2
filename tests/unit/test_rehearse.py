"""simulator.rehearse without a network: the workload each subscriber runs, and the
per-phase sums of its changes' disruption figures.

The city is the transition city (topologies/cities/transition.yaml, seed 11; see
tests/unit/test_matrix.py): d1f1h1 is IPv4-only, d1f2h1 dual-stack, d1u1 IPv6-only;
the workload server is the city DNS i1v1 (11.64.0.66, 2001:db8:400:3::2); the school
i1v3 is IPv4-only.
"""

from pathlib import Path

import pytest

from simulator import rehearse
from simulator.measurements import workload
from simulator.model.scenario import Workload
from simulator.rehearse import DISRUPTION_COLUMNS, PHASE_COLUMNS, PhaseRecord, workload_config
from topologies.city import city_graph, load_city
from topologies.errors import TestbedError

TRANSITION_CITY = Path(__file__).resolve().parents[2] / "topologies" / "cities" / "transition.yaml"
DNS4, DNS6 = "11.64.0.66", "2001:db8:400:3::2"


@pytest.fixture(scope="module")
def graph():
    return city_graph(load_city(TRANSITION_CITY))



@pytest.mark.parametrize(("client", "echoes", "stream"), [
    ("d1f2h1", [DNS4, DNS6], DNS4),     # dual-stack: a stream per family, the long flow over IPv4
    ("d1f1h1", [DNS4], DNS4),
    ("d1u1", [DNS6], DNS6),
    ("d2u1", [DNS4, DNS6], DNS4),       # 464XLAT: its IPv4 goes through the CLAT and the NAT64
])
def test_a_udp_echo_per_family_client_and_server_share(city, client, echoes, stream):
    config = workload_config(city, client, "i1v1", Workload(udp_interval_s=0.05))
    assert config["udp"] == [{"address": address, "port": 7, "interval_s": 0.05, "timeout_s": 1.0}
                             for address in echoes]
    assert config["stream"] == {"host": stream, "port": 5001, "stall_s": 2.0, "give_up_s": 10.0}
    # What the rehearsal hands the prober is what the prober accepts.
    assert [target.address for target in workload.parse_config(config).udp] == echoes


def test_a_client_sharing_no_family_with_the_server_is_refused(city):
    with pytest.raises(TestbedError, match="d1u1 shares no address family with the workload server i1v3"):
        workload_config(city, "d1u1", "i1v3", Workload())


FAMILY_PACKETS = ["packets_sent_ipv4", "packets_lost_ipv4", "packets_sent_ipv6", "packets_lost_ipv6"]


@pytest.mark.parametrize("columns", [DISRUPTION_COLUMNS, PHASE_COLUMNS])
def test_per_family_datagrams_follow_the_totals(columns):
    at = columns.index("packets_lost")
    assert columns[at - 1:at + 5] == ["packets_sent", "packets_lost", *FAMILY_PACKETS]


def change(phase, broken, sent4, lost4, sent6, lost6):
    """A disruption.csv row with only what a phase sums."""
    return {"phase": phase, "broken_cells": broken, "packets_sent": sent4 + sent6, "packets_lost": lost4 + lost6,
            "packets_sent_ipv4": sent4, "packets_lost_ipv4": lost4, "packets_sent_ipv6": sent6,
            "packets_lost_ipv6": lost6, "flows_reset": 1, "fallbacks": 0}


def test_a_phase_sums_its_changes_datagrams_per_family():
    cells = [{"id": "h1|www|name", "ok": True, "as_expected": True}]
    records = [PhaseRecord("before", "", "", {"started": 1.0}, cells),
               PhaseRecord("ds-lite", "a; b", "cut-over", {"started": 2.0, "ready": 3.0, "done": 3.5}, cells)]
    rows = [change("ds-lite", ["h1|www|name"], sent4=50, lost4=3, sent6=50, lost6=0),
            change("ds-lite", ["h1|www|name"], sent4=40, lost4=6, sent6=60, lost6=1)]
    before, phase = rehearse._phase_rows(records, rows)
    assert [before[key] for key in ("packets_sent", "packets_lost", *FAMILY_PACKETS)] == [None] * 6
    assert [phase[key] for key in ("packets_sent", "packets_lost", *FAMILY_PACKETS)] == [200, 10, 90, 9, 110, 1]
    assert (phase["cells_broken_during"], phase["flows_reset"], phase["regressions"]) == (1, 2, 0)


def test_each_change_is_judged_on_its_own_window_and_not_on_the_matrices_load():
    """Two phases of the naive plan's first changes: a change's window runs to the next
    change's start; a phase's last change's, to when its matrices are measured. A
    datagram lost while the matrices run (their probes load the host) is no change's;
    the baseline row is the workload alone, the last 5 s before the first change."""
    from simulator.measurements.prediction import predict
    from simulator.model.migration import phase_ends
    from simulator.model.scenario import REPO_ROOT, load_scenario
    from simulator.network.preparation import prepare_rehearsal
    from simulator.rehearse import ChangeRecord
    scenario = load_scenario(REPO_ROOT / "scenarios" / "migration-naive.yaml")
    found = prepare_rehearsal(scenario, "vabc")
    predicted = predict(scenario)
    changes = [step.change for step in found.steps]
    first = PhaseRecord("ipv6-only mobile now", "", "", {"started": 100.0, "ready": 121.0, "done": 121.0,
                                                         "measured": 130.0},
                        steps=[ChangeRecord(changes[0], 1, {"started": 100.0, "ready": 101.0, "done": 101.0}),
                               ChangeRecord(changes[1], 2, {"started": 110.0, "ready": 111.0, "done": 111.0}),
                               ChangeRecord(changes[2], 3, {"started": 120.0, "ready": 121.0, "done": 121.0})])
    second = PhaseRecord("fixed access", "", "", {"measured": 170.0}, steps=[
        ChangeRecord(change, state, {"started": 140.0 + 10 * i, "ready": 141.0 + 10 * i, "done": 141.0 + 10 * i})
        for i, (change, state) in enumerate(zip(changes[3:6], (4, 5, 6), strict=True))])
    third = PhaseRecord("services last", "", "", {"measured": 200.0}, steps=[
        ChangeRecord(changes[6], 7, {"started": 180.0, "ready": 181.0, "done": 181.0}),
        ChangeRecord(changes[7], 8, {"started": 190.0, "ready": 191.0, "done": 191.0})])
    records = [PhaseRecord("before", "", ""), first, second, third]

    def udp(t, seq, ok):
        return {"kind": "udp", "t": t, "client": "d1u1", "family": "ipv4", "seq": seq, "ok": ok, "rtt_ms": None}

    samples = [udp(96.0, 1, True), udp(111.0, 2, False), udp(112.0, 3, False),   # d1 mobile's cut-over
               udp(125.0, 4, True), udp(131.0, 5, False), udp(135.0, 6, False)]  # the matrices run: no change's
    rows = rehearse._change_rows(samples, records, predicted, found.states)
    assert [(row["change"], row["packets_sent"], row["packets_lost"]) for row in rows[:5]] == [
        ("none (the workload alone)", 1, 0), ("deploy nat64 at c2", 0, 0), ("d1 mobile to 464xlat", 2, 2),
        ("d2 mobile to 464xlat without CGN", 1, 0), ("deploy aftr at c3", 0, 0)]
    assert [state for state in phase_ends(found.steps)] == [0, 3, 6, 8]


def test_what_each_client_carries_to_the_echo_server():
    """The endgame's states: d1 fixed's LAN hosts carry IPv4 until IPv4 is switched off
    (then IPv6 only, no CLAT); a 464XLAT UE carries IPv4 through its CLAT; an IPv4-only host IPv4 only."""
    from simulator.model.scenario import REPO_ROOT, load_scenario
    from simulator.network.preparation import prepare_rehearsal
    found = prepare_rehearsal(load_scenario(REPO_ROOT / "scenarios" / "migration-endgame.yaml"), "vabc")
    before_off, after_off = (rehearse.carried(found.states[i].city) for i in (4, 5))
    assert (before_off["d1f1h1"], after_off["d1f1h1"]) == ({"ipv4", "ipv6"}, {"ipv6"})
    assert after_off["d2u1"] == {"ipv4"}
    smooth = prepare_rehearsal(load_scenario(REPO_ROOT / "scenarios" / "migration-smooth.yaml"), "vabc")
    assert rehearse.carried(smooth.states[-1].city)["d1u1"] == {"ipv4", "ipv6"}     # 464XLAT: its CLAT
    assert rehearse.carried(smooth.states[-1].city)["d2f1h1"] == {"ipv4", "ipv6"}   # DS-Lite: its B4

"""Disruption of a change from hand-made workload samples, every figure counted by hand."""

import pytest

from simulator.measurements.disruption import disruption

STEP = 0.2     # the probers' interval between two connections to a service


def connects(client, service, ok_at, start=0.0, stop=10.0, fell_back_at=()):
    """A sample every STEP seconds; ``ok_at(t)`` says whether it worked."""
    samples, t, index = [], start, 0
    while t < stop - 1e-9:
        samples.append({"t": t, "client": client, "kind": "connect", "service": service, "ok": ok_at(t),
                        "family": "ipv6", "fell_back": any(abs(t - f) < 1e-9 for f in fell_back_at), "ms": 3.0,
                        "error": ""})
        index += 1
        t = round(start + index * STEP, 6)
    return samples


def udp(client, lost=(), family=None):
    """Datagram n leaves at n / 10 s, for n = 0..99; without ``family``, lines as
    written before each family was a stream of its own (no "family" key)."""
    named = {} if family is None else {"family": family}
    return [{"t": n / 10, "client": client, "kind": "udp", **named, "seq": n, "ok": n not in lost, "rtt_ms": 1.0}
            for n in range(100)]


@pytest.fixture
def samples():
    return (
        # c1 loses www for 0.8 s: the samples at 5.0, 5.2, 5.4 and 5.6 fail, 5.8 works again.
        connects("c1", "www", lambda t: not 5.0 <= t < 5.8, fell_back_at=(6.2,))
        + connects("c2", "www", lambda t: True)                    # untouched
        + connects("c3", "shop", lambda t: t < 5.0)                # lost for good: a regression
        + connects("c4", "www", lambda t: t >= 7.0)                # gained
        + udp("c1", lost={52, 53, 54, 20})                         # 20 is lost before the change
        + [{"t": 0.0, "client": "c1", "kind": "flow", "event": "open", "flow": 0, "bytes": 0},
           {"t": 5.1, "client": "c1", "kind": "flow", "event": "reset", "flow": 0, "bytes": 51200},
           {"t": 5.9, "client": "c1", "kind": "flow", "event": "open", "flow": 1, "bytes": 0},
           {"t": 7.5, "client": "c2", "kind": "flow", "event": "stall", "flow": 0, "bytes": 9000}])


def test_a_change_with_a_known_gap(samples):
    expected = {("c1", "www"): True, ("c2", "www"): True, ("c3", "shop"): False, ("c4", "www"): True}
    found = disruption(samples, started=5.0, ready=5.3, end=10.0, expected_after=expected)
    assert found.broken_during == (("c1", "www"), ("c3", "shop"))
    assert found.regressions == (("c3", "shop"),)
    assert found.gained == (("c4", "www"),)
    # Datagrams 50..99 left inside the window; 52, 53 and 54 were never echoed. The
    # samples name no family: they count in the totals only.
    assert (found.packets_sent, found.packets_lost) == (50, 3)
    assert (found.packets_sent_ipv4, found.packets_lost_ipv4, found.packets_sent_ipv6, found.packets_lost_ipv6) == (
        0, 0, 0, 0)
    assert (found.flows_reset, found.flows_stalled) == (1, 1)
    assert found.new_flow_s == pytest.approx(0.8)
    assert found.fallbacks == 1
    # c1 is as expected again at 5.8 and c4 (expected to work) from 7.0: recovery 2.0 s,
    # at the 0.2 s the samples were taken.
    assert found.resolution_s == pytest.approx(0.2)
    assert found.recovery_s == pytest.approx(2.0)
    row = found.row()
    assert row["ready_s"] == 0.3 and row["cells_broken_during"] == 2 and row["recovery_s"] == 2.0
    assert (row["packets_sent"], row["packets_lost"], row["packets_sent_ipv4"], row["packets_lost_ipv4"],
            row["packets_sent_ipv6"], row["packets_lost_ipv6"]) == (50, 3, 0, 0, 0, 0)


def test_recovery_is_the_gap_when_the_rest_is_as_expected(samples):
    # c4 predicted not to work yet: only c1's 0.8 s gap counts.
    expected = {("c1", "www"): True, ("c2", "www"): True, ("c3", "shop"): False, ("c4", "www"): False}
    only_c1 = [s for s in samples if s.get("client") != "c4"]
    assert disruption(only_c1, 5.0, 5.3, 10.0, expected).recovery_s == pytest.approx(0.8)


def test_a_cell_never_back_means_no_recovery(samples):
    # c3 was predicted to keep working: the window ends with it still failing.
    expected = {("c1", "www"): True, ("c3", "shop"): True}
    assert disruption(samples, 5.0, 5.3, 10.0, expected).recovery_s is None


def test_a_change_that_breaks_nothing():
    quiet = connects("c1", "www", lambda t: True) + udp("c1")
    found = disruption(quiet, 5.0, 5.1, 10.0, {("c1", "www"): True})
    assert (found.broken_during, found.regressions, found.gained) == ((), (), ())
    assert (found.packets_sent, found.packets_lost, found.flows_reset, found.fallbacks) == (50, 0, 0, 0)
    assert found.recovery_s == 0.0 and found.new_flow_s is None


def test_a_dual_stack_client_loses_only_its_ipv4_stream():
    # Its IPv4 source moves: the IPv4 stream loses datagrams 3, 4 and 5; the IPv6
    # stream, numbered from 0 too, loses none.
    samples = udp("c5", lost={3, 4, 5}, family="ipv4") + udp("c5", family="ipv6")
    found = disruption(samples, 0.0, 0.1, 10.0, {})
    assert (found.packets_sent_ipv4, found.packets_lost_ipv4) == (100, 3)
    assert (found.packets_sent_ipv6, found.packets_lost_ipv6) == (100, 0)
    assert (found.packets_sent, found.packets_lost) == (200, 3)


def test_datagrams_are_counted_per_client_and_family_in_the_window():
    samples = (udp("c5", lost={20, 52, 53, 54}, family="ipv4")    # 20 is lost before the change
               + udp("c5", lost={52}, family="ipv6")              # the same number, another datagram
               + udp("c6", lost={60, 70}, family="ipv6")          # another client's IPv6 stream
               + udp("c7", lost={99}))                            # an old file: no family named
    found = disruption(samples, 5.0, 5.3, 10.0, {})
    # 50..99 of each of the four streams left inside the window.
    assert (found.packets_sent_ipv4, found.packets_lost_ipv4) == (50, 3)
    assert (found.packets_sent_ipv6, found.packets_lost_ipv6) == (100, 3)
    assert (found.packets_sent, found.packets_lost) == (200, 7)
    row = found.row()
    assert [row[key] for key in ("packets_sent_ipv4", "packets_lost_ipv4", "packets_sent_ipv6",
                                 "packets_lost_ipv6")] == [50, 3, 100, 3]


def test_a_stream_an_earlier_change_ended_is_not_counted_again():
    """IPv4 switched off on c5's access in an earlier change: its IPv4 stream fails for
    good (every datagram from 0 on), which that change's window counted. A later window
    told that c5 carries only IPv6 counts its IPv6 stream alone; c6, not named, counts in full."""
    samples = (udp("c5", lost=set(range(100)), family="ipv4") + udp("c5", family="ipv6")
               + udp("c6", lost={7}, family="ipv4"))
    found = disruption(samples, 0.0, 0.1, 10.0, {}, {"c5": frozenset({"ipv6"})})
    assert (found.packets_sent_ipv4, found.packets_lost_ipv4) == (100, 1)
    assert (found.packets_sent_ipv6, found.packets_lost_ipv6) == (100, 0)
    unfiltered = disruption(samples, 0.0, 0.1, 10.0, {})
    assert (unfiltered.packets_sent_ipv4, unfiltered.packets_lost_ipv4) == (200, 101)

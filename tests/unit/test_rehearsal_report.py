"""simulator.reporting.rehearsal on small hand-made samples: the working share per time
bin, the timeline figure drawn from it, and the per-phase table."""

import math
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D

from simulator.reporting.rehearsal import UNNAMED_KIND, disruption_table, timeline, working_share

KINDS = {"h1": "fixed dual-stack", "h2": "mobile 464xlat"}
A, B = "a.city.example", "b.city.example"


def connect(t, client, service, ok):
    return {"kind": "connect", "t": t, "client": client, "service": service, "ok": ok,
            "family": "ipv6" if ok else None, "fell_back": False, "ms": 3.0 if ok else None,
            "error": "" if ok else "TCP: timed out"}


# h1 reaches a all along and b except at 3.5 and 4.5 (the failure between t=3 and t=5);
# h2 first samples at 2.0, on a bin's end, and its b fails again from 6.5.
CONNECTS = (
    [connect(t + 0.5, "h1", A, True) for t in range(8)]
    + [connect(t + 0.5, "h1", B, t not in (3, 4)) for t in range(8)]
    + [connect(2.0, "h2", A, False), connect(4.0, "h2", A, True), connect(6.0, "h2", A, True)]
    + [connect(2.5, "h2", B, True), connect(6.5, "h2", B, False)]
)
OTHERS = [
    {"kind": "udp", "t": 3.6, "client": "h1", "seq": 36, "ok": False, "rtt_ms": None},
    {"kind": "udp", "t": 3.7, "client": "h1", "seq": 37, "ok": True, "rtt_ms": 1.2},
    {"kind": "udp", "t": 4.1, "client": "h1", "seq": 41, "ok": False, "rtt_ms": None},
    {"kind": "flow", "t": 0.1, "client": "h2", "event": "open", "flow": 0, "bytes": 0},
    {"kind": "flow", "t": 3.2, "client": "h2", "event": "reset", "flow": 0, "bytes": 3072},
    {"kind": "flow", "t": 3.3, "client": "h2", "event": "open", "flow": 1, "bytes": 0},
    {"kind": "summary", "t": 8.0, "client": "h1", "udp_sent": 2, "udp_lost": 2, "flows": 0},
]
# Newest first, with the other kinds in between: the order of the lines must not matter.
SAMPLES = list(reversed(CONNECTS + OTHERS))

SHARES_1S: dict[str, list[tuple[float, float | None]]] = {
    # b's 3.5 and 4.5 failures are the latest at the ends of bins 4 and 5.
    "fixed dual-stack": [(1.0, 1.0), (2.0, 1.0), (3.0, 1.0), (4.0, 0.5), (5.0, 0.5), (6.0, 1.0), (7.0, 1.0),
                         (8.0, 1.0)],
    # No cell before 2.0; at 2.0 only a, failing; 4.0 and 6.0 count in the bins they end.
    "mobile 464xlat": [(1.0, None), (2.0, 0.0), (3.0, 0.5), (4.0, 1.0), (5.0, 1.0), (6.0, 1.0), (7.0, 0.5),
                       (8.0, 0.5)],
}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_working_share_per_second():
    assert working_share(SAMPLES, KINDS, 0.0, 8.0, 1.0) == SHARES_1S


def test_working_share_last_bin_ends_at_the_window_end():
    assert working_share(SAMPLES, KINDS, 0.0, 7.5, 2.0) == {
        "fixed dual-stack": [(2.0, 1.0), (4.0, 0.5), (6.0, 1.0), (7.5, 1.0)],
        "mobile 464xlat": [(2.0, 0.0), (4.0, 1.0), (6.0, 1.0), (7.5, 0.5)],
    }


def test_working_share_counts_samples_before_the_window():
    # From 3.0: h1's b failed at 3.5 and 4.5; h2's a (4.0) and b (2.5, from before) work.
    assert working_share(SAMPLES, KINDS, 3.0, 5.0, 1.0) == {
        "fixed dual-stack": [(1.0, 0.5), (2.0, 0.5)],
        "mobile 464xlat": [(1.0, 1.0), (2.0, 1.0)],
    }


def test_working_share_keeps_clients_of_no_given_kind():
    samples = SAMPLES + [connect(0.5, "h3", A, True), connect(1.5, "h3", A, False)]
    shares = working_share(samples, KINDS, 0.0, 2.0, 1.0)
    assert list(shares) == ["fixed dual-stack", "mobile 464xlat", UNNAMED_KIND]
    assert shares[UNNAMED_KIND] == [(1.0, 1.0), (2.0, 0.0)]


def test_working_share_of_a_kind_without_samples_and_of_an_empty_window():
    shares = working_share(SAMPLES, {**KINDS, "h9": "mobile ipv4-only"}, 0.0, 2.0, 1.0)
    assert shares["mobile ipv4-only"] == [(1.0, None), (2.0, None)]
    assert working_share(SAMPLES, KINDS, 5.0, 5.0, 1.0) == {"fixed dual-stack": [], "mobile 464xlat": []}


def test_working_share_refuses_a_bin_of_no_length():
    with pytest.raises(ValueError, match="bin_s 0"):
        working_share(SAMPLES, KINDS, 0.0, 8.0, 0)


def xs(line: Line2D) -> list[float]:
    return [float(x) for x in np.asarray(line.get_xdata())]


def ys(line: Line2D) -> list[float]:
    return [float(y) for y in np.asarray(line.get_ydata())]


T0 = 1000.0
PHASES = [
    {"phase": "before", "started": T0, "ready": None, "end": T0 + 3.0},
    {"phase": "IPv6 off", "started": T0 + 3.0, "ready": T0 + 3.5, "end": T0 + 6.0},
    {"phase": "IPv6 back", "started": T0 + 6.0, "ready": T0 + 6.5, "end": T0 + 8.0},
]


def shifted(samples):
    return [{**s, "t": s["t"] + T0} for s in samples]


def test_timeline_draws_one_row_per_kind_against_the_phases():
    fig = timeline(shifted(SAMPLES), PHASES, KINDS, title="rehearsal")
    assert len(fig.axes) == 2
    top, bottom = fig.axes
    assert [t.get_text() for t in top.texts] == ["before", "IPv6 off", "IPv6 back"]
    for ax, kind in ((top, "fixed dual-stack"), (bottom, "mobile 464xlat")):
        assert ax.get_title(loc="left") == f"{kind}: 1 client, 2 (client, service) cells"
        assert [xs(line)[0] for line in ax.get_lines() if line.get_linestyle() == "--"] == [0.0, 3.0, 6.0]
        assert len(ax.patches) == 2          # the two phases with a ready time are shaded
        share = ax.get_lines()[0]
        # Each bin's share drawn over the bin before its end, the first one from 0.
        assert xs(share) == pytest.approx([0.0] + [x for x, _ in SHARES_1S[kind]])
        expected = [math.nan if y is None else y for _, y in SHARES_1S[kind]]
        assert ys(share) == pytest.approx(expected[:1] + expected, nan_ok=True)
    losses = [np.asarray(segment) for c in top.collections if isinstance(c, LineCollection)
              for segment in c.get_segments()]
    assert sorted(float(segment[0][0]) for segment in losses) == pytest.approx([3.6, 4.1])
    assert not [c for c in bottom.collections if isinstance(c, LineCollection)]
    resets = [line for line in bottom.get_lines() if line.get_marker() == "x"]
    assert [xs(line) for line in resets] == [pytest.approx([3.2])]
    assert not [line for line in top.get_lines() if line.get_marker() == "x"]
    assert fig.axes[1].get_xlabel() == "seconds since before started"


def test_timeline_without_phases_starts_at_the_first_sample():
    fig = timeline(shifted(SAMPLES), [], KINDS)
    assert len(fig.axes) == 2
    assert fig.axes[1].get_xlabel() == "seconds since the first sample"
    # The first sample is h2's flow open at 0.1: the 3.2 reset is 3.1 after it.
    resets = [line for line in fig.axes[1].get_lines() if line.get_marker() == "x"]
    assert xs(resets[0]) == pytest.approx([3.1])


def test_timeline_of_one_sample_draws_one_bin():
    fig = timeline([connect(T0, "h1", A, True)], [], KINDS)
    share = fig.axes[0].get_lines()[0]
    assert (xs(share), ys(share)) == ([0.0, 1.0], [1.0, 1.0])
    assert ys(fig.axes[1].get_lines()[0]) == pytest.approx([math.nan, math.nan], nan_ok=True)


@pytest.mark.parametrize("samples", [[], [OTHERS[-1]]], ids=["nothing", "summary only"])
def test_timeline_without_samples(samples):
    fig = timeline(samples, PHASES, KINDS, title="rehearsal")
    assert len(fig.axes) == 1
    assert [t.get_text() for t in fig.axes[0].texts] == ["no samples"]


ROWS: list[dict] = [
    {"phase": "before", "change": "", "ready_s": None, "cells_broken_during": 0, "regressions": 0, "gained": 0,
     "packets_lost": 0, "packets_sent": 80, "flows_reset": 0, "fallbacks": 0, "recovery_s": 0.0,
     "resolution_s": 1.0},
    {"phase": "IPv6 off", "change": "district d1: ipv4-only", "ready_s": 0.42, "cells_broken_during": 3,
     "regressions": 1, "gained": None, "packets_lost": 7, "packets_sent": 30, "packets_lost_ipv4": 7,
     "packets_lost_ipv6": 0, "flows_reset": 1, "fallbacks": 4,
     "recovery_s": 2.8, "resolution_s": 0.25},
    {"phase": "stuck", "change": "district d2: ipv6-only", "ready_s": 1.31, "cells_broken_during": 2,
     "regressions": 2, "gained": 0, "packets_lost": None, "packets_sent": None, "flows_reset": None,
     "fallbacks": 0, "recovery_s": None, "resolution_s": None},
]


def test_disruption_table():
    lines = disruption_table(ROWS).splitlines()
    cells = [re.split(r"\s{2,}", line) for line in lines]
    assert cells[0] == ["phase", "ready s", "broken", "regress", "gained", "lost/sent", "v4/v6 lost", "resets",
                        "fallbacks", "recovery s", "change"]
    assert cells[2] == ["before", "-", "0", "0", "0", "0/80", "-", "0", "0", "0.0 (step 1)"]
    assert cells[3] == ["IPv6 off", "0.4", "3", "1", "-", "7/30", "7/0", "1", "4", "2.8 (step 0.25)",
                        "district d1: ipv4-only"]
    assert cells[4] == ["stuck", "1.3", "2", "2", "0", "-", "-", "-", "0", "not recovered", "district d2: ipv6-only"]
    # Fixed width: every column starts where its header does.
    starts = [lines[0].index(name) for name in ("ready s", "recovery s", "change")]
    assert lines[3][starts[0]:].startswith("0.4") and lines[3][starts[1]:].startswith("2.8 (step 0.25)")
    assert lines[4][starts[2]:] == "district d2: ipv6-only"


def test_disruption_table_one_side_of_lost_sent_missing_and_no_rows():
    row = {"phase": "p", "packets_lost": None, "packets_sent": 12, "recovery_s": 1.0}
    assert re.split(r"\s{2,}", disruption_table([row]).splitlines()[2])[5] == "-/12"
    assert disruption_table([]).splitlines()[0].startswith("phase  ready s  broken")

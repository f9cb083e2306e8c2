"""The transition matrix in the summary (simulator.reporting.report.transition_table) and in
figures (simulator.reporting.plots.transition_heatmap, mechanism_comparison), on hand-made records.

RECORDS, by client kind, service kind and access (ok / cells, unexpected marked !):

    ipv4-only   IPv6-only service by name: expected to fail, worked            1/1 (1!)
    dual-stack  IPv4-only service by name and by literal: worked               1/1, 1/1
    ipv6-only   IPv4-only service by name, twice: worked                       2/2
                IPv4-only service by literal: expected to fail, failed         0/1
                IPv6-only service by name: expected to work, failed            0/1 (1!)
                IPv6-only service by literal: no such cell                     n/a
    ds-lite     IPv4-only service by name: worked once, failed twice           1/3 (2!)

No record has a dual-stack service or a 464XLAT client, so neither has a column or a row.
"""

import matplotlib.pyplot as plt
import pytest
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from simulator.measurements.comparison import METRICS
from simulator.reporting.plots import (
    OUTCOME_COLORS,
    mechanism_comparison,
    transition_heatmap,
)
from simulator.reporting.report import transition_table


def record(kind, service, access, expected, ok, as_expected):
    return {"client_kind": kind, "service_kind": service, "access": access, "expected": expected, "ok": ok,
            "as_expected": as_expected}


RECORDS = [
    record("ds-lite", "ipv4-only", "name", True, False, False),
    record("ipv6-only", "ipv4-only", "name", True, True, True),
    record("ipv4-only", "ipv6-only", "name", False, True, False),
    record("ipv6-only", "ipv4-only", "name", True, True, True),
    record("ipv6-only", "ipv4-only", "ipv4-literal", False, False, True),
    record("ipv6-only", "ipv6-only", "name", True, False, False),
    record("ipv6-only", "ipv6-only", "ipv4-literal", None, None, True),
    record("dual-stack", "ipv4-only", "name", True, True, True),
    record("dual-stack", "ipv4-only", "ipv4-literal", True, True, True),
    record("ds-lite", "ipv4-only", "name", True, True, True),
    record("ds-lite", "ipv4-only", "name", True, False, False),
]


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- report.transition_table ------------------------------------------------------------------


def test_transition_table():
    # Columns 17, 14, 20, 14 and 20 wide (the header is the widest of each).
    assert transition_table(RECORDS).splitlines() == [
        "transition matrix  ipv4-only name  ipv4-only v4-literal  ipv6-only name  ipv6-only v4-literal",
        "-----------------  --------------  --------------------  --------------  --------------------",
        "ipv4-only          n/a             n/a                   1/1 (1!)        n/a",
        "dual-stack         1/1             1/1                   n/a             n/a",
        "ipv6-only          2/2             0/1                   0/1 (1!)        n/a",
        "ds-lite            1/3 (2!)        n/a                   n/a             n/a",
    ]


def test_transition_table_every_service_kind():
    records = [record("464xlat", "dual-stack", "ipv4-literal", True, True, True),
               record("464xlat", "ipv4-only", "name", True, True, True)]
    # Service kinds in the order IPv4-only, dual-stack, IPv6-only, whatever the records' order.
    assert transition_table(records).splitlines() == [
        "transition matrix  ipv4-only name  ipv4-only v4-literal  dual-stack name  dual-stack v4-literal",
        "-----------------  --------------  --------------------  ---------------  ---------------------",
        "464xlat            1/1             n/a                   n/a              1/1",
    ]


def test_transition_table_of_nothing():
    assert transition_table([]).splitlines() == ["transition matrix", "-----------------"]


# --- plots.transition_heatmap -----------------------------------------------------------------


def test_transition_heatmap():
    fig = transition_heatmap(RECORDS, title="transition: run 1")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_title() == "transition: run 1"
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "ipv4-only service\nby name", "ipv4-only service\nby IPv4 literal",
        "ipv6-only service\nby name", "ipv6-only service\nby IPv4 literal"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "IPv4-only", "dual-stack", "IPv6-only\n(DNS64+NAT64)", "DS-Lite\nLAN host"]
    # 0 none worked, 1 worked, 2 a surprise, 3 no such cell (white).
    assert ax.images[0].get_array().tolist() == [
        [3, 3, 2, 3],
        [1, 1, 3, 3],
        [1, 0, 2, 3],
        [2, 3, 3, 3],
    ]
    assert [t.get_text() for t in ax.texts] == [
        "n/a", "n/a", "1/1\n1 unexpected", "n/a",
        "1/1", "1/1", "n/a", "n/a",
        "2/2", "0/1", "0/1\n1 unexpected", "n/a",
        "1/3\n2 unexpected", "n/a", "n/a", "n/a",
    ]
    assert [c for c in ax.images[0].get_cmap().colors] == OUTCOME_COLORS + ["#ffffff"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "works, as the RFCs say", "fails, as the RFCs say", "differs from the RFC rule"]


def test_transition_heatmap_every_client_kind():
    kinds = ["ds-lite", "464xlat", "ipv6-only", "dual-stack", "ipv4-only"]
    fig = transition_heatmap([record(k, "dual-stack", "name", True, True, True) for k in kinds])
    (ax,) = fig.axes
    assert ax.get_title() == "Transition matrix"
    # Rows in the fixed order, not the records' order.
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "IPv4-only", "dual-stack", "IPv6-only\n(DNS64+NAT64)", "IPv6-only\n+ 464XLAT", "DS-Lite\nLAN host"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "dual-stack service\nby name", "dual-stack service\nby IPv4 literal"]
    assert ax.images[0].get_array().tolist() == [[1, 3]] * 5


def test_transition_heatmap_empty():
    fig = transition_heatmap([], title="nothing")
    (ax,) = fig.axes
    assert ax.get_title() == "nothing"
    assert not ax.axison
    assert [t.get_text() for t in ax.texts] == ["no cells measured"]
    assert len(ax.images) == 0


def test_transition_heatmap_saves_as_png(tmp_path):
    target = tmp_path / "transition-matrix.png"
    transition_heatmap(RECORDS).savefig(target, dpi=50)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- plots.mechanism_comparison ---------------------------------------------------------------


def row(label, client, metric, mean, stdev):
    kind = {"d1u1": "ipv6-only", "d1f1h1": "ipv4-only"}[client]
    return {"label": label, "client": client, "client_kind": kind, "metric": metric, "n": 3, "failed": 0,
            "mean": mean, "stdev": stdev, "median": mean}


# d1u1: NAT64 and native IPv6; d1f1h1: NAT444 only (an IPv4-only client). The native
# RTT of d1u1 failed every time (mean None): no bar. No connect or DNS rows at all.
SUMMARY = [
    row("NAT64", "d1u1", "throughput_mbps", 90.0, 10.0),
    row("native IPv6", "d1u1", "throughput_mbps", 300.0, 100.0),
    row("NAT64", "d1u1", "rtt_ms", 2.0, 0.5),
    row("native IPv6", "d1u1", "rtt_ms", None, None),
    row("NAT444", "d1f1h1", "throughput_mbps", 50.0, 0.0),
    row("NAT444", "d1f1h1", "rtt_ms", 1.0, None),
]


def bars(ax):
    """(centre, height) of each bar: the mechanism's bars first, then the native ones."""
    return [(pytest.approx(p.get_x() + p.get_width() / 2), p.get_height()) for p in ax.patches]


def test_mechanism_comparison():
    fig = mechanism_comparison(SUMMARY, title="transition: mechanisms", note="a note")
    assert isinstance(fig, Figure)
    assert fig._suptitle.get_text() == "transition: mechanisms"
    assert [ax.get_title() for ax in fig.axes] == list(METRICS.values()) == [
        "TCP throughput (Mbit/s)", "RTT (ms)", "TCP connect (ms)", "DNS resolution (ms)"]
    for ax in fig.axes:
        # Clients in first-seen order, each named by its mechanism.
        assert [t.get_text() for t in ax.get_xticklabels()] == ["NAT64\nd1u1", "NAT444\nd1f1h1"]
    throughput, rtt, connect, dns = fig.axes
    # Mechanism bars 0.2 left of each client, native IPv6 0.2 right.
    assert bars(throughput) == [(-0.2, 90.0), (0.8, 50.0), (0.2, 300.0)]
    assert bars(rtt) == [(-0.2, 2.0), (0.8, 1.0)]
    assert bars(connect) == bars(dns) == []
    assert [t.get_text() for t in throughput.get_legend().get_texts()] == ["through the mechanism", "native IPv6"]
    assert rtt.get_legend() is None
    # The note is the one figure text besides the title.
    assert [t.get_text() for t in fig.texts if t is not fig._suptitle] == ["a note"]


def test_mechanism_comparison_error_bars():
    throughput = mechanism_comparison(SUMMARY).axes[0]
    mechanism, native = [c for c in throughput.containers if isinstance(c, BarContainer)]
    # One standard deviation either side of the mean: 90 +- 10, 50 +- 0; 300 +- 100.
    (lines,) = mechanism.errorbar.lines[2]
    assert [[list(point) for point in segment] for segment in lines.get_segments()] == [
        [[pytest.approx(-0.2), 80.0], [pytest.approx(-0.2), 100.0]],
        [[pytest.approx(0.8), 50.0], [pytest.approx(0.8), 50.0]]]
    (lines,) = native.errorbar.lines[2]
    assert [[list(point) for point in segment] for segment in lines.get_segments()] == [
        [[pytest.approx(0.2), 200.0], [pytest.approx(0.2), 400.0]]]


def test_mechanism_comparison_defaults():
    fig = mechanism_comparison(SUMMARY[:2])
    assert fig._suptitle.get_text() == "Mechanisms against native IPv6"
    assert [t for t in fig.texts if t is not fig._suptitle] == []
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["NAT64\nd1u1"]


def test_mechanism_comparison_of_nothing():
    fig = mechanism_comparison([])
    assert len(fig.axes) == 4
    for ax in fig.axes:
        assert len(ax.patches) == 0
        assert [t.get_text() for t in ax.get_xticklabels()] == []

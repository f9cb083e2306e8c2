"""simulator.reporting.plots on small fixed data: layout codes and the figures built from them."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from simulator.reporting.plots import (
    OUTCOME_COLORS,
    connectivity_heatmap,
    family_comparison,
    matrix_layout,
)

# Listed d2h1 first to check that rows are sorted, not taken in input order.
CELLS = [
    # expected fail, failed -> 0
    {"client": "d2h1", "service": "www.city.test", "family": "ipv6", "method": "ping",
     "ok": False, "as_expected": True},
    # expected ok, worked -> 1
    {"client": "d2h1", "service": "www.city.test", "family": "ipv4", "method": "ping",
     "ok": True, "as_expected": True},
    # expected ok, failed -> 2
    {"client": "d1h1", "service": "www.city.test", "family": "ipv6", "method": "ping",
     "ok": False, "as_expected": False},
    # expected fail, worked -> 2
    {"client": "d1h1", "service": "www.city.test", "family": "ipv4", "method": "ping",
     "ok": True, "as_expected": False},
]
COLUMNS = ["www.city.test\nipv6 ping", "www.city.test\nipv4 ping"]   # in first-seen order

THROUGHPUT = [
    {"client": "d1h1", "server": "web", "family": "ipv4", "ok": True, "bits_per_second": 2.5e9},
    {"client": "d1h1", "server": "web", "family": "ipv6", "ok": False, "bits_per_second": None},
]
TOTALS = {"ipv6": 3_000_000, "arp": 500_000, "ipv4": 12_000_000}


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_matrix_layout():
    rows, columns, codes, labels = matrix_layout(CELLS)
    assert rows == ["d1h1", "d2h1"]
    assert columns == COLUMNS
    assert codes == [[2, 2], [0, 1]]
    assert labels == [["fail", "ok"], ["fail", "ok"]]


def test_matrix_layout_missing_cell_stays_blank():
    rows, columns, codes, labels = matrix_layout(CELLS[:3])
    # d1h1 has no ipv4 cell: code 0 with an empty label.
    assert (rows, columns) == (["d1h1", "d2h1"], COLUMNS)
    assert codes == [[2, 0], [0, 1]]
    assert labels == [["fail", ""], ["fail", "ok"]]


def test_matrix_layout_empty():
    assert matrix_layout([]) == ([], [], [], [])


def test_connectivity_heatmap():
    fig = connectivity_heatmap(CELLS, title="City slice, run 1")
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    assert ax.get_title() == "City slice, run 1"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["d1h1", "d2h1"]
    assert [t.get_text() for t in ax.get_xticklabels()] == COLUMNS
    assert [t.get_text() for t in ax.texts] == ["fail", "ok", "fail", "ok"]
    assert ax.images[0].get_array().tolist() == [[2, 2], [0, 1]]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "works, as expected", "fails, as expected", "differs from expected"]


def test_connectivity_heatmap_default_title():
    assert connectivity_heatmap(CELLS).axes[0].get_title() == "Connectivity matrix"


def test_family_comparison():
    fig = family_comparison(THROUGHPUT, TOTALS, title="Families")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2
    left, right = fig.axes
    assert fig._suptitle.get_text() == "Families"
    assert left.get_title() == "TCP throughput d1h1 -> web (iperf3)"
    assert right.get_title() == "Bytes per family during the run"
    # 2.5e9 bit/s -> 2.5 Gbit/s; the failed IPv6 run draws as 0 and reads "n/a".
    assert [p.get_height() for p in left.patches] == [2.5, 0.0]
    assert [t.get_text() for t in left.texts] == ["2.50", "n/a"]
    # Families sorted by name, bytes / 1e6: arp 0.5, ipv4 12.0, ipv6 3.0 MB.
    assert [p.get_height() for p in right.patches] == [0.5, 12.0, 3.0]
    assert [t.get_text() for t in right.texts] == ["0.5", "12.0", "3.0"]
    assert [t.get_text() for t in right.get_xticklabels()] == ["arp", "ipv4", "ipv6"]


def test_family_comparison_without_throughput():
    fig = family_comparison([], {"ipv4": 1_000_000})
    left, right = fig.axes
    assert fig._suptitle.get_text() == "IPv4 and IPv6 side by side"
    assert left.get_title() == ""
    assert len(left.patches) == 0
    assert [p.get_height() for p in right.patches] == [1.0]


def test_figures_save_as_png(tmp_path):
    for name, fig in (("connectivity.png", connectivity_heatmap(CELLS)),
                      ("families.png", family_comparison(THROUGHPUT, TOTALS))):
        target = tmp_path / name
        fig.savefig(target, dpi=50)
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_outcome_colors():
    assert OUTCOME_COLORS == ["#d9d9d9", "#4daf4a", "#e41a1c"]

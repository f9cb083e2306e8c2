"""simulator.reporting.plots on small fixed data: layout codes and the figures built from them."""

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from simulator.reporting.plots import (
    OUTCOME_COLORS,
    RUN_OFFSET,
    connectivity_heatmap,
    disruption_by_run,
    family_comparison,
    final_kpis,
    kpi_trajectories,
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


# Two runs of one city: KPI 1 over three phases, KPI 13 only at the end.
TRAJECTORIES = {
    "1 IPv6 address assignment rate": {"mbb": [(10.0, 4.0, 25.0), (10.0, 4.0, 25.0), (40.0, 25.0, 55.0)],
                                       "cut": [(10.0, 4.0, 25.0), (12.5, 5.0, 28.0), (45.0, 30.0, 60.0)]},
    "13 IPv6-only readiness": {"mbb": [(None, None, None), (None, None, None), (87.5, 75.75, 100.0)],
                               "cut": [(None, None, None), (None, None, None), (100.0, None, None)]},
}


def test_kpi_trajectories_one_panel_per_kpi_one_line_per_run():
    fig = kpi_trajectories(TRAJECTORIES, ["0 before", "1 prepare", "2 measured"], title="Two plans")
    assert fig._suptitle.get_text() == "Two plans"
    first, second = fig.axes
    assert [first.get_title(), second.get_title()] == ["1 IPv6 address assignment rate", "13 IPv6-only readiness"]
    assert [t.get_text() for t in first.get_xticklabels()] == ["0 before", "1 prepare", "2 measured"]
    # Each run's line (an errorbar's data line; its caps are lines too).
    mbb, cut = [container.lines[0] for container in first.containers]
    # The two runs drawn a little apart, either side of each phase.
    assert list(mbb.get_xdata()) == pytest.approx([-RUN_OFFSET / 2, 1 - RUN_OFFSET / 2, 2 - RUN_OFFSET / 2])
    assert list(cut.get_xdata()) == pytest.approx([RUN_OFFSET / 2, 1 + RUN_OFFSET / 2, 2 + RUN_OFFSET / 2])
    assert list(mbb.get_ydata()) == [10.0, 10.0, 40.0]
    assert list(cut.get_ydata()) == [10.0, 12.5, 45.0]
    # A phase without a value is a gap (NaN), not a zero.
    readiness = second.containers[0].lines[0].get_ydata()
    assert [str(y) for y in readiness] == ["nan", "nan", "87.5"]
    assert [t.get_text() for t in first.get_legend().get_texts()] == ["mbb", "cut"]
    assert first.get_ylim() == (-3, 103)


def test_kpi_trajectories_of_five_kpis_leave_the_sixth_panel_empty():
    panels = {f"{k} KPI": {"run": [(float(k), None, None)]} for k in (1, 2, 4, 7, 13)}
    fig = kpi_trajectories(panels, ["0 -"])
    assert len(fig.axes) == 6
    assert [ax.axison for ax in fig.axes] == [True, True, True, True, True, False]


def test_final_kpis_a_bar_per_run_in_each_group():
    fig = final_kpis(["1 assignment\n(all)", "13 readiness\n(all)"],
                     {"mbb": [(40.0, 25.0, 55.0), (None, None, None)],
                      "cut": [(45.0, 30.0, 60.0), (100.0, None, None)]})
    (ax,) = fig.axes
    assert [p.get_height() for p in ax.patches] == [40.0, 0.0, 45.0, 100.0]
    assert [p.get_x() + p.get_width() / 2 for p in ax.patches] == pytest.approx([-0.2, 0.8, 0.2, 1.2])
    assert [t.get_text() for t in ax.texts] == ["40", "n/a", "45", "100"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["mbb", "cut"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1 assignment\n(all)", "13 readiness\n(all)"]


def test_disruption_by_run_groups_the_changes_of_each_run():
    fig = disruption_by_run({"mbb": [("deploy nat64", 0, 0), ("ds-lite", 6, 0)],
                             "cut": [("deploy nat64", 0, 0), ("ds-lite", 11, 8), ("retire aftr", None, 2)]})
    lost, broken = fig.axes
    assert [p.get_height() for p in lost.patches] == [0, 6, 0, 11, 0]
    assert [t.get_text() for t in lost.texts] == ["0", "6", "0", "11", "n/a"]
    assert [p.get_height() for p in broken.patches] == [0, 0, 0, 8, 2]
    # One colour per change, the same in both runs.
    assert lost.patches[0].get_facecolor() == lost.patches[2].get_facecolor()
    assert lost.patches[1].get_facecolor() == lost.patches[3].get_facecolor()
    assert [t.get_text() for t in lost.get_legend().get_texts()] == ["deploy nat64", "ds-lite", "retire aftr"]
    assert [t.get_text() for t in broken.get_xticklabels()] == ["mbb", "cut"]
    assert [lost.get_ylabel(), broken.get_ylabel()] == ["datagrams lost", "cells broken during the change"]
    # From 0, with room above the tallest bar for its count.
    assert lost.get_ylim() == pytest.approx((0, 13.2))


@pytest.mark.parametrize(("figure", "text"), [
    (lambda: kpi_trajectories({}, []), "no KPI with a value in these runs"),
    (lambda: final_kpis([], {}), "no KPI in these runs"),
    (lambda: disruption_by_run({"a": [], "b": []}), "no changes in these runs (no disruption.csv, or only its "
                                                    "baseline)"),
])
def test_comparison_figures_without_data_say_so(figure, text):
    (ax,) = figure().axes
    assert [t.get_text() for t in ax.texts] == [text]

"""simulator.reporting.drawing: layered positions on hand-made graphs, and the figure of a city."""

import itertools
from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
import pytest
from matplotlib.figure import Figure

from simulator.reporting.drawing import (
    LAYER_NAMES,
    LAYERS,
    layered_positions,
    topology_figure,
)
from topologies.city import city_graph, load_city
from topologies.spec import IPV4_ONLY, LinkSpec, NodeSpec, Role, node_spec

DEFAULT_CITY = Path(__file__).resolve().parents[2] / "topologies" / "cities" / "default.yaml"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def tiny():
    """Two core routers, three aggregation routers, three subscribers:

        c1 ----- c2
        | \\    / |
        a2  a3    a1        a3 links both cores
        | \\        \\
        s2  s3       s1
    """
    graph = nx.Graph(name="tiny")
    for name, role in [("c1", Role.CORE_ROUTER), ("c2", Role.CORE_ROUTER), ("a1", Role.AGGREGATION_ROUTER),
                       ("a2", Role.AGGREGATION_ROUTER), ("a3", Role.AGGREGATION_ROUTER),
                       ("s1", Role.SUBSCRIBER), ("s2", Role.SUBSCRIBER), ("s3", Role.SUBSCRIBER)]:
        graph.add_node(name, spec=NodeSpec(role))
    for a, b in [("c1", "c2"), ("c2", "a1"), ("c1", "a2"), ("c1", "a3"), ("c2", "a3"),
                 ("a1", "s1"), ("a2", "s2"), ("a2", "s3")]:
        graph.add_edge(a, b, spec=LinkSpec())
    graph.edges["a2", "s3"]["spec"] = LinkSpec(IPV4_ONLY)
    return graph


def test_tiny_graph_positions():
    # No node has a district, so there is one band, the core's: the whole width [0, 1).
    # Row 0: c1, c2 have nothing above; by name: x = 1/4, 3/4.
    # Row 2: barycentres a1 -> c2 = 3/4, a2 -> c1 = 1/4, a3 -> (1/4 + 3/4) / 2 = 1/2: order a2, a3, a1.
    # Row 6: s1 -> a1 = 5/6, s2 -> a2 = 1/6, s3 -> a2 = 1/6 (tie, by name): order s2, s3, s1.
    assert layered_positions(tiny()) == {
        "c1": pytest.approx((0.25, 0)), "c2": pytest.approx((0.75, 0)),
        "a2": pytest.approx((1 / 6, -2)), "a3": pytest.approx((0.5, -2)), "a1": pytest.approx((5 / 6, -2)),
        "s2": pytest.approx((1 / 6, -6)), "s3": pytest.approx((0.5, -6)), "s1": pytest.approx((5 / 6, -6)),
    }


def test_ties_break_by_natural_name_order():
    # No district: one band, [0, 1). No node has a neighbour above, so all sit at barycentre 1/2: h2 before h10
    # (not "h10" < "h2"); three on the row: x = (i + 0.5) / 3.
    graph = nx.Graph()
    for name in ("h10", "h2", "h1"):
        graph.add_node(name, spec=NodeSpec(Role.SUBSCRIBER))
    assert layered_positions(graph) == {
        "h1": pytest.approx((1 / 6, -6)), "h2": pytest.approx((0.5, -6)), "h10": pytest.approx((5 / 6, -6))}


def banded():
    """Two districts, an IDC and the outside network under two core routers:

        c1: q2b, q10m, p1s1, xm      c2: q2a, p1s1
        q2a: q2u1   q2b: q2u2   q10m: q10u1, q10u2, q10u3
    """
    graph = nx.Graph(name="banded")
    for name, role, district in [
            ("c1", Role.CORE_ROUTER, None), ("c2", Role.CORE_ROUTER, None),
            ("q2a", Role.METRO_SWITCH, "q2"), ("q2b", Role.METRO_SWITCH, "q2"),
            ("q2u1", Role.SUBSCRIBER, "q2"), ("q2u2", Role.SUBSCRIBER, "q2"),
            ("q10m", Role.METRO_SWITCH, "q10"),
            ("q10u1", Role.SUBSCRIBER, "q10"), ("q10u2", Role.SUBSCRIBER, "q10"), ("q10u3", Role.SUBSCRIBER, "q10"),
            ("p1s1", Role.SPINE, "p1"), ("xm", Role.METRO_SWITCH, "outside")]:
        graph.add_node(name, spec=NodeSpec(role, district=district))
    for a, b in [("c1", "c2"), ("c2", "q2a"), ("c1", "q2b"), ("q2a", "q2u1"), ("q2b", "q2u2"), ("c1", "q10m"),
                 ("q10m", "q10u1"), ("q10m", "q10u2"), ("q10m", "q10u3"), ("c1", "p1s1"), ("c2", "p1s1"),
                 ("c1", "xm")]:
        graph.add_edge(a, b, spec=LinkSpec())
    return graph


def test_bands_side_by_side():
    # Band widths = widest row: q2 2 (q2a, q2b; q2u1, q2u2), q10 3 (q10u1..3), p1 1, outside 1; total 7.
    # Order: districts in natural order (q2 before q10, though "q10" < "q2" as strings), then IDCs (p1 has a
    # spine; by name it would come first), then the outside (by name it would come before p1).
    # Bands: q2 [0, 2/7), q10 [2/7, 5/7), p1 [5/7, 6/7), outside [6/7, 1); the core spans [0, 1).
    # Row 0: c1, c2, nothing above, by name: 1/4, 3/4.
    # Row 1: q2a under c2 (3/4), q2b under c1 (1/4): order q2b, q2a: (0.5 / 2) * 2/7 = 1/14, (1.5 / 2) * 2/7 = 3/14.
    #        q10m alone: 2/7 + 0.5 * 3/7 = 7/14.  p1s1: 5/7 + 0.5 / 7 = 11/14.  xm: 6/7 + 0.5 / 7 = 13/14.
    # Row 6: q2u1 under q2a (3/14), q2u2 under q2b (1/14): order q2u2, q2u1: 1/14, 3/14.
    #        q10u1..3 all under q10m (tie, by name): 2/7 + (i + 0.5) / 3 * 3/7 = 5/14, 7/14, 9/14.
    assert layered_positions(banded()) == {
        "c1": pytest.approx((1 / 4, 0)), "c2": pytest.approx((3 / 4, 0)),
        "q2b": pytest.approx((1 / 14, -1)), "q2a": pytest.approx((3 / 14, -1)),
        "q10m": pytest.approx((7 / 14, -1)), "p1s1": pytest.approx((11 / 14, -1)), "xm": pytest.approx((13 / 14, -1)),
        "q2u2": pytest.approx((1 / 14, -6)), "q2u1": pytest.approx((3 / 14, -6)),
        "q10u1": pytest.approx((5 / 14, -6)), "q10u2": pytest.approx((7 / 14, -6)),
        "q10u3": pytest.approx((9 / 14, -6)),
    }


def test_layers_cover_every_role():
    assert set(LAYERS) == set(Role)
    assert len(LAYER_NAMES) == max(LAYERS.values()) + 1 == 7


@pytest.fixture(scope="module")
def city():
    return city_graph(load_city(DEFAULT_CITY))


@pytest.mark.parametrize("name, y", [
    ("c1", 0), ("d1m", -1), ("i1s1", -1), ("tr1", -1), ("xm", -1),
    ("d1agg", -2), ("i1l1", -2),
    ("d1bng", -3), ("d1gw", -3), ("i1r1", -3), ("xs", -3),
    ("d1o1", -4), ("d1r", -4), ("i1v1", -4), ("x1", -4),
    ("d1f1", -5),
    ("d1f1h1", -6), ("d4u6", -6),
])
def test_city_rows(city, name, y):
    assert layered_positions(city)[name][1] == y


def test_every_city_node_on_its_row_inside_the_frame(city):
    positions = layered_positions(city)
    assert set(positions) == set(city)
    for name, (x, y) in positions.items():
        assert y == -LAYERS[node_spec(city, name).role]
        assert 0 < x < 1
    # 66 subscribers on row 6; the first is d1's, the widest row of the widest band (see CITY_BANDS):
    # (0 + 0.5) / 20 of d1's band width 20/75 = 0.5 / 75.
    row = sorted(x for name, (x, y) in positions.items() if y == -6)
    assert len(row) == 66
    assert row[0] == pytest.approx(0.5 / 75)


# Each band is as wide as its widest row, out of 20 + 20 + 20 + 6 + 6 + 3 = 75:
#   d1..d3: m | agg | bng, gw | o1, o2, r | 12 CPEs | 12 LAN hosts + 8 UEs = 20 wide;
#   d4: m | agg | gw | r | 6 UEs = 6;  i1: 2 spines | 3 leaves | 3 racks | 6 servers = 6;
#   outside: xm, tr1 | xs | x1..x3 = 3.
# Side by side, districts first, then the IDC, then the outside: (left, right) in 75ths.
CITY_BANDS = {"d1": (0, 20), "d2": (20, 40), "d3": (40, 60), "d4": (60, 66), "i1": (66, 72), "outside": (72, 75)}


def test_every_city_node_within_its_band(city):
    positions = layered_positions(city)
    for name, (x, _) in positions.items():
        district = node_spec(city, name).district
        if district is not None:
            left, right = CITY_BANDS[district]
            assert left / 75 < x < right / 75, name


def test_city_bands_do_not_overlap(city):
    positions = layered_positions(city)
    xs = {g: [x for n, (x, _) in positions.items() if node_spec(city, n).district == g] for g in CITY_BANDS}
    order = list(CITY_BANDS)
    for left, right in itertools.pairwise(order):
        assert max(xs[left]) < min(xs[right]), (left, right)


def test_city_core_spans_the_whole_width(city):
    positions = layered_positions(city)
    # Nothing above the core: c1..c4 by name at (i + 0.5) / 4 of [0, 1).
    assert [positions[f"c{i}"] for i in range(1, 5)] == [
        pytest.approx((1 / 8, 0)), pytest.approx((3 / 8, 0)), pytest.approx((5 / 8, 0)), pytest.approx((7 / 8, 0))]


def test_widest_rows_fill_their_bands(city):
    positions = layered_positions(city)

    def row(district, y):
        return sorted(x for n, (x, yy) in positions.items() if yy == y and node_spec(city, n).district == district)
    # The widest row of each band is spread over all of it: (left + i + 0.5) / 75.
    for district, y in (("d1", -6), ("d2", -6), ("d3", -6), ("d4", -6), ("i1", -4), ("outside", -4)):
        left, right = CITY_BANDS[district]
        assert row(district, y) == pytest.approx([(left + i + 0.5) / 75 for i in range(right - left)]), district


@pytest.mark.parametrize("name, x", [
    ("d1m", 10 / 75), ("d1agg", 10 / 75),          # alone on their rows: the middle of d1's band
    ("d4m", 63 / 75), ("d4gw", 63 / 75),           # the middle of d4's band, (60 + 66) / 2
    # i1's spines both hang off c4 (7/8), a tie broken by name: 66/75 + (i + 0.5) / 2 * 6/75.
    ("i1s1", 67.5 / 75), ("i1s2", 70.5 / 75),
    # xm hangs off c1 (1/8); tr1 links only xm and xs, neither placed yet (1/2): xm first,
    # 72/75 + (i + 0.5) / 2 * 3/75.
    ("xm", 72.75 / 75), ("tr1", 74.25 / 75),
    ("xs", 73.5 / 75),                             # alone on its row in the outside band
])
def test_city_positions_by_hand(city, name, x):
    assert layered_positions(city)[name][0] == pytest.approx(x)


def test_lan_hosts_follow_their_cpes(city):
    positions = layered_positions(city)
    cpes = sorted((n for n in city if node_spec(city, n).role is Role.CPE), key=lambda n: positions[n][0])
    hosts = sorted((n for n in city if n.endswith("h1")), key=lambda n: positions[n][0])
    assert hosts == [f"{cpe}h1" for cpe in cpes]
    # CPEs sit under their OLT: d1o1's (odd numbers) left of d1o2's (even numbers).
    assert cpes[:12] == ["d1f1", "d1f3", "d1f5", "d1f7", "d1f9", "d1f11",
                         "d1f2", "d1f4", "d1f6", "d1f8", "d1f10", "d1f12"]


def test_subscribers_sit_under_their_district(city):
    # Regression: d2's UEs (under d2r) landed between d1's LAN hosts on the subscriber row; districts
    # interleaved instead of staying side by side.
    positions = layered_positions(city)

    def subscribers(district):
        return [positions[n][0] for n in city if node_spec(city, n).role is Role.SUBSCRIBER
                and node_spec(city, n).district == district]
    for left, right in (("d1", "d2"), ("d2", "d3"), ("d3", "d4")):
        assert max(subscribers(left)) < min(subscribers(right)), (left, right)


def test_tiny_figure(tmp_path):
    figure = topology_figure(tiny())
    try:
        assert isinstance(figure, Figure)
        ax = figure.axes[0]
        assert ax.get_title() == "tiny: 8 nodes, 8 links"
        assert list(ax.get_yticks()) == [0, -1, -2, -3, -4, -5, -6]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [
            "core-router", "aggregation-router", "subscriber", "dual-stack", "IPv4 only", "IPv6 only",
            "black rim: dual-stack node"]
        path = tmp_path / "tiny.png"
        figure.savefig(path)
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    finally:
        plt.close(figure)


def test_city_figure(city, tmp_path):
    figure = topology_figure(city)
    try:
        assert figure.axes[0].get_title() == "default-city: 151 nodes, 154 links"
        path = tmp_path / "city.png"
        figure.savefig(path, dpi=40)
        assert path.read_bytes()[:8] == PNG_SIGNATURE
    finally:
        plt.close(figure)


def test_figure_title_given():
    figure = topology_figure(tiny(), title="a slice")
    try:
        assert figure.axes[0].get_title() == "a slice"
    finally:
        plt.close(figure)


def test_row_names_are_shown():
    # Regression: networkx's drawing switched the y tick labels off (labelleft=False), so the row names set
    # with set_yticks never showed.
    figure = topology_figure(tiny())
    try:
        figure.canvas.draw()
        assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == LAYER_NAMES
        assert all(t.get_visible() for t in figure.axes[0].get_yticklabels())
    finally:
        plt.close(figure)

"""A drawing of a city graph, layered from the core down: core, aggregation, access,
subscribers; IDC and outside networks to the side. Takes a graph, returns a Figure."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.lines import Line2D

from topologies.spec import DUAL_STACK, IPV4_ONLY, IPV6_ONLY, Kind, Role, node_spec

# Layer (row, top to bottom) of each role.
LAYERS = {
    Role.CORE_ROUTER: 0, Role.TRANSIT_ROUTER: 1, Role.IDC_GATEWAY: 1, Role.SPINE: 1,
    Role.NAT64: 1, Role.AFTR: 1,
    Role.METRO_SWITCH: 1, Role.AGGREGATION_ROUTER: 2, Role.LEAF: 2,
    Role.ACCESS_ROUTER: 3, Role.MOBILE_GATEWAY: 3, Role.IDC_SWITCH: 3,
    Role.ACCESS_SWITCH: 4, Role.CPE: 5, Role.SERVER: 4, Role.SUBSCRIBER: 6,
}
LAYER_NAMES = ["core", "metro / spine", "aggregation / leaf", "access gateways", "access switches / servers",
               "CPE", "subscribers"]
ROLE_COLORS = {
    Role.CORE_ROUTER: "#e41a1c", Role.TRANSIT_ROUTER: "#1b9e77", Role.IDC_GATEWAY: "#984ea3",
    Role.SPINE: "#7570b3", Role.LEAF: "#984ea3", Role.METRO_SWITCH: "#ff7f00",
    Role.AGGREGATION_ROUTER: "#a65628", Role.ACCESS_ROUTER: "#377eb8", Role.MOBILE_GATEWAY: "#4daf4a",
    Role.ACCESS_SWITCH: "#999999", Role.IDC_SWITCH: "#999999", Role.CPE: "#377eb8",
    Role.SUBSCRIBER: "#f781bf", Role.SERVER: "#e7298a", Role.NAT64: "#66a61e", Role.AFTR: "#d95f02",
}
FAMILY_EDGES = {DUAL_STACK: ("#222222", "dual-stack"), IPV4_ONLY: ("#377eb8", "IPv4 only"),
                IPV6_ONLY: ("#4daf4a", "IPv6 only")}
KIND_MARKERS = {Kind.ROUTER: "o", Kind.SWITCH: "s", Kind.HOST: "^"}


def _natural(name: str) -> tuple:
    """d1f2 before d1f10."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))


def layered_positions(graph: nx.Graph) -> dict[str, tuple[float, float]]:
    """Rows by role. Each district, IDC and the outside network gets a band of the
    width as wide as its widest row, side by side; the core spans the whole width.
    Within a band, each node sits under the mean position of the nodes above it
    that it links to (one top-down barycentre sweep), so subscribers stay under
    their CPE or gateway."""
    groups: dict[str | None, dict[int, list[str]]] = {}
    for name in sorted(graph, key=_natural):
        spec = node_spec(graph, name)
        groups.setdefault(spec.district, {}).setdefault(LAYERS[spec.role], []).append(name)
    order = sorted((g for g in groups if g is not None),
                   key=lambda g: (g == "outside", any(node_spec(graph, n).role in (Role.SPINE, Role.LEAF)
                                                      for row in groups[g].values() for n in row), _natural(g)))
    widths = {g: max(len(row) for row in groups[g].values()) for g in order}
    total = sum(widths.values()) or 1
    bands: dict[str | None, tuple[float, float]] = {None: (0.0, 1.0)}
    start = 0.0
    for g in order:
        bands[g] = (start, widths[g] / total)
        start += widths[g] / total
    positions: dict[str, tuple[float, float]] = {}
    for layer in sorted({layer for rows in groups.values() for layer in rows}):
        for group, rows in sorted(groups.items(), key=lambda item: item[0] is not None):
            names = rows.get(layer, [])

            def key(name):
                above = [positions[n][0] for n in graph.neighbors(name) if n in positions]
                return (sum(above) / len(above) if above else 0.5, _natural(name))
            left, width = bands[group]
            for index, name in enumerate(sorted(names, key=key)):
                positions[name] = (left + (index + 0.5) / len(names) * width, -layer)
    return positions


def topology_figure(graph: nx.Graph, title: str | None = None) -> plt.Figure:
    positions = layered_positions(graph)
    width = min(40, max(10, 0.16 * max(sum(1 for n in graph if LAYERS[node_spec(graph, n).role] == layer)
                                       for layer in set(LAYERS.values()))))
    fig, ax = plt.subplots(figsize=(width, 8))
    for families, (color, _) in FAMILY_EDGES.items():
        edges = [(a, b) for a, b, data in graph.edges(data=True) if data["spec"].families == families]
        nx.draw_networkx_edges(graph, positions, edgelist=edges, edge_color=color, width=0.8, ax=ax)
    for kind, marker in KIND_MARKERS.items():
        names = [n for n in graph if node_spec(graph, n).kind is kind]
        nx.draw_networkx_nodes(
            graph, positions, nodelist=names, node_shape=marker, node_size=60, ax=ax,
            node_color=[ROLE_COLORS[node_spec(graph, n).role] for n in names],
            edgecolors=["#000000" if node_spec(graph, n).families == DUAL_STACK else "#ffffff" for n in names])
    if graph.number_of_nodes() <= 200:
        nx.draw_networkx_labels(graph, {n: (x, y - 0.18) for n, (x, y) in positions.items()},
                                font_size=5, ax=ax)
    # networkx's drawing turns tick labels off; the row names are wanted.
    ax.set_yticks([-i for i in range(len(LAYER_NAMES))], LAYER_NAMES, fontsize=8)
    ax.tick_params(left=False, labelleft=True, bottom=False, labelbottom=False)
    for side in ax.spines.values():
        side.set_visible(False)
    roles = sorted({node_spec(graph, n).role for n in graph}, key=lambda r: (LAYERS[r], r.value))
    handles = [Line2D([], [], marker=KIND_MARKERS[r.kind], linestyle="", color=ROLE_COLORS[r], label=r.value)
               for r in roles]
    handles += [Line2D([], [], color=color, label=label) for color, label in FAMILY_EDGES.values()]
    handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="#cccccc",
                          markeredgecolor="#000000", label="black rim: dual-stack node"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    ax.set_title(title or f"{graph.name}: {graph.number_of_nodes()} nodes, {graph.number_of_edges()} links")
    fig.tight_layout()
    return fig

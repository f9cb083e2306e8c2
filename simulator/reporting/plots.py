"""Figures from measurement records. They take data and return a matplotlib Figure;
they never run a network, so they are tested on small fixed data."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from topologies.spec import FAMILY_SETS, AccessMode

# 0 expected fail + failed, 1 expected ok + ok, 2 unexpected (either way)
OUTCOME_COLORS = ["#d9d9d9", "#4daf4a", "#e41a1c"]


def matrix_layout(cells: list[dict]) -> tuple[list[str], list[str], list[list[int]], list[list[str]]]:
    """Rows (clients), columns (service / family / method), outcome codes and labels."""
    rows = sorted({c["client"] for c in cells})
    columns = []
    for cell in cells:
        column = f"{cell['service']}\n{cell['family']} {cell['method']}"
        if column not in columns:
            columns.append(column)
    codes = [[0] * len(columns) for _ in rows]
    labels = [[""] * len(columns) for _ in rows]
    for cell in cells:
        r = rows.index(cell["client"])
        c = columns.index(f"{cell['service']}\n{cell['family']} {cell['method']}")
        codes[r][c] = 2 if not cell["as_expected"] else (1 if cell["ok"] else 0)
        labels[r][c] = "ok" if cell["ok"] else "fail"
    return rows, columns, codes, labels


def connectivity_heatmap(cells: list[dict], title: str = "Connectivity matrix") -> plt.Figure:
    if not cells:
        fig, ax = plt.subplots(figsize=(6, 2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no cells measured", ha="center", va="center")
        ax.set_title(title)
        return fig
    rows, columns, codes, labels = matrix_layout(cells)
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(columns) + 2), max(3, 0.5 * len(rows) + 2)))
    ax.imshow(codes, cmap=ListedColormap(OUTCOME_COLORS), vmin=0, vmax=2, aspect="auto")
    ax.set_xticks(range(len(columns)), columns, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), rows, fontsize=9)
    for r, row in enumerate(labels):
        for c, label in enumerate(row):
            ax.text(c, r, label, ha="center", va="center", fontsize=7)
    ax.set_title(title)
    ax.legend(handles=[Patch(color=OUTCOME_COLORS[1], label="works, as expected"),
                       Patch(color=OUTCOME_COLORS[0], label="fails, as expected"),
                       Patch(color=OUTCOME_COLORS[2], label="differs from expected")],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    fig.tight_layout()
    return fig


def family_comparison(throughput: list[dict], traffic_totals: dict[str, int],
                      title: str = "IPv4 and IPv6 side by side") -> plt.Figure:
    """Left: TCP throughput per family. Right: bytes per family seen by the switches."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    families = [r["family"] for r in throughput]
    rates = [(r["bits_per_second"] or 0) / 1e9 for r in throughput]
    bars = left.bar(families, rates, color=["#377eb8", "#ff7f00"][: len(families)])
    for bar, record in zip(bars, throughput, strict=True):
        text = f"{bar.get_height():.2f}" if record["ok"] else "n/a"
        left.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom")
    if throughput:
        left.set_title(f"TCP throughput {throughput[0]['client']} -> {throughput[0]['server']} (iperf3)")
    left.set_ylabel("Gbit/s")
    names = sorted(traffic_totals)
    values = [traffic_totals[n] / 1e6 for n in names]
    right.bar(names, values, color="#984ea3")
    right.set_ylabel("MB (sum over switches)")
    right.set_title("Bytes per family during the run")
    for index, value in enumerate(values):
        right.annotate(f"{value:.1f}", (index, value), ha="center", va="bottom")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


CLIENT_KIND_ORDER = [mode.value for mode in AccessMode]
SERVICE_KIND_ORDER = list(FAMILY_SETS)
CLIENT_KIND_LABELS = {"ipv4-only": "IPv4-only", "dual-stack": "dual-stack", "ipv6-only": "IPv6-only\n(DNS64+NAT64)",
                      "464xlat": "IPv6-only\n+ 464XLAT", "ds-lite": "DS-Lite\nLAN host"}


def transition_heatmap(records: list[dict], title: str = "Transition matrix") -> plt.Figure:
    """Client kinds against service kinds by name and by IPv4 literal; each square
    says how many cells worked and is red if any cell differs from its RFC rule."""
    rows = [k for k in CLIENT_KIND_ORDER if any(r["client_kind"] == k for r in records)]
    columns = [(s, a) for s in SERVICE_KIND_ORDER for a in ("name", "ipv4-literal")
               if any(r["service_kind"] == s for r in records)]
    fig, ax = plt.subplots(figsize=(max(6, 1.3 * len(columns) + 2.5), max(3, 0.8 * len(rows) + 2)))
    if not rows or not columns:
        ax.axis("off")
        ax.text(0.5, 0.5, "no cells measured", ha="center", va="center")
        ax.set_title(title)
        return fig
    codes = [[0] * len(columns) for _ in rows]
    for r, kind in enumerate(rows):
        for c, (service, access) in enumerate(columns):
            group = [x for x in records if x["client_kind"] == kind and x["service_kind"] == service
                     and x["access"] == access]
            if not group or group[0]["expected"] is None:
                codes[r][c], label = 3, "n/a"
            else:
                worked = sum(bool(x.get("ok")) for x in group)
                surprises = sum(not x["as_expected"] for x in group)
                codes[r][c] = 2 if surprises else (1 if worked else 0)
                label = f"{worked}/{len(group)}" + (f"\n{surprises} unexpected" if surprises else "")
            ax.text(c, r, label, ha="center", va="center", fontsize=8)
    ax.imshow(codes, cmap=ListedColormap(OUTCOME_COLORS + ["#ffffff"]), vmin=0, vmax=3, aspect="auto")
    ax.set_xticks(range(len(columns)), [f"{s} service\nby {'name' if a == 'name' else 'IPv4 literal'}"
                                        for s, a in columns], rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(rows)), [CLIENT_KIND_LABELS[k] for k in rows], fontsize=9)
    ax.legend(handles=[Patch(color=OUTCOME_COLORS[1], label="works, as the RFCs say"),
                       Patch(color=OUTCOME_COLORS[0], label="fails, as the RFCs say"),
                       Patch(color=OUTCOME_COLORS[2], label="differs from the RFC rule")],
              loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def mechanism_comparison(summary: list[dict], title: str = "Mechanisms against native IPv6",
                         note: str = "") -> plt.Figure:
    """One panel per metric; for each client, its mechanism's bar beside its native
    IPv6 bar, mean with a one-standard-deviation error bar."""
    from simulator.measurements.comparison import METRICS
    clients = list(dict.fromkeys(r["client"] for r in summary))
    fig, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 4.5))
    for ax, (metric, label) in zip(axes, METRICS.items(), strict=True):
        rows = {(r["client"], r["label"] == "native IPv6"): r for r in summary if r["metric"] == metric}
        for offset, native, color in ((-0.2, False, "#e41a1c"), (0.2, True, "#377eb8")):
            xs, means, errors = [], [], []
            for index, client in enumerate(clients):
                row = rows.get((client, native))
                if row and row["mean"] is not None:
                    xs.append(index + offset)
                    means.append(row["mean"])
                    errors.append(row["stdev"] or 0)
            ax.bar(xs, means, width=0.4, yerr=errors, capsize=3, color=color,
                   label="native IPv6" if native else "through the mechanism")
        names = [next((r["label"] for r in summary if r["client"] == c and r["label"] != "native IPv6"), "")
                 + f"\n{c}" for c in clients]
        ax.set_xticks(range(len(clients)), names, fontsize=8, rotation=30, ha="right")
        ax.set_title(label, fontsize=10)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    if note:
        fig.text(0.01, -0.02, note, fontsize=8, ha="left", va="top", wrap=True)
    return fig


# Runs compared side by side (simulator.reporting.compare): each run its colour, marker
# and line style, so that two runs whose values coincide stay told apart.
RUN_STYLES = [("#377eb8", "o", "-"), ("#e41a1c", "s", "--"), ("#4daf4a", "^", "-."), ("#984ea3", "D", ":"),
              ("#ff7f00", "v", "-")]
# How far apart, in phases, the points of two runs at one phase are drawn.
RUN_OFFSET = 0.06

# A KPI value with its 95 % interval (low, high); None where the run does not give it.
Point = tuple[float | None, float | None, float | None]


def _run_style(index: int) -> tuple[str, str, str]:
    return RUN_STYLES[index % len(RUN_STYLES)]


def _nothing(title: str, text: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    ax.set_title(title)
    return fig


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _error_bars(points: Sequence[Point]) -> list[list[float]]:
    """Distances from each value down to its low and up to its high (0 without an interval)."""
    below = [0.0 if v is None or lo is None else v - lo for v, lo, _ in points]
    above = [0.0 if v is None or hi is None else hi - v for v, _, hi in points]
    return [below, above]


def kpi_trajectories(panels: Mapping[str, Mapping[str, Sequence[Point]]], phases: Sequence[str], unit: str = "%",
                     title: str = "KPIs phase by phase") -> plt.Figure:
    """One panel per KPI (``panels``: its title -> run -> a point per phase, by phase
    index), x the phase index labelled ``phases``, one line per run with its 95 %
    interval as error bars. A missing value leaves a gap; the runs' points at a phase
    are drawn a little apart, so that equal values do not hide one another."""
    if not panels:
        return _nothing(title, "no KPI with a value in these runs")
    columns = min(2, len(panels))
    rows = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(6.5 * columns, 3.4 * rows + 0.6), squeeze=False)
    flat = [ax for row in axes for ax in row]
    for ax, (name, runs) in zip(flat, panels.items(), strict=False):
        for index, (run, points) in enumerate(runs.items()):
            color, marker, line = _run_style(index)
            offset = (index - (len(runs) - 1) / 2) * RUN_OFFSET
            ax.errorbar([k + offset for k in range(len(points))], [_nan(v) for v, _, _ in points],
                        yerr=_error_bars(points), color=color, marker=marker, linestyle=line, capsize=3,
                        label=run)
        ax.set_xticks(range(len(phases)), phases, fontsize=8, rotation=20, ha="right")
        ax.set_xlim(-0.5, len(phases) - 0.5)
        if unit == "%":
            ax.set_ylim(-3, 103)
        ax.set_ylabel(unit)
        ax.set_title(name, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for ax in flat[len(panels):]:
        ax.axis("off")
    flat[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def final_kpis(groups: Sequence[str], runs: Mapping[str, Sequence[Point]], unit: str = "%",
               title: str = "KPIs at the end of each plan") -> plt.Figure:
    """Grouped bars: one group per KPI and class (``groups``), in it one bar per run
    (``runs``: run -> a point per group) with its 95 % interval; "n/a" where a run does
    not give the value."""
    if not groups or not runs:
        return _nothing(title, "no KPI in these runs")
    fig, ax = plt.subplots(figsize=(max(7.0, 1.1 * len(groups) * max(1, len(runs)) / 2 + 3), 4.8))
    width = 0.8 / len(runs)
    for index, (run, points) in enumerate(runs.items()):
        color, _, _ = _run_style(index)
        xs = [k - 0.4 + width * (index + 0.5) for k in range(len(groups))]
        ax.bar(xs, [0.0 if v is None else v for v, _, _ in points], width=width, color=color, label=run)
        # Error bars only where there is an interval (a census, access coverage, has none).
        spans = [(x, point) for x, point in zip(xs, points, strict=True) if None not in point]
        if spans:
            ax.errorbar([x for x, _ in spans], [_nan(v) for _, (v, _, _) in spans],
                        yerr=_error_bars([point for _, point in spans]), fmt="none", ecolor="#222222",
                        elinewidth=0.8, capsize=2)
        for x, (value, _, _) in zip(xs, points, strict=True):
            ax.annotate("n/a" if value is None else f"{value:g}", (x, 0 if value is None else value), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
    ax.set_xticks(range(len(groups)), groups, fontsize=8, rotation=30, ha="right")
    if unit == "%":
        ax.set_ylim(0, 110)
    ax.set_ylabel(unit)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.set_title(title)
    fig.tight_layout()
    return fig


CHANGE_COLORS = [matplotlib.colormaps["tab20"](k) for k in range(20)]


def disruption_by_run(runs: Mapping[str, Sequence[tuple[str, int | None, int | None]]],
                      title: str = "Disruption per change") -> plt.Figure:
    """Two panels, datagrams lost and cells broken during each change: a group of bars
    per run (``runs``: run -> (change, datagrams lost, cells broken) per change, in
    order), a bar per change, coloured by the change's name so that a change two plans
    share has one colour; each bar with its count ("n/a" where the file gives none)."""
    if not any(runs.values()):
        return _nothing(title, "no changes in these runs (no disruption.csv, or only its baseline)")
    changes = list(dict.fromkeys(change for rows in runs.values() for change, _, _ in rows))
    colors = {change: CHANGE_COLORS[k % len(CHANGE_COLORS)] for k, change in enumerate(changes)}
    width = 0.8 / max(len(rows) for rows in runs.values())
    fig, panels = plt.subplots(2, 1, figsize=(max(7.0, 2.2 * len(runs) + 4), 7.5), sharex=True)
    lost = [[(change, count) for change, count, _ in rows] for rows in runs.values()]
    broken = [[(change, count) for change, _, count in rows] for rows in runs.values()]
    for ax, label, counts in ((panels[0], "datagrams lost", lost),
                              (panels[1], "cells broken during the change", broken)):
        highest = max((count or 0 for rows in counts for _, count in rows), default=0)
        for group, rows in enumerate(counts):
            for k, (change, count) in enumerate(rows):
                x = group - width * len(rows) / 2 + width * (k + 0.5)
                ax.bar(x, count or 0, width=width, color=colors[change], edgecolor="#555555", linewidth=0.5)
                ax.annotate("n/a" if count is None else str(count), (x, count or 0), ha="center", va="bottom",
                            fontsize=7, xytext=(0, 2), textcoords="offset points")
        ax.set_ylabel(label)
        # Counts: whole ticks, from 0, with room for the labels (an axis of zeros too).
        ax.set_ylim(0, max(1, highest) * 1.2)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(axis="y", alpha=0.3)
    panels[1].set_xticks(range(len(runs)), list(runs), fontsize=9)
    panels[0].legend(handles=[Patch(facecolor=colors[c], edgecolor="#555555", label=c) for c in changes],
                     loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7, title="change", title_fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig

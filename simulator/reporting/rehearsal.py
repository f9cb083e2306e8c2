"""What a migration rehearsal looked like from the subscribers' side, over time and per
phase. Samples are the workload's lines (simulator.measurements.workload), already
parsed; phases are dicts {"phase", "started", "ready", "end"} on the same clock. The
functions take data and return a Figure or a string; they never run a network."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from simulator.reporting.report import _table

# The kind of a client that ``kinds`` does not name, so its samples are still shown.
UNNAMED_KIND = "kind not given"

SHARE_COLOR = "#377eb8"
LOSS_COLOR = "#e41a1c"
PHASE_COLOR = "#555555"
READYING_COLOR = "#fdd49e"


def _kind_order(samples: Sequence[dict], kinds: Mapping[str, str]) -> list[str]:
    """Kinds in the order ``kinds`` first names them, then UNNAMED_KIND if a sample needs it."""
    order = list(dict.fromkeys(kinds.values()))
    if any(s.get("kind") in ("connect", "udp", "flow") and s["client"] not in kinds for s in samples):
        order.append(UNNAMED_KIND)
    return order


def working_share(samples: Sequence[dict], kinds: Mapping[str, str], start: float, end: float,
                  bin_s: float = 1.0) -> dict[str, list[tuple[float, float | None]]]:
    """Per client kind, the share of its (client, service) connect cells whose latest
    sample at or before each bin's end was ok, as (bin end - start, share). Bins end at
    start + bin_s, start + 2 bin_s, ..., the last one at ``end``. Samples before
    ``start`` count (they are the state the window opens on); a cell with no sample yet
    is not counted, and the share is None while a kind has no such cell."""
    if not bin_s > 0:
        raise ValueError(f"bin_s {bin_s!r}: a time bin must be longer than 0 seconds")
    order = _kind_order(samples, kinds)
    bins = max(0, math.ceil((end - start) / bin_s - 1e-9))
    connects = sorted((s for s in samples if s.get("kind") == "connect"), key=lambda s: s["t"])
    latest: dict[tuple[str, str], bool] = {}
    cells = dict.fromkeys(order, 0)
    working = dict.fromkeys(order, 0)
    shares: dict[str, list[tuple[float, float | None]]] = {kind: [] for kind in order}
    index = 0
    for k in range(1, bins + 1):
        # start + k * bin_s rather than a running sum, so that bin ends do not drift.
        bin_end = min(start + k * bin_s, end)
        while index < len(connects) and connects[index]["t"] <= bin_end:
            sample = connects[index]
            kind = kinds.get(sample["client"], UNNAMED_KIND)
            cell = (sample["client"], sample["service"])
            was = latest.get(cell)
            now = bool(sample["ok"])
            if was is None:
                cells[kind] += 1
            working[kind] += int(now) - int(bool(was))
            latest[cell] = now
            index += 1
        for kind in order:
            shares[kind].append((min(k * bin_s, end - start), working[kind] / cells[kind] if cells[kind] else None))
    return shares


def _empty(title: str) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, "no samples", ha="center", va="center")
    ax.set_title(title)
    return fig


def timeline(samples: Sequence[dict], phases: Sequence[Mapping], kinds: Mapping[str, str],
             title: str = "Migration rehearsal", bin_s: float = 1.0) -> plt.Figure:
    """One row per client kind, x in seconds since the first phase started: the share
    of the kind's cells that work, lost UDP datagrams (red ticks at the bottom), flow
    resets (black x), each phase's start (a line) and its change until ready (shaded),
    so that a drop can be read against the change that caused it."""
    relevant = [s for s in samples if s.get("kind") in ("connect", "udp", "flow")]
    if not relevant:
        return _empty(title)
    origin = phases[0]["started"] if phases else min(s["t"] for s in relevant)
    # At least one bin, so that a single sample at the origin still draws its share.
    end = max([s["t"] for s in relevant] + [p["end"] for p in phases] + [origin + bin_s])
    shares = working_share(relevant, kinds, origin, end, bin_s)
    order = list(shares)
    fig, axes = plt.subplots(len(order), 1, sharex=True, squeeze=False,
                             figsize=(11, 1.0 + 1.9 * len(order)))
    column = [row[0] for row in axes]
    for ax, kind in zip(column, order, strict=True):
        mine = [s for s in relevant if kinds.get(s["client"], UNNAMED_KIND) == kind]
        # Stepped "pre", from 0: a bin's share is drawn over the bin, so a drop shows in the bin it happened in.
        xs = [x for x, _ in shares[kind]]
        ys = [math.nan if y is None else y for _, y in shares[kind]]
        ax.step([0.0] + xs, ys[:1] + ys, where="pre", color=SHARE_COLOR)
        lost = [s["t"] - origin for s in mine if s["kind"] == "udp" and not s["ok"]]
        if lost:
            ax.vlines(lost, 0, 0.1, transform=ax.get_xaxis_transform(), color=LOSS_COLOR, linewidth=1)
        resets = [s["t"] - origin for s in mine if s["kind"] == "flow" and s["event"] == "reset"]
        if resets:
            ax.plot(resets, [0.12] * len(resets), "x", color="black", transform=ax.get_xaxis_transform())
        for phase in phases:
            started = phase["started"] - origin
            ax.axvline(started, color=PHASE_COLOR, linewidth=0.8, linestyle="--")
            if phase.get("ready") is not None:
                ax.axvspan(started, phase["ready"] - origin, color=READYING_COLOR, alpha=0.5, linewidth=0)
        clients = len({s["client"] for s in mine})
        cells = len({(s["client"], s["service"]) for s in mine if s["kind"] == "connect"})
        ax.set_ylim(-0.2, 1.08)
        ax.set_yticks([0, 0.5, 1])
        ax.set_ylabel("cells working\n(share)", fontsize=8)
        ax.set_title(f"{kind}: {clients} client{'' if clients == 1 else 's'}, {cells} (client, service) cells",
                     fontsize=8, loc="left")
    top = column[0]
    for phase in phases:
        top.text(phase["started"] - origin, 1.25, phase["phase"], transform=top.get_xaxis_transform(),
                 rotation=20, fontsize=8, ha="left", va="bottom")
    top.legend(handles=[Line2D([], [], color=SHARE_COLOR, label=f"cells working (latest sample, {bin_s:g} s bins)"),
                        Line2D([], [], color=LOSS_COLOR, marker="|", linestyle="none", label="UDP datagram lost"),
                        Line2D([], [], color="black", marker="x", linestyle="none", label="flow reset"),
                        Line2D([], [], color=PHASE_COLOR, linestyle="--", label="phase starts"),
                        Patch(color=READYING_COLOR, alpha=0.5, label="change applied, not yet ready")],
               loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)
    first = phases[0]["phase"] if phases else "the first sample"
    column[-1].set_xlabel(f"seconds since {first} started" if phases else "seconds since the first sample")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


DISRUPTION_COLUMNS = ["phase", "ready s", "broken", "regress", "gained", "lost/sent", "v4/v6 lost", "resets",
                      "fallbacks", "recovery s", "change"]


def _count(value) -> str:
    return "-" if value is None else str(value)


def _pair(first, second) -> str:
    return "-" if first is None and second is None else f"{_count(first)}/{_count(second)}"


def _recovery(row: Mapping) -> str:
    """"2.8 (step 0.25)": the recovery and, in brackets, the sampling interval it was
    rounded up to (two significant digits): the true recovery lies within one step
    below the figure, never above it; "not recovered" when recovery_s is None."""
    recovery, resolution = row.get("recovery_s"), row.get("resolution_s")
    if recovery is None:
        return "not recovered"
    return f"{recovery:.1f}" + ("" if resolution is None else f" (step {resolution:.2g})")


def disruption_table(rows: Sequence[Mapping]) -> str:
    """Each change's disruption figures (simulator.measurements.disruption's rows, with
    "phase" and "change") as a fixed-width table for the terminal. A missing or None
    value prints "-"; lost/sent prints "-" for each missing side, "-" if both are; so
    does "v4/v6 lost", the datagrams lost per family (an IPv4 stream a change must end,
    beside IPv6 ones that should lose nothing)."""
    lines = []
    for row in rows:
        lost, sent = row.get("packets_lost"), row.get("packets_sent")
        ready = row.get("ready_s")
        lines.append([_count(row.get("phase")), "-" if ready is None else f"{ready:.1f}",
                      _count(row.get("cells_broken_during")), _count(row.get("regressions")),
                      _count(row.get("gained")),
                      "-" if lost is None and sent is None else f"{_count(lost)}/{_count(sent)}",
                      _pair(row.get("packets_lost_ipv4"), row.get("packets_lost_ipv6")),
                      _count(row.get("flows_reset")), _count(row.get("fallbacks")), _recovery(row),
                      row.get("change") or ""])
    return _table(DISRUPTION_COLUMNS, lines)

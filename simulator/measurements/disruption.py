"""The disruption of one change of a migration plan (KPI 14), from the workload's samples.

Every subscriber's prober (``simulator.measurements.workload``) writes timestamped
samples while the plan runs: a connection by name to each service at an interval
(``kind: connect``), a sequence-numbered UDP datagram every tenth of a second on
each address family it shares with the echo (``kind: udp``, a stream per family) and
the events of a long-lived TCP flow (``kind: flow``). For a change
that starts at ``started``, is ready at ``ready`` and is followed by the next change
(or the end of its phase) at ``end``, this module counts, over ``[started, end)``:

- cells **broken during** the change: working in the last sample before it, failing in
  at least one sample inside the window;
- **regressions** (working before, not at the end of the window) and cells **gained**;
- **packets lost**: UDP sequence numbers sent in the window and never echoed, counted
  in each (client, family) stream, in all and per family: a change that moves a
  host's IPv4 source must end its IPv4 flows, but should not cost its IPv6 stream a
  datagram. Samples that name no family (written before streams had one) count in
  the totals only;
- long-lived **flows reset** (and stalled), and the time until a new flow works;
- Happy Eyeballs **fallbacks** (connections that went over the other family);
- the **recovery time**: from the change's start until every cell is as the plan
  predicts for after the change and stays so, or None if it never is within the window.

A recovery time is never finer than its sampling: ``resolution_s`` is the median
interval between two samples of the same cell in the window, as achieved, and a
recovery is rounded up to a whole number of it.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

Cell = tuple[str, str]      # (client, service fqdn)
# The change of disruption.csv's first row, the workload alone before the first change:
# the noise floor every change is read against, not a change.
BASELINE = "none (the workload alone)"


@dataclass(frozen=True)
class Disruption:
    started: float
    ready: float | None
    end: float
    broken_during: tuple[Cell, ...]
    regressions: tuple[Cell, ...]
    gained: tuple[Cell, ...]
    packets_sent: int                # over every stream, of any family or none named
    packets_lost: int
    packets_sent_ipv4: int
    packets_lost_ipv4: int
    packets_sent_ipv6: int
    packets_lost_ipv6: int
    flows_reset: int
    flows_stalled: int
    new_flow_s: float | None         # the longest wait, after a reset, until a new flow opened
    fallbacks: int
    recovery_s: float | None         # None: not every cell was as expected by the end of the window
    resolution_s: float | None       # the achieved sampling interval of the cells

    def row(self) -> dict:
        """The change's figures as one CSV row."""
        return {"started": round(self.started, 3), "ready": None if self.ready is None else round(self.ready, 3),
                "ready_s": None if self.ready is None else round(self.ready - self.started, 3),
                "cells_broken_during": len(self.broken_during), "regressions": len(self.regressions),
                "gained": len(self.gained), "packets_sent": self.packets_sent, "packets_lost": self.packets_lost,
                "packets_sent_ipv4": self.packets_sent_ipv4, "packets_lost_ipv4": self.packets_lost_ipv4,
                "packets_sent_ipv6": self.packets_sent_ipv6, "packets_lost_ipv6": self.packets_lost_ipv6,
                "flows_reset": self.flows_reset, "flows_stalled": self.flows_stalled,
                "new_flow_s": None if self.new_flow_s is None else round(self.new_flow_s, 3),
                "fallbacks": self.fallbacks,
                "recovery_s": None if self.recovery_s is None else round(self.recovery_s, 3),
                "resolution_s": None if self.resolution_s is None else round(self.resolution_s, 3)}


def _connects(samples: Iterable[dict]) -> dict[Cell, list[dict]]:
    series: dict[Cell, list[dict]] = {}
    for sample in samples:
        if sample.get("kind") == "connect":
            series.setdefault((sample["client"], sample["service"]), []).append(sample)
    for values in series.values():
        values.sort(key=lambda s: s["t"])
    return series


def _datagrams(samples: Iterable[dict], start: float, end: float,
               carried: Mapping[str, frozenset[str]] | None = None) -> dict[str | None, tuple[int, int]]:
    """Per family (None: samples that name none), the datagrams sent in ``[start, end)``
    and those never echoed. Each (client, family) stream numbers its datagrams from 0,
    so they are counted by sequence number within their stream: a dual-stack host's
    IPv4 datagram 3 and IPv6 datagram 3 are two datagrams. ``carried``: per client,
    the families its network carries to the echo server as the window opens; a stream
    of another family ended with an earlier change (IPv4 switched off) and is not
    counted again (a client not named: every stream counts)."""
    streams: dict[tuple[str, str | None], dict[int, bool]] = {}
    for sample in samples:
        family = sample.get("family")
        if carried is not None and family is not None and family not in carried.get(sample["client"], {family}):
            continue
        if sample.get("kind") == "udp" and start <= sample["t"] < end:
            streams.setdefault((sample["client"], sample.get("family")), {})[sample["seq"]] = bool(sample["ok"])
    counts: dict[str | None, tuple[int, int]] = {}
    for (_, family), echoed in streams.items():
        sent, lost = counts.get(family, (0, 0))
        counts[family] = (sent + len(echoed), lost + sum(1 for ok in echoed.values() if not ok))
    return counts


def _resolution(series: dict[Cell, list[dict]], start: float, end: float) -> float | None:
    gaps = [b["t"] - a["t"] for values in series.values()
            for a, b in zip(values, values[1:], strict=False) if start <= a["t"] and b["t"] < end]
    return statistics.median(gaps) if gaps else None


def _recovery(series: dict[Cell, list[dict]], expected: Mapping[Cell, bool], start: float, end: float,
              resolution: float | None) -> float | None:
    """From ``start`` until the first sample after the last one that was not as expected."""
    recovered_at = start
    for cell, values in series.items():
        inside = [s for s in values if start <= s["t"] < end]
        want = expected.get(cell)
        if want is None or not inside:
            continue
        bad = [i for i, s in enumerate(inside) if bool(s["ok"]) != want]
        if not bad:
            continue
        if bad[-1] == len(inside) - 1:
            return None                 # still not as expected at the end of the window
        recovered_at = max(recovered_at, inside[bad[-1] + 1]["t"])
    elapsed = recovered_at - start
    if resolution and elapsed > 0:
        elapsed = math.ceil(elapsed / resolution - 1e-9) * resolution
    return elapsed


def disruption(samples: list[dict], started: float, ready: float | None, end: float,
               expected_after: Mapping[Cell, bool], carried: Mapping[str, frozenset[str]] | None = None
               ) -> Disruption:
    """The figures of one change whose window is ``[started, end)``; ``expected_after``
    is what the plan predicts for each (client, service) by name once it is done;
    ``carried``: the families each client's echo streams can use before the change
    (``_datagrams``)."""
    series = _connects(samples)
    broken, regressions, gained = [], [], []
    for cell, values in sorted(series.items()):
        before = [s for s in values if s["t"] < started]
        inside = [s for s in values if started <= s["t"] < end]
        if not before or not inside:
            continue
        was, now = bool(before[-1]["ok"]), bool(inside[-1]["ok"])
        if was and not all(s["ok"] for s in inside):
            broken.append(cell)
        if was and not now:
            regressions.append(cell)
        if now and not was:
            gained.append(cell)
    datagrams = _datagrams(samples, started, end, carried)
    ipv4, ipv6 = datagrams.get("ipv4", (0, 0)), datagrams.get("ipv6", (0, 0))
    flows = sorted((s for s in samples if s.get("kind") == "flow"), key=lambda s: s["t"])
    resets = [s for s in flows if s["event"] == "reset" and started <= s["t"] < end]
    waits = []
    for reset in resets:
        reopened = next((s["t"] for s in flows if s["event"] == "open" and s["client"] == reset["client"]
                         and s["t"] >= reset["t"]), None)
        waits.append(math.inf if reopened is None else reopened - reset["t"])
    resolution = _resolution(series, started, end)
    longest = max(waits) if waits else None
    return Disruption(
        started=started, ready=ready, end=end, broken_during=tuple(broken), regressions=tuple(regressions),
        gained=tuple(gained), packets_sent=sum(sent for sent, _ in datagrams.values()),
        packets_lost=sum(lost for _, lost in datagrams.values()), packets_sent_ipv4=ipv4[0],
        packets_lost_ipv4=ipv4[1], packets_sent_ipv6=ipv6[0], packets_lost_ipv6=ipv6[1],
        flows_reset=len(resets),
        flows_stalled=sum(1 for s in flows if s["event"] == "stall" and started <= s["t"] < end),
        new_flow_s=None if longest is None or math.isinf(longest) else longest,
        fallbacks=sum(1 for values in series.values() for s in values
                      if started <= s["t"] < end and s.get("fell_back")),
        recovery_s=_recovery(series, expected_after, started, end, resolution), resolution_s=resolution)

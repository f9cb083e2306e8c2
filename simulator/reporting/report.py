"""The short summary printed at the end of a run."""

from __future__ import annotations

from simulator.measurements.run_result import RunResult


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


PER_CLIENT_LIMIT = 12


def matrix_table(cells: list[dict]) -> str:
    """Cells that worked out of all, per method: a row per client and family for a
    small network, a row per district, subscriber class and family for a city."""
    per_client = len({c["client"] for c in cells}) <= PER_CLIENT_LIMIT
    groups: dict[tuple, list[dict]] = {}
    for cell in cells:
        key = ((cell["client"], cell["district"] or "") if per_client
               else (cell["district"] or "", cell.get("subscriber_class") or ""))
        groups.setdefault(key + (cell["family"],), []).append(cell)
    rows = []
    for key, group in sorted(groups.items()):
        methods: dict[str, list[bool]] = {}
        for cell in group:
            methods.setdefault(cell["method"], []).append(cell["ok"])
        rows.append(list(key) + [f"{sum(methods[m])}/{len(methods[m])}" if m in methods else "-"
                                 for m in ("ping", "dns", "http")]
                    + ["yes" if all(c["as_expected"] for c in group) else "NO"])
    header = ["client", "district"] if per_client else ["district", "class"]
    return _table(header + ["family", "ping", "dns", "http", "as expected"], rows)


def transition_table(records: list[dict]) -> str:
    """The transition matrix per client kind: cells that worked / cells, per service
    kind and access, with a mark where a cell differs from its RFC rule."""
    from simulator.measurements.matrix import ACCESS, summary_table
    from simulator.reporting.plots import CLIENT_KIND_ORDER, SERVICE_KIND_ORDER
    table = summary_table(records)
    columns = [(s, a) for s in SERVICE_KIND_ORDER for a in ACCESS if any(k[1] == s for k in table)]
    rows = []
    for kind in CLIENT_KIND_ORDER:
        if not any(k[0] == kind for k in table):
            continue
        row = [kind]
        for service, access in columns:
            entry = table.get((kind, service, access))
            if entry is None or entry["expected"] is None:
                row.append("n/a")
            else:
                mark = f" ({entry['unexpected']}!)" if entry["unexpected"] else ""
                row.append(f"{entry['ok']}/{entry['cells']}{mark}")
        rows.append(row)
    header = ["transition matrix"] + [f"{s} {'name' if a == 'name' else 'v4-literal'}" for s, a in columns]
    return _table(header, rows)


def summary(result: RunResult) -> str:
    parts = [f"Scenario {result.scenario}, run {result.run_id}", ""]
    parts.append(matrix_table(result.cells))
    parts.append("")
    if result.transition:
        parts.append(transition_table(result.transition))
        parts.append("")
    if result.throughput:
        parts.append(_table(["throughput", "family", "Gbit/s", "note"], [
            [f"{r['client']} -> {r['server']}", r["family"],
             f"{r['bits_per_second'] / 1e9:.2f}" if r["ok"] else "-", r["error"][:60]]
            for r in result.throughput]))
        parts.append("")
    if result.pairs:
        from simulator.measurements.reachability import summarise
        parts.append(_table(["all pairs", "pairs", "reached", "expected to", "as expected"], [
            [family, str(row["pairs"]), str(row["ok"]), str(row["expected"]), str(row["as_expected"])]
            for family, row in sorted(summarise(result.pairs).items())]))
        parts.append("")
    total = sum(result.traffic.values()) or 1
    parts.append(_table(["traffic", "MB", "share"], [
        [family, f"{count / 1e6:.2f}", f"{100 * count / total:.1f}%"]
        for family, count in sorted(result.traffic.items())]))
    if result.mechanism_traffic:
        parts.append("through transition mechanisms (MB, summed over the switches crossed): " + ", ".join(
            f"{name} {count / 1e6:.2f}" for name, count in sorted(result.mechanism_traffic.items())))
    parts.append("learned flows per family: " + ", ".join(
        f"{k} {v}" for k, v in sorted(result.learned_flows.items())))
    timings = result.timings
    parts.append("times: " + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in timings.items()))
    parts.append("")
    unexpected = result.unexpected
    measured = len(result.cells) + len(result.pairs) + len(result.transition)
    if unexpected:
        parts.append(f"{len(unexpected)} of {measured} cells and pairs differ from what the graph and the RFCs "
                     "predict:")
        for item in unexpected[:20]:
            name = item.get("id") or f"{item['source']} -> {item['destination']} {item['family']}"
            reason = item.get("expected_reason") or f"{item.get('expected_via')}; {item.get('reference')}"
            verdict = item.get("verdict") or ("ok" if item["ok"] else "fail")
            parts.append(f"  {name}: expected {'ok' if item['expected'] else 'fail'} "
                         f"({reason}), measured {verdict} {item.get('error') or ''}".rstrip())
    else:
        what = f"all {len(result.cells)} cells" + (f" and {len(result.pairs)} pairs" if result.pairs else "") + (
            f" and {len(result.transition)} transition-matrix cells" if result.transition else "")
        parts.append(f"{what} as expected")
    parts.append(f"results: {result.path}")
    return "\n".join(parts)

"""The short summary printed at the end of a run."""

from __future__ import annotations

from simulator.runner import RunResult


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def summary(result: RunResult) -> str:
    parts = [f"Scenario {result.scenario}, run {result.run_id}", ""]
    groups: dict[tuple, list[dict]] = {}
    for cell in result.cells:
        groups.setdefault((cell["client"], cell["family"]), []).append(cell)
    rows = []
    for (client, family), cells in sorted(groups.items()):
        methods = {}
        for cell in cells:
            methods.setdefault(cell["method"], []).append(cell["ok"])
        rows.append([client, cells[0]["district"] or "", family] + [
            f"{sum(methods.get(m, []))}/{len(methods.get(m, []))}" if m in methods else "-"
            for m in ("ping", "dns", "http")] + [
            "yes" if all(c["as_expected"] for c in cells) else "NO"])
    parts.append(_table(["client", "district", "family", "ping", "dns", "http", "as expected"], rows))
    parts.append("")
    if result.throughput:
        parts.append(_table(["throughput", "family", "Gbit/s", "note"], [
            [f"{r['client']} -> {r['server']}", r["family"],
             f"{r['bits_per_second'] / 1e9:.2f}" if r["ok"] else "-", r["error"][:60]]
            for r in result.throughput]))
        parts.append("")
    total = sum(result.traffic.values()) or 1
    parts.append(_table(["traffic", "MB", "share"], [
        [family, f"{count / 1e6:.2f}", f"{100 * count / total:.1f}%"]
        for family, count in sorted(result.traffic.items())]))
    parts.append("learned flows per family: " + ", ".join(
        f"{k} {v}" for k, v in sorted(result.learned_flows.items())))
    timings = result.timings
    parts.append("times: " + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in timings.items()))
    parts.append("")
    unexpected = result.unexpected
    if unexpected:
        parts.append(f"{len(unexpected)} of {len(result.cells)} cells differ from what the graph predicts:")
        for cell in unexpected[:20]:
            parts.append(f"  {cell['id']}: expected {'ok' if cell['expected'] else 'fail'} "
                         f"({cell['expected_reason']}), measured {'ok' if cell['ok'] else 'fail'} "
                         f"{cell.get('error') or ''}".rstrip())
    else:
        parts.append(f"all {len(result.cells)} cells as expected")
    parts.append(f"results: {result.path}")
    return "\n".join(parts)

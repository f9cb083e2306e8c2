"""Plans compared side by side: ``v6lab compare RUN_DIR RUN_DIR... -o OUT_DIR``.

Two or more finished runs of one city (the same ``topology_hash`` in their manifests),
typically rehearsals of different migration plans, are read from their folders' files
alone (manifest.json, kpis.csv, disruption.csv), with html.py's readers, and written to
OUT_DIR:

- ``compare.csv``: one long table (COLUMNS) of every run's KPIs per phase as its kpis.csv
  writes them, then its disruption summed over its changes (KPI 14; the baseline row of
  disruption.csv, the workload alone, is not a change and is not summed);
- three figures (FIGURES): the KPIs phase by phase with the runs overlaid, what each
  change cost grouped by run, the KPIs at the end of each run side by side;
- ``compare.html``: one self-contained page (``templates/compare.html.j2``): the runs,
  whatever makes them less than like for like, the figures, the final KPIs and each
  plan's disruption.

Every refusal comes before OUT_DIR is touched (it is created only to be written), and the
files go through temporaries renamed at the end, so that OUT_DIR holds a whole comparison
or what it held before.
"""

from __future__ import annotations

import base64
import csv
import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from matplotlib.figure import Figure

from simulator.measurements.disruption import BASELINE
from simulator.reporting import html, plots
from topologies.errors import ResultsError

CSV = "compare.csv"
PAGE = "compare.html"
TEMPLATE = "compare.html.j2"
COLUMNS = ["run", "scenario", "file", "phase_index", "phase", "kpi", "name", "class", "family", "value", "low",
           "high", "unit", "reference"]
TRAJECTORIES, FINAL, DISRUPTION = "trajectories.png", "final-kpis.png", "disruption.png"
FIGURES = {TRAJECTORIES: "the KPIs phase by phase, the runs overlaid",
           FINAL: "the KPIs at the end of each run, side by side",
           DISRUPTION: "what each change cost, run by run"}
# KPIS.md's number of migration disruption, the KPI that disruption.csv measures.
DISRUPTION_KPI = 14
# What compare.csv sums over a run's changes: its name there, disruption.csv's column,
# the address family and the unit. A column the file lacks (one written before datagrams
# were counted per family) gives no row.
SUMMED = [("cells broken during changes", "cells_broken_during", "", "cells"),
          ("datagrams sent", "packets_sent", "all", "datagrams"),
          ("datagrams lost", "packets_lost", "all", "datagrams"),
          ("datagrams sent", "packets_sent_ipv4", "ipv4", "datagrams"),
          ("datagrams lost", "packets_lost_ipv4", "ipv4", "datagrams"),
          ("datagrams sent", "packets_sent_ipv6", "ipv6", "datagrams"),
          ("datagrams lost", "packets_lost_ipv6", "ipv6", "datagrams")]
FAMILY_COLUMNS = ("packets_sent_ipv4", "packets_lost_ipv4", "packets_sent_ipv6", "packets_lost_ipv6")
COMPARING = html.Purpose("it cannot be compared", "compare", "for a run to compare", "can be compared")
USAGE = "'v6lab compare RUN_DIR RUN_DIR... -o OUT_DIR'"
ALLOW = "--allow-different-cities"


@dataclass(frozen=True)
class Run:
    """A finished run as its folder's files give it."""

    folder: Path
    manifest: dict
    kpis: list[dict[str, str]] | None          # kpis.csv's rows; None: the folder has no kpis.csv
    disruption: list[dict[str, str]] | None    # disruption.csv's rows; None: not a rehearsal's folder
    phases: list[str]                          # phase index -> name: the manifest's order, then kpis.csv's
    label: str = ""                            # how figures and tables name it (its scenario, if unique)

    @property
    def run_id(self) -> str:
        return str(self.manifest.get("run_id") or self.folder.name)

    @property
    def scenario(self) -> str:
        return str(self.manifest.get("scenario") or self.folder.parent.name)

    @property
    def city(self) -> str | None:
        """The manifest's topology_hash; None when it has none (the city is unknown)."""
        found = self.manifest.get("topology_hash")
        return found if isinstance(found, str) and found else None

    @property
    def baseline(self) -> dict[str, str] | None:
        return next((row for row in self.disruption or [] if row.get("change") == BASELINE), None)

    @property
    def changes(self) -> list[dict[str, str]]:
        return [row for row in self.disruption or [] if row.get("change") != BASELINE]

    @property
    def final_phase(self) -> str | None:
        """The last phase of kpis.csv: the city at the end of the run's plan."""
        phases = html.in_order(row.get("phase") or "" for row in self.kpis or [])
        return phases[-1] if phases else None

    def kpi_row(self, phase: str, kpi: str, klass: str) -> dict[str, str] | None:
        return next((row for row in self.kpis or [] if (row.get("phase") or "") == phase and row.get("kpi") == kpi
                     and row.get("class") == klass), None)


@dataclass(frozen=True)
class Total:
    """A run's disruption figure summed over its changes; None when a change's row
    leaves it empty."""

    name: str
    family: str
    unit: str
    value: int | None


def compare(run_dirs: Sequence[Path], out_dir: Path, allow_different_cities: bool = False) -> Path:
    """Compare the runs of ``run_dirs`` into ``out_dir`` and return the page's path; a
    ResultsError, with nothing written, for fewer than two runs, a folder that is not a
    finished run's, a run given twice, runs of different or unknown cities (unless
    ``allow_different_cities``) or an ``out_dir`` that cannot take the files."""
    runs = read_runs(run_dirs)
    cities = city_warnings(runs)
    if cities and not allow_different_cities:
        raise ResultsError(city_refusal(runs))
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, runs)
    figures = {name: _png(figure) for name, figure in _figures(runs).items()}
    files = {CSV: _csv_text(table(runs)).encode("utf-8"), **figures}
    page = render(runs, cities, figures)
    files[PAGE] = page.encode("utf-8")
    created = _create(out_dir)
    try:
        html.write_together({out_dir / name: data for name, data in files.items()},
                            f"check that {out_dir} is writable, or give -o another folder")
    except BaseException:
        for folder in created:
            _remove_empty(folder)
        raise
    return out_dir / PAGE


def read_runs(run_dirs: Sequence[Path]) -> list[Run]:
    """Each folder's run, in the order given, labelled; a ResultsError for fewer than two,
    a folder that is not a finished run's, or a run given twice."""
    if len(run_dirs) < 2:
        given = f"one ({run_dirs[0]})" if run_dirs else "none"
        raise ResultsError(f"compare needs two runs or more and was given {given}: give the folders of the runs to "
                           f"compare, {USAGE}")
    runs = []
    for folder in map(Path, run_dirs):
        _, manifest = html.read_manifest(folder, COMPARING)
        kpis = html.read_csv(folder / "kpis.csv")
        phases = html.phase_names(manifest, None)
        phases = phases + [p for p in html.in_order(row.get("phase") or "" for row in kpis or []) if p not in phases]
        runs.append(Run(folder, manifest, kpis, html.read_csv(folder / "disruption.csv"), phases))
    seen: dict[str, Run] = {}
    for run in runs:
        if run.run_id in seen:
            raise ResultsError(f"{run.folder}: run {run.run_id} is given twice (also as {seen[run.run_id].folder}); "
                               "give each run once")
        seen[run.run_id] = run
    scenarios = Counter(run.scenario for run in runs)
    return [replace(run, label=run.scenario if scenarios[run.scenario] == 1 else f"{run.scenario} ({run.run_id})")
            for run in runs]


def city_warnings(runs: Sequence[Run]) -> list[str]:
    """What keeps these runs from being of one known city, a sentence each; empty when
    every manifest has the same topology_hash."""
    found = [f"The city of {run.label} (run {run.run_id}) is unknown: its manifest has no topology_hash."
             for run in runs if run.city is None]
    known = [run for run in runs if run.city is not None]
    if len({run.city for run in known}) > 1:
        found.append("These runs are of different cities: " + "; ".join(
            f"{run.label} (run {run.run_id}) has topology_hash {run.city}" for run in known) + ".")
    return found


def city_refusal(runs: Sequence[Run]) -> str:
    """The message that refuses runs not shown to be of one city."""
    unknown = [run for run in runs if run.city is None]
    anyway = f"or give {ALLOW} to compare them anyway (the page then says so)"
    if unknown:
        run = unknown[0]
        return (f"{run.folder}: run {run.run_id}'s manifest has no topology_hash, so its city is unknown and cannot "
                f"be shown to be the others'; compare runs whose manifests have one (every run of this v6lab writes "
                f"it), {anyway}")
    first = runs[0]
    others = "; ".join(f"{run.folder} (run {run.run_id}) has {run.city}" for run in runs[1:] if run.city != first.city)
    return (f"runs of different cities: {first.folder} (run {first.run_id}) has topology_hash {first.city}, but "
            f"{others}; plans are compared on one city: give runs whose manifests have the same topology_hash, "
            f"{anyway}")


def disruption_totals(run: Run) -> list[Total]:
    """The run's changes counted, then their figures summed (SUMMED); none for a run
    without disruption.csv."""
    if run.disruption is None:
        return []
    columns = set(run.disruption[0]) if run.disruption else set()
    changes = run.changes
    found = [Total("changes", "", "changes", len(changes))]
    for name, column, family, unit in SUMMED:
        if column in columns:
            counts = [_count(run, row, column) for row in changes]
            found.append(Total(name, family, unit, None if None in counts else sum(c or 0 for c in counts)))
    return found


def _count(run: Run, row: Mapping[str, str], column: str) -> int | None:
    """A count of disruption.csv; None where the file leaves it empty."""
    text = row.get(column)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise ResultsError(f"{run.folder / 'disruption.csv'}: change {row.get('change')!r}: {column} is {text!r}, "
                           "not a count; run the scenario again, or compare without this run") from None


def table(runs: Sequence[Run]) -> list[dict]:
    """compare.csv's rows: per run, its kpis.csv rows as written, then its disruption totals."""
    found: list[dict] = []
    for run in runs:
        ours = {"run": run.run_id, "scenario": run.scenario}
        for row in run.kpis or []:
            phase = row.get("phase") or ""
            found.append({**ours, "file": "kpis.csv", "phase_index": run.phases.index(phase), "phase": phase,
                          "kpi": row.get("kpi"), "name": row.get("name"), "class": row.get("class"), "family": "",
                          **{key: row.get(key) for key in ("value", "low", "high", "unit", "reference")}})
        for total in disruption_totals(run):
            found.append({**ours, "file": "disruption.csv", "phase_index": "", "phase": "", "kpi": DISRUPTION_KPI,
                          "name": total.name, "class": "all", "family": total.family, "value": total.value,
                          "low": "", "high": "", "unit": total.unit, "reference": ""})
    return found


def _csv_text(rows: Sequence[dict]) -> str:
    """The rows as CSV, written as RunFolder writes a run's (None as empty)."""
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _number(text: str | None) -> float | None:
    try:
        value = Decimal(text or "")
    except InvalidOperation:
        return None
    return float(value) if value.is_finite() else None


def _point(row: Mapping[str, str] | None) -> plots.Point:
    if row is None:
        return (None, None, None)
    return (_number(row.get("value")), _number(row.get("low")), _number(row.get("high")))


def _kpi_numbers(runs: Sequence[Run]) -> list[str]:
    """The KPIs of the runs' kpis.csv, by number."""
    numbers = html.in_order(row.get("kpi") or "" for run in runs for row in run.kpis or [])
    return sorted(numbers, key=lambda kpi: (_number(kpi) is None, _number(kpi) or 0, kpi))


def _city_class(run: Run, kpi: str) -> str | None:
    """The class a run's trajectory of a KPI follows: the whole city ("all"), or its one
    class where it gives no city-wide figure."""
    classes = html.in_order(row.get("class") or "" for row in run.kpis or [] if row.get("kpi") == kpi)
    return "all" if "all" in classes else (classes[0] if classes else None)


def _kpi_name(runs: Sequence[Run], kpi: str) -> str:
    return next((row.get("name") or "" for run in runs for row in run.kpis or [] if row.get("kpi") == kpi), "")


def _unit(rows: Sequence[Mapping[str, str]]) -> str:
    """The unit every row shares; "" when they differ."""
    units = {row.get("unit") or "" for row in rows}
    return units.pop() if len(units) == 1 else ""


def phase_labels(runs: Sequence[Run]) -> list[str]:
    """The x axis of the trajectories: per phase index, the index and the phase's name,
    or the runs' names for it where they differ."""
    labels = []
    for index in range(max(len(run.phases) for run in runs)):
        names = html.in_order(run.phases[index] for run in runs if index < len(run.phases))
        labels.append(f"{index} " + " / ".join(names))
    return labels


def trajectories(runs: Sequence[Run]) -> dict[str, dict[str, list[plots.Point]]]:
    """Per KPI with a value in some run, per run, its points by phase index (the city-wide
    class, or the run's one class, named beside the run)."""
    panels: dict[str, dict[str, list[plots.Point]]] = {}
    for kpi in _kpi_numbers(runs):
        lines: dict[str, list[plots.Point]] = {}
        for run in runs:
            klass = _city_class(run, kpi)
            if klass is None:
                continue
            label = run.label if klass == "all" else f"{run.label} ({klass})"
            lines[label] = [_point(run.kpi_row(phase, kpi, klass)) for phase in run.phases]
        if any(value is not None for points in lines.values() for value, _, _ in points):
            panels[f"{kpi} {_kpi_name(runs, kpi)}"] = lines
    return panels


def final_groups(runs: Sequence[Run]) -> list[tuple[str, str]]:
    """(KPI, class) of the runs' final phases, by KPI number, classes in the files' order."""
    seen = html.in_order((row.get("kpi") or "", row.get("class") or "") for run in runs for row in run.kpis or []
                         if (row.get("phase") or "") == run.final_phase)
    order = {kpi: k for k, kpi in enumerate(_kpi_numbers(runs))}
    return sorted(seen, key=lambda group: (order[group[0]], seen.index(group)))


def final_table(runs: Sequence[Run]) -> list[dict]:
    """One row per (KPI, class) of the final phases: its name, unit and reference, and
    each run's kpis.csv row (None where the run has none)."""
    found = []
    for kpi, klass in final_groups(runs):
        rows = [run.kpi_row(run.final_phase or "", kpi, klass) for run in runs]
        given = [row for row in rows if row is not None]
        found.append({"kpi": kpi, "class": klass, "name": given[0].get("name"), "unit": given[0].get("unit"),
                      "reference": given[0].get("reference"), "runs": rows})
    return found


def _figures(runs: Sequence[Run]) -> dict[str, Figure]:
    """The three figures, by file name."""
    rows = [row for run in runs for row in run.kpis or []]
    final = final_table(runs)
    groups = [f"{row['kpi']} {row['name']}\n({row['class']})" for row in final]
    return {
        TRAJECTORIES: plots.kpi_trajectories(trajectories(runs), phase_labels(runs), _unit(rows)),
        FINAL: plots.final_kpis(groups, {run.label: [_point(row["runs"][k]) for row in final]
                                         for k, run in enumerate(runs)}, _unit(rows)),
        DISRUPTION: plots.disruption_by_run({run.label: [
            (row.get("change") or "", _count(run, row, "packets_lost"), _count(run, row, "cells_broken_during"))
            for row in run.changes] for run in runs}),
    }


def _png(figure: Figure) -> bytes:
    """A figure as PNG bytes, as RunFolder.write_figure saves one."""
    import matplotlib.pyplot as plt
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)
    return out.getvalue()


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _pair(lost: int | None, sent: int | None) -> str:
    return f"{html.shown(lost)}/{html.shown(sent)}"


def totals_table(runs: Sequence[Run]) -> list[dict]:
    """The disruption totals side by side: a row per figure, a value per run ("–" where
    the run does not give it), and the baseline's datagrams to read them against."""
    totals = [{(t.name, t.family): t.value for t in disruption_totals(run)} for run in runs]

    def pairs(family: str) -> list[str | None]:
        return [None if ("datagrams sent", family) not in mine else
                _pair(mine[("datagrams lost", family)], mine[("datagrams sent", family)]) for mine in totals]
    baselines = [run.baseline for run in runs]
    return [
        {"what": "changes", "values": [mine.get(("changes", "")) for mine in totals]},
        {"what": "cells broken during changes", "values": [mine.get(("cells broken during changes", ""))
                                                           for mine in totals]},
        {"what": "datagrams lost/sent", "values": pairs("all")},
        {"what": "IPv4 lost/sent", "values": pairs("ipv4")},
        {"what": "IPv6 lost/sent", "values": pairs("ipv6")},
        {"what": "baseline lost/sent (the workload alone, not summed)",
         "values": [None if row is None else _pair(_count(run, row, "packets_lost"), _count(run, row, "packets_sent"))
                    for run, row in zip(runs, baselines, strict=True)]},
    ]


def differences(runs: Sequence[Run]) -> list[str]:
    """Whatever, besides the plans, differs between the runs or weakens a reading of
    them, a sentence each (the cities are city_warnings')."""
    notes = []

    def each(values: Sequence) -> str:
        return ", ".join(f"{run.label} {html.shown(value)}" for run, value in zip(runs, values, strict=True))
    for key, what in (("seed", "The scenarios' seeds differ"), ("backend", "The backends differ")):
        values = [run.manifest.get(key) for run in runs]
        if len({repr(v) for v in values}) > 1:
            notes.append(f"{what}: {each(values)}.")
    versions = [_mapping(run.manifest.get("versions")) for run in runs]
    differing = [name for name in sorted({n for v in versions for n in v})
                 if len({repr(v.get(name)) for v in versions}) > 1]
    if differing:
        notes.append("Software versions differ: " + "; ".join(
            f"{name} ({each([v.get(name) for v in versions])})" for name in differing) + ".")
    notes += _host_differences(runs, each)
    notes += _phase_differences(runs)
    notes += _kpi_differences(runs)
    notes += _disruption_differences(runs)
    for run in runs:
        unexpected = run.manifest.get("unexpected_cells")
        if isinstance(unexpected, int) and unexpected:
            notes.append(f"{run.label} ended with {unexpected} matrix cell{'' if unexpected == 1 else 's'} not as "
                         "expected (its report.html lists them): part of what it measured is not what its city "
                         "predicts.")
    return notes


def _host_differences(runs: Sequence[Run], each: Callable[[Sequence], str]) -> list[str]:
    capabilities = [_mapping(run.manifest.get("capabilities")) for run in runs]
    notes = []
    datapaths = [c.get("ovs_datapath") for c in capabilities]
    if len(set(map(repr, datapaths))) > 1:
        notes.append(f"The hosts' Open vSwitch datapaths differ ({each(datapaths)}): round trips and losses are "
                     "each host's.")
    checks = [_mapping(c.get("checks")) for c in capabilities]
    for name in sorted({n for c in checks for n in c}):
        present = [bool(_mapping(c.get(name)).get("ok")) if name in c else None for c in checks]
        if len(set(present)) > 1:
            notes.append(f"The hosts could not do the same: {name} " + ", ".join(
                f"{'present' if ok else 'missing' if ok is False else 'not checked'} for {run.label}"
                for run, ok in zip(runs, present, strict=True)) + ".")
    return notes


def _phase_differences(runs: Sequence[Run]) -> list[str]:
    counts = [len(run.phases) for run in runs]
    if len(set(counts)) > 1:
        return ["The runs have different numbers of phases (" + ", ".join(
            f"{run.label} {count}" for run, count in zip(runs, counts, strict=True)) + "): the trajectories line "
            "them up by phase index, not by what each phase does, and the final KPIs are each run's last phase."]
    if len({tuple(run.phases) for run in runs}) > 1:
        return ["The runs' phases have different names at the same index: the trajectories line them up by index, "
                "not by what each phase does."]
    return []


def _kpi_differences(runs: Sequence[Run]) -> list[str]:
    notes = []
    for run in runs:
        if run.kpis is None:
            notes.append(f"{run.label} has no kpis.csv: it has no KPIs to compare.")
    for row in final_table(runs):
        missing = [run.label for run, mine in zip(runs, row["runs"], strict=True) if mine is None]
        empty = [(run.label, mine.get("source")) for run, mine in zip(runs, row["runs"], strict=True)
                 if mine is not None and _number(mine.get("value")) is None]
        what = f"KPI {row['kpi']} {row['name']} ({row['class']})"
        if missing:
            notes.append(f"{what} is not in the final phase of {', '.join(missing)}.")
        if empty and len(empty) < len(runs) - len(missing):
            notes.append(f"{what} has no value at the end of " + "; ".join(
                f"{label} ({html.shown(source)})" for label, source in empty) + ".")
    return notes


def _disruption_differences(runs: Sequence[Run]) -> list[str]:
    notes = []
    for run in runs:
        if run.disruption is None:
            notes.append(f"{run.label} has no disruption.csv (not a rehearsal): it has no changes' disruption to "
                         "compare.")
            continue
        columns = set(run.disruption[0]) if run.disruption else set()
        if not set(FAMILY_COLUMNS) <= columns:
            notes.append(f"{run.label}'s disruption.csv has no datagrams per family (written before they were "
                         "counted so): its IPv4 and IPv6 totals are left out.")
        baseline = run.baseline
        if baseline is None:
            notes.append(f"{run.label}'s disruption.csv has no baseline row (the workload alone): its changes have "
                         "no noise floor to be read against.")
            continue
        lost, broken = _count(run, baseline, "packets_lost"), _count(run, baseline, "cells_broken_during")
        if lost or broken:
            notes.append(f"{run.label}'s baseline, the workload alone before any change, already lost {lost or 0} "
                         f"of {html.shown(baseline.get('packets_sent'))} datagrams and broke {broken or 0} cells: "
                         "read its changes' figures against that noise floor.")
    rehearsals = [run for run in runs if run.disruption is not None]
    if len({len(run.changes) for run in rehearsals}) > 1:
        notes.append("The plans make different numbers of changes (" + ", ".join(
            f"{run.label} {len(run.changes)}" for run in rehearsals) + "): their totals sum different changes.")
    names = [{row.get("change") for row in run.changes} for run in rehearsals]
    if names and len({frozenset(n) for n in names}) > 1:
        every = set.intersection(*names)
        only = [(run.label, sorted(n - every, key=str)) for run, n in zip(rehearsals, names, strict=True) if n - every]
        notes.append("Changes not made by every plan: " + "; ".join(
            f"{label}: {', '.join(str(c) for c in changes)}" for label, changes in only) + ".")
    return notes


def render(runs: Sequence[Run], cities: Sequence[str], figures: Mapping[str, bytes]) -> str:
    """The page."""
    embedded = {name: html.Figure(name, caption, "data:image/png;base64," + base64.b64encode(figures[name]).decode())
                for name, caption in FIGURES.items()}
    return html.environment().get_template(TEMPLATE).render(
        runs=runs, cities=cities, notes=differences(runs), figures=embedded, final=final_table(runs),
        totals=totals_table(runs), first_city=runs[0].city, baseline_change=BASELINE)


def _check_out_dir(out_dir: Path, runs: Sequence[Run]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ResultsError(f"{out_dir}: not a folder; give -o a folder for {CSV}, {PAGE} and the figures")
    for run in runs:
        if out_dir.exists() and out_dir.resolve() == run.folder.resolve():
            raise ResultsError(f"{out_dir}: is the folder of run {run.run_id}; give -o another folder, so that a "
                               "run's folder holds only what its run wrote")


def _create(out_dir: Path) -> list[Path]:
    """Create ``out_dir`` and the folders above it that are missing; those created, the
    deepest first."""
    missing = []
    folder = out_dir
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        for created in missing:
            _remove_empty(created)
        raise ResultsError(f"cannot create {out_dir}: {error.strerror or error}; give -o a folder that can be "
                           "written") from None
    return missing


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass    # not created, or not empty: left as it is

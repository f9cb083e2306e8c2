"""A run's report for people: ``report.html`` in the run folder, one self-contained file
built from what the folder holds (manifest.json, the CSVs, the PNG figures) and nothing
else, so that it can be rebuilt at any time and never says more than the files do.

Self-contained: every figure is embedded as a data URI, the style sheet is inline and
there is no script, so the file opens offline, mailed or archived as it is. The page is
laid out by a Jinja2 template (``templates/report.html.j2``); this module reads the files
and hands the template their values as written. Every number shown is one read from a
file, or a count of a file's rows; the one figure derived is a KPI's change from the
phase before, the exact difference of two values of kpis.csv.
"""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TypeVar

import jinja2

from simulator.measurements.comparison import METRICS
from topologies.errors import ResultsError

REPORT = "report.html"
MANIFEST = "manifest.json"
TEMPLATE = "report.html.j2"
# How a value the files do not give is shown.
MISSING = "–"
# Unexpected cells and disagreeing predictions listed per file; the others are counted.
LISTED = 200
HEATMAP = re.compile(r"connectivity-(\d+)\.png")
# Figures with a section of their own; any other PNG of the folder goes under "other figures".
PLACED = frozenset({"city.png", "timeline.png", "connectivity.png", "families.png", "transition-matrix.png",
                    "comparison.png"})
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
T = TypeVar("T")


@dataclass(frozen=True)
class Figure:
    file: str
    caption: str
    uri: str                       # data:image/png;base64,...


@dataclass(frozen=True)
class KpiTable:
    phase: str
    rows: list[dict]               # kpis.csv's rows of the phase, each with its "change"


@dataclass(frozen=True)
class Tally:
    """Rows of one phase of a matrix file, counted by what one column says."""

    phase: str | None
    rows: int
    yes: int                       # "True" in the column counted
    no: int                        # "False"
    worked: int                    # the measurement said True
    unmeasured: int                # the measurement is empty


@dataclass(frozen=True)
class Cell:
    """A cell listed: as expected or predicted, and as measured."""

    phase: str | None
    cell: str
    expected: str
    measured: str
    error: str | None
    why: str | None


@dataclass(frozen=True)
class Listing:
    file: str
    total: int                     # cells of the file that differ
    cells: list[Cell]              # the first LISTED of them


def write_report(run_dir: Path) -> Path:
    """Build ``report.html`` in ``run_dir`` from the files there and return its path.

    Only a run that finished (manifest status "ok") is reported: a failed or interrupted
    run's files are incomplete, and a report of them would read as a result. Nothing is
    written unless the whole page is: it goes to a temporary file in the folder, renamed
    at the end, so a report.html there is always a whole one."""
    run_dir = Path(run_dir)
    manifest_text, manifest = read_manifest(run_dir)
    page = render(run_dir, manifest, manifest_text)
    return _write_whole(run_dir / REPORT, page)


@dataclass(frozen=True)
class Purpose:
    """What a finished run's folder is read for, in the words of a refusal."""

    none: str                      # "there is no report of it"
    verb: str                      # "a city of 'v6lab up', which measures nothing to <verb>"
    then: str                      # "run its scenario with 'v6lab run ...' <then>"
    only: str                      # "only a run that finished <only>"


REPORTING = Purpose("there is no report of it", "report", "for a report", "has a report")


def read_manifest(run_dir: Path, purpose: Purpose = REPORTING) -> tuple[str, dict]:
    """The manifest of a finished run, as its text and as parsed; a ResultsError that says
    what to do for a folder that is not a run's or a run that did not finish."""
    if not run_dir.is_dir():
        raise ResultsError(f"{run_dir}: no such folder; give a run's folder, results/<scenario>/<run-id>")
    path = run_dir / MANIFEST
    if not path.is_file():
        raise ResultsError(f"{run_dir}: not a run's folder (it has no {MANIFEST}); give the folder a run wrote, "
                           f"results/<scenario>/<run-id>{_runs_below(run_dir)}")
    try:
        text = path.read_text(encoding="utf-8")
        manifest = json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ResultsError(f"{path}: cannot be read as JSON ({error}); the run's manifest is damaged: "
                           "run the scenario again") from None
    if not isinstance(manifest, dict):
        raise ResultsError(f"{path}: holds {type(manifest).__name__}, not a run's manifest (a JSON object); "
                           "run the scenario again")
    refusal = _refusal(run_dir, manifest, purpose)
    if refusal:
        raise ResultsError(refusal)
    return text, manifest


def _runs_below(folder: Path) -> str:
    """'; runs in it: ...' for a scenario's folder, so that the message names what to give."""
    try:
        runs = sorted(p.name for p in folder.iterdir() if (p / MANIFEST).is_file())
    except OSError:
        return ""    # the message stands without the list
    if not runs:
        return ""
    shown = ", ".join(runs[-3:])
    return f"; runs in it: {shown}" + (f" (and {len(runs) - 3} older)" if len(runs) > 3 else "")


def _refusal(run_dir: Path, manifest: Mapping, purpose: Purpose) -> str | None:
    """Why a run's folder cannot be used for ``purpose``, and what to do; None for a run
    that finished."""
    status = manifest.get("status")
    if status == "ok":
        return None
    run = manifest.get("run_id") or run_dir.name
    again = f"'v6lab run {manifest['scenario_file']}'" if manifest.get("scenario_file") else "'v6lab run SCENARIO'"
    if status == "failed":
        return (f"{run_dir}: run {run} failed ({manifest.get('error') or 'no error recorded'}), so its results are "
                f"incomplete and {purpose.none}; fix what failed and run it again with {again}")
    if status == "interrupted":
        return (f"{run_dir}: run {run} was interrupted before it finished, so its results are incomplete and "
                f"{purpose.none}; run it again with {again}")
    if status == "running":
        return (f"{run_dir}: run {run} has not finished (its manifest says 'running'): wait for it to end; if it "
                "died, 'sudo v6lab clean' marks it interrupted")
    if status in ("up", "down"):
        return (f"{run_dir}: a city of 'v6lab up', which measures nothing to {purpose.verb}; run its scenario with "
                f"{again} {purpose.then}")
    return (f"{run_dir}: {MANIFEST} says status {status!r}, not 'ok': only a run that finished {purpose.only}; run "
            f"it again with {again}")


def render(run_dir: Path, manifest: dict, manifest_text: str) -> str:
    """The page, from the run's files."""
    return environment().get_template(TEMPLATE).render(_context(run_dir, manifest, manifest_text))


def environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("simulator.reporting", "templates"), autoescape=True,
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    environment.filters["shown"] = shown
    environment.filters["clock"] = clock
    return environment


def shown(value) -> str:
    """A value as the file wrote it; MISSING for one it leaves empty."""
    return MISSING if value is None or value == "" else str(value)


def clock(epoch) -> str:
    """A time.time() value of a CSV as the UTC time of day, with the file's own fraction
    of a second ("1796217017.159" -> "13:10:17.159"); anything else as written."""
    text = shown(epoch)
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or not (fraction.isdigit() or fraction == ""):
        return text
    return time.strftime("%H:%M:%S", time.gmtime(int(whole))) + (f".{fraction}" if fraction else "")


def _context(run_dir: Path, manifest: dict, manifest_text: str) -> dict:
    """What the template shows, each part None (or empty) when the folder lacks its data."""
    kpi_rows = read_csv(run_dir / "kpis.csv")
    phases = read_csv(run_dir / "phases.csv")
    transition = read_csv(run_dir / "transition-matrix.csv")
    prediction = read_csv(run_dir / "prediction.csv")
    comparison = read_csv(run_dir / "comparison-summary.csv")
    names = phase_names(manifest, phases)
    return {
        "manifest": manifest,
        "manifest_text": manifest_text,
        "versions": sorted(_mapping(manifest.get("versions")).items()),
        "checks": _checks(manifest),
        "city": _figure(run_dir, "city.png", "the city"),
        "kpi_tables": _kpi_tables(kpi_rows or []),
        "phases": phases or [],
        "disruption": read_csv(run_dir / "disruption.csv") or [],
        "timeline": _figure(run_dir, "timeline.png", "the rehearsal over time"),
        "heatmaps": _heatmaps(run_dir, names),
        "families": _figure(run_dir, "families.png", "throughput and bytes per family"),
        "transition": _tallies(transition, "as_expected", "ok") if transition else [],
        "transition_figure": _figure(run_dir, "transition-matrix.png", "the transition matrix"),
        "prediction": _tallies(prediction, "agrees", "measured") if prediction else [],
        "disagreements": _listing("prediction.csv", prediction, "agrees", _disagreement) if prediction else None,
        "unexpected": _unexpected(run_dir),
        "comparison": comparison or [],
        "comparison_figure": _figure(run_dir, "comparison.png", "mechanisms against native IPv6"),
        "metric_labels": METRICS,
        "others": [_figure(run_dir, name, "a figure of the run") for name in _other_figures(run_dir)],
        "listed": LISTED,
    }


def _mapping(value) -> dict:
    return value if isinstance(value, dict) else {}


def _checks(manifest: Mapping) -> list[dict]:
    """The host's capability checks of the manifest, by name: each with ok, detail, what
    its absence disables and the fix."""
    checks = _mapping(_mapping(manifest.get("capabilities")).get("checks"))
    return [{"name": name, "ok": bool(entry.get("ok")), "required": bool(entry.get("required")),
             "detail": entry.get("detail"), "disables": entry.get("disables"), "fix": entry.get("fix")}
            for name, entry in sorted(checks.items()) if isinstance(entry, dict)]


def read_csv(path: Path) -> list[dict[str, str]] | None:
    """A CSV's rows, each field as written ('' when empty), or None when the folder has
    no such file."""
    if not path.is_file():
        return None
    try:
        with path.open(newline="", encoding="utf-8") as source:
            return list(csv.DictReader(source))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ResultsError(f"{path}: cannot be read as CSV ({error}); run the scenario again, or move the file out "
                           "of the folder to report without it") from None


def _figure(run_dir: Path, name: str, caption: str) -> Figure | None:
    """A PNG of the folder as a data URI, or None when there is no such file."""
    path = run_dir / name
    if not path.is_file():
        return None
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ResultsError(f"{path}: cannot be read ({error.strerror or error}); check the folder's "
                           "permissions") from None
    if not data.startswith(PNG_SIGNATURE):
        raise ResultsError(f"{path}: not a PNG image; run the scenario again, or move the file out of the folder "
                           "to report without it")
    return Figure(name, caption, "data:image/png;base64," + base64.b64encode(data).decode("ascii"))


def phase_names(manifest: Mapping, phases: list[dict] | None) -> list[str]:
    """The rehearsal's phases in order, "before" first: the manifest's list, else phases.csv's."""
    listed = manifest.get("phases")
    if isinstance(listed, list) and all(isinstance(name, str) for name in listed):
        return listed
    return [row.get("phase") or "" for row in phases or []]


def _heatmaps(run_dir: Path, names: Sequence[str]) -> list[Figure]:
    """The connectivity matrix of a plain run, or a rehearsal's after each phase (0: before
    the plan), in the phases' order."""
    found: list[Figure | None] = [_figure(run_dir, "connectivity.png", "the connectivity matrix")]
    numbered = sorted((int(m.group(1)), m.group(0)) for p in run_dir.iterdir() if (m := HEATMAP.fullmatch(p.name)))
    for index, name in numbered:
        if index == 0:
            caption = "before the plan"
        elif index < len(names):
            caption = f"after phase {index}, ‘{names[index]}’"
        else:
            caption = f"after phase {index}"
        found.append(_figure(run_dir, name, caption))
    return [figure for figure in found if figure is not None]


def _other_figures(run_dir: Path) -> list[str]:
    return sorted(p.name for p in run_dir.glob("*.png")
                  if p.is_file() and p.name not in PLACED and not HEATMAP.fullmatch(p.name))


def in_order(values: Iterable[T]) -> list[T]:
    """Each value once, where it first comes."""
    return list(dict.fromkeys(values))


def _kpi_tables(rows: list[dict[str, str]]) -> list[KpiTable]:
    """kpis.csv as a table per phase, in the file's order; each row with its change from
    the same KPI and class in the phase before."""
    tables: list[KpiTable] = []
    before: dict[tuple, str | None] = {}
    for phase in in_order(row.get("phase") or "" for row in rows):
        mine = [row for row in rows if (row.get("phase") or "") == phase]
        tables.append(KpiTable(phase, [{**row, "change": change(row.get("value"), before.get(_kpi_key(row)))}
                                       for row in mine]))
        before = {_kpi_key(row): row.get("value") for row in mine}
    return tables


def _kpi_key(row: Mapping[str, str]) -> tuple:
    """A KPI of a subscriber class: the same row in each phase."""
    return row.get("kpi"), row.get("class")


def change(value: str | None, previous: str | None) -> str | None:
    """``value - previous`` of two numbers as kpis.csv writes them, exact ("+6.25", "-12.5",
    "±0"); None when either is missing or not a number."""
    try:
        difference = Decimal(value or "") - Decimal(previous or "")
    except InvalidOperation:
        return None
    if not difference.is_finite():
        return None
    return "±0" if difference == 0 else f"{difference:+}"


def _tallies(rows: list[dict[str, str]], column: str, measured: str) -> list[Tally]:
    """Per phase, in the file's order: rows, how many say True and False in ``column``,
    and how many measured True or nothing in ``measured``."""
    tallies = []
    for phase in in_order(row.get("phase") or "" for row in rows):
        mine = [row for row in rows if (row.get("phase") or "") == phase]
        tallies.append(Tally(phase or None, len(mine), sum(row.get(column) == "True" for row in mine),
                             sum(row.get(column) == "False" for row in mine),
                             sum(row.get(measured) == "True" for row in mine),
                             sum(not row.get(measured) for row in mine)))
    return tallies


def _outcome(value: str | None) -> str:
    return {"True": "works", "False": "fails"}.get(value or "", MISSING)


def _connectivity_cell(row: Mapping[str, str]) -> Cell:
    return Cell(row.get("phase"), f"{row.get('client')} → {row.get('service')} {row.get('family')} "
                f"{row.get('method')}", _outcome(row.get("expected")), _outcome(row.get("ok")), row.get("error"),
                row.get("expected_reason"))


def _transition_cell(row: Mapping[str, str]) -> Cell:
    why = "; ".join(part for part in (row.get("expected_via"), row.get("reference")) if part)
    return Cell(row.get("phase"), f"{row.get('client')} ({row.get('client_kind')}) → {row.get('service')} "
                f"({row.get('service_kind')}) by {row.get('access')}", _outcome(row.get("expected")),
                row.get("verdict") or _outcome(row.get("ok")), row.get("error"), why)


def _reachability_cell(row: Mapping[str, str]) -> Cell:
    return Cell(None, f"{row.get('source')} → {row.get('destination')} {row.get('family')}",
                _outcome(row.get("expected")), _outcome(row.get("ok")), row.get("error"), row.get("expected_reason"))


def _disagreement(row: Mapping[str, str]) -> Cell:
    measured = _outcome(row.get("measured")) if row.get("measured") else "not measured"
    return Cell(row.get("phase"), row.get("cell") or "", _outcome(row.get("predicted")), measured, None, None)


MATRICES = (("connectivity.csv", _connectivity_cell), ("transition-matrix.csv", _transition_cell),
            ("reachability.csv", _reachability_cell))


def _listing(name: str, rows: list[dict[str, str]], column: str, cell) -> Listing:
    """The rows of a file whose ``column`` says False, the first LISTED of them as cells."""
    differ = [row for row in rows if row.get(column) == "False"]
    return Listing(name, len(differ), [cell(row) for row in differ[:LISTED]])


def _unexpected(run_dir: Path) -> list[Listing]:
    """For each matrix file of the folder, its cells that differ from what was expected."""
    found = []
    for name, cell in MATRICES:
        rows = read_csv(run_dir / name)
        if rows is not None:
            found.append(_listing(name, rows, "as_expected", cell))
    return found


def _write_whole(target: Path, text: str) -> Path:
    """Write ``text`` to ``target`` whole: see write_together."""
    write_together({target: text.encode("utf-8")},
                   "check that the folder is writable (a run as root writes it as root: 'sudo v6lab report')")
    return target


def write_together(files: Mapping[Path, bytes], hint: str) -> None:
    """Write each file through a temporary file beside it, then rename them all, in
    order, at the end: a reader never sees half a file, and a failure while writing
    (Ctrl-C included) leaves no temporary file and every file that was there as it was.
    ``hint`` says what to do when the system refuses a write."""
    temporaries: dict[Path, Path] = {}
    current: Path | None = None
    try:
        for target, data in files.items():
            current = target
            temporaries[target] = temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
            with open(temporary, "xb") as out:
                out.write(data)
        for target, temporary in temporaries.items():
            current = target
            os.replace(temporary, target)
    except BaseException as error:
        for temporary in temporaries.values():
            temporary.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ResultsError(f"cannot write {current}: {error.strerror or error}; {hint}") from None
        raise


def finish(folder, manifest: dict, graph, title: str, progress) -> Path | None:
    """The end of a run that went well: the city drawing (``city.png``), the manifest
    marked ok with every file the run wrote, then ``report.html`` from them. A report
    that cannot be built is said, not raised: the run's results are all there."""
    from simulator.reporting.drawing import topology_figure
    folder.write_figure("city.png", topology_figure(graph, title))
    manifest.update(files=[*folder.files, REPORT])
    folder.write_json("manifest.json", manifest)
    try:
        return write_report(folder.path)
    except ResultsError as error:
        progress.warn(f"report.html was not written: {error}; 'v6lab report {folder.path}' tries again")
        return None

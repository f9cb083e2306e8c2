"""simulator.reporting.compare on hand-made run folders, written by the writer runs use
(as test_html_report's are): two plans of one city with chosen KPIs and disruption give
compare.csv's exact rows, a page that embeds every figure and shows the chosen values,
and every refusal leaves OUT_DIR as it was."""

import base64
import csv
import os
from pathlib import Path

import pytest
from test_html_report import CHECKS, Page, change_row, kpi, manifest, tiny_png

from simulator import cli
from simulator.measurements.disruption import BASELINE
from simulator.rehearse import DISRUPTION_COLUMNS
from simulator.reporting import compare as comparing
from simulator.reporting.compare import COLUMNS, compare, differences, disruption_totals, read_runs
from simulator.reporting.kpis import COLUMNS as KPI_COLUMNS
from simulator.reporting.results import RunFolder
from topologies.errors import ResultsError

CITY = "sha256:" + "cd" * 32
OTHER_CITY = "sha256:" + "ef" * 32
ASSIGNMENT, COVERAGE, READINESS = "IPv6 address assignment rate", "Access coverage", "IPv6-only readiness"
HELD, PROVISIONING = "addresses and prefixes held at bring-up", "access networks provisioning IPv6"
XLAT = "transition matrix: cells of IPv6-only and 464XLAT hosts"
ADDRESSES = "2019 target: 90% mobile, 40% fixed; Shanghai 2023: >99% mobile, 84% fixed"
MBB, CUT = "20261203T100000Z-aaaa", "20261203T101500Z-bbbb"


def kpis(last_all: float, readiness: float | None) -> list[dict]:
    """The city before the plan, then after its one phase: only the city-wide address
    assignment and IPv6-only readiness differ between the two plans."""
    return [
        kpi("before", 1, ASSIGNMENT, "fixed", 10.0, 2.0, 30.0, 16, HELD, ADDRESSES),
        kpi("before", 1, ASSIGNMENT, "all", 10.0, 4.0, 25.0, 32, HELD, ADDRESSES),
        kpi("before", 7, COVERAGE, "all", 12.5, None, None, 16, PROVISIONING),
        kpi("dual-stack", 1, ASSIGNMENT, "fixed", 50.0, 30.0, 70.0, 16, HELD, ADDRESSES),
        kpi("dual-stack", 1, ASSIGNMENT, "all", last_all, last_all - 15, last_all + 15, 32, HELD, ADDRESSES),
        kpi("dual-stack", 7, COVERAGE, "all", 50.0, None, None, 16, PROVISIONING),
        kpi("dual-stack", 13, READINESS, "all", readiness, 75.75, 100.0, 12, XLAT),
    ]


def disruption(strategy: str, lost: int, broken: int, baseline_lost: int = 0) -> list[dict]:
    """The baseline, then two changes: a NAT64 that moves nothing, and DS-Lite, which ends
    IPv4 streams (change_row: IPv4 sends all but 100 datagrams and loses all it loses)."""
    return [
        change_row("before", BASELINE, "", 1796300000.0, None, None, baseline_lost, 900, 0.0),
        change_row("dual-stack", "deploy nat64 at c2", strategy, 1796300010.0, 1.5, 1.5, 0, 1200, 0.0),
        change_row("dual-stack", "d2 fixed to ds-lite", strategy, 1796300017.0, 1.25, 1.25, lost, 1100, 2.0,
                   cells_broken_during=broken, flows_stalled=2),
    ]


def run_folder(root: Path, scenario: str, run_id: str, kpi_rows, disruption_rows, columns=DISRUPTION_COLUMNS,
               **manifest_changes) -> Path:
    folder = RunFolder(root, scenario, run_id)
    if kpi_rows is not None:
        folder.write_csv("kpis.csv", kpi_rows, KPI_COLUMNS)
    if disruption_rows is not None:
        folder.write_csv("disruption.csv", disruption_rows, columns)
    (folder.path / "timeline.png").write_bytes(tiny_png(60))
    folder.write_json("manifest.json", manifest(**{
        "scenario": scenario, "scenario_file": f"scenarios/{scenario}.yaml", "run_id": run_id, "topology_hash": CITY,
        "unexpected_cells": 0, "phases": ["before", "dual-stack"], **manifest_changes}))
    return folder.path


@pytest.fixture
def plans(tmp_path) -> tuple[Path, Path]:
    """Make-before-break and cut-over plans of one city."""
    return (run_folder(tmp_path, "plan-mbb", MBB, kpis(40.0, 87.5), disruption("make-before-break", 6, 0)),
            run_folder(tmp_path, "plan-cut", CUT, kpis(45.0, 100.0), disruption("cut-over", 11, 8)))


@pytest.fixture
def out(tmp_path) -> Path:
    return tmp_path / "compared" / "mbb-cut"


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def read_rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as source:
        return list(csv.DictReader(source))


def kpi_row(run, scenario, index, phase, number, name, klass, value, low, high, reference="scenario parameter"):
    return {"run": run, "scenario": scenario, "file": "kpis.csv", "phase_index": str(index), "phase": phase,
            "kpi": str(number), "name": name, "class": klass, "family": "", "value": value, "low": low, "high": high,
            "unit": "%", "reference": reference}


def total(run, scenario, name, family, value, unit):
    return {"run": run, "scenario": scenario, "file": "disruption.csv", "phase_index": "", "phase": "", "kpi": "14",
            "name": name, "class": "all", "family": family, "value": str(value), "low": "", "high": "",
            "unit": unit, "reference": ""}


def expected_rows(run, scenario, last_all, readiness, sent, lost, broken) -> list[dict]:
    return [
        kpi_row(run, scenario, 0, "before", 1, ASSIGNMENT, "fixed", "10.0", "2.0", "30.0", ADDRESSES),
        kpi_row(run, scenario, 0, "before", 1, ASSIGNMENT, "all", "10.0", "4.0", "25.0", ADDRESSES),
        kpi_row(run, scenario, 0, "before", 7, COVERAGE, "all", "12.5", "", ""),
        kpi_row(run, scenario, 1, "dual-stack", 1, ASSIGNMENT, "fixed", "50.0", "30.0", "70.0", ADDRESSES),
        kpi_row(run, scenario, 1, "dual-stack", 1, ASSIGNMENT, "all", last_all, *{
            "40.0": ("25.0", "55.0"), "45.0": ("30.0", "60.0")}[last_all], ADDRESSES),
        kpi_row(run, scenario, 1, "dual-stack", 7, COVERAGE, "all", "50.0", "", ""),
        kpi_row(run, scenario, 1, "dual-stack", 13, READINESS, "all", readiness, "75.75", "100.0"),
        total(run, scenario, "changes", "", 2, "changes"),
        total(run, scenario, "cells broken during changes", "", broken, "cells"),
        total(run, scenario, "datagrams sent", "all", sent, "datagrams"),
        total(run, scenario, "datagrams lost", "all", lost, "datagrams"),
        total(run, scenario, "datagrams sent", "ipv4", sent - 200, "datagrams"),
        total(run, scenario, "datagrams lost", "ipv4", lost, "datagrams"),
        total(run, scenario, "datagrams sent", "ipv6", 200, "datagrams"),
        total(run, scenario, "datagrams lost", "ipv6", 0, "datagrams"),
    ]


def test_compare_csv_has_every_kpi_row_then_each_runs_disruption_totals(plans, out):
    assert compare(plans, out) == out / "compare.html"
    with (out / "compare.csv").open(newline="", encoding="utf-8") as source:
        assert next(csv.reader(source)) == COLUMNS
    # The baseline (900 sent each) is not a change: 1200 + 1100 datagrams sent by the changes.
    assert read_rows(out / "compare.csv") == [
        *expected_rows(MBB, "plan-mbb", "40.0", "87.5", 2300, 6, 0),
        *expected_rows(CUT, "plan-cut", "45.0", "100.0", 2300, 11, 8),
    ]


def test_the_folder_holds_the_csv_the_figures_and_the_page_and_nothing_else(plans, out):
    compare(plans, out)
    assert listing(out) == ["compare.csv", "compare.html", "disruption.png", "final-kpis.png", "trajectories.png"]
    for name in ("disruption.png", "final-kpis.png", "trajectories.png"):
        assert (out / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


@pytest.fixture
def page(plans, out) -> Page:
    return Page(compare(plans, out).read_text(encoding="utf-8"))


def test_every_figure_is_embedded_as_a_data_uri(out, page):
    prefix = "data:image/png;base64,"
    assert [image["alt"] for image in page.images] == [
        "the KPIs phase by phase, the runs overlaid (trajectories.png)",
        "the KPIs at the end of each run, side by side (final-kpis.png)",
        "what each change cost, run by run (disruption.png)"]
    assert [base64.b64decode(image["src"].removeprefix(prefix)) for image in page.images] == [
        (out / name).read_bytes() for name in ("trajectories.png", "final-kpis.png", "disruption.png")]
    text = (out / "compare.html").read_text(encoding="utf-8")
    assert all(link.startswith((prefix, "#")) for link in page.links)
    for outside in ("<script", "<link", "@import", "url(", "http:", "https:"):
        assert outside not in text


def test_the_page_names_both_runs(plans, page):
    assert page.sections == ["runs", "like-for-like", "trajectories", "final", "disruption", "csv"]
    assert page.table("runs")["rows"] == [
        ["plan-mbb", "plan-mbb", MBB, "2026-12-02T13:09:51.690332+00:00", "ok", CITY, "2", "2", str(plans[0])],
        ["plan-cut", "plan-cut", CUT, "2026-12-02T13:09:51.690332+00:00", "ok", CITY, "2", "2", str(plans[1])]]


def test_the_final_kpi_table_has_each_runs_values_side_by_side(page):
    final = page.table("final")
    assert final["header"] == [
        ["#", "KPI", "class", "unit", "plan-mbb, after ‘dual-stack’", "plan-cut, after ‘dual-stack’", "reference"],
        ["value", "low–high", "value", "low–high"]]
    assert final["rows"] == [
        ["1", ASSIGNMENT, "fixed", "%", "50.0", "30.0–70.0", "50.0", "30.0–70.0", ADDRESSES],
        ["1", ASSIGNMENT, "all", "%", "40.0", "25.0–55.0", "45.0", "30.0–60.0", ADDRESSES],
        ["7", COVERAGE, "all", "%", "50.0", "–", "50.0", "–", "scenario parameter"],
        ["13", READINESS, "all", "%", "87.5", "75.75–100.0", "100.0", "75.75–100.0", "scenario parameter"]]


def test_the_disruption_of_each_plan(page):
    assert page.table("totals")["header"] == [["over all changes", "plan-mbb", "plan-cut"]]
    assert page.table("totals")["rows"] == [
        ["changes", "2", "2"], ["cells broken during changes", "0", "8"], ["datagrams lost/sent", "6/2300", "11/2300"],
        ["IPv4 lost/sent", "6/2100", "11/2100"], ["IPv6 lost/sent", "0/200", "0/200"],
        ["baseline lost/sent (the workload alone, not summed)", "0/900", "0/900"]]
    mbb, cut = [table for table in page.tables if table["class"] == "disruption"]
    assert [row[:8] for row in cut["rows"]] == [
        ["before", BASELINE, "baseline", "–", "0", "0", "0", "0/900"],
        ["dual-stack", "deploy nat64 at c2", "cut-over", "1.5", "0", "0", "0", "0/1200"],
        ["dual-stack", "d2 fixed to ds-lite", "cut-over", "1.25", "8", "0", "0", "11/1100"]]
    assert mbb["rows"][2][:8] == ["dual-stack", "d2 fixed to ds-lite", "make-before-break", "1.25", "0", "0", "0",
                                  "6/1100"]


def test_two_plans_of_one_city_are_like_for_like(out, plans):
    text = compare(plans, out).read_text(encoding="utf-8")
    assert 'id="cities"' not in text
    assert "<p>Every run's manifest has the same topology hash: one city.</p>" in text
    assert "<p>Nothing else found: the same seed, backend" in text


def test_runs_of_different_cities_are_refused_and_nothing_is_written(tmp_path, plans, out):
    other = run_folder(tmp_path, "plan-elsewhere", "20261203T110000Z-cccc", kpis(40.0, 87.5),
                       disruption("cut-over", 1, 0), topology_hash=OTHER_CITY)
    before = listing(tmp_path)
    with pytest.raises(ResultsError) as caught:
        compare([plans[0], other], out)
    assert str(caught.value) == (
        f"runs of different cities: {plans[0]} (run {MBB}) has topology_hash {CITY}, but {other} (run "
        f"20261203T110000Z-cccc) has {OTHER_CITY}; plans are compared on one city: give runs whose manifests have "
        "the same topology_hash, or give --allow-different-cities to compare them anyway (the page then says so)")
    assert listing(tmp_path) == before


def test_runs_of_different_cities_compared_anyway_say_so(tmp_path, plans, out):
    other = run_folder(tmp_path, "plan-elsewhere", "20261203T110000Z-cccc", kpis(40.0, 87.5),
                       disruption("cut-over", 1, 0), topology_hash=OTHER_CITY)
    text = compare([plans[0], other], out, allow_different_cities=True).read_text(encoding="utf-8")
    page = Page(text)
    # Said first, before the runs.
    assert text.index('<div class="warning" id="cities">') < text.index('<section id="runs">')
    assert (f"<li>These runs are of different cities: plan-mbb (run {MBB}) has topology_hash {CITY}; plan-elsewhere "
            f"(run 20261203T110000Z-cccc) has topology_hash {OTHER_CITY}.</li>") in text
    assert "<strong>These runs were compared only because --allow-different-cities was given.</strong>" in text
    assert "Every run's manifest has the same topology hash" not in text
    assert [row[5] for row in page.table("runs")["rows"]] == [CITY, OTHER_CITY]


def test_a_run_of_unknown_city_is_refused_unless_allowed(tmp_path, plans, out):
    unknown = run_folder(tmp_path, "plan-old", "20261203T120000Z-dddd", kpis(40.0, 87.5),
                         disruption("cut-over", 1, 0), topology_hash=None)
    with pytest.raises(ResultsError) as caught:
        compare([plans[0], unknown], out)
    assert str(caught.value) == (
        f"{unknown}: run 20261203T120000Z-dddd's manifest has no topology_hash, so its city is unknown and cannot be "
        "shown to be the others'; compare runs whose manifests have one (every run of this v6lab writes it), or give "
        "--allow-different-cities to compare them anyway (the page then says so)")
    assert not out.parent.exists()
    text = compare([plans[0], unknown], out, allow_different_cities=True).read_text(encoding="utf-8")
    assert ("<li>The city of plan-old (run 20261203T120000Z-dddd) is unknown: its manifest has no "
            "topology_hash.</li>") in text


def test_a_failed_run_is_refused(tmp_path, plans, out):
    failed = run_folder(tmp_path, "plan-broken", "20261203T130000Z-eeee", None, None, status="failed",
                        error="BackendError: switch c1 never connected")
    with pytest.raises(ResultsError) as caught:
        compare([plans[0], failed], out)
    assert str(caught.value) == (
        f"{failed}: run 20261203T130000Z-eeee failed (BackendError: switch c1 never connected), so its results are "
        "incomplete and it cannot be compared; fix what failed and run it again with 'v6lab run "
        "scenarios/plan-broken.yaml'")
    assert not out.parent.exists()


def test_an_interrupted_run_is_refused(tmp_path, plans, out):
    stopped = run_folder(tmp_path, "plan-stopped", "20261203T140000Z-ffff", None, None, status="interrupted")
    with pytest.raises(ResultsError) as caught:
        compare([stopped, plans[1]], out)
    assert str(caught.value) == (
        f"{stopped}: run 20261203T140000Z-ffff was interrupted before it finished, so its results are incomplete and "
        "it cannot be compared; run it again with 'v6lab run scenarios/plan-stopped.yaml'")


def test_a_folder_that_is_not_a_run_is_refused_and_out_dir_is_left_as_it_was(tmp_path, plans):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("compare the plans\n")
    out = tmp_path / "earlier"
    out.mkdir()
    (out / "compare.csv").write_text("an earlier comparison\n")
    with pytest.raises(ResultsError) as caught:
        compare([plans[0], notes], out)
    assert str(caught.value) == (f"{notes}: not a run's folder (it has no manifest.json); give the folder a run "
                                 "wrote, results/<scenario>/<run-id>")
    assert listing(out) == ["compare.csv"]
    assert (out / "compare.csv").read_text() == "an earlier comparison\n"


def test_one_run_is_not_a_comparison(plans, out):
    with pytest.raises(ResultsError) as caught:
        compare([plans[0]], out)
    assert str(caught.value) == (f"compare needs two runs or more and was given one ({plans[0]}): give the folders "
                                 "of the runs to compare, 'v6lab compare RUN_DIR RUN_DIR... -o OUT_DIR'")
    assert not out.parent.exists()


def test_a_run_given_twice_is_refused(plans, out):
    with pytest.raises(ResultsError) as caught:
        compare([plans[0], plans[1], plans[0]], out)
    assert str(caught.value) == f"{plans[0]}: run {MBB} is given twice (also as {plans[0]}); give each run once"


def test_a_runs_own_folder_is_not_written_into(plans):
    before = listing(plans[1])
    with pytest.raises(ResultsError) as caught:
        compare(plans, plans[1])
    assert str(caught.value) == (f"{plans[1]}: is the folder of run {CUT}; give -o another folder, so that a run's "
                                 "folder holds only what its run wrote")
    assert listing(plans[1]) == before


def test_a_failed_write_leaves_nothing_behind(plans, out, monkeypatch):
    def full_disk(source, target):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(ResultsError) as caught:
        compare(plans, out)
    assert str(caught.value) == (f"cannot write {out / 'compare.csv'}: No space left on device; check that {out} is "
                                 "writable, or give -o another folder")
    # The folders it created are gone with the temporary files.
    assert not out.parent.exists()


def test_a_second_comparison_replaces_the_first(plans, out):
    compare(plans, out)
    first = (out / "compare.csv").read_bytes()
    compare(list(reversed(plans)), out)
    assert listing(out) == ["compare.csv", "compare.html", "disruption.png", "final-kpis.png", "trajectories.png"]
    assert (out / "compare.csv").read_bytes() != first
    assert read_rows(out / "compare.csv")[0]["run"] == CUT


def test_what_is_less_than_like_for_like_is_said(tmp_path):
    a = run_folder(tmp_path, "plan-a", "run-a", kpis(40.0, 87.5), disruption("make-before-break", 6, 0,
                                                                              baseline_lost=2))
    b = run_folder(tmp_path, "plan-b", "run-b", kpis(45.0, None)[:4] + kpis(45.0, None)[5:],
                   disruption("cut-over", 11, 8)[:2], seed=7, unexpected_cells=3,
                   versions={"v6lab": "0.1.0", "python": "3.11.2", "mininet": "2.3.0"},
                   capabilities={"can_emulate": True, "ovs_datapath": "kernel",
                                 "checks": {**CHECKS, "netem": {**CHECKS["netem"], "ok": True}}},
                   phases=["before", "dual-stack", "ipv6-only"])
    assert differences(read_runs([a, b])) == [
        "The scenarios' seeds differ: plan-a 5, plan-b 7.",
        "Software versions differ: mininet (plan-a –, plan-b 2.3.0).",
        "The hosts' Open vSwitch datapaths differ (plan-a user, plan-b kernel): round trips and losses are each "
        "host's.",
        "The hosts could not do the same: netem missing for plan-a, present for plan-b.",
        "The runs have different numbers of phases (plan-a 2, plan-b 3): the trajectories line them up by phase "
        "index, not by what each phase does, and the final KPIs are each run's last phase.",
        f"KPI 1 {ASSIGNMENT} (all) is not in the final phase of plan-b.",
        f"KPI 13 {READINESS} (all) has no value at the end of plan-b ({XLAT}).",
        "plan-a's baseline, the workload alone before any change, already lost 2 of 900 datagrams and broke 0 "
        "cells: read its changes' figures against that noise floor.",
        "The plans make different numbers of changes (plan-a 2, plan-b 1): their totals sum different changes.",
        "Changes not made by every plan: plan-a: d2 fixed to ds-lite.",
        "plan-b ended with 3 matrix cells not as expected (its report.html lists them): part of what it measured is "
        "not what its city predicts.",
    ]


def test_a_run_without_disruption_or_datagrams_per_family(tmp_path):
    older = [c for c in DISRUPTION_COLUMNS if not c.endswith(("_ipv4", "_ipv6"))]
    a = run_folder(tmp_path, "plan-a", "run-a", kpis(40.0, 87.5), disruption("cut-over", 6, 0), columns=older)
    plain = run_folder(tmp_path, "plain", "run-p", [{**row, "phase": "-"} for row in kpis(40.0, 87.5)[3:]], None,
                       phases=None)
    runs = read_runs([a, plain])
    assert [(t.name, t.family, t.value) for t in disruption_totals(runs[0])] == [
        ("changes", "", 2), ("cells broken during changes", "", 0), ("datagrams sent", "all", 2300),
        ("datagrams lost", "all", 6)]
    assert disruption_totals(runs[1]) == []
    assert runs[1].phases == ["-"]
    notes = differences(runs)
    assert ("plan-a's disruption.csv has no datagrams per family (written before they were counted so): its IPv4 "
            "and IPv6 totals are left out.") in notes
    assert "plain has no disruption.csv (not a rehearsal): it has no changes' disruption to compare." in notes
    assert "The runs' phases have different names at the same index" not in " ".join(notes)
    assert "The runs have different numbers of phases (plan-a 2, plain 1)" in " ".join(notes)


def test_a_count_that_is_not_a_number_is_refused(tmp_path, plans, out):
    rows = disruption("cut-over", 6, 0)
    rows[1]["packets_lost"] = "many"
    damaged = run_folder(tmp_path, "plan-damaged", "run-x", kpis(40.0, 87.5), rows)
    with pytest.raises(ResultsError) as caught:
        compare([plans[0], damaged], out)
    assert str(caught.value) == (f"{damaged / 'disruption.csv'}: change 'deploy nat64 at c2': packets_lost is "
                                 "'many', not a count; run the scenario again, or compare without this run")
    assert not out.parent.exists()


def test_runs_of_one_scenario_are_told_apart_by_their_run_ids(tmp_path):
    first = run_folder(tmp_path, "plan", "run-1", kpis(40.0, 87.5), disruption("cut-over", 6, 0))
    second = run_folder(tmp_path, "plan", "run-2", kpis(40.0, 87.5), disruption("cut-over", 6, 0))
    assert [run.label for run in read_runs([first, second])] == ["plan (run-1)", "plan (run-2)"]


def test_the_trajectories_follow_the_city_wide_class(plans):
    runs = read_runs(plans)
    assert comparing.phase_labels(runs) == ["0 before", "1 dual-stack"]
    assert comparing.trajectories(runs) == {
        f"1 {ASSIGNMENT}": {"plan-mbb": [(10.0, 4.0, 25.0), (40.0, 25.0, 55.0)],
                            "plan-cut": [(10.0, 4.0, 25.0), (45.0, 30.0, 60.0)]},
        f"7 {COVERAGE}": {"plan-mbb": [(12.5, None, None), (50.0, None, None)],
                          "plan-cut": [(12.5, None, None), (50.0, None, None)]},
        f"13 {READINESS}": {"plan-mbb": [(None, None, None), (87.5, 75.75, 100.0)],
                            "plan-cut": [(None, None, None), (100.0, 75.75, 100.0)]},
    }


def test_v6lab_compare(capsys, plans, out):
    assert cli.main(["compare", str(plans[0]), str(plans[1]), "-o", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{out / 'compare.html'}\n"
    assert captured.err == ""
    assert (out / "compare.csv").is_file()


def test_v6lab_compare_of_different_cities(capsys, tmp_path, plans, out):
    other = run_folder(tmp_path, "plan-elsewhere", "run-c", kpis(40.0, 87.5), disruption("cut-over", 1, 0),
                       topology_hash=OTHER_CITY)
    assert cli.main(["compare", str(plans[0]), str(other), "-o", str(out)]) == ResultsError.exit_status == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: runs of different cities: {plans[0]} (run {MBB})")
    assert not out.parent.exists()
    assert cli.main(["compare", str(plans[0]), str(other), "-o", str(out), "--allow-different-cities"]) == 0
    assert capsys.readouterr().out == f"{out / 'compare.html'}\n"


def test_v6lab_compare_of_one_run(capsys, plans, out):
    assert cli.main(["compare", str(plans[0]), "-o", str(out)]) == 1
    assert capsys.readouterr().err == (f"error: compare needs two runs or more and was given one ({plans[0]}): give "
                                       "the folders of the runs to compare, 'v6lab compare RUN_DIR RUN_DIR... -o "
                                       "OUT_DIR'\n")
    assert not out.parent.exists()

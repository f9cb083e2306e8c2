"""simulator.reporting.html on hand-made run folders: report.html is one self-contained
file (figures as data URIs, nothing fetched), each section shows the values of its
file as written, a section without data is left out, and a run that did not finish,
or a folder that is not a run's, is refused with nothing written."""

import base64
import os
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from simulator import cli
from simulator.rehearse import DISRUPTION_COLUMNS, PHASE_COLUMNS, PREDICTION_COLUMNS
from simulator.reporting import html
from simulator.reporting.html import change, clock, write_report
from simulator.reporting.kpis import COLUMNS as KPI_COLUMNS
from simulator.reporting.results import RunFolder
from simulator.runner import CONNECTIVITY_COLUMNS, TRANSITION_COLUMNS
from topologies.errors import ResultsError


def tiny_png(grey: int) -> bytes:
    """A valid 1x1 greyscale PNG; one shade per figure, so that each is told apart."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(bytes([0, grey])))
            + chunk(b"IEND", b""))


class Page(HTMLParser):
    """What a test asks of the page: sections in order, images, every src and href,
    tables (the section they are in, class, data-phase, header and rows of cell text)
    and the text of <pre>."""

    def __init__(self, text: str):
        super().__init__()
        self.sections: list[str] = []
        self.images: list[dict] = []
        self.links: list[str] = []
        self.tables: list[dict] = []
        self.pre = ""
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._in_head = self._in_pre = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[name] for name in ("src", "href") if name in attrs]
        if tag == "section":
            self.sections.append(attrs["id"])
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "table":
            self.tables.append({"section": self.sections[-1], "class": attrs.get("class"),
                                "phase": attrs.get("data-phase"), "header": [], "rows": []})
        elif tag == "thead":
            self._in_head = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "pre":
            self._in_pre = True

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_pre:
            self.pre += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            table = self.tables[-1]
            (table["header"] if self._in_head else table["rows"]).append(self._row)
            self._row = None
        elif tag == "thead":
            self._in_head = False
        elif tag == "pre":
            self._in_pre = False

    def table(self, css_class: str, phase: str | None = None) -> dict:
        found = [t for t in self.tables if t["class"] == css_class and t["phase"] == phase]
        assert len(found) == 1, f"{len(found)} tables of class {css_class!r}, phase {phase!r}"
        return found[0]


CHECKS = {
    "ovs": {"ok": True, "detail": "Open vSwitch 3.1.0", "disables": "", "fix": "", "required": True, "value": ""},
    "netem": {"ok": False, "detail": "tc qdisc netem: Error: Specified qdisc kind is unknown.",
              "disables": "link delay and loss (netem)", "fix": "a kernel with CONFIG_NET_SCH_NETEM (sch_netem)",
              "required": False, "value": ""},
}


def manifest(**changes) -> dict:
    found = {
        "scenario": "mini-plan", "scenario_file": "scenarios/mini-plan.yaml", "run_id": "20261202T130950Z-ab12",
        "resource_prefix": "ab12", "seed": 5, "backend": "emulation",
        "command_line": ["v6lab", "run", "scenarios/mini-plan.yaml"],
        "started": "2026-12-02T13:09:51.690332+00:00", "finished": "2026-12-02T13:11:31.345613+00:00",
        "status": "ok", "topology_hash": "sha256:" + "ab" * 32, "unexpected_cells": 1,
        "versions": {"v6lab": "0.1.0", "python": "3.11.2", "mininet": None},
        "capabilities": {"can_emulate": True, "ovs_datapath": "user", "checks": CHECKS},
        "phases": ["before", "dual-stack"],
    }
    found.update(changes)
    return found


def kpi(phase, number, name, klass, value, low, high, sample, source, reference="scenario parameter"):
    return {"phase": phase, "kpi": number, "name": name, "class": klass, "value": value, "low": low, "high": high,
            "unit": "%", "sample": sample, "reference": reference, "source": source}


ASSIGNMENT, COVERAGE, CONNECTIVITY = "IPv6 address assignment rate", "Access coverage", "IPv6 connectivity rate"
HELD, PROVISIONING = "addresses and prefixes held at bring-up", "access networks provisioning IPv6"
NO_SERVICE = "no IPv6-only web service in the city to test against"
KPIS = [
    kpi("before", 1, ASSIGNMENT, "fixed", 12.5, 3.5, 36.02, 16, HELD),
    kpi("before", 1, ASSIGNMENT, "all", 12.5, 4.97, 28.07, 32, HELD),
    kpi("before", 2, CONNECTIVITY, "all", None, None, None, 0, NO_SERVICE),
    kpi("before", 7, COVERAGE, "fixed", 12.5, None, None, 8, PROVISIONING),
    kpi("dual-stack", 1, ASSIGNMENT, "fixed", 25.0, 10.18, 49.5, 16, HELD),
    kpi("dual-stack", 1, ASSIGNMENT, "all", 18.75, 8.89, 35.31, 32, HELD),
    kpi("dual-stack", 2, CONNECTIVITY, "all", None, None, None, 0, NO_SERVICE),
    kpi("dual-stack", 7, COVERAGE, "fixed", 12.5, None, None, 8, PROVISIONING),
]

PHASES = [
    {"phase": "before", "changes": "", "strategy": "", "started": 1796217007.159, "cells": 704, "unexpected": 0},
    {"phase": "dual-stack", "changes": "deploy nat64 at c2; IPv6 on d1 fixed", "strategy": "make-before-break",
     "started": 1796217030.304, "ready": 1796217058.551, "done": 1796217058.577, "measured": 1796217068.577,
     "cells_broken_during": 0, "packets_sent": 2556, "packets_lost": 7, "packets_sent_ipv4": 2272,
     "packets_lost_ipv4": 7, "packets_sent_ipv6": 284, "packets_lost_ipv6": 0, "flows_reset": 0, "fallbacks": 0,
     "cells": 704, "unexpected": 1, "regressions": 0, "gained": 22},
]


def change_row(phase, name, strategy, started, ready_s, done_s, lost, sent, recovery_s, **more):
    row = {"phase": phase, "change": name, "strategy": strategy, "started": started, "ready_s": ready_s,
           "done_s": done_s, "cells_broken_during": 0, "regressions": 0,
           "gained": 0, "packets_sent": sent, "packets_lost": lost, "packets_sent_ipv4": sent - 100,
           "packets_lost_ipv4": lost, "packets_sent_ipv6": 100, "packets_lost_ipv6": 0, "flows_reset": 0,
           "flows_stalled": 0, "new_flow_s": None, "fallbacks": 0, "recovery_s": recovery_s, "resolution_s": 2.0,
           "predicted_broken": 0, "predicted_transient": 0, "predicted_gained": 0}
    row.update(more)
    return row


DISRUPTION = [
    change_row("before", "none (the workload alone)", "", 1796217012.159, None, None, 0, 900, 0.0,
               resolution_s=1.999),
    change_row("dual-stack", "deploy nat64 at c2", "make-before-break", 1796217030.304, 1.914, 1.944, 0, 1256, 0.0),
    change_row("dual-stack", "IPv6 on d1 fixed", "make-before-break", 1796217037.246, 2.235, 2.265, 7, 1300, None,
               flows_stalled=2, predicted_gained=8),
]

PREDICTION = [
    {"phase": "before", "cell": f"d1f1h1|gov.city.test|ipv4|{method}", "predicted": True, "measured": True,
     "agrees": True} for method in ("ping", "dns", "http")
] + [
    {"phase": "dual-stack", "cell": "d1f1h1|gov.city.test|ipv4|ping", "predicted": True, "measured": True,
     "agrees": True},
    {"phase": "dual-stack", "cell": "d4u1|ns.city.test|ipv4|ping", "predicted": True, "measured": False,
     "agrees": False},
    {"phase": "dual-stack", "cell": "d4u2|ns.city.test|ipv4|ping", "predicted": True, "measured": None,
     "agrees": False},
]


def connectivity_cell(phase, client, ok, as_expected, error=""):
    return {"phase": phase, "client": client, "district": client[:2], "service": "ns.city.test", "server": "i1v1",
            "family": "ipv4", "method": "ping", "target": "11.64.2.2", "expected": True, "ok": ok,
            "as_expected": as_expected, "rtt_ms": 15.1 if ok else None, "error": error,
            "expected_reason": f"IPv4 path {client} > c1 > i1v1"}


CONNECTIVITY_CELLS = [
    connectivity_cell("before", "d4u1", True, True),
    connectivity_cell("dual-stack", "d4u1", False, False, "2 packets transmitted, 0 received, 100% packet loss"),
]


def transition_cell(phase, kind, ok):
    return {"phase": phase, "client": "d1u1", "client_kind": kind, "district": "d1", "service": "shop.city.test",
            "service_kind": "ipv4-only", "access": "name", "expected": True, "ok": ok, "as_expected": True,
            "verdict": "works over NAT64" if ok else "no such cell", "expected_via": "NAT64",
            "reference": "RFC 6146"}


TRANSITION = [transition_cell("before", "ipv6-only", True), transition_cell("dual-stack", "ipv6-only", True),
              transition_cell("dual-stack", "464xlat", None)]

REHEARSAL_FIGURES = {"city.png": 10, "timeline.png": 20, "connectivity-0.png": 30, "connectivity-1.png": 40}


def rehearsal_folder(root: Path, **manifest_changes) -> Path:
    """A rehearsal's folder, written by the writer runs use."""
    folder = RunFolder(root, "mini-plan", "20261202T130950Z-ab12")
    folder.write_csv("kpis.csv", KPIS, KPI_COLUMNS)
    folder.write_csv("phases.csv", PHASES, PHASE_COLUMNS)
    folder.write_csv("disruption.csv", DISRUPTION, DISRUPTION_COLUMNS)
    folder.write_csv("prediction.csv", PREDICTION, PREDICTION_COLUMNS)
    folder.write_csv("connectivity.csv", CONNECTIVITY_CELLS, ["phase", *CONNECTIVITY_COLUMNS])
    folder.write_csv("transition-matrix.csv", TRANSITION, ["phase", *TRANSITION_COLUMNS])
    for name, grey in REHEARSAL_FIGURES.items():
        (folder.path / name).write_bytes(tiny_png(grey))
    folder.write_json("manifest.json", manifest(**manifest_changes))
    return folder.path


@pytest.fixture
def rehearsal(tmp_path) -> Path:
    return rehearsal_folder(tmp_path)


@pytest.fixture
def page(rehearsal) -> Page:
    return Page(write_report(rehearsal).read_text(encoding="utf-8"))


def test_the_report_is_written_in_the_run_folder(rehearsal):
    assert write_report(rehearsal) == rehearsal / "report.html"
    # Nothing else is left: no temporary file.
    assert sorted(p.name for p in rehearsal.iterdir()) == sorted([
        "manifest.json", "kpis.csv", "phases.csv", "disruption.csv", "prediction.csv", "connectivity.csv",
        "transition-matrix.csv", *REHEARSAL_FIGURES, "report.html"])


def test_every_figure_is_embedded_as_a_data_uri(rehearsal, page):
    assert len(page.images) == len(REHEARSAL_FIGURES)
    prefix = "data:image/png;base64,"
    assert all(image["src"].startswith(prefix) for image in page.images)
    embedded = {base64.b64decode(image["src"][len(prefix):]) for image in page.images}
    assert embedded == {tiny_png(grey) for grey in REHEARSAL_FIGURES.values()}
    assert [image["alt"] for image in page.images] == [
        "the city (city.png)", "the rehearsal over time (timeline.png)", "before the plan (connectivity-0.png)",
        "after phase 1, ‘dual-stack’ (connectivity-1.png)"]


def test_nothing_is_fetched_and_nothing_runs(rehearsal, page):
    text = (rehearsal / "report.html").read_text(encoding="utf-8")
    assert page.links, "the page has images and in-page links"
    assert all(not link.startswith(("http:", "https:", "//", "file:")) for link in page.links)
    assert all(link.startswith(("data:image/png;base64,", "#")) for link in page.links)
    for outside in ("<script", "<link", "@import", "url("):
        assert outside not in text


def test_sections_of_a_rehearsal(page):
    assert page.sections == ["run", "city", "kpis", "phases", "disruption", "timeline", "connectivity", "transition",
                             "prediction", "unexpected", "manifest"]


def test_the_run(page):
    facts = dict(page.table("facts")["rows"])
    assert facts["scenario"] == "mini-plan"
    assert facts["run id"] == "20261202T130950Z-ab12"
    assert facts["status"] == "ok"
    assert facts["started"] == "2026-12-02T13:09:51.690332+00:00"
    assert facts["finished"] == "2026-12-02T13:11:31.345613+00:00"
    assert facts["command line"] == "v6lab run scenarios/mini-plan.yaml"
    assert facts["cells not as expected at the end"] == "1"
    assert page.table("versions")["rows"] == [["mininet", "–"], ["python", "3.11.2"], ["v6lab", "0.1.0"]]
    assert page.table("checks")["rows"] == [
        ["netem", "no", "tc qdisc netem: Error: Specified qdisc kind is unknown.", "no"],
        ["ovs", "yes", "Open vSwitch 3.1.0", "yes"]]


def test_the_hosts_limits(rehearsal):
    text = (write_report(rehearsal)).read_text(encoding="utf-8")
    assert ("<strong>netem</strong> is missing (tc qdisc netem: Error: Specified qdisc kind is unknown.). It "
            "disables: link delay and loss (netem). To get it: a kernel with CONFIG_NET_SCH_NETEM (sch_netem).") in text
    assert "<strong>Userspace datapath</strong>" in text


def test_each_kpi_row_with_its_value_interval_and_change(page):
    header = ["#", "KPI", "class", "value", "low–high", "unit", "sample", "reference", "change", "source"]
    before, after = page.table("kpis", "before"), page.table("kpis", "dual-stack")
    assert before["header"] == after["header"] == [header]
    assert before["rows"] == [
        ["1", ASSIGNMENT, "fixed", "12.5", "3.5–36.02", "%", "16", "scenario parameter", "–", HELD],
        ["1", ASSIGNMENT, "all", "12.5", "4.97–28.07", "%", "32", "scenario parameter", "–", HELD],
        ["2", CONNECTIVITY, "all", "–", "–", "%", "0", "scenario parameter", "–", NO_SERVICE],
        ["7", COVERAGE, "fixed", "12.5", "–", "%", "8", "scenario parameter", "–", PROVISIONING],
    ]
    assert after["rows"] == [
        ["1", ASSIGNMENT, "fixed", "25.0", "10.18–49.5", "%", "16", "scenario parameter", "+12.5", HELD],
        ["1", ASSIGNMENT, "all", "18.75", "8.89–35.31", "%", "32", "scenario parameter", "+6.25", HELD],
        ["2", CONNECTIVITY, "all", "–", "–", "%", "0", "scenario parameter", "–", NO_SERVICE],
        ["7", COVERAGE, "fixed", "12.5", "–", "%", "8", "scenario parameter", "±0", PROVISIONING],
    ]


def test_phases_with_their_times_of_day(page):
    rows = page.table("phases")["rows"]
    assert rows == [
        ["before", "–", "–", "13:10:07.159", "–", "–", "–", "–", "–", "–", "–", "–", "–", "704", "0", "–", "–"],
        ["dual-stack", "deploy nat64 at c2; IPv6 on d1 fixed", "make-before-break", "13:10:30.304", "13:10:58.551",
         "13:10:58.577", "13:11:08.577", "0", "7/2556", "7/2272", "0/284", "0", "0", "704", "1", "0", "22"],
    ]


def test_the_disruption_table_has_the_baseline_then_one_row_per_change(page):
    rows = page.table("disruption")["rows"]
    assert len(rows) == len(DISRUPTION)
    assert rows == [
        ["before", "none (the workload alone)", "baseline", "13:10:12.159", "–", "–", "0", "0", "0", "0/900",
         "0/800", "0/100", "0", "0", "–", "0", "0.0 (step 1.999)", "0", "0", "0"],
        ["dual-stack", "deploy nat64 at c2", "make-before-break", "13:10:30.304", "1.914", "1.944", "0", "0", "0",
         "0/1256", "0/1156", "0/100", "0", "0", "–", "0", "0.0 (step 2.0)", "0", "0", "0"],
        ["dual-stack", "IPv6 on d1 fixed", "make-before-break", "13:10:37.246", "2.235", "2.265", "0", "0", "0",
         "7/1300", "7/1200", "0/100", "0", "2", "–", "0", "not recovered", "0", "0", "8"],
    ]


def test_transition_matrix_and_prediction_counted_per_phase(page):
    assert page.table("transition")["rows"] == [["Before the plan", "1", "1", "1", "0", "0"],
                                                ["After phase ‘dual-stack’", "2", "1", "2", "0", "1"]]
    assert page.table("prediction")["rows"] == [["Before the plan", "3", "3", "0", "0"],
                                                ["After phase ‘dual-stack’", "3", "1", "2", "1"]]
    assert page.table("disagreements")["rows"] == [
        ["dual-stack", "d4u1|ns.city.test|ipv4|ping", "works", "fails"],
        ["dual-stack", "d4u2|ns.city.test|ipv4|ping", "works", "not measured"]]


def test_unexpected_cells_listed(rehearsal, page):
    assert page.table("cells")["rows"] == [
        ["dual-stack", "d4u1 → ns.city.test ipv4 ping", "works", "fails",
         "2 packets transmitted, 0 received, 100% packet loss", "IPv4 path d4u1 > c1 > i1v1"]]
    text = (rehearsal / "report.html").read_text(encoding="utf-8")
    assert "<p>1 cell differs.</p>" in text
    # The transition matrix has a heading and says it has none.
    assert '<h3 class="file">transition-matrix.csv</h3>\n<p>None: every cell is as expected.</p>' in text


def test_the_manifest_in_full_at_the_end(rehearsal, page):
    assert page.sections[-1] == "manifest"
    assert page.pre == (rehearsal / "manifest.json").read_text()


def test_a_long_list_of_unexpected_cells_is_cut_and_counted(tmp_path, monkeypatch):
    monkeypatch.setattr(html, "LISTED", 1)
    folder = RunFolder(tmp_path, "plain", "run-1")
    cells = [connectivity_cell("-", f"d4u{n}", False, False) for n in (1, 2, 3)]
    folder.write_csv("connectivity.csv", cells, CONNECTIVITY_COLUMNS)
    folder.write_json("manifest.json", manifest(phases=None))
    text = write_report(folder.path).read_text(encoding="utf-8")
    assert len(Page(text).table("cells")["rows"]) == 1
    assert "<p>3 cells differ; the first 1 are listed, all are in the file.</p>" in text


def plain_folder(root: Path) -> Path:
    """A plain run's folder: one set of KPIs (phase "-"), the figures of a run with
    transition mechanisms, and a figure no section names."""
    folder = RunFolder(root, "transition", "run-2")
    folder.write_csv("kpis.csv", [{**row, "phase": "-"} for row in KPIS[:2]], KPI_COLUMNS)
    folder.write_csv("comparison-summary.csv", [
        {"label": "NAT64", "client": "d1u1", "client_kind": "ipv6-only", "metric": "rtt_ms", "n": 5, "failed": 0,
         "mean": 1.25, "stdev": 0.5, "median": 1.1},
        {"label": "native IPv6", "client": "d1u1", "client_kind": "ipv6-only", "metric": "rtt_ms", "n": 4,
         "failed": 1, "mean": 0.75, "stdev": 0.25, "median": 0.7}],
        ["label", "client", "client_kind", "metric", "n", "failed", "mean", "stdev", "median"])
    for grey, name in enumerate(["connectivity.png", "families.png", "transition-matrix.png", "comparison.png",
                                 "extra.png"]):
        (folder.path / name).write_bytes(tiny_png(grey))
    folder.write_json("manifest.json", manifest(scenario="transition", run_id="run-2", phases=None))
    return folder.path


def test_a_plain_run(tmp_path):
    page = Page(write_report(plain_folder(tmp_path)).read_text(encoding="utf-8"))
    assert page.sections == ["run", "kpis", "connectivity", "families", "transition", "comparison", "figures",
                             "manifest"]
    # One table of KPIs, for the run, without a change column.
    assert page.table("kpis", "-")["rows"] == [
        ["1", ASSIGNMENT, "fixed", "12.5", "3.5–36.02", "%", "16", "scenario parameter", HELD],
        ["1", ASSIGNMENT, "all", "12.5", "4.97–28.07", "%", "32", "scenario parameter", HELD]]
    assert page.table("comparison")["rows"] == [
        ["NAT64", "d1u1", "ipv6-only", "RTT (ms)", "5", "0", "1.25", "0.5", "1.1"],
        ["native IPv6", "d1u1", "ipv6-only", "RTT (ms)", "4", "1", "0.75", "0.25", "0.7"]]
    assert [image["alt"] for image in page.images] == [
        "the connectivity matrix (connectivity.png)", "throughput and bytes per family (families.png)",
        "the transition matrix (transition-matrix.png)", "mechanisms against native IPv6 (comparison.png)",
        "a figure of the run (extra.png)"]


def test_sections_without_data_are_left_out(tmp_path):
    folder = RunFolder(tmp_path, "bare", "run-3")
    folder.write_json("manifest.json", {"scenario": "bare", "run_id": "run-3", "status": "ok"})
    page = Page(write_report(folder.path).read_text(encoding="utf-8"))
    assert page.sections == ["run", "manifest"]
    assert page.images == []
    assert [t["class"] for t in page.tables] == ["facts"]
    assert dict(page.table("facts")["rows"])["finished"] == "–"


def test_the_same_folder_gives_the_same_page(rehearsal):
    first = write_report(rehearsal).read_bytes()
    assert write_report(rehearsal).read_bytes() == first


@pytest.mark.parametrize(("changes", "words"), [
    ({"status": "failed", "error": "BackendError: switch c1 never connected"},
     "run 20261202T130950Z-ab12 failed (BackendError: switch c1 never connected), so its results are incomplete and "
     "there is no report of it; fix what failed and run it again with 'v6lab run scenarios/mini-plan.yaml'"),
    ({"status": "interrupted"},
     "run 20261202T130950Z-ab12 was interrupted before it finished, so its results are incomplete and there is no "
     "report of it; run it again with 'v6lab run scenarios/mini-plan.yaml'"),
    ({"status": "running"},
     "run 20261202T130950Z-ab12 has not finished (its manifest says 'running'): wait for it to end; if it died, "
     "'sudo v6lab clean' marks it interrupted"),
    ({"status": "down"},
     "a city of 'v6lab up', which measures nothing to report; run its scenario with 'v6lab run "
     "scenarios/mini-plan.yaml' for a report"),
])
def test_a_run_that_did_not_finish_is_refused_and_nothing_written(tmp_path, changes, words):
    folder = rehearsal_folder(tmp_path, **changes)
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ResultsError) as caught:
        write_report(folder)
    assert str(caught.value) == f"{folder}: {words}"
    assert sorted(p.name for p in folder.iterdir()) == before


def test_a_folder_that_is_not_a_run_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not a run\n")
    with pytest.raises(ResultsError) as caught:
        write_report(tmp_path)
    assert str(caught.value) == (f"{tmp_path}: not a run's folder (it has no manifest.json); give the folder a run "
                                 "wrote, results/<scenario>/<run-id>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_scenarios_folder_names_its_runs(tmp_path):
    rehearsal_folder(tmp_path)
    with pytest.raises(ResultsError) as caught:
        write_report(tmp_path / "mini-plan")
    assert str(caught.value).endswith("results/<scenario>/<run-id>; runs in it: 20261202T130950Z-ab12")
    assert not (tmp_path / "mini-plan" / "report.html").exists()


def test_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(ResultsError, match="no such folder; give a run's folder"):
        write_report(tmp_path / "nope")
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text('{"status": "ok",')
    with pytest.raises(ResultsError, match=r"manifest.json: cannot be read as JSON .*run the scenario again"):
        write_report(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


def test_a_figure_that_is_not_a_png_leaves_no_report(rehearsal):
    (rehearsal / "timeline.png").write_bytes(b"not a png")
    with pytest.raises(ResultsError, match="timeline.png: not a PNG image"):
        write_report(rehearsal)
    assert not (rehearsal / "report.html").exists()


def test_a_failed_write_leaves_the_old_report_and_no_temporary_file(rehearsal, monkeypatch):
    (rehearsal / "report.html").write_text("the old one")
    before = sorted(p.name for p in rehearsal.iterdir())

    def refuse(source, target):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ResultsError, match="report.html: No space left on device; check that the folder is writable"):
        write_report(rehearsal)
    assert sorted(p.name for p in rehearsal.iterdir()) == before
    assert (rehearsal / "report.html").read_text() == "the old one"


@pytest.mark.parametrize(("value", "previous", "expected"), [
    ("18.75", "12.5", "+6.25"), ("12.5", "25.0", "-12.5"), ("12.5", "12.5", "±0"), ("100.0", "0.0", "+100.0"),
    ("", "12.5", None), ("12.5", None, None), ("n/a", "1", None),
])
def test_change_is_the_exact_difference(value, previous, expected):
    assert change(value, previous) == expected


@pytest.mark.parametrize(("epoch", "shown"), [
    ("1796217017.159", "13:10:17.159"), ("1796217018.41", "13:10:18.41"), ("1796217018", "13:10:18"),
    ("", "–"), (None, "–"), ("soon", "soon"),
])
def test_clock_keeps_the_files_fraction(epoch, shown):
    assert clock(epoch) == shown


def test_v6lab_report(capsys, rehearsal):
    assert cli.main(["report", str(rehearsal)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{rehearsal / 'report.html'}\n"
    assert err == ""
    assert (rehearsal / "report.html").is_file()


def test_v6lab_report_on_a_folder_that_is_not_a_run(capsys, tmp_path):
    assert cli.main(["report", str(tmp_path)]) == ResultsError.exit_status == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"error: {tmp_path}: not a run's folder (it has no manifest.json); give the folder a run wrote, "
                   "results/<scenario>/<run-id>\n")
    assert list(tmp_path.iterdir()) == []


def test_v6lab_report_on_a_failed_run(capsys, tmp_path):
    folder = rehearsal_folder(tmp_path, status="failed", error="KeyboardInterrupt: ")
    assert cli.main(["report", str(folder)]) == 1
    assert "failed (KeyboardInterrupt: )" in capsys.readouterr().err
    assert not (folder / "report.html").exists()



def test_files_written_together_or_not_at_all(tmp_path, monkeypatch):
    first, second = tmp_path / "a.csv", tmp_path / "b.png"
    first.write_bytes(b"old")
    html.write_together({first: b"new", second: b"\x89PNG"}, "check the folder")
    assert (first.read_bytes(), second.read_bytes()) == (b"new", b"\x89PNG")
    opened = []

    def full_disk(path, mode):
        opened.append(Path(path).name)
        if len(opened) == 2:
            raise OSError(28, "No space left on device")
        return open(path, mode)
    monkeypatch.setattr(html, "open", full_disk, raising=False)
    with pytest.raises(ResultsError) as caught:
        html.write_together({first: b"newer", second: b"\x89PNG2"}, "check the folder")
    assert str(caught.value) == f"cannot write {second}: No space left on device; check the folder"
    # Neither was replaced, and no temporary file is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.png"]
    assert (first.read_bytes(), second.read_bytes()) == (b"new", b"\x89PNG")
    assert opened[0].startswith(".a.csv.") and opened[1].startswith(".b.png.")

"""A run's report.html, and two runs compared (compare.html), looked at in a real
browser (headless Chromium, installed by scripts/setup.sh): the page the browser builds
holds every figure of the folder, embedded, and a KPI row for every row of kpis.csv; a
screenshot is saved beside each page (report.png, compare.png) for people to glance at.

The run is the city slice's (scenarios/city-slice.yaml): a plain run with its figures
and KPIs, in well under a minute.
"""

import csv
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

from simulator.model.scenario import REPO_ROOT, load_scenario
from simulator.progress import Progress
from simulator.runner import run_scenario

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def city_slice_run(capabilities, tmp_path_factory):
    return run_scenario(load_scenario(REPO_ROOT / "scenarios" / "city-slice.yaml"),
                        results_root=tmp_path_factory.mktemp("report"), progress=Progress(quiet=True),
                        capabilities=capabilities)


@pytest.fixture(scope="module")
def run(capabilities, tmp_path_factory):
    return city_slice_run(capabilities, tmp_path_factory)


class Page(HTMLParser):
    """What the browser's DOM holds: image sources, and KPI table rows per phase."""

    def __init__(self):
        super().__init__()
        self.images, self.kpi_rows, self._table = [], 0, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "table":
            self._table = attrs.get("class")
        elif tag == "tr" and self._table == "kpis":
            self.kpi_rows += 1

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None


def chromium():
    found = shutil.which("chromium")
    assert found, "chromium is not installed: run 'sudo scripts/setup.sh'"
    return found


def browse(page, shot):
    """The DOM the browser builds from ``page``, parsed; a screenshot of it in ``shot``."""
    dom = subprocess.run([chromium(), *FLAGS, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = Page()
    found.feed(dom.stdout)
    found.kpi_tables = dom.stdout.count('<table class="kpis"')
    taken = subprocess.run([chromium(), *FLAGS, "--window-size=1280,4000", f"--screenshot={shot}", page.as_uri()],
                           capture_output=True, text=True, timeout=120)
    assert taken.returncode == 0 and shot.stat().st_size > 50_000, taken.stderr[-2000:]
    return found


def test_the_report_in_a_real_browser(run):
    page = run.report
    assert page is not None and page.exists()
    figures = sorted(p.name for p in run.path.glob("*.png"))
    found = browse(page, run.path / "report.png")
    assert figures and len(found.images) == len(figures), (figures, len(found.images))
    assert all(src.startswith("data:image/png;base64,") for src in found.images)
    with open(run.path / "kpis.csv") as rows:
        kpis = sum(1 for _ in csv.DictReader(rows))
    # One header row per phase's table, then one row per KPI row of the file.
    assert found.kpi_rows - found.kpi_tables == kpis


def test_two_runs_compared_in_a_real_browser(run, capabilities, tmp_path_factory):
    from simulator.cli import main
    other = city_slice_run(capabilities, tmp_path_factory)
    out = tmp_path_factory.mktemp("compared")
    assert main(["compare", str(run.path), str(other.path), "-o", str(out)]) == 0
    figures = sorted(p.name for p in out.glob("*.png"))
    found = browse(out / "compare.html", out / "compare.png")
    assert figures and len(found.images) == len(figures), (figures, len(found.images))
    assert all(src.startswith("data:image/png;base64,") for src in found.images)

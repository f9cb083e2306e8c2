"""simulator.network.cleanup without a network: which runs left what, the manifests
`v6lab clean` marks interrupted, and the warning `v6lab run` gives about leftovers."""

import json
import os

import pytest

from simulator import runner
from simulator.network import cleanup
from simulator.network.cleanup import Leftovers


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A state folder and a work root of our own, and no tagged process, bridge or link."""
    monkeypatch.setattr(cleanup, "STATE_DIR", tmp_path / "state")
    monkeypatch.setattr(cleanup, "WORK_ROOT", tmp_path / "work")
    (tmp_path / "state").mkdir()
    (tmp_path / "work").mkdir()
    for name in ("tagged_processes", "tagged_bridges", "tagged_links"):
        monkeypatch.setattr(cleanup, name, lambda prefix=None: {})
    return tmp_path


def _killed_run(host, prefix, status="running", pid=None):
    """What a run killed with kill -9 leaves: its state file, work folder and manifest."""
    manifest = host / "results" / prefix / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"resource_prefix": prefix, "status": status, "run_id": f"x-{prefix}"}))
    (host / "work" / f"v6lab-{prefix}").mkdir()
    # pid 0 is never a process of ours: the run is dead.
    (host / "state" / f"{prefix}.json").write_text(json.dumps({"prefix": prefix, "pid": pid or 0,
                                                               "manifest": str(manifest)}))
    return manifest


def test_leftovers_by_run():
    found = Leftovers({11: "va01", 12: "vb02"}, {"va01s1": "va01"}, {"va01s1-e1": "va01"},
                      [cleanup.STATE_DIR / "vb02.json"], [cleanup.WORK_ROOT / "v6lab-va01"])
    assert found.runs() == {"va01", "vb02"}
    assert found.of_run("vb02") == Leftovers({12: "vb02"}, {}, {}, [cleanup.STATE_DIR / "vb02.json"], [])
    assert found.of_run("va01").describe() == (
        f"1 processes (11); OVS bridges va01s1; links va01s1-e1; work folders {cleanup.WORK_ROOT / 'v6lab-va01'}")


def test_clean_marks_the_killed_run_interrupted(host):
    manifest = _killed_run(host, "vk9a")
    _, marked = cleanup.clean_interrupted("vk9a")
    assert marked == [manifest]
    written = json.loads(manifest.read_text())
    assert written["status"] == "interrupted"
    assert written["cleaned_up"] == (f"state files {host / 'state' / 'vk9a.json'}; "
                                     f"work folders {host / 'work' / 'v6lab-vk9a'}")
    assert written["cleaned"].endswith("+00:00")
    assert written["run_id"] == "x-vk9a"   # the rest is kept
    assert not (host / "state" / "vk9a.json").exists()
    assert not (host / "work" / "v6lab-vk9a").exists()


def test_clean_leaves_finished_and_foreign_manifests_alone(host):
    finished = _killed_run(host, "vok1", status="ok")
    # A state file that points at another run's manifest: not this run's to mark.
    foreign = _killed_run(host, "vfo1")
    (host / "state" / "vfo2.json").write_text(json.dumps({"prefix": "vfo2", "pid": 0, "manifest": str(foreign)}))
    (host / "state" / "vfo1.json").unlink()
    _, marked = cleanup.clean_interrupted()
    assert marked == []
    assert json.loads(finished.read_text())["status"] == "ok"
    assert json.loads(foreign.read_text())["status"] == "running"


def test_run_warns_about_what_earlier_runs_left(host):
    _killed_run(host, "vold")
    # A run that is still going (its pid is alive) is not a leftover.
    _killed_run(host, "vliv", pid=os.getppid())
    assert runner.leftover_warnings("vnew") == [
        (f"run vold left state files {host / 'state' / 'vold.json'}; work folders {host / 'work' / 'v6lab-vold'} "
         "behind; remove it with 'v6lab clean --run vold' (this run goes on: its own prefix is vnew)")]


def test_no_warning_on_a_clean_host(host):
    assert runner.leftover_warnings("vnew") == []

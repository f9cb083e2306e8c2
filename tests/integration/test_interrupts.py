"""Ctrl-C during a run, and `v6lab clean` after a run killed outright."""

import json
import os
import re
import signal
import subprocess
import sys
import time

from simulator.model.scenario import REPO_ROOT
from simulator.network import cleanup
from simulator.runner import leftover_warnings

V6LAB = [sys.executable, "-m", "simulator"]
CITY_SLICE = REPO_ROOT / "scenarios" / "city-slice.yaml"


def _start_run(tmp_path):
    # The small city slice: these tests are about teardown, not about the city.
    return subprocess.Popen(V6LAB + ["run", str(CITY_SLICE), "--results", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(process, pattern, timeout=120):
    """Read progress lines until one matches; return the run prefix seen on the way."""
    prefix, deadline = None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        found = re.search(r"run \S+-(v[0-9a-z]{3}):", line)
        if found:
            prefix = found.group(1)
        if re.search(pattern, line):
            return prefix
    process.kill()
    raise AssertionError(f"never saw {pattern!r} in the run's progress")


def test_ctrl_c_tears_everything_down(capabilities, tmp_path):
    process = _start_run(tmp_path)
    prefix = _wait_for(process, "measuring the connectivity matrix")
    assert not cleanup.find_leftovers(prefix).empty  # the network is up
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "interrupted" in err
    found = cleanup.find_leftovers(prefix)
    assert found.empty, found.describe()


def test_clean_removes_what_a_killed_run_left(capabilities, tmp_path):
    process = _start_run(tmp_path)
    prefix = _wait_for(process, "measuring the connectivity matrix")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    left = cleanup.find_leftovers(prefix)
    assert left.processes and left.bridges  # a killed run leaves shells, daemons and bridges
    (manifest,) = tmp_path.glob(f"city-slice/*-{prefix}/manifest.json")
    assert json.loads(manifest.read_text())["status"] == "running"
    # The next run says so, with the command to use.
    warnings = [w for w in leftover_warnings("vnew") if w.startswith(f"run {prefix} ")]
    assert len(warnings) == 1 and f"'v6lab clean --run {prefix}'" in warnings[0]
    out = subprocess.run(V6LAB + ["clean", "--run", prefix], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert f"run {prefix}: removed" in out.stdout
    assert f"marked {manifest} interrupted" in out.stdout
    written = json.loads(manifest.read_text())
    assert written["status"] == "interrupted"
    assert f"OVS bridges {prefix}" in written["cleaned_up"]
    found = cleanup.find_leftovers(prefix)
    assert found.empty, found.describe()

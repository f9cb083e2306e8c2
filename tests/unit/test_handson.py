"""simulator.handson without a city: the session file, and what exec and up refuse.
(tests/integration/test_handson.py brings a real city up and down.)"""

import io
import json
import os
import subprocess

import pytest

from simulator import cli, handson
from topologies.errors import TestbedError


@pytest.fixture
def session_file(tmp_path, monkeypatch):
    path = tmp_path / "session.json"
    monkeypatch.setattr(handson, "SESSION_FILE", path)
    return path


def a_session(pid, **more):
    return {"scenario": "transition", "run_id": "20261202T060000Z-vabc", "prefix": "vabc", "pid": pid,
            "started": "2026-12-02T06:00:00+00:00", "socket": "/nonexistent.sock",
            "nodes": {"d1u1": pid, "c1": pid}, "switches": ["d1r"], **more}


def dead_pid():
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_no_city_up(session_file):
    assert handson.current() is None
    with pytest.raises(TestbedError) as error:
        handson.exec_("d1u1", ["--", "true"])
    assert str(error.value) == "no city is up; start one with 'v6lab up [SCENARIO]'"


def test_a_session_whose_holder_died_is_not_up(session_file):
    session_file.write_text(json.dumps(a_session(dead_pid())))
    assert handson.current() is None
    assert handson._stale()["run_id"] == "20261202T060000Z-vabc"


def test_a_second_up_is_refused(session_file):
    session_file.write_text(json.dumps(a_session(os.getpid())))
    with pytest.raises(TestbedError) as error:
        handson.up(None, None, True, False)
    assert str(error.value) == (
        "a city is already up: transition (run 20261202T060000Z-vabc, since 2026-12-02T06:00:00+00:00); work in it "
        "with 'v6lab exec' or 'v6lab cli', or stop it with 'v6lab down'")


def test_exec_names_what_is_wrong(session_file):
    session_file.write_text(json.dumps(a_session(os.getpid())))
    with pytest.raises(TestbedError) as error:
        handson.exec_("d9u9", ["--", "true"])
    assert str(error.value) == "no node 'd9u9' in the city that is up (transition); its nodes: c1, d1u1"
    with pytest.raises(TestbedError) as error:
        handson.exec_("d1r", ["--", "true"])
    assert str(error.value).startswith("d1r is a switch (an Open vSwitch bridge), not a host or router")
    with pytest.raises(TestbedError) as error:
        handson.exec_("d1u1", ["--"])
    assert str(error.value) == "give the command to run after the node: v6lab exec NODE -- COMMAND..."


def test_exec_parses_the_command_after_the_dashes():
    args = cli.parser().parse_args(["exec", "d1u1", "--", "dig", "+short", "AAAA", "shop.city.test"])
    assert (args.node, args.command) == ("d1u1", ["dig", "+short", "AAAA", "shop.city.test"])
    args = cli.parser().parse_args(["up", "scenarios/transition.yaml", "--cli"])
    assert (args.scenario, args.cli) == ("scenarios/transition.yaml", True)


def test_step_needs_a_plan(capsys):
    """--step on a scenario without a plan is refused before anything is built."""
    from simulator.model.scenario import REPO_ROOT
    if os.geteuid() != 0:
        pytest.skip("the holder refuses before the plan check when not root")
    source = str(REPO_ROOT / "scenarios" / "default-city.yaml")
    assert handson.hold([source, "--run-id", "20261202T060000Z-vabc", "--step", "--quiet"]) == 1
    assert capsys.readouterr().out == (
        f"error: {source}: --step applies a migration plan one phase at a time, and this scenario has none "
        f"('plan:'); 'v6lab up {source}' brings its city up as it is\n")


class Net:
    """Records the states it is moved between, as EmulationBackend.change_state would apply them."""

    def __init__(self):
        self.calls = []

    def change_state(self, before, after, phase, strategy):
        self.calls.append((before, after, phase, strategy))
        return {"started": 10.0, "ready": 11.5, "done": 12.0}


def test_the_stepper_applies_one_phase_per_step_change_by_change():
    from simulator.model.scenario import REPO_ROOT, load_scenario
    from simulator.network.preparation import prepare_rehearsal
    scenario = load_scenario(REPO_ROOT / "scenarios" / "migration-naive.yaml")
    rehearsal = prepare_rehearsal(scenario, "vabc")
    net = Net()
    stepper = handson.Stepper(net, rehearsal, scenario.plan.phases)
    assert stepper.next() == {"index": 1, "count": 3, "phase": "ipv6-only mobile now", "changes": [
        {"change": "deploy nat64 at c2", "strategy": "make-before-break"},
        {"change": "d1 mobile to 464xlat", "strategy": "cut-over"},
        {"change": "d2 mobile to 464xlat without CGN", "strategy": "cut-over"}]}
    lines = io.StringIO()
    reply = stepper.step(lines)
    assert "phase 1 of 3 (ipv6-only mobile now), change 2 of 3: d1 mobile to 464xlat (cut-over) ..." in lines.getvalue()
    states = rehearsal.states
    assert net.calls == [(states[0], states[1], 1, "make-before-break"), (states[1], states[2], 1, "cut-over"),
                         (states[2], states[3], 1, "cut-over")]
    assert reply["applied"][1] == {"change": "d1 mobile to 464xlat", "strategy": "cut-over", "ready_s": 1.5,
                                   "done_s": 2.0}
    assert (reply["index"], reply["next"]["phase"]) == (1, "fixed access")
    stepper.step(io.StringIO())
    stepper.step(io.StringIO())
    assert net.calls[-1][1] is states[-1] and len(net.calls) == len(states) - 1
    assert stepper.next() is None
    with pytest.raises(TestbedError) as error:
        stepper.step(io.StringIO())
    assert str(error.value) == "the plan is done: all 3 phases are applied; 'v6lab down' stops the city"
    assert handson._stepping(None, "step", None)["error"].startswith("this city was brought up without a plan")

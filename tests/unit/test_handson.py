"""simulator.handson without a city: the session file, and what exec and up refuse.
(tests/integration/test_handson.py brings a real city up and down.)"""

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

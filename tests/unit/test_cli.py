"""Bad input at the command line: one clear message, a non-zero exit, nothing started."""

import os
from pathlib import Path

import pytest

from simulator import cli
from simulator.model.preparation import build_graph
from simulator.model.scenario import load_scenario, parse_scenario
from simulator.network.capabilities import Check, HostCapabilities
from simulator.runner import check_host_supports
from topologies.errors import ConfigError, HostError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios"


def run_cli(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_missing_scenario_file(capsys, tmp_path):
    status, out, err = run_cli(capsys, "run", str(tmp_path / "nope.yaml"))
    assert status == 2
    assert err == f"error: {tmp_path / 'nope.yaml'}: no such scenario file; list the examples with " \
                  f"'ls {Path(cli.__file__).resolve().parents[1] / 'scenarios'}'\n"


def test_file_that_does_not_parse(capsys):
    status, _, err = run_cli(capsys, "run", str(FIXTURES / "not-yaml.yaml"))
    assert status == 2
    assert err.startswith(f"error: {FIXTURES / 'not-yaml.yaml'}:")
    assert "not valid YAML" in err
    assert err.count("\n") == 1


def test_every_problem_reported_at_once(capsys):
    status, _, err = run_cli(capsys, "run", str(FIXTURES / "several-problems.yaml"))
    assert status == 2
    lines = err.splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"error: {FIXTURES / 'several-problems.yaml'}: ") for line in lines)


def test_run_without_root(capsys, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    status, _, err = run_cli(capsys, "run")
    assert status == 3
    assert err == "error: emulation needs root (network namespaces, Open vSwitch): run it with sudo\n"


def test_clean_without_root(capsys, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    status, _, err = run_cli(capsys, "clean")
    assert status == 1
    assert "clean needs root" in err


def _caps(**overrides):
    names = ["root", "mininet", "os-ken", "ovs", "ovs-datapath", "netem", "unbound", "iperf3"]
    checks = []
    for name in names:
        ok = overrides.get(name, True)
        checks.append(Check(name, ok, f"{name} detail", "" if ok else f"{name} disables",
                            "" if ok else f"fix {name}", name in names[:5],
                            "user" if name == "ovs-datapath" else ""))
    return HostCapabilities(tuple(checks))


def test_ovs_not_running_is_refused_before_anything_starts():
    graph = build_graph(load_scenario())
    with pytest.raises(HostError) as error:
        check_host_supports(graph, _caps(ovs=False), "city.yaml")
    assert "ovs (ovs detail): fix ovs" in str(error.value)
    assert "v6lab doctor" in str(error.value)


def test_delay_without_netem_is_refused():
    scenario = parse_scenario({"name": "x", "topology": {"params": {}}}, "x.yaml")
    graph = build_graph(scenario)
    a, b = next(iter(graph.edges))
    from dataclasses import replace
    graph.edges[a, b]["spec"] = replace(graph.edges[a, b]["spec"], delay_ms=5.0)
    with pytest.raises(ConfigError, match="no netem"):
        check_host_supports(graph, _caps(netem=False), "x.yaml")
    check_host_supports(graph, _caps(netem=True), "x.yaml")  # with netem it is fine


def test_generator_parameter_of_the_wrong_value():
    scenario = parse_scenario({"name": "x", "topology": {"params": {"subscribers_per_district": 0}}}, "x.yaml")
    with pytest.raises(ConfigError, match=r"^x.yaml: topology.params: subscribers_per_district must be at least 1$"):
        build_graph(scenario)

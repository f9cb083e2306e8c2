"""Scenarios on the city generator: topology.params.spec is a file path, relative to the scenario file."""

import shutil
from pathlib import Path

import pytest

from simulator.model.preparation import build_graph
from simulator.model.scenario import REPO_ROOT, load_scenario
from topologies.city import city
from topologies.errors import ConfigError

DEFAULT_CITY_SCENARIO = REPO_ROOT / "scenarios" / "default-city.yaml"
DEFAULT_CITY = REPO_ROOT / "topologies" / "cities" / "default.yaml"


def write_scenario(folder, spec_line):
    path = folder / "s.yaml"
    path.write_text(f"name: s\ntopology:\n  generator: city\n  params:\n    {spec_line}\n")
    return path


def problems_of(path):
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    return error.value.problems


def test_default_city_scenario(monkeypatch, tmp_path):
    # The relative path in the file is resolved from the scenario's folder, not the working directory.
    monkeypatch.chdir(tmp_path)
    scenario = load_scenario(DEFAULT_CITY_SCENARIO)
    assert scenario.name == "default-city"
    assert scenario.seed == 7
    assert scenario.topology.generator == "city"
    assert dict(scenario.topology.params) == {"spec": str(DEFAULT_CITY)}
    assert Path(scenario.topology.params["spec"]).is_absolute()
    assert scenario.description.startswith(
        "The default city (topologies/cities/default.yaml): four districts on a metro ring\n")


def test_default_city_scenario_builds_the_city():
    graph = build_graph(load_scenario(DEFAULT_CITY_SCENARIO))
    assert graph.name == "default-city"
    assert graph.number_of_nodes() == 151
    assert graph.number_of_edges() == 154
    assert city.PATH_PARAMS == ("spec",)


def test_spec_relative_to_the_scenario_file(tmp_path):
    (tmp_path / "cities").mkdir()
    shutil.copy(DEFAULT_CITY, tmp_path / "cities" / "mine.yaml")
    scenario = load_scenario(write_scenario(tmp_path, "spec: cities/mine.yaml"))
    assert dict(scenario.topology.params) == {"spec": str(tmp_path / "cities" / "mine.yaml")}


def test_absolute_spec_path(tmp_path):
    scenario = load_scenario(write_scenario(tmp_path, f"spec: {DEFAULT_CITY}"))
    assert dict(scenario.topology.params) == {"spec": str(DEFAULT_CITY)}


def test_missing_spec_file(tmp_path):
    path = write_scenario(tmp_path, "spec: missing.yaml")
    assert problems_of(path) == [f"{path}: topology.params.spec: {tmp_path / 'missing.yaml'}: no such file"]


def test_spec_not_a_path(tmp_path):
    path = write_scenario(tmp_path, "spec: 3")
    assert problems_of(path) == [f"{path}: topology.params.spec: expected a file path, got 3"]


def test_spec_is_a_folder(tmp_path):
    (tmp_path / "cities").mkdir()
    path = write_scenario(tmp_path, "spec: cities")
    # It exists, so not "no such file".
    assert problems_of(path) == [f"{path}: topology.params.spec: {tmp_path / 'cities'}: not a file"]


def test_unknown_city_parameter(tmp_path):
    path = write_scenario(tmp_path, "sepc: default.yaml")
    assert problems_of(path) == [
        f"{path}: topology.params.sepc: generator city has no parameter 'sepc' (did you mean 'spec'?)"]


def test_bad_city_spec_surfaces_when_the_graph_is_built(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: bad\ndistricts:\n  - id: pudong\n    mobile: {subscribers: 10, emulated_hosts: 1}\n"
                    "services:\n  - {name: www}\n")
    scenario = load_scenario(write_scenario(tmp_path, "spec: bad.yaml"))
    with pytest.raises(ConfigError) as error:
        build_graph(scenario)
    assert error.value.problems == [
        f"{spec}: districts[0].id: 'pudong': district ids are 1-3 characters, a lower-case letter then letters "
        "or digits (it prefixes node names); give the long name in 'name'"]

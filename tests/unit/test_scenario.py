"""simulator.model.scenario: good and bad scenario files, every problem reported at once."""

from pathlib import Path
from types import MappingProxyType

import pytest

from simulator.model.scenario import (
    DEFAULT_SCENARIO,
    REPO_ROOT,
    Addressing,
    Controller,
    Iperf,
    Measurements,
    Scenario,
    Topology,
    load_scenario,
    parse_scenario,
)
from topologies import errors
from topologies.errors import ConfigError
from topologies.spec import DUAL_STACK, IPV4_ONLY

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios"
CITY_SLICE = REPO_ROOT / "scenarios" / "city-slice.yaml"


def problems_of(path):
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    return error.value.problems


def test_good_minimal():
    path = FIXTURES / "good-minimal.yaml"
    assert load_scenario(path) == Scenario(name="good-minimal", source=str(path))


def test_good_minimal_has_all_defaults():
    scenario = load_scenario(FIXTURES / "good-minimal.yaml")
    assert scenario.description == ""
    assert scenario.seed == 1
    assert scenario.zone == "city.test"
    assert scenario.topology == Topology("city-slice", MappingProxyType({}))
    assert scenario.addressing == Addressing("10.64.0.0/16", "2001:db8:64::/48", 24)
    assert scenario.measurements == Measurements(3, True, True, Iperf(None, None, 3.0))
    assert scenario.controller == Controller("dual-stack", 30.0)


def test_default_scenario_is_the_default_city():
    assert DEFAULT_SCENARIO == REPO_ROOT / "scenarios" / "default-city.yaml"
    scenario = load_scenario()
    assert scenario.name == "default-city"
    assert scenario.topology.generator == "city"
    assert dict(scenario.topology.params) == {
        "spec": str(REPO_ROOT / "topologies" / "cities" / "default.yaml")}
    assert scenario.measurements == Measurements(ping_count=3, http=True, dns=True, iperf=Iperf(duration_s=2.0),
                                                 all_pairs=True)
    assert scenario.controller == Controller(app="dual-stack", connect_timeout_s=60.0)


def test_city_slice_scenario_file():
    scenario = load_scenario(CITY_SLICE)
    assert scenario.name == "city-slice"
    assert scenario.description.startswith(
        "The smallest whole city slice: one metro core, two access districts, one IDC.\n")
    assert scenario.seed == 1
    assert scenario.zone == "city.test"
    assert scenario.topology.generator == "city-slice"
    assert dict(scenario.topology.params) == {
        "subscribers_per_district": 2, "district_families": (DUAL_STACK, IPV4_ONLY)}
    assert scenario.addressing == Addressing("10.64.0.0/16", "2001:db8:64::/48", 24)
    # duration_s: 3 in YAML is an int; the float field takes it as 3.0.
    assert scenario.measurements == Measurements(ping_count=3, http=True, dns=True, iperf=Iperf(duration_s=3.0))
    assert isinstance(scenario.measurements.iperf.duration_s, float)
    assert scenario.controller == Controller(app="dual-stack", connect_timeout_s=30.0)
    assert scenario.source == str(CITY_SLICE)


def test_unknown_top_level_key():
    path = FIXTURES / "unknown-key.yaml"
    # 'colour' is close to no known key, so the message lists them all.
    assert problems_of(path) == [
        f"{path}: colour: unknown key (known keys: addressing, controller, description, "
        "measurements, name, plan, seed, topology, zone)"]


def test_typo_in_nested_key():
    path = FIXTURES / "typo-nested.yaml"
    assert problems_of(path) == [f"{path}: measurements.pnig_count: unknown key (did you mean 'ping_count'?)"]


def test_wrong_type():
    path = FIXTURES / "wrong-type.yaml"
    assert problems_of(path) == [f"{path}: measurements.ping_count: expected int, got 'three'"]


def test_bad_district_mode():
    path = FIXTURES / "bad-mode.yaml"
    assert problems_of(path) == [
        f"{path}: topology.params.districts[1]: unknown mode 'dual-stak' (did you mean 'dual-stack'?)"]


def test_bad_pool():
    path = FIXTURES / "bad-pool.yaml"
    assert problems_of(path) == [f"{path}: addressing.ipv4_pool: 2001:db8::/32 is not an IPv4 network"]


def test_not_yaml():
    path = FIXTURES / "not-yaml.yaml"
    # Line 3 ("  seed: 2"), column 7: the ':' after a plain scalar continuation.
    assert problems_of(path) == [f"{path}:3:7: not valid YAML: mapping values are not allowed here"]


def test_several_problems_in_one_error():
    path = FIXTURES / "several-problems.yaml"
    with pytest.raises(ConfigError) as error:
        load_scenario(path)
    expected = [
        f"{path}: measurements.pnig_count: unknown key (did you mean 'ping_count'?)",
        f"{path}: controller.conect_timeout_s: unknown key (did you mean 'connect_timeout_s'?)",
        f"{path}: addressing.ipv4_pool: 2001:db8::/32 is not an IPv4 network",
    ]
    assert error.value.problems == expected
    assert str(error.value) == "\n".join(expected)
    assert isinstance(error.value, errors.TestbedError)
    assert error.value.exit_status == 2


def test_empty_file():
    path = FIXTURES / "empty.yaml"
    assert problems_of(path) == [
        f"{path}: empty scenario: it needs at least a 'name'",
        f"{path}: name: missing: every scenario has a name (used for results/<name>/)",
    ]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    assert problems_of(path) == [
        f"{path}: no such scenario file; list the examples with 'ls {REPO_ROOT / 'scenarios'}'"]


def test_directory(tmp_path):
    assert problems_of(tmp_path) == [
        f"{tmp_path}: is a folder; give a scenario file; list the examples with 'ls {REPO_ROOT / 'scenarios'}'"]


def test_binary_file(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\xff\xfe\x00name")
    assert problems_of(path) == [f"{path}: not a text file; a scenario is YAML"]


# --- parse_scenario on documents built in the test ---------------------------------


def parse_problems(data):
    with pytest.raises(ConfigError) as error:
        parse_scenario(data, "s.yaml")
    return error.value.problems


def test_top_level_not_a_mapping():
    assert parse_problems(["name", "x"]) == [
        "s.yaml: expected a mapping, got list ['name', 'x']",
        "s.yaml: name: missing: every scenario has a name (used for results/<name>/)",
    ]


def test_bad_name():
    assert parse_problems({"name": "a b"}) == [
        "s.yaml: name: 'a b' must be letters, digits, '-' or '_' (it names a results folder)"]
    assert parse_problems({"name": 7}) == ["s.yaml: name: expected str, got 7"]


def test_bool_is_not_a_number():
    assert parse_problems({"name": "x", "seed": True, "measurements": {"ping_count": False}}) == [
        "s.yaml: seed: expected int, got True",
        "s.yaml: measurements.ping_count: expected int, got False",
    ]


def test_checks_on_values():
    assert parse_problems({
        "name": "x",
        "addressing": {"ipv4_prefixlen": 31, "ipv6_pool": "2001:db8:64::1/48"},
        "measurements": {"ping_count": 0, "iperf": {"duration_s": -1}},
        "controller": {"app": "faucet", "connect_timeout_s": 0},
    }) == [
        "s.yaml: addressing.ipv6_pool: not an IPv6 network: 2001:db8:64::1/48 has host bits set",
        "s.yaml: addressing.ipv4_prefixlen: must be between 8 and 30, got 31",
        "s.yaml: measurements.ping_count: must be positive, got 0",
        "s.yaml: measurements.iperf.duration_s: must be positive, got -1.0",
        "s.yaml: controller.app: unknown app 'faucet' (known: dual-stack)",
        "s.yaml: controller.connect_timeout_s: must be positive, got 0.0",
    ]


def test_topology_problems():
    assert parse_problems({"name": "x", "topology": {"generator": "city-slce"}}) == [
        "s.yaml: topology.generator: unknown generator 'city-slce' (did you mean 'city-slice'?)"]
    assert parse_problems({"name": "x", "topology": {"generator": "mesh"}}) == [
        "s.yaml: topology.generator: unknown generator 'mesh' (known generators: city, city-slice)"]
    assert parse_problems({"name": "x", "topology": {"params": {"districts": ["dual-stack", "nat64"]}}}) == [
        "s.yaml: topology.params.districts[1]: unknown mode 'nat64' (known modes: dual-stack, ipv4-only, "
        "ipv6-only)"]
    assert parse_problems({"name": "x", "topology": {"params": {
        "subscriber_per_district": 2, "district_families": [], "districts": []}}}) == [
        "s.yaml: topology.params.subscriber_per_district: generator city-slice has no parameter "
        "'subscriber_per_district' (did you mean 'subscribers_per_district'?)",
        "s.yaml: topology.params.district_families: generator city-slice has no parameter "
        "'district_families' (did you mean 'districts'?)",
        "s.yaml: topology.params.districts: expected a list of modes such as [dual-stack, ipv4-only]",
    ]


def test_iperf_off_and_on():
    assert parse_scenario({"name": "x", "measurements": {"iperf": None}}).measurements.iperf is None
    assert parse_scenario({"name": "x", "measurements": {"iperf": False}}).measurements.iperf is None
    assert parse_scenario({"name": "x", "measurements": {"iperf": {"client": "d1h1", "duration_s": 2}}}
                          ).measurements.iperf == Iperf(client="d1h1", server=None, duration_s=2.0)


def test_scenario_is_frozen():
    scenario = parse_scenario({"name": "x"})
    with pytest.raises(AttributeError):
        scenario.name = "y"
    with pytest.raises(TypeError):
        scenario.topology.params["subscribers_per_district"] = 3


def test_district_given_as_a_mapping():
    path = FIXTURES / "district-mapping.yaml"
    problems = problems_of(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: topology.params.districts[0]: expected a mode name")


def test_a_rehearsals_workload_pace():
    from simulator.model.scenario import Workload
    assert parse_scenario({"name": "w"}).measurements.workload == Workload(1.0, 2.0, 0.1)
    paced = parse_scenario({"name": "w", "measurements": {"workload": {"interval_s": 0.5, "udp_interval_s": 0.05}}})
    assert paced.measurements.workload == Workload(interval_s=0.5, timeout_s=2.0, udp_interval_s=0.05)
    with pytest.raises(ConfigError) as error:
        parse_scenario({"name": "w", "measurements": {"workload": {"interval_s": 0, "udp_every": 1}}}, "w.yaml")
    assert error.value.problems == [
        "w.yaml: measurements.workload.udp_every: unknown key (known keys: interval_s, timeout_s, udp_interval_s)",
        "w.yaml: measurements.workload.interval_s: must be positive, got 0.0"]

"""simulator.model.scenario's measurements.capture and measurements.comparison, and
simulator.model.preparation.links_to_capture on the transition scenario (scenarios/transition.yaml).

The transition city's translators and their links (see tests/unit/test_city_transition.py):
the NAT64 n64 hangs off core c2 (link c2--n64), the AFTR aftr off core c3 (link aftr--c3).
Each translator has one link, so 'translators' is [(aftr, c3), (n64, c2)], translators in
name order, each captured at its own end.
"""

import dataclasses

import pytest

from simulator.model.preparation import build_graph, links_to_capture
from simulator.model.scenario import (
    REPO_ROOT,
    Comparison,
    Measurements,
    load_scenario,
    parse_scenario,
)
from topologies.errors import ConfigError

TRANSITION = REPO_ROOT / "scenarios" / "transition.yaml"
NOT_A_LINK = "is not a link: write 'a--b' (captured at a's end) or 'translators'"


def measurements(**given):
    return parse_scenario({"name": "x", "measurements": given}, "s.yaml").measurements


def parse_problems(**given):
    with pytest.raises(ConfigError) as error:
        parse_scenario({"name": "x", "measurements": given}, "s.yaml")
    return error.value.problems


# --- measurements.capture ------------------------------------------------------------------------


def test_capture_defaults_to_nothing():
    assert Measurements().capture == ()
    assert measurements().capture == ()
    assert measurements(capture=[]).capture == ()


def test_capture_links_and_translators_kept_in_order():
    assert measurements(capture=["translators", "c2--n64", "d1f1h1--d1f1"]).capture == (
        "translators", "c2--n64", "d1f1h1--d1f1")


def test_capture_bad_link_forms():
    # One dash, an upper-case name, three ends, a leading digit: each reported at its index.
    assert parse_problems(capture=["c2--n64", "c2-n64", "C2--n64", "a--b--c", "2c--n64"]) == [
        f"s.yaml: measurements.capture[1]: 'c2-n64' {NOT_A_LINK}",
        f"s.yaml: measurements.capture[2]: 'C2--n64' {NOT_A_LINK}",
        f"s.yaml: measurements.capture[3]: 'a--b--c' {NOT_A_LINK}",
        f"s.yaml: measurements.capture[4]: '2c--n64' {NOT_A_LINK}",
    ]


def test_capture_translator_is_a_keyword_not_a_typo_fixer():
    assert parse_problems(capture=["translator"]) == [f"s.yaml: measurements.capture[0]: 'translator' {NOT_A_LINK}"]


def test_capture_not_a_list():
    assert parse_problems(capture="c2--n64") == [
        "s.yaml: measurements.capture: expected a list of links such as 'c2--n64' or 'translators', got 'c2--n64'"]
    assert parse_problems(capture={"c2": "n64"}) == [
        "s.yaml: measurements.capture: expected a list of links such as 'c2--n64' or 'translators', "
        "got {'c2': 'n64'}"]


def test_capture_list_with_a_number():
    # Each item is checked where it is: the number at [1].
    assert parse_problems(capture=["c2--n64", 3, "x"]) == [
        f"s.yaml: measurements.capture[1]: 3 {NOT_A_LINK}",
        f"s.yaml: measurements.capture[2]: 'x' {NOT_A_LINK}"]


def test_capture_problems_reported_with_the_others():
    assert parse_problems(capture=["c2-n64"], ping_count=0, comparison={"repeats": 0}) == [
        "s.yaml: measurements.ping_count: must be positive, got 0",
        f"s.yaml: measurements.capture[0]: 'c2-n64' {NOT_A_LINK}",
        "s.yaml: measurements.comparison.repeats: must be positive, got 0",
    ]


# --- measurements.comparison -------------------------------------------------------------------


def test_comparison_off_unless_asked():
    assert Measurements().comparison is None
    assert measurements().comparison is None
    assert measurements(comparison=None).comparison is None
    assert measurements(comparison=False).comparison is None


def test_comparison_true_takes_the_defaults():
    assert measurements(comparison=True).comparison == Comparison(repeats=3, duration_s=1.0, samples=5)
    assert measurements(comparison={}).comparison == Comparison(3, 1.0, 5)


def test_comparison_mapping():
    comparison = measurements(comparison={"repeats": 2, "duration_s": 4, "samples": 10}).comparison
    assert comparison == Comparison(repeats=2, duration_s=4.0, samples=10)
    # duration_s: 4 in YAML is an int; the float field takes it as 4.0.
    assert isinstance(comparison.duration_s, float)
    assert measurements(comparison={"samples": 1}).comparison == Comparison(3, 1.0, 1)


def test_comparison_unknown_keys():
    assert parse_problems(comparison={"repeat": 2}) == [
        "s.yaml: measurements.comparison.repeat: unknown key (did you mean 'repeats'?)"]
    assert parse_problems(comparison={"warmup": 1}) == [
        "s.yaml: measurements.comparison.warmup: unknown key (known keys: duration_s, repeats, samples)"]


def test_comparison_zero_and_negative_refused():
    assert parse_problems(comparison={"repeats": 0, "duration_s": -1, "samples": -5}) == [
        "s.yaml: measurements.comparison.repeats: must be positive, got 0",
        "s.yaml: measurements.comparison.duration_s: must be positive, got -1.0",
        "s.yaml: measurements.comparison.samples: must be positive, got -5",
    ]


def test_comparison_wrong_types():
    assert parse_problems(comparison={"repeats": 2.5, "samples": True}) == [
        "s.yaml: measurements.comparison.repeats: expected int, got 2.5",
        "s.yaml: measurements.comparison.samples: expected int, got True",
    ]
    assert parse_problems(comparison="yes") == ["s.yaml: measurements.comparison: expected a mapping, got str 'yes'"]


def test_transition_scenario_file():
    scenario = load_scenario(TRANSITION)
    assert scenario.measurements.capture == ("translators",)
    assert scenario.measurements.comparison == Comparison(repeats=3, duration_s=1.0, samples=5)


# --- preparation.links_to_capture on the transition city -----------------------------------------------


@pytest.fixture(scope="module")
def transition():
    scenario = load_scenario(TRANSITION)
    return scenario, build_graph(scenario)


def capturing(scenario, *links):
    return dataclasses.replace(scenario, measurements=dataclasses.replace(scenario.measurements, capture=links))


def capture_problems(scenario, graph, *links):
    with pytest.raises(ConfigError) as error:
        links_to_capture(graph, capturing(scenario, *links))
    return error.value.problems


def test_translators_are_the_nat64_and_aftr_links(transition):
    scenario, graph = transition
    assert links_to_capture(graph, scenario) == [("aftr", "c3"), ("n64", "c2")]


def test_links_captured_at_the_first_end(transition):
    scenario, graph = transition
    assert links_to_capture(graph, capturing(scenario, "c2--n64")) == [("c2", "n64")]
    assert links_to_capture(graph, capturing(scenario, "n64--c2")) == [("n64", "c2")]
    # A switch at the far end is fine: c1 captures on its interface towards d1m.
    assert links_to_capture(graph, capturing(scenario, "c1--d1m")) == [("c1", "d1m")]


def test_links_named_twice_captured_once(transition):
    scenario, graph = transition
    assert links_to_capture(graph, capturing(scenario, "translators", "n64--c2", "c1--c2", "c1--c2")) == [
        ("aftr", "c3"), ("n64", "c2"), ("c1", "c2")]


def test_no_captures(transition):
    scenario, graph = transition
    assert links_to_capture(graph, capturing(scenario)) == []


def test_link_that_does_not_exist(transition):
    scenario, graph = transition
    # c1 is on the ring (c2, c3), its district's metro switch d1m, the IDC spine and the outside.
    assert capture_problems(scenario, graph, "translators", "c1--n64") == [
        f"{TRANSITION}: measurements.capture[1]: 'c1--n64' is not a link from a host or "
        "router of this topology (c1's links: c1--c2, c1--c3, c1--d1m, c1--i1s1, c1--xm)"]


def test_link_from_a_switch(transition):
    scenario, graph = transition
    # A capture runs at the first end: the router's end of the same link is suggested.
    assert capture_problems(scenario, graph, "d1m--c1") == [
        f"{TRANSITION}: measurements.capture[0]: 'd1m--c1' starts at switch d1m; a capture is taken at the first "
        "end, which must be a host or router: write 'c1--d1m'"]


def test_link_from_an_unknown_node(transition):
    scenario, graph = transition
    # No such node, so no links to list.
    assert capture_problems(scenario, graph, "zz--c1") == [
        f"{TRANSITION}: measurements.capture[0]: 'zz--c1' is not a link from a host or router of this "
        "topology"]

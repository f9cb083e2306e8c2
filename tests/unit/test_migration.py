"""Migration plans: parsing, checks against the city, and the prediction of every phase.

The migration city (topologies/cities/migration.yaml) has 8 subscriber hosts (d1 and d2,
each 2 CPE LAN hosts and 2 UEs) and 5 services (ns for DNS; gov, school, video, shop
for HTTP). Per client: 5 services x 2 families x 2 methods = 20 connectivity cells and
4 web services x (by name, by IPv4 literal) = 8 transition cells: 28, 224 in all.
"""

from pathlib import Path

import pytest

from simulator.measurements.prediction import predict
from simulator.model.migration import Change, MigrationPlan, Phase, steps
from simulator.model.scenario import load_scenario, parse_scenario
from topologies.city import load_city
from topologies.errors import ConfigError
from topologies.spec import DUAL_STACK, AccessMode

ROOT = Path(__file__).resolve().parents[2]
CITY = str(ROOT / "topologies" / "cities" / "migration.yaml")


def scenario(plan, source="plan.yaml"):
    return parse_scenario({"name": "p", "topology": {"generator": "city", "params": {"spec": CITY}}, "plan": plan},
                          source)


def test_a_plan_is_parsed_into_phases_and_changes():
    parsed = scenario([
        {"phase": "one", "hold_s": 5, "changes": [{"change": "deploy", "translator": "nat64", "core": "c2"}]},
        {"phase": "two", "changes": [
            {"change": "set-mode", "district": "d1", "access": "mobile", "mode": "464xlat", "strategy": "cut-over"},
            {"change": "service", "service": "gov", "families": "dual-stack"}]},
    ]).plan
    assert parsed == MigrationPlan((
        Phase("one", (Change("deploy", "plan[0].changes[0]", translator="nat64", core="c2"),), 5.0),
        Phase("two", (
            Change("set-mode", "plan[1].changes[0]", "cut-over", district="d1", access="mobile",
                   mode=AccessMode.XLAT464),
            Change("service", "plan[1].changes[1]", service="gov", families=DUAL_STACK)), 10.0)))
    assert [c.describe() for c in parsed.phases[1].changes] == ["d1 mobile to 464xlat", "gov to dual-stack"]


def test_every_problem_of_the_file_is_reported_at_once():
    with pytest.raises(ConfigError) as error:
        scenario([
            {"phase": "a", "changes": [{"change": "enable-ipv4", "district": "d1"},
                                       {"change": "set-mode", "district": "d1", "access": "home", "mode": "ipv6"},
                                       {"change": "deploy", "translater": "nat64"}]},
            {"phase": "a", "hold_s": -1, "changes": []},
            {"changes": [{"change": "retire", "translator": "aftr", "strategy": "slowly"}]},
        ])
    assert error.value.problems == [
        "plan.yaml: plan[0].changes[0].change: unknown change 'enable-ipv4' (did you mean 'enable-ipv6'?)",
        "plan.yaml: plan[0].changes[1].access: expected fixed or mobile, got 'home'",
        "plan.yaml: plan[0].changes[1].mode: unknown mode 'ipv6' (did you mean 'ipv6-only'?)",
        "plan.yaml: plan[0].changes[2].translater: unknown key (did you mean 'translator'?)",
        "plan.yaml: plan[0].changes[2].translator: missing: a deploy change names its translator",
        "plan.yaml: plan[1].phase: 'a' names an earlier phase too",
        "plan.yaml: plan[1].hold_s: must be positive, got -1.0",
        "plan.yaml: plan[1].changes: expected a list of changes such as "
        "{change: enable-ipv6, district: d1, access: fixed}",
        "plan.yaml: plan[2].phase: missing: every phase has a name",
        "plan.yaml: plan[2].changes[0].strategy: unknown strategy 'slowly' (known strategies: cut-over, "
        "make-before-break)",
    ]


def _states(plan):
    parsed = scenario(plan)
    spec = load_city(CITY)
    # The city before the plan, then as each phase leaves it.
    return [spec, *(step.city for step in steps(spec, parsed.plan, "plan.yaml") if step.last)]


def test_impossible_transitions_are_refused_with_their_key_paths():
    with pytest.raises(ConfigError) as error:
        _states([
            {"phase": "first", "changes": [
                {"change": "set-mode", "district": "d1", "access": "mobile", "mode": "ds-lite"},
                {"change": "ipv4-off", "district": "d2", "access": "fixed"},
                {"change": "enable-ipv6", "district": "d3", "access": "fixed"},
                {"change": "retire", "translator": "nat64"},
                {"change": "deploy", "translator": "aftr", "core": "c9"},
                {"change": "service", "service": "gov", "families": "ipv4-only"}]},
            {"phase": "second", "changes": [
                {"change": "deploy", "translator": "nat64"},
                {"change": "deploy", "translator": "nat64"},
                {"change": "set-mode", "district": "d1", "access": "fixed", "mode": "ipv6-only"},
                {"change": "retire", "translator": "nat64"}]},
        ])
    assert error.value.problems == [
        "plan.yaml: plan[0].changes[0].mode: ds-lite is for fixed access (a B4 in the home router); mobile access "
        "moves to 464xlat or ipv6-only",
        "plan.yaml: plan[0].changes[1]: d2 fixed is IPv4-only: switching IPv4 off would leave it nothing; "
        "enable IPv6 in an earlier phase",
        "plan.yaml: plan[0].changes[2].district: no district 'd3' in the city (known districts: d1, d2)",
        "plan.yaml: plan[0].changes[3]: nat64 is not deployed at this point: nothing to retire",
        "plan.yaml: plan[0].changes[4].core: no core router 'c9' (known cores: c1, c2, c3)",
        "plan.yaml: plan[0].changes[5].families: gov is already ipv4-only",
        "plan.yaml: plan[1].changes[1]: nat64 is already deployed (at c1); deploying it twice is not a "
        "migration step (to put it at another core: {change: move, translator: nat64, core: c1})",
        # Retiring the NAT64 in the phase that made d1 fixed IPv6-only: the hazard of order.
        "plan.yaml: plan[1].changes[3]: after this change (retire nat64), d1 fixed is ipv6-only with no NAT64 "
        "(with its DNS64): that would cut every IPv4-only service; retire nat64 only once no access needs it",
    ]


def test_changes_apply_in_the_order_listed_so_a_translator_comes_before_its_mode():
    """A rehearsal applies a phase's changes one at a time: an IPv6-only access listed
    before the NAT64 it needs would cut IPv4-only services until the deploy. The gap
    is reported once, at the change that opens it."""
    with pytest.raises(ConfigError) as error:
        _states([{"phase": "v6 only", "changes": [
            {"change": "set-mode", "district": "d1", "access": "mobile", "mode": "464xlat"},
            {"change": "set-mode", "district": "d2", "access": "mobile", "mode": "ipv6-only", "cgn": False},
            {"change": "deploy", "translator": "nat64"}]}])
    assert error.value.problems == [
        f"plan.yaml: plan[0].changes[{i}]: after this change ({what}), {where} is {mode} with no NAT64 (with "
        "its DNS64): that would cut every IPv4-only service; deploy nat64 before this change, in an earlier "
        "phase or earlier in this one ({change: deploy, translator: nat64})"
        for i, what, where, mode in [(0, "d1 mobile to 464xlat", "d1 mobile", "464xlat"),
                                     (1, "d2 mobile to ipv6-only without CGN", "d2 mobile", "ipv6-only")]]
    # Listed deploy first, the same phase is a plan: one step per change, the phase ends at the last.
    from simulator.model.migration import phase_ends
    parsed = scenario([{"phase": "v6 only", "changes": [
        {"change": "deploy", "translator": "nat64"},
        {"change": "set-mode", "district": "d1", "access": "mobile", "mode": "464xlat"}]},
        {"phase": "next", "changes": [{"change": "enable-ipv6", "district": "d1", "access": "fixed"}]}])
    found = steps(load_city(CITY), parsed.plan, "plan.yaml")
    assert [(s.phase, s.change.describe(), s.last) for s in found] == [
        (0, "deploy nat64", False), (0, "d1 mobile to 464xlat", True), (1, "IPv6 on d1 fixed", True)]
    assert [s.city.transition.nat64 for s in found] == ["c1"] * 3
    assert phase_ends(found) == (0, 2, 3)


def test_states_apply_the_phases_in_order():
    before, first, second = _states([
        {"phase": "v6", "changes": [{"change": "enable-ipv6", "district": "d2", "access": "mobile"},
                                    {"change": "deploy", "translator": "nat64", "core": "c2"}]},
        {"phase": "off", "changes": [{"change": "ipv4-off", "district": "d2", "access": "mobile"}]},
    ])
    modes = [(s.districts[1].mobile.mode, s.districts[1].mobile.cgn, s.transition.nat64)
             for s in (before, first, second)]
    assert modes == [(AccessMode.IPV4_ONLY, True, None), (AccessMode.DUAL_STACK, True, "c2"),
                     (AccessMode.IPV6_ONLY, False, "c2")]


def test_the_smooth_plan_is_predicted_to_break_nothing():
    phases = predict(load_scenario(ROOT / "scenarios" / "migration-smooth.yaml"))
    assert [p.name for p in phases] == ["before", "translators first", "dual-stack", "ipv6-only access"]
    assert all(len(p.expected) == 224 for p in phases)
    # Before: each of the 8 IPv4-only clients reaches all 5 services over IPv4 (10
    # connectivity cells) and the 4 web services by name and by literal (8): 144.
    # Dual-stack: 8 IPv6 cells more per client (ns, gov, school, video; ping + http/dns).
    assert [p.working for p in phases[:3]] == [144, 144, 208]
    assert len(phases[2].gained) == 64
    assert [len(p.broken) for p in phases[1:]] == [0, 0, 0]
    assert [c.transient for p in phases[1:] for c in p.changes] == [()] * 11


def test_the_naive_plan_breaks_what_its_cut_overs_touch():
    phases = predict(load_scenario(ROOT / "scenarios" / "migration-naive.yaml"))
    first = phases[1]
    d1_mobile = first.changes[1]
    assert d1_mobile.change.describe() == "d1 mobile to 464xlat"
    # d1's 2 UEs: 18 working cells each before; all still work through the CLAT and
    # the NAT64 after, over another path: 36 broken until the CLAT is up.
    assert len(d1_mobile.transient) == 36
    assert {cell.split("|")[0] for cell in d1_mobile.transient} == {"d1u1", "d1u2"}
    # Enabling IPv6 takes nothing away: even by cut-over, nothing breaks in between.
    assert phases[2].changes[2].change.describe() == "IPv6 on d1 fixed"
    assert phases[2].changes[2].transient == ()
    # Both plans end in the same state.
    smooth = predict(load_scenario(ROOT / "scenarios" / "migration-smooth.yaml"))
    assert phases[-1].expected == smooth[-1].expected


def test_plan_check_prints_the_prediction(capsys):
    from simulator.cli import main
    assert main(["plan", "check", str(ROOT / "scenarios" / "migration-naive.yaml"), "--cells", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:2] == ["before: 144 of 224 cells work",
                                    "  KPIs: IPv6 addresses 0%, access coverage 0%, IPv6-only readiness -"]
    assert "  d1 mobile to 464xlat [cut-over]: touches 56 cells; 36 working cells broken during the cut-over" in out
    assert out.splitlines()[-1] == ("predicted: 0 regressions and 108 cells broken during cut-overs over 3 phases; "
                                    "212 of 224 cells work at the end")


def test_plan_check_of_a_scenario_without_a_plan(capsys):
    from simulator.cli import main
    assert main(["plan", "check", str(ROOT / "scenarios" / "default-city.yaml")]) == 2
    assert "plan: the scenario has no plan" in capsys.readouterr().err


def test_a_plain_run_refuses_a_rehearsal():
    """run_scenario (and 'up') would run the city as it starts and call it the rehearsal."""
    from simulator.runner import run_scenario
    from topologies.errors import TestbedError
    source = str(ROOT / "scenarios" / "migration-smooth.yaml")
    with pytest.raises(TestbedError) as error:
        run_scenario(load_scenario(source), backend="fake")
    assert str(error.value) == (f"{source}: plan: this scenario is a migration rehearsal: 'v6lab run {source}' "
                                f"applies its plan phase by phase under a workload, 'v6lab up {source} --step' one "
                                f"phase at a time by hand; 'v6lab plan check {source}' predicts what each phase "
                                "breaks and gains")


def test_every_state_of_a_rehearsal_keeps_the_addresses_it_shares():
    """The smooth plan's twelve states (before, then after each of its 11 changes),
    numbered for one network: an interface present in
    two states has the same port and addresses in both, except the two access routers
    whose CGN ends (their subscriber-side IPv4 moves from shared space, 100.64.0.0/10,
    to a public block). Translators are in the layout from the start."""
    from simulator.model.migration import phase_ends
    from simulator.model.rehearsal import rehearsal
    found = rehearsal(load_scenario(str(ROOT / "scenarios" / "migration-smooth.yaml")))
    assert found.names == ("before", "translators first", "dual-stack", "ipv6-only access")
    assert {"n64", "aftr"} <= set(found.layout) and "n64" not in found.models[0].graph
    assert len(found.models) == 12 and phase_ends(found.steps) == (0, 2, 8, 11)
    moved = set()
    for a in found.models:
        for b in found.models:
            for key, mine in a.plan.interfaces.items():
                theirs = b.plan.interfaces.get(key)
                if theirs is None:
                    continue
                assert mine.port == theirs.port
                moved |= {(key, f) for f in ("ipv4", "ipv6") if getattr(mine, f) and getattr(theirs, f)
                          and getattr(mine, f) != getattr(theirs, f)}
    assert moved == {(("d2bng", "d2o1"), "ipv4"), (("d2gw", "d2r"), "ipv4")}
    before, after = (m.plan.interfaces[("d2gw", "d2r")].ipv4 for m in (found.models[0], found.models[-1]))
    assert (str(before), str(after)) == ("100.64.0.9/29", "11.64.0.41/29")


def test_each_phase_says_what_it_buys():
    from simulator.reporting.kpis import predicted
    phases = predict(load_scenario(ROOT / "scenarios" / "migration-naive.yaml"))
    first = {(e.kpi, e.subscriber_class): e.value for e in predicted(phases[1].city)}
    # Phase 1 gives IPv6 to both mobile classes (300,000 + 210,000 subscribers) and to no
    # fixed one (120,000 + 90,000): 510,000 of 720,000.
    assert first[(1, "mobile")] == 1.0 and first[(1, "fixed")] == 0.0
    assert first[(1, "all")] == pytest.approx(510_000 / 720_000)
    assert first[(7, "all")] == pytest.approx(510_000 / 720_000)
    # Its 464XLAT UEs reach every service by name and literal: 4 UEs x 8 cells.
    assert first[(13, "all")] == 1.0
    assert predicted(phases[0].city)[-1].value is None        # no IPv6-only host before the plan


def test_a_translator_moves_to_another_core():
    before, after = _states([
        {"phase": "one", "changes": [{"change": "deploy", "translator": "nat64", "core": "c2"}]},
        {"phase": "two", "changes": [{"change": "move", "translator": "nat64", "core": "c3"}]},
    ])[1:]
    assert (before.transition.nat64, after.transition.nat64) == ("c2", "c3")
    with pytest.raises(ConfigError) as error:
        _states([{"phase": "one", "changes": [
            {"change": "move", "translator": "aftr", "core": "c2"},
            {"change": "deploy", "translator": "nat64", "core": "c2"},
            {"change": "move", "translator": "nat64", "core": "c2"},
            {"change": "move", "translator": "nat64", "core": "c7"}]}])
    assert error.value.problems == [
        "plan.yaml: plan[0].changes[0]: aftr is not deployed at this point: nothing to move; deploy it "
        "({change: deploy, translator: aftr, core: c2})",
        "plan.yaml: plan[0].changes[2].core: nat64 is already at c2: nothing moves",
        "plan.yaml: plan[0].changes[3].core: no core router 'c7' (known cores: c1, c2, c3)"]
    with pytest.raises(ConfigError) as error:
        scenario([{"phase": "one", "changes": [{"change": "move", "translator": "nat64"}]}])
    assert error.value.problems == ["plan.yaml: plan[0].changes[0].core: missing: a move change names its core"]


def test_topo_check_dry_runs_each_configuration_of_a_plan_once(monkeypatch, tmp_path):
    """Twelve states of the smooth plan; the city's zone changes twice (gov gains an
    AAAA, school's front gets one), so three configurations of the city's DNS server
    are checked, not twelve, and three of the DNS64 (which serves the zone too), from
    the state the NAT64 is deployed in."""
    from simulator.network import preparation
    from simulator.network.daemons import DnsServer
    given = []
    monkeypatch.setattr(preparation, "dry_run", lambda daemons, folder, as_root=None: (
        given.extend(daemons), preparation.DryRun({}, {}))[1])
    found = preparation.prepare_rehearsal(load_scenario(ROOT / "scenarios" / "migration-smooth.yaml"), "vabc")
    preparation.dry_run_states(found.states, tmp_path)
    servers = [d for d in given if isinstance(d, DnsServer)]
    assert sorted((d.NAME, d.node) for d in servers) == [("dns64", "n64")] * 3 + [("unbound", "i1v1")] * 3

"""`v6lab topo check | draw | export`: a city spec checked, drawn and written out, no network built."""

import json
from pathlib import Path

import networkx as nx
import pytest

from simulator import cli
from simulator.reporting.results import graph_document
from topologies.city import city_graph, load_city
from topologies.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CITY = REPO_ROOT / "topologies" / "cities" / "default.yaml"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cities"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def run_cli(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_check_default_city(capsys, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    status, out, err = run_cli(capsys, "topo", "check", "topologies/cities/default.yaml")
    assert status == 0
    assert err == ""
    assert out.splitlines()[0] == (
        "topologies/cities/default.yaml: city 'default-city' is valid: 151 nodes (57 routers, 19 switches, "
        "75 hosts), 154 links, 66 emulated subscriber hosts")
    # One line per access network: subscribers, emulated hosts, ceil(subscribers / hosts), the IPv6 share.
    assert out.splitlines()[1:8] == [
        "  d1 Old Town: fixed 240,000 subscribers, 12 emulated (1 per 20,000), 84% IPv6-capable",
        "  d1 Old Town: mobile 610,000 subscribers, 8 emulated (1 per 76,250), 99% IPv6-capable",
        "  d2 Harbour: fixed 180,000 subscribers, 12 emulated (1 per 15,000), 75% IPv6-capable",
        "  d2 Harbour: mobile 420,000 subscribers, 8 emulated (1 per 52,500), 95% IPv6-capable",
        "  d3 University: fixed 90,000 subscribers, 12 emulated (1 per 7,500), 50% IPv6-capable",
        "  d3 University: mobile 300,000 subscribers, 8 emulated (1 per 37,500), 90% IPv6-capable",
        "  d4 New District: mobile 150,000 subscribers, 6 emulated (1 per 25,000), 100% IPv6-capable",
    ]
    # Then what the run would prepare: 10 + 9 + 6 dual-stack CPEs get a delegated prefix
    # from Kea on their BNG (d1, d2, d3) and advertise it by radvd, as do the four
    # mobile gateways; the services are ns (Unbound) and six web sites.
    assert out.splitlines()[8:] == [
        "  address plan: 74 segments, 209 interfaces, 25 delegated prefixes; routes for 132 nodes",
        # 151 nodes less 19 switches.
        "  node configurations rendered: 132 routers and hosts",
        "  daemons: 1 unbound, 6 http, 3 kea-dhcp6, 25 dhclient, 29 radvd",
        "  dry runs passed: unbound-checkconf (1), http page (6), radvd --configtest (29)",
        "  not run here: kea-dhcp6 -t: Kea checks that the BNG's interfaces exist",
        ("  not checked here: what this host can run ('v6lab doctor'); the run checks it, and runs every dry run "
         "again inside the nodes"),
    ]


def test_check_bad_city_reports_every_problem(capsys):
    path = FIXTURES / "several-problems.yaml"
    status, out, err = run_cli(capsys, "topo", "check", path)
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 8
    assert all(line.startswith(f"error: {path}: ") for line in lines)
    assert lines[0] == f"error: {path}: metro.mesh_link: unknown key (did you mean 'mesh_links'?)"
    assert lines[-1] == (f"error: {path}: services[1].families: unknown families 'dual' "
                         "(known values: dual-stack, ipv4-only, ipv6-only)")


def test_check_file_that_does_not_parse(capsys):
    path = FIXTURES / "not-yaml.yaml"
    status, _, err = run_cli(capsys, "topo", "check", path)
    assert status == 2
    assert err == f"error: {path}:3:7: not valid YAML: mapping values are not allowed here\n"


def test_missing_city_file(capsys, tmp_path):
    path = tmp_path / "nope.yaml"
    status, out, err = run_cli(capsys, "topo", "check", path)
    assert status == 2
    assert out == ""
    assert err == f"error: {path}: no such city spec file; see topologies/cities/ for examples\n"


@pytest.mark.parametrize("command", ["draw", "export"])
def test_missing_city_file_other_commands(capsys, tmp_path, command):
    path = tmp_path / "nope.yaml"
    status, _, err = run_cli(capsys, "topo", command, path, "-o", tmp_path / "out")
    assert status == 2
    assert err == f"error: {path}: no such city spec file; see topologies/cities/ for examples\n"
    assert not (tmp_path / "out").exists()


def test_draw_writes_a_png(capsys, tmp_path):
    output = tmp_path / "x.png"
    status, out, err = run_cli(capsys, "topo", "draw", DEFAULT_CITY, "-o", output, "--dpi", "30")
    assert status == 0
    assert out == f"wrote {output}\n"
    assert output.read_bytes()[:8] == PNG_SIGNATURE


def test_draw_into_a_missing_folder(capsys, tmp_path):
    # Regression: the FileNotFoundError from savefig escaped cli.main as a traceback.
    output = tmp_path / "no" / "x.png"
    status, out, err = run_cli(capsys, "topo", "draw", DEFAULT_CITY, "-o", output, "--dpi", "30")
    assert status == 1
    assert out == ""
    assert err == f"error: cannot write {output}: folder {output.parent} does not exist\n"
    assert not (tmp_path / "no").exists()


def test_draw_to_an_unknown_format(capsys, tmp_path):
    output = tmp_path / "x.xyz"
    status, out, err = run_cli(capsys, "topo", "draw", DEFAULT_CITY, "-o", output, "--dpi", "30")
    assert status == 1
    assert out == ""
    assert err == f"error: cannot write {output}: give a file name ending in .pdf, .png, .svg\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["x", "folder"])
def test_draw_says_what_it_wrote(capsys, tmp_path, name):
    (tmp_path / "folder").mkdir()
    output = tmp_path / name
    status, out, err = run_cli(capsys, "topo", "draw", DEFAULT_CITY, "-o", output, "--dpi", "30")
    # Either it writes the file it names, or it refuses with one error line.
    if status == 0:
        assert out.startswith("wrote ")
        assert Path(out[len("wrote "):].rstrip("\n")).is_file()
    else:
        assert status == 1
        assert err.startswith(f"error: cannot write {output}")


def test_export_json(capsys, tmp_path):
    output = tmp_path / "city.json"
    status, out, _ = run_cli(capsys, "topo", "export", DEFAULT_CITY, "--format", "json", "-o", output)
    assert status == 0
    assert out == f"wrote {output}\n"
    document = json.loads(output.read_text())
    assert len(document["nodes"]) == 151
    assert len(document["links"]) == 154
    assert document == graph_document(city_graph(load_city(DEFAULT_CITY)))
    x2 = next(n for n in document["nodes"] if n["name"] == "x2")
    assert x2 == {"name": "x2", "role": "server", "families": ["ipv4"], "district": "outside",
                  "subscriber_class": None, "represents": 0, "mode": None, "cgn": False, "fronts": [],
                  "services": [{"name": "shop", "kind": "http", "families": ["ipv4"]}]}


def test_export_graphml_reads_back(capsys, tmp_path):
    output = tmp_path / "city.graphml"
    status, out, _ = run_cli(capsys, "topo", "export", DEFAULT_CITY, "-o", output)
    assert status == 0
    assert out == f"wrote {output}\n"
    graph = nx.read_graphml(output)
    assert graph.number_of_nodes() == 151
    assert graph.number_of_edges() == 154
    assert graph.nodes["c1"] == {"role": "core-router", "kind": "router", "families": "ipv4,ipv6",
                                 "district": "", "subscriber_class": "", "services": "", "represents": 0}
    assert graph.nodes["x3"]["role"] == "server"
    assert graph.nodes["x3"]["families"] == "ipv6"
    assert graph.nodes["x3"]["services"] == "lab6:http"
    assert graph.nodes["i1v1"]["services"] == "ns:dns"
    assert graph.nodes["d1u1"]["represents"] == 76250
    assert graph.nodes["d1u1"]["subscriber_class"] == "mobile"
    assert graph.edges["xs", "x2"] == {"families": "ipv4", "bandwidth_mbps": 0.0, "delay_ms": 0.0}


@pytest.mark.parametrize("format_", ["graphml", "json"])
def test_export_into_a_missing_folder(capsys, tmp_path, format_):
    output = tmp_path / "no" / f"city.{format_}"
    status, out, err = run_cli(capsys, "topo", "export", DEFAULT_CITY, "--format", format_, "-o", output)
    assert status == 1
    assert out == ""
    assert err == f"error: cannot write {output}: folder {tmp_path / 'no'} does not exist\n"
    assert not (tmp_path / "no").exists()


def test_export_onto_a_folder(capsys, tmp_path):
    status, out, err = run_cli(capsys, "topo", "export", DEFAULT_CITY, "-o", tmp_path)
    assert status == 1
    assert out == ""
    assert err.startswith(f"error: cannot write {tmp_path}")
    assert len(err.splitlines()) == 1


def test_export_default_output_is_named_after_the_city(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, _ = run_cli(capsys, "topo", "export", DEFAULT_CITY)
    assert status == 0
    assert out == "wrote default-city.graphml\n"
    assert nx.read_graphml(tmp_path / "default-city.graphml").number_of_nodes() == 151


@pytest.mark.parametrize("name", ["city.json", "CITY.JSON"])
def test_export_format_follows_the_extension(capsys, tmp_path, name):
    output = tmp_path / name
    status, out, _ = run_cli(capsys, "topo", "export", DEFAULT_CITY, "-o", output)
    assert (status, out) == (0, f"wrote {output}\n")
    assert json.loads(output.read_text()) == graph_document(city_graph(load_city(DEFAULT_CITY)))


def test_export_format_option_wins_over_the_extension(capsys, tmp_path):
    output = tmp_path / "city.json"
    status, _, _ = run_cli(capsys, "topo", "export", DEFAULT_CITY, "-o", output, "--format", "graphml")
    assert status == 0
    assert nx.read_graphml(output).number_of_nodes() == 151


def test_export_to_an_unknown_extension(capsys, tmp_path):
    output = tmp_path / "city.txt"
    status, out, err = run_cli(capsys, "topo", "export", DEFAULT_CITY, "-o", output)
    assert (status, out) == (1, "")
    assert err == f"error: cannot write {output}: give a file name ending in .graphml or .json, or say --format " \
                  "graphml|json\n"
    assert not output.exists()


@pytest.mark.parametrize("format_", ["graphml", "json"])
def test_export_where_nothing_can_be_written(capsys, format_):
    # /proc exists as a folder, and no file can be made in it: one line, no traceback.
    status, out, err = run_cli(capsys, "topo", "export", DEFAULT_CITY, "-o", f"/proc/v6lab-x.{format_}")
    assert (status, out) == (1, "")
    assert err == f"error: cannot write /proc/v6lab-x.{format_}: No such file or directory\n"


def test_topo_needs_a_subcommand(capsys, monkeypatch):
    # The error names the choices, not the internal dest 'topo_command'.
    monkeypatch.setenv("COLUMNS", "100")
    with pytest.raises(SystemExit) as exit_:
        cli.main(["topo"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "usage: v6lab topo [-h] {check,draw,export} ...",
        "v6lab topo: error: the following arguments are required: {check,draw,export}",
    ]


def test_check_summarises_modes_and_translators(capsys):
    city = Path(__file__).resolve().parents[2] / "topologies" / "cities" / "transition.yaml"
    status, out, _ = run_cli(capsys, "topo", "check", str(city))
    assert status == 0
    assert out.splitlines()[1:8] == [
        "  d1 Old Town: fixed 20,000 subscribers, 2 emulated (1 per 10,000), 50% IPv6-capable, IPv4 behind a CGN",
        "  d1 Old Town: mobile 50,000 subscribers, 2 emulated (1 per 25,000), 100% IPv6-capable, mode ipv6-only",
        "  d2 Harbour: fixed 30,000 subscribers, 2 emulated (1 per 15,000), 100% IPv6-capable, mode ds-lite",
        "  d2 Harbour: mobile 60,000 subscribers, 2 emulated (1 per 30,000), 100% IPv6-capable, mode 464xlat",
        "  d3 Campus: fixed 8,000 subscribers, 1 emulated (1 per 8,000), 100% IPv6-capable, mode 464xlat",
        "  d3 Campus: mobile 12,000 subscribers, 2 emulated (1 per 6,000), 50% IPv6-capable, IPv4 behind a CGN",
        "  translators: NAT64 + DNS64 on c2, DS-Lite AFTR on c3; NAT64 prefix 64:ff9b::/96",
    ]


# --- topo check runs what run runs before it builds the network ---------------------------------


EXHAUSTED = "prefixes.ipv4_public: IPv4 pool 11.64.0.0/28 is exhausted at i1 (needs a /26); " \
            "give a larger ipv4_public (or ipv4_outside) prefix"


def test_check_refuses_a_city_whose_plan_does_not_fit(capsys, monkeypatch):
    # The spec parses and the graph builds; only the address plan finds that the
    # IDC's segments alone need a /26 of a /28 block.
    monkeypatch.chdir(REPO_ROOT)
    path = "tests/fixtures/cities/exhausted-pool.yaml"
    status, out, err = run_cli(capsys, "topo", "check", path)
    assert status == 2
    assert out == ""
    assert err == f"error: {path}: {EXHAUSTED}\n"


def _refuse_to_build(monkeypatch):
    """A run that got past the checks would need root: make it stop there instead."""
    from simulator import runner
    monkeypatch.setattr(runner.os, "geteuid", lambda: 1000)


def test_run_and_check_refuse_a_scenario_with_the_same_message(capsys, monkeypatch):
    _refuse_to_build(monkeypatch)
    scenario = REPO_ROOT / "tests" / "fixtures" / "scenarios" / "exhausted-pool.yaml"
    city = (scenario.parent / "../cities/exhausted-pool.yaml").resolve()
    run_status, run_out, run_err = run_cli(capsys, "run", scenario, "--quiet")
    check_status, check_out, check_err = run_cli(capsys, "topo", "check", scenario)
    assert run_status == check_status == 2
    assert run_out == check_out == ""
    # Located in the city file the scenario names, where the fix goes.
    assert run_err == check_err == f"error: {city}: {EXHAUSTED}\n"
    # And checking that city file itself says the same.
    assert run_cli(capsys, "topo", "check", city) == (2, "", run_err)


def test_run_and_check_share_the_preparation(monkeypatch):
    from simulator import runner
    from simulator.model.scenario import load_scenario
    from simulator.network import preparation
    assert runner.prepare is preparation.prepare
    _refuse_to_build(monkeypatch)
    with pytest.raises(ConfigError) as from_run:
        runner.run_scenario(load_scenario(REPO_ROOT / "tests" / "fixtures" / "scenarios" / "exhausted-pool.yaml"))
    with pytest.raises(ConfigError) as from_check:
        cli._check(type("Args", (), {"file": REPO_ROOT / "tests" / "fixtures" / "scenarios" / "exhausted-pool.yaml"}))
    assert from_run.value.problems == from_check.value.problems


def test_check_refuses_what_a_scenario_measures_wrongly(capsys, monkeypatch, tmp_path):
    # All-pairs reachability is not modelled through softwires: refused by the run
    # before it builds, so by the check too.
    _refuse_to_build(monkeypatch)
    path = tmp_path / "pairs.yaml"
    path.write_text(f"name: pairs\ntopology:\n  generator: city\n  params:\n"
                    f"    spec: {REPO_ROOT / 'topologies' / 'cities' / 'transition.yaml'}\n"
                    "measurements:\n  all_pairs: true\n")
    expected = (f"error: {path}: measurements.all_pairs: not available for a city with 464xlat and ds-lite: what "
                "every host reaches through a softwire or a CLAT (an AFTR hairpinning between two B4s, say) is not "
                "modelled yet, so pairs would be judged against wrong expectations; the transition matrix measures "
                "these hosts\n")
    assert run_cli(capsys, "topo", "check", path) == (2, "", expected)
    assert run_cli(capsys, "run", path, "--quiet") == (2, "", expected)


def test_check_a_scenario(capsys, monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    status, out, err = run_cli(capsys, "topo", "check", "scenarios/city-slice.yaml")
    assert (status, err) == (0, "")
    # One DNS and one web server; no CPE and no advertising router, so no Kea and no radvd.
    assert out.splitlines() == [
        ("scenarios/city-slice.yaml: scenario 'city-slice' is valid: 16 nodes (4 routers, 6 switches, 6 hosts), "
         "15 links, 4 emulated subscriber hosts"),
        "  address plan: 6 segments, 15 interfaces, 0 delegated prefixes; routes for 10 nodes",
        "  node configurations rendered: 10 routers and hosts",
        "  daemons: 1 unbound, 1 http",
        "  throughput: d1h1 -> web",
        "  dry runs passed: unbound-checkconf (1), http page (1)",
        ("  not checked here: what this host can run ('v6lab doctor'); the run checks it, and runs every dry run "
         "again inside the nodes"),
    ]

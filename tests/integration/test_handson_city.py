"""Hands-on mode on the transition city: `v6lab up`, then programs a subscriber would
run (dig, curl, ping) inside hosts of every kind through `v6lab exec`, then `v6lab
down`, which leaves nothing.

Each answer is the one the RFCs give: an IPv6-only host's resolver is the DNS64,
which synthesizes a AAAA (RFC 6147, RFC 6052) only for a name that has none; an
IPv6-only host without a CLAT has no IPv4 at all, so an IPv4 literal fails
(RFC 6877 section 1); a 464XLAT host reaches one through its CLAT; a DS-Lite LAN
host asks the city's DNS and reaches IPv4 through its softwire (RFC 6333). Hosts
(see tests/integration/test_transition_city.py): d1u1 IPv6-only, d2u1 464XLAT,
d2f1h1 DS-Lite, d1f1h1 IPv4-only, d1f2h1 dual-stack.
"""

import ipaddress
import json
import subprocess
import sys

import pytest

from simulator import handson
from simulator.model.address_plan import plan_city_addresses
from simulator.model.scenario import REPO_ROOT
from simulator.network import cleanup
from topologies import rfc6052
from topologies.city import city_graph, load_city
from topologies.spec import Family, node_spec

V6LAB = [sys.executable, "-m", "simulator"]
MARKER = "v6lab-service:{}.city.test"


def v6lab(*args, timeout=300, **kwargs):
    return subprocess.run(V6LAB + list(args), capture_output=True, text=True, timeout=timeout, **kwargs)


def run_in(node, *command):
    return v6lab("exec", node, "--", *command, timeout=60)


@pytest.fixture(scope="module")
def graph():
    return city_graph(load_city(REPO_ROOT / "topologies" / "cities" / "transition.yaml"))


@pytest.fixture(scope="module")
def plan(graph):
    return plan_city_addresses(graph, graph.graph["prefixes"])


def server_of(graph, service):
    return next(n for n in graph for s in node_spec(graph, n).services if s.name == service)


@pytest.fixture(scope="module")
def city(capabilities, tmp_path_factory):
    assert handson.current() is None, "a city is already up on this machine"
    up = v6lab("up", str(REPO_ROOT / "scenarios" / "transition.yaml"), "--results",
               str(tmp_path_factory.mktemp("results")))
    assert up.returncode == 0, up.stderr + up.stdout
    session = handson.current()
    yield session
    down = v6lab("down")
    assert down.returncode == 0, down.stderr
    assert f"(run {session['run_id']}) is down" in down.stdout
    found = cleanup.find_leftovers(session["prefix"])
    assert found.empty, found.describe()
    assert handson.current() is None and not handson.SESSION_FILE.exists()


def dig(node, kind, name):
    result = run_in(node, "dig", "+short", "+time=2", "+tries=2", kind, name)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.split() if line]


def test_a_second_city_is_refused(city):
    again = v6lab("up", str(REPO_ROOT / "scenarios" / "city-slice.yaml"))
    assert again.returncode == 1
    assert f"error: a city is already up: transition (run {city['run_id']}" in again.stderr


def test_every_host_has_its_networks_resolver(city):
    dns64, dns6, dns4 = "2001:db8:0:4::2", "2001:db8:400:3::2", "11.64.0.66"
    expected = {"d1u1": dns64, "d2u1": dns64, "d2f1h1": dns6, "d1f1h1": dns4, "d1f2h1": dns6, "d3f1": dns64}
    for node, server in expected.items():
        conf = run_in(node, "cat", "/etc/resolv.conf").stdout
        assert f"nameserver {server}\n" in conf and "search city.test" in conf, (node, conf)
    # The machine's own resolv.conf is untouched.
    assert "v6lab" not in open("/etc/resolv.conf").read()


def test_ipv6_only_ue(city, plan):
    shop4 = str(plan.primary("x2", Family.IPV4))
    # A AAAA synthesized from shop's A record (IPv4-only); portal's own AAAA, not synthesized.
    assert dig("d1u1", "AAAA", "shop.city.test") == [str(rfc6052.synthesize("64:ff9b::/96", shop4))]
    portal = dig("d1u1", "AAAA", "portal.city.test")
    assert portal and ipaddress.ip_address(portal[0]) not in ipaddress.ip_network("64:ff9b::/96")
    page = run_in("d1u1", "curl", "-s", "-m", "5", "http://shop.city.test/")
    assert page.returncode == 0 and MARKER.format("shop") in page.stdout
    assert run_in("d1u1", "ping", "-c", "1", "-W", "2", "shop.city.test").returncode == 0
    # No CLAT: an IPv4 literal has nowhere to go.
    literal = run_in("d1u1", "curl", "-s", "-m", "3", f"http://{shop4}/")
    assert literal.returncode != 0


def test_464xlat_ue(city, plan):
    shop4 = str(plan.primary("x2", Family.IPV4))
    assert dig("d2u1", "AAAA", "shop.city.test") == [str(rfc6052.synthesize("64:ff9b::/96", shop4))]
    literal = run_in("d2u1", "curl", "-s", "-m", "5", f"http://{shop4}/")
    assert literal.returncode == 0 and MARKER.format("shop") in literal.stdout


def test_ds_lite_lan_host(city, plan):
    shop4 = str(plan.primary("x2", Family.IPV4))
    # The city's DNS synthesizes nothing: shop has no AAAA, its A record is its own.
    assert dig("d2f1h1", "AAAA", "shop.city.test") == []
    assert dig("d2f1h1", "A", "shop.city.test") == [shop4]
    page = run_in("d2f1h1", "curl", "-s", "-m", "5", "-w", "%{remote_ip}", "http://shop.city.test/")
    assert page.returncode == 0 and page.stdout.endswith(shop4)


def test_ipv4_only_host(city, plan):
    assert dig("d1f1h1", "A", "shop.city.test") == [str(plan.primary("x2", Family.IPV4))]
    page = run_in("d1f1h1", "curl", "-s", "-m", "5", "http://school.city.test/")
    assert page.returncode == 0 and MARKER.format("school") in page.stdout
    # lab6 is IPv6-only: its AAAA is published, and of no use to this host.
    assert run_in("d1f1h1", "curl", "-s", "-m", "3", "http://lab6.city.test/").returncode != 0


def test_dual_stack_host_prefers_ipv6(city, graph, plan):
    # curl's Happy Eyeballs, over the AAAA first (RFC 6724, RFC 8305).
    page = run_in("d1f2h1", "curl", "-s", "-m", "5", "-w", "%{remote_ip}", "http://portal.city.test/")
    assert page.returncode == 0
    assert page.stdout.endswith(str(plan.primary(server_of(graph, "portal"), Family.IPV6)))
    assert run_in("d1f2h1", "ping", "-c", "1", "-W", "2", "portal.city.test").returncode == 0


def test_exec_status_and_errors(city):
    assert run_in("d1u1", "sh", "-c", "exit 7").returncode == 7
    unknown = run_in("nosuch", "true")
    assert unknown.returncode == 1 and "no node 'nosuch'" in unknown.stderr
    switch = run_in("d1r", "true")
    assert switch.returncode == 1 and "d1r is a switch" in switch.stderr


def test_mininets_cli_on_the_running_city(city):
    result = v6lab("cli", input="d1u1 cat /etc/resolv.conf\nexit\n", timeout=60)
    assert result.returncode == 0, result.stderr
    assert "nameserver 2001:db8:0:4::2" in result.stdout + result.stderr


def test_the_session_file(city):
    session = json.loads(handson.SESSION_FILE.read_text())
    assert session["scenario"] == "transition" and session["prefix"] == city["prefix"]
    assert "d1u1" in session["nodes"] and "d1r" in session["switches"]

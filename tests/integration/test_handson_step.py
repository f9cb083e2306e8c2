"""A migration plan stepped through by hand: `v6lab up SCENARIO --step`, one phase at a
time, with programs a subscriber would run looking at the city in between (through
`v6lab exec`), then `v6lab down`, which leaves nothing.

The smooth plan of the migration city (scenarios/migration-smooth.yaml): d1f1h1 (a LAN
host of d1's fixed access) has no IPv6 until phase 2 gives its access dual-stack and
gov an AAAA; d2u1 (a d2 UE) reaches the IPv4-only shop over native IPv4 until phase 3
puts a CLAT on it (464XLAT), then through the CLAT and the NAT64. school, IPv4-only,
gets an IPv6 front in phase 2: a reverse proxy that tells its server who asked.
"""

import subprocess
import sys

import pytest

from simulator import handson
from simulator.model.scenario import REPO_ROOT
from simulator.network import cleanup
from simulator.network.daemons import page_marker

V6LAB = [sys.executable, "-m", "simulator"]
SCENARIO = str(REPO_ROOT / "scenarios" / "migration-smooth.yaml")


def v6lab(*args, timeout=300, **kwargs):
    return subprocess.run(V6LAB + list(args), capture_output=True, text=True, timeout=timeout, **kwargs)


def run_in(node, *command):
    return v6lab("exec", node, "--", *command, timeout=60)


def school_server():
    from simulator.model.rehearsal import rehearsal
    from simulator.model.scenario import load_scenario
    return rehearsal(load_scenario(SCENARIO)).models[0].city.service("school.city.test").server


def global_ipv6(node):
    return run_in(node, "ip", "-6", "-o", "addr", "show", "scope", "global").stdout.strip()


@pytest.fixture(scope="module")
def stepping(capabilities, tmp_path_factory):
    assert handson.current() is None, "a city is already up on this machine"
    # One Enter: phase 1 is applied; then the input ends, which stops the asking.
    up = v6lab("up", SCENARIO, "--step", "--results", str(tmp_path_factory.mktemp("results")), input="\n",
               timeout=600)
    session = handson.current()
    try:
        assert up.returncode == 0, up.stderr + up.stdout
        yield up, session
    finally:
        down = v6lab("down")
        assert down.returncode == 0, down.stderr
        if session is not None:
            found = cleanup.find_leftovers(session["prefix"])
            assert found.empty, found.describe()
        assert handson.current() is None


def test_up_asks_before_each_phase(stepping):
    up, _ = stepping
    assert "next: phase 1 of 3 'translators first': deploy nat64 at c2 (make-before-break); deploy aftr at c3 " \
           "(make-before-break)" in up.stdout
    assert "phase 1 of 3 'translators first' applied; next: phase 2 of 3 'dual-stack'" in up.stdout
    assert "stopped asking; the city stays up" in up.stdout


def test_each_step_changes_the_city_live(stepping):
    shop = page_marker("shop.city.test")
    # After phase 1: translators deployed, every access still IPv4-only.
    assert global_ipv6("d1f1h1") == ""
    before = run_in("d2u1", "curl", "-sS", "-m", "5", "http://shop.city.test/")
    assert before.returncode == 0 and shop in before.stdout, before.stderr
    second = v6lab("step")
    assert second.returncode == 0, second.stderr
    assert "phase 2 of 3 'dual-stack' applied; next: phase 3 of 3 'ipv6-only access'" in second.stdout
    assert "  IPv6 on d1 fixed (make-before-break): ready in" in second.stdout
    assert global_ipv6("d1f1h1") != ""
    gov = run_in("d1f1h1", "curl", "-sS", "-6", "-m", "5", "http://gov.city.test/")
    assert gov.returncode == 0 and page_marker("gov.city.test") in gov.stdout, gov.stderr
    # school's server stays IPv4-only: over IPv6 the request goes to its front (a
    # reverse proxy at the IDC's edge), which asks the server over IPv4 and tells it
    # who asked (RFC 7239).
    mine = global_ipv6("d1f1h1").split()[3].split("/")[0]
    seen = run_in("d1f1h1", "curl", "-sS", "-6", "-m", "5", "http://school.city.test/whoami")
    assert seen.returncode == 0, seen.stderr
    lines = dict(line.split(": ", 1) for line in seen.stdout.splitlines())
    assert lines["forwarded"] == f'for="[{mine}]"' and lines["x-forwarded-for"] == mine, seen.stdout
    assert ":" not in lines["client"], seen.stdout      # the front's IPv4 address
    assert "inet6" not in run_in(school_server(), "ip", "-6", "-o", "addr", "show", "scope", "global").stdout
    third = v6lab("step")
    assert third.returncode == 0, third.stderr
    assert "the plan is done" in third.stdout
    # d2u1 now has a CLAT: IPv4 by name to shop still works, over IPv6 to the NAT64.
    after = run_in("d2u1", "curl", "-sS", "-m", "5", "http://shop.city.test/")
    assert after.returncode == 0 and shop in after.stdout, after.stderr
    assert "clat" in run_in("d2u1", "ip", "-o", "link").stdout
    # Nothing left to apply.
    again = v6lab("step")
    assert again.returncode == 1
    assert "error: the plan is done: all 3 phases are applied" in again.stderr

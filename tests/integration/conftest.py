"""Integration tests: real Mininet, real Open vSwitch, the real controller and daemons.

They need root. Outside CI, a non-root run skips them with a reason; in CI (CI set)
a missing capability is a failure, never a skip.
"""

import os

import pytest

from simulator.network import cleanup
from simulator.network.capabilities import format_report, probe_host


@pytest.fixture(scope="session")
def capabilities():
    if os.getuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("integration tests must run as root in CI")
        pytest.skip("integration tests need root (sudo make test)")  # only when os.getuid() != 0 outside CI
    caps = probe_host()
    if not caps.can_emulate:
        pytest.fail("this host cannot emulate; v6lab doctor says:\n" + format_report(caps))
    return caps


def leftovers_of(prefix: str) -> cleanup.Leftovers:
    return cleanup.find_leftovers(prefix)

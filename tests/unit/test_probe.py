"""simulator.measurements.probe: the ping parser on canned iputils output (subprocess.run faked)."""

import json
import subprocess

import pytest

from simulator.measurements import probe

REPLY_2_OF_3 = """\
PING 10.64.2.3 (10.64.2.3) 56(84) bytes of data.
64 bytes from 10.64.2.3: icmp_seq=1 ttl=62 time=1.00 ms
64 bytes from 10.64.2.3: icmp_seq=3 ttl=62 time=3.00 ms

--- 10.64.2.3 ping statistics ---
3 packets transmitted, 2 received, 33.3333% packet loss, time 402ms
rtt min/avg/max/mdev = 1.000/2.000/3.000/1.000 ms
"""

REPLY_0_OF_3 = """\
PING 10.64.2.3 (10.64.2.3) 56(84) bytes of data.

--- 10.64.2.3 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 2047ms

"""


@pytest.fixture
def fake_ping(monkeypatch):
    """Replace subprocess.run as the probe module sees it; record the command."""
    calls = []

    def install(stdout, stderr="", returncode=0):
        def run(command, **kwargs):
            calls.append((command, kwargs))
            return subprocess.CompletedProcess(command, returncode, stdout, stderr)
        monkeypatch.setattr(probe.subprocess, "run", run)
        return calls
    return install


def test_ping_two_of_three(fake_ping):
    calls = fake_ping(REPLY_2_OF_3)
    result = probe.ping({"address": "10.64.2.3", "count": 3})
    assert calls == [(["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", "10.64.2.3"],
                      {"capture_output": True, "text": True})]
    assert result["ok"] is True
    assert result["sent"] == 3
    assert result["received"] == 2
    assert result["rtt_ms"] == 2.0          # the avg of min/avg/max/mdev
    assert result["error"] == ""
    assert set(result) == {"ok", "sent", "received", "rtt_ms", "error", "elapsed_ms"}


def test_ping_none_received(fake_ping):
    fake_ping(REPLY_0_OF_3, returncode=1)
    result = probe.ping({"address": "10.64.2.3", "count": 3})
    assert (result["ok"], result["received"], result["rtt_ms"]) == (False, 0, None)
    # The last line of the statistics explains the failure.
    assert result["error"] == "3 packets transmitted, 0 received, 100% packet loss, time 2047ms"


def test_ping_default_count(fake_ping):
    calls = fake_ping(REPLY_2_OF_3)
    probe.ping({"address": "2001:db8:64:1::3"})
    assert calls[0][0][3] == "3"


def test_ping_error_from_stderr(fake_ping):
    fake_ping("", stderr="ping: connect: Network is unreachable\n", returncode=2)
    result = probe.ping({"address": "2001:db8:64:1::3", "count": 3})
    assert (result["ok"], result["received"]) == (False, 0)
    assert result["error"] == "ping: connect: Network is unreachable"


def test_main_prints_one_line_per_check(fake_ping, capsys):
    fake_ping(REPLY_2_OF_3)
    checks = [{"id": "d1h1|www.city.test|ipv4|ping", "method": "ping", "address": "10.64.2.3", "count": 3}]
    assert probe.main([json.dumps(checks)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert (record["id"], record["ok"], record["received"], record["rtt_ms"]) == (
        "d1h1|www.city.test|ipv4|ping", True, 2, 2.0)

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
    assert calls[0] == (["ping", "-n", "-c", "3", "-i", "0.2", "-W", "5", "10.64.2.3"],
                        {"capture_output": True, "text": True})
    assert result["ok"] is True
    assert result["sent"] == 3
    assert result["received"] == 2
    assert result["rtt_ms"] == 2.0          # the avg of min/avg/max/mdev
    assert result["error"] == ""
    # A lost packet brings the neighbour state along (see test_neighbour_state_*).
    assert set(result) == {"ok", "sent", "received", "rtt_ms", "error", "elapsed_ms", "neighbour_state"}


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
    calls = fake_ping("", stderr="ping: connect: Network is unreachable\n", returncode=2)
    result = probe.ping({"address": "2001:db8:64:1::3", "count": 3})
    assert (result["ok"], result["received"]) == (False, 0)
    assert result["error"] == "ping: connect: Network is unreachable"
    # Nothing was sent, so there is no next hop to look at.
    assert len(calls) == 1 and "neighbour_state" not in result


REPLY_3_OF_3 = REPLY_2_OF_3.replace("2 received, 33.3333% packet loss", "3 received, 0% packet loss")


def test_ping_without_loss_has_no_neighbour_state(fake_ping):
    calls = fake_ping(REPLY_3_OF_3)
    result = probe.ping({"address": "10.64.2.3", "count": 3})
    assert len(calls) == 1 and "neighbour_state" not in result


NDISC_CACHE = """\
entries  allocs   destroys hash_grows lookups  hits     res_failed rcv_probes_mcast rcv_probes_ucast \
periodic_gc_runs forced_gc_runs unresolved_discards table_fulls
000003c2 00004f12 00004d7a 00000004   00002a68 00001c28 00000000   00000a00         00000677         \
00000000         00000025       00000000            00000000
000003c2 00004e22 00004f5d 00000004   000029c4 00001c28 00000004   00000a3d         0000059e         \
00000061         0000002e       00000014            00000001
"""


def test_table_counters_sum_the_cpus():
    assert probe.table_counters(NDISC_CACHE) == {
        "entries": 962, "forced_gc_runs": 0x25 + 0x2e, "table_fulls": 1, "unresolved_discards": 0x14}


def test_next_hop_of_a_default_route():
    assert probe.next_hop("2001:db8:300::2 from :: via fe80::e:42ff:fe32:8296 dev v1d1u1-e0 proto ra "
                          "src 2001:db8:100:5:0:5aff:fefa:8a47 metric 1024 pref medium") == (
        "v1d1u1-e0", "fe80::e:42ff:fe32:8296")
    assert probe.next_hop("10.0.0.7 dev eth0 src 10.0.0.2 uid 0 \\    cache") == ("eth0", None)


def test_neighbour_state_of_a_lost_ping(monkeypatch, tmp_path):
    outputs = {
        "route": "2001:db8:300::2 from :: via fe80::1 dev v1d1u1-e0 proto ra metric 1024 pref medium\n",
        "neigh": "fe80::1 dev v1d1u1-e0 router INCOMPLETE\n",
    }
    commands = []

    def run(command, **kwargs):
        commands.append(command)
        return subprocess.CompletedProcess(command, 0, outputs[command[2]], "")
    monkeypatch.setattr(probe.subprocess, "run", run)
    stats = tmp_path / "ndisc_cache"
    stats.write_text(NDISC_CACHE)
    monkeypatch.setitem(probe.TABLE_STATS, 6, str(stats))
    state = probe.neighbour_state("2001:db8:300::2")
    assert commands == [["ip", "-o", "route", "get", "2001:db8:300::2"],
                        ["ip", "-o", "neigh", "show", "dev", "v1d1u1-e0"]]
    assert state == {"route": outputs["route"].strip(), "next_hop": "fe80::1",
                     "neighbours": ["fe80::1 dev v1d1u1-e0 router INCOMPLETE"],
                     "table": {"entries": 962, "forced_gc_runs": 83, "table_fulls": 1, "unresolved_discards": 20}}


def test_main_prints_one_line_per_check(fake_ping, capsys):
    fake_ping(REPLY_2_OF_3)
    checks = [{"id": "d1h1|www.city.test|ipv4|ping", "method": "ping", "address": "10.64.2.3", "count": 3}]
    assert probe.main([json.dumps(checks)]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    record = json.loads(line)
    assert (record["id"], record["ok"], record["received"], record["rtt_ms"]) == (
        "d1h1|www.city.test|ipv4|ping", True, 2, 2.0)

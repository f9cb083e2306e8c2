"""Host capability probing against a fake host: no root, no OVS, no kernel features."""

import json
import subprocess
import types

import pytest

from simulator.network.capabilities import (
    Check,
    HostCapabilities,
    format_report,
    probe_host,
)
from topologies.errors import HostError

# The host of ENVIRONMENT.md: userspace OVS with TSO on, no netem, no sit/ip6tnl.
# Each key is a substring of the command line; the first match answers.
GOOD_HOST = {
    "ovs-vsctl --timeout=3 show": (0, "abc\n    ovs_version: \"3.1.0\"\n", ""),
    "ovs-appctl": (0, "ovs-vswitchd (Open vSwitch) 3.1.0\n", ""),
    "ovs-dpctl dump-dps": (1, "", "Generic Netlink family 'ovs_datapath' does not exist."),
    "userspace-tso-enable": (0, '"true"\n', ""),
    "netem": (2, "", "Error: Specified qdisc kind is unknown.\n"),
    "htb": (0, "", ""),
    "type sit": (2, "", "Error: Unknown device type.\n"),
    "type ip6tnl": (2, "", "Error: Unknown device type.\n"),
    "encap seg6": (0, "", ""),
    "type vxlan": (0, "", ""),
    "nft add table": (0, "", ""),
    "iptables --version": (0, "iptables v1.8.9 (nf_tables)\n", ""),
    "NFQUEUE": (0, "", ""),
    "tayga --version": (1, "", "tayga: unrecognized option '--version'\n"),
    "dpkg-query -W -f=${Version} tayga": (0, "0.9.2-8", ""),
    "unbound -V": (0, "Version 1.17.1\n", ""),
    "radvd -v": (1, "", "Version: 2.19\n"),
    "iperf3 --version": (0, "iperf 3.12 (cJSON 1.7.15)\n", ""),
    "tcpdump --version": (0, "tcpdump version 4.99.3\n", ""),
    "nft --version": (0, "nftables v1.0.6 (Lester Gooch #5)\n", ""),
}


class FakeRunner:
    """Stands in for subprocess.run; a command with no answer is not installed."""

    def __init__(self, **overrides):
        self.answers = dict(GOOD_HOST)
        self.answers.update(overrides)
        self.calls = []

    def __call__(self, args, **kwargs):
        line = " ".join(args)
        self.calls.append(line)
        for needle, answer in self.answers.items():
            if needle in line:
                if isinstance(answer, BaseException):
                    raise answer
                returncode, stdout, stderr = answer
                return subprocess.CompletedProcess(args, returncode, stdout, stderr)
        raise FileNotFoundError(2, "No such file or directory", args[0])


def fake_import(missing=()):
    def import_module(name):
        if name in missing:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return types.SimpleNamespace(VERSION="2.3.0")
    return import_module


def probe(runner=None, *, euid=0, missing_modules=(), mnexec="/usr/bin/mnexec"):
    return probe_host(
        runner or FakeRunner(),
        geteuid=lambda: euid,
        import_module=fake_import(missing_modules),
        package_version=lambda name: "4.2.2",
        which=lambda name: mnexec,
    )


def test_good_host_can_emulate_with_userspace_datapath():
    caps = probe()
    assert caps.can_emulate
    assert caps.ovs_datapath == "user"
    assert caps.check("ovs-datapath").detail == "userspace (netdev), userspace-tso-enable=true"
    assert caps.check("ovs").detail == "Open vSwitch 3.1.0"
    assert caps.check("mininet").detail == "mininet 2.3.0"
    assert caps.check("os-ken").detail == "os-ken 4.2.2"
    assert caps.missing_for_emulation() == []


def test_kernel_datapath_when_dump_dps_succeeds():
    runner = FakeRunner(**{"ovs-dpctl dump-dps": (0, "system@ovs-system\n", "")})
    caps = probe(runner)
    assert caps.ovs_datapath == "kernel"
    assert caps.has("ovs-datapath")
    # TSO matters only for the userspace datapath.
    assert not any("userspace-tso-enable" in call for call in runner.calls)


@pytest.mark.parametrize("answer, shown", [
    ((0, '"false"\n', ""), "false"),
    ((1, "", 'ovs-vsctl: no key "userspace-tso-enable" in Open_vSwitch record'), "unset"),
])
def test_userspace_datapath_without_tso_is_not_ok(answer, shown):
    caps = probe(FakeRunner(**{"userspace-tso-enable": answer}))
    check = caps.check("ovs-datapath")
    assert not check.ok
    assert check.detail == f"userspace (netdev), userspace-tso-enable={shown}"
    assert check.disables == (
        "TCP and UDP over the userspace datapath (ping works, TCP/UDP silently fail)")
    assert caps.ovs_datapath == "user"
    assert not caps.can_emulate
    assert [c.name for c in caps.missing_for_emulation()] == ["ovs-datapath"]


def test_ovs_not_running_means_no_datapath():
    runner = FakeRunner(**{"ovs-vsctl --timeout=3 show": (
        1, "", "ovs-vsctl: unix:/var/run/openvswitch/db.sock: database connection failed")})
    caps = probe(runner)
    assert caps.ovs_datapath is None
    assert [c.name for c in caps.missing_for_emulation()] == ["ovs", "ovs-datapath"]
    assert caps.check("ovs").fix == "sudo scripts/setup.sh (starts Open vSwitch)"


def test_required_check_failing_blocks_emulation():
    caps = probe(euid=1000)
    assert not caps.can_emulate
    assert [c.name for c in caps.missing_for_emulation()] == ["root"]
    assert caps.check("root").fix == "run as root (sudo)"
    assert format_report(caps).splitlines()[-1] == "emulation: NOT possible: root"
    with pytest.raises(HostError, match="root: running as uid 1000; fix: run as root"):
        caps.require_emulation()


def test_optional_check_failing_keeps_emulation_possible():
    caps = probe()
    assert not caps.has("netem")
    assert caps.can_emulate
    assert format_report(caps).splitlines()[-1] == "emulation: possible (datapath user)"


def test_missing_python_packages_and_mnexec_are_required():
    caps = probe(missing_modules=("mininet.net", "os_ken"))
    assert [c.name for c in caps.missing_for_emulation()] == ["mininet", "os-ken"]
    no_mnexec = probe(mnexec=None).check("mininet")
    assert not no_mnexec.ok
    assert no_mnexec.detail == "mininet 2.3.0, but mnexec is not on PATH"


def test_report_names_the_fix_of_a_missing_check():
    report = format_report(probe())
    by_name = {line.split()[1]: line for line in report.splitlines()
               if line.startswith(("OK", "MISSING"))}
    assert by_name["netem"].startswith("MISSING")
    assert by_name["netem"].endswith("tc qdisc netem: Error: Specified qdisc kind is unknown.")
    assert ("-> disables: link delay and loss (netem): links get bandwidth shaping (HTB) only; "
            "fix: a kernel with CONFIG_NET_SCH_NETEM (sch_netem)") in report
    assert by_name["srv6"].startswith("OK")


def test_kernel_probes_run_in_a_throwaway_namespace():
    runner = FakeRunner()
    probe(runner)
    netem = next(call for call in runner.calls if "netem" in call)
    assert netem.startswith("unshare --net sh -c ")
    unprivileged = FakeRunner()
    probe(unprivileged, euid=1000)
    netem = next(call for call in unprivileged.calls if "netem" in call)
    assert netem.startswith("unshare --user --map-root-user --net sh -c ")


def test_nft_nat_tries_masquerade_for_ip_and_ip6():
    runner = FakeRunner()
    assert probe(runner).has("nft-nat")
    script = next(call for call in runner.calls if "nft add table" in call)
    assert "for f in ip ip6;" in script
    assert "masquerade" in script
    failing = FakeRunner(**{"nft add table": (1, "", "Error: Could not process rule\n")})
    check = probe(failing).check("nft-nat")
    assert not check.ok
    assert check.disables == "NAT44/CGN and stateful NAT64"
    assert check.fix == "apt-get install nftables; a kernel with nf_nat"


def test_nfqueue_without_iptables_says_so():
    runner = FakeRunner(**{"iptables --version": FileNotFoundError(2, "missing", "iptables")})
    check = probe(runner).check("nfqueue")
    assert not check.ok
    assert check.detail == "iptables not installed (needed to add the NFQUEUE rule)"
    assert check.disables == "userspace delay/loss emulation"
    assert not any("NFQUEUE" in call for call in runner.calls)


def test_binary_versions_and_fallbacks():
    caps = probe()
    assert caps.check("tayga").detail == "tayga 0.9.2-8"
    assert caps.check("radvd").detail == "radvd 2.19"
    assert caps.check("iperf3").detail == "iperf3 3.12"
    assert caps.check("nft").detail == "nft 1.0.6"


def test_missing_binary_is_optional_with_install_fix():
    runner = FakeRunner(**{"iperf3 --version": FileNotFoundError(2, "missing", "iperf3")})
    caps = probe(runner)
    check = caps.check("iperf3")
    assert (check.ok, check.detail) == (False, "not installed")
    assert check.disables == "throughput measurements"
    assert check.fix == "apt-get install iperf3 (or sudo scripts/setup.sh)"
    assert caps.can_emulate


def test_a_hanging_command_is_a_failed_check():
    hang = subprocess.TimeoutExpired(["unshare"], 5)
    check = probe(FakeRunner(**{"type vxlan": hang})).check("vxlan")
    assert not check.ok
    assert check.detail == "VXLAN over IPv6: unshare: timed out after 5 s"


def test_to_dict_is_json_serialisable():
    caps = probe()
    data = json.loads(json.dumps(caps.to_dict()))
    assert data["can_emulate"] is True
    assert data["ovs_datapath"] == "user"
    assert data["checks"]["netem"]["ok"] is False
    assert data["checks"]["netem"]["fix"] == "a kernel with CONFIG_NET_SCH_NETEM (sch_netem)"
    assert data["checks"]["ovs-datapath"]["value"] == "user"
    assert list(data["checks"])[:5] == ["root", "mininet", "os-ken", "ovs", "ovs-datapath"]


def test_unknown_check_name_is_a_key_error():
    caps = HostCapabilities((Check("root", True, "uid 0", "", "", True),))
    with pytest.raises(KeyError, match="no capability check named 'netme'"):
        caps.check("netme")
    assert caps.ovs_datapath is None

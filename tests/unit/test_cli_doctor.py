"""v6lab doctor: the host report, then which transition mechanisms this host runs."""

import pytest

from simulator import cli
from simulator.network import capabilities
from simulator.network.capabilities import Check, HostCapabilities

NAMES = ("root", "mininet", "os-ken", "ovs", "ovs-datapath", "netem", "htb", "sit", "ip6tnl", "srv6", "seg6local",
         "nf-hooks-lwtunnel", "tun", "vxlan", "nft-nat", "nfqueue", "tayga", "unbound", "radvd", "iperf3",
         "tcpdump", "fping", "kea-dhcp6", "dhclient", "nft")
REQUIRED = {"root", "mininet", "os-ken", "ovs", "ovs-datapath"}


def host(missing):
    return HostCapabilities(tuple(
        Check(name, name not in missing, "found" if name not in missing else "absent", "something", "install it",
              required=name in REQUIRED, value="user" if name == "ovs-datapath" else "") for name in NAMES))


@pytest.mark.parametrize("missing, expected", [
    # This machine: no netem, sit or ip6tnl.
    ({"netem", "sit", "ip6tnl"}, {"nat64": "OK", "dns64": "OK", "464xlat": "OK", "ds-lite": "OK", "cgn": "OK",
                                  "6rd": "NO", "map-e": "NO", "map-t": "NO"}),
    # Without TAYGA: no NAT64 and no 464XLAT; DS-Lite and CGN still run.
    ({"tayga", "sit", "ip6tnl"}, {"nat64": "NO", "dns64": "OK", "464xlat": "NO", "ds-lite": "OK", "cgn": "OK",
                                  "6rd": "NO", "map-e": "NO", "map-t": "NO"}),
    # Without SRv6 there is no softwire; with sit, 6rd has its tunnels but v6lab
    # does not build it, which doctor says rather than "OK".
    ({"srv6"}, {"nat64": "OK", "dns64": "OK", "464xlat": "OK", "ds-lite": "NO", "cgn": "OK",
                "6rd": "NO", "map-e": "NO", "map-t": "NO"}),
])
def test_doctor_lists_the_mechanisms(monkeypatch, capsys, missing, expected):
    monkeypatch.setattr(capabilities, "probe_host", lambda: host(missing))
    status = cli.main(["doctor"])
    out = capsys.readouterr().out
    assert status == 0
    section = out.split("transition mechanisms:\n", 1)[1].splitlines()
    assert {line.split()[1]: line.split()[0] for line in section} == expected
    assert "  NO       map-t    MAP-T (RFC 7599) needs a MAP-T translator: MAP-T needs Jool's kernel module " \
           "(no loadable modules here)" in section

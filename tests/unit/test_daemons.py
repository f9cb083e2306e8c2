"""simulator.network.daemons: rendered configurations, checked by the daemons' own dry runs."""

import shutil
import subprocess
import sys

import dns.rdatatype
import dns.zone

from simulator.network.daemons import (
    DnsServer,
    IperfServer,
    WebServer,
    page_marker,
    render_zone,
)

RECORDS = {"www": ["10.64.2.3", "2001:db8:64:1::3"], "ns": ["10.64.2.2", "2001:db8:64:1::2"]}
LISTEN = ["10.64.2.2", "2001:db8:64:1::2"]


def dns_server():
    return DnsServer("dns", "city.test", LISTEN, RECORDS)


def test_render_zone_exact_text():
    # Labels sorted (ns before www), addresses in the given order, A or AAAA by version.
    assert render_zone("city.test", RECORDS) == (
        "$ORIGIN city.test.\n"
        "$TTL 60\n"
        "@ IN SOA ns.city.test. hostmaster.city.test. 1 3600 600 86400 60\n"
        "@ IN NS ns.city.test.\n"
        "ns IN A 10.64.2.2\n"
        "ns IN AAAA 2001:db8:64:1::2\n"
        "www IN A 10.64.2.3\n"
        "www IN AAAA 2001:db8:64:1::3\n"
    )


def test_render_zone_trailing_dot_and_serial():
    text = render_zone("city.test.", {"www": ["192.0.2.1"]}, serial=7)
    assert text.splitlines() == [
        "$ORIGIN city.test.",
        "$TTL 60",
        "@ IN SOA ns.city.test. hostmaster.city.test. 7 3600 600 86400 60",
        "@ IN NS ns.city.test.",
        "www IN A 192.0.2.1",
    ]


def test_rendered_zone_parses_with_dnspython():
    zone = dns.zone.from_text(render_zone("city.test", RECORDS), origin="city.test.", relativize=True)
    www_a = zone.find_rdataset("www", dns.rdatatype.A)
    www_aaaa = zone.find_rdataset("www", dns.rdatatype.AAAA)
    assert [r.address for r in www_a] == ["10.64.2.3"]
    assert [r.address for r in www_aaaa] == ["2001:db8:64:1::3"]
    assert zone.find_rdataset("@", dns.rdatatype.SOA)[0].serial == 1


def test_dns_server_render(tmp_path):
    files = dns_server().render(tmp_path)
    assert sorted(files) == ["city.test.zone", "unbound.conf"]
    conf = files["unbound.conf"].splitlines()
    assert "    interface: 10.64.2.2" in conf
    assert "    interface: 2001:db8:64:1::2" in conf
    assert [line for line in conf if "interface:" in line] == [
        "    interface: 10.64.2.2", "    interface: 2001:db8:64:1::2"]
    assert '    local-zone: "test." nodefault' in conf
    # auth-zone block: name, zonefile inside the folder, serving both ways.
    start = conf.index("auth-zone:")
    assert conf[start:start + 5] == [
        "auth-zone:",
        '    name: "city.test."',
        f'    zonefile: "{tmp_path / "city.test.zone"}"',
        "    for-downstream: yes",
        "    for-upstream: yes",
    ]
    assert f'    directory: "{tmp_path}"' in conf
    assert f'    pidfile: "{tmp_path}/unbound.pid"' in conf
    assert files["city.test.zone"] == render_zone("city.test", RECORDS)


def test_dns_server_zone_trailing_dot_and_other_tld(tmp_path):
    files = DnsServer("dns", "metro.example.", ["192.0.2.53"], {"www": ["192.0.2.80"]}).render(tmp_path)
    assert sorted(files) == ["metro.example.zone", "unbound.conf"]
    assert '    local-zone: "example." nodefault\n' in files["unbound.conf"]
    assert '    name: "metro.example."\n' in files["unbound.conf"]


def test_dns_server_commands(tmp_path):
    server = dns_server()
    assert server.check_command(tmp_path) == ["unbound-checkconf", str(tmp_path / "unbound.conf")]
    assert server.start_command(tmp_path) == ["unbound", "-d", "-c", str(tmp_path / "unbound.conf")]
    assert server.BINARIES == ("unbound", "unbound-checkconf")
    assert server.LISTENS == (("udp", 53), ("tcp", 53))
    assert repr(server) == "unbound@dns"


def test_unbound_checkconf_accepts_rendered_files(tmp_path):
    # Installed here (Debian's unbound) and in CI: no skip.
    assert shutil.which("unbound-checkconf") is not None, "install unbound (sudo scripts/setup.sh)"
    server = dns_server()
    server.write_config(tmp_path)
    result = subprocess.run(server.check_command(tmp_path), capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stdout.strip()) == (
        0, f"unbound-checkconf: no errors in {tmp_path / 'unbound.conf'}"), result.stderr


def test_unbound_checkconf_rejects_a_broken_zone(tmp_path):
    # The dry run also loads the auth-zone, so a bad zone file is caught before start.
    server = dns_server()
    server.write_config(tmp_path)
    with (tmp_path / "city.test.zone").open("a") as zone:
        zone.write("www IN NOTATYPE 1\n")
    result = subprocess.run(server.check_command(tmp_path), capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "error parsing zonefile" in result.stderr


def test_page_marker():
    assert page_marker("www.city.test") == "v6lab-service:www.city.test"


def test_web_server_render(tmp_path):
    files = WebServer("web", "www.city.test").render(tmp_path)
    assert files == {"index.html": (
        "<!doctype html>\n"
        "<html><head><title>www.city.test</title></head>\n"
        "<body><h1>www.city.test</h1><p>served by node web</p>\n"
        "<!-- v6lab-service:www.city.test --></body></html>\n")}
    assert page_marker("www.city.test") in files["index.html"]


def test_web_server_binds_both_families(tmp_path):
    server = WebServer("web", "www.city.test")
    assert server.start_command(tmp_path) == [
        sys.executable, "-m", "simulator.network.daemons.webserve", "--port", "80", "--bind", "::",
        "--directory", str(tmp_path)]
    assert server.LISTENS == (("tcp", 80),)


def test_web_server_other_port(tmp_path):
    server = WebServer("web", "www.city.test", port=8080)
    assert server.start_command(tmp_path)[3:7] == ["--port", "8080", "--bind", "::"]
    assert server.LISTENS == (("tcp", 8080),)
    # The instance attribute does not leak into the class.
    assert WebServer.LISTENS == (("tcp", 80),)


def test_web_server_check_command(tmp_path):
    server = WebServer("web", "www.city.test")
    command = server.check_command(tmp_path)
    assert subprocess.run(command, timeout=30).returncode == 1     # no page yet
    server.write_config(tmp_path)
    assert subprocess.run(command, timeout=30).returncode == 0


def test_iperf_server():
    server = IperfServer("web")
    assert server.start_command(None) == ["iperf3", "--server", "--port", "5201"]
    assert server.check_command(None) is None
    assert server.render(None) == {}
    assert repr(server) == "iperf3@web"


def test_write_config_makes_the_folder_and_writes_every_file(tmp_path):
    server = WebServer("web", "www.city.test")
    folder = server.write_config(tmp_path / "web" / "http")
    assert folder == tmp_path / "web" / "http"
    assert {p.name: p.read_text() for p in folder.iterdir()} == server.render(folder)


def test_prefix_delegation_server_reserves_by_duid_ll_and_answers_with_preference_255(tmp_path):
    import json

    from simulator.network.daemons.dhcpv6 import PrefixDelegationServer, duid_ll
    # Kea's dry run looks for the interface: lo is everywhere.
    server = PrefixDelegationServer("bng", [("lo", "2001:db8:1::/64", [
        ("02:00:00:00:00:0A", "2001:db8:100::/56", "2001:db8::53"), ("02:00:00:00:00:0B", "2001:db8:200::/56", None)])],
        search="city.test")
    config = json.loads(server.render(tmp_path)["kea-dhcp6.json"])["Dhcp6"]
    assert duid_ll("02:00:00:00:00:0A") == "00:03:00:01:02:00:00:00:00:0a"
    # Each CPE's reply carries its resolver and the search list (RFC 3646), always.
    assert config["subnet6"] == [{"id": 1, "subnet": "2001:db8:1::/64", "interface": "lo", "reservations": [
        {"duid": "00:03:00:01:02:00:00:00:00:0a", "prefixes": ["2001:db8:100::/56"], "option-data": [
            {"name": "dns-servers", "data": "2001:db8::53", "always-send": True},
            {"name": "domain-search", "data": "city.test", "always-send": True}]},
        {"duid": "00:03:00:01:02:00:00:00:00:0b", "prefixes": ["2001:db8:200::/56"], "option-data": [
            {"name": "domain-search", "data": "city.test", "always-send": True}]}]}]
    # Without always-send Kea adds the option only when the client asks for it, and
    # dhclient does not: it would wait a second for other servers' advertisements.
    assert config["option-data"] == [{"name": "preference", "data": "255", "always-send": True}]
    # Kea's own dry run accepts it (installed here and in CI: no skip).
    assert shutil.which("kea-dhcp6") is not None, "install kea-dhcp6-server (sudo scripts/setup.sh)"
    server.write_config(tmp_path)
    result = subprocess.run(server.check_command(tmp_path), capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr + result.stdout


def test_radvd_withdraws_a_resolver_it_no_longer_announces():
    """RFC 8106 5.1: a lifetime of 0 tells hosts to stop using a resolver at once."""
    from simulator.network.daemons.radvd import RouterAdvertisements
    before = RouterAdvertisements("gw", [("gw-e1", "2001:db8:1::/64", ["2001:db8::53"])])
    after = RouterAdvertisements("gw", [("gw-e1", "2001:db8:1::/64", ["2001:db8:64::53"])]).succeeding(before)
    assert after.withdrawn == {"gw-e1": ["2001:db8::53"]}
    conf = after.render(__import__("pathlib").Path("/x"))["radvd.conf"]
    assert "    RDNSS 2001:db8:64::53 {\n        AdvRDNSSLifetime 30;\n    };\n" in conf
    assert "    RDNSS 2001:db8::53 {\n        AdvRDNSSLifetime 0;\n    };\n" in conf
    assert before.succeeding(before).withdrawn == {}


def test_a_delegation_client_differs_when_its_resolver_does(tmp_path):
    """A live change that moves a CPE's resolver (dual-stack to IPv6-only: the DNS64)
    changes the client's files, so the change restarts it and it asks again."""
    from simulator.network.daemons.dhcpv6 import PrefixDelegationClient
    before = PrefixDelegationClient("d1f1", "eth0", "2001:db8:300:3::2").render(tmp_path)
    after = PrefixDelegationClient("d1f1", "eth0", "2001:db8:0:4::2").render(tmp_path)
    assert before != after
    assert after["dhclient-script"].splitlines()[:2] == ["#!/bin/sh", "# the server announces 2001:db8:0:4::2"]
    assert PrefixDelegationClient("d1f1", "eth0", "2001:db8:0:4::2").render(tmp_path) == after


def test_unbound_reloads_unless_it_must_listen_anew():
    """Unbound keeps its sockets across SIGHUP: a zone change reloads, a moved
    address restarts (DaemonRunner.replace asks ``reloads``)."""
    running = DnsServer("n64", "city.test", ["2001:db8:0:5::2"], RECORDS, dns64_prefix="64:ff9b::/96")
    new_zone = DnsServer("n64", "city.test", ["2001:db8:0:5::2"], {"www": ["10.64.2.9"]}, dns64_prefix="64:ff9b::/96")
    moved = DnsServer("n64", "city.test", ["2001:db8:0:3::2"], RECORDS, dns64_prefix="64:ff9b::/96")
    assert (new_zone.reloads(running), moved.reloads(running)) == (True, False)
    assert WebServer("x1", "www.city.test").reloads(WebServer("x1", "www.city.test")) is False   # restarts

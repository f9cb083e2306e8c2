"""What this host can do: for ``v6lab doctor`` and for the run manifest.

Every probe runs a real command rather than reading kernel config or module lists:
these kernels are often built without loadable modules and without /proc/config.gz,
so trying the feature is the only answer that holds.

Kernel probes run in a throwaway network namespace (``unshare --net``), so the
qdiscs, links, routes and nft tables they create vanish when the shell exits and
nothing on the host (in particular another engineer's Open vSwitch) is touched.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from topologies.errors import HostError

# Each probe is a single short command; a few seconds means something hangs (an
# ovsdb-server that does not answer), not that the host is slow.
TIMEOUT = 5.0

_SETUP = "sudo scripts/setup.sh"
_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Check:
    """One capability: whether it is there, what was found, and what its absence costs."""

    name: str
    ok: bool
    detail: str
    disables: str
    fix: str
    required: bool
    # A machine-readable finding where the detail text is not enough (the datapath).
    value: str = ""


@dataclass(frozen=True)
class HostCapabilities:
    checks: tuple[Check, ...]

    def check(self, name: str) -> Check:
        for check in self.checks:
            if check.name == name:
                return check
        known = ", ".join(c.name for c in self.checks)
        raise KeyError(f"no capability check named {name!r} (known: {known})")

    def has(self, name: str) -> bool:
        return self.check(name).ok

    @property
    def can_emulate(self) -> bool:
        return not self.missing_for_emulation()

    @property
    def ovs_datapath(self) -> str | None:
        """``"kernel"``, ``"user"`` or None when Open vSwitch is not usable.

        The userspace datapath is reported even when TSO is off: the backend still
        needs to know which ``datapath_type`` to ask for, and ``can_emulate`` already
        says that TCP and UDP would not work.
        """
        names = {c.name for c in self.checks}
        if "ovs" not in names or "ovs-datapath" not in names:
            return None
        if not self.has("ovs"):
            return None
        return self.check("ovs-datapath").value or None

    def missing_for_emulation(self) -> list[Check]:
        return [c for c in self.checks if c.required and not c.ok]

    def require_emulation(self) -> None:
        """Raise HostError naming every missing requirement and its fix."""
        missing = self.missing_for_emulation()
        if missing:
            lines = [f"{c.name}: {c.detail}; fix: {c.fix}" for c in missing]
            raise HostError("this host cannot run the emulation:\n  " + "\n  ".join(lines))

    def to_dict(self) -> dict:
        checks = {}
        for c in self.checks:
            entry = asdict(c)
            del entry["name"]
            checks[c.name] = entry
        return {
            "can_emulate": self.can_emulate,
            "ovs_datapath": self.ovs_datapath,
            "checks": checks,
        }


# --- running commands ----------------------------------------------------------


def _run(runner, args: list[str]) -> subprocess.CompletedProcess:
    """Run ``args``; a missing program is exit 127 and a timeout exit 124, as in a shell.

    Folding both into a result keeps every probe a plain look at returncode and
    output, and lets a fake runner in the tests choose either form.
    """
    try:
        return runner(args, capture_output=True, text=True, timeout=TIMEOUT,
                      stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        return subprocess.CompletedProcess(args, 127, "", f"{args[0]}: not found")
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "",
                                           f"{args[0]}: timed out after {TIMEOUT:g} s")
    except OSError as exc:
        return subprocess.CompletedProcess(args, 126, "", f"{args[0]}: {exc}")


def _output(result: subprocess.CompletedProcess) -> str:
    return f"{result.stdout or ''}\n{result.stderr or ''}".strip()


def _last_line(result: subprocess.CompletedProcess) -> str:
    """The line that explains a failure: tools put the reason last."""
    lines = [line.strip() for line in _output(result).splitlines() if line.strip()]
    return lines[-1] if lines else f"exit status {result.returncode}"


def _version_in(text: str) -> str | None:
    match = _VERSION.search(text)
    return match.group(0) if match else None


def _ok(name: str, detail: str, required: bool = False, value: str = "") -> Check:
    return Check(name, True, detail, "", "", required, value)


def _missing(name: str, detail: str, disables: str, fix: str,
             required: bool = False, value: str = "") -> Check:
    return Check(name, False, detail, disables, fix, required, value)


# --- Python packages and privileges --------------------------------------------


def _probe_root(geteuid) -> Check:
    euid = geteuid()
    if euid == 0:
        return _ok("root", "uid 0", required=True)
    return _missing("root", f"running as uid {euid}",
                    "everything: namespaces, links and Open vSwitch need root",
                    "run as root (sudo)", required=True)


def _probe_mininet(import_module, which) -> Check:
    disables = "every emulated network (Mininet)"
    fix = f"apt-get install mininet (or {_SETUP})"
    try:
        net = import_module("mininet.net")
    except Exception as exc:  # a broken install can fail in any way at import
        return _missing("mininet", f"cannot import mininet.net: {exc}", disables, fix,
                        required=True)
    version = getattr(net, "VERSION", "(version unknown)")
    # The Python package is useless without the matching helper that puts
    # processes into the node namespaces.
    if which("mnexec") is None:
        return _missing("mininet", f"mininet {version}, but mnexec is not on PATH",
                        disables, fix, required=True)
    return _ok("mininet", f"mininet {version}", required=True)


def _probe_os_ken(import_module, package_version) -> Check:
    disables = "the OpenFlow controller (os-ken)"
    fix = f"{_SETUP} (installs os-ken into the virtual environment)"
    try:
        import_module("os_ken")
    except Exception as exc:  # a broken install can fail in any way at import
        return _missing("os-ken", f"cannot import os_ken: {exc}", disables, fix, required=True)
    # Separate from the import: PackageNotFoundError is an ImportError too, and a
    # module importable without metadata (a source checkout) still works.
    try:
        version = package_version("os-ken")
    except importlib.metadata.PackageNotFoundError:
        version = "(version unknown)"
    return _ok("os-ken", f"os-ken {version}", required=True)


# --- Open vSwitch ----------------------------------------------------------------


def _probe_ovs(runner) -> tuple[Check, Check]:
    """The daemons, then the datapath they can use: the second depends on the first."""
    fix = f"{_SETUP} (starts Open vSwitch)"
    disables = "every switch (Open vSwitch)"
    show = _run(runner, ["ovs-vsctl", "--timeout=3", "show"])
    if show.returncode == 127:
        ovs = _missing("ovs", "not installed (ovs-vsctl not found)", disables,
                       f"apt-get install openvswitch-switch; {fix}", required=True)
    elif show.returncode != 0:
        ovs = _missing("ovs", f"ovsdb-server not answering: {_last_line(show)}",
                       disables, fix, required=True)
    else:
        version = _run(runner, ["ovs-appctl", "--timeout=3", "-t", "ovs-vswitchd", "version"])
        if version.returncode != 0:
            ovs = _missing("ovs", f"ovs-vswitchd not answering: {_last_line(version)}",
                           disables, fix, required=True)
        else:
            found = _version_in(_output(version)) or "(version unknown)"
            ovs = _ok("ovs", f"Open vSwitch {found}", required=True)
    return ovs, _probe_datapath(runner, ovs.ok)


def _probe_datapath(runner, ovs_running: bool) -> Check:
    # dump-dps succeeds only when the kernel has the ovs_datapath Generic Netlink
    # family; without it a kernel-datapath bridge is created "successfully" and
    # silently drops every packet, so this must be known before building anything.
    if _run(runner, ["ovs-dpctl", "dump-dps"]).returncode == 0:
        return _ok("ovs-datapath", "kernel (openvswitch module)", required=True, value="kernel")
    if not ovs_running:
        return _missing("ovs-datapath",
                        "unknown: no kernel datapath and Open vSwitch is not usable",
                        "every switch (Open vSwitch)", f"{_SETUP} (starts Open vSwitch)",
                        required=True)
    tso = _run(runner, ["ovs-vsctl", "--timeout=3", "get", "Open_vSwitch", ".",
                        "other_config:userspace-tso-enable"])
    # An unset key makes `get` fail; that means the default, which is off.
    setting = tso.stdout.strip().strip('"') if tso.returncode == 0 else "unset"
    detail = f"userspace (netdev), userspace-tso-enable={setting}"
    # ovs-vswitchd reads this only at start; setup.sh restarts it after setting it,
    # so the database value is the best evidence available without its log.
    if setting == "true":
        return _ok("ovs-datapath", detail, required=True, value="user")
    return _missing("ovs-datapath", detail,
                    "TCP and UDP over the userspace datapath (ping works, TCP/UDP silently fail)",
                    f"{_SETUP} (sets userspace-tso-enable=true and restarts ovs-vswitchd)",
                    required=True, value="user")


# --- kernel features -------------------------------------------------------------

# The kernels these run on may lack the dummy link type, so a veth pair is the
# scratch interface: Mininet cannot work without veth anyway.
_VETH = "ip link add d0 type veth peer name d1 && ip link set d0 up"


@dataclass(frozen=True)
class _KernelProbe:
    name: str
    script: str
    found: str
    disables: str
    fix: str


_KERNEL_PROBES = (
    _KernelProbe(
        "netem", f"{_VETH} && tc qdisc add dev d0 root netem delay 1ms",
        "tc qdisc netem",
        "link delay and loss (netem): links get bandwidth shaping (HTB) only",
        "a kernel with CONFIG_NET_SCH_NETEM (sch_netem)"),
    _KernelProbe(
        "htb", f"{_VETH} && tc qdisc add dev d0 root handle 1: htb default 1",
        "tc qdisc htb",
        "link bandwidth limits (HTB)",
        "a kernel with CONFIG_NET_SCH_HTB (sch_htb)"),
    _KernelProbe(
        "sit", "ip link add s0 type sit remote 192.0.2.1 local 192.0.2.2",
        "sit tunnels (6in4)",
        "6rd (RFC 5969)",
        "a kernel with CONFIG_IPV6_SIT (sit)"),
    _KernelProbe(
        "ip6tnl",
        "ip -6 link add t0 type ip6tnl mode ipip6 remote 2001:db8::1 local 2001:db8::2",
        "ip6tnl ipip6 tunnels (ip4ip6)",
        "DS-Lite with a native ip4ip6 tunnel (the SRv6 softwire is used instead "
        "where srv6 is present)",
        "a kernel with CONFIG_IPV6_TUNNEL (ip6_tunnel)"),
    _KernelProbe(
        "srv6",
        f"{_VETH} && ip -6 addr add 2001:db8::2/64 dev d0 nodad"
        " && ip -6 route add 2001:db8:9::/64 encap seg6 mode encap segs 2001:db8::1 dev d0",
        "seg6 encapsulation routes",
        "the SRv6 DS-Lite softwire",
        "a kernel with CONFIG_IPV6_SEG6_LWTUNNEL (seg6)"),
    _KernelProbe(
        "seg6local",
        f"{_VETH} && ip -6 route add 2001:db8:9::1/128 encap seg6local action End.DX4 nh4 0.0.0.0 dev d0",
        "seg6local End.DX4 routes",
        "the AFTR and B4 ends of the SRv6 DS-Lite softwire",
        "a kernel with CONFIG_IPV6_SEG6_LWTUNNEL (seg6local)"),
    _KernelProbe(
        "nf-hooks-lwtunnel",
        # Global and one-way: the backend sets it to 1 when a city runs DS-Lite.
        "test -w /proc/sys/net/netfilter/nf_hooks_lwtunnel",
        "net.netfilter.nf_hooks_lwtunnel (netfilter sees decapsulated softwire packets)",
        "NAT44 at an SRv6 DS-Lite AFTR",
        "a kernel with CONFIG_LWTUNNEL and nf_conntrack (kernel 5.15 or later)"),
    _KernelProbe(
        "tun", "ip tuntap add mode tun name t0",
        "TUN devices",
        "NAT64 and 464XLAT (TAYGA translates on a TUN device)",
        "a kernel with CONFIG_TUN"),
    _KernelProbe(
        "vxlan",
        "ip link add vx0 type vxlan id 42 dstport 4789 local 2001:db8::2 remote 2001:db8::1",
        "VXLAN over IPv6",
        "VXLAN L2 softwires over IPv6",
        "a kernel with CONFIG_VXLAN"),
    _KernelProbe(
        "nft-nat",
        # Both families: NAT44/CGN needs ip, stateful NAT64 and NAT66 need ip6.
        "for f in ip ip6; do nft add table $f v6lab_probe"
        " && nft add chain $f v6lab_probe post '{ type nat hook postrouting priority 100; }'"
        " && nft add rule $f v6lab_probe post masquerade || exit 1; done",
        "nftables masquerade for ip and ip6",
        "NAT44/CGN and stateful NAT64",
        "apt-get install nftables; a kernel with nf_nat"),
)


def _in_namespace(runner, script: str, as_root: bool) -> subprocess.CompletedProcess:
    # Without root, a user namespace that maps us to root still owns a network
    # namespace, so `doctor` can report the kernel honestly to an unprivileged user.
    user = [] if as_root else ["--user", "--map-root-user"]
    return _run(runner, ["unshare", *user, "--net", "sh", "-c", script])


def _probe_kernel(runner, probe: _KernelProbe, as_root: bool) -> Check:
    result = _in_namespace(runner, probe.script, as_root)
    if result.returncode == 0:
        return _ok(probe.name, probe.found)
    return _missing(probe.name, f"{probe.found}: {_last_line(result)}", probe.disables, probe.fix)


def _probe_nfqueue(runner, as_root: bool) -> Check:
    disables = "userspace delay/loss emulation"
    fix = "apt-get install iptables; a kernel with CONFIG_NETFILTER_XT_TARGET_NFQUEUE"
    version = _run(runner, ["iptables", "--version"])
    if version.returncode in (126, 127):
        return _missing("nfqueue", "iptables not installed (needed to add the NFQUEUE rule)",
                        disables, fix)
    result = _in_namespace(runner, "iptables -A OUTPUT -j NFQUEUE --queue-num 1", as_root)
    if result.returncode != 0:
        return _missing("nfqueue", _last_line(result), disables, fix)
    return _ok("nfqueue", f"NFQUEUE target ({_last_line(version)})")


# --- binaries ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Binary:
    name: str
    version_args: tuple[str, ...]
    package: str
    disables: str


_BINARIES = (
    # TAYGA has no version option; its package version is the answer.
    _Binary("tayga", ("tayga", "--version"), "tayga", "NAT64 and 464XLAT"),
    _Binary("unbound", ("unbound", "-V"), "unbound", "DNS service and DNS64"),
    _Binary("radvd", ("radvd", "-v"), "radvd", "SLAAC router advertisements"),
    _Binary("iperf3", ("iperf3", "--version"), "iperf3", "throughput measurements"),
    _Binary("tcpdump", ("tcpdump", "--version"), "tcpdump", "packet captures"),
    _Binary("fping", ("fping", "--version"), "fping", "all-pairs reachability checks"),
    _Binary("kea-dhcp6", ("kea-dhcp6", "-v"), "kea-dhcp6-server", "DHCPv6 prefix delegation to CPEs (server)"),
    _Binary("dhclient", ("dhclient", "--version"), "isc-dhcp-client", "DHCPv6 prefix delegation to CPEs (client)"),
    _Binary("nft", ("nft", "--version"), "nftables", "every NAT and filter rule (nftables)"),
    _Binary("nginx", ("nginx", "-v"), "nginx-light", "IPv6 fronts (reverse proxies) for IPv4-only services"),
)


def _probe_binary(runner, binary: _Binary) -> Check:
    result = _run(runner, list(binary.version_args))
    if result.returncode in (126, 127):
        detail = "not installed" if result.returncode == 127 else _last_line(result)
        return _missing(binary.name, detail, binary.disables,
                        f"apt-get install {binary.package} (or {_SETUP})")
    # Exit status is ignored once the program ran: radvd -v exits 1, tayga rejects
    # the option, and neither means the program is unusable.
    version = _version_in(_output(result))
    if version is None:
        dpkg = _run(runner, ["dpkg-query", "-W", "-f=${Version}", binary.package])
        if dpkg.returncode == 0 and dpkg.stdout.strip():
            version = dpkg.stdout.strip()
    return _ok(binary.name, f"{binary.name} {version or '(version unknown)'}")


# --- the whole host ----------------------------------------------------------------


def probe_host(runner=subprocess.run, *, geteuid=os.geteuid,
               import_module=importlib.import_module,
               package_version=importlib.metadata.version,
               which=shutil.which) -> HostCapabilities:
    """Probe everything; never raises for a missing feature, only reports it.

    The keyword arguments exist so tests can stand in for the host.
    """
    as_root = geteuid() == 0
    commands: list[Callable[[], tuple[Check, ...]]] = [
        lambda: _probe_ovs(runner),
        *[(lambda p=p: (_probe_kernel(runner, p, as_root),)) for p in _KERNEL_PROBES],
        lambda: (_probe_nfqueue(runner, as_root),),
        *[(lambda b=b: (_probe_binary(runner, b),)) for b in _BINARIES],
    ]
    # The command probes wait on subprocesses, not the CPU: side by side, about
    # twenty forks take the time of the slowest one.
    with ThreadPoolExecutor(max_workers=8) as pool:
        pending = [pool.submit(probe) for probe in commands]
        # The imports stay in this thread, overlapping the commands: importing
        # mininet and os_ken from two threads at once deadlocked CPython 3.11's
        # import locks (setuptools' distutils hook imports from inside find_spec).
        own = (
            _probe_root(geteuid),
            _probe_mininet(import_module, which),
            _probe_os_ken(import_module, package_version),
        )
        found = [check for future in pending for check in future.result()]
    return HostCapabilities(own + tuple(found))


def format_report(caps: HostCapabilities) -> str:
    width = max((len(c.name) for c in caps.checks), default=0)
    lines = []
    for c in caps.checks:
        status = "OK" if c.ok else "MISSING"
        lines.append(f"{status:<8} {c.name:<{width}}  {c.detail}")
        if not c.ok:
            lines.append(f"{'':<8} {'':<{width}}  -> disables: {c.disables}; fix: {c.fix}")
    missing = caps.missing_for_emulation()
    if missing:
        lines.append("emulation: NOT possible: " + ", ".join(c.name for c in missing))
    else:
        lines.append(f"emulation: possible (datapath {caps.ovs_datapath})")
    return "\n".join(lines)

#!/usr/bin/env bash
# The one setup path (README, make, .ci/run and the Vagrantfile all use it):
# Debian packages, the project's virtual environment, and a running Open vSwitch.
# Idempotent: a second run checks and returns in a second or two.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.venv"
say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (sudo make ...): installing packages and starting Open vSwitch need it"
command -v apt-get >/dev/null || die "apt-get not found: this setup supports Debian 12 / Ubuntu 24.04 or newer (or use the Vagrant VM)"
# The venv is made from the system's Python (below), and pyproject.toml needs 3.11:
# Debian 12 has 3.11 and Ubuntu 24.04 has 3.12; Ubuntu 22.04's 3.10 is too old.
check_python() {
    /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "/usr/bin/python3 is $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'); v6lab needs 3.11 or newer: use Debian 12 or Ubuntu 24.04 or newer (or the Vagrant VM)"
}
# Before installing anything where there is a Python already; else once python3-venv brought it.
if [ -x /usr/bin/python3 ]; then check_python; fi

# --- Debian packages -----------------------------------------------------------
packages=(mininet openvswitch-switch iperf3 tayga unbound radvd ndisc6 tcpdump
          nftables bridge-utils socat dnsutils iproute2 iputils-ping ethtool procps
          psmisc make python3-venv python3-pip util-linux iptables fping kea-dhcp6-server isc-dhcp-client
          nginx-light chromium)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Wait for another apt (unattended upgrades on a fresh VM) rather than fail.
    apt-get -o DPkg::Lock::Timeout=300 update -qq
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Unbound, radvd, Kea and nginx run inside emulated nodes with configurations of
    # their own; host-wide services that installing them may have started (on a VM) are
    # not needed, and a host resolver on port 53 or a web server on 80 is not ours to add.
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        for unit in unbound radvd kea-dhcp6-server nginx; do
            case " ${missing[*]} " in
                *" $unit "*|*" $unit-light "*) systemctl disable --now "$unit" >/dev/null 2>&1 || true ;;
            esac
        done
    fi
fi

# --- Python environment --------------------------------------------------------
check_python
# Debian's python3 with system site packages: Mininet comes from the Debian package
# (it needs the matching mnexec); everything else is pinned by pyproject.toml.
if [ ! -x "$venv/bin/python" ]; then
    say "creating the virtual environment in $venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
stamp="$venv/.v6lab-installed"
want=$(sha256sum "$here/pyproject.toml" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || ! "$venv/bin/python" -c 'import simulator, os_ken, networkx' 2>/dev/null; then
    say "installing Python dependencies (pyproject.toml)"
    # (Some images' pip configuration names local wheel folders that do not exist;
    # its warnings about them are noise here.)
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$here[test]" 2>&1 \
        | grep -v "is ignored: it is neither a file nor a directory" || true
    "$venv/bin/python" -c 'import simulator, os_ken, networkx, yaml, dns, jinja2' \
        || die "the Python environment is incomplete after pip install; see the messages above"
    echo "$want" > "$stamp"
fi

# --- Open vSwitch --------------------------------------------------------------
ovs_ctl=/usr/share/openvswitch/scripts/ovs-ctl
kernel_datapath() { ovs-dpctl dump-dps >/dev/null 2>&1; }
ovs_running() { ovs-vsctl --timeout=3 show >/dev/null 2>&1 && ovs-appctl -t ovs-vswitchd version >/dev/null 2>&1; }
tso_on() { [ "$(ovs-vsctl --timeout=3 get Open_vSwitch . other_config:userspace-tso-enable 2>/dev/null | tr -d '"')" = true ]; }

if ovs_running; then
    # A host whose OVS already runs (a VM with the kernel datapath, or our own
    # earlier start) keeps its daemons. Only the userspace datapath needs TSO on,
    # and that setting is read when ovs-vswitchd starts.
    if ! kernel_datapath && ! tso_on; then
        say "enabling userspace TSO and restarting ovs-vswitchd (TCP/UDP over the userspace datapath need it)"
        ovs-vsctl --timeout=5 set Open_vSwitch . other_config:userspace-tso-enable=true
        "$ovs_ctl" --no-ovsdb-server --system-id=random restart >/dev/null
    fi
else
    say "starting Open vSwitch"
    "$ovs_ctl" --no-ovs-vswitchd --system-id=random start >/dev/null || die "ovsdb-server did not start; see /var/log/openvswitch/ovsdb-server.log"
    if ! kernel_datapath; then
        ovs-vsctl --timeout=5 --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
    fi
    "$ovs_ctl" --no-ovsdb-server --system-id=random start >/dev/null || die "ovs-vswitchd did not start; see /var/log/openvswitch/ovs-vswitchd.log"
fi
ovs_running || die "Open vSwitch is not answering after start; see /var/log/openvswitch/"
if kernel_datapath; then dp=kernel; else dp="userspace (netdev, TSO on)"; fi
say "ready: Open vSwitch $(ovs-vsctl --version | head -1 | awk '{print $NF}'), datapath $dp, venv $venv"

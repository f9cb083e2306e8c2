"""Find and remove what a run created, by the run's own tags and nothing else.

Every run has a short prefix (``v`` and three characters). It is written into:
  - the environment of every process the run starts (``V6LAB_RUN=<prefix>``): node
    shells, daemons inside nodes and the controller inherit it;
  - ``external_ids:v6lab-run`` of every OVS bridge;
  - the alias (``ip link set ... alias v6lab:<prefix>``) of every link left in the
    root namespace;
  - a state file under STATE_DIR, removed when the run ends cleanly; it names the
    run's manifest, which ``v6lab clean`` marks ``interrupted`` when the run died
    with its status still ``running``.
Unlike ``mn -c`` this never kills by process name and never deletes other bridges.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ENV_TAG = "V6LAB_RUN"
BRIDGE_TAG = "v6lab-run"
ALIAS_TAG = "v6lab:"
STATE_DIR = Path(os.environ.get("V6LAB_STATE_DIR", "/run/v6lab"))
WORK_ROOT = Path(os.environ.get("V6LAB_WORK_DIR", "/tmp"))


def workdir_for(prefix: str) -> Path:
    return WORK_ROOT / f"v6lab-{prefix}"


@dataclass
class Leftovers:
    """What one run (or every run, prefix None) still has on this host."""

    processes: dict[int, str] = field(default_factory=dict)   # pid -> prefix
    bridges: dict[str, str] = field(default_factory=dict)     # bridge -> prefix
    links: dict[str, str] = field(default_factory=dict)       # link -> prefix
    state_files: list[Path] = field(default_factory=list)
    workdirs: list[Path] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.processes or self.bridges or self.links or self.state_files or self.workdirs)

    def describe(self) -> str:
        parts = []
        if self.processes:
            parts.append(f"{len(self.processes)} processes ({', '.join(map(str, sorted(self.processes)))})")
        if self.bridges:
            parts.append(f"OVS bridges {', '.join(sorted(self.bridges))}")
        if self.links:
            parts.append(f"links {', '.join(sorted(self.links))}")
        if self.state_files:
            parts.append(f"state files {', '.join(map(str, self.state_files))}")
        if self.workdirs:
            parts.append(f"work folders {', '.join(map(str, self.workdirs))}")
        return "; ".join(parts) or "nothing"

    def runs(self) -> set[str]:
        """The prefixes of the runs these resources belong to."""
        return ({*self.processes.values(), *self.bridges.values(), *self.links.values()}
                | {p.stem for p in self.state_files} | {p.name.removeprefix("v6lab-") for p in self.workdirs})

    def of_run(self, prefix: str) -> Leftovers:
        return Leftovers({k: v for k, v in self.processes.items() if v == prefix},
                         {k: v for k, v in self.bridges.items() if v == prefix},
                         {k: v for k, v in self.links.items() if v == prefix},
                         [p for p in self.state_files if p.stem == prefix],
                         [p for p in self.workdirs if p.name == f"v6lab-{prefix}"])


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def tagged_processes(prefix: str | None = None) -> dict[int, str]:
    needle = f"{ENV_TAG}=".encode()
    mine = _ancestors()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in mine:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        for item in environ.split(b"\0"):
            if item.startswith(needle):
                tag = item[len(needle):].decode(errors="replace")
                if prefix is None or tag == prefix:
                    found[int(entry.name)] = tag
                break
    return found


def tagged_bridges(prefix: str | None = None) -> dict[str, str]:
    try:
        out = subprocess.run(
            ["ovs-vsctl", "--timeout=5", "--format=json", "--columns=name,external_ids", "list", "Bridge"],
            capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if out.returncode != 0:
        return {}
    found = {}
    for name, external_ids in json.loads(out.stdout).get("data", []):
        tag = dict(external_ids[1]).get(BRIDGE_TAG)
        if tag is not None and (prefix is None or tag == prefix):
            found[name] = tag
    return found


def tagged_links(prefix: str | None = None) -> dict[str, str]:
    out = subprocess.run(["ip", "-json", "link", "show"], capture_output=True, text=True)
    found = {}
    # A run killed between creating links and tagging them leaves untagged links
    # whose names still start with its prefix (<prefix><node>-e<port>).
    named = re.compile(rf"^{re.escape(prefix)}[a-z0-9]+-e\d+$") if prefix else None
    for link in json.loads(out.stdout or "[]"):
        alias = link.get("ifalias", "")
        if alias.startswith(ALIAS_TAG):
            tag = alias[len(ALIAS_TAG):]
            if prefix is None or tag == prefix:
                found[link["ifname"]] = tag
        elif named is not None and named.match(link["ifname"]):
            found[link["ifname"]] = prefix
    return found


def find_leftovers(prefix: str | None = None) -> Leftovers:
    state = sorted(STATE_DIR.glob(f"{prefix or '*'}.json")) if STATE_DIR.is_dir() else []
    work = sorted(p for p in WORK_ROOT.glob(f"v6lab-{prefix or 'v???'}") if p.is_dir())
    return Leftovers(tagged_processes(prefix), tagged_bridges(prefix), tagged_links(prefix), state, work)


def state_of(prefix: str) -> dict:
    """What the run ``prefix`` wrote into its state file (empty when it has none)."""
    try:
        state = json.loads((STATE_DIR / f"{prefix}.json").read_text())
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def running(prefix: str) -> bool:
    """Whether the process that started the run ``prefix`` still runs."""
    pid = state_of(prefix).get("pid")
    return isinstance(pid, int) and pid != os.getpid() and _alive(pid)


def _signal_all(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _alive(pid: int) -> bool:
    """Running, not a zombie: the run's own children linger as zombies until reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def remove(leftovers: Leftovers, grace_s: float = 2.0) -> None:
    """Remove everything listed; safe to call twice."""
    if leftovers.processes:
        # SIGHUP as well: Mininet's node shells are interactive bash, which ignores SIGTERM.
        _signal_all(leftovers.processes, signal.SIGTERM)
        _signal_all(leftovers.processes, signal.SIGHUP)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and any(_alive(p) for p in leftovers.processes):
            time.sleep(0.05)
        _signal_all(leftovers.processes, signal.SIGKILL)
    if leftovers.bridges:
        command = ["ovs-vsctl", "--timeout=10"]
        for bridge in sorted(leftovers.bridges):
            command += ["--", "--if-exists", "del-br", bridge]
        subprocess.run(command, capture_output=True)
    for link in sorted(leftovers.links):
        # Deleting one end of a veth removes its peer too; the second may be gone.
        subprocess.run(["ip", "link", "delete", link], capture_output=True)
    for path in leftovers.workdirs:
        shutil.rmtree(path, ignore_errors=True)
    for path in leftovers.state_files:
        path.unlink(missing_ok=True)


def clean(prefix: str | None = None) -> Leftovers:
    """Remove what the run ``prefix`` (every run: None) left; return what was found."""
    found = find_leftovers(prefix)
    _remove_all(found, prefix)
    return found


def clean_interrupted(prefix: str | None = None) -> tuple[Leftovers, list[Path]]:
    """``clean``, for runs that died: also mark each one's manifest interrupted
    (``mark_manifest``). Returns what was found and the manifests marked."""
    found = find_leftovers(prefix)
    # Read before the state files go: they say where each run's manifest is.
    manifests = {run: state_of(run).get("manifest") for run in found.runs()}
    _remove_all(found, prefix)
    return found, [Path(path) for run, path in sorted(manifests.items())
                   if path and mark_manifest(Path(path), run, found.of_run(run).describe())]


def _remove_all(found: Leftovers, prefix: str | None) -> None:
    remove(found)
    # Links may have been held by namespaces of processes that are gone only now.
    remove(Leftovers(links=tagged_links(prefix), bridges=tagged_bridges(prefix)))


def mark_manifest(path: Path, prefix: str, removed: str) -> bool:
    """Mark the manifest of the run ``prefix`` interrupted, with the time and what was
    removed, if it still says ``running`` (or ``up``, a city of ``v6lab up``); only a
    manifest of that run is touched."""
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(manifest, dict) or manifest.get("resource_prefix") != prefix \
            or manifest.get("status") not in ("running", "up"):
        return False
    manifest.update(status="interrupted", cleaned=datetime.now(UTC).isoformat(),
                    cleaned_up=removed)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return True

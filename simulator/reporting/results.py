"""Raw results on disk: results/<scenario>/<run-id>/ with a manifest, JSON lines, CSV
and figures. Everything a report or a later comparison needs is in these files."""

from __future__ import annotations

import csv
import enum
import hashlib
import ipaddress
import json
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import networkx as nx

import simulator
from simulator.model.scenario import REPO_ROOT


def default_results_root() -> Path:
    return REPO_ROOT / "results" if (REPO_ROOT / "results").is_dir() else Path.cwd() / "results"


def _jsonable(value):
    if isinstance(value, (frozenset, set)):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {f: _jsonable(getattr(value, f)) for f in value.__dataclass_fields__}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (ipaddress._BaseAddress, ipaddress._BaseNetwork, ipaddress.IPv4Interface,
                          ipaddress.IPv6Interface, Path)):
        return str(value)
    return value


def graph_document(graph: nx.Graph) -> dict:
    """A canonical, JSON-able form of the graph (sorted), for hashing and export."""
    return {
        "nodes": [{"name": n, **_jsonable(graph.nodes[n]["spec"])} for n in sorted(graph)],
        "links": [{"a": a, "b": b, **_jsonable(graph.edges[a, b]["spec"])}
                  for a, b in sorted(tuple(sorted(e)) for e in graph.edges)],
    }


def topology_hash(graph: nx.Graph) -> str:
    text = json.dumps(graph_document(graph), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _command_version(command: list[str]) -> str | None:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


def versions() -> dict:
    found: dict[str, str | None] = {"v6lab": simulator.__version__, "python": sys.version.split()[0],
             "kernel": platform.release()}
    for package in ("os-ken", "networkx", "matplotlib", "dnspython"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    try:
        import mininet.net
        found["mininet"] = mininet.net.VERSION
    except ImportError:
        found["mininet"] = None
    found["openvswitch"] = _command_version(["ovs-vswitchd", "--version"])
    found["iperf3"] = _command_version(["iperf3", "--version"])
    found["unbound"] = _command_version(["unbound", "-V"])
    return found


class RunFolder:
    def __init__(self, root: Path, scenario: str, run_id: str):
        self.path = Path(root) / scenario / run_id
        self.path.mkdir(parents=True, exist_ok=False)
        self.files: list[str] = []

    def write_json(self, name: str, data) -> Path:
        target = self.path / name
        target.write_text(json.dumps(_jsonable(data), indent=2, sort_keys=True) + "\n")
        self._add(name)
        return target

    def write_jsonl(self, name: str, records: list[dict]) -> Path:
        target = self.path / name
        with target.open("w") as out:
            for record in records:
                out.write(json.dumps(_jsonable(record), sort_keys=True) + "\n")
        self._add(name)
        return target

    def write_csv(self, name: str, records: list[dict], columns: list[str]) -> Path:
        target = self.path / name
        with target.open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for record in records:
                writer.writerow(_jsonable(record))
        self._add(name)
        return target

    def write_figure(self, name: str, figure) -> Path:
        import matplotlib.pyplot as plt
        target = self.path / name
        figure.savefig(target, dpi=110, bbox_inches="tight")
        plt.close(figure)
        self._add(name)
        return target

    def reserve(self, name: str) -> Path:
        """A path in the folder for a file something else writes (a capture)."""
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        self._add(name)
        return target

    def _add(self, name: str) -> None:
        if name not in self.files:
            self.files.append(name)


def command_line() -> list[str]:
    return [os.path.basename(sys.argv[0])] + sys.argv[1:]

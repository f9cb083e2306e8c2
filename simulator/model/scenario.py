"""Scenario files: parsed once into frozen objects, every problem reported together.

    scenarios/x.yaml: measurements.pnig_count: unknown key (did you mean 'ping_count'?)
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from simulator.model.migration import MigrationPlan, parse_plan
from topologies import GENERATORS
from topologies.errors import ConfigError
from topologies.spec import DUAL_STACK, FAMILY_SETS
from topologies.validation import (
    Problems,
    check_keys,
    load_yaml,
    network,
    positive,
    suggest,
    typed,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "default-city.yaml"

FAMILY_MODES = FAMILY_SETS


@dataclass(frozen=True)
class Topology:
    generator: str = "city-slice"
    params: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True)
class Addressing:
    ipv4_pool: str = "10.64.0.0/16"
    ipv6_pool: str = "2001:db8:64::/48"
    ipv4_prefixlen: int = 24


@dataclass(frozen=True)
class Iperf:
    client: str | None = None   # None: the first dual-stack subscriber
    server: str | None = None   # None: the node of the first HTTP service
    duration_s: float = 3.0


@dataclass(frozen=True)
class Comparison:
    repeats: int = 3            # iperf3 runs per path; timing samples = repeats x samples
    duration_s: float = 1.0
    samples: int = 5


@dataclass(frozen=True)
class Workload:
    """A rehearsal's workload on every subscriber (simulator.measurements.workload): a
    connection by name to each web service every ``interval_s`` (given up after
    ``timeout_s``), an echo datagram every ``udp_interval_s``. The defaults are what
    2 cores sustain on the migration city; the run reports the interval achieved."""
    interval_s: float = 1.0
    timeout_s: float = 2.0
    udp_interval_s: float = 0.1


@dataclass(frozen=True)
class Measurements:
    ping_count: int = 3
    http: bool = True
    dns: bool = True
    iperf: Iperf | None = Iperf()
    all_pairs: bool = False     # every host pings every other host, per family (fping)
    # Links ("a--b") to capture on while the matrices are measured, one pcap each,
    # taken at a's end; "translators" stands for the link of each NAT64 and AFTR.
    capture: tuple[str, ...] = ()
    # Each transition mechanism against the native path (simulator.measurements.comparison).
    comparison: Comparison | None = None
    workload: Workload = Workload()


@dataclass(frozen=True)
class Controller:
    app: str = "dual-stack"
    connect_timeout_s: float = 30.0


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    seed: int = 1
    zone: str = "city.test"
    topology: Topology = Topology()
    addressing: Addressing = Addressing()
    measurements: Measurements = Measurements()
    controller: Controller = Controller()
    plan: MigrationPlan | None = None     # phases of a migration rehearsal (simulator.model.migration)
    source: str = "<built-in>"


def _dataclass_keys(cls) -> list[str]:
    return [f for f in cls.__dataclass_fields__ if f != "source"]


def _parse_topology(data, problems, source_dir: Path | None) -> Topology:
    data = check_keys(data, ["generator", "params"], "topology", problems)
    generator = typed(data, "generator", str, "city-slice", "topology", problems)
    if generator not in GENERATORS:
        problems.add("topology.generator",
                     f"unknown generator {generator!r}{suggest(generator, GENERATORS, 'generators')}")
        return Topology()
    params = data.get("params") or {}
    if not isinstance(params, dict):
        problems.add("topology.params", f"expected a mapping, got {params!r}")
        return Topology(generator)
    accepted = inspect.signature(GENERATORS[generator]).parameters
    converted: dict[str, Any] = {}
    for key, value in params.items():
        where = f"topology.params.{key}"
        if key == "districts" and "district_families" in accepted:
            if not isinstance(value, list) or not value:
                problems.add(where, "expected a list of modes such as [dual-stack, ipv4-only]")
                continue
            for index, mode in enumerate(value):
                if not isinstance(mode, str):
                    problems.add(f"{where}[{index}]", f"expected a mode name such as dual-stack, got {mode!r}")
                    value[index] = "dual-stack"
                elif mode not in FAMILY_MODES:
                    problems.add(f"{where}[{index}]", f"unknown mode {mode!r}{suggest(mode, FAMILY_MODES, 'modes')}")
            converted["district_families"] = tuple(FAMILY_MODES.get(m, DUAL_STACK) for m in value)
        elif key not in accepted or key == "district_families":
            problems.add(where, f"generator {generator} has no parameter {key!r}"
                         f"{suggest(key, [k for k in accepted if k != 'district_families'] + ['districts'])}")
        elif key in getattr(GENERATORS[generator], "PATH_PARAMS", ()):
            if not isinstance(value, str):
                problems.add(where, f"expected a file path, got {value!r}")
                continue
            path = Path(value)
            if not path.is_absolute() and source_dir is not None:
                path = source_dir / path
            if not path.is_file():
                problems.add(where, f"{path}: {'not a file' if path.exists() else 'no such file'}")
                continue
            converted[key] = str(path.resolve())
        else:
            default = accepted[key].default
            kind = type(default) if default not in (None, inspect.Parameter.empty) else None
            wrong_bool = isinstance(value, bool) and kind is not bool
            if kind in (int, float, bool) and (
                    wrong_bool or not isinstance(value, (int, float) if kind is float else kind)):
                problems.add(where, f"expected {kind.__name__}, got {value!r}")
                continue
            converted[key] = value
    return Topology(generator, MappingProxyType(converted))


def _parse_iperf(data, problems):
    if data is False or data is None:
        return None
    data = check_keys(data, _dataclass_keys(Iperf), "measurements.iperf", problems)
    path = "measurements.iperf"
    return Iperf(
        client=typed(data, "client", str, None, path, problems),
        server=typed(data, "server", str, None, path, problems),
        duration_s=typed(data, "duration_s", float, 3.0, path, problems, positive))


def _parse_workload(raw, problems) -> Workload:
    path = "measurements.workload"
    data = check_keys(raw, _dataclass_keys(Workload), path, problems)
    default = Workload()
    return Workload(**{key: typed(data, key, float, getattr(default, key), path, problems, positive)
                       for key in _dataclass_keys(Workload)})


def parse_scenario(data, source: str = "<string>") -> Scenario:
    """Validate a loaded YAML document; raise ConfigError listing every problem."""
    problems = Problems(source)
    data = check_keys(data, _dataclass_keys(Scenario), "", problems)
    if not data and not problems.items:
        problems.add("", "empty scenario: it needs at least a 'name'")
    name = typed(data, "name", str, None, "", problems)
    if name is None and "name" not in data:
        problems.add("name", "missing: every scenario has a name (used for results/<name>/)")
    elif name is not None and not name.replace("-", "").replace("_", "").isalnum():
        problems.add("name", f"{name!r} must be letters, digits, '-' or '_' (it names a results folder)")

    addressing = check_keys(data.get("addressing"), _dataclass_keys(Addressing), "addressing", problems)
    measurements = check_keys(data.get("measurements"), _dataclass_keys(Measurements), "measurements", problems)
    controller = check_keys(data.get("controller"), _dataclass_keys(Controller), "controller", problems)
    scenario = Scenario(
        name=name or "unnamed",
        description=typed(data, "description", str, "", "", problems),
        seed=typed(data, "seed", int, 1, "", problems),
        zone=typed(data, "zone", str, "city.test", "", problems),
        topology=_parse_topology(data.get("topology"), problems,
                                 Path(source).parent if Path(source).exists() else None),
        addressing=Addressing(
            ipv4_pool=typed(addressing, "ipv4_pool", str, "10.64.0.0/16", "addressing", problems, network(4)),
            ipv6_pool=typed(addressing, "ipv6_pool", str, "2001:db8:64::/48", "addressing", problems, network(6)),
            ipv4_prefixlen=typed(addressing, "ipv4_prefixlen", int, 24, "addressing", problems,
                                  lambda v: None if 8 <= v <= 30 else f"must be between 8 and 30, got {v}")),
        measurements=Measurements(
            ping_count=typed(measurements, "ping_count", int, 3, "measurements", problems, positive),
            http=typed(measurements, "http", bool, True, "measurements", problems),
            dns=typed(measurements, "dns", bool, True, "measurements", problems),
            all_pairs=typed(measurements, "all_pairs", bool, False, "measurements", problems),
            capture=_parse_capture(measurements.get("capture", []), problems),
            comparison=_parse_comparison(measurements.get("comparison"), problems),
            iperf=_parse_iperf(measurements.get("iperf", {}), problems),
            workload=_parse_workload(measurements.get("workload"), problems)),
        controller=Controller(
            app=typed(controller, "app", str, "dual-stack", "controller", problems,
                       lambda v: None if v == "dual-stack" else f"unknown app {v!r} (known: dual-stack)"),
            connect_timeout_s=typed(controller, "connect_timeout_s", float, 30.0, "controller", problems, positive)),
        plan=parse_plan(data.get("plan"), problems),
        source=source,
    )
    if problems.items:
        raise ConfigError(problems.items)
    return scenario


def _parse_comparison(raw, problems) -> Comparison | None:
    if raw is None or raw is False:
        return None
    data = check_keys({} if raw is True else raw, _dataclass_keys(Comparison), "measurements.comparison", problems)
    path = "measurements.comparison"
    return Comparison(repeats=typed(data, "repeats", int, 3, path, problems, positive),
                      duration_s=typed(data, "duration_s", float, 1.0, path, problems, positive),
                      samples=typed(data, "samples", int, 5, path, problems, positive))


CAPTURE_LINK = re.compile(r"^[a-z][a-z0-9]*--[a-z][a-z0-9]*$")


def _parse_capture(raw, problems) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("measurements.capture", f"expected a list of links such as 'c2--n64' or 'translators', "
                     f"got {raw!r}")
        return ()
    for index, item in enumerate(raw):
        if not isinstance(item, str) or (item != "translators" and not CAPTURE_LINK.match(item)):
            problems.add(f"measurements.capture[{index}]", f"{item!r} is not a link: write 'a--b' (captured "
                         "at a's end) or 'translators'")
    return tuple(item for item in raw if isinstance(item, str))


def load_scenario(path: str | Path | None = None) -> Scenario:
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    data = load_yaml(path, "scenario", f"list the examples with 'ls {REPO_ROOT / 'scenarios'}'")
    return parse_scenario(data, str(path))

"""Scenario files: parsed once into frozen objects, every problem reported together.

    scenarios/x.yaml: measurements.pnig_count: unknown key (did you mean 'ping_count'?)
"""

from __future__ import annotations

import difflib
import inspect
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import yaml

from simulator.errors import ConfigError
from topologies import GENERATORS
from topologies.spec import DUAL_STACK, IPV4_ONLY, IPV6_ONLY

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SCENARIO = REPO_ROOT / "scenarios" / "city-slice.yaml"

FAMILY_MODES = {"dual-stack": DUAL_STACK, "ipv4-only": IPV4_ONLY, "ipv6-only": IPV6_ONLY}


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
class Measurements:
    ping_count: int = 3
    http: bool = True
    dns: bool = True
    iperf: Iperf | None = Iperf()


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
    source: str = "<built-in>"


class _Problems:
    def __init__(self, source: str):
        self.source, self.items = source, []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")


def _suggest(key: str, choices) -> str:
    close = difflib.get_close_matches(str(key), [str(c) for c in choices], n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(sorted(map(str, choices)))})"


def _check_keys(data, allowed, path, problems) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.add(path, f"expected a mapping, got {type(data).__name__} {data!r}")
        return {}
    for key in data:
        if key not in allowed:
            problems.add(f"{path}.{key}" if path else str(key), f"unknown key{_suggest(key, allowed)}")
    return {k: v for k, v in data.items() if k in allowed}


def _typed(data, key, kind, default, path, problems, check: Callable[[Any], str | None] | None = None):
    if key not in data:
        return default
    value = data[key]
    # YAML reads 3 as int; a float field accepts it, a bool never passes as a number.
    ok = isinstance(value, kind) and not (isinstance(value, bool) and kind is not bool)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    where = f"{path}.{key}" if path else key
    if not ok:
        problems.add(where, f"expected {getattr(kind, '__name__', kind)}, got {value!r}")
        return default
    if check is not None:
        message = check(value)
        if message:
            problems.add(where, message)
            return default
    return value


def _positive(value):
    return None if value > 0 else f"must be positive, got {value}"


def _network(version):
    def check(value):
        try:
            ipaddress.ip_network(value)
        except ValueError as error:
            return f"not an IPv{version} network: {error}"
        if ipaddress.ip_network(value).version != version:
            return f"{value} is not an IPv{version} network"
        return None
    return check


def _dataclass_keys(cls) -> list[str]:
    return [f for f in cls.__dataclass_fields__ if f != "source"]


def _parse_topology(data, problems) -> Topology:
    data = _check_keys(data, ["generator", "params"], "topology", problems)
    generator = _typed(data, "generator", str, "city-slice", "topology", problems)
    if generator not in GENERATORS:
        problems.add("topology.generator", f"unknown generator {generator!r}{_suggest(generator, GENERATORS)}")
        return Topology()
    params = data.get("params") or {}
    if not isinstance(params, dict):
        problems.add("topology.params", f"expected a mapping, got {params!r}")
        return Topology(generator)
    accepted = inspect.signature(GENERATORS[generator]).parameters
    converted = {}
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
                    problems.add(f"{where}[{index}]", f"unknown mode {mode!r}{_suggest(mode, FAMILY_MODES)}")
            converted["district_families"] = tuple(FAMILY_MODES.get(m, DUAL_STACK) for m in value)
        elif key not in accepted or key == "district_families":
            problems.add(where, f"generator {generator} has no parameter {key!r}"
                         f"{_suggest(key, [k for k in accepted if k != 'district_families'] + ['districts'])}")
        else:
            default = accepted[key].default
            kind = type(default) if default not in (None, inspect.Parameter.empty) else None
            wrong_bool = isinstance(value, bool) and kind is not bool
            if kind in (int, float, bool) and (wrong_bool or not isinstance(value, (int, float) if kind is float else kind)):
                problems.add(where, f"expected {kind.__name__}, got {value!r}")
                continue
            converted[key] = value
    return Topology(generator, MappingProxyType(converted))


def _parse_iperf(data, problems):
    if data is False or data is None:
        return None
    data = _check_keys(data, _dataclass_keys(Iperf), "measurements.iperf", problems)
    path = "measurements.iperf"
    return Iperf(
        client=_typed(data, "client", str, None, path, problems),
        server=_typed(data, "server", str, None, path, problems),
        duration_s=_typed(data, "duration_s", float, 3.0, path, problems, _positive))


def parse_scenario(data, source: str = "<string>") -> Scenario:
    """Validate a loaded YAML document; raise ConfigError listing every problem."""
    problems = _Problems(source)
    data = _check_keys(data, _dataclass_keys(Scenario), "", problems)
    if not data and not problems.items:
        problems.add("", "empty scenario: it needs at least a 'name'")
    name = _typed(data, "name", str, None, "", problems)
    if name is None and "name" not in data:
        problems.add("name", "missing: every scenario has a name (used for results/<name>/)")
    elif name is not None and not name.replace("-", "").replace("_", "").isalnum():
        problems.add("name", f"{name!r} must be letters, digits, '-' or '_' (it names a results folder)")

    addressing = _check_keys(data.get("addressing"), _dataclass_keys(Addressing), "addressing", problems)
    measurements = _check_keys(data.get("measurements"), _dataclass_keys(Measurements), "measurements", problems)
    controller = _check_keys(data.get("controller"), _dataclass_keys(Controller), "controller", problems)
    scenario = Scenario(
        name=name or "unnamed",
        description=_typed(data, "description", str, "", "", problems),
        seed=_typed(data, "seed", int, 1, "", problems),
        zone=_typed(data, "zone", str, "city.test", "", problems),
        topology=_parse_topology(data.get("topology"), problems),
        addressing=Addressing(
            ipv4_pool=_typed(addressing, "ipv4_pool", str, "10.64.0.0/16", "addressing", problems, _network(4)),
            ipv6_pool=_typed(addressing, "ipv6_pool", str, "2001:db8:64::/48", "addressing", problems, _network(6)),
            ipv4_prefixlen=_typed(addressing, "ipv4_prefixlen", int, 24, "addressing", problems,
                                  lambda v: None if 8 <= v <= 30 else f"must be between 8 and 30, got {v}")),
        measurements=Measurements(
            ping_count=_typed(measurements, "ping_count", int, 3, "measurements", problems, _positive),
            http=_typed(measurements, "http", bool, True, "measurements", problems),
            dns=_typed(measurements, "dns", bool, True, "measurements", problems),
            iperf=_parse_iperf(measurements.get("iperf", {}), problems)),
        controller=Controller(
            app=_typed(controller, "app", str, "dual-stack", "controller", problems,
                       lambda v: None if v == "dual-stack" else f"unknown app {v!r} (known: dual-stack)"),
            connect_timeout_s=_typed(controller, "connect_timeout_s", float, 30.0, "controller", problems, _positive)),
        source=source,
    )
    if problems.items:
        raise ConfigError(problems.items)
    return scenario


def load_scenario(path: str | Path | None = None) -> Scenario:
    path = Path(path) if path is not None else DEFAULT_SCENARIO
    if not path.exists():
        raise ConfigError(f"{path}: no such scenario file; list the examples with 'ls {REPO_ROOT / 'scenarios'}'")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give a scenario file such as {DEFAULT_SCENARIO}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {reason}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; a scenario is YAML") from None
    return parse_scenario(data, str(path))

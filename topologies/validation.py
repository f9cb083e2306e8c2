"""Checking YAML documents against what the code expects, every problem at once.

Scenario files and city specs use the same helpers, so their messages read alike:

    scenarios/x.yaml: measurements.pnig_count: unknown key (did you mean 'ping_count'?)
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from topologies.errors import ConfigError


class Problems:
    def __init__(self, source: str):
        self.source = source
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")


def suggest(key: str, choices, what: str = "keys") -> str:
    close = difflib.get_close_matches(str(key), [str(c) for c in choices], n=1)
    return f" (did you mean '{close[0]}'?)" if close else f" (known {what}: {', '.join(sorted(map(str, choices)))})"


def check_keys(data, allowed, path, problems) -> dict:
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.add(path, f"expected a mapping, got {type(data).__name__} {data!r}")
        return {}
    for key in data:
        if key not in allowed:
            problems.add(f"{path}.{key}" if path else str(key), f"unknown key{suggest(key, allowed)}")
    return {k: v for k, v in data.items() if k in allowed}


def typed(data, key, kind, default, path, problems, check: Callable[[Any], str | None] | None = None):
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


def positive(value):
    return None if value > 0 else f"must be positive, got {value}"


def network(version):
    def check(value):
        try:
            ipaddress.ip_network(value)
        except ValueError as error:
            return f"not an IPv{version} network: {error}"
        if ipaddress.ip_network(value).version != version:
            return f"{value} is not an IPv{version} network"
        return None
    return check


def fraction(value):
    return None if 0 <= value <= 1 else f"must be between 0 and 1, got {value}"


def load_yaml(path: Path, what: str, hint: str):
    """Read a YAML file or raise one ConfigError saying what is wrong with it."""
    if not path.exists():
        raise ConfigError(f"{path}: no such {what} file; {hint}")
    if path.is_dir():
        raise ConfigError(f"{path}: is a folder; give a {what} file; {hint}")
    if not path.is_file():
        raise ConfigError(f"{path}: not a regular file; give a {what} file; {hint}")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        reason = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{where}: not valid YAML: {reason}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; a {what} is YAML") from None

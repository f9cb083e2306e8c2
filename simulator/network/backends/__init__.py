"""Backends by name. Only ``simulator.network.backends.emulation`` imports Mininet, and only
when it is chosen, so unit tests and the model tier never need it."""

from __future__ import annotations


def _emulation():
    from simulator.network.backends.emulation import EmulationBackend
    return EmulationBackend


BACKENDS = {
    "emulation": _emulation,
}


def backend_class(name: str):
    if name not in BACKENDS:
        from topologies.errors import ConfigError
        raise ConfigError(f"backend {name!r}: unknown; choose one of {', '.join(sorted(BACKENDS))}")
    return BACKENDS[name]()

"""The small interface every backend offers: start, run a command on a node, read
counters, stop. The emulation backend runs the graph in Mininet; a model backend
(later) computes the same outputs from the graph alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    node: str
    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class Backend(Protocol):
    name: str

    def start(self) -> None: ...

    def run(self, node: str, command: list[str], timeout: float | None = None) -> CommandResult: ...

    def run_many(self, commands: dict[str, list[str]], timeout: float | None = None) -> dict[str, CommandResult]: ...

    def warm_up(self) -> None: ...

    def counters(self) -> dict: ...

    def stop(self) -> None: ...

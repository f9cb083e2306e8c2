"""Everything one run measured, as the runner hands it to the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunResult:
    scenario: str
    run_id: str
    path: Path
    cells: list[dict] = field(default_factory=list)
    throughput: list[dict] = field(default_factory=list)
    traffic: dict[str, int] = field(default_factory=dict)
    learned_flows: dict[str, int] = field(default_factory=dict)
    pairs: list[dict] = field(default_factory=list)
    transition: list[dict] = field(default_factory=list)
    # Bytes the controller's table 0 classified per mechanism, summed over switches.
    mechanism_traffic: dict[str, int] = field(default_factory=dict)
    comparison: list[dict] = field(default_factory=list)
    # Bytes and packets per family at each measurement point (simulator.measurements.meters).
    metered: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # A migration rehearsal's phases: what each did (simulator.rehearse).
    phases: list[dict] = field(default_factory=list)
    # ... and what each of their changes did, one at a time.
    changes: list[dict] = field(default_factory=list)
    report: Path | None = None       # report.html, once written

    @property
    def unexpected(self) -> list[dict]:
        return [r for r in self.cells + self.pairs + self.transition if not r["as_expected"]]

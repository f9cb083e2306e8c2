"""The command line: ``v6lab doctor | run | clean``. The only place that prints
errors and picks exit statuses."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from simulator import __version__
from simulator.errors import ConfigError, TestbedError


def _doctor(args) -> int:
    from simulator.capabilities import format_report, probe_host
    caps = probe_host()
    print(format_report(caps))
    return 0 if caps.can_emulate else 1


def _run(args) -> int:
    from simulator.progress import Progress
    from simulator.report import summary
    from simulator.runner import run_scenario
    from simulator.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    result = run_scenario(scenario, results_root=args.results, progress=Progress(quiet=args.quiet))
    print(summary(result))
    return 0 if not result.unexpected else 4


def _clean(args) -> int:
    from simulator import cleanup
    if os.geteuid() != 0:
        raise TestbedError("clean needs root to remove namespaces, links and OVS bridges: run it with sudo")
    found = cleanup.clean(args.run)
    what = f"run {args.run}" if args.run else "all v6lab runs"
    print(f"{what}: nothing left behind" if found.empty else f"{what}: removed {found.describe()}")
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="v6lab", description="IPv6 migration testbed.")
    top.add_argument("--version", action="version", version=f"v6lab {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    doctor = sub.add_parser("doctor", help="what this host can emulate, and how to get what is missing")
    doctor.set_defaults(func=_doctor)

    run = sub.add_parser("run", help="run a scenario (default: the city slice)")
    run.add_argument("scenario", nargs="?", help="scenario file (default: scenarios/city-slice.yaml)")
    run.add_argument("--results", type=Path, help="results root (default: the repository's results/)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(func=_run)

    clean = sub.add_parser("clean", help="remove what crashed runs left (only v6lab's own, by run tag)")
    clean.add_argument("--run", metavar="PREFIX", help="only this run's resources (e.g. vk3q)")
    clean.set_defaults(func=_clean)
    return top


def _interrupt(signum, frame):
    """SIGTERM tears down like Ctrl-C does."""
    raise KeyboardInterrupt


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.func(args)
    except ConfigError as error:
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return error.exit_status
    except TestbedError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_status
    except KeyboardInterrupt:
        print("interrupted: everything this run started has been removed", file=sys.stderr)
        return 130

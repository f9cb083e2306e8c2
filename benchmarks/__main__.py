"""All benchmarks in turn: the city slice, the translators, cities of several sizes, a
migration's changes applied live (make-before-break against cut-over).

    sudo make bench          (or: sudo .venv/bin/python -m benchmarks [--no-translators] [--no-cities]
                              [--cities ~50,~150,~300,~1000] [--only-cities] [--no-rehearsal]
                              [--only-rehearsal])
"""

import sys

from benchmarks import city_scale, foundation, rehearsal, translators


def _option(name: str) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv[:-1] else None


def main() -> int:
    if "--only-rehearsal" in sys.argv:
        if foundation.datapath() is None:
            return 3
        rehearsal.run()
        return 0
    if "--only-cities" in sys.argv:
        datapath = foundation.datapath()
    else:
        datapath = foundation.run()
        if datapath is not None and "--no-translators" not in sys.argv:
            translators.run(datapath)
    if datapath is None:
        return 3
    if "--no-cities" not in sys.argv:
        sizes = _option("--cities")
        city_scale.run(datapath, sizes.split(",") if sizes else None)
    if "--no-rehearsal" not in sys.argv and "--only-cities" not in sys.argv:
        rehearsal.run()
    return 0


raise SystemExit(main())

"""All benchmarks in turn: the city slice, the translators, cities of several sizes.

    sudo make bench          (or: sudo .venv/bin/python -m benchmarks [--no-translators] [--no-cities])
"""

import sys

from benchmarks import city_scale, foundation, translators


def main() -> int:
    datapath = foundation.run()
    if datapath is None:
        return 3
    if "--no-translators" not in sys.argv:
        translators.run(datapath)
    if "--no-cities" not in sys.argv:
        city_scale.run(datapath)
    return 0


raise SystemExit(main())

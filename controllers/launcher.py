"""Start a controller app on os-ken (which, from version 4, ships no manager command).

    python -m controllers.launcher --port 6653 --stats-file /tmp/x/stats.json

Listens on loopback only: emulated switches reach it over 127.0.0.1.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal

APPS = {"dual-stack": "controllers.dual_stack"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="controllers.launcher", description=__doc__)
    parser.add_argument("--app", default="dual-stack", choices=sorted(APPS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stats-file", help="where the app writes its counters (JSON)")
    parser.add_argument("--stats-interval", type=float, default=1.0)
    parser.add_argument("--mechanisms", help="JSON file: what the transition mechanisms put on the wire")
    parser.add_argument("--control-port", type=int,
                        help="where the app takes phase changes from the runner (127.0.0.1 only)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    from os_ken import cfg
    from os_ken.base.app_manager import AppManager

    cfg.CONF(args=["--ofp-listen-host", args.host, "--ofp-tcp-listen-port", str(args.port)],
             project="os_ken")
    module = APPS[args.app]
    if args.stats_file:
        settings = __import__(module, fromlist=["SETTINGS"]).SETTINGS
        settings["stats_path"] = args.stats_file
        settings["stats_interval"] = args.stats_interval
        settings["control_port"] = args.control_port
        if args.mechanisms:
            import json
            with open(args.mechanisms) as source:
                settings["mechanisms"] = json.load(source)
    # The runner stops the controller with SIGTERM; os-ken's own shutdown path
    # fails on native threads (HubThread has no kill), so leave at once.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    AppManager.run_apps([module, "os_ken.controller.ofp_handler"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

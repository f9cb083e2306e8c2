"""The running network: backends, the daemons that run inside nodes, what this host
can do (``capabilities``), cleanup by run tag (``cleanup``), and what a run
prepares before it builds, shared with ``v6lab topo check`` (``preparation``).

Only ``backends.emulation`` imports Mininet. Daemon configurations render without
root, so they have unit tests; backends only execute them.
"""

"""The running network: backends, the daemons that run inside nodes, what this host
can do (``capabilities``) and cleanup by run tag (``cleanup``).

Only ``backends.emulation`` imports Mininet. Daemon configurations render without
root, so they have unit tests; backends only execute them.
"""

"""One exception tree for the whole testbed (here, in the lowest layer, so that every
layer can raise it without importing a layer above).

Library code raises these; only the command line prints them and picks the exit
status. Every message names the thing, the value and the fix.
"""


class TestbedError(Exception):
    """Base of every error the testbed raises on purpose."""

    __test__ = False  # not a pytest test class, despite the name
    exit_status = 1


class ConfigError(TestbedError):
    """A scenario or spec file is wrong; ``problems`` lists every problem found."""

    exit_status = 2

    def __init__(self, problems):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class TopologyError(TestbedError):
    """A graph cannot be built or addressed as described."""


class HostError(TestbedError):
    """This host lacks something a run needs (root, a binary, a kernel feature)."""

    exit_status = 3


class BackendError(TestbedError):
    """The running network failed: a switch never connected, a command failed."""


class DaemonError(TestbedError):
    """A daemon inside a node failed its configuration check or did not start."""


class ResultsError(TestbedError):
    """A results folder cannot be reported on: it is not a run's, its run did not
    finish, or one of its files cannot be read or written."""

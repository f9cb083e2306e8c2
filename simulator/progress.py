"""Progress lines on stderr while a run works: what it is doing and how long it took."""

from __future__ import annotations

import contextlib
import sys
import time


class Progress:
    def __init__(self, stream=None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()

    def _say(self, text: str) -> None:
        if not self.quiet:
            self.stream.write(f"[{time.monotonic() - self.started:6.1f}s] {text}\n")
            self.stream.flush()

    def note(self, text: str) -> None:
        self._say(text)

    def warn(self, text: str) -> None:
        """Said even when quiet: something the user should act on."""
        self.stream.write(f"warning: {text}\n")
        self.stream.flush()

    @contextlib.contextmanager
    def step(self, text: str):
        self._say(f"{text} ...")
        mark = time.monotonic()
        yield
        self._say(f"  done in {time.monotonic() - mark:.1f} s")

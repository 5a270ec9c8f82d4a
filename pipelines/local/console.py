"""Progress of a local run on stderr, as a person watching it wants it."""

from __future__ import annotations

import sys
import time
from typing import Any


class Console:
    """Progress on stderr: one line per step event; a job's live state (a training job's
    round, metric and time left) rewritten in place on a terminal, or a plain line every
    LIVE_EVERY seconds when piped (every one with -v); nothing with --quiet."""

    LIVE_EVERY = 10.0

    def __init__(self, quiet: bool = False, verbose: bool = False, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet, self.verbose = quiet, verbose
        self.terminal = self.stream.isatty()
        self.started = time.perf_counter()
        self._live_shown = False
        self._last_live = -self.LIVE_EVERY

    def _stamp(self, text: str) -> str:
        return f"[{time.perf_counter() - self.started:6.1f}s] {text}"

    def line(self, text: str) -> None:
        if self.quiet:
            return
        if self._live_shown:
            self.stream.write("\r\033[K")
            self._live_shown = False
        self.stream.write(self._stamp(text) + "\n")
        self.stream.flush()

    def live(self, text: str) -> None:
        if self.quiet:
            return
        if self.terminal:
            self.stream.write("\r\033[K" + self._stamp(text))
            self._live_shown = True
        else:
            now = time.perf_counter()
            if not self.verbose and now - self._last_live < self.LIVE_EVERY:
                return
            self._last_live = now
            self.stream.write(self._stamp(text) + "\n")
        self.stream.flush()

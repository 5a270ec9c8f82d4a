"""Live progress of a training job, read from its log as it grows.

XGBoost prints `[<round>]\\tvalidation-rmse:<value>` every few rounds (train.py's
log_every); the same lines the definition's MetricDefinitions read on SageMaker. A watcher
thread tails the job log and reports the latest round, the validation metric and an
estimate of the time left (at the current pace to num_round: early stopping may end it
sooner), then the phase after the rounds (the refit on all history).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROUND = re.compile(r"^\[(\d+)\]\t([\w-]+)[:=]([0-9.eE+-]+)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Round:
    number: int
    metric: str
    value: float


def last_round(text: str) -> Round | None:
    found = None
    for found in ROUND.finditer(text):  # noqa: B007 - the last one is wanted
        pass
    if found is None:
        return None
    return Round(int(found.group(1)), found.group(2), float(found.group(3)))


def _duration(seconds: float) -> str:
    minutes, rest = divmod(max(int(seconds + 0.5), 0), 60)
    return f"{minutes}m{rest:02d}s"


def describe(current: Round, total: int | None, elapsed: float, first: Round | None) -> str:
    """'round 350/1000, validation-rmse 0.10728, 12s; at most ~22s to go'."""
    text = f"round {current.number}" + (f"/{total}" if total else "")
    text += f", {current.metric} {current.value:.5f}, {_duration(elapsed)}"
    if total and first is not None and current.number > first.number and elapsed > 0:
        pace = elapsed / current.number
        left = (total - current.number) * pace
        text += f"; at most ~{_duration(left)} to go"
    return text


class Watcher:
    """Tail `log` every `interval` seconds while the job runs; call `report` with a line each
    time a new round appears. Use as a context manager around the job."""

    def __init__(
        self,
        log: Path,
        report: Callable[[str], None],
        total: int | None,
        interval: float = 0.5,
    ) -> None:
        self.log, self.report, self.total, self.interval = log, report, total, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()
        self._last: Round | None = None
        self._first: Round | None = None

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def poll(self) -> None:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return
        current = last_round(text)
        if current is None or current == self._last:
            return
        if self._first is None:
            self._first = current
            self._started = time.monotonic()  # the clock starts at the first round
        self._last = current
        line = describe(current, self.total, time.monotonic() - self._started, self._first)
        if "best-iteration=" in text:
            line += "; rounds done, refitting on all history"
        self.report(line)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.poll()

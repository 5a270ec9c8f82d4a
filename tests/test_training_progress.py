"""Live training progress: the round, the validation metric and the time left, read from a
real train.py log as it grows, and shown on a terminal (one line rewritten in place) or a
pipe (plain lines, throttled)."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

from conftest import REPO, cli_args

from pipelines.local.console import Console
from pipelines.local.training_progress import Round, Watcher, describe, last_round

LOG = "$ python train.py\n[0]\tvalidation-rmse:0.32001\n[50]\tvalidation-rmse:0.13179\n"


def test_the_last_round_and_what_is_left() -> None:
    assert last_round("no rounds yet\n") is None
    current = last_round(LOG)
    assert current == Round(50, "validation-rmse", 0.13179)
    first = Round(0, "validation-rmse", 0.32001)
    line = describe(current, 1000, 10.0, first)
    assert line == "round 50/1000, validation-rmse 0.13179, 0m10s; at most ~3m10s to go"
    assert describe(current, None, 10.0, first) == "round 50, validation-rmse 0.13179, 0m10s"


def test_the_watcher_reports_each_new_round_of_a_real_training(
    prepared: dict[str, Path], tmp_path: Path
) -> None:
    log = tmp_path / "job.log"
    lines: list[str] = []
    channels = {name: prepared[name] for name in ("train", "validation", "history", "schema")}
    argv = cli_args(**channels, model_dir=tmp_path / "model")
    with log.open("w") as out, Watcher(log, lines.append, total=300, interval=0.05):
        subprocess.run(
            [
                sys.executable,
                str(REPO / "training_scripts" / "train.py"),
                *argv,
                "--num_round",
                "300",
                "--early_stopping_rounds",
                "0",
                "--eta",
                "0.1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    rounds = [int(line.split()[1].split("/")[0]) for line in lines]
    assert rounds == sorted(set(rounds)) and rounds[-1] == 299
    assert all("/300, validation-rmse 0." in line for line in lines)
    assert any("to go" in line for line in lines)


def _drain(master: int) -> str:
    """Everything written to the pty (it arrives in pieces; EIO once the writer closed)."""
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode()


def test_a_terminal_gets_one_line_rewritten_and_a_pipe_plain_lines() -> None:
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as terminal:
        console = Console(stream=terminal)
        console.live("Train: round 50/1000")
        console.live("Train: round 100/1000")
        console.line("Train: Succeeded")
    shown = _drain(master)
    assert shown.count("\r\x1b[K") == 3 and shown.endswith("Train: Succeeded\r\n")
    assert "round 100/1000" in shown

    pipe = io.StringIO()
    console = Console(stream=pipe)
    for number in (50, 100, 150):
        console.live(f"Train: round {number}/1000")
    console.line("Train: Succeeded")
    lines = pipe.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in pipe.getvalue()  # one live line per 10 s
    assert lines[0].endswith("Train: round 50/1000") and lines[1].endswith("Train: Succeeded")

    verbose = io.StringIO()
    console = Console(verbose=True, stream=verbose)
    for number in (50, 100):
        console.live(f"Train: round {number}/1000")
    assert len(verbose.getvalue().splitlines()) == 2

    quiet = io.StringIO()
    console = Console(quiet=True, stream=quiet)
    console.live("Train: round 50/1000")
    console.line("Train: Succeeded")
    assert quiet.getvalue() == ""

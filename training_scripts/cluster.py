"""Training on several instances: XGBoost's own collective across the job's hosts.

SageMaker starts the same script on every host of a training job with SM_HOSTS (all hosts)
and SM_CURRENT_HOST; with ShardedByS3Key channels each host holds its share of the rows.
As the XGBoost container's `distributed.rabit_run` does, the first host (sorted) runs the
collective's tracker and every host joins it: first all of them, to learn which hosts
received training data, then only those, on the next port. A host without data leaves
(exit 0), as in the container. Inside the cluster `xgb.train` builds each tree from every
host's histograms, evaluation metrics are summed across hosts (so early stopping agrees),
and `allreduce_sum`/`gather` combine what the script computes itself.

With one host nothing of this runs. The tracker's first port is 9099 (the container's);
the project's local runner, which emulates the hosts as processes on 127.0.0.1, picks free
ones through XGBOOST_TRACKER_PORT.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_PORT = 9099
CONNECT_ATTEMPTS = 12
CONNECT_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Hosts:
    """The job's hosts, as SageMaker's training toolkit describes them."""

    hosts: tuple[str, ...]
    current: str

    @classmethod
    def from_environment(cls) -> Hosts:
        hosts = json.loads(os.environ.get("SM_HOSTS", '["algo-1"]'))
        current = os.environ.get("SM_CURRENT_HOST", hosts[0])
        return cls(tuple(sorted(hosts)), current)

    @property
    def distributed(self) -> bool:
        return len(self.hosts) > 1


def _address(host: str, attempts: int = CONNECT_ATTEMPTS) -> str:
    """The host's IP address; a cluster's names resolve a few seconds after start-up."""
    for attempt in range(attempts):
        try:
            return socket.gethostbyname(host)
        except OSError:
            if attempt == attempts - 1:
                raise
            time.sleep(CONNECT_WAIT_SECONDS)
    raise AssertionError("unreachable")


@contextlib.contextmanager
def _collective(hosts: tuple[str, ...], current: str, port: int) -> Iterator[None]:
    """XGBoost's communicator over `hosts`, the first one running the tracker."""
    from xgboost import collective
    from xgboost.tracker import RabitTracker

    master = _address(hosts[0])
    tracker = None
    if current == hosts[0]:
        tracker = RabitTracker(n_workers=len(hosts), host_ip=master, port=port, sortby="task")
        tracker.start()
    args: dict[str, Any] = {
        "dmlc_tracker_uri": master,
        "dmlc_tracker_port": port,
        "dmlc_task_id": str(hosts.index(current)),
        "dmlc_timeout": 300,
    }
    context = None
    for attempt in range(CONNECT_ATTEMPTS):
        try:  # the tracker may not listen yet: the whole init is retried
            context = collective.CommunicatorContext(**args)
            context.__enter__()
            break
        except Exception:
            context = None
            if attempt == CONNECT_ATTEMPTS - 1:
                raise
            time.sleep(CONNECT_WAIT_SECONDS)
    try:
        yield
    finally:
        if context is not None:
            context.__exit__(None, None, None)
        if tracker is not None:
            tracker.wait_for(timeout=60)


@dataclass(frozen=True)
class Cluster:
    """This host's place in the training cluster (rank 0 of 1 when alone)."""

    rank: int
    size: int

    @property
    def is_master(self) -> bool:
        """The host that writes the model and the report."""
        return self.rank == 0

    def allreduce_sum(self, values: list[float]) -> list[float]:
        """Each value summed over every host."""
        if self.size == 1:
            return list(values)
        from xgboost import collective

        array = np.asarray(values, dtype="float64")
        return [float(v) for v in collective.allreduce(array, collective.Op.SUM)]

    def gather(self, values: np.ndarray) -> np.ndarray:
        """Every host's `values`, concatenated in rank order (the same on every host)."""
        if self.size == 1:
            return values
        from xgboost import collective

        # each rank in turn sends its own; what the others pass is ignored
        return np.concatenate([collective.broadcast(values, r) for r in range(self.size)])


@contextlib.contextmanager
def join(hosts: Hosts, has_data: bool, port: int | None = None) -> Iterator[Cluster]:
    """Join the job's cluster for the block; a host without data exits (0), like the
    container's. One host, or one with data: no collective at all."""
    if not hosts.distributed:
        if not has_data:
            raise RuntimeError("no host received training data")
        yield Cluster(0, 1)
        return
    first = port or int(os.environ.get("XGBOOST_TRACKER_PORT", DEFAULT_PORT))
    with _collective(hosts.hosts, hosts.current, first):
        flags = np.zeros(len(hosts.hosts))
        flags[hosts.hosts.index(hosts.current)] = float(has_data)
        from xgboost import collective

        flags = collective.allreduce(flags, collective.Op.SUM)
    working = tuple(h for h, flag in zip(hosts.hosts, flags, strict=True) if flag)
    if not working:
        raise RuntimeError("no host received training data")
    if not has_data:
        print(f"train: host {hosts.current} received no training data; it sits out", flush=True)
        sys.exit(0)
    if len(working) == 1:
        yield Cluster(0, 1)
        return
    with _collective(working, hosts.current, first + 1):
        from xgboost import collective

        yield Cluster(collective.get_rank(), collective.get_world_size())

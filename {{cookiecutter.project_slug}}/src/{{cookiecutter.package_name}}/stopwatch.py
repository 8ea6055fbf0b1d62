"""Wall time per named step of a flow, so benchmarks and the closed loop can tell the work
(reading data, fitting, scoring, drift computation) from everything around it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from . import progress

P = ParamSpec("P")
R = TypeVar("R")

# Steps that are the system's work rather than orchestration, tracking or reporting.
WORK_STEPS = frozenset(
    {
        "load", "split", "fit", "evaluate", "score_champion",  # training
        "load_batch", "validate", "store",  # ingestion
        "load_reference", "load_current", "compare",  # monitoring
        "read_labels", "join", "measure",  # labels
    }
)  # fmt: skip


class Stopwatch:
    """Times each named step of the flow `flow`; on a terminal, shows each as it runs."""

    def __init__(self, flow: str) -> None:
        self.flow = flow
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, step: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            with progress.step(f"{self.flow}: {name.replace('_', ' ')}"):
                return step(*args, **kwargs)
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def work_seconds(seconds: dict[str, float]) -> float:
    """The work among `seconds`; a subflow's steps count too ("retrain.fit")."""
    return sum(value for name, value in seconds.items() if name.rpartition(".")[2] in WORK_STEPS)

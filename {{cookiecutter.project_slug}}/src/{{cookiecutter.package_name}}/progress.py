"""What long work is doing, shown on a terminal only.

On a terminal (stderr is a TTY), each step of a flow writes a line when it starts and one with
its time when it ends, and work with a known size (rows to score) draws a bar redrawn in place.
Anywhere else (CI, logs, a pipe) nothing is written here: Prefect's log already gives a line per
task, and output parsed by scripts stays as it is. `MLSD_PROGRESS=0` turns it off on a terminal.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

BAR_WIDTH = 30
REDRAW_SECONDS = 0.1


def terminal(stream: TextIO | None = None) -> TextIO | None:
    """The stream to draw on, or None when it is not an interactive terminal."""
    stream = stream or sys.stderr
    if os.environ.get("MLSD_PROGRESS", "1") == "0" or os.environ.get("TERM") == "dumb":
        return None
    try:
        return stream if stream.isatty() else None
    except (AttributeError, ValueError):  # replaced or closed streams
        return None


@contextmanager
def step(label: str, stream: TextIO | None = None) -> Iterator[None]:
    """`-> label` when the block starts, `ok label  1.2 s` (or `failed`) when it ends."""
    shown = terminal(stream)
    if shown is None:
        yield
        return
    shown.write(f"-> {label}\n")
    shown.flush()
    started = time.perf_counter()
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        shown.write(f"{outcome:>6} {label}  {time.perf_counter() - started:.1f} s\n")
        shown.flush()


class Bar:
    """A bar over `total` units, redrawn at most every REDRAW_SECONDS; a no-op off a terminal."""

    def __init__(self, label: str, total: int, unit: str, stream: TextIO | None = None) -> None:
        self.label, self.total, self.unit = label, max(total, 1), unit
        self.stream = terminal(stream)
        self.done = 0
        self.started = self.drawn = time.perf_counter()

    def advance(self, amount: int) -> None:
        self.done += amount
        now = time.perf_counter()
        if self.stream is not None and (now - self.drawn >= REDRAW_SECONDS or self.finished):
            self.drawn = now
            self.stream.write("\r" + self.line(now) + ("\n" if self.finished else ""))
            self.stream.flush()

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def line(self, now: float) -> str:
        share = min(self.done / self.total, 1.0)
        filled = int(share * BAR_WIDTH)
        return (
            f"{self.label} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} "
            f"{self.done:,}/{self.total:,} {self.unit}  {now - self.started:.1f} s"
        )

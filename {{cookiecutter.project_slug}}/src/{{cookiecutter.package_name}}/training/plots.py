"""Diagnostic plots as PNG files, whatever the task: each task's `evaluation.py` says what to
draw, this writes one figure per drawing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

Drawing = Callable[["Axes"], object]


def write_figures(drawings: Mapping[str, Drawing], folder: Path) -> list[Path]:
    """One PNG per `file name: drawing`, titled after the file, in `folder`."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display, no GUI toolkit
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, draw in drawings.items():
        figure, axes = plt.subplots(figsize=(5, 4), dpi=100)
        draw(axes)
        axes.set_title(file_name.removesuffix(".png").replace("_", " "))
        figure.tight_layout()
        figure.savefig(folder / file_name)
        plt.close(figure)
        written.append(folder / file_name)
    return written

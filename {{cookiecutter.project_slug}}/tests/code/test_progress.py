"""Progress is drawn on a terminal only: step lines and bars there, nothing in logs and pipes."""

from __future__ import annotations

import io

import pytest

from {{ cookiecutter.package_name }} import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_step_shows_when_it_starts_and_how_it_ended() -> None:
    shown = Terminal()
    with progress.step("training: fit", shown):
        assert shown.getvalue() == "-> training: fit\n"
    with pytest.raises(RuntimeError), progress.step("training: evaluate", shown):
        raise RuntimeError("boom")
    lines = shown.getvalue().splitlines()
    assert lines[1].split()[:3] == ["ok", "training:", "fit"]
    assert lines[3].split()[:3] == ["failed", "training:", "evaluate"]


def test_a_bar_ends_on_its_total() -> None:
    shown = Terminal()
    bar = progress.Bar("scoring", 1_000, "rows", shown)
    for _ in range(4):
        bar.advance(250)
    last = shown.getvalue().split("\r")[-1]
    assert last.startswith("scoring [" + "#" * progress.BAR_WIDTH + "] 100% 1,000/1,000 rows")
    assert last.endswith("\n")


def test_nothing_is_written_off_a_terminal_or_when_turned_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    piped = io.StringIO()
    with progress.step("ingestion: validate", piped):
        progress.Bar("scoring", 10, "rows", piped).advance(10)
    assert piped.getvalue() == ""

    monkeypatch.setenv("MLSD_PROGRESS", "0")
    terminal = Terminal()
    with progress.step("ingestion: validate", terminal):
        progress.Bar("scoring", 10, "rows", terminal).advance(10)
    assert terminal.getvalue() == ""

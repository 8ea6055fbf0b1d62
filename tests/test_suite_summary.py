"""How the template judges a generated project's pytest run: passed, with skips only for a
missing system tool (never under CI), each listed at the end of `make test`."""

from __future__ import annotations

import pytest

from .conftest import SKIPPED_IN_PROJECTS, SYSTEM_TOOL_SKIPS, check_suite_summary

REDIS = SYSTEM_TOOL_SKIPS[0]


def output(closing: str, skipped: tuple[str, ...] = ()) -> str:
    lines = [f"SKIPPED [1] tests/e2e/test_x.py:12: {reason}" for reason in skipped]
    return "\n".join([*lines, f"============ {closing} in 12.34s (0:00:12) ============"])


def test_passed_runs_are_accepted_with_or_without_deselected() -> None:
    assert check_suite_summary(output("131 passed, 3 deselected"), "t", deselected=True) == 131
    assert check_suite_summary(output("131 passed"), "t") == 131
    with pytest.raises(AssertionError):
        check_suite_summary(output("131 passed"), "t", deselected=True)


@pytest.mark.parametrize("closing", ["1 failed, 130 passed", "130 passed, 1 error", "no tests ran"])
def test_failures_and_errors_are_not(closing: str) -> None:
    with pytest.raises(AssertionError):
        check_suite_summary(output(closing), "t")


def test_a_missing_system_tool_is_accepted_outside_ci_and_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    before = len(SKIPPED_IN_PROJECTS)
    assert check_suite_summary(output("130 passed, 1 skipped", (REDIS,)), "feast") == 131
    assert SKIPPED_IN_PROJECTS[before:] == [f"feast: tests/e2e/test_x.py:12: {REDIS}"]
    del SKIPPED_IN_PROJECTS[before:]


def test_under_ci_no_skip_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(AssertionError, match="CI installs every system tool"):
        check_suite_summary(output("130 passed, 1 skipped", (REDIS,)), "feast")


def test_any_other_skip_or_an_unexplained_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(AssertionError, match="an unexpected skip"):
        check_suite_summary(output("130 passed, 1 skipped", ("flaky, skipped for now",)), "t")
    with pytest.raises(AssertionError, match="no reasons listed"):
        check_suite_summary(output("130 passed, 1 skipped"), "t")

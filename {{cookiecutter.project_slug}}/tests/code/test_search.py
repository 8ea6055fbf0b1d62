"""The parameter search's choices: what it samples from each candidate's space, and which
trial it calls best (the search itself runs for real in e2e/test_dask.py)."""

from __future__ import annotations

import math

import pytest

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.modeling import MODELS, build_model
from {{ cookiecutter.package_name }}.modeling.candidates import SEARCH_SPACES
from {{ cookiecutter.package_name }}.training import search
from {{ cookiecutter.package_name }}.training.search import (
    NoSearchSpaceError,
    SearchResult,
    Trial,
    parameter_sets,
)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_each_candidate_can_be_searched_from_its_own_values(
    name: str, contract: DataContract
) -> None:
    space = SEARCH_SPACES[name]
    own = build_model(name, contract, seed=0).get_params()
    for parameter, values in space.items():
        assert own[parameter] in values, (name, parameter)


def test_parameter_sets_are_seeded_distinct_and_capped_at_the_space() -> None:
    name = sorted(SEARCH_SPACES)[0]
    space = SEARCH_SPACES[name]
    size = math.prod(len(values) for values in space.values())
    every = parameter_sets(name, size + 10, seed=3)
    assert len(every) == size
    assert len({repr(sorted(params.items())) for params in every}) == size
    assert parameter_sets(name, 2, seed=3) == parameter_sets(name, 2, seed=3)


def test_a_candidate_without_a_space_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SEARCH_SPACES", {})
    with pytest.raises(NoSearchSpaceError, match="'gradient_boosting' has no entry in SEARCH"):
        parameter_sets("gradient_boosting", 3, seed=0)


@pytest.mark.parametrize(
    ("higher_is_better", "metrics", "best"),
    [
        (True, [0.7, float("nan"), 0.9, 0.9], 2),  # the first of equals
        (False, [0.7, float("nan"), 0.9, 0.5], 3),
        (True, [float("nan"), 0.1], 1),  # any number before NaN
        (False, [float("nan"), float("nan")], 0),
    ],
)
def test_the_best_trial(higher_is_better: bool, metrics: list[float], best: int) -> None:
    trials = tuple(Trial(params={"i": i}, metric=m) for i, m in enumerate(metrics))
    result = SearchResult(metric="m", higher_is_better=higher_is_better, trials=trials)
    assert result.best.params == {"i": best}

"""The trial's analysis on seeded synthetic traffic with known effects: it finds a true
difference, and does not find a false one more often than step 1's confidence allows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.monitoring.experiment import analyse
from {{ cookiecutter.package_name }}.requirements import ExperimentRules, load_requirements
from {{ cookiecutter.package_name }}.serving.split import CHALLENGER_ARM, CHAMPION_ARM, in_challenger_arm
from {{ cookiecutter.package_name }}.settings import Settings
from worked_example import noise_scores, oracle_scores

OFFLINE = load_requirements(Settings().requirements_file).offline_metrics
RULES = ExperimentRules(min_labelled_per_arm=200, bootstrap_rounds=200)
REPETITIONS = 20
ROWS = 2_000


def model_scores(
    batch: pd.DataFrame, contract: DataContract, seed: int, skill: float
) -> np.ndarray:
    """Scores of a model that knows the outcome of a `skill` share of the records (the
    generator's ground truth) and nothing of the rest."""
    rng = np.random.default_rng(seed)
    truth = contract.encode_target(batch[contract.target.name]).to_numpy(dtype=float)
    knows = rng.random(len(batch)) < skill
    noise = noise_scores(rng, len(batch))
    return np.where(per_row(knows, noise), oracle_scores(truth), noise)


def per_row(chosen: np.ndarray, like: np.ndarray) -> np.ndarray:
    """A choice per row, shaped to pick whole rows of `like` (one score, or one per class)."""
    return chosen.reshape(-1, *[1] * (like.ndim - 1))


def traffic(contract: DataContract, seed: int, champion: float, challenger: float) -> pd.DataFrame:
    """An A/B test's labelled predictions: each record's arm from its key, as the service picks
    it, scored by that arm's model."""
    batch = generate_batch(ROWS, seed=seed)
    key = contract.group_column or contract.id_column or ""
    arms = np.array([in_challenger_arm(str(value), 0.5) for value in batch[key]])
    challengers = model_scores(batch, contract, seed + 1, challenger)
    champions = model_scores(batch, contract, seed + 2, champion)
    scores = np.where(per_row(arms, champions), challengers, champions)
    return batch.assign(
        **contract.prediction.columns(scores),
        arm=np.where(arms, CHALLENGER_ARM, CHAMPION_ARM),
        model_version=np.where(arms, "2", "1"),
    )


def decisions(
    contract: DataContract, champion: float, challenger: float, runs: int = REPETITIONS
) -> list[str]:
    return [
        analyse(
            traffic(contract, seed, champion, challenger), contract, OFFLINE, RULES, "ab"
        ).decision
        for seed in range(runs)
    ]


def test_a_true_improvement_is_found(contract: DataContract) -> None:
    found = decisions(contract, champion=0.05, challenger=0.5)
    assert found.count("promote") >= REPETITIONS - 1, found


def test_no_difference_is_rarely_called_one(contract: DataContract) -> None:
    """At 95% confidence a false call (promote or roll back) is expected in 1 run in 20 on
    average; 6 or more of 40 would happen by chance less than 5% of the time. (40 runs, not
    20: a macro average over rare classes is a noisy statistic, and 20 runs could not tell a
    test that errs 5% of the time from one that errs 10%.)"""
    found = decisions(contract, champion=0.25, challenger=0.25, runs=2 * REPETITIONS)
    false_calls = sum(decision in ("promote", "roll_back") for decision in found)
    assert false_calls <= 5, found


def test_a_worse_challenger_is_rolled_back(contract: DataContract) -> None:
    found = decisions(contract, champion=0.5, challenger=0.05)
    assert found.count("roll_back") >= REPETITIONS - 1, found


def test_too_few_labels_wait(contract: DataContract) -> None:
    few = traffic(contract, 0, 0.1, 0.4).head(150)
    result = analyse(few, contract, OFFLINE, RULES, "ab")
    assert result.decision == "wait" and "min_labelled_per_arm" in result.reason


@pytest.mark.parametrize("share", [0.1, 0.5])
def test_the_split_is_stable_and_near_its_share(share: float) -> None:
    keys = [f"user-{i}" for i in range(20_000)]
    first = [in_challenger_arm(key, share) for key in keys]
    assert first == [in_challenger_arm(key, share) for key in keys]
    assert abs(np.mean(first) - share) < 0.015
    assert not in_challenger_arm(None, share)

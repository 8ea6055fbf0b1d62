"""Offline metrics of a ranking: every metric step 1 can name, against hand-computed values on
tiny ranked lists, slices, plots and the paired bootstrap over groups."""

from __future__ import annotations

import math
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.requirements import MetricName, OfflineMetrics
from {{ cookiecutter.package_name }}.requirements.metrics import random_ndcg
from {{ cookiecutter.package_name }}.training.evaluation import (
    compare,
    evaluate,
    holdout_metrics,
    write_plots,
)

RNG = np.random.default_rng(0)
QUERIES, PER_QUERY = 2_000, 10
GROUPS = np.repeat(np.arange(QUERIES), PER_QUERY)
APPEAL = RNG.normal(0, 1, QUERIES * PER_QUERY)
GRADES = (APPEAL + RNG.normal(0, 1, len(APPEAL)) > 1.2).astype(int) + (APPEAL > 1.5)
GOOD = APPEAL + RNG.normal(0, 0.5, len(APPEAL))


def offline(primary: str = "ndcg_at_k", k: int = 3, rounds: int = 300) -> OfflineMetrics:
    return OfflineMetrics.model_validate(
        {
            "primary": primary,
            "k": k,
            "bootstrap_rounds": rounds,
            "thresholds": {primary: {"min": 0.1}},
        }
    )


def test_every_metric_the_requirements_can_name_is_measured() -> None:
    metrics = holdout_metrics(GRADES, GOOD, offline(), GROUPS)
    assert set(metrics) == set(get_args(MetricName))
    assert all(0 < value <= 1 for value in metrics.values())


def test_metrics_match_hand_computed_values() -> None:
    # Query "a": grades [0, 2, 1, 0] ranked in that order by the scores; query "b" has nothing
    # relevant and is left out of every mean; query "c" puts its one relevant candidate first.
    groups = ["a"] * 4 + ["b"] * 2 + ["c"] * 2
    grades = [0, 2, 1, 0, 0, 0, 1, 0]
    scores = [0.9, 0.8, 0.7, 0.1, 0.5, 0.4, 0.3, 0.2]
    metrics = holdout_metrics(grades, scores, offline(k=3), groups)
    dcg_a = 3 / math.log2(3) + 1 / math.log2(4)
    ideal_a = 3 / math.log2(2) + 1 / math.log2(3)
    assert metrics["ndcg_at_k"] == pytest.approx((dcg_a / ideal_a + 1.0) / 2)
    assert metrics["mrr"] == pytest.approx((1 / 2 + 1) / 2)
    # Average precision@3 of "a": hits at ranks 2 and 3, so (1/2 + 2/3) / 2.
    assert metrics["map_at_k"] == pytest.approx(((1 / 2 + 2 / 3) / 2 + 1.0) / 2)
    assert metrics["precision_at_k"] == pytest.approx((2 / 3 + 1 / 3) / 2)


def test_rows_need_not_arrive_in_order() -> None:
    order = RNG.permutation(len(GROUPS))
    shuffled = holdout_metrics(GRADES[order], GOOD[order], offline(), GROUPS[order])
    assert shuffled == pytest.approx(holdout_metrics(GRADES, GOOD, offline(), GROUPS))


def test_ties_keep_the_given_order_and_k_cuts_the_list() -> None:
    # Equal scores: the first candidate given ranks first.
    tied = holdout_metrics([0, 1], [0.5, 0.5], offline(k=1), ["q", "q"])
    assert tied["ndcg_at_k"] == 0.0 and tied["mrr"] == pytest.approx(1 / 2)
    assert tied["ndcg"] == pytest.approx(1 / math.log2(3))


def test_a_random_order_is_the_floor_and_a_good_model_clears_it() -> None:
    floor = random_ndcg(GROUPS, GRADES, k=3)
    assert 0.1 < floor < holdout_metrics(GRADES, GOOD, offline(), GROUPS)["ndcg_at_k"] - 0.2


def test_slices_cover_query_level_columns_only() -> None:
    frame = pd.DataFrame(
        {
            "device": np.repeat(RNG.choice(["mobile", "desktop"], QUERIES), PER_QUERY),
            "category": RNG.choice(["music", "food"], len(GROUPS)),  # differs within a query
        }
    )
    result = evaluate(
        frame, pd.Series(GRADES), pd.Series(GOOD), ["device", "category"], offline(), GROUPS
    )
    by_slice = {(item.column, item.value): item for item in result.slices}
    assert set(by_slice) == {("device", "mobile"), ("device", "desktop")}
    mobile = (frame["device"] == "mobile").to_numpy()
    assert by_slice["device", "mobile"].rows == mobile.sum()
    assert by_slice["device", "mobile"].groups == mobile.sum() // PER_QUERY
    alone = holdout_metrics(GRADES[mobile], GOOD[mobile], offline(), GROUPS[mobile])
    assert by_slice["device", "mobile"].ndcg_at_k == pytest.approx(alone["ndcg_at_k"])


def test_groups_are_required() -> None:
    with pytest.raises(ValueError, match="per group"):
        holdout_metrics(GRADES, GOOD, offline())


def test_plots_are_written_as_png(tmp_path: Path) -> None:
    written = write_plots(GRADES, GOOD, offline(), tmp_path / "plots", GROUPS)
    assert {path.name for path in written} == {"ndcg_by_cutoff.png", "score_by_grade.png"}
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paired_bootstrap_over_groups_finds_a_real_difference_and_not_a_copy() -> None:
    noisy = GOOD + RNG.normal(0, 1.5, len(GOOD))
    better = compare(GRADES, GOOD, noisy, offline(), seed=1, groups=GROUPS)
    assert better.low > 0 and better.difference > 0
    same = compare(GRADES, GOOD, GOOD, offline(), seed=1, groups=GROUPS)
    assert same.low == same.high == same.difference == 0
    # A resample draws whole queries: the first round's difference, recomputed by hand.
    drawn = compare(GRADES, GOOD, noisy, offline("mrr", rounds=100), seed=7, groups=GROUPS)
    queries = np.random.default_rng(7).integers(0, QUERIES, QUERIES)
    rows = (queries[:, None] * PER_QUERY + np.arange(PER_QUERY)).ravel()
    relabelled = np.repeat(np.arange(QUERIES), PER_QUERY)
    first = (
        holdout_metrics(GRADES[rows], GOOD[rows], offline("mrr"), relabelled)["mrr"]
        - holdout_metrics(GRADES[rows], noisy[rows], offline("mrr"), relabelled)["mrr"]
    )
    assert drawn.low <= first <= drawn.high

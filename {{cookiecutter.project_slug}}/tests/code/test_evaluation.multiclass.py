"""Offline metrics of a multiclass classifier: every metric step 1 can name, against
scikit-learn's and hand-computed values, per class, slices, plots and the paired bootstrap."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    top_k_accuracy_score,
)

from {{ cookiecutter.package_name }}.requirements import MetricName, OfflineMetrics
from {{ cookiecutter.package_name }}.training.evaluation import (
    compare,
    evaluate,
    holdout_metrics,
    metric_value,
    resampled_metric,
    write_plots,
)

RNG = np.random.default_rng(0)
ROWS = 20_000
CLASSES = 4
TRUTH = RNG.choice(CLASSES, ROWS, p=[0.7, 0.15, 0.1, 0.05])


def probabilities(skill: float, seed: int) -> np.ndarray:
    """A model that puts `skill` more weight on the true class than on the others."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1, (ROWS, CLASSES))
    logits[np.arange(ROWS), TRUTH] += skill
    exp = np.exp(logits)
    return np.asarray(exp / exp.sum(axis=1, keepdims=True))


GOOD = probabilities(2.0, 1)


def offline(primary: str = "macro_f1", rounds: int = 300) -> OfflineMetrics:
    return OfflineMetrics.model_validate(
        {
            "primary": primary,
            "higher_is_better": primary != "log_loss",
            "bootstrap_rounds": rounds,
            "top_k": 2,
            "thresholds": {primary: {"min": 0.1}},
        }
    )


def test_every_metric_matches_scikit_learns() -> None:
    metrics = holdout_metrics(TRUTH, GOOD, offline())
    assert set(metrics) == set(get_args(MetricName))
    predicted = GOOD.argmax(axis=1)
    expected = {
        "macro_f1": f1_score(TRUTH, predicted, average="macro"),
        "macro_precision": precision_score(TRUTH, predicted, average="macro"),
        "macro_recall": recall_score(TRUTH, predicted, average="macro"),
        "weighted_f1": f1_score(TRUTH, predicted, average="weighted"),
        "accuracy": accuracy_score(TRUTH, predicted),
        "balanced_accuracy": balanced_accuracy_score(TRUTH, predicted),
        "top_k_accuracy": top_k_accuracy_score(TRUTH, GOOD, k=2),
        "log_loss": log_loss(TRUTH, GOOD),
    }
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value, rel=1e-6), name
        assert metric_value(name, TRUTH, GOOD, offline()) == pytest.approx(value, rel=1e-6)


def test_a_class_never_predicted_counts_as_zero_in_the_macro_average() -> None:
    # Truth 0, 0, 1, 2; always predicting 0: F1 of class 0 is 2/3 (precision 1/2, recall 1).
    truth = np.array([0, 0, 1, 2])
    always_first = np.tile([0.9, 0.05, 0.05], (4, 1))
    metrics = holdout_metrics(truth, always_first, offline())
    assert metrics["macro_f1"] == pytest.approx((2 / 3) / 3)
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert metrics["macro_recall"] == pytest.approx(1 / 3)


def test_a_resample_given_as_counts_is_measured_as_its_rows() -> None:
    counts = np.random.default_rng(3).multinomial(ROWS, np.full(ROWS, 1 / ROWS))
    rows = np.repeat(np.arange(ROWS), counts)
    for name in ("macro_f1", "accuracy", "macro_recall"):
        fast = resampled_metric(name, TRUTH, GOOD, offline())
        assert fast is not None
        assert fast(counts) == pytest.approx(
            metric_value(name, TRUTH[rows], GOOD[rows], offline()), rel=1e-9
        )
    assert resampled_metric("log_loss", TRUTH, GOOD, offline()) is None


def test_per_class_rows_and_the_confusion_matrix() -> None:
    frame = pd.DataFrame({"surface": RNG.choice(["feed", "comment"], ROWS), "lang": "en"})
    result = evaluate(frame, pd.Series(TRUTH), pd.DataFrame(GOOD), ["surface", "lang"], offline())
    matrix = np.array(result.confusion)
    assert matrix.shape == (CLASSES, CLASSES) and matrix.sum() == ROWS
    assert matrix.sum(axis=1).tolist() == np.bincount(TRUTH, minlength=CLASSES).tolist()
    by_class = {row.class_index: row for row in result.classes}
    rare = by_class[3]
    assert rare.support == (TRUTH == 3).sum()
    assert rare.recall == pytest.approx(recall_score(TRUTH == 3, GOOD.argmax(axis=1) == 3))
    by_slice = {(item.column, item.value): item for item in result.slices}
    assert set(by_slice) == {("surface", "feed"), ("surface", "comment"), ("lang", "en")}
    assert by_slice["lang", "en"].macro_f1 == pytest.approx(result.metrics["macro_f1"])


def test_plots_are_written_as_png(tmp_path: Path) -> None:
    written = write_plots(TRUTH, GOOD, offline(), tmp_path / "plots")
    assert {path.name for path in written} == {
        "confusion_matrix.png",
        "confusion_matrix_recall.png",
        "precision_recall_curves.png",
    }
    for path in written:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_paired_bootstrap_finds_a_real_difference_and_not_a_copy() -> None:
    worse = probabilities(1.0, 2)
    better = compare(TRUTH, GOOD, worse, offline(), seed=0)
    assert better.metric == "macro_f1" and better.low > 0
    same = compare(TRUTH, GOOD, GOOD.copy(), offline(), seed=0)
    assert same.difference == 0 and same.low == 0 == same.high


def test_a_one_dimensional_score_is_refused() -> None:
    with pytest.raises(ValueError, match="a probability per class"):
        holdout_metrics(TRUTH, GOOD[:, 0], offline())


def test_the_model_card_names_each_class_and_shows_the_confusion_matrix() -> None:
    from {{ cookiecutter.package_name }}.contract import load_contract
    from {{ cookiecutter.package_name }}.requirements import load_requirements
    from {{ cookiecutter.package_name }}.settings import Settings
    from {{ cookiecutter.package_name }}.training.gate import PromotionDecision
    from {{ cookiecutter.package_name }}.training.judging import slices_table
    from {{ cookiecutter.package_name }}.training.model_card import CardFacts, render_model_card

    settings = Settings()
    contract = load_contract(settings.contract_file)
    classes = contract.target.labels
    truth = RNG.choice(len(classes), 2_000)
    scores = np.eye(len(classes))[np.where(RNG.random(2_000) < 0.8, truth, (truth + 1) % 4)]
    frame = pd.DataFrame({"surface": "feed"}, index=range(2_000))
    result = evaluate(frame, pd.Series(truth), pd.DataFrame(scores), [], offline())
    facts = CardFacts(
        model_label="m v1",
        model_name="gradient_boosting",
        run_id="r",
        trained_at="now",
        data_version="d",
        batches=1,
        train_rows=1,
        holdout_rows=2_000,
        split="time",
        metrics=result.metrics,
        champion_metrics=None,
        champion_label=None,
        slices=[],
        decision=PromotionDecision(promote=True),
        scoring="compiled",
        classes=slices_table(result.classes),
        confusion=result.confusion,
    )
    card = render_model_card(facts, load_requirements(settings.requirements_file), contract)
    section = card[card.index("## Per class") : card.index("## Slices")]
    for position, name in enumerate(classes):
        support = int((truth == position).sum())
        assert f"| {name} | {support} |" in section, section
        row = result.confusion[position]
        assert f"| {name} | " + " | ".join(str(count) for count in row) + " |" in section

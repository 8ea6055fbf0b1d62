"""Drift detection with real Evidently reports on synthetic windows, and step 1's decision rule."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import DataContract, load_contract
from {{ cookiecutter.package_name }}.data.synthetic import COVARIATE_SHIFTED, generate_batch
from {{ cookiecutter.package_name }}.monitoring.drift import (
    DriftSummary,
    bounded_sample,
    compare,
    data_definition,
    decide,
)
from {{ cookiecutter.package_name }}.monitoring.quality import DASHBOARD_METRIC, QUALITY_METRICS
from {{ cookiecutter.package_name }}.monitoring.windows import read_compact, sample_files, with_labels
from {{ cookiecutter.package_name }}.requirements.spec import DriftThresholds
from {{ cookiecutter.package_name }}.settings import Settings
from worked_example import FLOAT_FEATURE, TARGET, noise_scores

THRESHOLDS = DriftThresholds(
    column_p_value=0.01, alert_drift_share=0.2, retrain_drift_share=0.4, min_window_rows=1_000
)
ROWS = 5_000


def window(seed: int, drift: str = "none", labelled: bool = True) -> pd.DataFrame:
    frame = generate_batch(ROWS, seed=seed, drift=drift)  # type: ignore[arg-type]
    contract = load_contract(Settings().contract_file)
    noise = noise_scores(np.random.default_rng(seed), len(frame))
    # As the monitoring flows have a window: scored, and its target as the task encodes it.
    frame = with_labels(frame.assign(**contract.prediction.columns(noise)), contract)
    return frame if labelled else frame.drop(columns=[TARGET])


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return window(seed=1)


def test_same_distribution_shows_no_drift(reference: pd.DataFrame, contract: DataContract) -> None:
    _, summary = compare(reference, window(seed=2), contract, THRESHOLDS, sample_rows=ROWS)
    assert summary.drifted_features == []
    assert summary.drift_share == 0
    assert set(summary.p_values) >= {column.name for column in contract.features}
    assert decide(summary, THRESHOLDS) == "none"


def test_covariate_shift_is_detected_on_the_shifted_columns(
    reference: pd.DataFrame, contract: DataContract
) -> None:
    _, summary = compare(
        reference, window(seed=2, drift="covariate"), contract, THRESHOLDS, sample_rows=ROWS
    )
    # The generator shifts exactly these columns (and leaves the others alone).
    assert set(summary.drifted_features) == set(COVARIATE_SHIFTED)
    assert summary.drift_share == pytest.approx(len(COVARIATE_SHIFTED) / len(contract.features))
    assert summary.target_drift is True  # the shifted features move the target too
    assert decide(summary, THRESHOLDS) == "retrain"


def test_the_report_calls_drift_where_step_1_alerts(
    reference: pd.DataFrame, contract: DataContract
) -> None:
    """The report's headline and the system agree on when the dataset drifted: at step 1's
    alert share, not at Evidently's default of half the columns."""
    thresholds = THRESHOLDS.model_copy(update={"alert_drift_share": 0.3})
    snapshot, _ = compare(reference, window(seed=2), contract, thresholds, sample_rows=ROWS)
    html = snapshot.get_html_str(as_iframe=False)
    assert "Dataset drift detection threshold is 0.3" in html
    assert "threshold is 0.5" not in html


def test_windows_are_cut_to_the_sample_size(
    reference: pd.DataFrame, contract: DataContract
) -> None:
    _, summary = compare(reference, window(seed=2), contract, THRESHOLDS, sample_rows=2_000)
    assert (summary.reference_rows, summary.current_rows) == (ROWS, ROWS)
    # Whole groups (a ranking's queries): up to one group short of the sample size.
    slack = 0 if contract.group_column is None else 25
    assert all(2_000 - slack <= rows <= 2_000 for rows in summary.compared_rows)


def test_unlabelled_window_skips_target_drift_and_quality(
    reference: pd.DataFrame, contract: DataContract
) -> None:
    current = window(seed=2, labelled=False)
    _, summary = compare(reference, current, contract, THRESHOLDS, sample_rows=ROWS)
    assert summary.target_drift is None
    assert summary.prediction_drift is False
    assert summary.metrics == {}
    definition = data_definition(contract, current.columns)
    assert not definition.classification and not definition.regression
    assert TARGET not in (definition.categorical_columns or [])
    assert TARGET not in (definition.numerical_columns or [])


def test_labelled_window_measures_the_tasks_quality(
    reference: pd.DataFrame, contract: DataContract
) -> None:
    _, summary = compare(reference, window(seed=2), contract, THRESHOLDS, sample_rows=ROWS)
    assert set(summary.metrics) and set(summary.metrics) <= QUALITY_METRICS
    assert np.isfinite(summary.metrics[DASHBOARD_METRIC[0]])


def test_bounded_sample_keeps_small_frames_whole() -> None:
    frame = pd.DataFrame({"x": range(10)})
    assert bounded_sample(frame, 100, seed=0) is frame
    assert len(bounded_sample(frame, 4, seed=0)) == 4


def summary_with(share: float, rows: int = 5_000) -> DriftSummary:
    return replace(DriftSummary.not_compared(rows), drift_share=share)


@pytest.mark.parametrize(
    ("share", "action"),
    [
        (0.0, "none"),
        (0.19, "none"),
        (0.2, "alert"),
        (0.39, "alert"),
        (0.4, "retrain"),
        (1, "retrain"),
    ],
)
def test_retrain_fires_only_at_the_threshold(share: float, action: str) -> None:
    assert decide(summary_with(share), THRESHOLDS) == action


def test_a_small_window_is_not_judged() -> None:
    assert decide(summary_with(1.0, rows=999), THRESHOLDS) == "too_few_rows"


@pytest.mark.parametrize("group", [None, "query"])
@pytest.mark.parametrize("max_rows", [50, 240, 1_000])
def test_sampling_files_one_by_one_equals_sampling_them_joined(
    group: str | None, max_rows: int, tmp_path: Path
) -> None:
    rng = np.random.default_rng(3)
    paths = []
    for index, rows in enumerate((120, 80, 100)):
        part = pd.DataFrame(
            {
                "query": rng.integers(0, 40, rows).astype(str),
                "x": rng.normal(size=rows),
                "city": rng.choice(["a", "b", "c"][: index + 1], rows),
            }
        )
        paths.append(tmp_path / f"batch-{index}.parquet")
        part.to_parquet(paths[-1])
    columns = ["query", "x", "city"]
    joined = pd.concat([read_compact(path, columns) for path in paths], ignore_index=True)
    expected = bounded_sample(joined, max_rows, 7, group).reset_index(drop=True)
    sampled = sample_files(paths, columns, max_rows, 7, group)
    pd.testing.assert_frame_equal(sampled, expected)
    assert len(sampled) <= max_rows


def test_served_values_outside_the_expected_ranges_are_counted_and_shown(
    contract: DataContract,
) -> None:
    """Requests may carry values outside a column's expected range (only the hard limits are a
    400): monitoring counts them per window and says so in its headline."""
    from {{ cookiecutter.package_name }}.contract.spec import ExpectedRange
    from {{ cookiecutter.package_name }}.contract.tolerance import outside_expected
    from {{ cookiecutter.package_name }}.monitoring.drift import DriftSummary
    from {{ cookiecutter.package_name }}.monitoring.steps import MonitoringOutcome

    column = contract.column(FLOAT_FEATURE)
    low = column.min if column.min is not None else 0.0
    ranged = column.model_copy(update={"expected": ExpectedRange(max=low + 1)})
    columns = tuple(ranged if c.name == FLOAT_FEATURE else c for c in contract.columns)
    with_range = contract.model_copy(update={"columns": columns})
    window = pd.DataFrame({FLOAT_FEATURE: [low, low + 0.5, low + 2, low + 3, None]})
    shares = outside_expected(window, with_range)
    assert shares == {FLOAT_FEATURE: 0.5}  # 2 of the 4 present values
    outcome = MonitoringOutcome(
        window="w",
        champion="1",
        action="none",
        summary=DriftSummary.not_compared(5),
        report="r.html",
        snapshot_id="s",
        log_offset=0,
        outside_expected=shares,
    )
    assert f"outside the contract's expected ranges: {FLOAT_FEATURE} 50.0%" in outcome.headline()

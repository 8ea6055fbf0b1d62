"""Model tests: every candidate learns the known signal and behaves as the domain expects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.modeling import (
    MODELS,
    UnknownModelError,
    build_model,
    fit_model,
    groups,
    labels,
    predict_scores,
)
from {{ cookiecutter.package_name }}.requirements import OfflineMetrics, load_requirements
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training.evaluation import holdout_metrics
from worked_example import CATEGORY, ID, SIGNAL, TIMESTAMP, UNKNOWN_VALUE, signal_response


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return generate_batch(rows=20_000, seed=101)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return generate_batch(rows=10_000, seed=202)


@pytest.fixture(scope="module")
def offline() -> OfflineMetrics:
    return load_requirements(Settings().requirements_file).offline_metrics


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request: pytest.FixtureRequest, train: pd.DataFrame, contract: DataContract) -> Pipeline:
    return fit_model(request.param, train, contract, seed=0)


def test_minimum_functionality_on_known_signal(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract, offline: OfflineMetrics
) -> None:
    predicted = predict_scores(fitted, holdout, contract)
    assert np.isfinite(predicted.to_numpy()).all()
    # Every candidate, the baseline too, clears step 1's bar on the primary metric.
    metrics = holdout_metrics(
        labels(holdout, contract), predicted, offline, groups(holdout, contract)
    )
    assert (
        offline.thresholds[offline.primary].failure(offline.primary, metrics[offline.primary])
        is None
    )


def test_directional_more_of_the_signal_raises_the_score(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    column = contract.column(SIGNAL)
    assert column.max is not None
    step = float(holdout[SIGNAL].std())  # one standard deviation more
    more = holdout.assign(**{SIGNAL: (holdout[SIGNAL] + step).clip(upper=column.max)})
    before = signal_response(predict_scores(fitted, holdout, contract)).mean()
    assert signal_response(predict_scores(fitted, more, contract)).mean() > before


def test_invariance_to_columns_that_are_not_features(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    relabelled = holdout.copy()
    relabelled[ID] = "other-" + holdout[ID]
    relabelled[TIMESTAMP] = holdout[TIMESTAMP] + pd.Timedelta(days=30)
    changed = predict_scores(fitted, relabelled, contract)
    unchanged = predict_scores(fitted, holdout, contract)
    assert changed.index.equals(unchanged.index)
    np.testing.assert_array_equal(changed.to_numpy(), unchanged.to_numpy())


def test_unknown_category_does_not_break_prediction(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    odd = holdout.head(5).assign(**{CATEGORY: UNKNOWN_VALUE})
    assert np.isfinite(predict_scores(fitted, odd, contract).to_numpy()).all()


def test_unknown_model_name_lists_the_choices(contract: DataContract) -> None:
    with pytest.raises(UnknownModelError, match=", ".join(sorted(MODELS))):
        build_model("deep_forest", contract)

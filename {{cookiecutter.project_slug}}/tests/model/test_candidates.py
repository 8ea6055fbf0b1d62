"""Model tests: every candidate learns the known signal and behaves as the domain expects."""

from __future__ import annotations

import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.modeling import (
    MODELS,
    UnknownModelError,
    build_model,
    feature_frame,
)


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return generate_batch(rows=20_000, seed=101)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return generate_batch(rows=10_000, seed=202)


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request: pytest.FixtureRequest, train: pd.DataFrame, contract: DataContract) -> Pipeline:
    model = build_model(request.param, contract, seed=0)
    return model.fit(feature_frame(train, contract), train[contract.target.name])


def scores(model: Pipeline, frame: pd.DataFrame, contract: DataContract) -> pd.Series:
    return pd.Series(model.predict_proba(feature_frame(frame, contract))[:, 1], index=frame.index)


def test_minimum_functionality_on_known_signal(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    predicted = scores(fitted, holdout, contract)
    assert predicted.between(0, 1).all()
    # The generator's true log-odds reach about 0.82 ROC-AUC: a model must get close.
    assert roc_auc_score(holdout[contract.target.name], predicted) > 0.75


def test_directional_more_relevant_ads_are_clicked_more(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    more_relevant = holdout.assign(ad_relevance=(holdout["ad_relevance"] + 0.3).clip(upper=1.0))
    assert scores(fitted, more_relevant, contract).mean() > scores(fitted, holdout, contract).mean()


def test_invariance_to_columns_that_are_not_features(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    relabelled = holdout.assign(
        impression_id="other-" + holdout["impression_id"],
        event_time=holdout["event_time"] + pd.Timedelta(days=30),
    )
    pd.testing.assert_series_equal(
        scores(fitted, relabelled, contract), scores(fitted, holdout, contract)
    )


def test_unknown_category_does_not_break_prediction(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    odd = holdout.head(5).assign(device="smartwatch")
    assert scores(fitted, odd, contract).between(0, 1).all()


def test_unknown_model_name_lists_the_choices(contract: DataContract) -> None:
    with pytest.raises(UnknownModelError, match="gradient_boosting, logistic_regression"):
        build_model("deep_forest", contract)

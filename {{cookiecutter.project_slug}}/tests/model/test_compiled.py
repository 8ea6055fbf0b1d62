"""The compiled scoring path scores as the pipeline it came from, for every candidate, from a
DataFrame and from request rows, before and after a round trip through its files; a pipeline it
cannot reproduce is refused with the step at fault."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.modeling import (
    MODELS,
    feature_frame,
    fit_model,
    labels,
    predict_scores,
    preprocessor,
)
from {{ cookiecutter.package_name }}.modeling.compiled import (
    PARITY_TOLERANCE,
    CompiledModel,
    NotCompilableError,
    compile_pipeline,
    parity,
)
from {{ cookiecutter.package_name }}.serving.local import request_records
from worked_example import (
    CATEGORY,
    FLOAT_FEATURE,
    UNKNOWN_VALUE,
    useless_estimator,
    weak_estimator,
)


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return generate_batch(rows=5_000, seed=303)


@pytest.fixture(scope="module", params=sorted(MODELS))
def fitted(request: pytest.FixtureRequest, contract: DataContract) -> Pipeline:
    return fit_model(request.param, generate_batch(rows=10_000, seed=101), contract, seed=0)


def largest_difference(got: np.ndarray, expected: pd.Series | pd.DataFrame) -> float:
    return float(np.max(np.abs(got - expected.to_numpy())))


def test_every_candidate_compiles_to_the_same_scores(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract, tmp_path: Path
) -> None:
    expected = predict_scores(fitted, holdout, contract)
    compiled = compile_pipeline(fitted)
    assert largest_difference(compiled.score_frame(holdout), expected) <= PARITY_TOLERANCE
    # As the service has them: JSON rows, one record or a full request.
    rows = request_records(holdout.head(64), contract)
    assert largest_difference(compiled.score_rows(rows), expected.head(64)) <= PARITY_TOLERANCE
    assert largest_difference(compiled.score_rows(rows[:1]), expected.head(1)) <= PARITY_TOLERANCE
    reloaded = CompiledModel.load(compiled.save(tmp_path / "compiled"))
    assert np.array_equal(reloaded.score_frame(holdout), compiled.score_frame(holdout))
    assert parity(reloaded, holdout, expected.to_numpy()).agrees


def test_unknown_and_missing_values_score_as_the_pipeline_scores_them(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    odd = holdout.head(200).copy()
    odd[CATEGORY] = UNKNOWN_VALUE  # the one-hot columns all zero, as OneHotEncoder ignores it
    nullable = [name for name in contract.numeric_features if contract.column(name).nullable]
    for name in nullable:
        odd.loc[odd.index[::3], name] = np.nan  # the imputer's fill and its indicator
    expected = predict_scores(fitted, odd, contract)
    compiled = compile_pipeline(fitted)
    assert largest_difference(compiled.score_frame(odd), expected) <= PARITY_TOLERANCE
    rows = request_records(odd, contract)
    assert largest_difference(compiled.score_rows(rows), expected) <= PARITY_TOLERANCE


def test_a_difference_is_measured_not_assumed(
    fitted: Pipeline, holdout: pd.DataFrame, contract: DataContract
) -> None:
    expected = predict_scores(fitted, holdout, contract).to_numpy()
    compiled = compile_pipeline(fitted)
    assert not parity(compiled, holdout, expected + 1e-3).agrees
    assert parity(compiled, holdout, expected + 1e-3).max_abs_diff == pytest.approx(1e-3)


def test_a_step_without_a_compiled_form_is_named(contract: DataContract) -> None:
    train = generate_batch(rows=2_000, seed=7)
    custom = Pipeline(
        [
            (
                "features",
                ColumnTransformer(
                    [
                        ("logged", make_pipeline(FunctionTransformer(np.log1p)), [FLOAT_FEATURE]),
                        ("categorical", OneHotEncoder(handle_unknown="ignore"), [CATEGORY]),
                    ]
                ),
            ),
            ("model", weak_estimator()),
        ]
    )
    features, target = feature_frame(train, contract), labels(train, contract)
    with pytest.raises(NotCompilableError, match="FunctionTransformer"):
        compile_pipeline(custom.fit(features, target))
    unknown_model = Pipeline([("features", preprocessor(contract)), ("model", useless_estimator())])
    with pytest.raises(NotCompilableError, match=type(useless_estimator()).__name__):
        compile_pipeline(unknown_model.fit(features, target))

"""The task's conformance: each of its files implements its protocol in `task.py`, and behaves as
the shared code assumes, on the task's own worked example (in the spirit of scikit-learn's
`check_estimator`). The same file runs in every task's project, against that task's files."""

from __future__ import annotations

import math
from typing import get_args

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import task
from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.contract import target as target_file
from {{ cookiecutter.package_name }}.contract.prediction import log_rows
from {{ cookiecutter.package_name }}.data import synthetic as synthetic_file
from {{ cookiecutter.package_name }}.modeling import candidates as candidates_file
from {{ cookiecutter.package_name }}.modeling import fit_model, groups
from {{ cookiecutter.package_name }}.modeling.scoring import PipelineModel
from {{ cookiecutter.package_name }}.monitoring import quality as quality_file
from {{ cookiecutter.package_name }}.requirements import OfflineMetrics, load_requirements
from {{ cookiecutter.package_name }}.requirements import metrics as metrics_file
from {{ cookiecutter.package_name }}.serving import endpoints as endpoints_file
from {{ cookiecutter.package_name }}.serving.schemas import Prediction
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training import evaluation as evaluation_file

# Checked by mypy (`make lint`): each file of the task, as a module, satisfies its protocol.
TARGET: task.TargetRules = target_file
METRICS: task.TaskMetrics = metrics_file
EXAMPLE: task.WorkedExample = synthetic_file
CANDIDATES: task.Candidates = candidates_file
JUDGING: task.Judging = evaluation_file
ENDPOINTS: task.TaskEndpoints = endpoints_file
QUALITY: task.QualityChecks = quality_file

ROWS = 4_000


@pytest.fixture(scope="module")
def offline() -> OfflineMetrics:
    return load_requirements(Settings().requirements_file).offline_metrics


@pytest.fixture(scope="module")
def example() -> pd.DataFrame:
    return EXAMPLE.generate_batch(rows=ROWS, seed=11)


@pytest.mark.parametrize(
    ("implementation", "protocol"),
    [
        (target_file, task.TargetRules),
        (metrics_file, task.TaskMetrics),
        (synthetic_file, task.WorkedExample),
        (candidates_file, task.Candidates),
        (evaluation_file, task.Judging),
        (endpoints_file, task.TaskEndpoints),
        (quality_file, task.QualityChecks),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)).rsplit(".", 1)[-1],
)
def test_each_task_file_has_what_its_protocol_names(implementation: object, protocol: type) -> None:
    """At run time too (mypy is not always run): every member the protocol names is there."""
    assert isinstance(implementation, protocol), [
        name
        for name in dir(protocol)
        if not name.startswith("_") and not hasattr(implementation, name)
    ]


def test_the_worked_example_has_the_contracts_columns_and_a_usable_target(
    example: pd.DataFrame, contract: DataContract
) -> None:
    assert sorted(example.columns) == sorted(contract.column_names)  # in any order
    assert len(example) == ROWS
    encoded = TARGET.encode_target(contract, example[contract.target.name])
    assert len(encoded) == ROWS and encoded.index.equals(example.index)
    values = encoded.to_numpy(dtype=float)
    assert np.isfinite(values).all() and len(np.unique(values)) >= 2
    assert EXAMPLE.WORKED_EXAMPLE and set(EXAMPLE.COVARIATE_SHIFTED) <= set(contract.column_names)
    drifted = EXAMPLE.generate_batch(rows=500, seed=11, drift="covariate")
    assert sorted(drifted.columns) == sorted(contract.column_names)


def test_inference_proposes_the_contracts_target_for_the_worked_example(
    example: pd.DataFrame, contract: DataContract
) -> None:
    """`contract infer` on the task's own table finds the target the contract declares."""
    positive = getattr(contract.target, "positive", None)
    entry, _ = TARGET.infer_target(
        example[contract.target.name], None if positive is None else str(positive)
    )
    assert entry["role"] == "target" and entry["type"] == contract.target.type, entry
    assert TARGET.describe_target(contract, example)
    assert TARGET.output_meaning(contract)


def test_the_metrics_reward_the_truth_over_noise(
    example: pd.DataFrame, contract: DataContract, offline: OfflineMetrics
) -> None:
    """The generator's own expectation of each row scores better on the primary metric than
    random scores do: a metric (or a sign) the wrong way round fails here."""
    labels = TARGET.encode_target(contract, example[contract.target.name]).to_numpy(dtype=float)
    truth = EXAMPLE.expected_target(example)
    noise = np.random.default_rng(0).permutation(truth)
    query = groups(example, contract)
    names = set(get_args(metrics_file.MetricName))
    by_truth = JUDGING.holdout_metrics(labels, truth, offline, query)
    by_noise = JUDGING.holdout_metrics(labels, noise, offline, query)
    assert set(by_truth) == names and offline.primary in names
    primary = offline.primary
    better = by_truth[primary] > by_noise[primary]
    assert better == offline.higher_is_better, (primary, by_truth[primary], by_noise[primary])
    alone = JUDGING.metric_value(primary, labels, truth, offline, query)
    assert math.isclose(alone, by_truth[primary], rel_tol=1e-9, abs_tol=1e-12)
    comparison = JUDGING.compare(labels, truth, noise, offline, seed=0, groups=query)
    assert comparison.metric == primary
    assert (comparison.difference > 0) == offline.higher_is_better, comparison
    assert comparison.low <= comparison.difference <= comparison.high


def test_every_candidate_fits_and_scores_each_row(
    example: pd.DataFrame, contract: DataContract
) -> None:
    assert CANDIDATES.DEFAULT_MODEL in CANDIDATES.MODELS
    assert CANDIDATES.BASELINE in CANDIDATES.MODELS
    assert set(CANDIDATES.SEARCH_SPACES) <= set(CANDIDATES.MODELS)
    train, holdout = example.iloc[:3_000], example.iloc[3_000:]
    for name in CANDIDATES.MODELS:
        model = fit_model(name, train, contract, seed=0)
        assert callable(getattr(model, CANDIDATES.PREDICT_METHOD)), name
        scores = CANDIDATES.predict_scores(model, holdout, contract)
        assert scores.index.equals(holdout.index), name
        assert np.isfinite(scores.to_numpy(dtype=float)).all(), name


def test_the_prediction_shape_reads_the_models_output_both_ways(
    example: pd.DataFrame, contract: DataContract
) -> None:
    """The task's `PREDICTION`, bound to the contract, turns the default model's output into the
    fields a response, a log line and a scored file carry, and reads that output back from them
    unchanged."""
    shape = contract.prediction
    drifting = {*shape.drift_columns, *shape.class_columns}
    assert shape.fields and drifting and drifting <= set(shape.fields)
    assert shape.fields[0] == TARGET.PREDICTION.fields[0]  # the score, the same bound or not
    assert not set(shape.fields) & set(contract.column_names)  # reserved: never a column's name
    model = fit_model(CANDIDATES.DEFAULT_MODEL, example.iloc[:3_000], contract, seed=0)
    raw = PipelineModel(model, contract).score_frame(example.iloc[3_000:])
    columns = shape.columns(raw)
    assert list(columns) == list(shape.fields)
    assert all(len(values) == len(raw) for values in columns.values())
    np.testing.assert_array_equal(shape.raw(pd.DataFrame(columns)), raw)
    logged = log_rows(shape, raw)  # a log line's fields: flat, as the columns
    assert len(logged) == len(raw) and all(list(row) == list(shape.fields) for row in logged)
    np.testing.assert_array_equal(shape.raw(pd.DataFrame(logged)), raw)
    answers = shape.answers(raw)  # a response's fields: the shape's own
    named = list(TARGET.PREDICTION.response_fields())
    assert len(answers) == len(raw) and all(list(a) == named for a in answers)
    response = Prediction(**answers[0], model_version="1")
    assert list(response.model_dump())[: len(named)] == named
    empty = shape.columns(shape.empty_output())
    assert list(empty) == list(shape.fields) and all(len(v) == 0 for v in empty.values())


def test_the_quality_checks_and_endpoints_are_consistent(contract: DataContract) -> None:
    assert QUALITY.DASHBOARD_METRIC[0] in QUALITY.QUALITY_METRICS
    assert QUALITY.quality_preset()
    assert QUALITY.task_definition(contract, TARGET.PREDICTION.fields[0])
    assert set(ENDPOINTS.TASK_RESPONSES) <= set(ENDPOINTS.TASK_PATHS)
    assert all(path.startswith("/") for path in ENDPOINTS.TASK_PATHS)

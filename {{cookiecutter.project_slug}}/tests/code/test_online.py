"""Online metrics from delayed labels, as plain functions: reading a labels file, joining it to
the prediction log within the window, metrics per model version and time window, the verdict."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.monitoring import online
from {{ cookiecutter.package_name }}.monitoring.drift import quality_snapshot
from {{ cookiecutter.package_name }}.monitoring.windows import with_labels
from {{ cookiecutter.package_name }}.requirements import OnlineMetrics, load_requirements
from {{ cookiecutter.package_name }}.settings import Settings
from {{ cookiecutter.package_name }}.training.evaluation import holdout_metrics
from worked_example import noise_scores

OFFLINE = load_requirements(Settings().requirements_file).offline_metrics
SERVED_AT = datetime(2026, 3, 2, 10, 15)
WINDOW = timedelta(hours=24)


def prediction_log(batch: pd.DataFrame, contract: DataContract, version: str) -> pd.DataFrame:
    """The batch as the service logs it: the request columns, a score, the version, the time."""
    scores = noise_scores(np.random.default_rng(0), len(batch))
    logged = batch[contract.request_columns()].copy()
    stamps = [SERVED_AT + timedelta(seconds=i) for i in range(len(batch))]
    return logged.assign(
        **contract.prediction.columns(scores),
        model_version=version,
        logged_at=[f"{stamp.isoformat()}+00:00" for stamp in stamps],
    )


def labels_of(batch: pd.DataFrame, contract: DataContract, arrived: datetime) -> pd.DataFrame:
    id_column = contract.id_column or ""
    return pd.DataFrame(
        {
            id_column: batch[id_column].astype("string"),
            contract.target.name: batch[contract.target.name],
            online.LABELLED_AT: pd.Timestamp(arrived),
        }
    )


def test_a_labels_file_is_read_with_its_arrival_time(
    clean_batch: pd.DataFrame, contract: DataContract, tmp_path: Path
) -> None:
    id_column, target = contract.id_column or "", contract.target.name
    path = tmp_path / "labels.csv"
    clean_batch[[id_column, target]].to_csv(path, index=False)
    labels = online.read_labels(path, contract, SERVED_AT)
    assert list(labels.columns) == [id_column, target, online.LABELLED_AT]
    assert len(labels) == len(clean_batch)
    assert (labels[online.LABELLED_AT] == pd.Timestamp(SERVED_AT)).all()
    observed = clean_batch[[id_column, target]].assign(**{online.LABELLED_AT: "2026-03-03T09:00Z"})
    observed.to_csv(path, index=False)
    stamped = online.read_labels(path, contract, SERVED_AT)
    assert (stamped[online.LABELLED_AT] == pd.Timestamp("2026-03-03 09:00")).all()


def test_bad_label_values_reject_the_file_naming_the_rows(
    clean_batch: pd.DataFrame, contract: DataContract, tmp_path: Path
) -> None:
    id_column, target = contract.id_column or "", contract.target.name
    bad = clean_batch[[id_column, target]].head(20).astype({target: "object"})
    bad.loc[3, target] = "not-a-label"
    bad.loc[7, target] = None
    path = tmp_path / "labels.csv"
    bad.to_csv(path, index=False)
    with pytest.raises(online.RejectedLabelsError) as raised:
        online.read_labels(path, contract, SERVED_AT)
    message = str(raised.value)
    assert "2 labels break the contract" in message
    assert f"row 4: {target}" in message and f"row 8: no {target}" in message


def test_a_labels_file_without_the_id_or_target_is_bad_input(
    clean_batch: pd.DataFrame, contract: DataContract, tmp_path: Path
) -> None:
    path = tmp_path / "labels.csv"
    clean_batch[[contract.target.name]].to_csv(path, index=False)
    with pytest.raises(online.LabelsError, match=repr(contract.id_column)):
        online.read_labels(path, contract, SERVED_AT)


def test_labels_join_in_time_and_the_rest_is_counted(
    clean_batch: pd.DataFrame, contract: DataContract
) -> None:
    id_column = contract.id_column or ""
    log = prediction_log(clean_batch.head(300), contract, "1")
    labels = pd.concat(
        [
            labels_of(clean_batch.iloc[:200], contract, SERVED_AT + timedelta(hours=2)),
            labels_of(clean_batch.iloc[200:250], contract, SERVED_AT + timedelta(hours=30)),
            labels_of(clean_batch.iloc[300:310], contract, SERVED_AT + timedelta(hours=1)),
            # a second label of a joined record, arriving later: the first is the outcome
            labels_of(clean_batch.iloc[:5], contract, SERVED_AT + timedelta(hours=3)),
        ]
    )
    joined, counts = online.join_labels(log, labels, contract, WINDOW)
    assert counts == online.JoinCounts(
        labels=265, joined=200, predictions=200, late=50, unmatched=10, repeated=5
    )
    assert set(joined[id_column]) == set(clean_batch[id_column].iloc[:200].astype(str))
    assert (joined[online.LABELLED_AT] == pd.Timestamp(SERVED_AT + timedelta(hours=2))).all()


def test_one_label_joins_each_model_that_scored_its_record(
    clean_batch: pd.DataFrame, contract: DataContract
) -> None:
    rows = clean_batch.head(100)
    log = pd.concat([prediction_log(rows, contract, "1"), prediction_log(rows, contract, "2")])
    labels = labels_of(rows, contract, SERVED_AT + timedelta(hours=1))
    joined, counts = online.join_labels(log, labels, contract, WINDOW)
    assert (counts.joined, counts.predictions) == (100, 200)
    assert joined.groupby("model_version").size().to_dict() == {"1": 100, "2": 100}


def test_online_metrics_are_the_offline_functions_per_version_and_window(
    clean_batch: pd.DataFrame, contract: DataContract
) -> None:
    rows = clean_batch.head(1_000)
    first, second = prediction_log(rows, contract, "1"), prediction_log(rows, contract, "2")
    # version 2 serves the next hour; only half of version 1's predictions got a label
    second["logged_at"] = [f"{(SERVED_AT + timedelta(hours=1)).isoformat()}+00:00"] * len(rows)
    log = pd.concat([first, second], ignore_index=True)
    labels = labels_of(rows, contract, SERVED_AT + timedelta(hours=3))
    joined, _ = online.join_labels(log, labels, contract, WINDOW)
    joined = joined.drop(joined[(joined["model_version"] == "1")].index[500:])
    windows = online.online_windows(log, joined, contract, OFFLINE, minutes=60)
    assert [(w.model_version, w.start, w.predictions, w.labelled) for w in windows] == [
        ("1", "2026-03-02T10:00:00", 1_000, 500),
        ("2", "2026-03-02T11:00:00", 1_000, 1_000),
    ]
    kept = joined[joined["model_version"] == "1"]
    group = contract.group_column
    expected = holdout_metrics(
        contract.encode_target(kept[contract.target.name]).to_numpy(),
        contract.prediction.raw(kept),
        OFFLINE,
        kept[group].to_numpy() if group else None,
    )
    measured = windows[0].metrics
    for name, value in expected.items():
        assert measured[name] == pytest.approx(value, nan_ok=True) or (
            np.isnan(value) and measured[name] is None
        )
    assert windows[0].mean_score == pytest.approx(kept["score"].mean())


def window(version: str, start: str, labelled: int, value: float) -> online.OnlineWindow:
    return online.OnlineWindow(
        model_version=version,
        start=start,
        end=start,
        predictions=labelled,
        labelled=labelled,
        metrics={OFFLINE.primary: value},
        mean_label=0.1,
        mean_score=0.1,
    )


def test_the_champions_latest_window_with_enough_labels_is_judged() -> None:
    bound = {"min": 0.5} if OFFLINE.higher_is_better else {"max": 0.5}
    poor = 0.1 if OFFLINE.higher_is_better else 0.9
    good = 0.9 if OFFLINE.higher_is_better else 0.1
    rules = OnlineMetrics.model_validate(
        {"min_labelled_rows": 100, "thresholds": {OFFLINE.primary: bound}, "on_breach": "retrain"}
    )
    windows = [
        window("1", "2026-03-02T09:00:00", 500, good),
        window("1", "2026-03-02T10:00:00", 500, poor),
        window("1", "2026-03-02T11:00:00", 20, good),  # too few labels yet
        window("2", "2026-03-02T12:00:00", 500, good),  # not the champion
    ]
    verdict = online.judge(windows, "1", rules)
    assert verdict.action == "retrain" and verdict.window == windows[1]
    assert verdict.failures and OFFLINE.primary in verdict.failures[0]
    assert online.judge(windows[:1], "1", rules).action == "none"
    assert online.judge(windows[2:], "1", rules).action == "too_few_labels"
    unmeasured = [window("1", "2026-03-02T09:00:00", 500, float("nan"))]
    unmeasured[0].metrics[OFFLINE.primary] = None
    assert online.judge(unmeasured, "1", rules).failures == [f"{OFFLINE.primary} is NaN"]


def test_a_requirements_file_without_online_metrics_still_loads(tmp_path: Path) -> None:
    text = Settings().requirements_file.read_text(encoding="utf-8")
    older = text[: text.index("online_metrics:")]
    path = tmp_path / "requirements.yaml"
    path.write_text(older, encoding="utf-8")
    assert load_requirements(path).online_metrics == OnlineMetrics()


def test_a_window_too_small_for_quality_still_gets_a_dashboard_snapshot(
    clean_batch: pd.DataFrame, contract: DataContract
) -> None:
    one = noise_scores(np.random.default_rng(1), 1)
    rows = with_labels(clean_batch.head(1).assign(**contract.prediction.columns(one)), contract)
    snapshot = quality_snapshot(rows, contract, SERVED_AT, ["online"])
    values = {
        m["config"]["type"].rsplit(":", 1)[-1]: m["value"] for m in snapshot.dict()["metrics"]
    }
    assert values["RowCount"] == 1

"""End to end with the feature store on: real Feast (DuckDB offline store, SQLite online store),
real Prefect flows and the real BentoML service.

- Training and serving see the same features: for an entity at a time, the point-in-time join
  training uses gives what the online store serves, and it never leaks a later value.
- An online store left behind the offline one is detected and reported.
- A request carries the entity's key only; an unknown key is served with the cold-start values,
  a missing or mistyped key is a 400 naming it, never a 5xx.
- Batch scoring of a file of keys joins the features as training does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from {{ cookiecutter.package_name }}.cli import app
from {{ cookiecutter.package_name }}.contract import DataContract
from {{ cookiecutter.package_name }}.contract.column_types import TYPES
from {{ cookiecutter.package_name }}.data import feature_store
from {{ cookiecutter.package_name }}.data.batches import BatchReadError, read_jsonl
from {{ cookiecutter.package_name }}.data.flow import features_flow, ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import DEFAULT_START, generate_batch
from {{ cookiecutter.package_name }}.data.validated import load_validated
from {{ cookiecutter.package_name }}.processes import http_json
from {{ cookiecutter.package_name }}.serving.flow import scoring_flow
from {{ cookiecutter.package_name }}.serving.local import request_records, start_service
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings, get_settings
from {{ cookiecutter.package_name }}.stack import start_redis
from {{ cookiecutter.package_name }}.training.flow import training_flow

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
USER = "user-on-the-move"  # not one of the synthetic audience
# The user's features in each week: older and clicking more as time goes on.
WEEKS = ((41, 0.02), (42, 0.09), (43, 0.31))


@pytest.fixture
def feast_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv(f"{ENV_PREFIX}FEATURE_STORE", "feast")
    return get_settings()


def ingest_week(week: int, settings: Settings, rows: int = 3_000) -> pd.DataFrame:
    """A week of impressions in which the first rows are USER's, with that week's values."""
    frame = generate_batch(rows, seed=week + 1, start=DEFAULT_START + timedelta(days=7 * week))
    age, ctr = WEEKS[week]
    first = frame.index[:10]
    frame.loc[first, "user_id"], frame.loc[first, "user_age"] = USER, age
    frame.loc[first, "user_past_ctr"] = ctr
    path = settings.data_dir / "arrivals" / f"week-{week}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path)
    assert ingestion_flow(source=path).status == "validated"
    return frame


def entity_values(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    return frame[["user_id", *contract.entity_features("user_id")]].reset_index(drop=True)


def test_training_sees_what_serving_fetches_and_nothing_from_later(
    feast_settings: Settings, contract: DataContract
) -> None:
    weeks = [ingest_week(week, feast_settings) for week in (0, 1)]
    outcome = features_flow()
    assert outcome.rows == {"user_features": 6_000}
    assert not outcome.freshness.stale

    validated = load_validated(feast_settings.validated_dir, contract).frame
    # The stored columns are blanked first: every value below comes from the store.
    blank = validated.assign(user_age=0, user_past_ctr=-1.0)
    joined = feature_store.point_in_time(blank, contract, feast_settings)
    pd.testing.assert_frame_equal(
        entity_values(joined, contract), entity_values(validated, contract)
    )
    for week, frame in enumerate(weeks):  # week 0's rows got week 0's values, not week 1's
        rows = joined[joined["event_time"].isin(frame["event_time"]) & (joined.user_id == USER)]
        assert set(zip(rows.user_age, rows.user_past_ctr, strict=True)) == {WEEKS[week]}

    # Serving: every key's online values are the training values at that key's latest time.
    latest = joined.sort_values("event_time", kind="stable").drop_duplicates("user_id", keep="last")
    online = feature_store.OnlineFeatures(contract, feast_settings)
    fetched = online.lookup([{"user_id": key} for key in latest.user_id])
    served = pd.DataFrame(fetched)[["user_id", "user_age", "user_past_ctr"]]
    pd.testing.assert_frame_equal(served, entity_values(latest, contract), check_dtype=False)
    assert online.unknown_keys == 0


def test_a_stale_online_store_is_detected_until_materialized(
    feast_settings: Settings, contract: DataContract
) -> None:
    ingest_week(0, feast_settings)
    features_flow()
    online = feature_store.OnlineFeatures(contract, feast_settings)
    assert online.lookup([{"user_id": USER}])[0]["user_age"] == WEEKS[0][0]

    ingest_week(1, feast_settings)  # the offline side moves on (training rebuilds it) ...
    validated = load_validated(feast_settings.validated_dir, contract).frame
    feature_store.load_offline(validated, contract, feast_settings)
    fresh = feature_store.freshness(contract, feast_settings)
    assert fresh.stale  # ... the online store does not, and says so
    assert "STALE" in fresh.describe() and str(fresh.offline_through) in fresh.describe()
    assert online.lookup([{"user_id": USER}])[0]["user_age"] == WEEKS[0][0]

    outcome = features_flow()
    assert not outcome.freshness.stale and "fresh" in outcome.summary()
    assert online.lookup([{"user_id": USER}])[0]["user_age"] == WEEKS[1][0]


@dataclass(frozen=True)
class FeastService:
    url: str
    settings: Settings
    known: set[str]  # the users the feature store holds


@pytest.fixture(scope="module")
def feast_service(
    tmp_path_factory: pytest.TempPathFactory, prefect_server: None
) -> Iterator[FeastService]:
    """A project with the feature store on and a champion trained through it, and the real
    service in front of them."""
    project_dir = tmp_path_factory.mktemp("feast-served")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"{ENV_PREFIX}PROJECT_DIR", str(project_dir))
        patch.setenv(f"{ENV_PREFIX}FEATURE_STORE", "feast")
        settings = get_settings()
        known = set(ingest_week(0, settings, rows=5_000).user_id)
        features_flow()
        assert training_flow().decision.promote
    running = start_service(
        project_dir,
        log=project_dir / "service.log",
        settings={f"{ENV_PREFIX}FEATURE_STORE": "feast"},
    )
    yield FeastService(running.url, settings, known)
    running.stop()


def test_the_service_fetches_features_by_key(
    feast_service: FeastService, contract: DataContract
) -> None:
    url, settings = feast_service.url, feast_service.settings
    cold = feature_store.OnlineFeatures(contract, settings).cold_start
    status, before = http_json(f"{url}/model")
    frame = generate_batch(20, seed=99, start=DEFAULT_START + timedelta(days=7))
    frame.loc[0, "user_id"] = USER
    frame.loc[1, "user_id"] = "a-user-never-seen"
    records = request_records(frame, contract, feature_store=True)
    assert "user_age" not in records[0] and records[0]["user_id"] == USER
    unknown_keys = int((~frame.user_id.isin(feast_service.known)).sum())  # a new user, others
    status, answers = http_json(f"{url}/predict", {"records": records})
    assert status == 200, answers
    assert [a["record_id"] for a in answers] == list(frame["impression_id"])

    logged = pd.DataFrame(read_jsonl(settings.prediction_log)[-len(records) :])
    by_key = logged.set_index("impression_id")
    assert by_key.loc[frame.impression_id[0], "user_age"] == WEEKS[0][0]
    unknown = by_key.loc[frame.impression_id[1]]
    assert (unknown.user_age, unknown.user_past_ctr) == (cold["user_age"], cold["user_past_ctr"])

    missing = {k: v for k, v in records[2].items() if k != "user_id"}
    for record, problem in ((missing, "missing"), (records[2] | {"user_id": 7}, "string_type")):
        status, body = http_json(f"{url}/predict", {"records": [record]})
        assert status == 400, body
        assert body["detail"][0]["loc"][-1] == "user_id" and body["detail"][0]["type"] == problem

    status, info = http_json(f"{url}/model")
    assert status == 200, info
    counted = info["feature_store"]["unknown_keys"] - before["feature_store"]["unknown_keys"]
    assert counted == unknown_keys
    assert info["feature_store"]["freshness"].startswith("online store fresh")


def test_the_service_with_the_feature_store_passes_a_schemathesis_fuzz_run(
    feast_service: FeastService,
) -> None:
    """Any user id the schema allows (unknown, unicode, the longest) gets an answer or a 4xx."""
    project_dir = feast_service.settings.project_dir
    command = [
        str(Path(sys.executable).with_name("st")), "run", f"{feast_service.url}/docs.json",
        "--checks", "all", "--mode", "all", "--max-examples", "40", "--seed", "11",
        "--max-time", "60", "--warnings", "off", "--report-dir", str(project_dir),
        "--include-path", "/predict",
    ]  # fmt: skip
    env = os.environ | {"HOME": str(project_dir)}  # its caches stay in the project
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=300, cwd=project_dir
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout


def test_batch_scoring_joins_the_features_of_a_file_that_carries_keys(
    feast_service: FeastService, contract: DataContract, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file of keys and times scores as the same rows with the features training would have
    joined; an unknown key gets the cold-start values; a file without the key is refused."""
    settings = feast_service.settings
    monkeypatch.setenv(f"{ENV_PREFIX}PROJECT_DIR", str(settings.project_dir))
    monkeypatch.setenv(f"{ENV_PREFIX}FEATURE_STORE", "feast")
    frame = generate_batch(50, seed=98, start=DEFAULT_START + timedelta(days=7))
    frame.loc[0, "user_id"] = USER
    frame.loc[1, "user_id"] = "a-user-never-seen"
    keys_only = settings.project_dir / "keys.csv"
    frame.drop(columns=contract.entity_features()).to_csv(keys_only, index=False)

    scored = pd.read_parquet(scoring_flow(keys_only))
    assert (scored.user_age[0], scored.user_past_ctr[0]) == WEEKS[0]
    cold = feature_store.read_cold_start(settings)
    assert (scored.user_age[1], scored.user_past_ctr[1]) == (
        cold["user_age"],
        cold["user_past_ctr"],
    )
    # The same rows with those features written in: the same scores.
    with_features = settings.project_dir / "with-features.csv"
    frame.assign(**{name: scored[name] for name in contract.entity_features()}).to_csv(
        with_features, index=False
    )
    assert (
        pd.read_parquet(scoring_flow(with_features))["score"].tolist() == scored["score"].tolist()
    )

    no_key = settings.project_dir / "no-key.csv"
    pd.read_csv(keys_only).drop(columns="user_id").to_csv(no_key, index=False)
    with pytest.raises(BatchReadError, match=r"missing column\(s\) user_id"):
        scoring_flow(no_key)
    # On a Dask cluster the store is not joined: refused before any cluster is reached.
    monkeypatch.setenv(f"{ENV_PREFIX}DASK_ADDRESS", "tcp://127.0.0.1:9")
    with pytest.raises(BatchReadError, match="on a Dask cluster a file carries its entity"):
        scoring_flow(keys_only)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[str]:
    """A real Redis (the OS package's redis-server, as the stack starts it), in memory only."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (sudo apt-get install redis-server)")
    redis = start_redis(tmp_path / "redis")
    yield redis.address
    redis.stop()


def test_the_online_store_can_be_redis(
    feast_settings: Settings,
    contract: DataContract,
    redis_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ingest_week(0, feast_settings)
    features_flow()  # into SQLite
    keys = [{"user_id": key} for key in generate_batch(200, seed=5).user_id]
    in_sqlite = feature_store.OnlineFeatures(contract, feast_settings).lookup(keys)

    monkeypatch.setenv(f"{ENV_PREFIX}FEATURE_ONLINE_STORE", redis_server)
    redis_settings = get_settings()
    online = feature_store.OnlineFeatures(contract, redis_settings)
    empty = online.lookup([{"user_id": USER}])[0]  # nothing in Redis yet: cold start
    assert empty["user_age"] == online.cold_start["user_age"] != WEEKS[0][0]
    switched = feature_store.freshness(contract, redis_settings)  # and it says so
    assert switched.stale and "the last `features` wrote SQLite" in switched.describe()
    assert not features_flow().freshness.stale
    assert online.lookup([dict(key) for key in keys]) == in_sqlite
    assert online.lookup([{"user_id": USER}])[0]["user_age"] == WEEKS[0][0]


def test_scoring_keys_before_the_store_holds_anything_is_one_message(
    feast_settings: Settings, contract: DataContract
) -> None:
    keys_only = feast_settings.project_dir / "keys.csv"
    generate_batch(5, seed=3).drop(columns=contract.entity_features()).to_csv(
        keys_only, index=False
    )
    result = CliRunner().invoke(app, ["score", str(keys_only)])
    assert result.exit_code == 2, result.output
    assert "the offline feature store has no user_features: run `features`" in result.output
    assert "Traceback" not in result.output


def test_the_features_command_needs_the_feature_store_on(settings: Settings) -> None:
    result = CliRunner().invoke(app, ["features"])
    assert result.exit_code == 2
    assert "FEATURE_STORE='none'" in result.output


def test_every_column_type_names_feast_types_that_exist() -> None:
    """What the store keeps each feature type as, and each entity key type as (by name in
    `contract/column_types.py`), is a type this Feast has."""
    import feast.types
    from feast import ValueType

    feast_types = (feast.types.PrimitiveFeastType, feast.types.ComplexFeastType)
    for definition in TYPES.values():
        if definition.not_a_feature is None:
            stored = getattr(feast.types, definition.feast_type)
            assert isinstance(stored, feast_types), definition.name
        if definition.entity_key:
            assert isinstance(ValueType[definition.feast_key_type], ValueType), definition.name

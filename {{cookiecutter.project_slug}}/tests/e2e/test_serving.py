"""End to end: the real BentoML server on a free port, serving the champion of a real registry.

Valid and invalid requests through BentoML's client and plain HTTP; the prediction log; picking
up a new champion without a restart; a server with no champion yet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bentoml
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data.batches import read_jsonl
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import generate_impressions
from {{ cookiecutter.package_name }}.serving.local import LocalServer, http_json, request_records, start_service
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings
from {{ cookiecutter.package_name }}.training import registry
from {{ cookiecutter.package_name }}.training.flow import training_flow

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]
http = http_json


@dataclass(frozen=True)
class Server:
    url: str
    settings: Settings


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A project with a trained champion, and the real service in front of it."""
    project_dir = tmp_path_factory.mktemp("served")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"{ENV_PREFIX}PROJECT_DIR", str(project_dir))
        ingestion_flow(rows=10_000, seed=1)
        assert training_flow().decision.promote
    running = start_service(project_dir)
    yield Server(url=running.url, settings=Settings(project_dir=project_dir))
    running.stop()


def records(rows: int, seed: int = 5) -> list[dict[str, Any]]:
    contract = load_contract(Settings().contract_file)
    return request_records(generate_impressions(rows=rows, seed=seed), contract)


def test_ready_with_the_champion_loaded(server: Server) -> None:
    status, _ = http(f"{server.url}/readyz")
    assert status == 200
    status, model = http(f"{server.url}/model", body={})
    assert status == 200
    assert model["loaded"] and model["version"] == "1"


def test_bentoml_client_scores_one_and_many(server: Server) -> None:
    with bentoml.SyncHTTPClient(server.url) as client:
        one = client.predict(records=records(1))
        many = client.predict(records=records(64, seed=6))
    assert len(one) == 1 and len(many) == 64
    for prediction in [*one, *many]:
        assert 0 < prediction["score"] < 1
        assert prediction["model_version"] == "1"
    sent = records(64, seed=6)
    assert [p["record_id"] for p in many] == [r["impression_id"] for r in sent]


def test_every_prediction_is_logged(server: Server) -> None:
    log = server.settings.prediction_log
    before = len(read_jsonl(log))
    status, body = http(f"{server.url}/predict", {"records": records(3, seed=7)})
    assert status == 200, body
    lines = read_jsonl(log)[before:]
    assert len(lines) == 3
    for line, prediction in zip(lines, body, strict=True):
        assert line["score"] == prediction["score"]
        assert line["model_version"] == "1"
        assert line["latency_ms"] > 0
        assert line["device"] in ("mobile", "desktop", "tablet")


def valid() -> dict[str, Any]:
    return records(1)[0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bid_price": None}, "bid_price"),  # missing value
        ({"user_age": "thirty"}, "user_age"),  # wrong type
        ({"user_age": 30.5}, "user_age"),  # a float for an int
        ({"hour_of_day": 24}, "hour_of_day"),  # out of range
        ({"user_past_ctr": -0.1}, "user_past_ctr"),  # out of range
        ({"device": "laptop"}, "device"),  # unknown category
        ({"devise": "mobile"}, "devise"),  # unknown field (a typo)
    ],
)
def test_a_bad_record_gets_400_naming_the_field(
    server: Server, change: dict[str, Any], field: str
) -> None:
    record = valid() | change
    if change.get(field, "") is None:
        del record[field]
    status, body = http(f"{server.url}/predict", {"records": [valid(), record]})
    assert status == 400, body
    locations = [error["loc"] for error in body["detail"]]
    assert ["records", 1, field] in locations


@pytest.mark.parametrize("rows", [0, 1_001])
def test_an_empty_or_oversized_batch_gets_400(server: Server, rows: int) -> None:
    status, body = http(f"{server.url}/predict", {"records": [valid()] * rows})
    assert status == 400
    assert body["detail"][0]["loc"] == ["records"]


def test_malformed_json_gets_400(server: Server) -> None:
    status, _ = http(f"{server.url}/predict", raw=b'{"records": [')
    assert status == 400


def test_a_new_champion_is_served_after_reload(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{ENV_PREFIX}PROJECT_DIR", str(server.settings.project_dir))
    ingestion_flow(rows=10_000, seed=2)
    newer = training_flow().registered
    assert newer.version == "2"
    # Stand in for the gate: promote version 2 in the registry the service reads.
    registry.connect(server.settings)
    MlflowClient().set_registered_model_alias(newer.name, registry.CHAMPION, newer.version)

    status, body = http(f"{server.url}/reload", body={})
    assert status == 200
    assert body["changed"] and body["version"] == "2"
    status, predictions = http(f"{server.url}/predict", {"records": records(2)})
    assert status == 200
    assert {p["model_version"] for p in predictions} == {"2"}


def test_without_a_champion_the_service_is_up_but_not_ready(tmp_path: Path) -> None:
    empty: LocalServer = start_service(tmp_path)
    try:
        assert http(f"{empty.url}/livez")[0] == 200
        assert http(f"{empty.url}/readyz")[0] == 503
        status, _ = http(f"{empty.url}/predict", {"records": records(1)})
        assert status == 503
        assert http(f"{empty.url}/model", body={}) == (200, {"loaded": False})
    finally:
        empty.stop()

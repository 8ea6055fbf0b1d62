"""End to end: the real BentoML server on a free port, serving the champion of a real registry.

Valid and invalid requests through BentoML's client and plain HTTP; the prediction log; picking
up a new champion without a restart; a server with no champion yet.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bentoml
import jsonschema
import pytest
from mlflow import MlflowClient

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.credentials import service_headers
from {{ cookiecutter.package_name }}.data.batches import read_jsonl
from {{ cookiecutter.package_name }}.data.flow import ingestion_flow
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.modeling.scoring import PipelineModel
from {{ cookiecutter.package_name }}.processes import LocalServer, http_json
from {{ cookiecutter.package_name }}.serving.local import request_records, start_service
from {{ cookiecutter.package_name }}.settings import ENV_PREFIX, Settings
from {{ cookiecutter.package_name }}.training import registry
from {{ cookiecutter.package_name }}.training.flow import training_flow
from worked_example import (
    CATEGORY,
    CATEGORY_VALUES,
    FLOAT_FEATURE,
    HOUR,
    ID,
    INT_FEATURE,
    SCORE_RANGE,
    SHARE_FEATURE,
    SIGNAL,
    TIMESTAMP,
    UNKNOWN_VALUE,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


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
    running = start_service(project_dir, log=project_dir / "service.log")
    yield Server(url=running.url, settings=Settings(project_dir=project_dir))
    running.stop()


def records(rows: int, seed: int = 5) -> list[dict[str, Any]]:
    contract = load_contract(Settings().contract_file)
    return request_records(generate_batch(rows=rows, seed=seed), contract)


def test_ready_with_the_champion_loaded(server: Server) -> None:
    status, _ = http_json(f"{server.url}/readyz")
    assert status == 200
    status, model = http_json(f"{server.url}/model")
    assert status == 200
    assert model["loaded"] and model["version"] == "1"
    # The candidates' champion is served by its compiled path, not its pipeline.
    assert model["scoring"] != PipelineModel.description, model


def test_bentoml_client_scores_one_and_many(server: Server) -> None:
    with bentoml.SyncHTTPClient(server.url) as client:
        one = client.predict(records=records(1))
        many = client.predict(records=records(64, seed=6))
    assert len(one) == 1 and len(many) == 64
    for prediction in [*one, *many]:
        assert SCORE_RANGE[0] < prediction["score"] < SCORE_RANGE[1]
        assert prediction["model_version"] == "1"
        assert prediction["arm"] == "champion"  # no version on trial
    sent = records(64, seed=6)
    assert [p["record_id"] for p in many] == [r[ID] for r in sent]


def test_every_prediction_is_logged(server: Server) -> None:
    log = server.settings.prediction_log
    before = len(read_jsonl(log))
    status, body = http_json(f"{server.url}/predict", {"records": records(3, seed=7)})
    assert status == 200, body
    lines = read_jsonl(log)[before:]
    assert len(lines) == 3
    for line, prediction in zip(lines, body, strict=True):
        assert line["score"] == prediction["score"]
        assert line["model_version"] == "1" and line["arm"] == "champion"
        assert line["latency_ms"] > 0
        assert line[CATEGORY] in CATEGORY_VALUES


def valid() -> dict[str, Any]:
    return records(1)[0]


def post(url: str, body: bytes, content_type: str | None) -> tuple[int, Any]:
    """POST raw bytes with exactly this Content-Type (none when None)."""
    split = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(split.netloc, timeout=30)
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        connection.request("POST", split.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(payload)
    except ValueError:
        return response.status, payload.decode(errors="replace")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({FLOAT_FEATURE: None}, FLOAT_FEATURE),  # missing value
        ({INT_FEATURE: "thirty"}, INT_FEATURE),  # wrong type
        ({INT_FEATURE: 30.5}, INT_FEATURE),  # a float for an int
        ({HOUR: 24}, HOUR),  # out of range
        ({SHARE_FEATURE: -0.1}, SHARE_FEATURE),  # out of range
        ({CATEGORY: UNKNOWN_VALUE}, CATEGORY),  # unknown category
        ({"devise": "mobile"}, "devise"),  # unknown field (a typo)
        ({SHARE_FEATURE: "0.5"}, SHARE_FEATURE),  # a number in a string
        ({SIGNAL: True}, SIGNAL),  # a boolean for a float
        ({INT_FEATURE: True}, INT_FEATURE),  # a boolean for an int
        ({TIMESTAMP: 0}, TIMESTAMP),  # seconds since the epoch
        ({TIMESTAMP: "1700000000"}, TIMESTAMP),  # the same, as a string
        ({TIMESTAMP: "2026-01-05T13:45:00"}, TIMESTAMP),  # no UTC offset
        ({TIMESTAMP: "2026-01-05"}, TIMESTAMP),  # a date
        ({TIMESTAMP: "0001-01-01T00:00:00+01:00"}, TIMESTAMP),  # before year 1 in UTC
        ({ID: "x" * 65}, ID),  # longer than the contract allows
    ],
)
def test_a_bad_record_gets_400_naming_the_field(
    server: Server, change: dict[str, Any], field: str
) -> None:
    record = valid() | change
    if change.get(field, "") is None:
        del record[field]
    status, body = http_json(f"{server.url}/predict", {"records": [valid(), record]})
    assert status == 400, body
    locations = [error["loc"] for error in body["detail"]]
    assert ["records", 1, field] in locations


@pytest.mark.parametrize("rows", [0, 1_001])
def test_an_empty_or_oversized_batch_gets_400(server: Server, rows: int) -> None:
    status, body = http_json(f"{server.url}/predict", {"records": [valid()] * rows})
    assert status == 400
    assert body["detail"][0]["loc"] == ["records"]


def test_malformed_json_gets_400(server: Server) -> None:
    status, _ = http_json(f"{server.url}/predict", raw=b'{"records": [')
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
    MlflowClient().set_model_version_tag(newer.name, newer.version, "gate", "passed")
    MlflowClient().set_registered_model_alias(newer.name, registry.CHAMPION, newer.version)

    status, body = http_json(f"{server.url}/reload", body={})
    assert status == 401 and "service token" in body["error"], body  # not without the token
    headers = service_headers(server.settings)
    status, body = http_json(f"{server.url}/reload", body={}, headers=headers)
    assert status == 200
    assert body["changed"] and body["version"] == "2"
    status, predictions = http_json(f"{server.url}/predict", {"records": records(2)})
    assert status == 200
    assert {p["model_version"] for p in predictions} == {"2"}


def test_without_a_champion_the_service_is_up_but_not_ready(tmp_path: Path) -> None:
    empty: LocalServer = start_service(tmp_path)
    try:
        assert http_json(f"{empty.url}/livez")[0] == 200
        assert http_json(f"{empty.url}/readyz")[0] == 503
        status, _ = http_json(f"{empty.url}/predict", {"records": records(1)})
        assert status == 503
        status, model = http_json(f"{empty.url}/model")
        assert status == 200 and model["loaded"] is False, model
    finally:
        empty.stop()


def test_a_time_with_an_offset_is_logged_in_naive_utc(server: Server) -> None:
    record = valid() | {TIMESTAMP: "2026-01-05T15:45:00+02:00"}
    status, body = http_json(f"{server.url}/predict", {"records": [record]})
    assert status == 200, body
    assert read_jsonl(server.settings.prediction_log)[-1][TIMESTAMP] == "2026-01-05T13:45:00"


@pytest.mark.parametrize("path", ["/predict"])
@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "text/plain",
        "application/xml",
        "application/octet-stream",
        None,
    ],
)
def test_a_body_that_is_not_json_gets_415(
    server: Server, path: str, content_type: str | None
) -> None:
    body = b"--xyz--" if content_type and "boundary" in content_type else b'{"records": []}'
    status, answer = post(server.url + path, body, content_type)
    assert status == 415, answer
    assert "application/json" in answer["error"]


def test_a_body_over_the_limit_gets_413_whether_declared_or_streamed(server: Server) -> None:
    split = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(split.netloc, timeout=30)
    try:  # declared: answered before the body is sent
        connection.putrequest("POST", "/predict")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(50 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert "limit" in json.loads(response.read())["error"]
    finally:
        connection.close()
    streamed = b'{"records": [' + b'{ID: "x"},' * 400_000 + b"{}]}"  # ~9 MB
    connection = http.client.HTTPConnection(split.netloc, timeout=30)
    try:  # chunked, no Content-Length: counted as it arrives
        chunks = (streamed[i : i + 65536] for i in range(0, len(streamed), 65536))
        connection.request(
            "POST",
            "/predict",
            body=chunks,
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        assert connection.getresponse().status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed before the client finished sending
    finally:
        connection.close()
    assert http_json(f"{server.url}/predict", {"records": records(1)})[0] == 200


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key given twice: {sorted(keys)}"
    return dict(pairs)


def test_the_published_api_describes_the_answers_it_gives(server: Server) -> None:
    status, document = http_json(f"{server.url}/docs.json")
    assert status == 200
    with urllib.request.urlopen(f"{server.url}/docs.json", timeout=10) as answer:
        raw = answer.read()
    # Swagger UI refuses to render a document with a key given twice ("400" and 400 in Python).
    json.loads(raw, object_pairs_hook=unique_keys)
    predict = document["paths"]["/predict"]["post"]
    assert predict["requestBody"]["required"] is True
    resolver = jsonschema.RefResolver.from_schema(document)
    for code, request in (
        ("400", (b'{"records": [{INT_FEATURE: "x"}]}', "application/json")),
        ("415", (b"x", "text/plain")),
    ):
        schema = predict["responses"][code]["content"]["application/json"]["schema"]
        answered, body = post(f"{server.url}/predict", *request)
        assert answered == int(code)
        jsonschema.validate(body, schema, resolver=resolver)
    time_field = next(
        schema["properties"][TIMESTAMP]
        for schema in document["components"]["schemas"].values()
        if TIMESTAMP in schema.get("properties", {})
    )
    formats = [option.get("format") for option in time_field.get("anyOf", [time_field])]
    assert "date-time" in formats, time_field


def test_the_api_docs_page_loads_nothing_from_the_internet(server: Server) -> None:
    # The page and its OpenAPI document: a browser renders them in tests of the template.
    with urllib.request.urlopen(f"{server.url}/", timeout=10) as answer:
        page = answer.read().decode()
    assert "SwaggerUIBundle" in page and "googletagmanager" not in page
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded and all(address.startswith("./static_content/") for address in loaded)
    for address in loaded:
        with urllib.request.urlopen(f"{server.url}/{address[2:]}", timeout=10) as answer:
            assert answer.status == 200, address
    document = http_json(f"{server.url}/docs.json")[1]
    assert "http" not in json.dumps(document["info"])  # BentoML's own info shows web badges


def test_bad_requests_are_one_warning_line_each(server: Server) -> None:
    log = server.settings.project_dir / "service.log"
    before = log.read_text(errors="replace")
    for change in ({INT_FEATURE: "x"}, {CATEGORY: UNKNOWN_VALUE}):
        assert http_json(f"{server.url}/predict", {"records": [valid() | change]})[0] == 400
    assert post(f"{server.url}/predict", b"x", "text/plain")[0] == 415
    new = log.read_text(errors="replace")[len(before) :]
    assert "Traceback" not in new and "[ERROR]" not in new, new
    warnings = [line for line in new.splitlines() if "[WARNING]" in line]
    assert len(warnings) == 3, new
    assert f"records.0.{INT_FEATURE}" in warnings[0] and f"records.0.{CATEGORY}" in warnings[1]


def test_the_api_passes_a_schemathesis_fuzz_run(server: Server) -> None:
    """Every check of schemathesis, positive and negative data, from the service's own OpenAPI
    document; bounded in examples and time."""
    command = [
        str(Path(sys.executable).with_name("st")), "run", f"{server.url}/docs.json",
        "--checks", "all", "--mode", "all", "--max-examples", "40", "--seed", "7",
        "--max-time", "60", "--warnings", "off", "--report-dir", str(server.settings.project_dir),
    ]  # fmt: skip
    env = os.environ | {"HOME": str(server.settings.project_dir)}  # its caches stay in the project
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=server.settings.project_dir,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout


@pytest.fixture(scope="module")
def broken_champion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A service whose registry has a champion whose model files were truncated: its pipeline,
    and the compiled path that would otherwise serve it."""
    project_dir = tmp_path_factory.mktemp("broken")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(f"{ENV_PREFIX}PROJECT_DIR", str(project_dir))
        ingestion_flow(rows=5_000, seed=3)
        assert training_flow().decision.promote
    (model_file,) = (project_dir / "mlartifacts").rglob("model.skops")
    for path in [model_file, *(project_dir / "mlartifacts").rglob("compiled/*")]:
        path.write_bytes(path.read_bytes()[:100])
    running = start_service(project_dir, log=project_dir / "service.log")
    yield running.url, project_dir
    running.stop()


def test_a_champion_that_cannot_load_is_named_in_the_503_and_the_log(
    broken_champion: tuple[str, Path],
) -> None:
    url, project_dir = broken_champion
    assert http_json(f"{url}/readyz")[0] == 503
    status, body = http_json(f"{url}/predict", {"records": records(1)})
    assert status == 503
    # Named by version, with no server path; the log says which files changed, and the
    # pipeline does not stand in for the compiled path.
    assert "v1's files are not the ones it was registered with" in body["error"], body
    assert "/" not in body["error"].replace("v1's", ""), body
    log = (project_dir / "service.log").read_text()
    assert "compiled/compiled.json changed" in log and "no champion in the registry yet" not in log
    assert "scoring with its scikit-learn pipeline instead" not in log

"""End to end, a ranking's own API: POST /rank on the real BentoML server, serving the champion
of a real registry. One query and its candidates in; every candidate back, best first, with its
score and the model version; each scored candidate logged with its query's group. A request the
contract refuses (a candidate missing a field, too many candidates, none) is a 400 naming it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from test_serving import Server, server  # noqa: F401 (server is a fixture, used by `service`)

from {{ cookiecutter.package_name }}.contract import load_contract
from {{ cookiecutter.package_name }}.data.batches import read_jsonl
from {{ cookiecutter.package_name }}.data.synthetic import generate_batch
from {{ cookiecutter.package_name }}.processes import http_json
from {{ cookiecutter.package_name }}.requirements import load_requirements
from {{ cookiecutter.package_name }}.serving.local import ranking_requests
from {{ cookiecutter.package_name }}.settings import Settings
from worked_example import GROUP, ID, INT_FEATURE, OTHER_CATEGORY

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("prefect_server")]


@pytest.fixture(scope="module")
def service(server: Server) -> Server:  # noqa: F811
    """The real service with a trained champion (test_serving's, started for this module)."""
    return server


def ranking_request(seed: int = 5) -> dict[str, Any]:
    """The first query of a generated batch, as a /rank body."""
    contract = load_contract(Settings().contract_file)
    return ranking_requests(generate_batch(rows=40, seed=seed), contract, max_candidates=100)[0]


def test_candidates_come_back_best_first_with_scores_and_version(service: Server) -> None:
    body = ranking_request()
    status, ranking = http_json(f"{service.url}/rank", body)
    assert status == 200, ranking
    assert ranking["model_version"] == "1"
    ranked = ranking["candidates"]
    assert sorted(item["index"] for item in ranked) == list(range(len(body["candidates"])))
    scores = [item["score"] for item in ranked]
    assert scores == sorted(scores, reverse=True)
    for item in ranked:
        assert item["record_id"] == body["candidates"][item["index"]][ID]
    # The same rows through /predict get the same scores: one model, one feature path.
    records = [body["query"] | candidate for candidate in body["candidates"]]
    status, predictions = http_json(f"{service.url}/predict", {"records": records})
    assert status == 200
    by_index = {item["index"]: item["score"] for item in ranked}
    assert np.allclose(
        [p["score"] for p in predictions], [by_index[i] for i in range(len(records))]
    )


def test_each_ranked_candidate_is_logged_with_its_group(service: Server) -> None:
    body = ranking_request(seed=11)
    assert http_json(f"{service.url}/rank", body)[0] == 200
    logged = [
        row
        for row in read_jsonl(service.settings.prediction_log)
        if row.get(GROUP) == body["query"][GROUP]
    ]
    assert {row[ID] for row in logged} == {candidate[ID] for candidate in body["candidates"]}
    assert all(row[OTHER_CATEGORY] == body["query"][OTHER_CATEGORY] for row in logged)
    assert all(row["batch_rows"] == len(body["candidates"]) for row in logged)


def bad_request(change: str) -> tuple[dict[str, Any], list[str | int]]:
    """A /rank body made wrong in one way, and the location the 400 must name."""
    body = ranking_request()
    if change == "missing candidate field":
        del body["candidates"][1][INT_FEATURE]
        return body, ["candidates", 1, INT_FEATURE]
    if change == "query-level field in a candidate":
        body["candidates"][0][OTHER_CATEGORY] = body["query"][OTHER_CATEGORY]
        return body, ["candidates", 0, OTHER_CATEGORY]
    if change == "no group":
        del body["query"][GROUP]
        return body, ["query", GROUP]
    if change == "no candidates":
        body["candidates"] = []
        return body, ["candidates"]
    limit = load_requirements(Settings().requirements_file).serving.max_batch_rows
    body["candidates"] = (body["candidates"] * limit)[: limit + 1]
    return body, ["candidates"]


@pytest.mark.parametrize(
    "change",
    [
        "missing candidate field",
        "query-level field in a candidate",
        "no group",
        "no candidates",
        "too many candidates",
    ],
)
def test_a_bad_ranking_request_gets_400_naming_the_field(service: Server, change: str) -> None:
    body, location = bad_request(change)
    status, answer = http_json(f"{service.url}/rank", body)
    assert status == 400, answer
    assert location in [error["loc"] for error in answer["detail"]], answer


def test_the_published_api_describes_rank(service: Server) -> None:
    status, document = http_json(f"{service.url}/docs.json")
    assert status == 200
    responses = document["paths"]["/rank"]["post"]["responses"]
    assert {"200", "400", "503"} <= set(responses)

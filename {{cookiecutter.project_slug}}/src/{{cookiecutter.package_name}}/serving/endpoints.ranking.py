"""A ranking's own endpoint, beside /predict, /reload and /model (a mixin of the service).

POST /rank takes one query (its group id, time and query-level features) and its candidates
(each with its id and row-level features, 1 to `max_batch_rows` of them) and answers the
candidates best first, with their scores and the model version. Every candidate is validated by
the contract like a /predict record, so a missing field, a value out of range, too many
candidates or none is a 400 naming the field. Each scored candidate is logged with the query's
group, so ranking quality can be measured once the user's responses arrive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import bentoml
import numpy as np
from bentoml.exceptions import ServiceUnavailable
from pydantic import BaseModel, Field

from ..contract import load_contract
from ..requirements import load_requirements
from ..settings import get_settings
from .schemas import Record, json_rows, record_model
from .scorer import NoChampionError, Scorer

TASK_PATHS = ("/rank",)

_SETTINGS = get_settings()
_CONTRACT = load_contract(_SETTINGS.contract_file)
MAX_CANDIDATES = load_requirements(_SETTINGS.requirements_file).serving.max_batch_rows
# Generated from the data contract at import: BentoML reads the API's types from annotations.
RequestQuery: Any = record_model(
    _CONTRACT, "query", "Query", required=tuple(filter(None, [_CONTRACT.group_column]))
)
RequestCandidate: Any = record_model(_CONTRACT, "row", "Candidate")
Candidates = Annotated[list[RequestCandidate], Field(min_length=1, max_length=MAX_CANDIDATES)]


class RankedCandidate(BaseModel):
    index: int = Field(description="The candidate's place in the request's list (from 0)")
    record_id: str | None = Field(default=None, description="The candidate's id, when it had one")
    score: float = Field(description="The ranking score: higher ranks first")


class Ranking(BaseModel):
    model_version: str = Field(description="Registry version of the model that ranked them")
    arm: str = Field(
        default="champion",
        description="Which model ranked them: the champion, or the challenger in an A/B test "
        "(a query's candidates are always ranked by one)",
    )
    candidates: list[RankedCandidate] = Field(description="Every candidate, best first")


# What each path this file adds answers (its response model), as the OpenAPI document shows it.
TASK_RESPONSES: dict[str, Any] = {"/rank": Ranking}


def rank(scorer: Scorer, query: Record, candidates: Sequence[Record]) -> Ranking:
    """Score each candidate in the query's context and order them, best first (ties keep the
    request's order)."""
    (context,) = json_rows([query])
    rows = [context | candidate for candidate in json_rows(candidates)]
    scored = scorer.score_rows(rows)  # one arm: the split key is the query's group
    return Ranking(
        model_version=scored.versions[0],
        arm=scored.arms[0],
        candidates=[
            RankedCandidate(
                index=int(index),
                record_id=scorer.record_id(rows[index]),
                score=float(scored.scores[index]),
            )
            for index in np.argsort(-scored.scores, kind="stable")
        ],
    )


class TaskEndpoints:
    scorer: Scorer

    @bentoml.api
    def rank(self, query: RequestQuery, candidates: Candidates) -> Ranking:
        try:
            return rank(self.scorer, query, candidates)
        except NoChampionError as error:
            raise ServiceUnavailable(str(error)) from None

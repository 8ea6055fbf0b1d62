"""The offline metrics a ranking can be held to: the names step 1 may use."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# Each is the mean over the holdout's queries that have a relevant candidate; `_at_k` metrics
# look at the top `k` of each query's ranking.
MetricName = Literal["ndcg_at_k", "mrr", "map_at_k", "precision_at_k", "ndcg"]


class TaskOfflineMetrics(BaseModel):
    """Offline-metric settings only a ranking has."""

    # How many of a query's top-ranked candidates a user is assumed to look at (`*_at_k`).
    k: int = Field(default=5, ge=1, le=1000)

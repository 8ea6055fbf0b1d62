"""The task's own endpoints, beside /predict, /reload and /model (a mixin of the service).

A task whose answer is one score per record needs none: /predict is its API. A ranking
project has its own `endpoints.py` instead, which adds /rank.
"""

from __future__ import annotations

from typing import Any

# The paths this file adds: the service guards and documents them like /predict.
TASK_PATHS: tuple[str, ...] = ()
# What each of them answers (its response model), as the OpenAPI document shows it.
TASK_RESPONSES: dict[str, Any] = {}


class TaskEndpoints:
    """No endpoint beyond the service's own."""

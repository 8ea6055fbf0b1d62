"""Synthetic event recommendations with a learnable relevance and switchable, seeded drift.

Each feed request (the query) shows a user 8 to 20 candidate events; the user's response to
each is graded 0 (ignored), 1 (clicked) or 2 (registered). Whether a user clicks an event they
looked at is a known function of the event and of the user's city (`AppealModel`), with
city-by-category tastes a linear model cannot represent. Whether they look at all falls with the
event's position in the feed (`examination`): position bias. The feed comes from an exploration
slice that orders events at random, so the logged responses are not an echo of an older
ranker's choices. Two kinds of drift can be switched on:

- ``covariate``: the candidates move (another category mix, farther and pricier events, and
  events further ahead than users plan, which they hold off on) while tastes stay the same: a
  ranker that never saw far-off events cannot know they appeal less;
- ``concept``: the candidates stay as they were but tastes change (price and friends matter
  less, popularity much less), so a trained ranker becomes wrong without any change in its
  inputs.

The same seed gives the same batch, so tests and demos are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from ..settings import DriftKind

CITIES = ("lyon", "lille", "nantes", "nice")
DEVICES = ("mobile", "desktop")
CATEGORIES = ("music", "sports", "food", "tech", "arts")
DEFAULT_START = datetime(2026, 1, 5)  # a Monday, naive UTC
WORKED_EXAMPLE = "synthetic event recommendations"
# The features covariate drift moves (monitoring should flag these, and only these).
COVARIATE_SHIFTED = ("event_category", "distance_km", "price", "days_until")
CANDIDATES_PER_REQUEST = (8, 20)


@dataclass(frozen=True)
class AppealModel:
    """The log-odds that a user who looks at an event clicks it."""

    intercept: float = -1.5
    popularity: float = 2.5
    per_km: float = -0.3  # beyond `nearby_km`: anything closer is equally easy to reach
    nearby_km: float = 5.0
    per_euro: float = -0.03
    per_friend: float = 0.45
    soon: float = 0.6  # the event is within three days
    # Beyond two weeks ahead, users hold off: an effect only data with far-off events can show.
    per_day_ahead: float = -0.1
    planning_days: int = 14
    registers_given_click: float = 0.35
    taste: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "lyon": {"music": 1.0, "sports": -0.5, "food": 1.5, "tech": -1.5, "arts": 0.0},
            "lille": {"music": 0.0, "sports": 1.5, "food": -0.5, "tech": 0.5, "arts": -1.5},
            "nantes": {"music": 0.5, "sports": -1.5, "food": 0.0, "tech": 1.0, "arts": 1.5},
            "nice": {"music": -1.0, "sports": 0.5, "food": 1.0, "tech": -1.5, "arts": 1.5},
        }
    )


APPEAL = AppealModel()
DRIFTED_APPEAL = AppealModel(per_euro=0.0, per_friend=0.1, popularity=0.3)


def examination(position: np.ndarray) -> np.ndarray:
    """How likely a user looks at the event shown at `position` (1 is the top)."""
    return np.asarray(1.0 / np.asarray(position, dtype=float) ** 0.5, dtype=float)


def generate_batch(
    rows: int,
    seed: int = 42,
    drift: DriftKind = "none",
    start: datetime = DEFAULT_START,
) -> pd.DataFrame:
    """Whole feed requests over the 7 days from `start`, `rows` events in all (the last request
    is cut short to fit), matching the default contract."""
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    rng = np.random.default_rng(seed)
    covariate = drift == "covariate"
    low, high = CANDIDATES_PER_REQUEST
    sizes = rng.integers(low, high + 1, size=rows // low + 1)
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), rows)) + 1]
    sizes[-1] -= int(sizes.sum()) - rows
    requests = len(sizes)
    request_of = np.repeat(np.arange(requests), sizes)

    seconds = np.sort(rng.integers(0, 7 * 24 * 3600, size=requests))
    shown_at = pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")
    city = rng.choice(CITIES, size=requests)
    device = rng.choice(DEVICES, size=requests, p=(0.7, 0.3))
    categories = (0.1, 0.1, 0.2, 0.4, 0.2) if covariate else (0.3, 0.2, 0.2, 0.1, 0.2)
    frame = pd.DataFrame(
        {
            "impression_id": f"imp-{seed}-{drift}-" + pd.Series(np.arange(rows)).astype(str),
            "request_id": f"req-{seed}-{drift}-" + pd.Series(request_of).astype(str),
            "event_time": shown_at[request_of],
            "hour_of_day": shown_at.hour.to_numpy()[request_of].astype("int64"),
            "city": city[request_of],
            "device": device[request_of],
            "event_category": rng.choice(CATEGORIES, size=rows, p=categories),
            "distance_km": np.clip(rng.gamma(2.0, 6.0 if covariate else 3.0, rows), 0.1, 200).round(
                1
            ),
            "price": np.clip(rng.gamma(2.0, 25.0 if covariate else 12.0, rows), 0, 500).round(2),
            "days_until": rng.integers(0, 45 if covariate else 15, rows).astype("int64"),
            "popularity": rng.beta(2, 5, rows).round(4),
            "friends_going": np.minimum(rng.poisson(0.6, rows), 50).astype("int64"),
        }
    )
    # The exploration slice shows each request's events in a random order.
    order = rng.random(rows)
    frame["position"] = (
        pd.Series(order).groupby(request_of).rank(method="first").astype("int64").to_numpy()
    )
    appeal = APPEAL if drift != "concept" else DRIFTED_APPEAL
    looked = rng.random(rows) < examination(frame["position"].to_numpy())
    clicked = looked & (rng.random(rows) < 1 / (1 + np.exp(-appeal_logit(frame, appeal))))
    registered = clicked & (rng.random(rows) < appeal.registers_given_click)
    frame["relevance"] = clicked.astype("int64") + registered.astype("int64")
    return frame


def appeal_logit(frame: pd.DataFrame, model: AppealModel = APPEAL) -> np.ndarray:
    """Each event's true appeal to its user (log-odds of a click once looked at)."""
    taste = [
        model.taste[city][category]
        for city, category in zip(
            frame["city"].astype(str), frame["event_category"].astype(str), strict=True
        )
    ]
    return np.asarray(
        model.intercept
        + model.popularity * frame["popularity"].to_numpy(dtype=float)
        + model.per_km * np.maximum(frame["distance_km"].to_numpy(dtype=float) - model.nearby_km, 0)
        + model.per_euro * frame["price"].to_numpy(dtype=float)
        + model.per_friend * frame["friends_going"].to_numpy(dtype=float)
        + model.soon * (frame["days_until"].to_numpy() <= 3)
        + model.per_day_ahead * np.maximum(frame["days_until"].to_numpy() - model.planning_days, 0)
        + np.asarray(taste, dtype=float),
        dtype=float,
    )


def expected_target(frame: pd.DataFrame) -> np.ndarray:
    """The best possible ranking score of each row: its true appeal (position aside)."""
    return appeal_logit(frame)

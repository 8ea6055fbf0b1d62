"""Synthetic ad impressions with a learnable click signal and switchable, seeded drift.

The click probability is a logistic function of the features (`CLICK_MODEL`), giving a target
that is imbalanced (about 9% clicks) yet learnable. Two kinds of drift can be switched on:

- ``covariate``: the feature distributions move (more mobile and younger users, higher past
  CTR, more relevant ads, higher bids) while the click model stays the same;
- ``concept``: the features stay as they were but the click model changes (relevance stops
  mattering, position effects reverse), so a trained model becomes wrong without any change in
  its inputs.

Impressions are shown to a fixed audience of `AUDIENCE` users who come back batch after batch:
a user's age and past CTR are the user's own (`user_profiles`), the same in every batch, as a
feature store would serve them. Covariate drift brings a different, younger audience.

The same seed gives the same batch, so tests and demos are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from ..settings import DriftKind

DEVICES = ("mobile", "desktop", "tablet")
POSITIONS = ("top", "side", "bottom")
SITE_CATEGORIES = ("news", "sports", "shopping", "social", "video")
DEFAULT_START = datetime(2026, 1, 5)  # a Monday, naive UTC
WORKED_EXAMPLE = "synthetic ad impressions"
# The features covariate drift moves (monitoring should flag these, and only these).
COVARIATE_SHIFTED = ("device", "user_age", "user_past_ctr", "ad_relevance", "bid_price")
AUDIENCE = 4_000
PROFILE_SEED = 2026  # the audience is the same people whatever a batch's seed


@dataclass(frozen=True)
class UserProfiles:
    """The audience: each user's id, age and past CTR (arrays of `AUDIENCE`)."""

    ids: np.ndarray
    ages: np.ndarray
    past_ctr: np.ndarray


def user_profiles(covariate: bool = False) -> UserProfiles:
    """The usual audience, or (covariate drift) the younger one that clicks more."""
    rng = np.random.default_rng([PROFILE_SEED, int(covariate)])
    prefix = "user-y" if covariate else "user-"
    ages = rng.normal(27 if covariate else 38, 8 if covariate else 12, size=AUDIENCE)
    return UserProfiles(
        ids=np.array([f"{prefix}{k}" for k in range(AUDIENCE)], dtype=object),
        ages=np.clip(ages, 13, 100).astype("int64"),
        past_ctr=rng.beta(3, 30, AUDIENCE) if covariate else rng.beta(2, 30, AUDIENCE),
    )


@dataclass(frozen=True)
class ClickModel:
    """Coefficients of the true click log-odds."""

    intercept: float = -6.0
    relevance: float = 4.0
    past_ctr: float = 16.0
    log_bid: float = 0.15
    age_per_year: float = -0.012
    evening: float = 0.35
    # Interactions a linear model on these features cannot represent.
    mobile_top: float = 0.8
    evening_video: float = 0.6
    position: dict[str, float] = field(
        default_factory=lambda: {"top": 0.7, "side": -0.5, "bottom": -0.1}
    )
    device: dict[str, float] = field(
        default_factory=lambda: {"mobile": 0.25, "desktop": 0.0, "tablet": -0.15}
    )
    site: dict[str, float] = field(
        default_factory=lambda: {
            "news": -0.1,
            "sports": 0.0,
            "shopping": 0.45,
            "social": 0.1,
            "video": -0.25,
        }
    )


CLICK_MODEL = ClickModel()
DRIFTED_CLICK_MODEL = ClickModel(
    intercept=-3.6,
    relevance=-0.4,
    position={"top": -0.4, "side": 0.6, "bottom": 0.2},
    site={"news": 0.4, "sports": 0.2, "shopping": -0.4, "social": 0.0, "video": 0.1},
)


def generate_batch(
    rows: int,
    seed: int = 42,
    drift: DriftKind = "none",
    start: datetime = DEFAULT_START,
) -> pd.DataFrame:
    """A batch of `rows` impressions over the 7 days from `start`, matching the default contract."""
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    rng = np.random.default_rng(seed)
    covariate = drift == "covariate"

    seconds = np.sort(rng.integers(0, 7 * 24 * 3600, size=rows))
    event_time = pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")
    device_p = (0.80, 0.12, 0.08) if covariate else (0.55, 0.35, 0.10)
    device = rng.choice(DEVICES, size=rows, p=device_p)
    position = rng.choice(POSITIONS, size=rows, p=(0.3, 0.45, 0.25))
    site = rng.choice(SITE_CATEGORIES, size=rows)
    # The per-row user draws the audience replaced, made and set aside: every other column of a
    # seed's batch stays what it was before users came back.
    rng.normal(27 if covariate else 38, 8 if covariate else 12, size=rows)
    rng.beta(3, 30, size=rows) if covariate else rng.beta(2, 30, rows)
    relevance = rng.beta(2.5, 2.5, size=rows) if covariate else rng.beta(2, 3, rows)
    bid = np.clip(rng.lognormal(1.3 if covariate else 0.8, 0.6, size=rows), 0.01, 100.0)
    audience = user_profiles(covariate)
    users = np.random.default_rng([seed, AUDIENCE]).integers(0, AUDIENCE, size=rows)
    frame = pd.DataFrame(
        {
            "impression_id": f"imp-{seed}-{drift}-" + pd.Series(np.arange(rows)).astype(str),
            "event_time": event_time,
            "hour_of_day": event_time.hour.astype("int64"),
            "day_of_week": event_time.dayofweek.astype("int64"),
            "device": device,
            "ad_position": position,
            "site_category": site,
            "user_id": audience.ids[users],
            "user_age": audience.ages[users],
            "user_past_ctr": audience.past_ctr[users],
            "ad_relevance": relevance,
            "bid_price": bid.round(2),
        }
    )
    click_model = DRIFTED_CLICK_MODEL if drift == "concept" else CLICK_MODEL
    probability = 1.0 / (1.0 + np.exp(-click_log_odds(frame, click_model)))
    frame["clicked"] = (rng.random(rows) < probability).astype("int64")
    return frame


def expected_target(frame: pd.DataFrame) -> np.ndarray:
    """The best possible score of each row: the true click probability (no drift)."""
    return np.asarray(1.0 / (1.0 + np.exp(-click_log_odds(frame))), dtype=float)


def click_log_odds(frame: pd.DataFrame, model: ClickModel = CLICK_MODEL) -> np.ndarray:
    """The true log-odds of a click for each row: the signal a model should learn."""
    evening = frame["hour_of_day"].between(18, 23).to_numpy()
    mobile_top = (frame["device"] == "mobile").to_numpy() & (
        frame["ad_position"] == "top"
    ).to_numpy()
    video = (frame["site_category"] == "video").to_numpy()
    return np.asarray(
        model.intercept
        + model.relevance * frame["ad_relevance"].to_numpy()
        + model.past_ctr * frame["user_past_ctr"].to_numpy()
        + model.log_bid * np.log(frame["bid_price"].to_numpy())
        + model.age_per_year * (frame["user_age"].to_numpy() - 35)
        + model.evening * evening
        + model.mobile_top * mobile_top
        + model.evening_video * (evening & video)
        + frame["ad_position"].map(model.position).to_numpy(dtype=float)
        + frame["device"].map(model.device).to_numpy(dtype=float)
        + frame["site_category"].map(model.site).to_numpy(dtype=float),
        dtype=float,
    )

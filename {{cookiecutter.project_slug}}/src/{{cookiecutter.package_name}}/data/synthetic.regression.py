"""Synthetic food deliveries with a learnable delivery time and switchable, seeded drift.

The minutes from order to door are the kitchen's preparation (by restaurant type, items and how
busy the kitchen is) plus the ride (distance over a speed that depends on the vehicle, the
weather and rush hour) plus noise (`TimeModel`). Interactions (rain slows bikes most, rush hour
slows cars most) are what a linear model cannot represent. Two kinds of drift can be switched on:

- ``covariate``: the orders move (longer distances, bigger orders, busier kitchens, more rain,
  more cars) while the time model stays the same;
- ``concept``: the orders stay as they were but the city changes (road works slow every ride,
  kitchens take longer), so a trained model becomes wrong without any change in its inputs.

The same seed gives the same batch, so tests and demos are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from ..settings import DriftKind

RESTAURANT_TYPES = ("fast_food", "casual", "fine_dining", "grocery")
VEHICLES = ("bike", "scooter", "car")
WEATHER = ("clear", "rain", "snow")
DEFAULT_START = datetime(2026, 1, 5)  # a Monday, naive UTC
WORKED_EXAMPLE = "synthetic food deliveries"
# The features covariate drift moves (monitoring should flag these, and only these).
COVARIATE_SHIFTED = ("items", "kitchen_load", "distance_km", "vehicle", "weather")


@dataclass(frozen=True)
class TimeModel:
    """How long a delivery takes: preparation plus the ride, in minutes."""

    handover_minutes: float = 4.0
    prep_minutes: dict[str, float] = field(
        default_factory=lambda: {
            "fast_food": 6.0,
            "casual": 12.0,
            "fine_dining": 22.0,
            "grocery": 9.0,
        }
    )
    prep_per_item: float = 0.8
    busy_prep_factor: float = 0.9  # a full kitchen takes this much longer (0.9 = +90%)
    speed_kmh: dict[str, float] = field(
        default_factory=lambda: {"bike": 14.0, "scooter": 22.0, "car": 28.0}
    )
    # Speed multipliers: rain and snow slow two wheels far more than a car.
    weather_slowdown: dict[str, dict[str, float]] = field(
        default_factory=lambda: {
            "clear": {"bike": 1.0, "scooter": 1.0, "car": 1.0},
            "rain": {"bike": 0.7, "scooter": 0.8, "car": 0.92},
            "snow": {"bike": 0.5, "scooter": 0.6, "car": 0.75},
        }
    )
    rush_hour_slowdown: dict[str, float] = field(
        default_factory=lambda: {"bike": 0.95, "scooter": 0.85, "car": 0.6}
    )
    courier_minutes_per_star: float = -1.5  # better-rated couriers are quicker at the door
    noise_scale: float = 2.0  # gamma noise: deliveries run late more often than early


TIME_MODEL = TimeModel()
DRIFTED_TIME_MODEL = TimeModel(
    speed_kmh={"bike": 10.0, "scooter": 14.0, "car": 15.0},
    busy_prep_factor=1.6,
    rush_hour_slowdown={"bike": 0.9, "scooter": 0.8, "car": 0.45},
)


def generate_batch(
    rows: int,
    seed: int = 42,
    drift: DriftKind = "none",
    start: datetime = DEFAULT_START,
) -> pd.DataFrame:
    """A batch of `rows` deliveries over the 7 days from `start`, matching the default contract."""
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    rng = np.random.default_rng(seed)
    covariate = drift == "covariate"

    seconds = np.sort(rng.integers(0, 7 * 24 * 3600, size=rows))
    order_time = pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")
    frame = pd.DataFrame(
        {
            "order_id": f"ord-{seed}-{drift}-" + pd.Series(np.arange(rows)).astype(str),
            "order_time": order_time,
            "hour_of_day": order_time.hour.astype("int64"),
            "day_of_week": order_time.dayofweek.astype("int64"),
            "restaurant_type": rng.choice(RESTAURANT_TYPES, size=rows, p=(0.35, 0.35, 0.1, 0.2)),
            "items": np.clip(rng.poisson(5.0 if covariate else 3.0, size=rows) + 1, 1, 40).astype(
                "int64"
            ),
            "kitchen_load": rng.beta(5, 2, size=rows) if covariate else rng.beta(2, 3, rows),
            "distance_km": np.clip(
                rng.gamma(3.0, 2.0 if covariate else 1.2, size=rows), 0.2, 40.0
            ).round(2),
            "vehicle": rng.choice(
                VEHICLES, size=rows, p=(0.15, 0.3, 0.55) if covariate else (0.4, 0.4, 0.2)
            ),
            "weather": rng.choice(
                WEATHER, size=rows, p=(0.45, 0.4, 0.15) if covariate else (0.75, 0.2, 0.05)
            ),
            "courier_rating": np.clip(rng.normal(4.4, 0.4, size=rows), 1.0, 5.0).round(2),
        }
    )
    time_model = DRIFTED_TIME_MODEL if drift == "concept" else TIME_MODEL
    noise = rng.gamma(2.0, time_model.noise_scale, size=rows)
    frame["delivery_minutes"] = (expected_minutes(frame, time_model) + noise).round(1)
    return frame


def expected_minutes(frame: pd.DataFrame, model: TimeModel = TIME_MODEL) -> np.ndarray:
    """The expected delivery time of each row, without noise: the signal a model should learn."""
    vehicle = frame["vehicle"].astype(str)
    weather = frame["weather"].astype(str)
    prep = (
        frame["restaurant_type"].astype(str).map(model.prep_minutes).to_numpy(dtype=float)
        + model.prep_per_item * frame["items"].to_numpy(dtype=float)
    ) * (1.0 + model.busy_prep_factor * frame["kitchen_load"].to_numpy(dtype=float))
    rush = frame["hour_of_day"].isin([8, 9, 12, 13, 17, 18, 19]).to_numpy()
    speed = vehicle.map(model.speed_kmh).to_numpy(dtype=float) * np.array(
        [model.weather_slowdown[w][v] for w, v in zip(weather, vehicle, strict=True)]
    )
    speed = np.where(
        rush, speed * vehicle.map(model.rush_hour_slowdown).to_numpy(dtype=float), speed
    )
    ride = 60.0 * frame["distance_km"].to_numpy(dtype=float) / speed
    door = model.courier_minutes_per_star * (frame["courier_rating"].to_numpy(dtype=float) - 4.4)
    return np.asarray(model.handover_minutes + prep + ride + door, dtype=float)


def expected_target(frame: pd.DataFrame) -> np.ndarray:
    """The best possible prediction of each row: its expected minutes, plus the noise's mean."""
    return expected_minutes(frame) + 2.0 * TIME_MODEL.noise_scale

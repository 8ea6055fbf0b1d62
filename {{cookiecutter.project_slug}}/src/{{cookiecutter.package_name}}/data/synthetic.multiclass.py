"""Synthetic moderated posts: signals a platform has about a post and its author, and the
moderators' verdict (none, spam, harassment, violence), with switchable, seeded drift.

The verdict is drawn from a softmax over one log-odds per harm against `none`
(`VERDICT_MODEL`): most posts break no rule (about 80%), spam is the commonest harm and violence
the rarest (about 3%), so a model judged on accuracy alone could ignore the rare harms. Each
harm has its own signals, with interactions a linear model cannot represent (media with toxic
wording is violence far more than either alone). Two kinds of drift can be switched on:

- ``covariate``: a new spam wave. New accounts post in bursts, with links, under comments and
  in groups; the verdict model stays the same, so more posts are spam because the posts moved;
- ``concept``: spam changes its form. It now arrives by direct message from older accounts
  posting in bursts without links: the same signals mean something else, and a trained model
  misses it without any change in its inputs.

The same seed gives the same batch, so tests and demos are reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from ..settings import DriftKind

CLASSES = ("none", "spam", "harassment", "violence")
SURFACES = ("feed", "comment", "group", "direct_message")
LANGUAGES = ("en", "es", "pt", "other")
DEFAULT_START = datetime(2026, 1, 5)  # a Monday, naive UTC
WORKED_EXAMPLE = "synthetic moderated posts"
# The features covariate drift moves (monitoring should flag these, and only these).
COVARIATE_SHIFTED = ("surface", "author_account_age_days", "author_posts_last_hour", "link_count")


@dataclass(frozen=True)
class VerdictModel:
    """Coefficients of each harm's log-odds against `none`."""

    spam_intercept: float = -5.5
    spam_links: float = 2.5
    spam_burst: float = 1.4  # per sqrt(posts in the last hour)
    spam_new_account: float = 3.0  # an account younger than 30 days
    spam_direct_message: float = 0.0
    harassment_intercept: float = -9.5
    harassment_toxicity: float = 14.0
    harassment_reports: float = 0.9  # per log(1 + reports)
    harassment_strikes: float = 0.5
    harassment_reply: float = 1.5  # under a comment or in a direct message
    violence_intercept: float = -12.0
    violence_toxicity: float = 9.0
    violence_media: float = 2.5
    violence_toxic_media: float = 5.0  # media and toxicity above 0.5 together
    violence_reports: float = 1.0
    violence_strikes: float = 0.4


VERDICT_MODEL = VerdictModel()
# The new form of spam: direct messages from older accounts in bursts; links stop mattering.
DRIFTED_VERDICT_MODEL = VerdictModel(
    spam_intercept=-6.0,
    spam_links=0.2,
    spam_burst=1.6,
    spam_new_account=-0.5,
    spam_direct_message=4.0,
)


def generate_batch(
    rows: int,
    seed: int = 42,
    drift: DriftKind = "none",
    start: datetime = DEFAULT_START,
) -> pd.DataFrame:
    """A batch of `rows` posts over the 7 days from `start`, matching the default contract."""
    if rows <= 0:
        raise ValueError(f"rows must be positive, got {rows}")
    rng = np.random.default_rng(seed)
    wave = drift == "covariate"

    seconds = np.sort(rng.integers(0, 7 * 24 * 3600, size=rows))
    posted_at = pd.Timestamp(start) + pd.to_timedelta(seconds, unit="s")
    surface_p = (0.35, 0.35, 0.22, 0.08) if wave else (0.5, 0.3, 0.12, 0.08)
    surface = rng.choice(SURFACES, size=rows, p=surface_p)
    has_media = rng.random(rows) < 0.3
    age = rng.lognormal(4.2 if wave else 6.0, 1.6 if wave else 1.2, size=rows)
    strikes = rng.poisson(0.3, size=rows)
    burst = rng.poisson(rng.gamma(0.9 if wave else 0.6, 4.0 if wave else 2.5, size=rows))
    links = rng.poisson(0.9 if wave else 0.4, size=rows)
    reports = rng.poisson(rng.gamma(0.3, 1.0, size=rows))
    # Most posts read as harmless; one in seven reads as hostile (the text classifier's view).
    hostile = rng.random(rows) < 0.14
    toxicity = np.where(hostile, rng.beta(5.0, 3.0, size=rows), rng.beta(1.2, 8.0, size=rows))
    language = rng.choice(LANGUAGES, size=rows, p=(0.6, 0.2, 0.12, 0.08))
    frame = pd.DataFrame(
        {
            "post_id": f"post-{seed}-{drift}-" + pd.Series(np.arange(rows)).astype(str),
            "posted_at": posted_at,
            "hour_of_day": posted_at.hour.astype("int64"),
            "surface": surface,
            "language": language,
            "has_media": has_media,
            "author_account_age_days": np.clip(age, 0, 7000).astype("int64"),
            "author_prior_strikes": np.clip(strikes, 0, 50).astype("int64"),
            "author_posts_last_hour": np.clip(burst, 0, 1000).astype("int64"),
            "link_count": np.clip(links, 0, 100).astype("int64"),
            "user_reports": np.clip(reports, 0, 10_000).astype("int64"),
            "toxicity_score": toxicity.round(4),
        }
    )
    model = DRIFTED_VERDICT_MODEL if drift == "concept" else VERDICT_MODEL
    probabilities = verdict_probabilities(frame, model)
    # One uniform draw per row against the running sum of its probabilities: its class.
    drawn = (rng.random(rows)[:, None] > probabilities.cumsum(axis=1)).sum(axis=1)
    frame["verdict"] = np.asarray(CLASSES, dtype=object)[np.minimum(drawn, len(CLASSES) - 1)]
    return frame


def expected_target(frame: pd.DataFrame) -> np.ndarray:
    """The best possible output for each row: the true probability of each verdict (no
    drift), a column per class in the contract's order."""
    return verdict_probabilities(frame)


def verdict_probabilities(frame: pd.DataFrame, model: VerdictModel = VERDICT_MODEL) -> np.ndarray:
    """The true probability of each verdict for each row, a column per class of `CLASSES`."""
    surface = frame["surface"].to_numpy()
    toxicity = frame["toxicity_score"].to_numpy(dtype=float)
    media = frame["has_media"].to_numpy(dtype=bool)
    reports = np.log1p(frame["user_reports"].to_numpy(dtype=float))
    strikes = frame["author_prior_strikes"].to_numpy(dtype=float)
    spam = (
        model.spam_intercept
        + model.spam_links * np.minimum(frame["link_count"].to_numpy(dtype=float), 4)
        + model.spam_burst * np.sqrt(frame["author_posts_last_hour"].to_numpy(dtype=float))
        + model.spam_new_account * (frame["author_account_age_days"].to_numpy() < 30)
        + model.spam_direct_message * (surface == "direct_message")
    )
    harassment = (
        model.harassment_intercept
        + model.harassment_toxicity * toxicity
        + model.harassment_reports * reports
        + model.harassment_strikes * strikes
        + model.harassment_reply * np.isin(surface, ("comment", "direct_message"))
    )
    violence = (
        model.violence_intercept
        + model.violence_toxicity * toxicity
        + model.violence_media * media
        + model.violence_toxic_media * (media & (toxicity > 0.5))
        + model.violence_reports * reports
        + model.violence_strikes * strikes
    )
    log_odds = np.column_stack([np.zeros(len(frame)), spam, harassment, violence])
    shifted = np.exp(log_odds - log_odds.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=float)

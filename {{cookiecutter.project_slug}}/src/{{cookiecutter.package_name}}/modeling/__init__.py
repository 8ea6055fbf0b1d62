"""Step 4, model selection: candidate pipelines built from the data contract."""

from .candidates import MODELS, PREDICT_METHOD, predict_scores
from .features import feature_frame, groups, labels, preprocessor
from .selection import (
    UnknownModelError,
    build_model,
    chosen_model,
    fit_model,
    model_builder,
)

__all__ = [
    "MODELS",
    "PREDICT_METHOD",
    "UnknownModelError",
    "build_model",
    "chosen_model",
    "feature_frame",
    "fit_model",
    "groups",
    "labels",
    "model_builder",
    "predict_scores",
    "preprocessor",
]

"""Step 4, model selection: candidate pipelines built from the data contract."""

from .candidates import (
    MODELS,
    UnknownModelError,
    build_model,
    feature_frame,
    fit_model,
    labels,
    model_builder,
    predict_scores,
    preprocessor,
)

__all__ = [
    "MODELS",
    "UnknownModelError",
    "build_model",
    "feature_frame",
    "fit_model",
    "labels",
    "model_builder",
    "predict_scores",
    "preprocessor",
]

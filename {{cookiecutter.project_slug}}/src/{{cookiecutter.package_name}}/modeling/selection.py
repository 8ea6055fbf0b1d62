"""Choosing a candidate by name (the `model_name` setting) and fitting it."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..contract import DataContract
from ..errors import ExpectedError
from ..settings import Settings
from .candidates import DEFAULT_MODEL, MODELS
from .features import ModelBuilder, feature_frame, groups, labels

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


class UnknownModelError(ExpectedError, ValueError):
    """The settings name a model that is not in `MODELS`."""


def model_builder(name: str) -> ModelBuilder:
    """The candidate called `name`, or `UnknownModelError` listing the choices."""
    try:
        return MODELS[name]
    except KeyError:
        choices = ", ".join(sorted(MODELS))
        raise UnknownModelError(f"unknown model {name!r}: choose one of {choices}") from None


def chosen_model(settings: Settings) -> str:
    """The candidate training fits: the one the settings name, else the task's default."""
    return settings.model_name or DEFAULT_MODEL


def build_model(name: str, contract: DataContract, seed: int = 42) -> Pipeline:
    return model_builder(name)(contract, seed)


def fit_model(
    name: str,
    train: pd.DataFrame,
    contract: DataContract,
    seed: int = 42,
    params: Mapping[str, Any] | None = None,
) -> Pipeline:
    """A fresh candidate `name` (with `params` instead of its own, e.g. from a search), fitted
    on the contract's features and target of `train`.

    A learning-to-rank model (one whose fit takes `group`) learns from each group's rows
    against each other: it gets the rows group by group, and each group's size."""
    model = build_model(name, contract, seed)
    if params:
        model.set_params(**params)
    codes = groups(train, contract)
    step, estimator = model.steps[-1]
    if codes is None or "group" not in inspect.signature(estimator.fit).parameters:
        return model.fit(feature_frame(train, contract), labels(train, contract))
    train = train.iloc[np.argsort(codes, kind="stable")]
    sizes = np.bincount(codes)
    return model.fit(
        feature_frame(train, contract), labels(train, contract), **{f"{step}__group": sizes}
    )

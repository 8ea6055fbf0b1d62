"""The compiled scoring path: a trained pipeline turned into arrays, so the service and batch
scoring answer without scikit-learn or a DataFrame.

At registration `compile_pipeline` reads the fitted preprocessing (each imputer's fill values,
each scaler's mean and scale, each one-hot encoder's categories) into plain numbers, and the
model into a LightGBM model (a LightGBM model as it is; scikit-learn's histogram gradient
boosting tree by tree, as LightGBM's text format writes trees) or its weights (a linear model).
A request is then a few numpy operations and one call to LightGBM's C++ predictor: ~0.1 ms for
a row, against ~6 ms for the pipeline (bench/serving.py prints both). LightGBM's predictor was
chosen over Treelite's GTIL (5-8x slower here) and ONNX Runtime (skl2onnx fails on this
pipeline); it is already a dependency.

The registered pipeline stays the source of truth. `parity` scores a holdout both ways; a
version whose compiled path differs from it by more than `PARITY_TOLERANCE` is registered but
not promoted. A pipeline with a step this module does not know gets no compiled path
(`NotCompilableError` says which step) and is served by the pipeline itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

# The largest difference from the pipeline a compiled path may show on the holdout.
PARITY_TOLERANCE = 1e-5
FORMAT_VERSION = 1
SPEC_FILE, TREES_FILE = "compiled.json", "trees.lightgbm.txt"
# Below this many rows LightGBM predicts on one thread: a request's rows take microseconds, and
# waking a thread pool per request costs more than it saves.
THREADED_ROWS = 10_000

# Linear models whose score is `features @ coef + intercept` (regressors) or its logistic
# (a binary classifier's probability; with a row of `coef` per class, their softmax). An
# allowlist: other linear models (Poisson, Tweedie) pass the sum through another link, and must
# not be compiled as if they did not.
LINEAR_REGRESSORS = frozenset(
    {
        "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet",
        "ElasticNetCV", "LassoLars", "Lars", "BayesianRidge", "ARDRegression",
        "HuberRegressor", "SGDRegressor",
    }
)  # fmt: skip
LOGISTIC_CLASSIFIERS = frozenset({"LogisticRegression", "LogisticRegressionCV"})
# The inverse link from a model's raw score to its output, by name.
Link = Literal["identity", "logistic", "exp", "softmax"]
# scikit-learn's loss links, and LightGBM's objectives (with no parameter changing the link).
SKLEARN_LINKS: dict[str, Link] = {
    "IdentityLink": "identity",
    "LogitLink": "logistic",
    "LogLink": "exp",
    "MultinomialLogit": "softmax",
}
LIGHTGBM_LINKS: dict[str, Link] = {
    "regression": "identity", "regression_l1": "identity", "huber": "identity",
    "fair": "identity", "quantile": "identity", "mape": "identity",
    "lambdarank": "identity", "rank_xendcg": "identity",
    "binary": "logistic", "poisson": "exp", "gamma": "exp", "tweedie": "exp",
    "multiclass": "softmax",
}  # fmt: skip


class NotCompilableError(Exception):
    """The pipeline has a step (or a setting of one) the compiled path does not reproduce."""


Rows = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class NumericBlock:
    """Numeric input columns through an optional imputer and an optional scaler, as one
    fitted ColumnTransformer entry gives them: the imputed values, then one 0/1 column per
    `indicators` entry (which input was missing), all scaled."""

    columns: list[str]
    fill: list[float] | None = None
    indicators: list[int] = field(default_factory=list)
    mean: list[float] | None = None
    scale: list[float] | None = None

    @property
    def width(self) -> int:
        return len(self.columns) + len(self.indicators)

    def encode(self, values: np.ndarray) -> np.ndarray:
        # The same operations, in the same order, as SimpleImputer and StandardScaler.
        missing = np.isnan(values)
        if self.fill is not None:
            values = np.where(missing, np.asarray(self.fill), values)
        if self.indicators:
            values = np.hstack([values, missing[:, self.indicators].astype(np.float64)])
        if self.mean is not None:
            values = values - np.asarray(self.mean)
        if self.scale is not None:
            values = values / np.asarray(self.scale)
        return values


@dataclass(frozen=True)
class OneHotBlock:
    """One categorical column as 0/1 columns in `categories` order; a value outside them
    (or missing) is all zeros, as OneHotEncoder(handle_unknown="ignore") does."""

    column: str
    categories: list[Any]

    @property
    def width(self) -> int:
        return len(self.categories)

    def index(self) -> dict[Any, int]:
        return {category: position for position, category in enumerate(self.categories)}


@dataclass(frozen=True)
class CompiledSpec:
    """Everything but the trees, as JSON: how rows become the model's input, and what the
    model does with it."""

    numeric: list[NumericBlock]
    one_hot: list[OneHotBlock]
    # Output column order: ("numeric", i) or ("one_hot", i), as the ColumnTransformer lays out.
    layout: list[tuple[Literal["numeric", "one_hot"], int]]
    # "trees": a LightGBM model (TREES_FILE) gives the raw score; "linear": coef and intercept.
    model: Literal["trees", "linear"]
    link: Link
    estimator: str
    # One weight per model input; with a softmax, a row of them per class.
    coef: list[float] | list[list[float]] | None = None
    intercept: float | list[float] = 0.0
    format_version: int = FORMAT_VERSION

    @classmethod
    def from_json(cls, text: str) -> CompiledSpec:
        raw = json.loads(text)
        if raw.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"compiled format {raw.get('format_version')!r} is not supported")
        return cls(
            numeric=[NumericBlock(**block) for block in raw["numeric"]],
            one_hot=[OneHotBlock(**block) for block in raw["one_hot"]],
            layout=[(kind, position) for kind, position in raw["layout"]],
            model=raw["model"],
            link=raw["link"],
            estimator=raw["estimator"],
            coef=raw["coef"],
            intercept=raw["intercept"],
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1)


class CompiledModel:
    """Scores rows (request dicts or a DataFrame) exactly as the pipeline it came from."""

    def __init__(self, spec: CompiledSpec, trees: str | None = None) -> None:
        self.spec = spec
        self.trees = trees  # LightGBM's text format
        self._numeric_columns = [column for block in spec.numeric for column in block.columns]
        self._indexes = [block.index() for block in spec.one_hot]
        # Where each layout entry reads its inputs and writes its outputs, worked out once
        # rather than on every request: (kind, position, first input column, first output).
        first_inputs = np.cumsum([0] + [len(block.columns) for block in spec.numeric])
        self._plan: list[tuple[str, int, int, int]] = []
        offset = 0
        for kind, position in spec.layout:
            block: NumericBlock | OneHotBlock = (
                spec.numeric[position] if kind == "numeric" else spec.one_hot[position]
            )
            first_input = int(first_inputs[position]) if kind == "numeric" else 0
            self._plan.append((kind, position, first_input, offset))
            offset += block.width
        self.width = offset
        self._predict = self._model_function()

    @property
    def description(self) -> str:
        via = "LightGBM's predictor" if self.spec.model == "trees" else "numpy"
        return f"{self.spec.estimator} via {via}"

    def score_rows(self, rows: Rows) -> np.ndarray:
        numeric = np.array(
            [[row.get(name) for name in self._numeric_columns] for row in rows], dtype=np.float64
        ).reshape(len(rows), len(self._numeric_columns))
        codes = [
            np.fromiter(
                (index.get(row.get(block.column), -1) for row in rows),
                dtype=np.int64,
                count=len(rows),
            )
            for block, index in zip(self.spec.one_hot, self._indexes, strict=True)
        ]
        return self._predict(self._assemble(numeric, codes))

    def score_frame(self, frame: pd.DataFrame) -> np.ndarray:
        numeric = (
            frame[self._numeric_columns].astype("float64").to_numpy(dtype=np.float64)
            if self._numeric_columns
            else np.empty((len(frame), 0))
        )
        codes = [
            pd.Categorical(frame[block.column], categories=block.categories).codes.astype(np.int64)
            for block in self.spec.one_hot
        ]
        return self._predict(self._assemble(numeric, codes))

    def _assemble(self, numeric: np.ndarray, codes: list[np.ndarray]) -> np.ndarray:
        encoded = np.zeros((numeric.shape[0], self.width), dtype=np.float64)
        for kind, position, first, offset in self._plan:
            if kind == "numeric":
                block = self.spec.numeric[position]
                part = block.encode(numeric[:, first : first + len(block.columns)])
                encoded[:, offset : offset + block.width] = part
            else:
                known = codes[position] >= 0
                encoded[np.flatnonzero(known), offset + codes[position][known]] = 1.0
        return encoded

    def _model_function(self) -> Callable[[np.ndarray], np.ndarray]:
        spec = self.spec
        inverse_link = INVERSE_LINKS[spec.link]
        if spec.model == "trees":
            import lightgbm

            booster = lightgbm.Booster(model_str=self.trees)

            def predict_trees(encoded: np.ndarray) -> np.ndarray:
                threads = 0 if len(encoded) >= THREADED_ROWS else 1  # 0: LightGBM's default
                raw = booster.predict(encoded, raw_score=True, num_threads=threads)
                return inverse_link(np.asarray(raw, dtype=np.float64))

            return predict_trees
        coef = np.asarray(spec.coef, dtype=np.float64)
        intercept = np.asarray(spec.intercept, dtype=np.float64)
        # A row per class (softmax): each class's sum is the inputs times its row.
        weights = coef.T if coef.ndim == 2 else coef
        return lambda encoded: inverse_link(encoded @ weights + intercept)

    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / SPEC_FILE).write_text(self.spec.to_json())
        if self.trees is not None:
            (folder / TREES_FILE).write_text(self.trees)
        return folder

    @classmethod
    def load(cls, folder: Path) -> CompiledModel:
        spec = CompiledSpec.from_json((folder / SPEC_FILE).read_text())
        trees = (folder / TREES_FILE).read_text() if spec.model == "trees" else None
        return cls(spec, trees)


def _logistic(raw: np.ndarray) -> np.ndarray:
    probability: np.ndarray = 1.0 / (1.0 + np.exp(-raw))
    return probability


def _softmax(raw: np.ndarray) -> np.ndarray:
    """Each row's raw scores (one per class) as probabilities, shifted by the row's largest
    first so that no exponential overflows (as scikit-learn computes it)."""
    shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
    probabilities: np.ndarray = shifted / shifted.sum(axis=1, keepdims=True)
    return probabilities


INVERSE_LINKS: dict[Link, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda raw: raw,
    "logistic": _logistic,
    "exp": np.exp,
    "softmax": _softmax,
}


def compile_pipeline(pipeline: Pipeline) -> CompiledModel:
    """The compiled form of a fitted [ColumnTransformer, model] pipeline, or `NotCompilableError`
    naming what stands in the way."""
    if len(pipeline.steps) != 2:
        raise NotCompilableError(
            f"the pipeline has {len(pipeline.steps)} steps; only [preprocessing, model] compiles"
        )
    (_, features), (_, estimator) = pipeline.steps
    numeric, one_hot, layout = _compile_features(features)
    expected = len(features.get_feature_names_out())
    model, trees = _compile_estimator(estimator, expected)
    spec = CompiledSpec(numeric=numeric, one_hot=one_hot, layout=layout, **model)
    try:
        compiled = CompiledModel(spec, trees)
    except (ImportError, OSError) as error:  # e.g. an image without OpenMP's libgomp
        raise NotCompilableError(f"LightGBM's predictor cannot be loaded: {error}") from error
    if compiled.width != expected:
        raise NotCompilableError(
            f"compiled {compiled.width} model inputs where the pipeline has {expected}"
        )
    return compiled


def _compile_features(
    features: Any,
) -> tuple[list[NumericBlock], list[OneHotBlock], list[tuple[Literal["numeric", "one_hot"], int]]]:
    from sklearn.compose import ColumnTransformer

    if not isinstance(features, ColumnTransformer):
        raise NotCompilableError(
            f"the first step is a {type(features).__name__}, not a ColumnTransformer"
        )
    if getattr(features, "sparse_output_", False):
        raise NotCompilableError("the ColumnTransformer's output is sparse")
    numeric: list[NumericBlock] = []
    one_hot: list[OneHotBlock] = []
    layout: list[tuple[Literal["numeric", "one_hot"], int]] = []
    for name, transformer, columns in features.transformers_:
        if transformer == "drop" or len(columns) == 0:
            continue
        if not all(isinstance(column, str) for column in columns):
            raise NotCompilableError(f"{name!r} selects columns by position, not by name")
        for block in _compile_transformer(name, transformer, list(columns)):
            if isinstance(block, NumericBlock):
                layout.append(("numeric", len(numeric)))
                numeric.append(block)
            else:
                layout.append(("one_hot", len(one_hot)))
                one_hot.append(block)
    return numeric, one_hot, layout


def _compile_transformer(
    name: str, transformer: Any, columns: list[str]
) -> list[NumericBlock | OneHotBlock]:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if isinstance(transformer, OneHotEncoder):
        return _one_hot(name, transformer, columns)
    steps = transformer.steps if isinstance(transformer, Pipeline) else [(name, transformer)]
    imputer = scaler = None
    for _, step in steps:
        if step is None or step == "passthrough":
            continue
        if isinstance(step, SimpleImputer) and imputer is None and scaler is None:
            imputer = step
        elif isinstance(step, StandardScaler) and scaler is None:
            scaler = step
        else:
            raise NotCompilableError(f"{name!r}: no compiled form for a {type(step).__name__}")
    block = NumericBlock(columns, **(_imputer(name, imputer) if imputer is not None else {}))
    if scaler is not None:
        block = replace(
            block,
            mean=[float(value) for value in scaler.mean_] if scaler.with_mean else None,
            scale=[float(value) for value in scaler.scale_] if scaler.with_std else None,
        )
    return [block]


def _imputer(name: str, imputer: Any) -> dict[str, Any]:
    missing = imputer.missing_values
    if not (isinstance(missing, float) and math.isnan(missing)):
        raise NotCompilableError(f"{name!r} imputes {missing!r}, not NaN")
    fill = [float(value) for value in imputer.statistics_]
    if any(math.isnan(value) for value in fill):
        raise NotCompilableError(f"{name!r} drops a column it saw no value of")
    indicators: list[int] = []
    if imputer.indicator_ is not None:
        indicators = [int(position) for position in imputer.indicator_.features_]
    return {"fill": fill, "indicators": indicators}


def _one_hot(name: str, encoder: Any, columns: list[str]) -> list[NumericBlock | OneHotBlock]:
    if encoder.handle_unknown != "ignore" or encoder.drop is not None:
        raise NotCompilableError(f"{name!r} one-hot encodes with handle_unknown or drop it lacks")
    if getattr(encoder, "infrequent_categories_", None) is not None and any(
        group is not None for group in encoder.infrequent_categories_
    ):
        raise NotCompilableError(f"{name!r} groups infrequent categories")
    return [
        OneHotBlock(column=column, categories=[_plain(value) for value in categories])
        for column, categories in zip(columns, encoder.categories_, strict=True)
    ]


def _plain(value: Any) -> Any:
    """A category as JSON holds it (numpy scalars become Python's)."""
    return value.item() if isinstance(value, np.generic) else value


def _compile_estimator(estimator: Any, inputs: int) -> tuple[dict[str, Any], str | None]:
    """The spec's model fields and, for trees, the LightGBM model text."""
    kind = type(estimator).__name__
    described: dict[str, Any] = {"estimator": kind}
    if hasattr(estimator, "booster_"):  # LightGBM's scikit-learn wrappers: its model as it is
        text = estimator.booster_.model_to_string()
        objective = _header(text).get("objective", "").split()
        link = LIGHTGBM_LINKS.get(objective[0] if objective else "")
        settings = [part for part in objective[1:] if not part.startswith("num_class:")]
        if link is None or any(part not in ("sigmoid:1",) for part in settings):
            raise NotCompilableError(f"no compiled form for objective {' '.join(objective)!r}")
        return described | {"model": "trees", "link": link}, text
    if kind in ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor"):
        link = SKLEARN_LINKS.get(type(estimator._loss.link).__name__)
        per_class = link == "softmax"
        if link is None or (estimator.n_trees_per_iteration_ != 1 and not per_class):
            raise NotCompilableError(f"no compiled form for this {kind}'s loss {estimator.loss}")
        return described | {"model": "trees", "link": link}, _lightgbm_text(estimator, inputs)
    if kind in LINEAR_REGRESSORS | LOGISTIC_CLASSIFIERS:
        return described | _linear(kind, estimator), None
    raise NotCompilableError(f"no compiled form for a {kind}")


def _linear(kind: str, estimator: Any) -> dict[str, Any]:
    """A linear model's weights: one row for one output, or one row per class (a multinomial
    logistic regression's probabilities are the softmax of its rows' sums)."""
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    intercept = np.asarray(estimator.intercept_, dtype=np.float64).ravel()
    classes = len(getattr(estimator, "classes_", ()))
    if kind in LOGISTIC_CLASSIFIERS and classes > 2:
        # scikit-learn >= 1.5 fits these as multinomial (the softmax of the rows); a
        # one-vs-rest fit, which normalises per-class logistics instead, is told apart by
        # its setting and not compiled.
        if getattr(estimator, "multi_class", "auto") == "ovr":
            raise NotCompilableError(f"{kind} is fitted one-vs-rest")
        return {
            "model": "linear",
            "link": "softmax",
            "coef": [[float(value) for value in row] for row in coef],
            "intercept": [float(value) for value in intercept],
        }
    if (coef.ndim == 2 and coef.shape[0] != 1) or intercept.size > 1:
        raise NotCompilableError(f"{kind} has more than one output")
    return {
        "model": "linear",
        "link": "logistic" if kind in LOGISTIC_CLASSIFIERS else "identity",
        "coef": [float(value) for value in coef.ravel()],
        "intercept": float(intercept.sum()),
    }


def _header(text: str) -> dict[str, str]:
    """The key=value lines before a LightGBM model's first tree."""
    head = text.split("\nTree=", 1)[0]
    return dict(line.split("=", 1) for line in head.splitlines() if "=" in line)


def _lightgbm_text(estimator: Any, inputs: int) -> str:
    """A fitted HistGradientBoosting model in LightGBM's text format: the same trees, splits
    (`value <= threshold` goes left; a missing value goes where it went in training) and leaf
    values, the baseline folded into the first tree's leaves so the sum is the same, in the
    same order. Its raw score is the estimator's; `link` maps it to the output. A multiclass
    model grows a tree per class each iteration (LightGBM's order too: iteration by iteration,
    class by class), and has a baseline per class."""
    baselines = np.ravel(estimator._baseline_prediction).astype(float)
    per_iteration = len(baselines)
    trees = [
        _lightgbm_tree(
            iteration * per_iteration + k,
            predictor.nodes,
            float(baselines[k]) if iteration == 0 else 0.0,
        )
        for iteration, predictors in enumerate(estimator._predictors)
        for k, predictor in enumerate(predictors)
    ]
    # No transform of its own: the raw score (a multiclass model's raw scores, one per class).
    objective = "regression" if per_iteration == 1 else f"multiclass num_class:{per_iteration}"
    header = [
        "tree",
        "version=v4",
        f"num_class={per_iteration}",
        f"num_tree_per_iteration={per_iteration}",
        "label_index=0",
        f"max_feature_idx={inputs - 1}",
        f"objective={objective}",
        "feature_names=" + " ".join(f"x{index}" for index in range(inputs)),
        "feature_infos=" + " ".join(["none"] * inputs),
        "tree_sizes=" + " ".join(str(len(tree)) for tree in trees),
    ]
    return "\n".join(header) + "\n\n" + "".join(trees) + "end of trees\n"


# LightGBM's decision_type bits: 2 sends a missing value left; 8 says missing means NaN.
DEFAULT_LEFT, MISSING_IS_NAN = 2, 8


def _lightgbm_tree(index: int, nodes: np.ndarray, offset: float) -> str:
    if nodes["is_categorical"].any():
        raise NotCompilableError("a tree splits on a categorical feature")
    leaf = nodes["is_leaf"].astype(bool)
    leaves, splits = np.flatnonzero(leaf), np.flatnonzero(~leaf)
    # LightGBM numbers splits and leaves apart; a child that is a leaf is written ~its number.
    code = np.empty(len(nodes), dtype=np.int64)
    code[splits] = np.arange(len(splits))
    code[leaves] = ~np.arange(len(leaves))

    def numbers(values: Any) -> str:
        return " ".join(repr(float(value)) for value in values)

    def integers(values: Any) -> str:
        return " ".join(str(int(value)) for value in values)

    lines = [
        f"Tree={index}",
        f"num_leaves={len(leaves)}",
        "num_cat=0",
    ]
    if len(splits):
        decision = MISSING_IS_NAN + DEFAULT_LEFT * nodes["missing_go_to_left"][splits]
        lines += [
            "split_feature=" + integers(nodes["feature_idx"][splits]),
            "threshold=" + numbers(nodes["num_threshold"][splits]),
            "decision_type=" + integers(decision),
            "left_child=" + integers(code[nodes["left"][splits]]),
            "right_child=" + integers(code[nodes["right"][splits]]),
        ]
    lines += [
        "leaf_value=" + numbers(offset + nodes["value"][leaves]),
        "is_linear=0",
        "shrinkage=1",
    ]
    return "\n".join(lines) + "\n\n\n"


@dataclass(frozen=True)
class Parity:
    """How far the compiled path is from the pipeline on the same rows."""

    rows: int
    max_abs_diff: float

    @property
    def agrees(self) -> bool:
        return self.max_abs_diff <= PARITY_TOLERANCE


def parity(compiled: CompiledModel, frame: pd.DataFrame, expected: np.ndarray) -> Parity:
    """Score `frame` with the compiled path and compare with the pipeline's `expected` scores."""
    got = compiled.score_frame(frame)
    difference = np.abs(got - np.asarray(expected, dtype=np.float64))
    worst = float(np.nanmax(difference)) if len(difference) else 0.0
    if np.isnan(got).sum() != np.isnan(expected).sum():
        worst = math.inf  # one path gave no score where the other gave one
    return Parity(rows=len(frame), max_abs_diff=worst)

"""The data contract: columns, types, ranges, categories and the target, in one typed object.

It is the single source for the Great Expectations suite (step 3) and, as the system grows, for
the serving request/response models (step 6) and the Evidently column mapping (step 7).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ExpectedError, describe_validation_error
from .column_types import (
    CATEGORIES,
    ENCODINGS,
    NUMBERS,
    TYPES,
    ColumnType,
    Encoding,
    Label,
    TypeDefinition,
)
from .target import PREDICTION, check_target, encode_target

if TYPE_CHECKING:
    import pandas as pd

    from .prediction import PredictionShape

# `ignored`: in the data and validated, never given to the model (free text, a second id...).
# `group`: which query a row answers (a ranking's request, a session): rows of one group are
# ranked against each other, split together and judged together.
# `entity`: the key of what a row is about (the user who saw the ad). Features that belong to
# it name it in their `entity`: with a feature store, serving looks them up by this key and
# training joins them as they were at each row's time; without one they travel in the request.
ColumnRole = Literal["id", "timestamp", "group", "entity", "feature", "target", "ignored"]
# A feature's level: `query` is the same for every row of a group (who asks, on which device),
# sent once per ranking request; `row` belongs to one candidate.
ColumnLevel = Literal["row", "query"]
# Measured on real tables split into batches (bench/contract_tolerance.py): an inferred expected
# range left at most 2.6% of a later batch of the same data outside it, while a column in
# other units (x100) put over 90% of its values outside.
DEFAULT_TOLERANCE = 0.10
# The longest JSON a number or timestamp needs, with room for exponents and offsets.
JSON_NUMBER_BYTES = 40
# Names the system writes next to a record (the prediction log, scored files, drift windows):
# a data column of the same name would be overwritten.
RESERVED_NAMES = frozenset(
    {*PREDICTION.fields, "model_version", "arm", "latency_ms", "batch_rows", "logged_at"}
    | {"labelled_at"}
)


class ExpectedRange(BaseModel):
    """Where a numeric column's values usually lie: a tolerance, unlike `min`/`max`. A batch may
    have up to the contract's `tolerance` share of a column outside it (reported, and stored);
    more is refused as data from another distribution or in other units."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ExpectedRange:
        if self.min is None and self.max is None:
            raise ValueError("an expected range needs a min, a max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"expected min {self.min} is above expected max {self.max}")
        return self


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Any name a CSV header can hold (spaces, dots, accents, a leading digit): the request
    # models and the pipeline use the names as they are; only control characters are refused.
    name: str = Field(min_length=1, max_length=256)
    type: ColumnType
    role: ColumnRole = "feature"
    description: str = ""
    # What must hold: a value outside [min, max] cannot be right (a negative count, a share
    # above 1); one such value rejects the batch and a request carrying it gets a 400.
    min: float | None = None
    max: float | None = None
    # What is expected: a tolerance (see `ExpectedRange`).
    expected: ExpectedRange | None = None
    values: tuple[Label, ...] | None = None
    nullable: bool = False
    unique: bool = False
    max_length: int | None = Field(default=None, ge=1)
    # A classification target only: which value is the positive class (scores are P(positive)).
    positive: Label | None = None
    level: ColumnLevel = "row"
    # A feature only: the `entity` column whose property this is (a user's age), stored and
    # served by the feature store when the project has one.
    entity: str | None = None

    @field_validator("name")
    @classmethod
    def _printable(cls, name: str) -> str:
        if any(unicodedata.category(char).startswith("C") for char in name):
            raise ValueError(f"column name {name!r} holds a control character")
        if name in RESERVED_NAMES:
            raise ValueError(
                f"column name {name!r} is reserved for what the system writes next to a record "
                f"({', '.join(sorted(RESERVED_NAMES))}): rename the column in your data"
            )
        return name

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        kind = self.definition
        if (self.min is not None or self.max is not None) and not kind.bounded:
            raise ValueError(
                f"column {self.name}: min/max apply to {_having('bounded')} columns only"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name}: min {self.min} is above max {self.max}")
        if self.expected is not None:
            if not kind.bounded:
                raise ValueError(
                    f"column {self.name}: `expected` applies to {_having('bounded')} columns"
                )
            low, high = self.expected.min, self.expected.max
            if (low is not None and self.min is not None and low < self.min) or (
                high is not None and self.max is not None and high > self.max
            ):
                raise ValueError(
                    f"column {self.name}: the expected range [{low}, {high}] reaches outside "
                    f"[min, max] = [{self.min}, {self.max}]"
                )
        if self.values is not None and not kind.listed:
            raise ValueError(f"column {self.name}: `values` apply to {_having('listed')} columns")
        if self.max_length is not None and not kind.sized:
            raise ValueError(
                f"column {self.name}: `max_length` applies to {_having('sized')} columns only"
            )
        if (problem := kind.check(self)) is not None:
            raise ValueError(f"column {self.name}: {problem}")
        if self.role == "feature" and kind.not_a_feature is not None:
            raise ValueError(
                f"column {self.name}: a {self.type} column cannot be a feature "
                f"({kind.not_a_feature})"
            )
        if self.level == "query" and self.role != "feature":
            raise ValueError(f"column {self.name}: only a feature has a `level`")
        if self.positive is not None and self.role != "target":
            raise ValueError(f"column {self.name}: only the target has a `positive` class")
        if self.entity is not None and self.role != "feature":
            raise ValueError(f"column {self.name}: only a feature belongs to an `entity`")
        if self.role == "entity" and not kind.entity_key:
            raise ValueError(f"column {self.name}: an entity key is {_having('entity_key', 'or')}")
        return self

    @property
    def definition(self) -> TypeDefinition:
        """What the column's type is to every step (`column_types.py`)."""
        return TYPES[self.type]

    @property
    def labels(self) -> tuple[Label, ...]:
        """The values a column may take, booleans included (they need no list)."""
        return self.definition.labels(self)

    @property
    def longest(self) -> int | None:
        """The most characters a value may have: strings have a limit even when unstated."""
        return self.definition.longest(self)

    @property
    def dtypes(self) -> tuple[str, ...]:
        return self.definition.dtypes


def _having(facet: str, joined: str = "and") -> str:
    """The types with a facet, for a message: "int and float"."""
    names = [name for name, kind in TYPES.items() if getattr(kind, facet)]
    return f" {joined} ".join([", ".join(names[:-1]), names[-1]] if len(names) > 1 else names)


class DataContract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=1)
    description: str = ""
    min_rows: int = Field(default=1, ge=1)
    # The share of a column's values that may fall outside its `expected` range before the
    # batch is refused (Great Expectations' `mostly` is 1 minus it).
    tolerance: float = Field(default=DEFAULT_TOLERANCE, ge=0, lt=1)
    columns: tuple[Column, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _one_target_unique_names(self) -> DataContract:
        names = [column.name for column in self.columns]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"duplicate column names: {', '.join(duplicates)}")
        roles = [column.role for column in self.columns]
        if roles.count("target") != 1:
            raise ValueError("the contract needs exactly one column with role: target")
        if roles.count("id") > 1 or roles.count("timestamp") > 1 or roles.count("group") > 1:
            raise ValueError("the contract allows at most one id, timestamp and group column")
        if self.group_column is None and any(c.level == "query" for c in self.columns):
            raise ValueError("`level: query` needs a column with role: group (the query)")
        if not self.features:
            raise ValueError("the contract needs at least one feature column")
        keys = set(self.entity_columns)
        for column in self.features:
            if column.entity is not None and column.entity not in keys:
                raise ValueError(
                    f"column {column.name}: its entity {column.entity!r} is not a column with "
                    "role: entity"
                )
        if self.target.nullable:
            raise ValueError(
                f"the target {self.target.name} cannot be nullable: every row needs one"
            )
        check_target(self)  # what the project's task needs of its target
        return self

    def encode_target(self, values: pd.Series) -> pd.Series:
        """The target as models are fitted and judged on it (the task's encoding)."""
        return encode_target(self, values)

    @property
    def prediction(self) -> PredictionShape:
        """What the model answers for a record of this contract (the task's shape, with this
        target's classes where it has a column per class)."""
        return PREDICTION.bound(self)

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def target(self) -> Column:
        return next(column for column in self.columns if column.role == "target")

    @property
    def features(self) -> list[Column]:
        return [column for column in self.columns if column.role == "feature"]

    def encoded(self) -> list[tuple[Encoding, list[Column]]]:
        """The features by how the model is given them, in the model's input order."""
        return [
            (encoding, [c for c in self.features if c.definition.encoding is encoding])
            for encoding in ENCODINGS
        ]

    @property
    def numeric_features(self) -> list[str]:
        """The features the model takes as numbers (a bool is a 0/1 number to it)."""
        return [c.name for c in self.features if c.definition.encoding is NUMBERS]

    @property
    def categorical_features(self) -> list[str]:
        """The features whose listed values the model takes one by one (and slices judge)."""
        return [c.name for c in self.features if c.definition.encoding is CATEGORIES]

    @property
    def entity_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.role == "entity"]

    def entity_features(self, entity: str | None = None) -> list[str]:
        """The features that belong to `entity` (or to any entity): a feature store's."""
        return [
            c.name for c in self.features if c.entity is not None and entity in (None, c.entity)
        ]

    @property
    def id_column(self) -> str | None:
        return next((c.name for c in self.columns if c.role == "id"), None)

    @property
    def timestamp_column(self) -> str | None:
        return next((c.name for c in self.columns if c.role == "timestamp"), None)

    @property
    def group_column(self) -> str | None:
        return next((c.name for c in self.columns if c.role == "group"), None)

    def request_columns(
        self, level: ColumnLevel | None = None, feature_store: bool = False
    ) -> list[str]:
        """What a request carries: the features (of one `level`, or all), then the columns
        echoed into the prediction log (the id of a row; the group and time of a query). With a
        `feature_store`, the entities' keys instead of their features, which it looks up."""
        stored = set(self.entity_features()) if feature_store else set()
        features = [
            c.name for c in self.features if level in (None, c.level) and c.name not in stored
        ]
        echoed = {
            None: (self.id_column, self.timestamp_column, self.group_column),
            "row": (self.id_column,),
            "query": (self.group_column, self.timestamp_column),
        }[level]
        keys = [key for key in self.entity_columns if feature_store and level in (None, "row")]
        return features + keys + [name for name in echoed if name is not None]

    def max_record_json_bytes(self, feature_store: bool = False) -> int:
        """The most bytes one record of the request columns can take as compact JSON."""
        total = 2
        for name in self.request_columns(feature_store=feature_store):
            column = self.column(name)
            longest = column.longest
            value = 6 * longest + 2 if longest is not None else JSON_NUMBER_BYTES
            total += 6 * len(name) + 4 + value
        return total

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(f"{name!r} is not a column of contract {self.name!r}")


class ContractError(ExpectedError, ValueError):
    """The contract file is missing or does not describe a valid table."""


def load_contract(path: Path) -> DataContract:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ContractError(f"cannot read data contract {path}: {error}") from error
    try:
        return DataContract.model_validate(raw)
    except ValidationError as error:
        raise ContractError(
            f"data contract {path} is invalid:\n{describe_validation_error(error)}"
        ) from None

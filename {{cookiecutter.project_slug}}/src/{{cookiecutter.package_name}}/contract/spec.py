"""The data contract: columns, types, ranges, categories and the target, in one typed object.

It is the single source for the Great Expectations suite (step 3) and, as the system grows, for
the serving request/response models (step 6) and the Evidently column mapping (step 7).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ExpectedError, describe_validation_error

ColumnRole = Literal["id", "timestamp", "feature", "target"]
ColumnType = Literal["int", "float", "category", "string", "datetime"]

# pandas dtypes each contract type accepts. Timestamps are naive UTC: GX's type check cannot
# match tz-aware dtypes, so the reader converts them to UTC and drops the zone.
PANDAS_DTYPES: dict[ColumnType, tuple[str, ...]] = {
    "int": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
    "float": ("float32", "float64", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32"),
    "category": ("str", "object", "category", "string"),
    "string": ("str", "object", "string"),
    "datetime": ("datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]"),
}
# A string column without its own `max_length` gets this one: enough for any id scheme (a UUID
# is 36), small enough that one request cannot put megabytes into the prediction log.
DEFAULT_MAX_STRING_LENGTH = 256
# The longest JSON a number or timestamp needs, with room for exponents and offsets.
JSON_NUMBER_BYTES = 40


class Column(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: ColumnType
    role: ColumnRole = "feature"
    description: str = ""
    min: float | None = None
    max: float | None = None
    values: tuple[str | int, ...] | None = None
    nullable: bool = False
    unique: bool = False
    max_length: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _consistent(self) -> Column:
        numeric = self.type in ("int", "float")
        if (self.min is not None or self.max is not None) and not numeric:
            raise ValueError(f"column {self.name}: min/max apply to int and float columns only")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name}: min {self.min} is above max {self.max}")
        if self.type == "category" and not self.values:
            raise ValueError(f"column {self.name}: a category column lists its allowed `values`")
        if self.values is not None and self.type not in ("category", "int"):
            raise ValueError(f"column {self.name}: `values` apply to category and int columns")
        if self.max_length is not None and self.type != "string":
            raise ValueError(f"column {self.name}: `max_length` applies to string columns only")
        return self

    @property
    def longest(self) -> int | None:
        """The most characters a value may have: strings have a limit even when unstated."""
        if self.type == "string":
            return self.max_length or DEFAULT_MAX_STRING_LENGTH
        if self.type == "category":
            return max(len(str(value)) for value in self.values or ("",))
        return None

    @property
    def dtypes(self) -> tuple[str, ...]:
        return PANDAS_DTYPES[self.type]


class DataContract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    version: int = Field(ge=1)
    description: str = ""
    min_rows: int = Field(default=1, ge=1)
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
        if roles.count("id") > 1 or roles.count("timestamp") > 1:
            raise ValueError("the contract allows at most one id and one timestamp column")
        if not self.features:
            raise ValueError("the contract needs at least one feature column")
        target = self.target
        if target.type not in ("int", "category") or not target.values:
            raise ValueError("the target is an int or category column that lists its `values`")
        return self

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def target(self) -> Column:
        return next(column for column in self.columns if column.role == "target")

    @property
    def features(self) -> list[Column]:
        return [column for column in self.columns if column.role == "feature"]

    @property
    def numeric_features(self) -> list[str]:
        return [c.name for c in self.features if c.type in ("int", "float")]

    @property
    def categorical_features(self) -> list[str]:
        return [c.name for c in self.features if c.type in ("category", "string")]

    @property
    def id_column(self) -> str | None:
        return next((c.name for c in self.columns if c.role == "id"), None)

    @property
    def timestamp_column(self) -> str | None:
        return next((c.name for c in self.columns if c.role == "timestamp"), None)

    def max_record_json_bytes(self) -> int:
        """The most bytes one record of the request columns can take as compact JSON."""
        names = [column.name for column in self.features]
        names += [name for name in (self.id_column, self.timestamp_column) if name]
        total = 2
        for name in names:
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

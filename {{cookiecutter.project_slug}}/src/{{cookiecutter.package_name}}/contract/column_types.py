"""What each contract column type is, to every step, in one definition per type.

A type says how a batch holds it (pandas dtypes, how a CSV is read and parsed), which of the
contract's fields apply to it, what the suite checks, what a request carries for it, how the
model is given it (`Encoding`), how drift reports treat it, how the replay shifts it and how
the feature store stores it. Steps ask the column's definition (`column.definition`) instead of
branching on its name, so a new type is one new class here, listed in `ColumnType` and `TYPES`
(`tests/code/test_column_types.py` checks every definition against a sample of its values).

Libraries a facet needs (Great Expectations, scikit-learn, Feast) are imported inside it: the
contract is read by every command, and most commands need none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from .bounds import numeric_bounds
from .values import as_times, is_bool_text, plain, text_limit

if TYPE_CHECKING:
    from collections.abc import Callable

    from .spec import Column

ColumnType = Literal["int", "float", "bool", "category", "string", "datetime"]
Label = str | int | bool
DriftRole = Literal["numerical", "categorical"]

# A string column without its own `max_length` gets this one: enough for any id scheme (a UUID
# is 36), small enough that one request cannot put megabytes into the prediction log.
DEFAULT_MAX_STRING_LENGTH = 256
INT_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
# How a bool column may be written as text in a CSV.
BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False, "1.0": True, "0.0": False}
# RFC 3339's date-time, the JSON Schema `date-time` format: pydantic alone would also take
# "1700000000" (seconds since the epoch) for a datetime.
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
DATETIME_EXAMPLE = "2026-01-05T13:45:00Z"

CATEGORY_LIMIT = 50  # distinct values at most for text to become a category

# A block of the model's preprocessing: its name, the fitted transformer and its columns.
Block = tuple[str, Any, list[str]]


@dataclass(frozen=True)
class Encoding:
    """How features of some types become the model's input: the preprocessing blocks for the
    given columns (in contract order), fitted inside the pipeline so serving applies exactly
    what training did. Types that share an encoding share its blocks."""

    name: str
    blocks: Callable[[list[Column]], list[Block]]


def _number_blocks(columns: list[Column]) -> list[Block]:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # Only columns the contract lets be null pay for an imputer (one more step per request).
    imputed = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    return [
        ("numeric", StandardScaler(), [c.name for c in columns if not c.nullable]),
        ("numeric_nullable", imputed, [c.name for c in columns if c.nullable]),
    ]


def _category_blocks(columns: list[Column]) -> list[Block]:
    from sklearn.preprocessing import OneHotEncoder

    # Categories come from the contract, not from whichever batch is seen first; a category
    # the contract does not know maps to all zeros instead of failing.
    encoder = OneHotEncoder(
        categories=[list(column.values or ()) for column in columns],
        handle_unknown="ignore",
        sparse_output=False,
    )
    return [("categorical", encoder, [column.name for column in columns])]


NUMBERS = Encoding("number", _number_blocks)  # scaled; imputed with an indicator when nullable
CATEGORIES = Encoding("category", _category_blocks)  # one 0/1 column per listed value
# The order of the model's input columns: encodings in this order, each in contract order.
ENCODINGS = (NUMBERS, CATEGORIES)


@dataclass(frozen=True)
class Sample:
    """A column of a user's table as `contract infer` shows it to each type."""

    values: pd.Series  # as read, missing values included
    present: pd.Series  # without them (never empty)
    hint_id: bool  # the table has no id column: unique text may be one

    @property
    def nullable(self) -> bool:
        return len(self.present) < len(self.values)

    @property
    def missing(self) -> str:
        """How many rows miss a value, for a note ("" when none)."""
        gaps = len(self.values) - len(self.present)
        return f", missing in {gaps} rows" if gaps else ""

    @property
    def numeric(self) -> bool:
        return pd.api.types.is_numeric_dtype(self.values) and not pd.api.types.is_bool_dtype(
            self.values
        )


@dataclass(frozen=True)
class Recognised:
    """A type's reading of a column: its contract fields and the note `contract infer` prints.
    `final` when nothing more is to decide (the shared rule that a column holding one value is
    ignored does not apply)."""

    entry: dict[str, Any]
    note: str
    review: bool = False
    final: bool = False


class TypeDefinition:
    """One contract type. The defaults suit a type that is none of the special cases; each
    subclass states what differs."""

    name: ClassVar[ColumnType]
    # The pandas dtypes a batch may hold it in (what the suite's type check accepts).
    dtypes: ClassVar[tuple[str, ...]]
    # Values a request may carry, as JSON: what the conformance test sends through every facet.
    examples: ClassVar[tuple[Any, ...]]
    # Which of a column's optional fields apply: `min`/`max`/`expected`, `values`, `max_length`.
    bounded: ClassVar[bool] = False
    listed: ClassVar[bool] = False
    sized: ClassVar[bool] = False
    # Why a column of this type cannot be a feature; None when it can.
    not_a_feature: ClassVar[str | None] = None
    entity_key: ClassVar[bool] = False
    # Read from a CSV as text (a category "1" stays "1"), then parsed by `normalise`.
    read_as_text: ClassVar[bool] = False
    encoding: ClassVar[Encoding | None] = None
    # The dtype the model is given it in, before its encoding's blocks (None: as it is).
    model_dtype: ClassVar[str | None] = None
    drift_role: ClassVar[DriftRole] = "categorical"
    # Its Feast type, by name in `feast.types`; an entity key's `ValueType` name.
    feast_type: ClassVar[str] = "String"
    feast_key_type: ClassVar[str] = "STRING"
    # Appended to the text pandas writes for a value in a request's JSON.
    json_suffix: ClassVar[str] = ""
    # Its bounds are whole numbers (written as ints in an inferred contract).
    whole: ClassVar[bool] = False
    # When `contract infer` asks it, among the types, whether a column is of it (lower first).
    infer_rank: ClassVar[int]

    def recognise(self, sample: Sample) -> Recognised | None:
        """The column's contract fields when its values are of this type, else None."""
        return None

    def check(self, column: Column) -> str | None:
        """What is wrong with the column's fields for this type, beyond the shared rules."""
        return None

    def labels(self, column: Column) -> tuple[Label, ...]:
        """The values a column may take, when it lists them."""
        return tuple(column.values or ())

    def longest(self, column: Column) -> int | None:
        """The most characters a value may have; None for a number or a time."""
        return None

    def normalise(self, values: pd.Series) -> pd.Series:
        """A read column as the contract holds it (values that do not parse are left for the
        suite to report)."""
        return values

    def expectations(self, column: Column) -> list[Any]:
        """The suite's checks that a value is of this type (the rules of the column's fields,
        shared by every type, are the validation module's)."""
        import great_expectations.expectations as gxe

        return [
            gxe.ExpectColumnValuesToBeInTypeList(column=column.name, type_list=list(self.dtypes))
        ]

    def request_field(self, column: Column) -> Any:
        """The annotated type of the column's field in a request, strict as its JSON Schema."""
        raise NotImplementedError

    def drift_values(self, values: pd.Series) -> pd.Series:
        """The column as the drift report tests it (by `drift_role`)."""
        return values

    def shift(
        self, values: pd.Series, column: Column, reference: pd.Series, move: DriftMove
    ) -> pd.Series:
        """The replay's seeded drift: the values as the rarest listed value in `move.share` of
        the rows (a type that lists no values keeps them)."""
        labels = self.labels(column)
        if not labels:
            return values
        seen = reference.value_counts()
        counts = pd.Series([seen.get(label, 0) for label in labels], labels)
        chosen = (move.rng.random(len(values)) < move.share) & values.notna().to_numpy()
        return values.where(~chosen, counts.idxmin())

    def typical(self, values: pd.Series, column: Column) -> Any:
        """A value to serve for a key the feature store has never seen (`values` has no nulls):
        the most frequent one."""
        return str(values.mode().iloc[0])

    def frame_dtype(self, values: pd.Series) -> Any:
        """The dtype `read_batch` gives a column of these `values` (the feature store's join
        adds columns a batch did not have)."""
        return object


@dataclass(frozen=True)
class DriftMove:
    """How far the replay moves a feature: numbers by `std` reference standard deviations,
    listed values by making a `share` of them the rarest one."""

    std: float
    share: float
    rng: np.random.Generator


def _describe(column: Column) -> str | None:
    return column.description or None


class _Number(TypeDefinition):
    bounded = True
    encoding = NUMBERS
    drift_role = "numerical"

    def shift(
        self, values: pd.Series, column: Column, reference: pd.Series, move: DriftMove
    ) -> pd.Series:
        spread = float(reference.std())
        if not spread > 0:
            return values
        moved = self.rounded(values + move.std * spread)
        return moved.clip(lower=column.min, upper=column.max).astype(values.dtype)

    def rounded(self, values: pd.Series) -> pd.Series:
        return values

    def typical(self, values: pd.Series, column: Column) -> Any:
        return float(values.median())


class IntType(_Number):
    name = "int"
    examples = (3, 17, 42)
    dtypes = INT_DTYPES
    listed = True
    entity_key = True
    feast_type = "Int64"
    feast_key_type = "INT64"
    whole = True
    infer_rank = 1

    def recognise(self, sample: Sample) -> Recognised | None:
        if not pd.api.types.is_integer_dtype(sample.values):
            return None
        if sample.present.nunique() == 2:  # two numbers are not a continuous column
            whole = sorted(int(value) for value in sample.present.unique())
            return Recognised(
                {"type": "int", "values": whole},
                f"int feature of two values {whole}: a category, not a continuous number",
                final=True,
            )
        return _bounded(self.name, sample)

    def request_field(self, column: Column) -> Any:
        if column.values is None:
            return Annotated[
                int, Field(strict=True, ge=column.min, le=column.max, description=_describe(column))
            ]
        enum: dict[str, Any] = {"enum": list(column.values)}
        return Annotated[
            int,
            Field(strict=True, json_schema_extra=enum, description=_describe(column)),
            _one_of(column.values),
        ]

    def shift(
        self, values: pd.Series, column: Column, reference: pd.Series, move: DriftMove
    ) -> pd.Series:
        if column.values:  # listed: reweighted like a category, never moved off its list
            return TypeDefinition.shift(self, values, column, reference, move)
        return super().shift(values, column, reference, move)

    def rounded(self, values: pd.Series) -> pd.Series:
        return values.round()

    def typical(self, values: pd.Series, column: Column) -> Any:
        if column.values:  # the median of a list may not be on it
            return int(values.mode().iloc[0])
        return round(float(values.median()))

    def frame_dtype(self, values: pd.Series) -> Any:
        return "float64" if values.isna().any() else "int64"


class FloatType(_Number):
    name = "float"
    examples = (0.25, 1.5, 1e3)
    # Ints are floats too: a float column whose batch holds whole numbers is read as ints.
    dtypes = ("float32", "float64", *INT_DTYPES[:-1])
    feast_type = "Float64"
    infer_rank = 2

    def recognise(self, sample: Sample) -> Recognised | None:
        return _bounded(self.name, sample) if sample.numeric else None

    def request_field(self, column: Column) -> Any:
        return Annotated[
            float,
            Field(strict=True, allow_inf_nan=False, ge=column.min, le=column.max),
            Field(description=_describe(column)),
        ]

    def frame_dtype(self, values: pd.Series) -> Any:
        return "float64"


class BoolType(TypeDefinition):
    name = "bool"
    examples = (True, False)
    dtypes = ("bool", "boolean")
    read_as_text = True
    # A 0/1 number to the model; two categories to the drift tests (Evidently's numeric
    # summaries cannot subtract bools).
    encoding = NUMBERS
    model_dtype = "float64"  # a missing one as NaN
    feast_type = "Bool"
    infer_rank = 0

    def recognise(self, sample: Sample) -> Recognised | None:
        present = sample.present
        if sample.numeric and present.nunique() == 2:
            if sorted(plain(value) for value in present.unique()) == [0, 1]:
                note = f"bool feature: only the numbers 0 and 1{sample.missing}"
                return Recognised({"type": "bool"}, note, final=True)
            return None
        if pd.api.types.is_bool_dtype(sample.values) or is_bool_text(present):
            return Recognised({"type": "bool"}, f"bool feature{sample.missing}")
        return None

    def labels(self, column: Column) -> tuple[Label, ...]:
        return (False, True)

    def longest(self, column: Column) -> int | None:
        return len("false")

    def normalise(self, values: pd.Series) -> pd.Series:
        """True/false, 1/0 written as text become bools (nullable when a value is missing)."""
        if pd.api.types.is_bool_dtype(values):
            return values
        text = values.astype("string").str.strip().str.lower()
        mapped = text.map(BOOL_TEXT)
        if mapped[text.notna()].isna().any():
            return values
        return mapped.astype("boolean" if mapped.isna().any() else "bool")

    def expectations(self, column: Column) -> list[Any]:
        import great_expectations.expectations as gxe

        # A bool column with gaps is pandas' nullable "boolean", whose missing values GX's
        # type check counts as wrong types: the values are checked instead.
        return [gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=[True, False])]

    def request_field(self, column: Column) -> Any:
        return Annotated[bool, Field(strict=True, description=_describe(column))]

    def drift_values(self, values: pd.Series) -> pd.Series:
        return values.map({True: "True", False: "False"})  # missing stays missing

    def typical(self, values: pd.Series, column: Column) -> Any:
        return values.mode().iloc[0].item()

    def frame_dtype(self, values: pd.Series) -> Any:
        return object if values.isna().any() else "bool"


class CategoryType(TypeDefinition):
    name = "category"
    examples = ("red", "green", "blue")
    dtypes = ("str", "object", "category", "string")
    listed = True
    read_as_text = True
    encoding = CATEGORIES
    infer_rank = 4

    def recognise(self, sample: Sample) -> Recognised | None:
        text = sample.present.astype(str)
        distinct = text.nunique()
        if distinct == 1:  # the shared rule ignores it
            return Recognised({"type": "category", "values": [text.iloc[0]]}, "")
        if distinct > CATEGORY_LIMIT or distinct == len(text):
            return None
        numbers = pd.to_numeric(text, errors="coerce").notna().sum()
        mixed = (
            f"; {numbers} values are numbers and the rest text, so all are text" if numbers else ""
        )
        return Recognised(
            {"type": "category", "values": sorted(text.unique())},
            f"category feature, {distinct} values{sample.missing}{mixed}",
            review=bool(mixed),
        )

    def check(self, column: Column) -> str | None:
        return None if column.values else "a category column lists its allowed `values`"

    def longest(self, column: Column) -> int | None:
        return max(len(str(value)) for value in column.values or ("",))

    def request_field(self, column: Column) -> Any:
        return Annotated[Literal[tuple(column.values or ())], Field(description=_describe(column))]


class StringType(TypeDefinition):
    name = "string"
    examples = ("a1", "b-22", "ticket 333")
    dtypes = ("str", "object", "string")
    sized = True
    read_as_text = True
    entity_key = True
    not_a_feature = (
        "the model needs numbers or listed categories; make it a category with `values`, or "
        "role ignored"
    )
    infer_rank = 5  # any text: the last type asked

    def recognise(self, sample: Sample) -> Recognised | None:
        text = sample.present.astype(str)
        distinct = text.nunique()
        why = "every value differs" if distinct == len(text) else f"{distinct} distinct values"
        advice = (
            "; if it names the row, pass --id" if sample.hint_id and distinct == len(text) else ""
        )
        return Recognised(
            {"type": "string", "role": "ignored", "max_length": text_limit(text)},
            f"ignored: free text ({why}, more than a category's {CATEGORY_LIMIT}){advice}",
            review=True,
        )

    def longest(self, column: Column) -> int | None:
        return column.max_length or DEFAULT_MAX_STRING_LENGTH

    def expectations(self, column: Column) -> list[Any]:
        import great_expectations.expectations as gxe

        return [
            *super().expectations(column),
            gxe.ExpectColumnValueLengthsToBeBetween(
                column=column.name, max_value=self.longest(column)
            ),
        ]

    def request_field(self, column: Column) -> Any:
        return Annotated[
            str, Field(strict=True, max_length=self.longest(column), description=_describe(column))
        ]


class DatetimeType(TypeDefinition):
    name = "datetime"
    examples = ("2026-01-05T13:45:00Z", "2026-01-06T08:00:00+02:00")
    # Naive UTC: GX's type check cannot match tz-aware dtypes, so `normalise` converts a
    # batch's times to UTC and drops the zone.
    dtypes = ("datetime64[ns]", "datetime64[us]", "datetime64[ms]", "datetime64[s]")
    not_a_feature = (
        "the model needs numbers or listed categories; make it role timestamp or ignored"
    )
    json_suffix = "Z"  # pandas writes naive ISO times; a request's carry their UTC offset
    infer_rank = 3

    def recognise(self, sample: Sample) -> Recognised | None:
        values = sample.values
        if pd.api.types.is_datetime64_any_dtype(values) or (
            not sample.nullable and as_times(values) is not None
        ):
            return Recognised(
                {"type": "datetime", "role": "ignored"},
                "ignored: dates and times (not a model input); pass --timestamp to split by it",
                review=True,
            )
        return None

    def normalise(self, values: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_dtype(values) and not isinstance(
            values.dtype, pd.DatetimeTZDtype
        ):
            return values
        return pd.to_datetime(values, errors="coerce", utc=True).dt.tz_localize(None)

    def request_field(self, column: Column) -> Any:
        return Annotated[
            AwareDatetime,
            BeforeValidator(_rfc3339),
            AfterValidator(_to_naive_utc),
            Field(description=_describe(column)),
        ]


TYPES: dict[ColumnType, TypeDefinition] = {
    definition.name: definition
    for definition in (
        IntType(),
        FloatType(),
        BoolType(),
        CategoryType(),
        StringType(),
        DatetimeType(),
    )
}


def recognise(sample: Sample) -> Recognised:
    """The column's reading by the first type, in `infer_rank` order, that recognises it."""
    for candidate in sorted(TYPES.values(), key=lambda kind: kind.infer_rank):
        if (found := candidate.recognise(sample)) is not None:
            return found
    raise ValueError(f"no contract type recognises column {sample.values.name!r}")


def _bounded(name: ColumnType, sample: Sample) -> Recognised:
    """A number's reading: its hard limits and expected range (`bounds.py`)."""
    bounds = numeric_bounds(sample.present, name)
    detail = bounds.describe(sample.present.nunique())
    return Recognised({"type": name} | bounds.fields, f"{name} feature{sample.missing}; {detail}")


def _rfc3339(value: Any) -> Any:
    if isinstance(value, datetime):
        # In-process callers pass stored rows, whose times are naive UTC (JSON never gets here).
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise PydanticCustomError(
            "datetime_format",
            "Input should be an RFC 3339 date-time with a UTC offset, e.g. {example}",
            {"example": DATETIME_EXAMPLE},
        )
    return value


def _to_naive_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise PydanticCustomError(
            "datetime_range", "Input is out of range once converted to UTC"
        ) from None


def _one_of(values: tuple[Label, ...]) -> Any:
    def check(value: int) -> int:
        if value not in values:
            raise PydanticCustomError(
                "enum", "Input should be one of {values}", {"values": list(values)}
            )
        return value

    return AfterValidator(check)

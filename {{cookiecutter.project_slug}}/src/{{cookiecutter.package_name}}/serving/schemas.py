"""Request and response models, generated from the data contract.

A field's type, range, allowed categories and length come from `contract.yaml`, so a request
the model cannot score is refused with a 400 that names the field before it reaches the model.
The models are exactly as strict as the OpenAPI document they publish: numbers are JSON numbers
(never strings or booleans), integers are whole, and a timestamp is an RFC 3339 date-time with
its UTC offset, converted to naive UTC as the contract stores it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    create_model,
)

from ..contract import ColumnLevel, DataContract
from ..contract.target import PREDICTION


class Record(BaseModel):
    """Base of the generated request record: unknown fields are refused, not ignored, so a
    misspelt feature name is an error instead of a silently missing value.

    JSON keys are the data's column names, whatever they hold (spaces, dots, accents): each is
    the alias of a field with a code-safe name, an internal detail nobody sees."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)


# Dumps a whole request's records in one call: ~30% faster than a model_dump per record.
_RECORDS: TypeAdapter[list[Any]] = TypeAdapter(list[Any])


def json_rows(records: Sequence[BaseModel]) -> list[dict[str, Any]]:
    """Request records in JSON form (column names as keys, times as RFC 3339 text): what the
    model scores and the prediction log keeps."""
    rows: list[dict[str, Any]] = _RECORDS.dump_python(list(records), mode="json")
    return rows


# One record's answer: the task's fields (`contract/prediction.py`: a score, or one probability
# per class and the predicted class), then which model gave it. Generated at import, as the
# request models are: BentoML reads the API's types from annotations.
Prediction: Any = create_model(
    "Prediction",
    **PREDICTION.response_fields(),
    model_version=(str, Field(description="Registry version of the model that scored it")),
    record_id=(str | None, Field(default=None, description="The record's id, when it had one")),
    arm=(
        str,
        Field(
            default="champion",
            description="Which model answered: the champion, or the challenger in an A/B test",
        ),
    ),
)


class ErrorItem(BaseModel):
    """One thing wrong with a request: where (`loc`, e.g. ["records", 0, "user_age"]) and what."""

    type: str
    loc: list[str | int]
    msg: str


class ErrorBody(BaseModel):
    """The body of every error answer the service gives (4xx and 503)."""

    error: str = Field(description="What went wrong, in one sentence")
    detail: list[ErrorItem] = Field(
        default_factory=list, description="Each field at fault (validation errors)"
    )


def record_model(
    contract: DataContract,
    level: ColumnLevel | None = None,
    name: str = "Record",
    required: tuple[str, ...] = (),
    feature_store: bool = False,
) -> type[Record]:
    """One record to score: the contract's features (of one `level`, or all; required, null
    only where the contract allows it) plus the id, timestamp and group it has (optional unless
    `required`, and echoed into the prediction log so predictions can be joined to labels).
    With a `feature_store`, each entity's key (required) instead of the entity's features."""
    fields: dict[str, Any] = {}
    features = {column.name for column in contract.features}
    if feature_store:
        features |= set(contract.entity_columns)
    for column_name in contract.request_columns(level, feature_store):
        column = contract.column(column_name)
        needed = column_name in features or column_name in required
        annotation = column.definition.request_field(column)
        if column.nullable or not needed:
            annotation = annotation | None
        fields[f"field_{len(fields)}"] = (
            annotation,
            Field(... if needed else None, alias=column_name),
        )
    return create_model(schema_name(contract.name, name), __base__=Record, **fields)


def schema_name(contract_name: str, suffix: str) -> str:
    """A component name for the OpenAPI document: the contract's name in CamelCase."""
    words = re.findall(r"[A-Za-z0-9]+", contract_name)
    return "".join(word[:1].upper() + word[1:] for word in words) + suffix

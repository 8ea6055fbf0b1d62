"""Request and response models, generated from the data contract.

A field's type, range and allowed categories come from `contract.yaml`, so a request the model
cannot score is refused with a 400 that names the field before it reaches the model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from ..contract import Column, DataContract

PYTHON_TYPES: dict[str, Any] = {
    "int": int,
    "float": float,
    "string": str,
    "datetime": datetime,
}


class Record(BaseModel):
    """Base of the generated request record: unknown fields are refused, not ignored, so a
    misspelt feature name is an error instead of a silently missing value."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Prediction(BaseModel):
    score: float = Field(description="P(target = 1) for the record")
    model_version: str = Field(description="Registry version of the model that scored it")
    record_id: str | None = Field(default=None, description="The record's id, when it had one")


def field_type(column: Column) -> Any:
    """The annotated Python type of one contract column."""
    if column.type == "category" or column.values is not None:
        base: Any = Literal[tuple(column.values or ())]
    else:
        base = PYTHON_TYPES[column.type]
    constraints: dict[str, Any] = {"description": column.description or None}
    if column.min is not None:
        constraints["ge"] = column.min
    if column.max is not None:
        constraints["le"] = column.max
    if column.type in ("int", "float"):
        # Refuse "5" for 5 and 1.5 for an int: a client sending strings has a bug to find.
        constraints["strict"] = column.type == "int"
    annotated = Annotated[base, Field(**constraints)]
    return annotated | None if column.nullable else annotated


def record_model(contract: DataContract) -> type[Record]:
    """One record to score: the contract's features (required) plus its id and timestamp
    (optional, echoed into the prediction log so predictions can be joined to labels)."""
    fields: dict[str, Any] = {}
    for column in contract.features:
        fields[column.name] = (field_type(column), ...)
    for name in (contract.id_column, contract.timestamp_column):
        if name is not None:
            fields[name] = (field_type(contract.column(name)) | None, None)
    model_name = "".join(part.title() for part in contract.name.split("_")) + "Record"
    return create_model(model_name, __base__=Record, **fields)

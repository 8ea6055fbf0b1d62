"""The errors a user can fix, and the exit codes every command uses for them.

An `ExpectedError` is a problem with the input, the settings or a store (a file that cannot be
read or written): the command prints its message, one paragraph naming the file, setting or
column, with no traceback, and exits with its code. Anything else is a failure of the system
itself: the traceback is printed and the command exits with `UNEXPECTED_FAILURE`.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DONE = 0
DATA_REJECTED = 1  # a batch broke the data contract and was quarantined
BAD_INPUT = 2  # bad usage, settings, documents or input files; an unreadable or unwritable store
UNEXPECTED_FAILURE = 3  # a bug or crash: the traceback says where

EXIT_CODES = {
    DONE: "done",
    DATA_REJECTED: "data rejected by the contract (the batch is quarantined)",
    BAD_INPUT: "bad usage, settings, contract or requirements, or an unreadable input or store",
    UNEXPECTED_FAILURE: "unexpected failure (a traceback follows)",
}


class ExpectedError(Exception):
    """A problem the user can fix; reported as one message and `exit_code`."""

    exit_code = BAD_INPUT


class StoreError(ExpectedError):
    """A store (a data folder, the tracking database, a stored batch or model) cannot be read
    or written."""


@contextmanager
def reading_store(path: Path, what: str) -> Iterator[None]:
    """Turn a failure to read a stored file (truncated, corrupt, missing) into a `StoreError`
    naming it. Parquet's ArrowInvalid is a ValueError."""
    try:
        yield
    except (OSError, ValueError) as error:
        raise StoreError(f"{what} {path} cannot be read: {type(error).__name__}: {error}") from None


@contextmanager
def writing_store(path: Path, what: str) -> Iterator[None]:
    """Turn a failure to write a stored file (a full disk, a read-only or missing folder) into a
    `StoreError` naming it; what was written of it is the caller's to remove."""
    try:
        yield
    except FileExistsError:
        raise  # a concurrent writer won: the caller decides
    except OSError as error:
        reason = error.strerror or str(error)
        if error.errno == errno.ENOSPC or "No space left" in str(error):
            reason = "no space left on the device"
        raise StoreError(f"{what} {path} cannot be written: {reason}") from None


def describe_validation_error(error: Any) -> str:
    """A pydantic ValidationError as one line per problem: where, what, and the value given."""
    lines = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"])
        given = item.get("input")
        shown = "" if isinstance(given, dict | list) or given is None else f" (got {given!r})"
        lines.append(f"  - {where}: {item['msg']}{shown}" if where else f"  - {item['msg']}")
    return "\n".join(lines)


def expected_error_names() -> set[str]:
    """The class names of every ExpectedError, as they appear in Prefect's state messages."""
    names, pending = set(), [ExpectedError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return names

"""Reading, fingerprinting and storing batches. Stored batches are immutable: written once,
atomically, under a name that carries the content hash, and never overwritten."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic_core import to_json

from ..contract import DataContract, load_contract
from ..errors import ExpectedError, writing_store
from ..settings import ENV_PREFIX, PACKAGE_DIR

READABLE_SUFFIXES = (".csv", ".parquet", ".pq")
# How a bool column may be written in a file (case and surrounding spaces ignored; 1.0 and 0.0
# are how a 0/1 column with gaps comes out of a float column).


class BatchReadError(ExpectedError, ValueError):
    """The source cannot be read as a table."""


# The packaged contract: the one the synthetic worked example's generator writes batches for.
EXAMPLE_CONTRACT = PACKAGE_DIR / "contract" / "contract.yaml"


class NoSourceError(ExpectedError):
    """Nothing to ingest: no source was given and the contract is not the worked example's."""


def require_example_contract(contract: DataContract) -> None:
    """The synthetic worked example fits only its own contract's columns: with any other
    contract a command that needs data must be given the user's file."""
    example = load_contract(EXAMPLE_CONTRACT)
    if contract.column_names != example.column_names:
        raise NoSourceError(
            f"no source to read: the synthetic worked example fits only its own contract "
            f"({example.name}), and the contract in use is {contract.name!r}. Give your table: "
            "--source FILE (make ingest SOURCE=FILE; make all SOURCE=FILE), or set "
            f"{ENV_PREFIX}SOURCE_PATH in .env"
        )


def read_batch(path: Path, contract: DataContract) -> pd.DataFrame:
    """Read a CSV or Parquet batch, with the representation the contract expects.

    Text columns are read as text (a category "1" stays "1") and timestamps are parsed to naive
    UTC; values that do not parse become nulls, which the contract's not-null checks then report.
    """
    return normalise(read_table(path, text_columns(contract)), contract)


def text_columns(contract: DataContract) -> dict[str, str]:
    """The columns a CSV must be read as text, as `dtype` takes them."""
    return {c.name: "str" for c in contract.columns if c.definition.read_as_text}


def normalise(frame: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """Each column as its type holds it (timestamps as naive UTC, text booleans as bools) and
    text as plain objects, as `read_batch` returns them."""
    for column in contract.columns:
        if column.name in frame.columns:
            frame[column.name] = column.definition.normalise(frame[column.name])
    return normalise_text(frame)


def normalise_text(frame: pd.DataFrame) -> pd.DataFrame:
    """pandas' "string" dtype (a Parquet file written from it keeps it) as plain objects, with
    None for missing: what a CSV gives, and the type the suite's type checks take."""
    text = [str(name) for name, kind in frame.dtypes.items() if isinstance(kind, pd.StringDtype)]
    if not text:
        return frame
    return frame.assign(
        **{name: frame[name].astype(object).where(frame[name].notna(), None) for name in text}
    )


def readable_suffix(path: Path) -> str:
    """The file's suffix if it is a CSV or Parquet file that exists, else `BatchReadError`."""
    suffix = path.suffix.lower()
    if path.is_dir():
        raise BatchReadError(f"{path}: is a directory; give one CSV or Parquet file")
    if suffix not in READABLE_SUFFIXES:
        raise BatchReadError(f"{path}: unsupported file type {suffix!r}; use CSV or Parquet")
    if not path.is_file():
        raise BatchReadError(f"{path}: no such file")
    return suffix


def read_table(path: Path, text_columns: dict[str, str] | None = None) -> pd.DataFrame:
    """A CSV file (`text_columns` read as text, the rest as pandas infers) or a Parquet file;
    `BatchReadError` naming the file when it is not one."""
    suffix = readable_suffix(path)
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype=text_columns)
        return pd.read_parquet(path)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise BatchReadError(f"{path}: cannot be read as a table: {error}") from error


def read_tables(sources: list[Path]) -> tuple[pd.DataFrame, list[Path]]:
    """The rows of every file given, a folder's CSV and Parquet files read in name order, as
    one table (as pandas infers its types); refused when a file's columns differ from the
    first's."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            found = sorted(
                path
                for path in source.iterdir()
                if path.is_file() and path.suffix.lower() in READABLE_SUFFIXES
            )
            if not found:
                raise BatchReadError(f"{source}: holds no CSV or Parquet file")
            files.extend(found)
        else:
            files.append(source)
    frames = [read_table(path) for path in files]
    first = [str(c) for c in frames[0].columns]
    for path, frame in zip(files[1:], frames[1:], strict=True):
        columns = [str(c) for c in frame.columns]
        if columns != first:
            missing = [c for c in first if c not in columns]
            extra = [c for c in columns if c not in first]
            raise BatchReadError(
                f"{path}: other columns than {files[0]} (missing {missing or 'none'}, extra "
                f"{extra or 'none'}); give files of one table"
            )
    return (pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]), files


def content_hash(frame: pd.DataFrame) -> str:
    """A fingerprint of the batch's columns and values: the data version training records."""
    digest = hashlib.sha256(json.dumps([str(c) for c in frame.columns]).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def batch_id(data_hash: str, when: datetime | None = None) -> str:
    when = when or datetime.now(UTC)
    return f"{when:%Y%m%dT%H%M%SZ}-{data_hash}"


def find_stored(directory: Path, data_hash: str) -> Path | None:
    """The stored batch with this content, if one exists (batches are named ``<time>-<hash>``)."""
    return next(iter(sorted(directory.glob(f"*-{data_hash}.parquet"))), None)


def store_once(
    frame: pd.DataFrame, directory: Path, name: str, data_hash: str
) -> tuple[Path, bool]:
    """The stored copy of this content in `directory`: the one already there, else a new
    ``<name>.parquet``. The flag says whether it was written now."""
    # Concurrent ingests of one content store it once (the lock sits beside the folder).
    with exclusive(directory.parent / f".{directory.name}.lock"):
        existing = find_stored(directory, data_hash)
        if existing is not None:
            return existing, False
        return write_parquet_once(frame, directory / f"{name}.parquet"), True


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` (created if needed) across processes."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_parquet_once(frame: pd.DataFrame, path: Path) -> Path:
    """Write atomically and refuse to replace an existing file, also against a concurrent
    writer: each writer has its own temporary file, and a hard link (which fails if the name
    exists, unlike a rename) publishes it."""
    if path.exists():
        raise FileExistsError(f"{path} exists; stored batches are never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    try:
        with writing_store(path, "the batch"):
            frame.to_parquet(partial, index=False)
            os.link(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_json(payload: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def jsonl_lines(records: Iterable[dict[str, Any]]) -> str:
    """One JSON line per record (values JSON has no type for, as text). pydantic's Rust
    encoder: the service writes a line per scored record, and `json.dumps` was 5x slower."""
    return "".join(to_json(record, fallback=str).decode() + "\n" for record in records)


def append_jsonl(records: Iterable[dict[str, Any]], path: Path) -> None:
    """Append one JSON line per record, in a single write."""
    lines = jsonl_lines(records)
    with writing_store(path, "the log"):
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(lines)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]

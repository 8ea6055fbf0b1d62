"""Ingestion logic: get a batch, check it against the contract, then store it or quarantine it.

Good batches go to ``data/validated/`` and bad ones to ``data/quarantine/`` with their report;
nothing is dropped and no stored batch is ever overwritten. Every outcome is appended to the
ingestion log, which `status` reads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ..contract import DataContract
from ..errors import DATA_REJECTED, ExpectedError
from ..settings import DriftKind, Settings
from .batches import (
    append_jsonl,
    batch_id,
    content_hash,
    read_batch,
    require_example_contract,
    store_once,
    write_json,
)
from .synthetic import DEFAULT_START, generate_batch
from .validation import ValidationReport

IngestionStatus = Literal["validated", "duplicate", "rejected", "unreadable"]


@dataclass(frozen=True)
class IngestionRecord:
    batch_id: str
    status: IngestionStatus
    rows: int
    data_hash: str
    source: str
    path: str
    data_docs: str | None
    failures: list[str] = field(default_factory=list)
    # Values outside an expected range within the contract's tolerance (the batch was stored).
    warnings: list[str] = field(default_factory=list)
    finished_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    # Seconds per step of the flow that produced it; not part of the ingestion log.
    seconds: dict[str, float] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        del record["seconds"]
        return record


class BatchRejectedError(ExpectedError):
    """The batch broke the data contract; it was quarantined, nothing was promoted."""

    exit_code = DATA_REJECTED

    def __init__(self, record: IngestionRecord, report: ValidationReport) -> None:
        self.record = record
        self.report = report
        super().__init__(
            f"Batch {record.batch_id} from {record.source} broke the data contract and was "
            f"quarantined at {record.path}.\n{report.summary()}"
        )


def load_batch(
    contract: DataContract,
    source: Path | None,
    rows: int,
    seed: int,
    drift: DriftKind,
    start: datetime | None = None,
) -> tuple[pd.DataFrame, str]:
    """Read `source` if given, else generate a synthetic batch (its week begins at `start`, by
    default the generator's); return it and where it came from."""
    if source is not None:
        return read_batch(source, contract), str(source)
    require_example_contract(contract)
    frame = generate_batch(rows=rows, seed=seed, drift=drift, start=start or DEFAULT_START)
    origin = f"synthetic(rows={rows}, seed={seed}, drift={drift}"
    return frame, origin + (f", start={start.isoformat()})" if start else ")")


def record_unreadable(source: Path, error: Exception, settings: Settings) -> IngestionRecord:
    """Log a source that could not be read as a table: every outcome is in the ingestion log."""
    record = IngestionRecord(
        batch_id="",
        status="unreadable",
        rows=0,
        data_hash="",
        source=str(source),
        path="",
        data_docs=None,
        failures=[str(error)],
    )
    append_jsonl([record.to_dict()], settings.ingestion_log)
    return record


@dataclass(frozen=True)
class Stored:
    """Where a batch's content is kept (validated or quarantined) and whether it was written now
    (False: the same content was already there)."""

    path: Path
    written: bool
    data_hash: str
    rows: int


def store(frame: pd.DataFrame, success: bool, settings: Settings) -> Stored:
    """Keep a valid batch in ``validated/`` and an invalid one in ``quarantine/``, once."""
    data_hash = content_hash(frame)
    folder = settings.validated_dir if success else settings.quarantine_dir
    path, written = store_once(frame, folder, batch_id(data_hash), data_hash)
    return Stored(path=path, written=written, data_hash=data_hash, rows=len(frame))


def conclude(
    stored: Stored, report: ValidationReport, source: str, settings: Settings
) -> IngestionRecord:
    """Log the outcome of a stored batch. A rejected one gets its report beside it (the same bad
    batch sent again points at the copy already kept) and raises `BatchRejectedError`."""
    status: IngestionStatus = (
        "rejected" if not report.success else "validated" if stored.written else "duplicate"
    )
    record = IngestionRecord(
        batch_id=stored.path.stem,
        status=status,
        rows=stored.rows,
        data_hash=stored.data_hash,
        source=source,
        path=str(stored.path),
        data_docs=report.data_docs,
        failures=[str(failure) for failure in report.failures],
        warnings=[str(warning) for warning in report.warnings],
    )
    if status == "rejected" and stored.written:
        write_json(report.to_dict(), stored.path.with_suffix(".report.json"))
    append_jsonl([record.to_dict()], settings.ingestion_log)
    if status == "rejected":
        raise BatchRejectedError(record, report)
    return record


def record_outcome(
    frame: pd.DataFrame, report: ValidationReport, source: str, settings: Settings
) -> IngestionRecord:
    """Store a valid batch once (or note it is a duplicate), quarantine an invalid one."""
    return conclude(store(frame, report.success, settings), report, source, settings)

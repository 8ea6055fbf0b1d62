"""Ingesting a folder of batches: every CSV or Parquet file in it is one batch.

Reading, checking and storing a batch is the costly part and is independent of the others, so
it runs one file after another in this process, or on a Dask cluster when `MLSD_DASK_ADDRESS`
is set (each worker reads its files from the shared project folder). Publishing the results to
the GX project and writing the ingestion log stay in the flow's process, in file order, so the
outcome is the same either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..cluster import run_each
from ..contract import DataContract
from ..errors import BAD_INPUT, DATA_REJECTED, ExpectedError
from ..settings import Settings
from . import validation
from .batches import READABLE_SUFFIXES, BatchReadError, read_batch
from .ingestion import (
    BatchRejectedError,
    IngestionRecord,
    Stored,
    conclude,
    record_unreadable,
    store,
)


class NoBatchesError(ExpectedError):
    exit_code = BAD_INPUT


class BatchesRefusedError(ExpectedError):
    """Some batches of the folder were quarantined or unreadable; the others were ingested."""

    exit_code = DATA_REJECTED

    def __init__(self, records: Sequence[IngestionRecord]) -> None:
        self.records = list(records)
        refused = [record for record in records if record.status in REFUSED]
        lines = [f"{len(refused)} of {len(records)} batches were refused:"]
        for record in refused:
            where = f" -> {record.path}" if record.path else ""
            lines.append(f"  {record.source}: {record.status}{where}")
            lines.extend(f"    - {failure}" for failure in record.failures[:SHOWN_FAILURES])
            if len(record.failures) > SHOWN_FAILURES:
                more = len(record.failures) - SHOWN_FAILURES
                lines.append(f"    - and {more} more (the ingestion log has them all)")
        super().__init__("\n".join(lines))


REFUSED = ("rejected", "unreadable")
SHOWN_FAILURES = 5


@dataclass(frozen=True)
class CheckedFile:
    """One file read, checked against the contract and stored; or why it could not be read."""

    source: Path
    stored: Stored | None = None
    evaluation: validation.Evaluation | None = None
    unreadable: BatchReadError | None = None


def batch_files(folder: Path) -> list[Path]:
    """The folder's CSV and Parquet files, in name order (hidden files left out)."""
    files = sorted(
        path
        for path in folder.iterdir()
        if path.is_file()
        and not path.name.startswith(".")
        and path.name.lower().endswith(READABLE_SUFFIXES)
    )
    if not files:
        suffixes = ", ".join(READABLE_SUFFIXES)
        raise NoBatchesError(f"{folder} holds no batch to ingest (files ending {suffixes}).")
    return files


def check_file(source: Path, contract: DataContract, settings: Settings) -> CheckedFile:
    """Read one file, evaluate the contract's suite on it and store it (validated or
    quarantined). Touches no shared state but the content-addressed batch folders."""
    try:
        frame = read_batch(source, contract)
    except BatchReadError as error:
        return CheckedFile(source, unreadable=error)
    evaluation = validation.evaluate(frame, contract)
    return CheckedFile(source, store(frame, evaluation.report.success, settings), evaluation)


def check_files(
    sources: Sequence[Path], contract: DataContract, settings: Settings
) -> list[CheckedFile]:
    """`check_file` for every source: here, or on the cluster `settings.dask_address` names."""
    return run_each(
        check_file, sources, address=settings.dask_address, contract=contract, settings=settings
    )


def record_all(
    checked: Sequence[CheckedFile], contract: DataContract, settings: Settings
) -> list[IngestionRecord]:
    """Publish each file's result to the GX project and log its outcome, in order."""
    # Files of the same content stored at the same time on different workers: whichever worker
    # wrote it, the first such file in order is the one "validated", as in one process.
    written_now = {item.stored.data_hash for item in checked if item.stored and item.stored.written}
    seen: set[str] = set()
    records = []
    for item in checked:
        if item.unreadable is not None or item.stored is None or item.evaluation is None:
            error = item.unreadable or BatchReadError(f"{item.source} was not read")
            records.append(record_unreadable(item.source, error, settings))
            continue
        content = item.stored.data_hash
        stored = replace(item.stored, written=content in written_now and content not in seen)
        seen.add(content)
        report = validation.publish(
            item.evaluation, contract, settings.gx_dir, settings.data_docs_dir
        )
        try:
            records.append(conclude(stored, report, str(item.source), settings))
        except BatchRejectedError as rejected:
            records.append(rejected.record)
    return records

"""The prediction log's segments: bounded on disk, read across rotations by position, and a
write that fails loses lines (counted), never a prediction."""

from __future__ import annotations

import errno
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest

from {{ cookiecutter.package_name }}.data.batches import jsonl_lines
from {{ cookiecutter.package_name }}.monitoring.windows import prediction_log_window
from {{ cookiecutter.package_name }}.serving import prediction_log
from {{ cookiecutter.package_name }}.serving.prediction_log import PredictionLog, read_chunks, segments


def rows(first: int, count: int) -> list[dict[str, Any]]:
    return [
        {"record_id": str(n), "score": n / 1000, "pad": "x" * 40}
        for n in range(first, first + count)
    ]


def ids(frame: Any) -> list[int]:
    return [int(value) for value in frame["record_id"]] if len(frame) else []


def test_the_log_is_cut_into_bounded_segments_and_old_ones_are_deleted(tmp_path: Path) -> None:
    path = tmp_path / "prediction_log.jsonl"
    log = PredictionLog(path, max_bytes=2_000, keep_files=3)
    for start in range(0, 400, 10):
        log.append(rows(start, 10))
    kept = segments(path)
    assert len(kept) == 4  # three earlier segments and the one being written
    assert all(segment.size <= 2_000 for segment in kept)
    # Positions are continuous across segments, and the whole log is as long as all writes.
    for before, after in itertools.pairwise(kept):
        assert after.start == before.end
    assert kept[-1].end == len(jsonl_lines(rows(0, 400)).encode())
    assert sum(segment.size for segment in kept) <= 4 * 2_000


def test_a_reader_continues_across_rotations_from_its_position(tmp_path: Path) -> None:
    path = tmp_path / "prediction_log.jsonl"
    log = PredictionLog(path, max_bytes=3_000, keep_files=50)
    log.append(rows(0, 25))
    first, position, skipped = prediction_log_window(path, 0)
    assert ids(first) == list(range(25)) and not skipped
    for start in range(25, 200, 25):  # several rotations after the reader stopped
        log.append(rows(start, 25))
    assert len(segments(path)) > 3
    second, end, _ = prediction_log_window(path, position)
    assert ids(second) == list(range(25, 200))  # each line once, in order, none lost
    assert end == prediction_log.log_end(path)
    third, _, _ = prediction_log_window(path, end)
    assert third.empty


def test_a_position_deleted_by_retention_resumes_at_the_oldest_line_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "prediction_log.jsonl"
    log = PredictionLog(path, max_bytes=2_000, keep_files=1)
    for start in range(0, 300, 10):
        log.append(rows(start, 10))
    oldest = segments(path)[0]
    assert oldest.start > 0
    frame, _, _ = prediction_log_window(path, 0)
    assert ids(frame)[0] > 0 and ids(frame)[-1] == 299
    assert ids(frame) == sorted(ids(frame))
    assert f"{oldest.start} bytes of the prediction log" in caplog.text


def test_a_position_past_the_end_of_a_replaced_log_reads_it_from_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "prediction_log.jsonl"
    PredictionLog(path, max_bytes=10_000, keep_files=2).append(rows(0, 5))
    frame, _, _ = prediction_log_window(path, 1_000_000)
    assert ids(frame) == list(range(5))
    assert "past the end of the prediction log" in caplog.text


def test_a_bounded_read_takes_the_newest_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "prediction_log.jsonl"
    log = PredictionLog(path, max_bytes=5_000, keep_files=50)
    for start in range(0, 500, 50):
        log.append(rows(start, 50))
    newest = 3_000
    data = b"".join(chunk.data for chunk in read_chunks(path, 0, newest_bytes=newest))
    lines = [json.loads(line) for line in data.splitlines()]
    assert lines[-1]["record_id"] == "499"
    assert len(data) <= newest and len(data) > newest - 200  # whole lines only, about the bound


def test_a_line_still_being_written_is_left_for_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "prediction_log.jsonl"
    PredictionLog(path, max_bytes=10_000, keep_files=2).append(rows(0, 3))
    with path.open("a") as handle:
        handle.write('{"record_id": "3", "sco')
    frame, end, skipped = prediction_log_window(path, 0)
    assert ids(frame) == [0, 1, 2] and not skipped
    with path.open("a") as handle:
        handle.write('re": 0.5}\n')
    frame, _, _ = prediction_log_window(path, end)
    assert ids(frame) == [3]


def test_a_failed_write_loses_its_lines_not_the_caller_and_leaves_no_half_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "prediction_log.jsonl"
    log = PredictionLog(path, max_bytes=100_000, keep_files=2)
    log.append(rows(0, 2))
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        real_write(fd, data[: len(data) // 2])  # part of the batch, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    log.append(rows(2, 3))  # does not raise
    log.append(rows(5, 1))
    assert log.lost_lines == 4 and log.failing_since is not None
    assert "No space left on device" in (log.last_error or "")
    monkeypatch.setattr(os, "write", real_write)
    log.append(rows(6, 1))
    assert log.state()["failing_since"] is None and log.state()["lost_lines"] == 4
    frame, _, skipped = prediction_log_window(path, 0)
    assert ids(frame) == [0, 1, 6] and not skipped  # the half-written batch was cut off


def test_a_logging_share_keeps_whole_keys(tmp_path: Path) -> None:
    path = tmp_path / "prediction_log.jsonl"
    log = PredictionLog(path, max_bytes=10_000_000, keep_files=2, share=0.25, key_column="query")
    batch = [{"query": str(n // 5), "score": 0.1} for n in range(20_000)]
    log.append(batch)
    frame, _, _ = prediction_log_window(path, 0)
    assert 0.2 < len(frame) / len(batch) < 0.3
    assert set(frame.groupby("query").size()) == {5}  # a query's candidates: all or none

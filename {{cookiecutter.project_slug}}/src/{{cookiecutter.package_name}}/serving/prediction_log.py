"""The prediction log: one JSON line per scored record, in segments of bounded size, kept for a
bounded number of segments. Monitoring (step 7) reads it by position.

Layout, in the log's folder (`prediction_log.jsonl` by default):

- `prediction_log.jsonl`, the segment being written;
- `prediction_log.000000000123456.jsonl`, earlier segments, named by where they start: their
  first byte's position in the whole log, as if no segment had ever been cut or deleted.

A reader's position is a position in the whole log, so it stays right across rotations: the
segment being written starts where the newest earlier one ends (the newest earlier segment is
never deleted, so that is always known), and a position older than the oldest segment kept
means lines were deleted by retention (counted, and reading resumes at the oldest kept).

Writing never fails a prediction: a write that fails (a full disk, a read-only folder) loses
those lines, counts them and says since when; the service's readiness reports it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import re
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from ..data.batches import jsonl_lines

SEGMENT_DIGITS = 15
# How much of the log a reader takes at a time.
CHUNK_BYTES = 16 << 20

logger = logging.getLogger(__name__)


def segment_name(log: Path, start: int) -> Path:
    return log.with_name(f"{log.stem}.{start:0{SEGMENT_DIGITS}d}{log.suffix}")


def earlier_segments(log: Path) -> list[tuple[int, Path]]:
    """The log's earlier segments, oldest first, with where each starts."""
    digits = r"(\d" + "{" + str(SEGMENT_DIGITS) + "})"  # no Jinja-like braces in the template
    pattern = re.compile(re.escape(log.stem) + r"\." + digits + re.escape(log.suffix))
    if not log.parent.is_dir():
        return []
    found = [
        (int(match.group(1)), path)
        for path in log.parent.iterdir()
        if (match := pattern.fullmatch(path.name))
    ]
    return sorted(found)


@dataclass(frozen=True)
class Segment:
    path: Path
    start: int
    size: int
    inode: int

    @property
    def end(self) -> int:
        return self.start + self.size


def segments(log: Path) -> list[Segment]:
    """Every segment kept, oldest first, the one being written last (if it exists)."""
    found = []
    for start, path in earlier_segments(log):
        with contextlib.suppress(FileNotFoundError):  # deleted by retention meanwhile
            stat = path.stat()
            found.append(Segment(path, start, stat.st_size, stat.st_ino))
    with contextlib.suppress(FileNotFoundError):
        stat = log.stat()
        found.append(Segment(log, found[-1].end if found else 0, stat.st_size, stat.st_ino))
    return found


def log_end(log: Path) -> int:
    """The position after the last byte written to the whole log."""
    kept = segments(log)
    return kept[-1].end if kept else 0


@dataclass(frozen=True)
class Chunk:
    """Whole lines of one segment: `data`, starting at `position` in the whole log."""

    path: Path
    position: int
    data: bytes
    at: int  # where `data` starts in its file

    @property
    def end(self) -> int:
        return self.position + len(self.data)


def open_segment(log: Path, segment: Segment) -> BinaryIO | None:
    """The segment as listed: the segment being written may have been cut since, and then it
    is the earlier segment named by its start."""
    for path in (segment.path, segment_name(log, segment.start)):
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            continue
        if os.fstat(handle.fileno()).st_ino == segment.inode:
            return handle
        handle.close()
    return None  # deleted by retention while the reader went


def read_chunks(
    log: Path, offset: int, chunk_bytes: int = CHUNK_BYTES, newest_bytes: int | None = None
) -> Iterator[Chunk]:
    """The whole lines written after position `offset`, across segments, a chunk at a time.
    With `newest_bytes`, only about that many of the newest bytes are read (from the first
    line that starts in them). A line still being written is left for the next reader."""
    kept = segments(log)
    if not kept:
        return
    start = max(offset, kept[0].start)
    if newest_bytes is not None:
        start = max(start, kept[-1].end - newest_bytes)
    for segment in kept:
        if segment.end <= start:
            continue
        handle = open_segment(log, segment)
        if handle is None:
            continue
        with handle:
            at = max(start - segment.start, 0)
            if at > 0 and start != offset:  # cut by `newest_bytes`: from the next whole line
                handle.seek(at - 1)
                if handle.read(1) != b"\n":
                    handle.readline()
                at = handle.tell()
            handle.seek(at)
            while at < segment.size:
                data = handle.read(min(chunk_bytes, segment.size - at))
                whole = data.rfind(b"\n") + 1
                if whole == 0 and at + len(data) < segment.size:  # a line longer than a chunk
                    data += handle.readline()
                    whole = len(data) if data.endswith(b"\n") else 0
                if whole == 0:
                    break  # the last line is still being written
                yield Chunk(segment.path, segment.start + at, data[:whole], at)
                at += whole
                handle.seek(at)


def lost_to_retention(log: Path, offset: int) -> int:
    """Bytes after `offset` that retention deleted before a reader got to them."""
    kept = segments(log)
    return max(kept[0].start - offset, 0) if kept else 0


class PredictionLog:
    """Appends prediction lines to the log, cutting a new segment past `max_bytes` and keeping
    `keep_files` earlier ones; with `share` < 1, only that share of records is logged (step 1
    sets it for high traffic).

    The segment stays open between requests (opening it cost more than the compiled model call);
    one `stat` per write notices it was moved or deleted and reopens it."""

    def __init__(
        self,
        path: Path,
        max_bytes: int,
        keep_files: int,
        share: float = 1.0,
        key_column: str | None = None,
    ) -> None:
        self.path = path
        self.key_column = key_column
        self.max_bytes = max_bytes
        self.keep_files = max(keep_files, 1)  # the newest earlier segment places the current one
        self.share = share
        self._lock = threading.Lock()  # one write per batch, never interleaved across threads
        self._fd: int | None = None
        self._size = 0
        self.lost_lines = 0
        self.failing_since: str | None = None
        self.last_error: str | None = None

    def append(self, rows: list[dict[str, Any]]) -> None:
        if self.share < 1:
            rows = [row for row in rows if self.kept(row)]
        if not rows:
            return
        data = jsonl_lines(rows).encode()
        with self._lock:
            try:
                self._write(data)
            except OSError as error:
                self._failed(error, len(rows))
            else:
                if self.failing_since is not None:
                    logger.warning(
                        "the prediction log is written again (failing since %s; %d lines lost)",
                        self.failing_since,
                        self.lost_lines,
                    )
                    self.failing_since = None

    def kept(self, row: dict[str, Any]) -> bool:
        """Whether a record is in the logged share: by a hash of its key, so a key (a ranking's
        query) is logged whole or not at all; a record without one, at random."""
        key = row.get(self.key_column) if self.key_column else None
        if key is None:
            return random.random() < self.share  # nosec B311 # a sample, not a secret
        return zlib.crc32(f"log:{key}".encode()) / 2**32 < self.share

    def _write(self, data: bytes) -> None:
        fd = self._open()
        if self._size > 0 and self._size + len(data) > self.max_bytes:
            fd = self._rotate()
        try:
            written = 0
            while written < len(data):  # a line is on disk when its answer leaves
                written += os.write(fd, data[written:])
        except OSError:
            # No half line left behind for readers: back to where this write began.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._size)
            raise
        self._size += len(data)

    def _failed(self, error: OSError, lines: int) -> None:
        self.lost_lines += lines
        self.last_error = f"{type(error).__name__}: {error.strerror or error}"
        if self.failing_since is None:
            self.failing_since = datetime.now(UTC).isoformat(timespec="seconds")
            logger.error(
                "the prediction log %s cannot be written (%s): predictions are still answered, "
                "their lines are lost and counted",
                self.path,
                self.last_error,
            )
        self._close()  # reopened on the next write, once the disk has room again

    def _open(self) -> int:
        if self._fd is not None:
            try:
                if self.path.stat().st_ino == os.fstat(self._fd).st_ino:
                    return self._fd
            except FileNotFoundError:
                pass
            self._close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._size = os.fstat(self._fd).st_size
        return self._fd

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def _rotate(self) -> int:
        """The current segment becomes an earlier one, named by where it starts; the oldest
        beyond `keep_files` are deleted."""
        start = segments(self.path)[-1].start  # where the current segment begins
        self._close()
        self.path.rename(segment_name(self.path, start))
        for _, old in earlier_segments(self.path)[: -self.keep_files]:
            old.unlink(missing_ok=True)
        return self._open()

    def state(self) -> dict[str, Any]:
        """What readiness and GET /model say of the log."""
        return {
            "lost_lines": self.lost_lines,
            "failing_since": self.failing_since,
            "error": self.last_error if self.failing_since else None,
            "max_bytes": self.max_bytes,
            "keep_files": self.keep_files,
            "share": self.share,
        }

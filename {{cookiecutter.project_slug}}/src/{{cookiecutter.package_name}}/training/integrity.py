"""What a registered version may load: its files as they were registered, and only the types this
project's code trusts.

A model file is data from a store that other people (or a compromised server) can write to, so
nothing in it decides how it is read. Two rules hold wherever a version is loaded (the service,
batch scoring, training's comparison with the champion, monitoring):

- **The files are the ones registered.** At registration every file of the model and of its
  compiled scoring path is hashed (SHA-256) and the digests are kept as the version's
  `artifact_sha256` tag; before loading, the downloaded files are hashed again. A missing,
  changed or unrecorded file is an `ArtifactMismatchError` naming the version and the file: the
  version is not served, and no other path (the pipeline for a broken compiled path) stands in.
- **The types come from the code.** The pipeline is read with skops, never pickle. skops refuses
  any type it is not told to trust; what it is told comes from `trusted_type` below (scikit-learn,
  numpy's dtype and the candidates' reviewed `TRUSTED_TYPES`), never from the model's own
  `MLmodel` file, which lists whatever its writer wanted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from ..errors import ExpectedError
from ..modeling.candidates import TRUSTED_TYPES

DIGEST_TAG = "artifact_sha256"
SKOPS_FORMAT = "skops"
# numpy's dtype: an imputer keeps the one it was fitted on (data, not code).
ALWAYS_TRUSTED = frozenset({"numpy.dtype", *TRUSTED_TYPES})
CHUNK_BYTES = 1 << 20
# What MLflow writes beside a registered model's files when it downloads them (not stored).
WRITTEN_BY_DOWNLOAD = frozenset({"registered_model_meta"})


class ModelLoadError(ExpectedError):
    """A registered version's model cannot be loaded (its files are missing or corrupt).

    `brief` says which version and why without the store's paths: what a client of the service
    is told; the message itself (with paths) goes to the log and the command line."""

    def __init__(self, message: str, brief: str | None = None) -> None:
        super().__init__(message)
        self.brief = brief or message


class ArtifactMismatchError(ModelLoadError):
    """A version's files are not the ones it was registered with, or were never recorded."""


def trusted_type(name: str) -> bool:
    """Whether a type skops does not trust by default may be loaded: scikit-learn's own, and
    what was reviewed and listed in the candidates' `TRUSTED_TYPES`."""
    return name.startswith("sklearn.") or name in ALWAYS_TRUSTED


def untrusted(names: Iterable[str]) -> list[str]:
    return sorted(name for name in names if not trusted_type(name))


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def folder_digests(folder: Path, prefix: str) -> dict[str, str]:
    """Each file under `folder`, as `prefix/relative path`, with its SHA-256."""
    return {
        f"{prefix}/{path.relative_to(folder).as_posix()}": file_digest(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in WRITTEN_BY_DOWNLOAD
    }


def encode(digests: dict[str, str]) -> str:
    return json.dumps(digests, sort_keys=True, separators=(",", ":"))


def recorded(tag: str | None, label: str) -> dict[str, str]:
    """The digests a version's tag holds; a version without them cannot be checked."""
    if not tag:
        raise ArtifactMismatchError(
            f"model {label} has no recorded artifact digests (tag `{DIGEST_TAG}`), so its files "
            "cannot be checked: it is not loaded. Versions registered by this project's training "
            "have them: train again.",
            brief=f"model {label} has no recorded artifact digests: it is not served",
        )
    try:
        digests = json.loads(tag)
    except ValueError:
        digests = None
    if not isinstance(digests, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in digests.items()
    ):
        raise ArtifactMismatchError(
            f"model {label}: its `{DIGEST_TAG}` tag is not a map of file digests",
            brief=f"model {label} has unreadable artifact digests: it is not served",
        )
    return digests


def verify(folder: Path, prefix: str, expected: dict[str, str], label: str) -> None:
    """Every file recorded under `prefix` is in `folder` with the same digest, and `folder`
    holds no file that was not recorded."""
    wanted = {key: value for key, value in expected.items() if key.startswith(f"{prefix}/")}
    found = folder_digests(folder, prefix)
    if not wanted:
        problems = [f"no files of `{prefix}` were recorded"]
    else:
        problems = [
            f"{name} {'is missing' if name not in found else 'changed'}"
            for name, digest in sorted(wanted.items())
            if found.get(name) != digest
        ]
        problems += [f"{name} was not registered" for name in sorted(found.keys() - wanted)]
    if problems:
        raise ArtifactMismatchError(
            f"model {label}'s files are not the ones it was registered with: "
            + "; ".join(problems)
            + ". It is not loaded: register it again by training, or point the alias elsewhere.",
            brief=f"model {label}'s files are not the ones it was registered with: it is not "
            "served",
        )

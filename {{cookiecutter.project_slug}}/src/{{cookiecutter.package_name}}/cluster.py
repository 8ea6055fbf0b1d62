"""Where work that grows with rows or batches runs: in this process (the default), on a Dask
cluster whose scheduler `MLSD_DASK_ADDRESS` names (`tcp://host:8786`), or on local worker
processes started for one command (`MLSD_DASK_ADDRESS=local`).

The steps written for it: batch scoring (`serving/batch.py`), ingesting a folder of batches
(`data/folder.py`), the parameter search (`training/search.py`) and the monitoring reference
(`monitoring/windows.py`). Each gives the same result with and without a cluster
(tests/e2e/test_dask.py). Workers read and write the project's folders, so on other machines
those must be shared storage.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from distributed import Client

LOCAL = "local"
CONNECT_SECONDS = 30


@contextlib.contextmanager
def dask_client(address: str) -> Iterator[Client]:
    """A client of the scheduler at `address`, or of a cluster of local worker processes (one
    thread each, one per core, on 127.0.0.1) that lives as long as the client."""
    import dask
    from distributed import Client, LocalCluster

    if address != LOCAL:
        with Client(address, timeout=CONNECT_SECONDS) as client:
            yield client
        return
    with (
        # The scratch space (spilled data, locks) of the workers and their nannies in a folder
        # of the cluster's own, not dask's default in the temporary directory, where it stays.
        tempfile.TemporaryDirectory(prefix="mlsd-dask-") as scratch,
        dask.config.set({"temporary-directory": scratch}),
        LocalCluster(
            n_workers=os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            # The scheduler's HTTP routes on a free port (its default, 8787, may be taken).
            dashboard_address="127.0.0.1:0",
            local_directory=scratch,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_each(
    function: Callable[..., Any],
    *iterables: Iterable[Any],
    address: str | None,
    **common: Any,
) -> list[Any]:
    """`function(*items, **common)` for each tuple of items, results in order: one after
    another in this process (`address` None), or side by side on the cluster at `address`."""
    if address is None:
        return [function(*items, **common) for items in zip(*iterables, strict=True)]
    with dask_client(address) as client:
        # pure=False: the same arguments twice may read a file that changed in between.
        futures = client.map(function, *(list(items) for items in iterables), pure=False, **common)
        results: list[Any] = client.gather(futures)
    return results

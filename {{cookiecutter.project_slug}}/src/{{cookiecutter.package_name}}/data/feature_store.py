"""Step 3's feature store (Feast): the features that belong to an entity, not to a request.

A contract feature that names an `entity` (the user's age and past CTR, keyed by `user_id`) is
a property of that entity. With `feature_store: feast` (settings):

- `load_offline` writes, from every validated batch, each entity's rows (key, event time,
  features) to the offline store: one Parquet file per feature view, rebuilt from the validated
  store, so a run can be repeated and a damaged file is rewritten;
- `materialize` copies each key's latest values into the online store (SQLite in the project,
  or Redis) and writes the cold-start values an unknown key is served with;
- training rebuilds those columns with a point-in-time join (`point_in_time`): each row gets
  the values its entity had at the row's time, never later ones;
- the service receives only the key and looks the features up (`OnlineFeatures`).

Feast is imported in the functions that use it: a project without the feature store, or a
command that does not touch it, never pays for the import (~3 s).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..contract.spec import Column, DataContract
from ..errors import ExpectedError, reading_store
from ..settings import Settings

if TYPE_CHECKING:
    from feast import FeatureStore

ROW = "__row"  # keeps the training frame's order through the join
EVENT_TIMESTAMP = "event_timestamp"  # what Feast calls the time of an entity row
COLD_START_FILE = "cold_start.json"
# Which online store the last materialization wrote: Feast's own record of it (in the registry)
# does not say, so a switch from SQLite to Redis would otherwise look fresh.
MATERIALIZED_INTO_FILE = "materialized_into.txt"


class FeatureStoreError(ExpectedError):
    """The feature store cannot be used as configured (not installed, nothing to store)."""


@dataclass(frozen=True)
class View:
    """One feature view: an entity's key and the contract features that belong to it."""

    name: str
    key: str
    features: tuple[str, ...]

    @property
    def references(self) -> list[str]:
        return [f"{self.name}:{feature}" for feature in self.features]


def views(contract: DataContract) -> list[View]:
    """A view per entity that has features; a contract with none cannot use a feature store."""
    found = [
        View(f"{key.removesuffix('_id')}_features", key, tuple(contract.entity_features(key)))
        for key in contract.entity_columns
        if contract.entity_features(key)
    ]
    if not found or contract.timestamp_column is None:
        raise FeatureStoreError(
            f"contract {contract.name!r} gives the feature store nothing to hold: it needs a "
            "column with role: entity, features that name it in `entity:`, and a timestamp "
            "column (when each value was true)"
        )
    return found


def require_feast() -> None:
    try:
        import feast  # noqa: F401
    except ImportError:
        raise FeatureStoreError(
            "settings.feature_store is 'feast' but Feast is not installed: `uv sync --group "
            "feature-store` (a project generated with feature_store=feast installs it)"
        ) from None


@contextmanager
def quiet_duckdb() -> Iterator[None]:
    """Feast reads the offline store through ibis, which calls a method DuckDB deprecated: a
    warning on every read that says nothing about this project."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def offline_path(settings: Settings, view: View) -> Path:
    return settings.feature_repo_dir / "offline" / f"{view.name}.parquet"


def open_store(settings: Settings) -> FeatureStore:
    """Feast on this project's repository folder: its registry and offline files there, the
    online store a SQLite file there or the Redis server `feature_online_store` names."""
    require_feast()
    from feast import FeatureStore
    from feast.repo_config import RepoConfig

    repo = settings.feature_repo_dir
    repo.mkdir(parents=True, exist_ok=True)
    online: dict[str, Any] = {"type": "sqlite", "path": str(repo / "online.db")}
    if settings.feature_online_store:
        online = {"type": "redis", "connection_string": settings.feature_online_store}
    config = RepoConfig(
        project=re.sub(r"[^A-Za-z0-9_]", "_", settings.registered_model_name),
        provider="local",
        registry={"path": str(repo / "registry.db"), "cache_ttl_seconds": 0},
        online_store=online,
        offline_store={"type": "duckdb"},
        entity_key_serialization_version=3,
        repo_path=str(repo),
    )
    return FeatureStore(config=config)


def online_store_name(settings: Settings) -> str:
    if settings.feature_online_store:
        return f"Redis at {settings.feature_online_store}"
    return f"SQLite {settings.feature_repo_dir / 'online.db'}"


def feast_type(column: Column) -> Any:
    import feast.types

    return getattr(feast.types, column.definition.feast_type)


def definitions(contract: DataContract, settings: Settings) -> list[Any]:
    """The entities and feature views the contract describes, for `FeatureStore.apply`."""
    from feast import Entity, FeatureView, Field, FileSource, ValueType

    objects: list[Any] = []
    for view in views(contract):
        key = contract.column(view.key)
        entity = Entity(
            name=view.key,
            join_keys=[view.key],
            value_type=ValueType[key.definition.feast_key_type],
            description=key.description,
        )
        source = FileSource(
            name=f"{view.name}_source",
            path=str(offline_path(settings, view)),
            timestamp_field=EVENT_TIMESTAMP,
        )
        schema = [
            Field(name=name, dtype=feast_type(contract.column(name))) for name in view.features
        ]
        # No time to live: a value stays true until the entity's next one (the join and the
        # online store both keep the latest); `freshness` reports an online store left behind.
        objects += [
            entity,
            FeatureView(
                name=view.name,
                entities=[entity],
                schema=schema,
                source=source,
                ttl=timedelta(0),
                online=True,
            ),
        ]
    return objects


def as_utc(times: pd.Series) -> pd.Series:
    """A contract timestamp (naive UTC) as Feast compares times: tz-aware UTC."""
    return pd.to_datetime(times).dt.tz_localize(UTC)


def entity_rows(frame: pd.DataFrame, contract: DataContract, view: View) -> pd.DataFrame:
    """A view's rows of a batch: key, event time (tz-aware UTC, as Feast reads it), features;
    one row per key and time."""
    timestamp = contract.timestamp_column or ""
    rows = frame[[view.key, timestamp, *view.features]].rename(columns={timestamp: EVENT_TIMESTAMP})
    rows[EVENT_TIMESTAMP] = as_utc(rows[EVENT_TIMESTAMP])
    rows = rows.dropna(subset=[view.key]).drop_duplicates([view.key, EVENT_TIMESTAMP], keep="last")
    return rows.sort_values([EVENT_TIMESTAMP, view.key], kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class OfflineLoad:
    """What `load_offline` wrote: rows per view and the latest event time (naive UTC)."""

    rows: dict[str, int]
    through: datetime


def load_offline(frame: pd.DataFrame, contract: DataContract, settings: Settings) -> OfflineLoad:
    """Write every view's rows of `frame` (all validated batches) to the offline store, and
    register the definitions."""
    store = open_store(settings)
    counts: dict[str, int] = {}
    for view in views(contract):
        rows = entity_rows(frame, contract, view)
        path = offline_path(settings, view)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        rows.to_parquet(partial, index=False)
        partial.replace(path)  # readers never see half a file
        counts[view.name] = len(rows)
    store.apply(definitions(contract, settings))
    timestamp = contract.timestamp_column or ""
    through = pd.Timestamp(frame[timestamp].max()).to_pydatetime()
    return OfflineLoad(rows=counts, through=through)


def materialize(
    store: FeatureStore, contract: DataContract, settings: Settings, through: datetime
) -> None:
    """Each key's latest values up to `through` (naive UTC, inclusive) into the online store,
    and the cold-start values beside them."""
    end = through.replace(tzinfo=UTC) + timedelta(seconds=1)
    with quiet_duckdb():
        store.materialize(start_date=datetime(1970, 1, 1, tzinfo=UTC), end_date=end)
    into = settings.feature_repo_dir / MATERIALIZED_INTO_FILE
    into.write_text(online_store_name(settings) + "\n", encoding="utf-8")
    write_cold_start(contract, settings)


def write_cold_start(contract: DataContract, settings: Settings) -> dict[str, Any]:
    """What a key the store has never seen (a new user) is served with: over each key's latest
    row, the typical value its type says (the median of a number, the most frequent value of
    anything else)."""
    values: dict[str, Any] = {}
    for view in views(contract):
        with reading_store(offline_path(settings, view), "the offline feature store"):
            rows = pd.read_parquet(offline_path(settings, view))
        latest = rows.drop_duplicates(view.key, keep="last")
        for name in view.features:
            column = contract.column(name)
            series = latest[name].dropna()
            if series.empty:
                values[name] = None
            else:
                values[name] = column.definition.typical(series, column)
    path = settings.feature_repo_dir / COLD_START_FILE
    path.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    return values


def point_in_time(
    frame: pd.DataFrame,
    contract: DataContract,
    settings: Settings,
    cold_start: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """`frame` with its entity features (replaced, or added where it has none) as the offline
    store held them for each row's key at the row's time (`get_historical_features`): the
    values training may know. A row whose key had none then is an error (training must not
    guess), or with `cold_start` gets those values, as the service serves an unknown key."""
    if empty := [v.name for v in views(contract) if not offline_path(settings, v).is_file()]:
        raise FeatureStoreError(
            f"the offline feature store has no {', '.join(empty)}: run `features` after ingesting"
        )
    store = open_store(settings)
    joined = frame.copy()
    timestamp = contract.timestamp_column or ""
    for view in views(contract):
        entities = pd.DataFrame(
            {
                view.key: frame[view.key].to_numpy(),
                EVENT_TIMESTAMP: as_utc(frame[timestamp]).to_numpy(),
                ROW: range(len(frame)),
            }
        )
        with quiet_duckdb():
            found = store.get_historical_features(entity_df=entities, features=view.references)
            values = found.to_df().sort_values(ROW).set_index(ROW)
        for name in view.features:
            column = values[name].reindex(range(len(frame)))
            if cold_start is not None and cold_start.get(name) is not None:
                column = column.astype(object).where(column.notna(), cold_start[name])
            if column.isna().any() and not contract.column(name).nullable:
                missing = int(column.isna().sum())
                raise FeatureStoreError(
                    f"{missing} rows have no {name} in the offline store at their time: run "
                    "the features flow after ingesting (`features`)"
                )
            joined[name] = column.astype(joined_dtype(frame, contract, name, column)).to_numpy()
    return joined


def joined_dtype(frame: pd.DataFrame, contract: DataContract, name: str, column: pd.Series) -> Any:
    """The frame's own type for a feature it has; for one it lacks, the type `read_batch`
    gives such a column of a file (a missing number makes it float)."""
    if name in frame.columns:
        return frame[name].dtype
    return contract.column(name).definition.frame_dtype(column)


def read_cold_start(settings: Settings) -> dict[str, Any]:
    """The values `write_cold_start` wrote; none before the first `features` run."""
    path = settings.feature_repo_dir / COLD_START_FILE
    try:
        values: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return values


@dataclass(frozen=True)
class Freshness:
    """How far the online store lags the offline one (times naive UTC)."""

    offline_through: datetime | None
    online_through: datetime | None
    # The online store in use, and the one the last materialization wrote when another.
    online_store: str = ""
    materialized_into: str | None = None

    @property
    def stale(self) -> bool:
        if self.offline_through is None:
            return False
        return self.online_through is None or self.online_through <= self.offline_through

    def describe(self) -> str:
        if self.offline_through is None:
            return "the offline store is empty: run `features` after ingesting"
        if not self.stale:
            return f"online store fresh: it holds every value up to {self.offline_through}"
        if self.online_through is not None:
            behind = f"materialized up to {self.online_through}"
        elif self.materialized_into:
            behind = (
                f"{self.online_store} was never materialized (the last `features` wrote "
                f"{self.materialized_into})"
            )
        else:
            behind = "never materialized"
        return (
            f"online store STALE: {behind}, the offline store holds values up to "
            f"{self.offline_through}; serving answers with older features (`features` "
            "materializes)"
        )


def freshness(
    contract: DataContract, settings: Settings, store: FeatureStore | None = None
) -> Freshness:
    """The latest event time in the offline store against how far every view was
    materialized (the earliest of the views' ends). `store`: one already open (the
    service's), else one is opened."""
    offline: list[datetime] = []
    online: list[datetime | None] = []
    store = store or open_store(settings)
    for view in views(contract):
        path = offline_path(settings, view)
        if not path.is_file():
            continue
        with reading_store(path, "the offline feature store"):
            times = pd.read_parquet(path, columns=[EVENT_TIMESTAMP])[EVENT_TIMESTAMP]
        if not times.empty:
            offline.append(times.max().tz_convert(UTC).tz_localize(None).to_pydatetime())
        try:
            end = store.get_feature_view(view.name).most_recent_end_time
        except Exception:  # not registered yet
            end = None
        online.append(None if end is None else end.astimezone(UTC).replace(tzinfo=None))
    online_through = None if not online or None in online else min(d for d in online if d)
    in_use, into = online_store_name(settings), None
    record = settings.feature_repo_dir / MATERIALIZED_INTO_FILE
    if record.is_file() and (written := record.read_text(encoding="utf-8").strip()) != in_use:
        online_through, into = None, written  # the views' record is of another store
    return Freshness(max(offline) if offline else None, online_through, in_use, into)


@dataclass(frozen=True)
class FeaturesOutcome:
    """What the features flow stored, and how fresh the online store is after it."""

    rows: dict[str, int]
    freshness: Freshness

    def summary(self) -> str:
        views = ", ".join(f"{name}: {rows:,} rows" for name, rows in self.rows.items())
        return f"offline store {views}; {self.freshness.describe()}"


def push_online(frame: pd.DataFrame, contract: DataContract, settings: Settings) -> None:
    """Write `frame`'s entity rows straight to the online store, as the pipeline upstream of the
    service does when a user's features change (the loop's traffic: served with the features
    its rows were generated with)."""
    store = open_store(settings)
    for view in views(contract):
        store.write_to_online_store(view.name, entity_rows(frame, contract, view))


class OnlineFeatures:
    """The service's lookup: request rows (JSON form) get their entities' features from the
    online store, in one call per view for a whole batch. A key the store has never seen is
    served with the cold-start values (`write_cold_start`) and counted."""

    def __init__(self, contract: DataContract, settings: Settings) -> None:
        self.contract, self.settings = contract, settings
        self.views = views(contract)
        self.store = open_store(settings)
        self.cold_start: dict[str, Any] = {}
        self.unknown_keys = 0
        self.reload()

    def reload(self) -> None:
        """Re-read the cold-start values (the features flow rewrites them)."""
        self.cold_start = read_cold_start(self.settings)

    def cold_start_values(self, view: View) -> dict[str, Any]:
        values = {name: self.cold_start.get(name) for name in view.features}
        if any(value is None for value in values.values()):
            raise FeatureStoreError(
                f"the feature store has no values for an unknown {view.key}: it was never "
                "materialized (run `features`)"
            )
        return values

    def lookup(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for view in self.views:
            keys = [row.get(view.key) for row in rows]
            found = self.store.get_online_features(
                features=view.references, entity_rows=[{view.key: key} for key in keys]
            ).to_dict()
            for index, row in enumerate(rows):
                stored = {name: found[name][index] for name in view.features}
                if all(value is None for value in stored.values()):
                    self.unknown_keys += 1
                    stored = self.cold_start_values(view)
                row.update(stored)
        return rows

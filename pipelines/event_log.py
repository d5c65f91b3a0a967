"""Dagster's SQLite event log with pooled connections, for the bundled single-machine instance.

Dagster's `SqliteEventLogStorage` creates an engine, opens the run's SQLite file, commits and
closes it for every event it writes (and again for the cross-run index of asset events). The
close of a WAL database's last connection checkpoints the log, so a bundled `civic run`
(about 3,200 events: planned materializations, checks, step outputs) spent about half of its
wall time there. This subclass keeps one engine per recently used shard (the index and the
last few runs) and writes with `synchronous = NORMAL`, SQLite's advice for WAL files: a killed
process loses nothing committed; only a power cut can lose the last commits, never corrupt
the file. Everything else (schema, files, watchers, queries) is Dagster's.

`use_dagster_home` in `pipelines.cli` names it in the instance's `dagster.yaml`; an instance
with its own storage (Postgres for teams, docs/deployment.md) is left alone.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import Field, StringSource
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool

from pipelines.dagster_internals import SQLITE_BUSY_TIMEOUT_SECONDS, SqliteEventLogStorage

OPEN_SHARDS = 4  # the index shard and the runs being written or read right now


def _synchronous_normal(dbapi_connection, _record) -> None:  # noqa: ANN001 (DB-API object)
    dbapi_connection.execute("pragma synchronous = normal")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that keeps its SQLite connections open between events."""

    def __init__(self, base_dir: str, inst_data=None) -> None:  # noqa: ANN001 (Dagster's type)
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls) -> dict:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value: dict) -> PooledSqliteEventLogStorage:  # noqa: ANN001
        base_dir = config_value.get("base_dir") or os.path.join(
            os.environ["DAGSTER_HOME"], "storage"
        )
        return cls(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        url = self.conn_string_for_shard(shard)
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
        if shard not in self._initialized_dbs:
            # Dagster's schema set-up opens connections of its own: a throwaway engine.
            setup = create_engine(url, poolclass=NullPool, connect_args=connect_args)
            self._initdb(setup)
            setup.dispose()
            self._initialized_dbs.add(shard)
        engine = create_engine(
            url, poolclass=QueuePool, pool_size=1, max_overflow=0, connect_args=connect_args
        )
        event.listen(engine, "connect", _synchronous_normal)
        self._engines[shard] = engine
        while len(self._engines) > OPEN_SHARDS:
            _, oldest = self._engines.popitem(last=False)
            oldest.dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's lock, held for the whole transaction as in the base class (its event
        # watcher threads share the storage).
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def _close_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_engines()  # before Dagster deletes the run files under them
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._close_engines()

"""The only Dagster names this project takes from Dagster's private modules.

Dagster has no public name for them (checked against dagster 1.13's top-level API); keeping
them here means one file to revisit when Dagster upgrades or publishes them.
"""

from dagster._core.definitions.unresolved_asset_job_definition import (
    # What `define_asset_job` returns; used only in type hints of the job factories.
    UnresolvedAssetJobDefinition,
)

# The attribute under which Dagster puts a log record's structured event; a custom logger
# (pipelines.progress) reads it. Dagster documents no public accessor for it.
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR

# The per-run SQLite event log a custom storage (pipelines.event_log) extends with pooled
# connections: Dagster's own opens and closes a SQLite file for every event it writes.
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

# A failed run's error (innermost cause, class name); used only in a type hint (sensors).
from dagster._utils.error import SerializableErrorInfo

__all__ = [
    "LOG_RECORD_METADATA_ATTR",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "SerializableErrorInfo",
    "SqliteEventLogStorage",
    "UnresolvedAssetJobDefinition",
]

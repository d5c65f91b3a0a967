"""Publishing: versioned, immutable releases of the indicator marts for open-data portals.

`publish_release(warehouse, releases_dir)` writes `releases/<version>/` with CSV and Parquet
files, a Frictionless `datapackage.json`, a DCAT-US `data.json` and a changelog against the
previous release. See docs/publishing.md.
"""

from pipelines.publishing.config import PublishingConfig, PublishingConfigError, load_config
from pipelines.publishing.release import (
    PublishError,
    Release,
    ReleaseExistsError,
    latest_version,
    publish_release,
)

__all__ = [
    "PublishError",
    "PublishingConfig",
    "PublishingConfigError",
    "Release",
    "ReleaseExistsError",
    "latest_version",
    "load_config",
    "publish_release",
]

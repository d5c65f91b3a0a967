"""One config vocabulary: one strict base and error formatter, pydantic's URL and e-mail types,
one freshness table and every `CIVIC_*` variable read through one settings object."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from pipelines.catalog import city_catalog
from pipelines.config_base import Strict, check_email, check_http_url
from pipelines.dbt_sources import sources_yaml
from pipelines.freshness import FreshnessConfigError, freshness_windows
from pipelines.notifications import Notifier
from pipelines.publishing.config import PublishingConfigError, load_config
from pipelines.settings import (
    FRESHNESS_DAYS,
    PROJECT_ROOT,
    SettingsError,
    paths,
    settings,
    stale_after_days,
)

PIPELINES = PROJECT_ROOT / "pipelines"


def test_no_copies_of_the_strict_base_or_the_formatter():
    copies = []
    for path in sorted(PIPELINES.rglob("*.py")):
        text = path.read_text()
        if re.search(r'ConfigDict\(extra="forbid"', text) or "issue['loc']" in text:
            copies.append(path.relative_to(PROJECT_ROOT).as_posix())
    assert copies == ["pipelines/config_base.py"]
    assert Strict.model_config["extra"] == "forbid"


@pytest.mark.parametrize(
    ("value", "good"),
    [
        ("https://data.cityofchicago.org", True),
        ("http://127.0.0.1:8123/resource/x.json", True),
        ("ftp://data.example.org", False),
        ("file:///etc/passwd", False),
        ("https://", False),
        ("https://data example.org", False),
        ("data.cityofchicago.org", False),
    ],
)
def test_urls_are_checked_by_pydantic(value, good):
    if good:
        assert check_http_url(value) == value  # the text is kept as written
    else:
        with pytest.raises(ValueError, match="must be an http\\(s\\) URL"):
            check_http_url(value)


def test_publishing_email_and_url_use_pydantic_types(tmp_path):
    path = tmp_path / "publishing.yml"
    path.write_text(yaml.safe_dump({"contact": {"email": "opendata@city"}}))
    with pytest.raises(PublishingConfigError) as error:
        load_config(path)
    assert str(error.value).startswith(f"{path}: invalid publishing settings: contact.email:")
    assert "must be an email address" in str(error.value)
    path.write_text(yaml.safe_dump({"base_url": "ftp://files.city.gov/releases"}))
    with pytest.raises(PublishingConfigError, match="base_url: .*must be an http\\(s\\) URL"):
        load_config(path)
    path.write_text(yaml.safe_dump({"base_url": "https://data.city.gov/releases/"}))
    assert load_config(path).base_url == "https://data.city.gov/releases"
    assert check_email("open.data@city.gov") == "open.data@city.gov"


def test_one_freshness_table_and_one_override_for_every_reader():
    env = {"CIVIC_FRESHNESS_DAYS": "daily=3, yearly=500"}
    # Dagster's freshness checks, the catalog's reference rows and dbt's source freshness.
    assert freshness_windows(env)["daily"] == timedelta(days=3)
    assert freshness_windows(env)["monthly"] == timedelta(days=FRESHNESS_DAYS["monthly"])
    assert stale_after_days("daily", env) == 3 and stale_after_days("static", env) is None
    assert stale_after_days("daily", {}) == FRESHNESS_DAYS["daily"] == 2


def test_dbt_source_freshness_follows_the_override(monkeypatch):
    nyc = city_catalog("nyc")
    cadence = {dataset.raw_table: dataset.cadence for dataset in nyc.datasets.values()}

    def warn_after() -> dict[str, int | None]:
        document = yaml.safe_load(sources_yaml(nyc))
        tables = document["sources"][0]["tables"]
        return {
            table["name"]: table["config"].get("freshness", {}).get("warn_after", {}).get("count")
            for table in tables
        }

    monkeypatch.delenv("CIVIC_FRESHNESS_DAYS", raising=False)
    assert warn_after() == {table: FRESHNESS_DAYS.get(c) for table, c in cadence.items()}
    monkeypatch.setenv("CIVIC_FRESHNESS_DAYS", "monthly=41")
    counts = warn_after()
    assert {counts[t] for t, c in cadence.items() if c == "monthly"} == {41}
    assert all(counts[t] is None for t, c in cadence.items() if c == "static")


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"CIVIC_FRESHNESS_DAYS": "hourly=1"}, "CIVIC_FRESHNESS_DAYS: unknown cadence 'hourly'"),
        ({"CIVIC_FRESHNESS_DAYS": "daily=1.5"}, "CIVIC_FRESHNESS_DAYS: 'daily=1.5' needs a posi"),
        ({"CIVIC_TIMEZONE": "Mars/Olympus"}, "CIVIC_TIMEZONE: not an IANA time zone"),
        ({"CIVIC_DUCKDB_MEMORY_LIMIT": "lots"}, "CIVIC_DUCKDB_MEMORY_LIMIT: not a memory size"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(env, expected):
    with pytest.raises(SettingsError) as error:
        settings(env)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


def test_freshness_errors_keep_their_name():
    with pytest.raises(FreshnessConfigError, match="positive number of days"):
        freshness_windows({"CIVIC_FRESHNESS_DAYS": "daily=0"})


def test_settings_read_the_process_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CIVIC_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CIVIC_WAREHOUSE", raising=False)
    assert paths().home == tmp_path / "home"
    assert paths().warehouse == tmp_path / "home" / "civic.duckdb"
    monkeypatch.setenv("CIVIC_WAREHOUSE", str(tmp_path / "elsewhere.duckdb"))
    assert paths().warehouse == Path(tmp_path / "elsewhere.duckdb")
    monkeypatch.setenv("CIVIC_TIMEZONE", "America/Chicago")
    monkeypatch.setenv("CIVIC_DAGSTER_URL", "http://dagster.city.internal:3000")
    current = settings()
    assert current.timezone == "America/Chicago"
    assert current.dagster_url == "http://dagster.city.internal:3000"
    monkeypatch.setenv("CIVIC_TIMEZONE", "Nowhere/Town")
    with pytest.raises(SettingsError, match="^CIVIC_TIMEZONE: "):
        settings()


def test_notifier_reports_bad_addresses_and_never_raises():
    addresses = {"CIVIC_SMTP_HOST": "relay", "CIVIC_NOTIFY_EMAIL_TO": "ops@example.org"}
    bad_sender = Notifier.from_env({**addresses, "CIVIC_NOTIFY_EMAIL_FROM": "civic-at-city"})
    assert bad_sender.smtp is None
    assert "not an email address: 'civic-at-city'" in bad_sender.problems[0]
    hook = Notifier.from_env({"CIVIC_NOTIFY_WEBHOOK_URL": "hooks.example.org/T0KEN-abcdef"})
    assert hook.webhook_url is None and "T0KEN" not in " ".join(hook.problems)
    other = Notifier.from_env({"CIVIC_TIMEZONE": "Nowhere/Town", **addresses})
    assert not other.configured and other.problems[0].startswith("CIVIC_TIMEZONE: ")

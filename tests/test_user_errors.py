"""Every mistake a user can make in a file, argument or setting is one line through `civic`:
the file or key, what to do, exit code 1 (files, setup) or 2 (what was typed), no traceback.

Each case runs the installed command (`.venv/bin/civic`) in a subprocess; file mistakes are
made in a copy of the project (its code imported through PYTHONPATH), never in sources/.
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CIVIC = REPO / ".venv" / "bin" / "civic"
IGNORED = shutil.ignore_patterns("target", "logs", "__pycache__", "dbt_packages")


def civic(args: list[str], tmp_path: Path, project: Path = REPO, **env: str):
    environment = {
        **os.environ,
        "CIVIC_HOME": str(tmp_path / "home"),
        "DAGSTER_HOME": str(tmp_path / "home" / "dagster"),
        **env,
    }
    environment.pop("CIVIC_WAREHOUSE", None)
    if project != REPO:
        environment["PYTHONPATH"] = str(project)
    return subprocess.run(
        [str(CIVIC), *args], cwd=project, env=environment, capture_output=True, text=True
    )


def broken_copy(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the project whose `file` (under sources/) has one mistake."""
    project = tmp_path / "project"
    for name in ("pipelines", "dbt_project", "sources"):
        shutil.copytree(REPO / name, project / name, ignore=IGNORED)
    path = project / "sources" / file
    text = path.read_text()
    assert old in text, f"{file} no longer contains {old!r}"
    path.write_text(text.replace(old, new, 1))
    return project


def assert_one_line(result, code: int, *named: str) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(lines) == 1, result.stderr[-3000:]
    assert result.returncode == code, result.stderr
    for text in named:
        assert text in lines[0], lines[0]
    return lines[0]


FILE_MISTAKES = {
    "catalog": ("cities/nyc.yml", "kind: socrata", "kind: sokrata", ["nyc.yml", "portal"]),
    "registry": (
        "problems/cities/chicago.yml",
        "  violent_crime:\n",
        "  violent_crime:\n    colour: red\n",
        ["chicago.yml", "colour"],
    ),
    "quality rule": (
        "quality/raw/chicago_appropriations.yml",
        "    check: columns_exist\n",
        "    check: columns_exist\n    colour: red\n",
        ["chicago_appropriations.yml", "colour"],
    ),
}


@pytest.mark.parametrize("mistake", FILE_MISTAKES)
def test_a_mistake_in_a_file_is_one_line_from_validate(mistake, tmp_path):
    file, old, new, named = FILE_MISTAKES[mistake]
    project = broken_copy(tmp_path, file, old, new)
    assert_one_line(civic(["validate"], tmp_path, project), 1, "civic validate: ", *named)


def test_a_registry_mistake_is_one_line_from_run(tmp_path):
    """The registry is read when the definitions load (the issue's 25-line traceback)."""
    file, old, new, named = FILE_MISTAKES["registry"]
    project = broken_copy(tmp_path, file, old, new)
    line = assert_one_line(civic(["run"], tmp_path, project), 1, "civic run: ", *named)
    assert "civic validate" in line  # what to do next


def test_a_catalog_mistake_is_one_line_from_run(tmp_path):
    file, old, new, named = FILE_MISTAKES["catalog"]
    project = broken_copy(tmp_path, file, old, new)
    assert_one_line(civic(["run"], tmp_path, project), 1, "civic run: ", *named)


def test_an_unknown_city_is_a_usage_error(tmp_path):
    result = civic(["run", "--city", "atlantis"], tmp_path)
    assert_one_line(result, 2, "--city atlantis", "sources/cities/atlantis.yml", "chicago")


def test_a_bad_setting_in_the_environment_is_a_usage_error(tmp_path):
    result = civic(["status"], tmp_path, CIVIC_FRESHNESS_DAYS="weekly=soon")
    assert_one_line(result, 2, "CIVIC_FRESHNESS_DAYS")


def test_a_bad_backfill_range_is_a_usage_error(tmp_path):
    result = civic(
        ["backfill", "--city", "chicago", "--dataset", "crimes", "--from", "2022-13"]
        + ["--to", "2022-01"],
        tmp_path,
    )
    assert_one_line(result, 2, "2022-13")


def test_publishing_without_a_warehouse_says_to_run_first(tmp_path):
    assert_one_line(civic(["publish"], tmp_path), 1, "civic publish", "civic run")

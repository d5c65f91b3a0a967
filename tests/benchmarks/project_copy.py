"""A copy of the project to benchmark on: the same code, catalogs changed by configuration only.

The benchmarks never touch the repository's own `sources/` or warehouse: they copy the code,
the dbt project and the sources into a scratch folder and change the copy's catalogs, e.g.
point Chicago's crimes at 10 M rows of monthly CSV files, or add simulated cities (copies of
the bundled catalogs under new ids, reading the same bundled files). Commands run with the
copy as working directory, so `python -m pipelines.cli` imports the copy's code.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
COPIED = ("pipelines", "dbt_project", "sources", "pyproject.toml")
IGNORED = shutil.ignore_patterns("target", "logs", "__pycache__", "*.pyc", "dbt_packages")


def copy_project(target: Path) -> Path:
    """A fresh copy of the code, dbt project and sources under `target`."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=IGNORED)
        else:
            shutil.copy2(source, target / name)
    return target


def link_files(files: list[Path], folder: Path) -> None:
    """Hard links (same bytes, no copy; symlinks out of sources/ are refused by design)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        os.link(path, folder / path.name)


def crimes_from_csv(project: Path, crimes_dir: Path, pattern: str = "crimes_*.csv") -> Path:
    """Point the copy's Chicago crimes at the benchmark's monthly CSV files."""
    folder = project / "sources" / "chicago" / "crimes"
    link_files(sorted(crimes_dir.glob(pattern)), folder)
    catalog = project / "sources" / "cities" / "chicago.yml"
    text = catalog.read_text()
    text, count = re.subn(
        r"bundled: \{path: chicago/crimes_2022\.parquet, format: parquet\}",
        "bundled: {path: chicago/crimes/crimes_*.csv, format: csv}",
        text,
    )
    assert count == 1, "the Chicago catalog no longer names crimes_2022.parquet"
    # The benchmark's rows go back to 1976 (real 2022 rows shifted by whole years).
    text, count = re.subn(r'start: "2001-01"', 'start: "1976-01"', text)
    assert count == 1, "the Chicago crimes no longer start in 2001-01"
    catalog.write_text(text)
    return folder


def simulated_cities(project: Path, total: int) -> list[str]:
    """Copies of the bundled catalogs under new ids until there are `total` cities, each
    with its own raw tables and quality suites, reading the same bundled files."""
    cities_dir = project / "sources" / "cities"
    originals = sorted(cities_dir.glob("*.yml"))
    suites = project / "sources" / "quality" / "raw"
    made = []
    number = 2
    while len(originals) + len(made) < total:
        for original in originals:
            if len(originals) + len(made) >= total:
                break
            city = original.stem
            copy = f"{city}_{number}"
            text = original.read_text()
            text = re.sub(rf"^city: {city}$", f"city: {copy}", text, flags=re.M)
            text = re.sub(r"^name: (.+)$", rf"name: \1 {number}", text, count=1, flags=re.M)
            text = re.sub(rf"raw_table: {city}_", f"raw_table: {copy}_", text)
            (cities_dir / f"{copy}.yml").write_text(text)
            for suite in suites.glob(f"{city}_*.yml"):
                table = suite.stem.removeprefix(f"{city}_")
                shutil.copy(suite, suites / f"{copy}_{table}.yml")
            made.append(copy)
        number += 1
    return made

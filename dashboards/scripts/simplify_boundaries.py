"""Make the small boundary files the dashboards' maps draw, from the real published files.

Reads ``sources/boundaries/boundaries.yml`` (one entry per ``<city>/<area_type>``: the source
file under the shared data folder, the mapshaper steps that normalise its properties to
``area_id`` / ``area_name``, the share of vertices to keep) and writes
``sources/boundaries/<city>/<area_type>.geojson``. Simplification is mapshaper's (pinned
version, run with npx), which simplifies each shared border once, so neighbouring areas keep
meeting without gaps or overlaps. Prints a Markdown table of features, vertices and sizes for
``sources/boundaries/README.md``.

Usage: python dashboards/scripts/simplify_boundaries.py --shared-data /work/shared/data
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
BOUNDARIES_DIR = REPO_ROOT / "sources" / "boundaries"
MAPSHAPER = "mapshaper@0.7.70"
COORDINATE_PRECISION = "0.00001"  # about 1 m: far below what a city map can show


def _vertices(geometry: dict) -> int:
    def count(coords) -> int:
        return 1 if isinstance(coords[0], float | int) else sum(count(c) for c in coords)

    return count(geometry["coordinates"])


def check(path: Path) -> tuple[int, int]:
    """Every feature has a unique text area_id and an area_name; returns (features, vertices)."""
    features = json.loads(path.read_text())["features"]
    ids = [f["properties"].get("area_id") for f in features]
    problems = [
        f"feature {i}: {f['properties']}"
        for i, f in enumerate(features)
        if not isinstance(f["properties"].get("area_id"), str)
        or not f["properties"].get("area_name")
    ]
    if problems or len(set(ids)) != len(ids):
        sys.exit(f"{path}: bad area_id/area_name or duplicate ids: {problems[:3]} {sorted(ids)}")
    return len(features), sum(_vertices(f["geometry"]) for f in features)


def simplify(key: str, entry: dict, shared_data: Path) -> Path:
    out = BOUNDARIES_DIR / f"{key}.geojson"
    out.parent.mkdir(parents=True, exist_ok=True)
    steps = [arg for step in entry.get("steps", []) for arg in shlex.split(step)]
    cmd = [
        "npx", "--yes", MAPSHAPER,
        "-i", str(shared_data / entry["source"]),
        *steps,
        "-filter-fields", "area_id,area_name",
        "-clean",  # before simplifying: a later -clean rebuilds the full-resolution arcs
        "-simplify", entry["keep"], "weighted", "keep-shapes",
        "-o", f"precision={COORDINATE_PRECISION}", "format=geojson", str(out),
    ]  # fmt: skip
    subprocess.run(cmd, cwd=REPO_ROOT, check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared-data", type=Path, required=True, help="folder of MANIFEST.md")
    args = parser.parse_args()
    config = yaml.safe_load((BOUNDARIES_DIR / "boundaries.yml").read_text())
    rows = []
    for key, entry in config.items():
        source = args.shared_data / entry["source"]
        out = simplify(key, entry, args.shared_data)
        features, vertices = check(out)
        rows.append(
            f"| `{key}.geojson` | {features} | {vertices:,} | {out.stat().st_size / 1000:.0f} KB "
            f"| {source.stat().st_size / 1e6:.1f} MB |"
        )
    print("| file | areas | vertices | size | published file |")
    print("| --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

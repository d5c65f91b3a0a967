"""Fast tests of pipelines/dashboards.py (no npm, no Evidence build)."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipelines import dashboards, site_server
from pipelines.dashboards import DashboardBuildError


def _project(tmp_path: Path, *tables: str) -> Path:
    """A minimal dashboards dir whose source queries read the given export tables."""
    project = tmp_path / "dashboards"
    queries = project / "sources" / "warehouse"
    queries.mkdir(parents=True)
    for table in tables:
        (queries / f"{table}.sql").write_text(
            f"select * from read_parquet('exports/{table}.parquet')\n"
        )
    return project


def _exports(tmp_path: Path, *names: str) -> Path:
    exports = tmp_path / "exports_in"
    exports.mkdir()
    for name in names:
        (exports / name).write_bytes(b"PAR1 fake " + name.encode())
    return exports


def test_real_source_queries_read_the_contract_tables():
    assert {"fct_indicator_values.parquet", "dim_indicators.parquet"} <= set(
        dashboards.required_exports()
    )


def test_stage_exports_copies_parquet_and_drops_stale_files(tmp_path):
    project = _project(tmp_path, "fct_indicator_values", "dim_indicators")
    exports = _exports(
        tmp_path, "fct_indicator_values.parquet", "dim_indicators.parquet", "extra.parquet"
    )
    (exports / "notes.txt").write_text("not parquet")
    staged_dir = project / "exports"
    staged_dir.mkdir()
    (staged_dir / "removed_mart.parquet").write_bytes(b"old")

    staged = dashboards.stage_exports(exports, project)

    names = sorted(p.name for p in staged_dir.iterdir())
    assert names == ["dim_indicators.parquet", "extra.parquet", "fct_indicator_values.parquet"]
    assert sorted(p.name for p in staged) == names
    assert (staged_dir / "dim_indicators.parquet").read_bytes() == (
        exports / "dim_indicators.parquet"
    ).read_bytes()


def test_missing_exports_dir_names_the_path(tmp_path):
    project = _project(tmp_path, "dim_indicators")
    missing = tmp_path / "no" / "such" / "exports"
    with pytest.raises(DashboardBuildError) as err:
        dashboards.stage_exports(missing, project)
    assert err.value.step == "stage exports"
    assert str(missing) in str(err.value)
    assert "Next:" in str(err.value)


def test_missing_required_export_is_named_and_nothing_is_staged(tmp_path):
    project = _project(tmp_path, "fct_indicator_values", "dim_indicators")
    exports = _exports(tmp_path, "dim_indicators.parquet")
    with pytest.raises(DashboardBuildError, match="fct_indicator_values.parquet"):
        dashboards.stage_exports(exports, project)
    assert not (project / "exports").exists()


def test_npm_deps_stale_when_missing_or_older_than_lockfile(tmp_path):
    project = tmp_path / "dashboards"
    project.mkdir()
    lock = project / "package-lock.json"
    lock.write_text("{}")
    assert dashboards.npm_deps_stale(project)  # no node_modules

    marker = project / "node_modules" / ".package-lock.json"
    marker.parent.mkdir()
    marker.write_text("{}")
    os.utime(lock, (1_000, 1_000))
    os.utime(marker, (2_000, 2_000))
    assert not dashboards.npm_deps_stale(project)

    os.utime(lock, (3_000, 3_000))  # lockfile changed after the install
    assert dashboards.npm_deps_stale(project)


def test_run_step_raises_with_step_name_and_output_tail(tmp_path, capsys):
    cmd = [sys.executable, "-c", "print('progress line'); print('boom'); raise SystemExit(3)"]
    with pytest.raises(DashboardBuildError) as err:
        dashboards.run_step("evidence build", cmd, tmp_path, "fix the page")
    message = str(err.value)
    assert err.value.step == "evidence build"
    assert "exit code 3" in message and "boom" in message and "Next: fix the page" in message
    assert "progress line" in capsys.readouterr().out  # output is streamed


def test_run_step_with_a_log_keeps_the_output_off_the_screen(tmp_path, capsys):
    """`civic dashboards build` writes npm's and Evidence's lines to its log file: the screen
    gets a line when a step starts and one when it ends, and a failure still quotes the tail."""
    log_file = tmp_path / "dashboards.log"
    ok = [sys.executable, "-c", "print('built 12 pages')"]
    bad = [sys.executable, "-c", "print('Error in page x'); raise SystemExit(2)"]
    with log_file.open("w") as log:
        assert dashboards.run_step("evidence build", ok, tmp_path, "fix", log=log) == [
            "built 12 pages"
        ]
        with pytest.raises(DashboardBuildError) as err:
            dashboards.run_step("precompress", bad, tmp_path, "check node", log=log)
    screen = capsys.readouterr().out.splitlines()
    assert screen[0] == "[dashboards] evidence build ..."
    assert re.fullmatch(r"\[dashboards\] evidence build: done in \d+ s", screen[1])
    assert screen[2:] == ["[dashboards] precompress ..."]
    assert "Error in page x" in str(err.value) and "exit code 2" in str(err.value)
    logged = log_file.read_text()
    assert "built 12 pages" in logged and "Error in page x" in logged


def test_run_step_missing_command_is_a_build_error(tmp_path):
    with pytest.raises(DashboardBuildError, match="command not found"):
        dashboards.run_step("npm ci", ["definitely-not-a-command-xyz"], tmp_path, "install npm")


def test_serve_site_without_build_says_to_build_first(tmp_path):
    with pytest.raises(DashboardBuildError, match="build it first"):
        dashboards.serve_site(port=0, build_dir=tmp_path / "build")


def test_run_step_turns_a_hang_into_a_timeout_error(tmp_path, monkeypatch):
    monkeypatch.setattr(dashboards, "STEP_TIMEOUT_SECONDS", 0.5)
    cmd = [sys.executable, "-c", "import time; print('waiting', flush=True); time.sleep(60)"]
    with pytest.raises(DashboardBuildError, match="timed out"):
        dashboards.run_step("evidence sources", cmd, tmp_path, "check the network patch")


def test_query_errors_are_found_in_evidence_build_output():
    output = [
        "  ✔ Loading plugins & sources",
        'bad | Error in Query! Binder Error: Referenced column "x" not found',
        "Build complete --> ./build",
    ]
    assert dashboards.query_errors(output) == [output[1]]
    assert dashboards.query_errors(output[::2]) == []


def test_source_errors_are_found_in_evidence_sources_output():
    output = [
        "    dim_indicators ✔ Finished, wrote 11 rows.",
        "    fct_indicator_gaps ✖ Invalid argument error: Need at least 128 bytes for bitmap",
        "  [INFO]:    ✅ Done!",
    ]
    assert dashboards.source_errors(output) == [output[1].strip()]
    assert dashboards.source_errors(output[::2]) == []


# --------------------------------------------------------------------------------------------
# Boundaries, default city, precompression and the site server
# --------------------------------------------------------------------------------------------
def test_stage_boundaries_copies_the_bundled_files_with_an_index(tmp_path):
    index = dashboards.stage_boundaries(dashboards.BOUNDARIES_DIR, tmp_path)
    staged = tmp_path / dashboards.STAGED_BOUNDARIES_SUBDIR
    bundled = sorted(dashboards.BOUNDARIES_DIR.glob("*/*.geojson"))
    assert bundled, "the repository bundles boundary files"
    assert json.loads((staged / "index.json").read_text()) == index
    assert sum(len(types) for types in index.values()) == len(bundled)
    for path in bundled:
        assert path.stem in index[path.parent.name]
        assert (staged / path.parent.name / path.name).read_bytes() == path.read_bytes()


def test_bundled_boundaries_match_the_indicators_area_ids():
    """Area ids as fct_indicator_values writes them: Chicago '1'..'77', NYC county FIPS."""
    areas = json.loads(
        (dashboards.BOUNDARIES_DIR / "chicago" / "community_area.geojson").read_text()
    )
    assert sorted(int(f["properties"]["area_id"]) for f in areas["features"]) == list(range(1, 78))
    boroughs = json.loads((dashboards.BOUNDARIES_DIR / "nyc" / "borough.geojson").read_text())
    assert {f["properties"]["area_id"] for f in boroughs["features"]} == {
        "36005", "36047", "36061", "36081", "36085"
    }  # fmt: skip
    for path in dashboards.BOUNDARIES_DIR.glob("*/*.geojson"):
        assert path.stat().st_size < 100_000, f"{path} should be simplified (small)"


@pytest.mark.parametrize(
    "content, problem",
    [
        ("not json", "not a FeatureCollection"),
        (
            '{"type": "FeatureCollection", "features": [{"properties": {"area_id": 1}}]}',
            "unique text",
        ),
        ('{"features": [{"properties": {"name": "x"}}]}', "properties.area_id"),
    ],
)
def test_bad_boundary_file_is_named(tmp_path, content, problem):
    bad = tmp_path / "boundaries" / "somecity" / "ward.geojson"
    bad.parent.mkdir(parents=True)
    bad.write_text(content)
    with pytest.raises(DashboardBuildError, match=problem) as err:
        dashboards.stage_boundaries(tmp_path / "boundaries", tmp_path / "site")
    assert str(bad) in str(err.value)


def test_default_city_is_the_first_by_name(tmp_path):
    import duckdb

    duckdb.sql(
        "select * from (values ('zz', 'Alpha Town'), ('aa', 'Zeta City')) t(city, city_name)"
    ).write_parquet(str(tmp_path / "dim_cities.parquet"))
    assert dashboards.default_city(tmp_path) == "zz"


def test_npm_deps_stale_when_a_patch_changes(tmp_path):
    project = tmp_path / "dashboards"
    (project / "node_modules").mkdir(parents=True)
    (project / "package-lock.json").write_text("{}")
    marker = project / "node_modules" / ".package-lock.json"
    marker.write_text("{}")
    patch = project / "patches" / "pkg+1.0.0.patch"
    patch.parent.mkdir()
    patch.write_text("diff")
    os.utime(project / "package-lock.json", (1_000, 1_000))
    os.utime(patch, (1_000, 1_000))
    os.utime(marker, (2_000, 2_000))
    assert not dashboards.npm_deps_stale(project)
    os.utime(patch, (3_000, 3_000))
    assert dashboards.npm_deps_stale(project)


def test_precompress_writes_brotli_and_gzip_copies(tmp_path):
    site = tmp_path / "build"
    (site / "_app").mkdir(parents=True)
    page = site / "index.html"
    page.write_text("<p>the same words again and again</p>\n" * 400)
    (site / "_app" / "tiny.js").write_text("x")  # too small to be worth it
    (site / "photo.png").write_bytes(os.urandom(5000))  # not compressible, not touched
    totals = dashboards.precompress(site)
    assert gzip.decompress((site / "index.html.gz").read_bytes()) == page.read_bytes()
    assert (site / "index.html.br").stat().st_size < page.stat().st_size / 5
    assert not (site / "_app" / "tiny.js.gz").exists() and not (site / "photo.png.gz").exists()
    assert totals["files"] == 1 and totals["original_bytes"] == page.stat().st_size


def _serve(site: Path):
    server = site_server.make_server(site, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _get(url: str, **headers) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_site_server_sends_precompressed_files_with_their_encoding(tmp_path):
    site = tmp_path / "build"
    (site / "_app" / "immutable").mkdir(parents=True)
    (site / "problems" / "a").mkdir(parents=True)
    html = b"<html>brief</html>" * 200
    (site / "index.html").write_bytes(html)
    (site / "index.html.gz").write_bytes(gzip.compress(html))
    (site / "index.html.br").write_bytes(b"brotli bytes stand-in")
    wasm = b"\0asm" + bytes(5000)
    (site / "_app" / "immutable" / "duckdb.wasm").write_bytes(wasm)
    (site / "_app" / "immutable" / "duckdb.wasm.gz").write_bytes(gzip.compress(wasm))
    (site / "problems" / "a" / "index.html").write_text("problem a")
    server, base = _serve(site)
    try:
        status, headers, body = _get(base + "/", **{"Accept-Encoding": "gzip, br;q=1.0"})
        assert status == 200 and headers["Content-Encoding"] == "br"
        assert body == b"brotli bytes stand-in" and headers["Content-Type"] == "text/html"
        status, headers, body = _get(base + "/", **{"Accept-Encoding": "gzip, br;q=0"})
        assert headers["Content-Encoding"] == "gzip" and gzip.decompress(body) == html
        status, headers, body = _get(base + "/")  # no Accept-Encoding: the original
        assert "Content-Encoding" not in headers and body == html
        assert headers["Cache-Control"] == "no-cache" and headers["Vary"] == "Accept-Encoding"
        status, headers, body = _get(
            base + "/_app/immutable/duckdb.wasm", **{"Accept-Encoding": "gzip"}
        )
        assert headers["Content-Type"] == "application/wasm" and gzip.decompress(body) == wasm
        assert "immutable" in headers["Cache-Control"]
        status, headers, _ = _get(base + "/", **{"If-Modified-Since": headers["Last-Modified"]})
        assert status == 304
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
        connection.request("GET", "/problems/a?city=x")  # a folder without its slash
        response = connection.getresponse()
        assert response.status == 301 and response.getheader("Location") == "/problems/a/?city=x"
        connection.close()
        assert _get(base + "/problems/a/")[2] == b"problem a"
        assert _get(base + "/no/such/page/")[0] == 404
    finally:
        server.shutdown()
        server.server_close()


def test_accept_encoding_parsing():
    assert site_server.accepted_encodings("gzip, deflate, br") == {"gzip", "deflate", "br"}
    assert site_server.accepted_encodings("br;q=0, gzip;q=0.5") == {"gzip"}
    assert site_server.accepted_encodings(None) == set()


def test_stage_exports_reads_one_generation_while_a_run_swaps_the_link(tmp_path, monkeypatch):
    """A run that publishes a new export generation during staging (the `exports` link moves
    after the first file is copied) does not give the site files of both generations."""
    project = _project(tmp_path, "fct_indicator_values", "dim_indicators")
    names = ("dim_indicators.parquet", "fct_indicator_values.parquet")
    old, new = tmp_path / "gen-old", tmp_path / "gen-new"
    for folder, content in ((old, b"old"), (new, b"new")):
        folder.mkdir()
        for name in names:
            (folder / name).write_bytes(content)
    link = tmp_path / "exports"
    link.symlink_to(old)
    copy = shutil.copy2

    def copy_then_swap(src, dst):
        copied = copy(src, dst)
        if link.resolve() == old:  # a run publishes the new generation
            link.unlink()
            link.symlink_to(new)
        return copied

    monkeypatch.setattr(dashboards.shutil, "copy2", copy_then_swap)
    staged = dashboards.stage_exports(link, project)
    assert link.resolve() == new  # the swap did happen mid-way
    assert [path.read_bytes() for path in staged] == [b"old", b"old"]

"""No city in code: the SQL and Python are written once for every city.

Greps `dbt_project/models`, `dbt_project/macros` and `pipelines/` for the shipped city ids and
names (from the catalogs) and fails on a hit outside comments, docstrings, yml descriptions,
docs blocks, dbt unit-test fixtures (test data, like the singular tests in dbt_project/tests)
and seeds. Files generated from the catalogs (dbt sources, the generated macro) are data,
not code, and are skipped.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import yaml

from pipelines.catalog import city_catalogs
from pipelines.settings import DBT_PROJECT_DIR, PROJECT_ROOT

GENERATED = [
    DBT_PROJECT_DIR / "models" / "staging" / "sources",
    DBT_PROJECT_DIR / "macros" / "generated",
]


def city_words() -> re.Pattern:
    words = set()
    for catalog in city_catalogs():
        words.add(catalog.city)
        words.add(catalog.name)
        words.update(catalog.aliases)
        # 'New York City' -> also 'New York'; 'Washington, DC' -> 'Washington'
        words.add(re.split(r"\s+City$|,", catalog.name)[0])
    alternatives = "|".join(sorted((re.escape(w) for w in words if len(w) >= 2), key=len))
    return re.compile(rf"(?<![A-Za-z0-9_])({alternatives})(?![A-Za-z0-9_])", re.IGNORECASE)


def sql_code(text: str) -> str:
    text = re.sub(r"\{#.*?#\}", " ", text, flags=re.DOTALL)
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return "\n".join(line.split("--", 1)[0] for line in text.splitlines())


def python_code(text: str) -> str:
    docstrings = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add((body[0].lineno, body[0].col_offset))
    kept = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.COMMENT:
            continue
        if token.type == tokenize.STRING and token.start in docstrings:
            continue
        kept.append(token.string)
    return " ".join(kept)


def yaml_code(text: str) -> str:
    def strip(node):
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in ("description", "unit_tests")}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return yaml.safe_dump(strip(yaml.safe_load(text)))


def code_files() -> list[Path]:
    roots = [DBT_PROJECT_DIR / "models", DBT_PROJECT_DIR / "macros", PROJECT_ROOT / "pipelines"]
    return [
        path
        for root in roots
        for path in sorted(root.rglob("*"))
        if path.suffix in {".sql", ".py", ".yml"}
        and not any(path.is_relative_to(g) for g in GENERATED)
    ]


def code_of(path: Path) -> str:
    text = path.read_text()
    if path.suffix == ".sql":
        return sql_code(text)
    if path.suffix == ".py":
        return python_code(text)
    return yaml_code(text)


def test_no_shipped_city_in_models_macros_or_pipelines():
    pattern = city_words()
    hits = [
        f"{path.relative_to(PROJECT_ROOT)}: {match.group(0)!r}"
        for path in code_files()
        for match in pattern.finditer(code_of(path))
    ]
    assert hits == []


def test_the_grep_would_catch_a_city_in_code(tmp_path):
    """The strippers keep code and drop comments: a city in code is found, in a comment not."""
    pattern = city_words()
    city = city_catalogs()[0].city
    sql = f"-- {city} in a comment\nselect 1 where city = '{city}'"
    assert pattern.findall(sql_code(sql)) == [city]
    python = f'"""Docstring about {city}."""\n# {city}\nCITY = "{city}"\n'
    assert pattern.findall(python_code(python)) == [city]
    yml = f"models:\n  - name: m\n    description: {city}\n    tests: [{{accepted: [{city}]}}]\n"
    assert pattern.findall(yaml_code(yml)) == [city]
    assert len(code_files()) > 50

"""A city's offence classification: its published offence values -> FBI UCR Part I offence.

One CSV per city under `sources/offenses/` (named by the catalog's `offenses:`), one rule per
row: an incident matches a rule when its offence equals `offense` (case-insensitive) and its
description is LIKE `description_like` and NOT LIKE `description_not_like` (blank: no
exclusion). The rule gives the UCR offence and the category (`offenses/categories.yml`);
`rationale` says why, for the reader of the indicator. Validated here so an unknown category
or offence, or a rule naming a category its offence does not belong to, fails with the file,
row and column named. Rules must not overlap on the data (a dbt test checks the incidents).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipelines.canonical import offense_categories, ucr_offenses
from pipelines.settings import SOURCES_DIR

COLUMNS = [
    "rule_id",
    "offense",
    "description_like",
    "description_not_like",
    "ucr_offense",
    "category",
    "rationale",
]


class OffenseRulesError(ValueError):
    """An offence classification file is invalid; the message names file, row and column."""


@dataclass(frozen=True)
class OffenseRule:
    rule_id: int
    offense: str
    description_like: str
    description_not_like: str | None
    ucr_offense: str | None
    category: str
    rationale: str


@cache
def offense_rules(relative_path: str, sources_dir: Path = SOURCES_DIR) -> tuple[OffenseRule, ...]:
    path = sources_dir / relative_path
    try:
        with path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
            header = list(rows[0]) if rows else []
    except FileNotFoundError as error:
        raise OffenseRulesError(f"{path}: offence classification file not found") from error
    except UnicodeDecodeError as error:
        raise OffenseRulesError(f"{path}: not UTF-8 ({error.reason})") from error
    if header != COLUMNS:
        raise OffenseRulesError(f"{path}: the header must be {','.join(COLUMNS)}; got {header}")
    categories = offense_categories(sources_dir)
    offenses = ucr_offenses(sources_dir)
    rules: list[OffenseRule] = []
    for line, row in enumerate(rows, start=2):
        where = f"{path}: line {line}"
        try:
            rule_id = int(row["rule_id"])
        except ValueError:
            raise OffenseRulesError(f"{where}: rule_id: not a whole number") from None
        if not row["offense"].strip():
            raise OffenseRulesError(f"{where}: offense: empty (the published offence value)")
        category = row["category"].strip()
        if category not in categories:
            raise OffenseRulesError(
                f"{where}: category: unknown category {category!r} "
                f"(known: {', '.join(categories)}; sources/offenses/categories.yml)"
            )
        ucr = row["ucr_offense"].strip() or None
        if ucr is not None and ucr not in offenses:
            raise OffenseRulesError(
                f"{where}: ucr_offense: not an FBI UCR Part I offence: {ucr!r} "
                f"(known: {', '.join(sorted(offenses))})"
            )
        if ucr is not None and offenses[ucr] != category:
            raise OffenseRulesError(
                f"{where}: category: {ucr!r} is a {offenses[ucr]} offence, not {category}"
            )
        if ucr is None and categories[category].ucr_offenses:
            raise OffenseRulesError(f"{where}: ucr_offense: a {category} rule needs its offence")
        rules.append(
            OffenseRule(
                rule_id=rule_id,
                offense=row["offense"].strip(),
                description_like=row["description_like"].strip() or "%",
                description_not_like=row["description_not_like"].strip() or None,
                ucr_offense=ucr,
                category=category,
                rationale=row["rationale"].strip(),
            )
        )
    ids = [rule.rule_id for rule in rules]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise OffenseRulesError(f"{path}: rule_id used more than once: {repeated}")
    if not rules:
        raise OffenseRulesError(f"{path}: no rules")
    return tuple(rules)

"""Numbers parsed deliberately: a column's number format is stated or detected, never guessed.

A catalog may state a column's format (`numbers:` in `sources/cities/<city>.yml`: decimal
point or comma, thousands separator, accounting parentheses, currency sign); values that do
not match it are quarantined with their row. Columns a quality suite reads as numbers
(`number`, `dollars`, `percent`) without a stated format are detected from the whole column:

- every value fits the decimal point (`1,234.50`) or every value fits the decimal comma
  (`1.234,50`): that format;
- some values fit only one and others only the other (`7028929.00` beside `7028929,00`): the
  column mixes formats and the load is refused, naming both and what to state in the catalog;
- values that read differently under the two (`1,234`: 1234 or 1.234) and nothing else in
  the column to tell them apart: the format the file's other number columns show (a file
  keeps one convention), else refused as ambiguous.

Values that fit neither format are quarantined. Decimal-comma columns are rewritten with a
decimal point in `raw` (and no thousands separator) so every reader downstream sees one
format; decimal-point columns stay exactly as published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelines.catalog import NumberFormat

POINT = NumberFormat(decimal=".", thousands=",", parentheses=True)
COMMA = NumberFormat(decimal=",", thousands=".", parentheses=True)
CURRENCIES = "$€£¥"
# A value that reads as a different number under each format: one separator, then 3 digits.
AMBIGUOUS = rf"^\(?[+-]?[{CURRENCIES}]?\s*\d{{1,3}}[.,]\d{{3}}\s*%?\)?$"


def pattern(fmt: NumberFormat, *, any_currency: bool = False) -> str:
    """An RE2 full-match pattern for a trimmed value written in `fmt`."""
    decimal = re.escape(fmt.decimal)
    digits = r"\d+"
    if fmt.thousands:
        digits = rf"(?:\d+|\d{{1,3}}(?:{re.escape(fmt.thousands)}\d{{3}})+)"
    number = rf"(?:{digits}(?:{decimal}\d*)?|{decimal}\d+)(?:[eE][+-]?\d+)?"
    if any_currency:
        currency = f"[{re.escape(CURRENCIES)}]?"
    else:
        currency = f"(?:{re.escape(fmt.currency)})?" if fmt.currency else ""
    body = rf"[+-]?{currency}\s*{number}\s*%?"
    if fmt.parentheses:
        return rf"^(?:{body}|\({body}\))$"
    return rf"^{body}$"


def needs_rewrite(fmt: NumberFormat) -> bool:
    """Whether values in `fmt` must be rewritten for the readers downstream, which read a
    decimal point, an optional ',' grouping, '$' and accounting parentheses."""
    return fmt.decimal != "." or fmt.thousands not in {",", ""} or fmt.currency not in {"", "$"}


def normalized(text: str, fmt: NumberFormat) -> str:
    """SQL turning a value written in `fmt` into '-1234.56' (decimal point, no grouping, no
    currency sign; accounting parentheses become a minus sign)."""
    value = f"trim({text})"
    if fmt.currency:
        value = f"replace({value}, '{fmt.currency.replace(chr(39), chr(39) * 2)}', '')"
    if fmt.thousands:
        value = f"replace({value}, '{fmt.thousands.replace(chr(39), chr(39) * 2)}', '')"
    if fmt.decimal == ",":
        value = f"replace({value}, ',', '.')"
    value = f"replace({value}, ' ', '')"
    return f"regexp_replace({value}, '^\\((.*)\\)$', '-\\1')"


@dataclass(frozen=True)
class Detection:
    """What a column's values say about its format."""

    column: str
    point_only: int
    comma_only: int
    ambiguous: int
    neither: int
    point_example: str | None
    comma_example: str | None
    ambiguous_example: str | None

    # The convention of the file's other number columns, for a column that cannot tell.
    file_format: NumberFormat | None = None

    @property
    def format(self) -> NumberFormat | None:
        """The column's format, or None when the values cannot tell (see `problem`)."""
        if self.point_only and self.comma_only:
            return None
        if self.comma_only:
            return COMMA
        if self.point_only or not self.ambiguous:
            return POINT
        return self.file_format

    def problem(self, table: str, published: str) -> str | None:
        if self.point_only and self.comma_only:
            return (
                f"raw.{table}: column {published!r} mixes number formats: "
                f"{self.point_only:,} values with a decimal point (e.g. {self.point_example!r}) "
                f"and {self.comma_only:,} with a decimal comma (e.g. {self.comma_example!r}), "
                "so which is a mistake cannot be told; nothing loaded, previous data kept. "
                "State the column's format in the catalog (numbers: {" + repr(published) + ": "
                "{decimal: '.', thousands: ','}}) to quarantine the values that do not fit it, "
                "or correct the file"
            )
        if self.format is None:
            return (
                f"raw.{table}: column {published!r} is ambiguous: {self.ambiguous:,} values "
                f"such as {self.ambiguous_example!r} read as different numbers with a decimal "
                "point or a decimal comma, and no value (of this or another number column) "
                "tells which; nothing loaded, previous "
                "data kept. State the column's format in the catalog (numbers: {"
                + repr(published)
                + ": {decimal: ',', thousands: '.'}} or decimal '.')"
            )
        return None


def detection_sql(text: str) -> tuple[list[str], dict[str, str]]:
    """Aggregates classifying a column's values, and their parameters."""
    parameters = {
        "nf_point": pattern(POINT, any_currency=True),
        "nf_comma": pattern(COMMA, any_currency=True),
        "nf_ambiguous": AMBIGUOUS,
    }
    point = f"regexp_full_match({text}, $nf_point)"
    comma = f"regexp_full_match({text}, $nf_comma)"
    ambiguous = f"regexp_full_match({text}, $nf_ambiguous)"
    point_only = f"{point} and not {comma}"
    comma_only = f"{comma} and not {point}"
    return [
        f"count_if({point_only})",
        f"count_if({comma_only})",
        f"count_if({ambiguous})",
        f"count_if({text} is not null and not {point} and not {comma})",
        f"min({text}) filter (where {point_only})",
        f"min({text}) filter (where {comma_only})",
        f"min({text}) filter (where {ambiguous})",
    ], parameters


def file_format(detections: list[Detection]) -> NumberFormat | None:
    """The one convention the columns that can tell agree on (None: none tells, or they
    disagree)."""
    point = any(d.point_only for d in detections)
    comma = any(d.comma_only for d in detections)
    if point and not comma:
        return POINT
    if comma and not point:
        return COMMA
    return None

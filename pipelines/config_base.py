"""The configuration vocabulary every validated file of `sources/` shares.

One strict base model (unknown keys are errors, so a typo names itself instead of being
ignored), one formatter turning pydantic's errors into "file: key.path: message" lines, and
the URL / e-mail types with the project's messages. Catalogs, the problem registry, quality
suites, canonical tables and the publishing settings all use them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    ConfigDict,
    EmailStr,
    TypeAdapter,
    ValidationError,
)


class Strict(BaseModel):
    """A model of a configuration file: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class FrozenStrict(Strict):
    """A strict model whose instances are shared (cached) and so never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def explain(path: Path | str, error: ValidationError, what: str) -> str:
    """`path: invalid <what>: key.path: message; ...`, one entry per problem pydantic found."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in issue['loc']) or '(top level)'}: {issue['msg']}"
        for issue in error.errors()
    )
    return f"{path}: invalid {what}: {problems}"


_HTTP_URL = TypeAdapter(AnyHttpUrl)
_EMAIL = TypeAdapter(EmailStr)


def check_http_url(value: str) -> str:
    """An http(s) URL with a host (pydantic's parser), kept as the text the file gave."""
    try:
        _HTTP_URL.validate_python(value)
    except ValidationError:
        raise ValueError(f"must be an http(s) URL, got {value!r}") from None
    if any(char.isspace() for char in value):  # the parser would percent-encode them
        raise ValueError(f"must be an http(s) URL, got {value!r}")
    return value


def check_email(value: str) -> str:
    """An e-mail address (email-validator's syntax check, no DNS look-up)."""
    try:
        _EMAIL.validate_python(value)
    except ValidationError:
        raise ValueError(f"must be an email address, got {value!r}") from None
    return value


# Text fields: the value stays a `str` (callers join and compare it) but is validated.
HttpUrlText = Annotated[str, AfterValidator(check_http_url)]
EmailText = Annotated[str, AfterValidator(check_email)]

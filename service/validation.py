"""Input types shared by every schema and query parameter.

Everything a client sends passes through one of these before it reaches a service or the
database, so the rules hold everywhere:

- `IsoDate` / `IsoDateTime`: ISO 8601 strings only (pydantic alone would read `1700000000` or
  `0.5` as Unix time), years 2000-2100 (UTC), so no date arithmetic can overflow.
- `SearchText`: a free-text query parameter: trimmed, NFKC-normalised, no control characters
  (a real MongoDB refuses a `$regex` holding NUL).
- `name_type(...)`: user and team names: NFKC-normalised, whitespace collapsed, no control or
  format characters (zero-width, bidi overrides), at least one visible character.
  `name_key` is the casefolded form that uniqueness is checked on.
- `LineText` / `MultilineText`: other free text (descriptions, notes, bios).
- `StrictModel`: request bodies: unknown fields are refused, and so are strings holding an
  unpaired surrogate (valid JSON, `"\\ud800"`, but not encodable in BSON: a 500 otherwise).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator

from documents.clock import as_stored

MIN_YEAR = 2000
MAX_YEAR = 2100
MIN_DATE = date(MIN_YEAR, 1, 1)
MAX_DATE = date(MAX_YEAR, 12, 31)
DATE_RANGE = f"between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# date, or date and time (seconds and fraction optional) with an optional Z or +hh[:mm] offset
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)
# the longest ISO 8601 string accepted is 35 characters; longer ones are not parsed at all
_MAX_ISO_LENGTH = 40


def _iso_date_string(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # built in code, not sent by a client
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError("must be an ISO 8601 date string (YYYY-MM-DD)")
    return value


def _iso_datetime_string(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if (
        not isinstance(value, str)
        or len(value) > _MAX_ISO_LENGTH
        or not _ISO_DATETIME.fullmatch(value)
    ):
        raise ValueError(
            "must be an ISO 8601 date or date-time string "
            "(YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM])"
        )
    return value


def out_of_range(day: date) -> str:
    """Why `day` is refused, or '' when it is within 2000-2100."""
    if day < MIN_DATE:
        return f"must not be before {MIN_DATE.isoformat()} (dates are {DATE_RANGE})"
    if day > MAX_DATE:
        return f"must not be after {MAX_DATE.isoformat()}: too far in the future"
    return ""


def _date_in_range(value: date) -> date:
    if reason := out_of_range(value):
        raise ValueError(reason)
    return value


def _datetime_in_range(value: datetime) -> datetime:
    # checked in UTC (after as_stored), the time zone every stored moment is in
    if reason := out_of_range(value.date()):
        raise ValueError(f"{reason} (UTC)")
    return value


# A calendar day, `YYYY-MM-DD`, 2000-01-01 to 2100-12-31.
IsoDate = Annotated[date, BeforeValidator(_iso_date_string), AfterValidator(_date_in_range)]
# A moment: a date alone is 00:00 that day; no offset means UTC; stored in UTC at ms precision.
IsoDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_datetime_string),
    AfterValidator(as_stored),
    AfterValidator(_datetime_in_range),
]


# --- text -------------------------------------------------------------------------------------

_MULTILINE_ALLOWED = frozenset("\n\t")


def _bad_char(
    value: str, categories: tuple[str, ...], allowed: frozenset[str] = frozenset()
) -> str:
    """The first character of `value` in one of these Unicode categories, or ''."""
    for char in value:
        if char not in allowed and unicodedata.category(char) in categories:
            return char
    return ""


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def no_control(value: str) -> str:
    # Cc: C0/C1 controls (NUL, ESC, ...); Cs: unpaired surrogates (no UTF-8, no BSON)
    if char := _bad_char(value, ("Cc", "Cs")):
        raise ValueError(f"may not contain control characters ({_describe(char)})")
    return value


def _no_control_multiline(value: str) -> str:
    value = value.replace("\r\n", "\n")
    if char := _bad_char(value, ("Cc", "Cs"), _MULTILINE_ALLOWED):
        raise ValueError(
            f"may not contain control characters other than newline and tab ({_describe(char)})"
        )
    return value


def _search_text(value: str) -> str:
    if len(value) > MAX_SEARCH_LENGTH:
        raise ValueError(f"must be at most {MAX_SEARCH_LENGTH} characters")
    return no_control(unicodedata.normalize("NFKC", value).strip())


MAX_SEARCH_LENGTH = 200
# A free-text query parameter (`search`, `city`); the endpoint's Query(max_length=) still applies.
SearchText = Annotated[str, AfterValidator(_search_text)]
# Validators to put beside StringConstraints in a field's Annotated[...]:
# one line of free text (a place, a title): no control characters
NoControl = AfterValidator(no_control)
# free text over several lines (description, notes, bio): newline and tab allowed
NoControlMultiline = AfterValidator(_no_control_multiline)
LineText = Annotated[str, NoControl]
MultilineText = Annotated[str, NoControlMultiline]


def normalise_name(value: str) -> str:
    """NFKC, whitespace collapsed; refuses control/format characters and invisible names."""
    value = unicodedata.normalize("NFKC", value)
    # Cc: controls, tabs and newlines too (checked before whitespace is collapsed); Cf: format
    # (zero-width space/joiner, bidi overrides, soft hyphen); Cs: unpaired surrogates;
    # Co: private use (renders as nothing or anything)
    if char := _bad_char(value, ("Cc", "Cf", "Cs", "Co")):
        raise ValueError(f"may not contain control or invisible characters ({_describe(char)})")
    value = " ".join(value.split())
    if all(unicodedata.category(c)[0] in "ZM" for c in value):
        raise ValueError("needs at least one visible character (not only spaces or marks)")
    return value


def name_key(name: str) -> str:
    """The form names are unique in: NFKC, whitespace collapsed, casefolded (NFKC again)."""
    folded = " ".join(unicodedata.normalize("NFKC", name).split()).casefold()
    return unicodedata.normalize("NFKC", folded)


def name_type(min_length: int, max_length: int) -> AfterValidator:
    """A validator for a name: `normalise_name`, then `min_length`..`max_length` characters."""

    def check(value: str) -> str:
        # bound the work before normalising (NFKC can expand a character up to 18 times)
        if len(value) > 4 * max_length:
            raise ValueError(f"must be {min_length} to {max_length} characters")
        value = normalise_name(value)
        if not min_length <= len(value) <= max_length:
            raise ValueError(f"must be {min_length} to {max_length} characters")
        return value

    return AfterValidator(check)


# --- request bodies ---------------------------------------------------------------------------


def _surrogate_path(value: Any, path: str) -> str | None:
    if isinstance(value, str):
        return path if _bad_char(value, ("Cs",)) else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if isinstance(key, str) and _bad_char(key, ("Cs",)):
            return path
        found = _surrogate_path(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


class StrictModel(BaseModel):
    """A request body: unknown fields and unpaired surrogates are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_unpaired_surrogates(cls, data: Any) -> Any:
        found = _surrogate_path(data, "")
        if found is not None:
            where = f" in {found}" if found else ""
            raise ValueError(f"unpaired UTF-16 surrogate{where}: text must be valid Unicode")
        return data

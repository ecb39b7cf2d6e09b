"""CSV that spreadsheets open safely: RFC 4180, UTF-8 with a BOM, no cell read as a formula.

Contract:

- The first bytes are the UTF-8 BOM (Excel reads BOM-less CSV in the local code page), then
  the header; records end in CRLF. Times are ISO 8601 in UTC (``2026-12-01T09:15:00Z``), an
  empty cell is None, booleans are ``TRUE``/``FALSE``.
- Text cells are always quoted, numbers never. RFC 4180 allows quotes on any field; quoting
  every text cell keeps a ``;`` inside a name from starting a new cell where Excel's list
  separator is ``;``, which would put an ``=`` at the start of a cell after all (OWASP's
  CSV-injection advice says the same).
- Formula injection (SECURITY.md finding 3, ASVS 1.2.10): a text cell gets a leading ``'``
  when it starts with ``= + - @``, with TAB, CR, LF or NUL, or with a compatibility variant
  of ``= + - @`` (full-width ``＝＋－＠``, a known Excel trap, and the small and
  super/subscript forms), or with whitespace followed by any of those. Numbers are written
  as numbers: only the types int, float and Decimal are, so a name such as ``-2+3`` is text
  and escaped.
- Output comes in chunks of about ``CHUNK_SIZE`` characters; memory does not grow with rows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Final

from app.exports.completions import COLUMNS
from app.exports.times import iso_utc

CHUNK_SIZE: Final = 64 * 1024
BOM: Final = "\ufeff"

# The characters spreadsheets start a formula (or a DDE call) with.
FORMULA_STARTS: Final = frozenset("=+-@")
# Every character that Unicode compatibility normalisation (NFKC) folds to one of them: tests
# check this list against unicodedata, so none is missing.
FORMULA_VARIANTS: Final = frozenset(
    "\u207a\u207c\u208a\u208c"  # superscript and subscript + and =
    "\ufb29"  # Hebrew alternative plus sign
    "\ufe62\ufe63\ufe66\ufe6b"  # small + - = @
    "\uff0b\uff0d\uff1d\uff20"  # full-width + - = @
)
# Control characters some spreadsheets skip before looking for a formula. LF is not in OWASP's
# or ASVS's list, but it is the same kind of character as CR and TAB, no real name or title
# starts with one, and escaping it costs nothing: so it is escaped too.
FORMULA_CONTROLS: Final = frozenset("\t\r\n\0")
ESCAPE_FIRST: Final = FORMULA_STARTS | FORMULA_VARIANTS | FORMULA_CONTROLS


def needs_escape(text: str) -> bool:
    """True when a spreadsheet could take ``text`` for a formula."""
    first = text[:1]
    if first in ESCAPE_FIRST:
        return True
    # " =1+1" is a formula again for an importer that trims leading spaces.
    return first.isspace() and text.lstrip()[:1] in ESCAPE_FIRST


def escape_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet could take it for a formula."""
    return "'" + text if needs_escape(text) else text


def _cell(value: object) -> object:
    kind = value.__class__
    if kind is str:
        return escape_formula(value)  # type: ignore[arg-type]
    if value is None:
        return ""
    if kind is int or kind is float or kind is Decimal:
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal):
        return value
    return escape_formula(str(value))


# The first characters after which a text cell may need its ``'``: the formula starts and
# every white space character (``needs_escape`` decides). Text starting with anything else is
# written as it is without a call. White space stops at U+3000 (tests check the whole range).
_SUSPECT: Final = ESCAPE_FIRST | frozenset(c for c in map(chr, range(0x3001)) if c.isspace())
BATCH: Final = 8  # rows per writerows call: chunks overshoot CHUNK_SIZE by a few rows at most


def csv_stream(
    rows: Iterable[Sequence[object]], header: Sequence[str] = COLUMNS, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """Encode ``rows`` under ``header`` as CSV bytes: BOM first, then chunks of ~64 KiB."""
    buffer = io.StringIO()
    # QUOTE_NONNUMERIC quotes every str and leaves int, float and Decimal bare.
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    buffer.write(BOM)
    writer.writerow([escape_formula(name) for name in header])
    batch: list[list[object]] = []
    for row in rows:
        # _cell, with its commonest cases (text, None, int) inline: one call per row, not per
        # cell, is what keeps a CSV export within a few times what the database takes.
        batch.append(
            [
                (value if value[:1] not in _SUSPECT else escape_formula(value))
                if value.__class__ is str
                else ""
                if value is None
                else value
                if value.__class__ is int
                else _cell(value)
                for value in row
            ]
        )
        if len(batch) == BATCH:
            writer.writerows(batch)
            batch.clear()
            if buffer.tell() >= chunk_size:
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
    writer.writerows(batch)
    yield buffer.getvalue().encode("utf-8")

"""XLSX with typed cells: times as Excel dates, numbers as numbers, text never a formula.

Contract:

- xlsxwriter in ``constant_memory`` mode writes each row out as it goes (memory stays flat),
  but an XLSX file is a zip whose directory comes last, so nothing can be sent before the
  workbook is closed. ``xlsx_stream`` therefore writes the whole workbook to an anonymous
  ``tempfile.TemporaryFile`` (no name on disk, removed on close, even on a crash) and then
  yields it in chunks; the first chunk arrives once all rows are written.
- Times are UTC, stored naive (Excel has no time zones) and the header says "(UTC)".
- Text goes through ``write_string`` with ``strings_to_formulas``, ``strings_to_urls`` and
  ``strings_to_numbers`` off, so no text becomes a formula, link or number. Text that a
  spreadsheet could take for a formula (``app.exports.csv.needs_escape``) also gets Excel's
  quote prefix, the native form of the ``'`` escape: the value stays exact, and editing the
  cell in Excel keeps it text instead of turning it into a formula.
- A sheet holds at most ``XLSX_MAX_ROWS`` data rows: check the count before streaming with
  ``check_fits``; ``xlsx_stream`` raises ValueError past it rather than drop rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import IO, Any, Final

import xlsxwriter

from app.errors import DomainError
from app.exports.completions import COLUMNS
from app.exports.csv import CHUNK_SIZE, needs_escape

XLSX_MAX_ROWS: Final = 1_048_575  # Excel's 1,048,576 rows, less the header
DATETIME_FORMAT: Final = "yyyy-mm-dd hh:mm:ss"
DATE_FORMAT: Final = "yyyy-mm-dd"
DEFAULT_WIDTH: Final = 14
# Column widths in characters, by column name; times and the rest get what fits them.
WIDTHS: Final[Mapping[str, int]] = {
    "employee_id": 12,
    "name": 26,
    "email": 32,
    "department": 18,
    "manager": 24,
    "course": 36,
    "course_version": 9,
    "content_hash": 14,
    "status": 12,
    "score": 7,
    "attempts": 9,
    "certificate_code": 26,
    "item_id": 36,
    "kind": 13,
    "chosen": 36,
    "question": 60,
    "chosen_text": 60,
    "attempt": 8,
    "correct": 8,
    "points": 7,
}
TIME_COLUMNS: Final = frozenset(
    {
        "assigned_at",
        "due_at",
        "started_at",
        "completed_at",
        "expires_at",
        "revoked_at",
        "submitted_at",
    }
)
TIME_WIDTH: Final = 20


class TooManyRows(DomainError):
    """The export has more rows than a spreadsheet holds."""

    status = 413


def check_fits(row_count: int) -> None:
    """Raise TooManyRows unless ``row_count`` data rows fit on one sheet."""
    if row_count > XLSX_MAX_ROWS:
        raise TooManyRows(
            f"{row_count:,} rows do not fit in a spreadsheet (at most "
            f"{XLSX_MAX_ROWS:,}): narrow the filter, or export CSV."
        )


def _naive_utc(moment: datetime) -> datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def write_workbook(
    target: str | IO[bytes],
    rows: Iterable[Sequence[object]],
    header: Sequence[str] = COLUMNS,
    sheet_name: str = "Export",
) -> int:
    """Write ``rows`` under ``header`` as an XLSX workbook to ``target``; return the row count."""
    workbook = xlsxwriter.Workbook(
        target,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        },
    )
    try:
        sheet = workbook.add_worksheet(sheet_name)
        bold = workbook.add_format({"bold": True})
        quoted = workbook.add_format({"quote_prefix": True})
        stamp = workbook.add_format({"num_format": DATETIME_FORMAT})
        day = workbook.add_format({"num_format": DATE_FORMAT})
        # Widths and the frozen header go first: constant_memory writes rows as they come.
        for col, name in enumerate(header):
            width = TIME_WIDTH if name in TIME_COLUMNS else WIDTHS.get(name, DEFAULT_WIDTH)
            sheet.set_column(col, col, width)
        sheet.freeze_panes(1, 0)
        for col, name in enumerate(header):
            label = f"{name} (UTC)" if name in TIME_COLUMNS else name
            sheet.write_string(0, col, label, bold)
        count = 0
        for count, row in enumerate(rows, start=1):
            if count > XLSX_MAX_ROWS:
                raise ValueError(f"more than {XLSX_MAX_ROWS} rows: call check_fits first")
            for col, value in enumerate(row):
                _write_cell(sheet, count, col, value, quoted, stamp, day)
        if header:
            sheet.autofilter(0, 0, count, len(header) - 1)
    finally:
        workbook.close()
    return count


def _write_cell(
    sheet: Any, row: int, col: int, value: object, quoted: Any, stamp: Any, day: Any
) -> None:
    if value is None:
        return
    kind = value.__class__
    if kind is str:
        text: str = value  # type: ignore[assignment]
        if needs_escape(text):
            sheet.write_string(row, col, text, quoted)
        else:
            sheet.write_string(row, col, text)
    elif kind is int or kind is float:
        sheet.write_number(row, col, value)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, _naive_utc(value), stamp)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, value, day)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value))
    else:
        text = str(value)
        sheet.write_string(row, col, text, quoted if needs_escape(text) else None)


def xlsx_stream(
    rows: Iterable[Sequence[object]], header: Sequence[str] = COLUMNS, chunk_size: int = CHUNK_SIZE
) -> Iterator[bytes]:
    """Write the workbook to a temporary file, then yield it in chunks of ``chunk_size``."""
    with tempfile.TemporaryFile(prefix="candor-export-", suffix=".xlsx") as spool:
        write_workbook(spool, rows, header)
        spool.seek(0)
        while chunk := spool.read(chunk_size):
            yield chunk

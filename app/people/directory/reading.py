"""Reading an employee CSV on its own: its encoding, delimiter, header and every row,
checked as the HR form checks one person. Every problem names its physical line; nothing
here touches the database."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass

from app.content.problems import ContentError, Problem
from app.fields import normalise_email, shown
from app.people.directory.checks import COLUMNS, PersonValues, check_person

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000


@dataclass(frozen=True)
class EmployeeRow(PersonValues):
    """One valid data row: a person's checked values and the file line they are on."""

    line: int


@dataclass(frozen=True)
class EmployeeFile:
    """A parsed file: its valid rows and every problem found, by physical line."""

    source: str
    rows: tuple[EmployeeRow, ...]
    problems: tuple[Problem, ...]
    delimiter: str = ","
    # Addresses and ids on every data line, rejected ones included: someone whose row has a
    # typo is still in the file, and must not be planned for deactivation.
    mentioned_emails: frozenset[str] = frozenset()
    mentioned_employee_ids: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.problems


class ImportInvalid(ContentError):
    """The file has problems; nothing is imported until every one is fixed."""


def read_employee_csv(data: bytes, source: str) -> EmployeeFile:
    """Parse and check an employee CSV; every problem is reported with its physical line."""

    def fatal(line: int, message: str) -> EmployeeFile:
        return EmployeeFile(source, (), (Problem(source, line, message),))

    if len(data) > MAX_FILE_BYTES:
        return fatal(
            0,
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; "
            "split it into smaller files",
        )
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        return fatal(line, "this line is not valid UTF-8: save the file as CSV UTF-8")
    if not text.strip():
        return fatal(0, "the file is empty: it needs a header line " + ",".join(COLUMNS))
    delimiter = _delimiter(text)
    records, problems = _records(text, delimiter, source)
    if not records:
        return EmployeeFile(
            source,
            (),
            tuple(problems)
            or (Problem(source, 0, "the file has no header line: " + ",".join(COLUMNS)),),
            delimiter,
        )
    header_line, header_cells = records[0]
    columns, header_problems = _header(header_cells)
    if header_problems:
        return EmployeeFile(
            source,
            (),
            tuple(sorted(Problem(source, header_line, m) for m in header_problems)),
            delimiter,
        )
    rows: list[EmployeeRow] = []
    first_line_of: dict[tuple[str, str], int] = {}
    mentioned_emails: set[str] = set()
    mentioned_ids: set[str] = set()
    for line, cells in records[1:]:
        if len(cells) != len(columns):
            problems.append(
                Problem(
                    source,
                    line,
                    (
                        f"this row has {len(cells)} fields but the header has {len(columns)}; "
                        "quote values that contain "
                        f"{'a comma' if delimiter == ',' else 'a semicolon'}"
                    ),
                )
            )
            continue
        values = dict(zip(columns, cells, strict=True))
        mentioned_emails.add(normalise_email(values["email"]))
        if values["employee_id"].strip():
            mentioned_ids.add(values["employee_id"].strip())
        fields, errors = check_person(values)
        for message in errors.values():
            problems.append(Problem(source, line, message))
        if fields is None:
            continue
        duplicate = False
        for key, value, label in (
            ("email", fields.email, "e-mail address"),
            ("employee_id", fields.employee_id, "employee id"),
        ):
            if value is None:
                continue
            if (earlier := first_line_of.setdefault((key, value), line)) != line:
                problems.append(
                    Problem(source, line, (f"the {label} {shown(value)} is also on line {earlier}"))
                )
                duplicate = True
        if not duplicate:
            rows.append(EmployeeRow(**vars(fields), line=line))
    return EmployeeFile(
        source,
        tuple(rows),
        tuple(sorted(problems)),
        delimiter,
        frozenset(mentioned_emails - {""}),
        frozenset(mentioned_ids),
    )


def _delimiter(text: str) -> str:
    """``;`` if the header line has more semicolons than commas, else ``,``."""
    header = next(line for line in text.splitlines() if line.strip())
    return ";" if header.count(";") > header.count(",") else ","


def _records(
    text: str, delimiter: str, source: str
) -> tuple[list[tuple[int, list[str]]], list[Problem]]:
    """Non-blank records with the physical line each starts on (quoted newlines counted)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    records: list[tuple[int, list[str]]] = []
    problems: list[Problem] = []
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            if len(records) > MAX_ROWS:  # the header plus MAX_ROWS rows are allowed
                problems.append(
                    Problem(
                        source,
                        line,
                        (f"the file has more than {MAX_ROWS} rows; split it into smaller files"),
                    )
                )
                break
            records.append((line, cells))
    except csv.Error as error:
        problems.append(
            Problem(
                source, start, (f"the CSV is malformed from this line ({error}): check its quotes")
            )
        )
    return records, problems


def _header(cells: list[str]) -> tuple[list[str], list[str]]:
    columns = [cell.strip().lstrip("\ufeff").strip().lower() for cell in cells]
    if not set(columns) & set(COLUMNS):
        return columns, [
            "the first line must be the header, naming the columns "
            + ",".join(COLUMNS)
            + " (in any order)"
        ]
    problems = []
    seen: set[str] = set()
    for number, column in enumerate(columns, start=1):
        if not column:
            problems.append(f"column {number} of the header has no name")
            continue
        if column in seen:
            problems.append(f"the column {shown(column)} appears twice in the header")
        seen.add(column)
        if column not in COLUMNS:
            problems.append(
                f"unknown column {shown(column)} in the header (the columns are "
                f"{', '.join(COLUMNS)})"
            )
    problems.extend(
        f"the header has no column '{column}' (the columns are {', '.join(COLUMNS)})"
        for column in COLUMNS
        if column not in seen
    )
    return columns, problems

"""CSV writing: RFC 4180 with a BOM, ISO times, and no cell a spreadsheet reads as a formula."""

from __future__ import annotations

import csv
import io
import sys
import tracemalloc
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from app.exports.completions import COLUMNS
from app.exports.csv import (
    BOM,
    ESCAPE_FIRST,
    FORMULA_STARTS,
    FORMULA_VARIANTS,
    csv_stream,
    escape_formula,
    iso_utc,
    needs_escape,
)

TEXT_COLUMNS = (
    "employee_id",
    "name",
    "email",
    "department",
    "manager",
    "course",
    "content_hash",
    "status",
    "certificate_code",
)
NUMBER_COLUMNS = ("course_version", "score", "attempts")

# Everything OWASP, ASVS 1.2.10 and SECURITY.md list, and the rest this project escapes.
INJECTIONS = [
    '=HYPERLINK("http://x","y")',
    "=cmd|' /C calc'!A0",
    "=1+1",
    "@SUM(1)",
    "-2+3",
    "+1",
    "\t=1",
    "\r=1",
    "\n=1",
    "\0=1",
    "\t",
    "-",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(1)",
    "﹦1+1",
    "⁼1",
    " =1+1",
    "\u00a0=1+1",  # a no-break space first
    "  @SUM(1)",
]
PLAIN = [
    "",
    "Ana Silva",
    "O'Brien",
    "'=1+1",  # already starts with the escape: left alone
    "a=b",
    "1+1",
    "Sales - EMEA",
    "x@example.test",
    "Zoë Łukasiewicz-Ñúñez",
    "名前",
    " leading space",
    "TRUE",
    "2026-12-01",
]


def parse(chunks) -> list[list[str]]:
    data = b"".join(chunks)
    assert data.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def row_with(**cells) -> tuple:
    values = dict.fromkeys(COLUMNS)
    values.update(cells)
    return tuple(values[name] for name in COLUMNS)


@pytest.mark.parametrize("text", INJECTIONS)
def test_formula_like_text_gets_a_leading_quote(text):
    assert needs_escape(text)
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_is_untouched(text):
    assert not needs_escape(text)
    assert escape_formula(text) == text


@pytest.mark.parametrize("first", sorted(ESCAPE_FIRST))
def test_every_listed_first_character_is_escaped(first):
    assert escape_formula(first + "1") == "'" + first + "1"


def test_the_list_holds_the_documented_characters():
    assert {"=", "+", "-", "@", "\t", "\r", "\n", "\0"} <= ESCAPE_FIRST
    assert {"＝", "＋", "－", "＠"} <= ESCAPE_FIRST


def test_every_compatibility_variant_of_a_formula_start_is_listed():
    variants = {
        chr(c)
        for c in range(sys.maxunicode + 1)
        if chr(c) not in FORMULA_STARTS and unicodedata.normalize("NFKC", chr(c)) in FORMULA_STARTS
    }
    assert variants == set(FORMULA_VARIANTS)


@pytest.mark.parametrize("column", TEXT_COLUMNS)
@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_is_escaped_in_every_text_column(column, text):
    rows = parse(csv_stream([row_with(**{column: text}, score=85, attempts=1, course_version=2)]))
    cell = rows[1][COLUMNS.index(column)]
    assert cell == "'" + text
    assert rows[1][COLUMNS.index("score")] == "85"


def test_numbers_stay_numbers_and_text_that_looks_like_one_is_text():
    data = b"".join(
        csv_stream(
            [row_with(name="-2+3", score=85, attempts=0, course_version=3, employee_id="007")]
        )
    )
    line = data.decode("utf-8-sig").split("\r\n")[1]
    # Text is always quoted, numbers never: Excel cannot split "a;b" in a ;-separated locale.
    assert line.startswith('"007","\'-2+3",')
    assert ",3," in line and ",85,0," in line
    row = parse([data])[1]
    assert [row[COLUMNS.index(c)] for c in NUMBER_COLUMNS] == ["3", "85", "0"]


def test_header_bom_crlf_and_rfc4180_quoting_round_trip():
    awkward = [
        "Silva, Ana",
        'Ana "the auditor" Silva',
        "line one\nline two",
        "cr\rin the middle",
        "semi;colon",
        'all ,"\r\n of them',
    ]
    rows = [row_with(name=text, department="Sales") for text in awkward]
    data = b"".join(csv_stream(rows))
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.endswith(b"\r\n")
    text = data.decode("utf-8-sig")
    assert text.split("\r\n", 1)[0] == ",".join(f'"{name}"' for name in COLUMNS)
    parsed = list(csv.reader(io.StringIO(text, newline="")))
    assert parsed[0] == list(COLUMNS)
    assert [r[COLUMNS.index("name")] for r in parsed[1:]] == awkward
    assert all(len(r) == len(COLUMNS) for r in parsed)


def test_times_are_iso_8601_utc_and_none_is_empty():
    cet = timezone(timedelta(hours=1))
    row = row_with(
        assigned_at=datetime(2026, 12, 1, 9, 15, tzinfo=UTC),
        due_at=datetime(2026, 12, 1, 10, 15, 30, 999_999, tzinfo=cet),
        started_at=datetime(2026, 12, 1, 9, 15),  # naive: taken as UTC
        completed_at=None,
        expires_at=date(2027, 12, 1),
    )
    parsed = parse(csv_stream([row]))[1]
    got = {
        name: parsed[COLUMNS.index(name)]
        for name in ("assigned_at", "due_at", "started_at", "completed_at", "expires_at")
    }
    assert got == {
        "assigned_at": "2026-12-01T09:15:00Z",
        "due_at": "2026-12-01T09:15:30Z",
        "started_at": "2026-12-01T09:15:00Z",
        "completed_at": "",
        "expires_at": "2027-12-01",
    }
    assert iso_utc(datetime(2026, 12, 1, 9, 15, tzinfo=UTC)) == "2026-12-01T09:15:00Z"


def test_other_types():
    data = b"".join(
        csv_stream([(True, False, Decimal("1.5"), 2.25, None)], header=("a", "b", "c", "d", "e"))
    )
    assert data.decode("utf-8-sig").split("\r\n")[1] == '"TRUE","FALSE",1.5,2.25,""'


def test_header_only_when_there_are_no_rows():
    assert parse(csv_stream([])) == [list(COLUMNS)]


def test_output_comes_in_chunks_of_about_64_kib():
    rows = (
        row_with(name=f"Person {i}", email=f"p{i}@example.test", score=i % 101)
        for i in range(20_000)
    )
    chunks = list(csv_stream(rows))
    assert len(chunks) > 5
    assert all(64 * 1024 <= len(c) < 66 * 1024 for c in chunks[:-1])
    assert len(parse(chunks)) == 20_001


def test_memory_does_not_grow_with_the_number_of_rows():
    moment = datetime(2026, 12, 1, 9, 15, tzinfo=UTC)

    def peak(count: int) -> int:
        rows = (
            row_with(
                name=f"Person {i}",
                email=f"p{i}@example.test",
                assigned_at=moment,
                score=80,
                attempts=1,
            )
            for i in range(count)
        )
        tracemalloc.start()
        try:
            for _ in csv_stream(rows):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(2_000), peak(40_000)
    assert large < 1024 * 1024
    assert large < small * 2


def test_every_character_that_may_need_an_escape_is_looked_at():
    # csv_stream writes text whose first character is outside its list as it is, without
    # asking needs_escape: the list must hold every first character needs_escape may escape.
    from app.exports.csv import _SUSPECT

    starts = {chr(c) for c in range(sys.maxunicode + 1) if needs_escape(chr(c) + "=1")}
    assert starts <= _SUSPECT

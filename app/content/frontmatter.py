"""TOML settings in course sources: ``+++`` front matter, and the checks every settings file shares.

A module and ``quiz.md`` may both start with front matter, TOML between two ``+++`` lines;
``course.toml`` is TOML throughout. Everything here reports through ``Problem``
(``file:line: message``), so the same mistake reads the same in every file. Which keys a file
takes, and what values they allow, is for the reader of that file to check. Nothing here
touches the database.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.content.problems import Problem

FENCE = "+++"
FIRST_SETTING_LINE = 2  # front matter's TOML starts on the line after the opening +++

_TOML_WHERE = re.compile(r"\s*\((?:at line (\d+), column \d+|at end of document)\)$")
_TABLE_HEADER = re.compile(r"^\s*\[{1,2}\s*([^\]]*?)\s*\]{1,2}")


@dataclass(frozen=True)
class FrontMatter:
    """Front matter split off a file: its settings, its TOML lines, where the body starts."""

    data: dict[str, Any] = field(default_factory=dict)  # {} when absent or not valid TOML
    lines: tuple[str, ...] = ()  # the TOML, starting on line FIRST_SETTING_LINE of the file
    body_start: int = 0  # 0-based index of the first line after the front matter

    def key_line(self, key: str) -> int:
        """The line of the file on which ``key`` is set (line 1, the opening +++, if unset)."""
        return key_line(self.lines, key, first_line=FIRST_SETTING_LINE)


def split_front_matter(lines: Sequence[str], path: str, found: list[Problem]) -> FrontMatter | None:
    """The front matter at the top of ``lines`` (empty if there is none); None, with a problem,
    if it is never closed."""
    if not lines or lines[0].strip() != FENCE:
        if lines and lines[0].strip() == "---":
            found.append(
                Problem(path, 1, "front matter is TOML between +++ lines, not YAML between ---")
            )
        return FrontMatter()
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == FENCE), None)
    if end is None:
        found.append(
            Problem(
                path,
                1,
                "front matter opened with +++ on line 1 is never closed: "
                "add a line with +++ after the settings",
            )
        )
        return None
    source = tuple(lines[1:end])
    data = parse_toml("\n".join(source), path, found, first_line=FIRST_SETTING_LINE)
    return FrontMatter(data or {}, source, end + 1)


def parse_toml(
    text: str, path: str, found: list[Problem], *, first_line: int = 1
) -> dict[str, Any] | None:
    """The TOML ``text`` (starting on line ``first_line`` of the file), or None with a problem
    at the line of the error."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        where = _TOML_WHERE.search(message)
        if where is None:
            line = first_line
        elif where.group(1):
            line = first_line + int(where.group(1)) - 1
        else:  # at the end of the document: its last line
            line = first_line + text.count("\n")
        reason = message[: where.start()] if where else message
        found.append(Problem(path, line, f"invalid TOML: {reason}"))
        return None


def key_line(
    lines: Sequence[str], key: str, *, first_line: int = 1, table: str | None = None
) -> int:
    """The line on which ``key`` is set (in ``[table]`` if given); failing that, the table's
    own line, else the line before ``first_line`` (the opening +++), at least 1."""
    setting = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*[=.]")
    wanted = f"{table}.{key}" if table else key
    current: str | None = None  # the table the lines being read belong to
    for number, line in enumerate(lines, start=first_line):
        if header := _TABLE_HEADER.match(line):
            current = re.sub(r"[\"'\s]", "", header.group(1))
            if current == wanted or current.startswith(f"{wanted}."):
                return number  # the key is itself a table
        elif current == table and setting.match(line):
            return number
    if table is not None:
        return key_line(lines, table, first_line=first_line)
    return max(first_line - 1, 1)


def report_unknown_keys(
    data: dict[str, Any],
    known: Collection[str],
    lines: Sequence[str],
    path: str,
    found: list[Problem],
    *,
    first_line: int = 1,
    table: str | None = None,
) -> None:
    """Report each key of ``data`` that is not ``known``, at its line, naming the likeliest
    key meant."""
    where = f"[{table}] " if table else ""
    names = sorted(known)
    for key in data:
        if key in known:
            continue
        close = difflib.get_close_matches(key, names, n=1)
        hint = f": did you mean {close[0]}?" if close else ""
        found.append(
            Problem(
                path,
                key_line(lines, key, first_line=first_line, table=table),
                f"unknown key {where}{key!r}{hint} (known keys: {', '.join(names)})",
            )
        )


# Settings course.toml and a quiz's front matter both hold: (lowest, highest, what it means).
SHARED_SETTINGS = {
    "pass_mark": (0, 100, "the percentage needed to pass"),
    "max_attempts": (0, 100, "0 means unlimited"),
}


def setting_problem(key: str, value: object) -> str | None:
    """Why a shared setting's value is not acceptable (after the key name), or None."""
    low, high, meaning = SHARED_SETTINGS[key]
    if type(value) is int and low <= value <= high:
        return None
    return f"must be a whole number from {low} to {high} ({meaning}), not {value!r}"

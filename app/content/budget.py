"""The rendering budget of a Markdown file: what python-markdown can render in bounded time.

python-markdown slows down quadratically on some shapes of input: ~250 KiB modules of repeated
``<a ``, ``#`` headings, deeply nested ``>`` quotes, autolinks or ``???`` blocks took from
80 s to over 600 s, and ``courses sync`` rendered them inside its transaction. Real course
text is far from these shapes, so each is capped, per file (and per paragraph where it is the
paragraph that costs), and measured with a linear scan before anything is rendered; then the
render itself is timed against RENDER_SECONDS_MAX. Every refusal is a ``file:line`` problem
that says what to change. The loader renders modules and quizzes once, at load, under this
budget, so ``courses check`` renders exactly what ``sync`` will store, and sync opens its
transaction only on rendered, bounded content.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Final

from app.content.problems import Problem

MAX_ANGLE_BRACKETS_PER_FILE: Final = 1000  # "<": raw HTML (refused anyway) and autolinks
MAX_ANGLE_BRACKETS_PER_BLOCK: Final = 200
MAX_HEADINGS_PER_FILE: Final = 300
MAX_QUOTE_DEPTH: Final = 10
MAX_BLOCK_OPENERS_PER_FILE: Final = 200  # "???" and "!!!" (details and admonitions)
RENDER_SECONDS_MAX: Final = 10.0
# "[" characters python-markdown cannot pair up (real links and task boxes are far fewer)
MAX_BRACKETS_PER_BLOCK: Final = 200
MAX_BRACKETS_PER_FILE: Final = 3000

_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_QUOTE_PREFIX = re.compile(r"^(?:[ \t]*>)+")
_BLOCK_OPENER = re.compile(r"^[ \t]*(?:\?\?\?\+?|!!!)")


def shape_problems(text: str, rel: str, line_offset: int = 0) -> list[Problem]:
    """The ways ``text`` exceeds the rendering budget, each at its line (at most one each)."""
    found: list[Problem] = []
    _check_brackets(text, rel, line_offset, found)
    total = text.count("<")
    if total > MAX_ANGLE_BRACKETS_PER_FILE:
        found.append(
            Problem(
                rel,
                line_offset + 1,
                f"the file has {total:,} '<' characters; at most "
                f"{MAX_ANGLE_BRACKETS_PER_FILE:,} are allowed (write links as [text](url))",
            )
        )
    headings = quotes = openers = 0
    block_start, block_angles = line_offset + 1, 0
    deep_reported = False
    for number, line in enumerate(text.split("\n"), start=line_offset + 1):
        if not line.strip():
            block_start, block_angles = number + 1, 0
            continue
        block_angles += line.count("<")
        if block_angles > MAX_ANGLE_BRACKETS_PER_BLOCK and total <= MAX_ANGLE_BRACKETS_PER_FILE:
            found.append(
                Problem(
                    rel,
                    block_start,
                    f"this paragraph has more than {MAX_ANGLE_BRACKETS_PER_BLOCK} '<' "
                    "characters; split it or write links as [text](url)",
                )
            )
            total = MAX_ANGLE_BRACKETS_PER_FILE + 1  # report one paragraph only
        if _HEADING.match(line):
            headings += 1
            if headings == MAX_HEADINGS_PER_FILE + 1:
                found.append(
                    Problem(
                        rel,
                        number,
                        f"more than {MAX_HEADINGS_PER_FILE} headings in one file: "
                        "split it into several modules",
                    )
                )
        if (prefix := _QUOTE_PREFIX.match(line)) and not deep_reported:
            quotes = prefix.group().count(">")
            if quotes > MAX_QUOTE_DEPTH:
                deep_reported = True
                found.append(
                    Problem(
                        rel,
                        number,
                        f"quotes nested {quotes} deep; at most {MAX_QUOTE_DEPTH} levels of '>' "
                        "are allowed",
                    )
                )
        if _BLOCK_OPENER.match(line):
            openers += 1
            if openers == MAX_BLOCK_OPENERS_PER_FILE + 1:
                found.append(
                    Problem(
                        rel,
                        number,
                        f"more than {MAX_BLOCK_OPENERS_PER_FILE} '???' or '!!!' blocks in one "
                        "file: split it into several modules",
                    )
                )
    return found


def _check_brackets(text: str, rel: str, line_offset: int, found: list[Problem]) -> None:
    total = text.count("[")
    if total > MAX_BRACKETS_PER_FILE:
        found.append(
            Problem(
                rel,
                line_offset + 1,
                f"the file has {total:,} '[' characters; at "
                f"most {MAX_BRACKETS_PER_FILE:,} are allowed",
            )
        )
        return
    line = line_offset + 1
    for block in text.split("\n\n"):
        if block.count("[") > MAX_BRACKETS_PER_BLOCK:
            found.append(
                Problem(
                    rel,
                    line,
                    f"this paragraph has {block.count('['):,} '[' "
                    f"characters; at most {MAX_BRACKETS_PER_BLOCK} are allowed",
                )
            )
        line += block.count("\n") + 2


def timed_render(
    render: Callable[[str], str], text: str, rel: str, line: int
) -> tuple[str, Problem | None]:
    """``render(text)``, and a problem when it took longer than RENDER_SECONDS_MAX (a shape
    the caps above do not know yet: the author simplifies the file, and we add a cap)."""
    started = time.perf_counter()
    html = render(text)
    spent = time.perf_counter() - started
    if spent <= RENDER_SECONDS_MAX:
        return html, None
    return html, Problem(
        rel,
        line,
        f"rendering this file took {spent:.0f} s, more than the {RENDER_SECONDS_MAX:.0f} s "
        "allowed: simplify or split it",
    )

"""Lines of ``quiz.md`` classified into tokens, and tokens cut into sections at headings.

Part of the quiz parser; nothing outside ``app.content.quiz`` should need it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Patterns are written to match in linear time: quiz text may come from a browser editor.
_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_OPTION = re.compile(r"^ {0,3}[-*+][ \t]+\[([ xX])\](?:[ \t]+(.*))?$")
_BAD_BOX = re.compile(
    r"^ {0,3}(?:"
    r"[-*+][ \t]*\[[^\[\]()]{0,3}\](?![(\[])"  # - [] -[x] - [y] - [xx] (not a link)
    r"|[-*+][ \t]*\([ xX]?\)(?=[ \t]|$)"  # - (x), radio-button style
    r"|\d{1,9}[.)][ \t]*\[[ xX]?\]"  # 1. [x]
    r"|\[[ xX]?\](?=[ \t]|$)"  # [x] without a list marker
    r")"
)
_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])[ \t]+\S")
DOUBLE_MARK = re.compile(r"^\[[ xX]\]")
JUMP = re.compile(
    r"(?:\u2192|->)[ \t]{0,10}\[([^\]]{0,300})\]\([ \t]{0,10}#([^)\s]{0,200})[ \t]{0,10}\)"
)
ANCHOR_LINK = re.compile(r"\[[^\]]{0,300}\]\([ \t]{0,10}#[^)\s]{0,200}[ \t]{0,10}\)")
SCORE = re.compile(r"^score[ \t]*:(.*)$", re.IGNORECASE)
POINTS = re.compile(r"^points[ \t]*:(.*)$", re.IGNORECASE)
MUST_PASS = re.compile(r"^must[ \t-]?pass[ \t]*:(.*)$", re.IGNORECASE)
FAILS = re.compile(r"^fails[ \t]+the[ \t]+attempt[ \t]*\.?$", re.IGNORECASE)
KIND_PREFIX = re.compile(r"^(scenario|conversation|step|outcome)[ \t]*:[ \t]*(.*)$", re.I)


@dataclass
class Line:
    """One classified line of the quiz."""

    number: int  # 1-based line in the text, before line_offset
    raw: str
    kind: str  # blank, heading, option, badbox, item, quote, text
    indent: int = 0
    level: int = 0  # heading level
    content: str = ""  # heading text, option text, quote content
    mark: str = ""  # option mark


def _indent(raw: str) -> int:
    expanded = raw.expandtabs(4)
    return len(expanded) - len(expanded.lstrip())


def _heading_text(text: str) -> str:
    """The text of an ATX heading without its optional closing ``#`` run."""
    text = text.strip()
    unclosed = text.rstrip("#")
    if unclosed != text and (not unclosed or unclosed[-1] in " \t"):
        return unclosed.strip()
    return text


def _classify(number: int, raw: str) -> Line:
    if not raw.strip():
        return Line(number, raw, "blank")
    indent = _indent(raw)
    if match := _HEADING.match(raw):
        return Line(
            number,
            raw,
            "heading",
            level=len(match.group(1)),
            content=_heading_text(match.group(2) or ""),
        )
    if match := _OPTION.match(raw):
        return Line(
            number,
            raw,
            "option",
            indent,
            content=(match.group(2) or "").strip(),
            mark=match.group(1),
        )
    if _BAD_BOX.match(raw):
        return Line(number, raw, "badbox", indent, content=raw.strip())
    stripped = raw.lstrip()
    if stripped.startswith(">"):
        content = stripped[1:]
        return Line(
            number, raw, "quote", indent, content=content[1:] if content[:1] == " " else content
        )
    if _ITEM.match(raw):
        return Line(number, raw, "item", indent)
    return Line(number, raw, "text", indent)


def tokenize(lines: list[str], start: int) -> list[Line]:
    """Classify lines, leaving code fences verbatim and whole-line HTML comments out."""
    tokens: list[Line] = []
    fence: str | None = None
    in_comment = False
    for index in range(start, len(lines)):
        raw, number = lines[index], index + 1
        if fence is not None:
            tokens.append(Line(number, raw, "text", _indent(raw)))
            stripped = raw.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        if in_comment or raw.lstrip().startswith("<!--"):
            # trainers' notes: GitHub hides them and so do we
            in_comment = "-->" not in raw
            tokens.append(Line(number, raw, "blank"))
            continue
        if match := _FENCE.match(raw):
            fence = match.group(1)
            tokens.append(Line(number, raw, "text", _indent(raw)))
            continue
        tokens.append(_classify(number, raw))
    return tokens


def join_lines(lines: Iterable[str]) -> str:
    """The lines as one text, without the empty lines at either end."""
    return "\n".join(lines).strip("\n")


def first_nonblank(tokens: list[Line]) -> Line | None:
    """The first token that is not blank, or None."""
    return next((t for t in tokens if t.kind != "blank"), None)


@dataclass
class Section:
    """A heading and the tokens under it, up to the next heading of its level."""

    heading: Line
    tokens: list[Line]


def split_sections(tokens: list[Line], level: int) -> tuple[list[Line], list[Section]]:
    """Split at headings of ``level``: the lines before the first, then each section."""
    head: list[Line] = []
    sections: list[Section] = []
    for token in tokens:
        if token.kind == "heading" and token.level == level:
            sections.append(Section(token, []))
        elif sections:
            sections[-1].tokens.append(token)
        else:
            head.append(token)
    return head, sections

"""Writing quiz.md: each question read from GIFT written as Markdown, checked by Candor's
own parser, with a heading whose id no other question has.

Part of the GIFT converter; nothing outside ``app.content.gift`` should need it.
"""

from __future__ import annotations

import re

from app.content.gift.reader import GiftQuestion, Reader
from app.content.gift.text import (
    EMBEDDED,
    IMAGE,
    MD_BLOCK_START,
    SENTENCE_END,
    TAG,
    WRAPPING_P,
    Text,
    body_md,
    cut_text,
    escape_md,
    guard_line,
    inline_md,
    plain_of,
    question_label,
    quote_md,
    restore_blank,
)
from app.content.problems import Problem
from app.content.quiz import parse_quiz, slugify
from app.content.quiz.lexer import MUST_PASS

HEADING_MAX = 150  # longest question text that is a heading on its own
DERIVED_MAX = 100  # a heading cut from a longer text stops by here


def _escape_heading(plain: str) -> str:
    escaped = guard_line(escape_md(plain, keep_entities=False, keep_tags=False))
    return restore_blank(_defuse_kind(escaped))


def _defuse_kind(heading: str) -> str:
    # "Scenario:", "Step:"... would start another kind of unit; &#58; shows the same colon
    return re.sub(
        r"^((?:scenario|conversation|step|outcome)[ \t]*):", r"\1&#58;", heading, flags=re.I
    )


def _fits_heading(text: Text, plain: str) -> bool:
    if len(plain) > HEADING_MAX:
        return False
    kind = text.kind
    if kind == "html":
        match = WRAPPING_P.match(text.raw)
        return not TAG.search(match.group(1) if match else text.raw)
    if kind == "markdown":
        return "\n" not in text.raw and not MD_BLOCK_START.match(text.raw)
    return not re.search(r"\n\s*\n", text.raw)


def _heading_and_body(question: GiftQuestion) -> tuple[str, str, list[str]]:
    """The heading as Markdown and as plain text, and the body lines."""
    stem, plain = question.stem, plain_of(question.stem)
    if question.title is not None:
        same = question.title.casefold() == restore_blank(plain).casefold()
        body = [] if same or not plain else body_md(stem)
        return _escape_heading(question.title), question.title, body
    if _fits_heading(stem, plain):
        if stem.kind == "markdown":
            return restore_blank(_defuse_kind(stem.raw.strip())), restore_blank(plain), []
        return _escape_heading(plain), restore_blank(plain), []
    first = SENTENCE_END.split(plain, maxsplit=1)[0]
    short = restore_blank(first if len(first) <= HEADING_MAX else cut_text(first, DERIVED_MAX))
    return _escape_heading(short), short, body_md(stem)


def _defuse_marker(body: list[str]) -> list[str]:
    # A first line "Must pass: ..." would make the question must-pass; GIFT has no such mark
    first = next((i for i, line in enumerate(body) if line.strip()), None)
    if first is None or not MUST_PASS.match(body[first].strip()):
        return body
    return [*body[:first], body[first].replace(":", "&#58;", 1), *body[first + 1 :]]


def _render(question: GiftQuestion, heading: str, body: list[str]) -> str:
    lines = [f"## {heading}"]
    if body:
        lines += ["", *_defuse_marker(body)]
    lines.append("")
    for option in question.options:
        lines.append(f"- [{'x' if option.correct else ' '}] {inline_md(option.text)}")
        if option.feedback is not None:
            lines += [f"  > {line}".rstrip() for line in quote_md(option.feedback)]
    if question.explanation is not None:
        lines.append("")
        lines += [f"> {line}".rstrip() for line in quote_md(question.explanation)]
    return "\n".join(lines) + "\n"


def _html_left_out(question: GiftQuestion) -> list[str]:
    texts = [question.stem, question.explanation]
    texts += [t for o in question.options for t in (o.text, o.feedback)]
    html_texts = [t.raw for t in texts if t is not None and t.kind == "html"]
    left_out = []
    if any(IMAGE.search(raw) for raw in html_texts):
        left_out.append(
            "images (a GIFT file does not carry Moodle's files: add them to the "
            "course's assets/ and insert them as ![description](assets/NAME))"
        )
    if any(EMBEDDED.search(raw) for raw in html_texts):
        left_out.append("embedded content (scripts, frames, media)")
    return left_out


class Writer:
    """Writes questions as quiz.md, each checked by Candor's parser, their headings unique."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.ids: dict[str, int] = {}  # question id -> line of the question that has it
        self.numbers: dict[str, int] = {}  # question id -> the last number given to a twin

    def write(self, question: GiftQuestion) -> str | None:
        """The question's Markdown, or None with a problem if Candor would refuse it."""
        label = question_label(question.title, question.stem)
        heading, plain, body = _heading_and_body(question)
        notes: list[str] = []
        if not slugify(plain):
            heading = plain = f"Question at line {question.line}"
            body = body or body_md(question.stem)
            notes.append(
                f'question "{label}" has no letters or digits to make a heading id '
                f'from: headed "{heading}"'
            )
        base, base_plain, base_id = heading, plain, ""
        while True:
            markdown = _render(question, heading, body)
            quiz, found = parse_quiz(markdown, self.reader.path)
            if quiz is None or found:
                self.reader.problems.append(
                    Problem(
                        self.reader.path,
                        question.line,
                        f'question "{label}" would not be valid in Candor: {found[0].message}',
                    )
                )
                return None
            question_id = quiz.questions[0].id  # the id Candor makes of the heading
            base_id = base_id or question_id
            if question_id not in self.ids:
                break
            self.numbers[base_id] = number = self.numbers.get(base_id, 1) + 1
            heading, plain = f"{base} ({number})", f"{base_plain} ({number})"
            if slugify(plain) == slugify(base_plain):
                # ids keep the first 60 characters only: shorten it so that the number counts
                plain = f"{cut_text(base_plain, 45)} ({number})"
                heading = _escape_heading(plain)
        if heading != base:
            notes.append(
                f'heading "{base_plain}" is already used by the question on line '
                f'{self.ids[base_id]}: renamed to "{plain}"'
            )
        self.ids[question_id] = question.line
        notes += [f'question "{label}": {what} left out' for what in _html_left_out(question)]
        for message in notes:
            self.reader.note(question.line, message)
        return markdown

"""Blocks of options: a question's or a conversation step's lines split into body, options
and explanation, each rendered and checked.

Part of the quiz parser; nothing outside ``app.content.quiz`` should need it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from app.content.markdown import render_inline, render_markdown
from app.content.problems import Problem
from app.content.quiz.lexer import DOUBLE_MARK, MUST_PASS, Line, first_nonblank, join_lines
from app.content.quiz.text import plain_text, visible

MAX_OPTIONS = 26  # option ids are letters


@dataclass
class RawOption:
    """An option as written: its mark (None if malformed), text and feedback lines."""

    line: int
    mark: str | None  # None: malformed checkbox
    text: list[str]
    feedback: list[str] = field(default_factory=list)
    feedback_line: int = 0


@dataclass
class RawBlock:
    """A question's or step's lines, split into body, options and explanation."""

    body: list[str] = field(default_factory=list)
    options: list[RawOption] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    explanation_line: int = 0
    malformed: bool = False
    plain_items: bool = False


def letters() -> Iterator[str]:
    """Option letters in order: their ids are ``<question-id>.<letter>``."""
    return iter("abcdefghijklmnopqrstuvwxyz")


def render_block(lines: Iterable[str]) -> str:
    """Markdown lines rendered and sanitised, or "" if they hold no text."""
    text = join_lines(lines)
    return render_markdown(text) if text.strip() else ""


class BlockGrammar:
    """Collects problems at their lines and reads blocks of options; the quiz grammar builds
    on it."""

    def __init__(self, path: str, line_offset: int) -> None:
        self.path = path
        self.offset = line_offset
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        """Report a problem at a 1-based line of the text."""
        self.problems.append(Problem(self.path, line + self.offset, message))

    def must_pass(self, tokens: list[Line]) -> tuple[str | None, list[Line]]:
        """Read a ``Must pass: TEXT`` line first under a heading: the text rendered (None if
        there is no such line) and the tokens without it."""
        first = first_nonblank(tokens)
        match = MUST_PASS.match(first.raw.strip()) if first is not None else None
        if first is None or match is None:
            return None, tokens
        text_html = render_inline(match.group(1).strip())
        if not visible(text_html):
            self.problem(
                first.number,
                "must pass has no text: say what the learner must get right, like "
                "Must pass: never deny that AI tools are in use",
            )
            text_html = ""  # reported; keep the mark so no further problem follows from it
        return text_html, [t for t in tokens if t is not first]

    def misplaced_must_pass(self, tokens: list[Line], where: str) -> None:
        """Report a ``Must pass:`` line first under a heading that cannot be must-pass."""
        first = first_nonblank(tokens)
        if first is not None and MUST_PASS.match(first.raw.strip()):
            self.problem(first.number, f"Must pass: does not go {where}")

    def option_text(self, raw: RawOption, text: str, seen: dict[str, int]) -> str:
        """Render an option's text, reporting it if empty, marked twice or repeated."""
        if raw.mark is None:
            return render_inline(text)
        if not text:
            self.problem(raw.line, "option has no text: write it after the checkbox")
            return ""
        if DOUBLE_MARK.match(text):
            self.problem(raw.line, "option is marked twice: keep one checkbox, [x] or [ ]")
        text_html = render_inline(text)
        if not visible(text_html):
            self.problem(raw.line, "option has no visible text once unsafe markup is removed")
        key = plain_text(text_html).casefold()
        if key and key in seen:
            self.problem(
                raw.line,
                f"option repeats the one on line {seen[key] + self.offset}: "
                "each option must be different",
            )
        elif key:
            seen[key] = raw.line
        return text_html

    def check_options(self, heading: Line, block: RawBlock, what: str, correct: int) -> None:
        """Report a block with too few or too many options, or none marked [x]."""
        if block.malformed:
            return  # the malformed checkbox is the problem; counting would only add noise
        hint = " (list items need a checkbox: - [ ] or - [x])" if block.plain_items else ""
        if not block.options:
            self.problem(
                heading.number,
                f"{what} has no options: list them under it, "
                f"- [x] for a correct one and - [ ] for a wrong one"
                f"{hint}",
            )
        elif len(block.options) == 1:
            self.problem(
                heading.number,
                f"{what} has only one option: add at least one more (- [ ] for a wrong one)",
            )
        elif len(block.options) > MAX_OPTIONS:
            self.problem(
                heading.number,
                f"{what} has {len(block.options)} options, at most {MAX_OPTIONS} are allowed",
            )
        elif not correct:
            if what == "question":
                self.problem(
                    heading.number, "question has no correct option: mark at least one with - [x]"
                )
            else:
                self.problem(
                    heading.number,
                    "step has no recommended choice: mark the best "
                    "one(s) with - [x] (the review shows them; the "
                    "score comes from the outcome)",
                )

    def quote(self, lines: list[str], line: int, what: str) -> str | None:
        """Render a feedback or explanation blockquote, reporting it if it is empty."""
        if not line:
            return None
        text = join_lines(lines)
        if not text.strip():
            self.problem(line, f"empty {what}: write the {what} after the >, or delete the line")
            return None
        return render_markdown(text)

    def block(self, tokens: list[Line], what: str) -> RawBlock:
        """Split a question's or step's lines into body, options and explanation."""
        block = RawBlock()
        phase = "body"  # body -> options -> explanation
        current = RawOption(0, None, [])  # replaced by the first option
        last = ""  # what a lazy continuation line continues: text, feedback, explanation
        blank = False
        stray = False
        for token in tokens:
            if token.kind == "blank":
                if phase == "body":
                    block.body.append("")
                blank = True
                continue
            after_blank, blank = blank, False
            stray = stray and not after_blank  # one report per paragraph of stray text
            if phase == "body" and token.kind not in ("option", "badbox"):
                block.body.append(token.raw)
                block.plain_items = block.plain_items or token.kind == "item"
                continue
            if token.kind in ("option", "badbox"):
                stray = False
                if phase == "explanation":
                    block.malformed = True  # counting the options would only add noise
                    self.problem(
                        token.number,
                        "option after the explanation: the explanation "
                        "(> at the start of the line) comes after the "
                        "last option; if it is feedback for the option "
                        "above, indent it by two spaces",
                    )
                    continue
                phase = "options"
                mark = token.mark if token.kind == "option" else None
                if mark is None:
                    block.malformed = True
                    self.problem(
                        token.number,
                        f"malformed checkbox in {token.content[:40]!r}: "
                        "write - [x] for a correct option or - [ ] for "
                        "a wrong one, then a space and the text",
                    )
                    text = ""
                else:
                    text = token.content
                current = RawOption(token.number, mark, [text])
                block.options.append(current)
                last = "text"
                continue
            if token.kind == "quote" and phase == "options" and token.indent >= 1:
                if not current.feedback_line:
                    current.feedback_line = token.number
                elif after_blank:
                    current.feedback.append("")
                current.feedback.append(token.content)
                last = "feedback"
                stray = False
            elif token.kind == "quote":
                if phase == "options":
                    phase = "explanation"
                    block.explanation_line = token.number
                elif after_blank:
                    block.explanation.append("")
                block.explanation.append(token.content)
                last = "explanation"
                stray = False
            elif token.kind == "text" and not after_blank and not stray:
                # Markdown's lazy continuation: the line goes on with what is above it
                target = {
                    "text": current.text,
                    "feedback": current.feedback,
                    "explanation": block.explanation,
                }[last]
                target.append(token.raw.strip())
            elif token.kind == "text" and phase == "options" and token.indent >= 2:
                if current.feedback_line:
                    self.problem(
                        token.number,
                        "text under an option after its feedback: the "
                        "feedback blockquote must come last in the "
                        "option",
                    )
                else:
                    current.text.extend(["", token.raw.strip()])
            elif token.kind == "item" and phase == "options":
                self.problem(
                    token.number,
                    "list item without a checkbox among the options: "
                    "write - [x] for a correct option or - [ ] for a "
                    "wrong one",
                )
            elif not stray:
                stray = True
                if phase == "options":
                    self.problem(
                        token.number,
                        f"text after the options of this {what}: indent "
                        "it by two spaces to continue the option above, "
                        "start it with > to make it the explanation, or "
                        "move it under the next heading",
                    )
                else:
                    self.problem(
                        token.number,
                        f"text after the explanation of this {what}: "
                        "start each explanation line with >, or move the "
                        "text under the next heading",
                    )
        return block

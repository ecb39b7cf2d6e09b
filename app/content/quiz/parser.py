"""The quiz grammar: front matter, standalone questions, scenarios and conversations, with
every problem found reported at its line.

Part of the quiz parser; callers use ``parse_quiz`` from ``app.content.quiz``.
"""

from __future__ import annotations

import re
from typing import Any

from app.content.frontmatter import (
    FIRST_SETTING_LINE,
    SHARED_SETTINGS,
    report_unknown_keys,
    setting_problem,
    split_front_matter,
)
from app.content.markdown import render_inline
from app.content.problems import Problem
from app.content.quiz.blocks import letters, render_block
from app.content.quiz.conversations import ConversationGrammar
from app.content.quiz.lexer import (
    JUMP,
    KIND_PREFIX,
    Line,
    Section,
    first_nonblank,
    join_lines,
    split_sections,
    tokenize,
)
from app.content.quiz.model import Option, Question, Quiz, QuizSettings, Scenario, Unit
from app.content.quiz.text import plain_text, slugify, visible

MAX_QUIZ_CHARS = 1_000_000  # a quiz is a few pages; anything larger is a mistake or an attack
SETTINGS_KEYS = ("shuffle", "draw", "pass_mark", "max_attempts")


class QuizParser(ConversationGrammar):
    """Reads one quiz.md; ``problems`` holds everything wrong with it."""

    def __init__(self, path: str, line_offset: int) -> None:
        super().__init__(path, line_offset)
        self.ids: dict[str, tuple[int, str]] = {}  # id -> (line, heading text)

    # -- the whole file ------------------------------------------------------------------

    def parse(self, text: str) -> Quiz | None:
        if len(text) > MAX_QUIZ_CHARS:
            self.problem(
                1,
                f"quiz is too large ({len(text)} characters, at most "
                f"{MAX_QUIZ_CHARS}): split it or shorten it",
            )
            return None
        lines = re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))
        settings, start, draw_line = self.front_matter(lines)
        if start is None:
            return None
        tokens = tokenize(lines, start)
        items = self.body(tokens)
        if not items and not any(t.kind == "heading" and t.level in (2, 3) for t in tokens):
            self.problem(
                start + 1 if start < len(lines) else 1,
                "quiz has no questions: start each one with a ## heading followed by "
                "its options, - [x] for a correct one and - [ ] for a wrong one",
            )
        required = sum(item.must_pass for item in items)
        if settings.draw is not None and required > settings.draw:
            self.problem(
                draw_line,
                f"draw = {settings.draw} but {required} unit(s) hold must-pass items, and "
                "every attempt shows all of them: raise draw to at least "
                f"{required}, or remove it",
            )
        elif settings.draw is not None and settings.draw > len(items):
            self.problem(
                draw_line,
                f"draw = {settings.draw} but the quiz has only "
                f"{len(items)} unit(s) to draw from (a standalone "
                "question, a scenario and a conversation count as one "
                "unit each): lower draw, or remove it to show everything",
            )
        return Quiz(settings, tuple(items))

    def front_matter(self, lines: list[str]) -> tuple[QuizSettings, int | None, int]:
        """Settings, the index of the first body line (None: give up), the line of ``draw``."""
        found: list[Problem] = []
        front = split_front_matter(lines, self.path, found)
        if front is not None:
            report_unknown_keys(
                front.data,
                SETTINGS_KEYS,
                front.lines,
                self.path,
                found,
                first_line=FIRST_SETTING_LINE,
            )
        for problem in found:
            self.problem(problem.line, problem.message)
        if front is None:
            return QuizSettings(), None, 1

        values: dict[str, Any] = {}
        for key, value in front.data.items():
            line = front.key_line(key)
            if key == "shuffle":
                if isinstance(value, bool):
                    values[key] = value
                else:
                    self.problem(line, "shuffle must be true or false")
            elif key == "draw":
                if type(value) is int and value >= 1:
                    values[key] = value
                else:
                    self.problem(
                        line,
                        "draw must be a whole number of at least 1: how many "
                        "questions, scenarios and conversations an attempt shows",
                    )
            elif key in SHARED_SETTINGS:
                if (message := setting_problem(key, value)) is None:
                    values[key] = value
                else:
                    self.problem(line, f"{key} {message}")
        return QuizSettings(**values), front.body_start, front.key_line("draw")

    def body(self, tokens: list[Line]) -> list[Unit]:
        cleaned: list[Line] = []
        seen_content = False
        for token in tokens:
            if token.kind == "heading" and (token.level == 1 or token.level > 3):
                if token.level == 1 and not seen_content:
                    pass  # a title for readers of the file; Candor shows the course title
                elif token.level == 1:
                    self.problem(
                        token.number,
                        "a # heading inside the quiz: only the first line "
                        "may be a # title; questions start with ##",
                    )
                else:
                    self.problem(
                        token.number,
                        f"{'#' * token.level} headings are not part of "
                        "a quiz: use ## for a question (### for one "
                        "inside a scenario)",
                    )
                token = Line(token.number, token.raw, "blank")
            if token.kind != "blank":
                seen_content = True
            cleaned.append(token)

        preamble, sections = split_sections(cleaned, 2)
        self.stray_top_level(preamble)
        items: list[Unit] = []
        for section in sections:
            item = self.unit(section)
            if item is not None:
                items.append(item)
        return items

    def stray_top_level(self, tokens: list[Line]) -> None:
        head, subsections = split_sections(tokens, 3)
        if first := first_nonblank(head):
            self.problem(
                first.number,
                "text before the first question: every question starts "
                "with a ## heading (a # title on the first line is "
                "allowed)",
            )
        for sub in subsections:
            self.problem(
                sub.heading.number,
                "### heading outside a scenario: use ## for a "
                "standalone question, or put it under "
                "## Scenario: TITLE",
            )

    # -- units -------------------------------------------------------------------------

    def unit(self, section: Section) -> Unit | None:
        heading = section.heading
        match = KIND_PREFIX.match(heading.content)
        if match is None:
            head, subsections = split_sections(section.tokens, 3)
            for sub in subsections:
                self.problem(
                    sub.heading.number,
                    "### heading under a standalone question: use ## for a new "
                    "question, or start a scenario with ## Scenario: TITLE above "
                    "its ### questions",
                )
            return self.question(heading, heading.content, head)
        kind = match.group(1).lower()
        if kind in ("step", "outcome"):
            self.problem(
                heading.number,
                f"## {kind.title()}: is only used inside a "
                "## Conversation:, and with three #: "
                f"### {kind.title()}: NAME",
            )
            return None
        title_html = render_inline(match.group(2))
        title = plain_text(title_html)
        if not title:
            self.problem(
                heading.number,
                f"{kind} has no title: write ## {kind.title()}: followed by a short title",
            )
            return None
        unit_id = self.claim_id(heading, title)
        if kind == "scenario":
            return self.scenario(heading, unit_id, title, section.tokens)
        return self.conversation(heading, unit_id, title, section.tokens)

    def claim_id(self, heading: Line, text: str) -> str:
        """Register the id made from a heading's text; report it if another heading has it."""
        unit_id = slugify(text)
        if not unit_id:
            self.problem(
                heading.number, "heading has no letters or digits to make an id from: reword it"
            )
            return ""
        if unit_id in self.ids:
            first_line, first_text = self.ids[unit_id]
            if first_text.casefold() == text.casefold():
                self.problem(
                    heading.number,
                    f"duplicate heading {text!r} (also on line "
                    f"{first_line + self.offset}): every question, "
                    "scenario and conversation needs its own heading, "
                    "because ids are made from them",
                )
            else:
                self.problem(
                    heading.number,
                    f"heading makes the id {unit_id!r}, already made "
                    f"by the heading on line {first_line + self.offset}: "
                    "reword one of them (ids come from the letters "
                    "and digits of the first 60 characters)",
                )
        else:
            self.ids[unit_id] = (heading.number, text)
        return unit_id

    def question(self, heading: Line, text: str, tokens: list[Line]) -> Question | None:
        prompt_html = render_inline(text)
        if not visible(prompt_html):
            self.problem(
                heading.number,
                "question heading has no text: the heading is the question, write it after the #",
            )
            return None
        question_id = self.claim_id(heading, plain_text(prompt_html))
        must_pass_html, tokens = self.must_pass(tokens)
        block = self.block(tokens, "question")
        options: list[Option] = []
        texts: dict[str, int] = {}
        for letter, raw in zip(letters(), block.options, strict=False):
            option_text = join_lines(raw.text).strip()
            if JUMP.search(option_text):
                self.problem(
                    raw.line,
                    "a jump (→ [..](#..)) only belongs to a choice in a "
                    "### Step: of a ## Conversation:; remove it here",
                )
            html_text = self.option_text(raw, option_text, texts)
            options.append(
                Option(
                    id=f"{question_id}.{letter}",
                    text_html=html_text,
                    correct=raw.mark in ("x", "X"),
                    feedback_html=self.quote(raw.feedback, raw.feedback_line, "feedback"),
                )
            )
        self.check_options(heading, block, "question", sum(o.correct for o in options))
        return Question(
            id=question_id,
            prompt_html=prompt_html,
            body_html=render_block(block.body),
            multiple=sum(o.correct for o in options) > 1,
            options=tuple(options),
            explanation_html=self.quote(block.explanation, block.explanation_line, "explanation"),
            line=heading.number + self.offset,
            must_pass_html=must_pass_html,
        )

    # -- scenarios ---------------------------------------------------------------------

    def scenario(
        self, heading: Line, scenario_id: str, title: str, tokens: list[Line]
    ) -> Scenario | None:
        head, subsections = split_sections(tokens, 3)
        self.misplaced_must_pass(
            head, "under a scenario: put it first under the ### question that must be passed"
        )
        if option := next((t for t in head if t.kind in ("option", "badbox")), None):
            self.problem(
                option.number, "options in a scenario's stem: put them under a ### question heading"
            )
        questions: list[Question] = []
        headed = 0  # ### headings that are meant as questions
        for sub in subsections:
            if match := KIND_PREFIX.match(sub.heading.content):
                kind = match.group(1).title()
                if kind in ("Step", "Outcome"):
                    self.problem(
                        sub.heading.number,
                        f"### {kind}: belongs in a ## Conversation:, not a scenario",
                    )
                else:
                    self.problem(
                        sub.heading.number,
                        f"a {kind.lower()} cannot be inside a scenario: start it with ## {kind}:",
                    )
                continue
            headed += 1
            if question := self.question(sub.heading, sub.heading.content, sub.tokens):
                questions.append(question)
        if not headed:
            self.problem(
                heading.number,
                "scenario has no questions: add ### question headings "
                "(each with its options) under it",
            )
        return Scenario(
            id=scenario_id,
            title=title,
            stem_html=render_block(t.raw if t.kind != "blank" else "" for t in head),
            questions=tuple(questions),
            line=heading.number + self.offset,
        )


def parse_quiz(text: str, path: str, line_offset: int = 0) -> tuple[Quiz | None, list[Problem]]:
    """Parse and validate a quiz: the quiz and no problems, or None and every problem found."""
    parser = QuizParser(path, line_offset)
    quiz = parser.parse(text)
    problems = sorted(set(parser.problems))
    return (None if problems else quiz), problems

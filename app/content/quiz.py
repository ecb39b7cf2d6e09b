"""Parsing and validating ``quiz.md`` into a frozen, JSON-storable ``Quiz``.

Contract:

- ``parse_quiz`` never raises for bad content. It returns ``(quiz, [])``, or ``(None, problems)``
  with every problem found (sorted), each at its 1-based line plus ``line_offset``.
- Every ``*_html`` string comes from ``render_markdown`` / ``render_inline`` and so is
  sanitised; titles are plain text, to be escaped wherever they are shown.
- Ids are readable slugs of the headings, at most 60 characters. Question, scenario and
  conversation ids share one namespace and are unique within the quiz (a clash is a problem,
  never a silent suffix). Option ids are ``<question-id>.<letter>``, conversation choice ids
  ``<conversation-id>.<step-id>.<letter>``; so an id from another question is recognisably
  foreign, and ids stay stable across versions while headings stay the same.
- ``Quiz.from_dict(quiz.to_dict()) == quiz``, and ``to_dict`` is plain JSON.

The grammar is documented for trainers in ``docs/quiz-format.md``. Nothing here imports Flask
or touches the database.
"""

from __future__ import annotations

import difflib
import html
import re
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from app.content.markdown import render_inline, render_markdown
from app.content.problems import Problem

FORMAT_VERSION = 1
MAX_QUIZ_CHARS = 1_000_000  # a quiz is a few pages; anything larger is a mistake or an attack
MAX_ID_CHARS = 60
MAX_OPTIONS = 26  # option ids are letters
DEFAULT_CONVERSATION_POINTS = 2
MAX_CONVERSATION_POINTS = 100
SETTINGS_KEYS = ("shuffle", "draw", "pass_mark", "max_attempts")


# --------------------------------------------------------------------------------------------
# The parsed quiz


@dataclass(frozen=True)
class QuizSettings:
    """Front-matter settings; ``None`` means "not set here" (all units / the course's value)."""

    shuffle: bool = False
    draw: int | None = None
    pass_mark: int | None = None
    max_attempts: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "shuffle": self.shuffle,
            "draw": self.draw,
            "pass_mark": self.pass_mark,
            "max_attempts": self.max_attempts,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuizSettings:
        """Rebuild settings from ``to_dict`` output."""
        return cls(
            shuffle=bool(d["shuffle"]),
            draw=d["draw"],
            pass_mark=d["pass_mark"],
            max_attempts=d["max_attempts"],
        )


@dataclass(frozen=True)
class Option:
    """One answer of a question; ``correct`` is its ``[x]`` mark."""

    id: str
    text_html: str
    correct: bool
    feedback_html: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "id": self.id,
            "text_html": self.text_html,
            "correct": self.correct,
            "feedback_html": self.feedback_html,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Option:
        """Rebuild an option from ``to_dict`` output."""
        return cls(d["id"], d["text_html"], bool(d["correct"]), d["feedback_html"])


@dataclass(frozen=True)
class Question:
    """A question, standalone or in a scenario; ``multiple`` when more than one option is right."""

    id: str
    prompt_html: str
    body_html: str
    multiple: bool
    options: tuple[Option, ...]
    explanation_html: str | None
    line: int

    points = 1

    @property
    def correct_option_ids(self) -> frozenset[str]:
        """Ids of the options marked ``[x]``."""
        return frozenset(o.id for o in self.options if o.correct)

    def option(self, option_id: str) -> Option | None:
        """The option with this id, or None if it is not one of this question's."""
        return next((o for o in self.options if o.id == option_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "kind": "question",
            "id": self.id,
            "prompt_html": self.prompt_html,
            "body_html": self.body_html,
            "multiple": self.multiple,
            "options": [o.to_dict() for o in self.options],
            "explanation_html": self.explanation_html,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Question:
        """Rebuild a question from ``to_dict`` output."""
        return cls(
            id=d["id"],
            prompt_html=d["prompt_html"],
            body_html=d["body_html"],
            multiple=bool(d["multiple"]),
            options=tuple(Option.from_dict(o) for o in d["options"]),
            explanation_html=d["explanation_html"],
            line=int(d["line"]),
        )


@dataclass(frozen=True)
class Scenario:
    """A stem and the questions about it, drawn whole and kept in authored order."""

    id: str
    title: str
    stem_html: str
    questions: tuple[Question, ...]
    line: int

    @property
    def points(self) -> int:
        """One point per question."""
        return len(self.questions)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "kind": "scenario",
            "id": self.id,
            "title": self.title,
            "stem_html": self.stem_html,
            "questions": [q.to_dict() for q in self.questions],
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Scenario:
        """Rebuild a scenario from ``to_dict`` output."""
        return cls(
            id=d["id"],
            title=d["title"],
            stem_html=d["stem_html"],
            questions=tuple(Question.from_dict(q) for q in d["questions"]),
            line=int(d["line"]),
        )


@dataclass(frozen=True)
class Choice:
    """What the agent may say at a step: ``reaction_html`` is the customer's reply, ``next_id``
    the step or outcome it leads to, ``recommended`` its ``[x]`` mark (shown in review only)."""

    id: str
    text_html: str
    recommended: bool
    reaction_html: str | None
    next_id: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "id": self.id,
            "text_html": self.text_html,
            "recommended": self.recommended,
            "reaction_html": self.reaction_html,
            "next": self.next_id,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Choice:
        """Rebuild a choice from ``to_dict`` output."""
        return cls(d["id"], d["text_html"], bool(d["recommended"]), d["reaction_html"], d["next"])


@dataclass(frozen=True)
class Step:
    """A point in a conversation: what the customer says, and the agent's choices."""

    id: str
    title: str
    customer_html: str
    choices: tuple[Choice, ...]
    note_html: str | None
    line: int

    def choice(self, choice_id: str) -> Choice | None:
        """The choice with this id, or None if it is not offered at this step."""
        return next((c for c in self.choices if c.id == choice_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "id": self.id,
            "title": self.title,
            "customer_html": self.customer_html,
            "choices": [c.to_dict() for c in self.choices],
            "note_html": self.note_html,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Step:
        """Rebuild a step from ``to_dict`` output."""
        return cls(
            id=d["id"],
            title=d["title"],
            customer_html=d["customer_html"],
            choices=tuple(Choice.from_dict(c) for c in d["choices"]),
            note_html=d["note_html"],
            line=int(d["line"]),
        )


@dataclass(frozen=True)
class Outcome:
    """Where a conversation ends: ``score`` is a whole percentage, the explanation says why."""

    id: str
    title: str
    score: int
    explanation_html: str
    line: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "id": self.id,
            "title": self.title,
            "score": self.score,
            "explanation_html": self.explanation_html,
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outcome:
        """Rebuild an outcome from ``to_dict`` output."""
        return cls(d["id"], d["title"], int(d["score"]), d["explanation_html"], int(d["line"]))


@dataclass(frozen=True)
class Conversation:
    """A branching scenario: starts at ``steps[0]``, worth ``points``, scored by its outcome."""

    id: str
    title: str
    stem_html: str
    points: int
    steps: tuple[Step, ...]
    outcomes: tuple[Outcome, ...]
    line: int

    @property
    def start_id(self) -> str:
        """The id of the first step."""
        return self.steps[0].id

    def step(self, step_id: str) -> Step | None:
        """The step with this id, or None."""
        return next((s for s in self.steps if s.id == step_id), None)

    def outcome(self, outcome_id: str) -> Outcome | None:
        """The outcome with this id, or None."""
        return next((o for o in self.outcomes if o.id == outcome_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "kind": "conversation",
            "id": self.id,
            "title": self.title,
            "stem_html": self.stem_html,
            "points": self.points,
            "steps": [s.to_dict() for s in self.steps],
            "outcomes": [o.to_dict() for o in self.outcomes],
            "line": self.line,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Conversation:
        """Rebuild a conversation from ``to_dict`` output."""
        return cls(
            id=d["id"],
            title=d["title"],
            stem_html=d["stem_html"],
            points=int(d["points"]),
            steps=tuple(Step.from_dict(s) for s in d["steps"]),
            outcomes=tuple(Outcome.from_dict(o) for o in d["outcomes"]),
            line=int(d["line"]),
        )


Unit = Question | Scenario | Conversation
"""What ``draw`` counts: a standalone question, a scenario or a conversation."""

_UNIT_TYPES: dict[str, type[Question] | type[Scenario] | type[Conversation]] = {
    "question": Question,
    "scenario": Scenario,
    "conversation": Conversation,
}


@dataclass(frozen=True)
class Quiz:
    """A valid quiz: its settings and its units (``items``) in authored order."""

    settings: QuizSettings
    items: tuple[Unit, ...]

    @property
    def unit_count(self) -> int:
        """How many units ``draw`` chooses from."""
        return len(self.items)

    @property
    def points_possible(self) -> int:
        """Points of an attempt that shows every unit."""
        return sum(item.points for item in self.items)

    @property
    def questions(self) -> tuple[Question, ...]:
        """Every question, standalone or in a scenario, in authored order."""
        return tuple(self._questions.values())

    def unit(self, unit_id: str) -> Unit | None:
        """The unit (standalone question, scenario or conversation) with this id, or None."""
        return self._units.get(unit_id)

    def question(self, question_id: str) -> Question | None:
        """The question (standalone or in a scenario) with this id, or None."""
        return self._questions.get(question_id)

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The conversation with this id, or None."""
        unit = self._units.get(conversation_id)
        return unit if isinstance(unit, Conversation) else None

    @cached_property
    def _units(self) -> dict[str, Unit]:
        return {item.id: item for item in self.items}

    @cached_property
    def _questions(self) -> dict[str, Question]:
        found: dict[str, Question] = {}
        for item in self.items:
            if isinstance(item, Question):
                found[item.id] = item
            elif isinstance(item, Scenario):
                found.update((question.id, question) for question in item.questions)
        return found

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form, for a JSON column; ``from_dict`` restores it exactly."""
        return {
            "format": FORMAT_VERSION,
            "settings": self.settings.to_dict(),
            "items": [item.to_dict() for item in self.items],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Quiz:
        """Rebuild a quiz from ``to_dict`` output; raise ValueError for anything else."""
        try:
            if d["format"] != FORMAT_VERSION:
                raise ValueError(f"unsupported stored quiz format {d['format']!r}")
            items = tuple(_UNIT_TYPES[item["kind"]].from_dict(item) for item in d["items"])
            return cls(settings=QuizSettings.from_dict(d["settings"]), items=items)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored quiz: {exc!r}") from exc


# --------------------------------------------------------------------------------------------
# Ids and text


def slugify(text: str) -> str:
    """A readable id for a heading: lower-case words joined by ``-``, at most 60 characters."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    # "customer's" reads as one word, as GitHub's heading anchors have it
    plain = re.sub(r"['\u2018\u2019]", "", plain)
    slug = "-".join(re.findall(r"[^\W_]+", plain))
    return slug[:MAX_ID_CHARS].rstrip("-")


def plain_text(fragment_html: str) -> str:
    """The visible text of sanitised HTML, for titles and ids."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", fragment_html)).split())


def _visible(fragment_html: str) -> bool:
    return bool(plain_text(fragment_html)) or "<img" in fragment_html


# --------------------------------------------------------------------------------------------
# Lines


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
_DOUBLE_MARK = re.compile(r"^\[[ xX]\]")
_JUMP = re.compile(
    r"(?:\u2192|->)[ \t]{0,10}\[([^\]]{0,300})\]\([ \t]{0,10}#([^)\s]{0,200})[ \t]{0,10}\)"
)
_ANCHOR_LINK = re.compile(r"\[[^\]]{0,300}\]\([ \t]{0,10}#[^)\s]{0,200}[ \t]{0,10}\)")
_SCORE = re.compile(r"^score[ \t]*:(.*)$", re.IGNORECASE)
_POINTS = re.compile(r"^points[ \t]*:(.*)$", re.IGNORECASE)
_KIND_PREFIX = re.compile(r"^(scenario|conversation|step|outcome)[ \t]*:[ \t]*(.*)$", re.I)
_TOML_LINE = re.compile(r"at line (\d+)")


@dataclass
class _Line:
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


def _classify(number: int, raw: str) -> _Line:
    if not raw.strip():
        return _Line(number, raw, "blank")
    indent = _indent(raw)
    if match := _HEADING.match(raw):
        return _Line(number, raw, "heading", level=len(match.group(1)),
                     content=_heading_text(match.group(2) or ""))
    if match := _OPTION.match(raw):
        return _Line(number, raw, "option", indent, content=(match.group(2) or "").strip(),
                     mark=match.group(1))
    if _BAD_BOX.match(raw):
        return _Line(number, raw, "badbox", indent, content=raw.strip())
    stripped = raw.lstrip()
    if stripped.startswith(">"):
        content = stripped[1:]
        return _Line(number, raw, "quote", indent, content=content[1:] if content[:1] == " "
                     else content)
    if _ITEM.match(raw):
        return _Line(number, raw, "item", indent)
    return _Line(number, raw, "text", indent)


def _tokenize(lines: list[str], start: int) -> list[_Line]:
    """Classify lines, leaving code fences verbatim and whole-line HTML comments out."""
    tokens: list[_Line] = []
    fence: str | None = None
    in_comment = False
    for index in range(start, len(lines)):
        raw, number = lines[index], index + 1
        if fence is not None:
            tokens.append(_Line(number, raw, "text", _indent(raw)))
            stripped = raw.strip()
            if stripped.startswith(fence) and set(stripped) == {fence[0]}:
                fence = None
            continue
        if in_comment or raw.lstrip().startswith("<!--"):
            # trainers' notes: GitHub hides them and so do we
            in_comment = "-->" not in raw
            tokens.append(_Line(number, raw, "blank"))
            continue
        if match := _FENCE.match(raw):
            fence = match.group(1)
            tokens.append(_Line(number, raw, "text", _indent(raw)))
            continue
        tokens.append(_classify(number, raw))
    return tokens


# --------------------------------------------------------------------------------------------
# Blocks of options


@dataclass
class _RawOption:
    line: int
    mark: str | None  # None: malformed checkbox
    text: list[str]
    feedback: list[str] = field(default_factory=list)
    feedback_line: int = 0


@dataclass
class _RawBlock:
    body: list[str] = field(default_factory=list)
    options: list[_RawOption] = field(default_factory=list)
    explanation: list[str] = field(default_factory=list)
    explanation_line: int = 0
    malformed: bool = False
    plain_items: bool = False


def _join(lines: Iterable[str]) -> str:
    return "\n".join(lines).strip("\n")


def _first_nonblank(tokens: list[_Line]) -> _Line | None:
    return next((t for t in tokens if t.kind != "blank"), None)


@dataclass
class _Section:
    heading: _Line
    tokens: list[_Line]


def _split(tokens: list[_Line], level: int) -> tuple[list[_Line], list[_Section]]:
    """Split at headings of ``level``: the lines before the first, then each section."""
    head: list[_Line] = []
    sections: list[_Section] = []
    for token in tokens:
        if token.kind == "heading" and token.level == level:
            sections.append(_Section(token, []))
        elif sections:
            sections[-1].tokens.append(token)
        else:
            head.append(token)
    return head, sections


# --------------------------------------------------------------------------------------------
# The parser


class _Parser:
    def __init__(self, path: str, line_offset: int) -> None:
        self.path = path
        self.offset = line_offset
        self.problems: list[Problem] = []
        self.ids: dict[str, tuple[int, str]] = {}  # id -> (line, heading text)

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line + self.offset, message))

    # -- the whole file ------------------------------------------------------------------

    def parse(self, text: str) -> Quiz | None:
        if len(text) > MAX_QUIZ_CHARS:
            self.problem(1, f"quiz is too large ({len(text)} characters, at most "
                            f"{MAX_QUIZ_CHARS}): split it or shorten it")
            return None
        lines = re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))
        settings, start, draw_line = self.front_matter(lines)
        if start is None:
            return None
        tokens = _tokenize(lines, start)
        items = self.body(tokens)
        if not items and not any(t.kind == "heading" and t.level in (2, 3) for t in tokens):
            self.problem(start + 1 if start < len(lines) else 1,
                         "quiz has no questions: start each one with a ## heading followed by "
                         "its options, - [x] for a correct one and - [ ] for a wrong one")
        if settings.draw is not None and settings.draw > len(items):
            self.problem(draw_line, f"draw = {settings.draw} but the quiz has only "
                                    f"{len(items)} unit(s) to draw from (a standalone "
                                    "question, a scenario and a conversation count as one "
                                    "unit each): lower draw, or remove it to show everything")
        return Quiz(settings, tuple(items))

    def front_matter(self, lines: list[str]) -> tuple[QuizSettings, int | None, int]:
        """Settings, the index of the first body line (None: give up), the line of ``draw``."""
        if not lines or lines[0].strip() != "+++":
            if lines and lines[0].strip() == "---":
                self.problem(1, "front matter is TOML between +++ lines, not YAML between ---")
            return QuizSettings(), 0, 1
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "+++"), None)
        if end is None:
            self.problem(1, "front matter opened with +++ on line 1 is never closed: "
                            "add a line with +++ after the settings")
            return QuizSettings(), None, 1
        source = lines[1:end]

        def key_line(key: str) -> int:
            pattern = re.compile(rf"^\s*(?:\[\s*)?[\"']?{re.escape(key)}[\"']?\s*[=.\]]")
            return next((i + 2 for i, s in enumerate(source) if pattern.match(s)), 1)

        try:
            data = tomllib.loads("\n".join(source))
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            at = _TOML_LINE.search(message)
            line = int(at.group(1)) + 1 if at else max(end, 1)
            reason = re.sub(r"\s*\((?:at line.*|at end of document)\)$", "", message)
            self.problem(line, f"front matter is not valid TOML: {reason} "
                               '(write settings as key = value, e.g. shuffle = true)')
            return QuizSettings(), end + 1, 1

        values: dict[str, Any] = {}
        for key, value in data.items():
            line = key_line(key)
            if key not in SETTINGS_KEYS:
                close = difflib.get_close_matches(key, SETTINGS_KEYS, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                self.problem(line, f"unknown front matter key {key!r}: {hint}"
                                   f"the keys are {', '.join(SETTINGS_KEYS)}")
            elif key == "shuffle":
                if isinstance(value, bool):
                    values[key] = value
                else:
                    self.problem(line, "shuffle must be true or false")
            elif key == "draw":
                if type(value) is int and value >= 1:
                    values[key] = value
                else:
                    self.problem(line, "draw must be a whole number of at least 1: how many "
                                       "questions, scenarios and conversations an attempt shows")
            else:
                if type(value) is int and 0 <= value <= 100:
                    values[key] = value
                elif key == "pass_mark":
                    self.problem(line, "pass_mark must be a whole number from 0 to 100 "
                                       "(the percentage needed to pass)")
                else:
                    self.problem(line, "max_attempts must be a whole number from 0 to 100 "
                                       "(0 means unlimited)")
        return QuizSettings(**values), end + 1, key_line("draw")

    def body(self, tokens: list[_Line]) -> list[Unit]:
        cleaned: list[_Line] = []
        seen_content = False
        for token in tokens:
            if token.kind == "heading" and (token.level == 1 or token.level > 3):
                if token.level == 1 and not seen_content:
                    pass  # a title for readers of the file; Candor shows the course title
                elif token.level == 1:
                    self.problem(token.number, "a # heading inside the quiz: only the first line "
                                               "may be a # title; questions start with ##")
                else:
                    self.problem(token.number, f"{'#' * token.level} headings are not part of "
                                               "a quiz: use ## for a question (### for one "
                                               "inside a scenario)")
                token = _Line(token.number, token.raw, "blank")
            if token.kind != "blank":
                seen_content = True
            cleaned.append(token)

        preamble, sections = _split(cleaned, 2)
        self.stray_top_level(preamble)
        items: list[Unit] = []
        for section in sections:
            item = self.unit(section)
            if item is not None:
                items.append(item)
        return items

    def stray_top_level(self, tokens: list[_Line]) -> None:
        head, subsections = _split(tokens, 3)
        if first := _first_nonblank(head):
            self.problem(first.number, "text before the first question: every question starts "
                                       "with a ## heading (a # title on the first line is "
                                       "allowed)")
        for sub in subsections:
            self.problem(sub.heading.number, "### heading outside a scenario: use ## for a "
                                             "standalone question, or put it under "
                                             "## Scenario: TITLE")

    # -- units -------------------------------------------------------------------------

    def unit(self, section: _Section) -> Unit | None:
        heading = section.heading
        match = _KIND_PREFIX.match(heading.content)
        if match is None:
            head, subsections = _split(section.tokens, 3)
            for sub in subsections:
                self.problem(sub.heading.number,
                             "### heading under a standalone question: use ## for a new "
                             "question, or start a scenario with ## Scenario: TITLE above "
                             "its ### questions")
            return self.question(heading, heading.content, head)
        kind = match.group(1).lower()
        if kind in ("step", "outcome"):
            self.problem(heading.number, f"## {kind.title()}: is only used inside a "
                                         "## Conversation:, and with three #: "
                                         f"### {kind.title()}: NAME")
            return None
        title_html = render_inline(match.group(2))
        title = plain_text(title_html)
        if not title:
            self.problem(heading.number, f"{kind} has no title: write ## {kind.title()}: "
                                         "followed by a short title")
            return None
        unit_id = self.claim_id(heading, title)
        if kind == "scenario":
            return self.scenario(heading, unit_id, title, section.tokens)
        return self.conversation(heading, unit_id, title, section.tokens)

    def claim_id(self, heading: _Line, text: str) -> str:
        """Register the id made from a heading's text; report it if another heading has it."""
        unit_id = slugify(text)
        if not unit_id:
            self.problem(heading.number, "heading has no letters or digits to make an id from: "
                                         "reword it")
            return ""
        if unit_id in self.ids:
            first_line, first_text = self.ids[unit_id]
            if first_text.casefold() == text.casefold():
                self.problem(heading.number, f"duplicate heading {text!r} (also on line "
                                             f"{first_line + self.offset}): every question, "
                                             "scenario and conversation needs its own heading, "
                                             "because ids are made from them")
            else:
                self.problem(heading.number, f"heading makes the id {unit_id!r}, already made "
                                             f"by the heading on line {first_line + self.offset}: "
                                             "reword one of them (ids come from the letters "
                                             "and digits of the first 60 characters)")
        else:
            self.ids[unit_id] = (heading.number, text)
        return unit_id

    def question(self, heading: _Line, text: str, tokens: list[_Line]) -> Question | None:
        prompt_html = render_inline(text)
        if not _visible(prompt_html):
            self.problem(heading.number, "question heading has no text: the heading is the "
                                         "question, write it after the #")
            return None
        question_id = self.claim_id(heading, plain_text(prompt_html))
        block = self.block(tokens, "question")
        options: list[Option] = []
        texts: dict[str, int] = {}
        for letter, raw in zip(_letters(), block.options, strict=False):
            option_text = _join(raw.text).strip()
            if _JUMP.search(option_text):
                self.problem(raw.line, "a jump (→ [..](#..)) only belongs to a choice in a "
                                       "### Step: of a ## Conversation:; remove it here")
            html_text = self.option_text(raw, option_text, texts)
            options.append(Option(
                id=f"{question_id}.{letter}",
                text_html=html_text,
                correct=raw.mark in ("x", "X"),
                feedback_html=self.quote(raw.feedback, raw.feedback_line, "feedback"),
            ))
        self.check_options(heading, block, "question", sum(o.correct for o in options))
        return Question(
            id=question_id,
            prompt_html=prompt_html,
            body_html=_render_block(block.body),
            multiple=sum(o.correct for o in options) > 1,
            options=tuple(options),
            explanation_html=self.quote(block.explanation, block.explanation_line, "explanation"),
            line=heading.number + self.offset,
        )

    def option_text(self, raw: _RawOption, text: str, seen: dict[str, int]) -> str:
        """Render an option's text, reporting it if empty, marked twice or repeated."""
        if raw.mark is None:
            return render_inline(text)
        if not text:
            self.problem(raw.line, "option has no text: write it after the checkbox")
            return ""
        if _DOUBLE_MARK.match(text):
            self.problem(raw.line, "option is marked twice: keep one checkbox, [x] or [ ]")
        text_html = render_inline(text)
        if not _visible(text_html):
            self.problem(raw.line, "option has no visible text once unsafe markup is removed")
        key = plain_text(text_html).casefold()
        if key and key in seen:
            self.problem(raw.line, f"option repeats the one on line {seen[key] + self.offset}: "
                                   "each option must be different")
        elif key:
            seen[key] = raw.line
        return text_html

    def check_options(self, heading: _Line, block: _RawBlock, what: str, correct: int) -> None:
        if block.malformed:
            return  # the malformed checkbox is the problem; counting would only add noise
        hint = " (list items need a checkbox: - [ ] or - [x])" if block.plain_items else ""
        if not block.options:
            self.problem(heading.number, f"{what} has no options: list them under it, "
                                         f"- [x] for a correct one and - [ ] for a wrong one"
                                         f"{hint}")
        elif len(block.options) == 1:
            self.problem(heading.number, f"{what} has only one option: add at least one more "
                                         "(- [ ] for a wrong one)")
        elif len(block.options) > MAX_OPTIONS:
            self.problem(heading.number, f"{what} has {len(block.options)} options, at most "
                                         f"{MAX_OPTIONS} are allowed")
        elif not correct:
            if what == "question":
                self.problem(heading.number, "question has no correct option: mark at least "
                                             "one with - [x]")
            else:
                self.problem(heading.number, "step has no recommended choice: mark the best "
                                             "one(s) with - [x] (the review shows them; the "
                                             "score comes from the outcome)")

    def quote(self, lines: list[str], line: int, what: str) -> str | None:
        """Render a feedback or explanation blockquote, reporting it if it is empty."""
        if not line:
            return None
        text = _join(lines)
        if not text.strip():
            self.problem(line, f"empty {what}: write the {what} after the >, or delete the line")
            return None
        return render_markdown(text)

    def block(self, tokens: list[_Line], what: str) -> _RawBlock:
        """Split a question's or step's lines into body, options and explanation."""
        block = _RawBlock()
        phase = "body"  # body -> options -> explanation
        current = _RawOption(0, None, [])  # replaced by the first option
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
                    self.problem(token.number, "option after the explanation: the explanation "
                                               "(> at the start of the line) comes after the "
                                               "last option; if it is feedback for the option "
                                               "above, indent it by two spaces")
                    continue
                phase = "options"
                mark = token.mark if token.kind == "option" else None
                if mark is None:
                    block.malformed = True
                    self.problem(token.number, f"malformed checkbox in {token.content[:40]!r}: "
                                               "write - [x] for a correct option or - [ ] for "
                                               "a wrong one, then a space and the text")
                    text = ""
                else:
                    text = token.content
                current = _RawOption(token.number, mark, [text])
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
                target = {"text": current.text, "feedback": current.feedback,
                          "explanation": block.explanation}[last]
                target.append(token.raw.strip())
            elif token.kind == "text" and phase == "options" and token.indent >= 2:
                if current.feedback_line:
                    self.problem(token.number, "text under an option after its feedback: the "
                                               "feedback blockquote must come last in the "
                                               "option")
                else:
                    current.text.extend(["", token.raw.strip()])
            elif token.kind == "item" and phase == "options":
                self.problem(token.number, "list item without a checkbox among the options: "
                                           "write - [x] for a correct option or - [ ] for a "
                                           "wrong one")
            elif not stray:
                stray = True
                if phase == "options":
                    self.problem(token.number, f"text after the options of this {what}: indent "
                                               "it by two spaces to continue the option above, "
                                               "start it with > to make it the explanation, or "
                                               "move it under the next heading")
                else:
                    self.problem(token.number, f"text after the explanation of this {what}: "
                                               "start each explanation line with >, or move the "
                                               "text under the next heading")
        return block

    # -- scenarios ---------------------------------------------------------------------

    def scenario(self, heading: _Line, scenario_id: str, title: str,
                 tokens: list[_Line]) -> Scenario | None:
        head, subsections = _split(tokens, 3)
        if option := next((t for t in head if t.kind in ("option", "badbox")), None):
            self.problem(option.number, "options in a scenario's stem: put them under a "
                                        "### question heading")
        questions: list[Question] = []
        headed = 0  # ### headings that are meant as questions
        for sub in subsections:
            if match := _KIND_PREFIX.match(sub.heading.content):
                kind = match.group(1).title()
                if kind in ("Step", "Outcome"):
                    self.problem(sub.heading.number, f"### {kind}: belongs in a "
                                                     "## Conversation:, not a scenario")
                else:
                    self.problem(sub.heading.number, f"a {kind.lower()} cannot be inside a "
                                                     f"scenario: start it with ## {kind}:")
                continue
            headed += 1
            if question := self.question(sub.heading, sub.heading.content, sub.tokens):
                questions.append(question)
        if not headed:
            self.problem(heading.number, "scenario has no questions: add ### question headings "
                                         "(each with its options) under it")
        return Scenario(
            id=scenario_id,
            title=title,
            stem_html=_render_block(t.raw if t.kind != "blank" else "" for t in head),
            questions=tuple(questions),
            line=heading.number + self.offset,
        )

    # -- conversations -----------------------------------------------------------------

    def conversation(self, heading: _Line, conversation_id: str, title: str,
                     tokens: list[_Line]) -> Conversation | None:
        head, subsections = _split(tokens, 3)
        points = DEFAULT_CONVERSATION_POINTS
        first = _first_nonblank(head)
        if first is not None and (match := _POINTS.match(first.raw.strip())):
            value = match.group(1).strip()
            if value.isdigit() and 1 <= int(value) <= MAX_CONVERSATION_POINTS:
                points = int(value)
            else:
                self.problem(first.number, "conversation points must be a whole number from 1 "
                                           f"to {MAX_CONVERSATION_POINTS}, like Points: 3")
            head = [t for t in head if t is not first]
        if option := next((t for t in head if t.kind in ("option", "badbox")), None):
            self.problem(option.number, "choices in a conversation's introduction: put them "
                                        "under a ### Step: heading")

        steps: list[tuple[Step, list[tuple[_RawOption, str]]]] = []
        outcomes: list[Outcome] = []
        names: dict[str, int] = {}
        first_kind = ""
        for sub in subsections:
            match = _KIND_PREFIX.match(sub.heading.content)
            if match is None or match.group(1).lower() not in ("step", "outcome"):
                self.problem(sub.heading.number, "inside a conversation, use ### Step: NAME for "
                                                 "a point where the agent chooses and "
                                                 "### Outcome: NAME for an ending")
                continue
            kind = match.group(1).lower()
            if not first_kind:
                first_kind = kind
                if kind == "outcome":
                    self.problem(sub.heading.number, "a conversation starts at its first "
                                                     "### Step:, so that must come before any "
                                                     "### Outcome:")
            name = plain_text(render_inline(match.group(2)))
            node_id = slugify(name)
            if not node_id:
                self.problem(sub.heading.number, f"{kind} has no name: write ### {kind.title()}: "
                                                 "followed by a short name")
                continue
            if node_id in names:
                self.problem(sub.heading.number, f"{kind} name {name!r} makes the id "
                                                 f"{node_id!r}, already used on line "
                                                 f"{names[node_id] + self.offset}: steps and "
                                                 "outcomes of a conversation need distinct names")
                continue
            names[node_id] = sub.heading.number
            if kind == "step":
                steps.append(self.step(conversation_id, node_id, name, sub))
            else:
                outcomes.append(self.outcome(node_id, name, sub))

        if not steps:
            self.problem(heading.number, "conversation has no start: add a ### Step: NAME "
                                         "heading where the conversation begins, with the "
                                         "customer's words and the agent's choices")
        if not outcomes:
            self.problem(heading.number, "conversation has no outcome: add at least one "
                                         "### Outcome: NAME with a Score: line and an explanation")
        if steps and outcomes and first_kind == "step":
            self.check_graph(steps, outcomes)
        return Conversation(
            id=conversation_id,
            title=title,
            stem_html=_render_block(t.raw if t.kind != "blank" else "" for t in head),
            points=points,
            steps=tuple(step for step, _ in steps),
            outcomes=tuple(outcomes),
            line=heading.number + self.offset,
        )

    def step(self, conversation_id: str, step_id: str, name: str,
             section: _Section) -> tuple[Step, list[tuple[_RawOption, str]]]:
        """A step, and each choice's raw option with the anchor it jumps to ('' if none)."""
        block = self.block(section.tokens, "step")
        choices: list[Choice] = []
        jumps: list[tuple[_RawOption, str]] = []
        texts: dict[str, int] = {}
        for letter, raw in zip(_letters(), block.options, strict=False):
            text = _join(raw.text).strip()
            anchor = ""
            jumps_in_text = list(_JUMP.finditer(text))
            match = jumps_in_text[-1] if jumps_in_text else None
            if match is not None and not text[match.end():].strip():
                anchor = match.group(2)
                text = text[:match.start()].rstrip()
            elif raw.mark is not None and text:
                links = list(_ANCHOR_LINK.finditer(text))
                trailing = bool(links) and not text[links[-1].end():].strip()
                hint = (" (put → before the link)" if trailing
                        else " (the jump must end the choice)" if match else "")
                self.problem(raw.line, "choice has no jump: end it with → [next](#step-NAME) "
                                       f"or → [end](#outcome-NAME){hint}")
            jumps.append((raw, anchor))
            choices.append(Choice(
                id=f"{conversation_id}.{step_id}.{letter}",
                text_html=self.option_text(raw, text, texts),
                recommended=raw.mark in ("x", "X"),
                reaction_html=self.quote(raw.feedback, raw.feedback_line, "customer's reaction"),
                next_id="",  # resolved by check_graph
            ))
        self.check_options(section.heading, block, "step", sum(c.recommended for c in choices))
        step = Step(
            id=step_id,
            title=name,
            customer_html=_render_block(block.body),
            choices=tuple(choices),
            note_html=self.quote(block.explanation, block.explanation_line, "note"),
            line=section.heading.number + self.offset,
        )
        return step, jumps

    def outcome(self, outcome_id: str, name: str, section: _Section) -> Outcome:
        tokens = section.tokens
        if option := next((t for t in tokens if t.kind in ("option", "badbox")), None):
            self.problem(option.number, "an outcome ends the conversation and has no choices: "
                                        "use ### Step: NAME for a point where the agent chooses")
        first = _first_nonblank(tokens)
        score: int | None = None
        if first is None or not (match := _SCORE.match(first.raw.strip())):
            self.problem(section.heading.number, "outcome has no score: put a line like "
                                                 "Score: 100% right under its heading")
        else:
            value = match.group(1).strip().removesuffix("%").strip()
            if value.isdigit() and int(value) <= 100:
                score = int(value)
            else:
                self.problem(first.number, "outcome score must be a whole percentage from 0 to "
                                           "100, like Score: 50%")
            tokens = [t for t in tokens if t is not first]
        explanation = _join(t.raw if t.kind != "blank" else "" for t in tokens)
        if not explanation.strip():
            self.problem(section.heading.number, "outcome has no explanation: under the Score: "
                                                 "line, say what went well or badly")
        # an invalid score is reported above; keep the outcome so jumps to it still resolve
        return Outcome(outcome_id, name, score or 0, render_markdown(explanation),
                       section.heading.number + self.offset)

    def check_graph(self, steps: list[tuple[Step, list[tuple[_RawOption, str]]]],
                    outcomes: list[Outcome]) -> None:
        """Resolve jumps into ``next_id`` and report missing targets, dead ends and loops."""
        anchors: dict[str, str] = {}
        for step, _ in steps:
            anchors[f"step-{step.id}"] = step.id
        for outcome in outcomes:
            anchors[f"outcome-{outcome.id}"] = outcome.id
        for node_id in [s.id for s, _ in steps] + [o.id for o in outcomes]:
            anchors.setdefault(node_id, node_id)
        known = ", ".join(f"#step-{s.id}" for s, _ in steps)
        known += ", " + ", ".join(f"#outcome-{o.id}" for o in outcomes)

        edges: dict[str, set[str]] = {}
        complete = True
        for index, (step, jumps) in enumerate(steps):
            resolved = []
            for choice, (raw, anchor) in zip(step.choices, jumps, strict=True):
                target = anchors.get(slugify(anchor), "") if anchor else ""
                if anchor and not target:
                    self.problem(raw.line, f"jump to #{anchor}: this conversation has no step or "
                                           f"outcome with that anchor; its anchors are {known}")
                complete = complete and bool(target)
                resolved.append(_replace_next(choice, target))
            steps[index] = (Step(step.id, step.title, step.customer_html, tuple(resolved),
                                 step.note_html, step.line), jumps)
            edges[step.id] = {c.next_id for c in resolved if c.next_id}
        if not complete:
            return  # reachability means little while some jumps lead nowhere

        reachable = _reach({steps[0][0].id}, edges)
        for step, _ in steps:
            if step.id not in reachable:
                self.problem(step.line - self.offset, f"step {step.title!r} is never reached: no "
                                                      "choice jumps to it; link to it with → "
                                                      f"[..](#step-{step.id}) or remove it")
        for outcome in outcomes:
            if outcome.id not in reachable:
                self.problem(outcome.line - self.offset, f"outcome {outcome.title!r} is never "
                                                         "reached: no choice jumps to it; link to "
                                                         f"it with → [..](#outcome-{outcome.id}) "
                                                         "or remove it")
        backwards: dict[str, set[str]] = {}
        for source, targets in edges.items():
            for target in targets:
                backwards.setdefault(target, set()).add(source)
        finishing = _reach({o.id for o in outcomes}, backwards)
        for step, _ in steps:
            if step.id in reachable and step.id not in finishing:
                self.problem(step.line - self.offset, f"from step {step.title!r} no choices ever "
                                                      "lead to an outcome, so the conversation "
                                                      "would loop forever: give a choice here or "
                                                      "further on a jump toward an outcome")


def _replace_next(choice: Choice, next_id: str) -> Choice:
    return Choice(choice.id, choice.text_html, choice.recommended, choice.reaction_html, next_id)


def _reach(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _letters() -> Iterator[str]:
    return iter("abcdefghijklmnopqrstuvwxyz")


def _render_block(lines: Iterable[str]) -> str:
    text = _join(lines)
    return render_markdown(text) if text.strip() else ""


def parse_quiz(text: str, path: str, line_offset: int = 0) -> tuple[Quiz | None, list[Problem]]:
    """Parse and validate a quiz: the quiz and no problems, or None and every problem found."""
    parser = _Parser(path, line_offset)
    quiz = parser.parse(text)
    problems = sorted(set(parser.problems))
    return (None if problems else quiz), problems

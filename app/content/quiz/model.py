"""The parsed quiz: frozen dataclasses that round-trip through plain JSON.

``Quiz.from_dict(quiz.to_dict()) == quiz``, and ``to_dict`` is plain JSON, stored with each
course version. Every ``*_html`` string is sanitised; titles are plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

FORMAT_VERSION = 1


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
    must_pass_html: str | None = None  # what the learner must get right; None: not must-pass

    points = 1

    @property
    def correct_option_ids(self) -> frozenset[str]:
        """Ids of the options marked ``[x]``."""
        return frozenset(o.id for o in self.options if o.correct)

    def option(self, option_id: str) -> Option | None:
        """The option with this id, or None if it is not one of this question's."""
        return next((o for o in self.options if o.id == option_id), None)

    @property
    def must_pass(self) -> bool:
        """True when answering it wrongly fails the whole attempt, whatever the score."""
        return self.must_pass_html is not None

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
            "must_pass_html": self.must_pass_html,
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
            must_pass_html=d.get("must_pass_html"),  # absent from versions stored before it
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

    @property
    def must_pass(self) -> bool:
        """True when any of its questions is must-pass (so it is in every attempt)."""
        return any(q.must_pass_html is not None for q in self.questions)

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
    fails: bool = False  # reaching it fails the attempt (the conversation is must-pass)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "id": self.id,
            "title": self.title,
            "score": self.score,
            "explanation_html": self.explanation_html,
            "line": self.line,
            "fails": self.fails,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outcome:
        """Rebuild an outcome from ``to_dict`` output."""
        return cls(
            d["id"],
            d["title"],
            int(d["score"]),
            d["explanation_html"],
            int(d["line"]),
            bool(d.get("fails", False)),  # absent from versions stored before it
        )


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
    must_pass_html: str | None = None  # what the learner must do; None: not must-pass

    @property
    def must_pass(self) -> bool:
        """True when reaching an outcome marked ``fails`` fails the whole attempt."""
        return self.must_pass_html is not None

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
            "must_pass_html": self.must_pass_html,
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
            must_pass_html=d.get("must_pass_html"),  # absent from versions stored before it
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

    def scenario(self, scenario_id: str) -> Scenario | None:
        """The scenario with this id, or None."""
        unit = self._units.get(scenario_id)
        return unit if isinstance(unit, Scenario) else None

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

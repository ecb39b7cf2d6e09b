"""Plans: which units an attempt shows, in which order, with options in the order shown.

``plan_attempt(quiz, seed)`` is deterministic for its arguments; store ``plan.to_dict()`` with
the attempt and grade against the stored plan, never a recomputed one.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from app.content.quiz import Conversation, Question, Quiz, Scenario

FORMAT_VERSION = 1  # of the stored plan


@dataclass(frozen=True)
class PlannedQuestion:
    """A question of an attempt, with its options in the order shown."""

    id: str
    option_ids: tuple[str, ...]


@dataclass(frozen=True)
class PlannedStep:
    """A conversation step of an attempt, with its choices in the order shown."""

    id: str
    choice_ids: tuple[str, ...]


@dataclass(frozen=True)
class PlannedUnit:
    """A drawn unit: ``kind`` is question, scenario or conversation; ``questions`` holds the
    question itself or the scenario's questions, ``steps`` a conversation's steps."""

    kind: str
    id: str
    questions: tuple[PlannedQuestion, ...] = ()
    steps: tuple[PlannedStep, ...] = ()

    def step(self, step_id: str) -> PlannedStep | None:
        """The planned step with this id, or None."""
        return next((s for s in self.steps if s.id == step_id), None)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "kind": self.kind,
            "id": self.id,
            "questions": [{"id": q.id, "options": list(q.option_ids)} for q in self.questions],
            "steps": [{"id": s.id, "choices": list(s.choice_ids)} for s in self.steps],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PlannedUnit:
        """Rebuild a planned unit from ``to_dict`` output."""
        return cls(
            kind=d["kind"],
            id=d["id"],
            questions=tuple(PlannedQuestion(q["id"], tuple(q["options"])) for q in d["questions"]),
            steps=tuple(PlannedStep(s["id"], tuple(s["choices"])) for s in d["steps"]),
        )


@dataclass(frozen=True)
class AttemptPlan:
    """What one attempt shows, in the order shown; made by ``plan_attempt``."""

    seed: int
    units: tuple[PlannedUnit, ...]

    @property
    def answer_ids(self) -> tuple[str, ...]:
        """The keys ``grade`` expects: question and conversation ids, in plan order."""
        ids: list[str] = []
        for unit in self.units:
            if unit.kind == "conversation":
                ids.append(unit.id)
            else:
                ids.extend(q.id for q in unit.questions)
        return tuple(ids)

    def unit(self, unit_id: str) -> PlannedUnit | None:
        """The planned unit with this id, or None."""
        return next((u for u in self.units if u.id == unit_id), None)

    def question(self, question_id: str) -> PlannedQuestion | None:
        """The planned question with this id (standalone or in a scenario), or None."""
        for unit in self.units:
            for question in unit.questions:
                if question.id == question_id:
                    return question
        return None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form, to store with the attempt."""
        return {
            "format": FORMAT_VERSION,
            "seed": self.seed,
            "units": [u.to_dict() for u in self.units],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AttemptPlan:
        """Rebuild a plan from ``to_dict`` output; raise ValueError for anything else."""
        try:
            if d["format"] != FORMAT_VERSION:
                raise ValueError(f"unsupported stored plan format {d['format']!r}")
            return cls(
                seed=int(d["seed"]), units=tuple(PlannedUnit.from_dict(u) for u in d["units"])
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored attempt plan: {exc!r}") from exc


def plan_attempt(quiz: Quiz, seed: int) -> AttemptPlan:
    """Choose and order what an attempt shows; the same quiz and seed give the same plan."""
    if type(seed) is not int:
        raise TypeError("seed must be an int")
    # Reproducible order, not a secret: the seed stays on the server with the attempt.
    rng = random.Random(seed)  # noqa: S311
    items = list(quiz.items)
    draw = quiz.settings.draw
    if draw is not None and draw < len(items):
        # Must-pass units are in every attempt; the draw fills the rest of the places.
        required = [i for i, item in enumerate(items) if item.must_pass]
        others = [i for i, item in enumerate(items) if not item.must_pass]
        drawn = rng.sample(others, draw - len(required)) if required else rng.sample(others, draw)
        items = [items[i] for i in sorted(required + drawn)]
    shuffler = rng if quiz.settings.shuffle else None
    if shuffler is not None:
        shuffler.shuffle(items)
    units: list[PlannedUnit] = []
    for item in items:
        if isinstance(item, Question):
            units.append(PlannedUnit("question", item.id, (_plan_question(item, shuffler),)))
        elif isinstance(item, Scenario):
            units.append(
                PlannedUnit(
                    "scenario", item.id, tuple(_plan_question(q, shuffler) for q in item.questions)
                )
            )
        else:
            steps = tuple(
                PlannedStep(s.id, _order([c.id for c in s.choices], shuffler)) for s in item.steps
            )
            units.append(PlannedUnit("conversation", item.id, steps=steps))
    return AttemptPlan(seed=seed, units=tuple(units))


def _plan_question(question: Question, rng: random.Random | None) -> PlannedQuestion:
    return PlannedQuestion(question.id, _order([o.id for o in question.options], rng))


def _order(ids: list[str], rng: random.Random | None) -> tuple[str, ...]:
    if rng is not None:
        rng.shuffle(ids)
    return tuple(ids)


def check_plan(quiz: Quiz, plan: AttemptPlan) -> None:
    """Raise ValueError unless every planned unit matches the quiz (same ids, same options)."""
    for unit in plan.units:
        item = quiz.unit(unit.id)
        if isinstance(item, Conversation):
            fits = unit.kind == "conversation" and [
                (s.id, set(s.choice_ids)) for s in unit.steps
            ] == [(s.id, {c.id for c in s.choices}) for s in item.steps]
        elif isinstance(item, Question | Scenario):
            kind = "question" if isinstance(item, Question) else "scenario"
            questions = (item,) if isinstance(item, Question) else item.questions
            fits = unit.kind == kind and [(q.id, set(q.option_ids)) for q in unit.questions] == [
                (q.id, {o.id for o in q.options}) for q in questions
            ]
        else:
            fits = False
        if not fits:
            raise ValueError(f"the attempt plan does not fit this quiz (unit {unit.id!r})")

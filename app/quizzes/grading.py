"""Planning quiz attempts and grading them: pure functions over a parsed ``Quiz``.

Contract:

- ``plan_attempt(quiz, seed)`` is deterministic for its arguments. It draws whole units (a
  standalone question, a scenario or a conversation counts as one) and, when the quiz says
  ``shuffle``, shuffles unit order and the options of every question and conversation step; a
  scenario's questions keep their authored order. Store ``plan.to_dict()`` with the attempt and
  grade against the stored plan; never recompute it.
- ``grade`` checks every answer before it scores anything, and raises ``AnswerError`` (HTTP
  400) for tampered input, so a caller that stores only after ``grade`` returns stores nothing
  when it raises. A missing answer is not an error: it scores zero (``missing`` lists them).
  A conversation's answer is its whole path of choice ids, in order; a path that stops before
  an outcome is refused, so take a conversation step by step with ``conversation_state`` and
  submit it once finished (``missing(plan, answers, quiz)`` lists unfinished ones).
- Points: a question is worth 1 and is right only when exactly its ``[x]`` options are chosen
  (partly right is wrong). A conversation is worth its ``points`` (default 2) times its
  outcome's score / 100. Points are exact ``Fraction`` values (always whole hundredths);
  ``Grade.percent`` rounds down, and a grade passes iff ``earned * 100 >= pass_mark * possible``.
- A plan that does not fit the quiz (another version) is a caller bug: ``ValueError``.

No Flask and no database here.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from app.content.quiz import Conversation, Question, Quiz, Scenario
from app.errors import DomainError

FORMAT_VERSION = 1
MAX_ANSWER_ID_CHARS = 200  # real ids are at most 60 + 1 + 60 + 2 characters
MAX_IDS_PER_ANSWER = 200
MAX_PATH_CHOICES = 200  # loops are allowed, so bound the path a learner can walk


class AnswerError(DomainError):
    """Answers that no honest form could have sent: foreign, duplicate or malformed ids."""

    status = 400


# --------------------------------------------------------------------------------------------
# Plans


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
            questions=tuple(PlannedQuestion(q["id"], tuple(q["options"]))
                            for q in d["questions"]),
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
            return cls(seed=int(d["seed"]),
                       units=tuple(PlannedUnit.from_dict(u) for u in d["units"]))
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
        items = [items[i] for i in sorted(rng.sample(range(len(items)), draw))]
    shuffler = rng if quiz.settings.shuffle else None
    if shuffler is not None:
        shuffler.shuffle(items)
    units: list[PlannedUnit] = []
    for item in items:
        if isinstance(item, Question):
            units.append(PlannedUnit("question", item.id, (_plan_question(item, shuffler),)))
        elif isinstance(item, Scenario):
            units.append(PlannedUnit("scenario", item.id,
                                     tuple(_plan_question(q, shuffler) for q in item.questions)))
        else:
            steps = tuple(PlannedStep(s.id, _order([c.id for c in s.choices], shuffler))
                          for s in item.steps)
            units.append(PlannedUnit("conversation", item.id, steps=steps))
    return AttemptPlan(seed=seed, units=tuple(units))


def _plan_question(question: Question, rng: random.Random | None) -> PlannedQuestion:
    return PlannedQuestion(question.id, _order([o.id for o in question.options], rng))


def _order(ids: list[str], rng: random.Random | None) -> tuple[str, ...]:
    if rng is not None:
        rng.shuffle(ids)
    return tuple(ids)


def _check_plan(quiz: Quiz, plan: AttemptPlan) -> None:
    """Raise ValueError unless every planned unit matches the quiz (same ids, same options)."""
    for unit in plan.units:
        item = quiz.unit(unit.id)
        if isinstance(item, Conversation):
            fits = unit.kind == "conversation" and [(s.id, set(s.choice_ids)) for s in unit.steps
                                                    ] == [(s.id, {c.id for c in s.choices})
                                                          for s in item.steps]
        elif isinstance(item, Question | Scenario):
            kind = "question" if isinstance(item, Question) else "scenario"
            questions = (item,) if isinstance(item, Question) else item.questions
            fits = unit.kind == kind and [(q.id, set(q.option_ids)) for q in unit.questions
                                          ] == [(q.id, {o.id for o in q.options})
                                                for q in questions]
        else:
            fits = False
        if not fits:
            raise ValueError(f"the attempt plan does not fit this quiz (unit {unit.id!r})")


# --------------------------------------------------------------------------------------------
# Answers


def _shown(value: str) -> str:
    """A client-sent id, quoted and cut short, safe to put in a message."""
    return repr(value[:60] + ("…" if len(value) > 60 else ""))


def _check_id(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise AnswerError(f"{what} must be a string")
    if len(value) > MAX_ANSWER_ID_CHARS:
        raise AnswerError(f"{what} is far too long to be an id of this quiz")
    return value


def _id_list(value: object, key: str, ordered: bool) -> tuple[str, ...]:
    what = "the path of conversation" if ordered else "the answer to question"
    acceptable = (Sequence,) if ordered else (Sequence, AbstractSet)
    if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, acceptable):
        raise AnswerError(f"{what} {_shown(key)} must be a list of option ids")
    if len(value) > (MAX_PATH_CHOICES if ordered else MAX_IDS_PER_ANSWER):
        raise AnswerError(f"{what} {_shown(key)} has far too many option ids")
    return tuple(_check_id(item, "an option id") for item in value)


def _check_question(question: Question, planned: PlannedQuestion,
                    chosen: tuple[str, ...]) -> tuple[str, ...]:
    seen: set[str] = set()
    for option_id in chosen:
        if option_id not in planned.option_ids:
            raise AnswerError(f"option {_shown(option_id)} does not belong to question "
                              f"{_shown(question.id)}")
        if option_id in seen:
            raise AnswerError(f"option {_shown(option_id)} is chosen twice for question "
                              f"{_shown(question.id)}")
        seen.add(option_id)
    if len(chosen) > 1 and not question.multiple:
        raise AnswerError(f"question {_shown(question.id)} takes a single answer, but "
                          f"{len(chosen)} options were chosen")
    return tuple(o for o in planned.option_ids if o in seen)  # in the order shown


@dataclass(frozen=True)
class ConversationState:
    """Where a path of choices has got to: at ``step_id`` awaiting a choice among
    ``choice_ids`` (in the order shown), or finished at ``outcome_id``."""

    conversation_id: str
    path: tuple[str, ...]
    step_id: str | None
    choice_ids: tuple[str, ...]
    outcome_id: str | None

    @property
    def finished(self) -> bool:
        """True once the path has reached an outcome."""
        return self.outcome_id is not None


def _walk(conversation: Conversation, path: tuple[str, ...]) -> str:
    """The step or outcome id a valid path leads to; AnswerError for an invalid one."""
    node = conversation.start_id
    for choice_id in path:
        step = conversation.step(node)
        if step is None:
            raise AnswerError(f"the path of conversation {_shown(conversation.id)} goes on "
                              "after it has reached an outcome")
        choice = step.choice(choice_id)
        if choice is None:
            raise AnswerError(f"{_shown(choice_id)} is not a choice at step {_shown(step.id)} "
                              f"of conversation {_shown(conversation.id)}")
        node = choice.next_id
    return node


def _planned_conversation(quiz: Quiz, plan: AttemptPlan,
                          conversation_id: object) -> tuple[Conversation, PlannedUnit]:
    conversation_id = _check_id(conversation_id, "a conversation id")
    unit = plan.unit(conversation_id)
    conversation = quiz.conversation(conversation_id)
    if unit is None or unit.kind != "conversation" or conversation is None:
        raise AnswerError(f"{_shown(conversation_id)} is not a conversation of this attempt")
    return conversation, unit


def conversation_state(quiz: Quiz, plan: AttemptPlan, conversation_id: str,
                       path: Sequence[str]) -> ConversationState:
    """Follow the choices made so far; raise AnswerError if they are not a path of the plan."""
    _check_plan(quiz, plan)
    conversation, unit = _planned_conversation(quiz, plan, conversation_id)
    choices = _id_list(path, conversation.id, ordered=True)
    node = _walk(conversation, choices)
    if conversation.outcome(node) is not None:
        return ConversationState(conversation.id, choices, None, (), node)
    planned = unit.step(node)
    return ConversationState(conversation.id, choices, node,
                             planned.choice_ids if planned else (), None)


def next_in_conversation(quiz: Quiz, conversation_id: str, step_id: str, option_id: str) -> str:
    """The step or outcome id a choice leads to; AnswerError if it is not a choice at that step."""
    conversation = quiz.conversation(_check_id(conversation_id, "a conversation id"))
    if conversation is None:
        raise AnswerError(f"{_shown(conversation_id)} is not a conversation of this quiz")
    step = conversation.step(_check_id(step_id, "a step id"))
    if step is None:
        raise AnswerError(f"{_shown(step_id)} is not a step of conversation "
                          f"{_shown(conversation.id)}")
    choice = step.choice(_check_id(option_id, "an option id"))
    if choice is None:
        raise AnswerError(f"{_shown(option_id)} is not a choice at step {_shown(step.id)} of "
                          f"conversation {_shown(conversation.id)}")
    return choice.next_id


def check_answers(quiz: Quiz, plan: AttemptPlan,
                  answers: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """The answers, checked against the plan (AnswerError if tampered), empty ones left out."""
    _check_plan(quiz, plan)
    if not isinstance(answers, Mapping):
        raise AnswerError("answers must map question ids to the option ids chosen")
    checked: dict[str, tuple[str, ...]] = {}
    for key, value in answers.items():
        key = _check_id(key, "a question id")
        planned_question = plan.question(key)
        question = quiz.question(key)
        if planned_question is not None and question is not None:
            chosen = _check_question(question, planned_question, _id_list(value, key, False))
            if chosen:
                checked[key] = chosen
            continue
        unit = plan.unit(key)
        if unit is None or unit.kind != "conversation":
            raise AnswerError(f"{_shown(key)} is not a question of this attempt")
        conversation, _ = _planned_conversation(quiz, plan, key)
        path = _id_list(value, key, True)
        if not path:
            continue
        node = _walk(conversation, path)
        if conversation.outcome(node) is None:
            raise AnswerError(f"conversation {_shown(key)} is unfinished: its path stops at "
                              f"step {_shown(node)}")
        checked[key] = path
    return checked


def missing(plan: AttemptPlan, answers: Mapping[str, Sequence[str]],
            quiz: Quiz | None = None) -> list[str]:
    """Ids of the plan's questions and conversations still unanswered, in plan order."""
    # With the quiz, an unfinished conversation counts too. Never raises: refusing tampered
    # answers is grade's job.
    if not isinstance(answers, Mapping):
        return list(plan.answer_ids)
    unanswered = []
    for answer_id in plan.answer_ids:
        value = answers.get(answer_id)
        if not value:
            unanswered.append(answer_id)
        elif quiz is not None and (conversation := quiz.conversation(answer_id)) is not None:
            try:
                path = _id_list(value, answer_id, True)
                if conversation.outcome(_walk(conversation, path)) is None:
                    unanswered.append(answer_id)
            except AnswerError:
                pass
    return unanswered


# --------------------------------------------------------------------------------------------
# Grades


def format_points(value: Fraction) -> str:
    """Points as a person reads them: ``2``, ``1.5``, ``0.75`` (exact for whole hundredths)."""
    hundredths = value * 100
    if hundredths.denominator != 1:
        return f"{value.numerator}/{value.denominator}"
    whole, part = divmod(abs(hundredths.numerator), 100)
    sign = "-" if value < 0 else ""
    return f"{sign}{whole}" if not part else f"{sign}{whole}.{part:02d}".rstrip("0")


@dataclass(frozen=True)
class OptionResult:
    """One option as the result page shows it: was it chosen, was it right, its feedback."""

    id: str
    text_html: str
    correct: bool
    chosen: bool
    feedback_html: str | None


@dataclass(frozen=True)
class QuestionResult:
    """How one question went; ``options`` are in the order they were shown."""

    question_id: str
    scenario_id: str | None
    prompt_html: str
    multiple: bool
    options: tuple[OptionResult, ...]
    answered: bool
    correct: bool
    explanation_html: str | None
    points_earned: int
    points_possible: int = 1

    @property
    def chosen_option_ids(self) -> tuple[str, ...]:
        """What the learner chose, in shown order."""
        return tuple(o.id for o in self.options if o.chosen)

    @property
    def correct_option_ids(self) -> tuple[str, ...]:
        """The right answer, in shown order."""
        return tuple(o.id for o in self.options if o.correct)

    @property
    def chosen_options(self) -> tuple[OptionResult, ...]:
        """The chosen options, each with its feedback."""
        return tuple(o for o in self.options if o.chosen)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form."""
        return {
            "kind": "question",
            "question_id": self.question_id,
            "scenario_id": self.scenario_id,
            "prompt_html": self.prompt_html,
            "multiple": self.multiple,
            "options": [
                {"id": o.id, "text_html": o.text_html, "correct": o.correct, "chosen": o.chosen,
                 "feedback_html": o.feedback_html}
                for o in self.options
            ],
            "answered": self.answered,
            "correct": self.correct,
            "explanation_html": self.explanation_html,
            "points_earned": self.points_earned,
            "points_possible": self.points_possible,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuestionResult:
        """Rebuild a result from ``to_dict`` output."""
        return cls(
            question_id=d["question_id"],
            scenario_id=d["scenario_id"],
            prompt_html=d["prompt_html"],
            multiple=bool(d["multiple"]),
            options=tuple(OptionResult(o["id"], o["text_html"], bool(o["correct"]),
                                       bool(o["chosen"]), o["feedback_html"])
                          for o in d["options"]),
            answered=bool(d["answered"]),
            correct=bool(d["correct"]),
            explanation_html=d["explanation_html"],
            points_earned=int(d["points_earned"]),
            points_possible=int(d["points_possible"]),
        )


@dataclass(frozen=True)
class PathStep:
    """One step of the path taken: what the customer said, the choice, their reaction."""

    step_id: str
    step_title: str
    customer_html: str
    choice_id: str
    choice_html: str
    recommended: bool
    reaction_html: str | None
    note_html: str | None


@dataclass(frozen=True)
class ConversationResult:
    """How a conversation went: the path taken, the outcome reached and the points it gives."""

    conversation_id: str
    title: str
    answered: bool
    path: tuple[PathStep, ...]
    outcome_id: str | None
    outcome_title: str | None
    outcome_score: int | None
    outcome_explanation_html: str | None
    points_earned: Fraction
    points_possible: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form; points as exact decimal strings."""
        return {
            "kind": "conversation",
            "conversation_id": self.conversation_id,
            "title": self.title,
            "answered": self.answered,
            "path": [
                {"step_id": p.step_id, "step_title": p.step_title,
                 "customer_html": p.customer_html, "choice_id": p.choice_id,
                 "choice_html": p.choice_html, "recommended": p.recommended,
                 "reaction_html": p.reaction_html, "note_html": p.note_html}
                for p in self.path
            ],
            "outcome_id": self.outcome_id,
            "outcome_title": self.outcome_title,
            "outcome_score": self.outcome_score,
            "outcome_explanation_html": self.outcome_explanation_html,
            "points_earned": format_points(self.points_earned),
            "points_possible": self.points_possible,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConversationResult:
        """Rebuild a result from ``to_dict`` output."""
        return cls(
            conversation_id=d["conversation_id"],
            title=d["title"],
            answered=bool(d["answered"]),
            path=tuple(PathStep(p["step_id"], p["step_title"], p["customer_html"],
                                p["choice_id"], p["choice_html"], bool(p["recommended"]),
                                p["reaction_html"], p["note_html"]) for p in d["path"]),
            outcome_id=d["outcome_id"],
            outcome_title=d["outcome_title"],
            outcome_score=d["outcome_score"],
            outcome_explanation_html=d["outcome_explanation_html"],
            points_earned=Fraction(d["points_earned"]),
            points_possible=int(d["points_possible"]),
        )


Result = QuestionResult | ConversationResult


@dataclass(frozen=True)
class Grade:
    """The graded attempt: exact points, and one result per question or conversation in plan
    order (a scenario's questions one by one, with its id)."""

    points_earned: Fraction
    points_possible: int
    results: tuple[Result, ...]

    @property
    def percent(self) -> int:
        """The score as a whole percentage, rounded down."""
        return math.floor(self.points_earned * 100 / self.points_possible)

    def passed(self, pass_mark: int) -> bool:
        """True iff the score reaches ``pass_mark`` percent, compared exactly."""
        if type(pass_mark) is not int or not 0 <= pass_mark <= 100:
            raise ValueError("pass_mark must be an int from 0 to 100")
        return self.points_earned * 100 >= pass_mark * self.points_possible

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form; ``percent`` is included for readers and recomputed on load."""
        return {
            "format": FORMAT_VERSION,
            "points_earned": format_points(self.points_earned),
            "points_possible": self.points_possible,
            "percent": self.percent,
            "results": [r.to_dict() for r in self.results],
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Grade:
        """Rebuild a grade from ``to_dict`` output; raise ValueError for anything else."""
        try:
            if d["format"] != FORMAT_VERSION:
                raise ValueError(f"unsupported stored grade format {d['format']!r}")
            results = tuple(
                QuestionResult.from_dict(r) if r["kind"] == "question"
                else ConversationResult.from_dict(r)
                for r in d["results"]
            )
            return cls(Fraction(d["points_earned"]), int(d["points_possible"]), results)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored grade: {exc!r}") from exc


def _question_result(question: Question, planned: PlannedQuestion, scenario_id: str | None,
                     chosen: tuple[str, ...]) -> QuestionResult:
    by_id = {o.id: o for o in question.options}
    options = tuple(
        OptionResult(o.id, o.text_html, o.correct, o.id in chosen, o.feedback_html)
        for o in (by_id[i] for i in planned.option_ids)
    )
    correct = bool(chosen) and frozenset(chosen) == question.correct_option_ids
    return QuestionResult(
        question_id=question.id,
        scenario_id=scenario_id,
        prompt_html=question.prompt_html,
        multiple=question.multiple,
        options=options,
        answered=bool(chosen),
        correct=correct,
        explanation_html=question.explanation_html,
        points_earned=int(correct),
    )


def _conversation_result(conversation: Conversation, path: tuple[str, ...]) -> ConversationResult:
    taken: list[PathStep] = []
    node = conversation.start_id
    for choice_id in path:  # already checked to be a path to an outcome
        step = conversation.step(node)
        choice = step.choice(choice_id) if step else None
        if step is None or choice is None:
            raise AnswerError(f"{_shown(choice_id)} is not on a path of conversation "
                              f"{_shown(conversation.id)}")
        taken.append(PathStep(step.id, step.title, step.customer_html, choice.id,
                              choice.text_html, choice.recommended, choice.reaction_html,
                              step.note_html))
        node = choice.next_id
    outcome = conversation.outcome(node) if path else None
    return ConversationResult(
        conversation_id=conversation.id,
        title=conversation.title,
        answered=outcome is not None,
        path=tuple(taken),
        outcome_id=outcome.id if outcome else None,
        outcome_title=outcome.title if outcome else None,
        outcome_score=outcome.score if outcome else None,
        outcome_explanation_html=outcome.explanation_html if outcome else None,
        points_earned=Fraction(outcome.score * conversation.points, 100) if outcome
        else Fraction(0),
        points_possible=conversation.points,
    )


def grade(quiz: Quiz, plan: AttemptPlan, answers: Mapping[str, Sequence[str]]) -> Grade:
    """Score an attempt's answers against its plan; AnswerError for tampered input."""
    chosen = check_answers(quiz, plan, answers)
    results: list[Result] = []
    for unit in plan.units:
        item = quiz.unit(unit.id)
        if isinstance(item, Conversation):  # check_answers has matched plan and quiz
            results.append(_conversation_result(item, chosen.get(unit.id, ())))
            continue
        scenario_id = unit.id if isinstance(item, Scenario) else None
        questions = {q.id: q for q in (item.questions if isinstance(item, Scenario) else (item,))}
        for planned in unit.questions:
            question = questions[planned.id]
            results.append(_question_result(question, planned, scenario_id,
                                            chosen.get(planned.id, ())))
    earned = sum((r.points_earned for r in results), Fraction(0))
    possible = sum(r.points_possible for r in results)
    return Grade(points_earned=earned, points_possible=possible, results=tuple(results))

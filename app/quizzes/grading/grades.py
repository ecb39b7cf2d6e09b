"""Grades: the points an attempt earns, and the result of every question and conversation.

A question is worth 1 and is right only when exactly its ``[x]`` options are chosen. A
conversation is worth its ``points`` times its outcome's score / 100. Points are exact
``Fraction`` values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from app.content.quiz import Conversation, Question, Quiz, Scenario
from app.quizzes.grading.answers import AnswerError, Incomplete, check_answers, missing, shown
from app.quizzes.grading.plans import AttemptPlan, PlannedQuestion

FORMAT_VERSION = 1  # of the stored grade


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
    must_pass_html: str | None = None  # set when answering it wrongly fails the attempt

    @property
    def fails_attempt(self) -> bool:
        """True when this must-pass question was not answered right."""
        return self.must_pass_html is not None and not self.correct

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
                {
                    "id": o.id,
                    "text_html": o.text_html,
                    "correct": o.correct,
                    "chosen": o.chosen,
                    "feedback_html": o.feedback_html,
                }
                for o in self.options
            ],
            "answered": self.answered,
            "correct": self.correct,
            "explanation_html": self.explanation_html,
            "points_earned": self.points_earned,
            "points_possible": self.points_possible,
            "must_pass_html": self.must_pass_html,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> QuestionResult:
        """Rebuild a result from ``to_dict`` output."""
        return cls(
            question_id=d["question_id"],
            scenario_id=d["scenario_id"],
            prompt_html=d["prompt_html"],
            multiple=bool(d["multiple"]),
            options=tuple(
                OptionResult(
                    o["id"],
                    o["text_html"],
                    bool(o["correct"]),
                    bool(o["chosen"]),
                    o["feedback_html"],
                )
                for o in d["options"]
            ),
            answered=bool(d["answered"]),
            correct=bool(d["correct"]),
            explanation_html=d["explanation_html"],
            points_earned=int(d["points_earned"]),
            points_possible=int(d["points_possible"]),
            must_pass_html=d.get("must_pass_html"),  # absent from grades stored before it
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
    must_pass_html: str | None = None  # set when the conversation is must-pass
    outcome_fails: bool = False  # the outcome reached fails the attempt

    @property
    def fails_attempt(self) -> bool:
        """True when this must-pass conversation ended badly, or did not end."""
        return self.must_pass_html is not None and (self.outcome_fails or not self.answered)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON form; points as exact decimal strings."""
        return {
            "kind": "conversation",
            "conversation_id": self.conversation_id,
            "title": self.title,
            "answered": self.answered,
            "path": [
                {
                    "step_id": p.step_id,
                    "step_title": p.step_title,
                    "customer_html": p.customer_html,
                    "choice_id": p.choice_id,
                    "choice_html": p.choice_html,
                    "recommended": p.recommended,
                    "reaction_html": p.reaction_html,
                    "note_html": p.note_html,
                }
                for p in self.path
            ],
            "outcome_id": self.outcome_id,
            "outcome_title": self.outcome_title,
            "outcome_score": self.outcome_score,
            "outcome_explanation_html": self.outcome_explanation_html,
            "points_earned": format_points(self.points_earned),
            "points_possible": self.points_possible,
            "must_pass_html": self.must_pass_html,
            "outcome_fails": self.outcome_fails,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConversationResult:
        """Rebuild a result from ``to_dict`` output."""
        return cls(
            conversation_id=d["conversation_id"],
            title=d["title"],
            answered=bool(d["answered"]),
            path=tuple(
                PathStep(
                    p["step_id"],
                    p["step_title"],
                    p["customer_html"],
                    p["choice_id"],
                    p["choice_html"],
                    bool(p["recommended"]),
                    p["reaction_html"],
                    p["note_html"],
                )
                for p in d["path"]
            ),
            outcome_id=d["outcome_id"],
            outcome_title=d["outcome_title"],
            outcome_score=d["outcome_score"],
            outcome_explanation_html=d["outcome_explanation_html"],
            points_earned=Fraction(d["points_earned"]),
            points_possible=int(d["points_possible"]),
            must_pass_html=d.get("must_pass_html"),  # absent from grades stored before it
            outcome_fails=bool(d.get("outcome_fails", False)),
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

    @property
    def must_pass_failures(self) -> tuple[Result, ...]:
        """The must-pass questions and conversations this attempt failed, in plan order."""
        return tuple(r for r in self.results if r.fails_attempt)

    def reaches(self, pass_mark: int) -> bool:
        """True iff the score reaches ``pass_mark`` percent, compared exactly."""
        if type(pass_mark) is not int or not 0 <= pass_mark <= 100:
            raise ValueError("pass_mark must be an int from 0 to 100")
        return self.points_earned * 100 >= pass_mark * self.points_possible

    def passed(self, pass_mark: int) -> bool:
        """True iff the score reaches ``pass_mark`` and no must-pass item was failed: a
        failed must-pass item fails the attempt whatever the score."""
        return self.reaches(pass_mark) and not self.must_pass_failures

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
                QuestionResult.from_dict(r)
                if r["kind"] == "question"
                else ConversationResult.from_dict(r)
                for r in d["results"]
            )
            return cls(Fraction(d["points_earned"]), int(d["points_possible"]), results)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored grade: {exc!r}") from exc


def _question_result(
    question: Question, planned: PlannedQuestion, scenario_id: str | None, chosen: tuple[str, ...]
) -> QuestionResult:
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
        must_pass_html=question.must_pass_html,
    )


def _conversation_result(conversation: Conversation, path: tuple[str, ...]) -> ConversationResult:
    taken: list[PathStep] = []
    node = conversation.start_id
    for choice_id in path:  # already checked to be a path to an outcome
        step = conversation.step(node)
        choice = step.choice(choice_id) if step else None
        if step is None or choice is None:
            raise AnswerError(
                f"{shown(choice_id)} is not on a path of conversation {shown(conversation.id)}"
            )
        taken.append(
            PathStep(
                step.id,
                step.title,
                step.customer_html,
                choice.id,
                choice.text_html,
                choice.recommended,
                choice.reaction_html,
                step.note_html,
            )
        )
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
        points_earned=Fraction(outcome.score * conversation.points, 100)
        if outcome
        else Fraction(0),
        points_possible=conversation.points,
        must_pass_html=conversation.must_pass_html,
        outcome_fails=outcome.fails if outcome else False,
    )


def grade(quiz: Quiz, plan: AttemptPlan, answers: Mapping[str, Sequence[str]]) -> Grade:
    """Score an attempt's answers against its plan; AnswerError for tampered input."""
    chosen = check_answers(quiz, plan, answers)
    results: list[Result] = []
    for unit in plan.units:
        item = quiz.unit(unit.id)  # check_answers has matched plan and quiz
        if isinstance(item, Conversation):
            results.append(_conversation_result(item, chosen.get(unit.id, ())))
            continue
        if isinstance(item, Scenario):
            scenario_id, questions = unit.id, {q.id: q for q in item.questions}
        elif isinstance(item, Question):
            scenario_id, questions = None, {item.id: item}
        else:
            raise ValueError(f"the attempt plan does not fit this quiz (unit {unit.id!r})")
        for planned in unit.questions:
            results.append(
                _question_result(
                    questions[planned.id], planned, scenario_id, chosen.get(planned.id, ())
                )
            )
    earned = sum((Fraction(r.points_earned) for r in results), Fraction(0))
    possible = sum(r.points_possible for r in results)
    return Grade(points_earned=earned, points_possible=possible, results=tuple(results))


def grade_submission(
    quiz: Quiz,
    plan: AttemptPlan,
    answers: Mapping[str, Sequence[str]],
    paths: Mapping[str, Sequence[str]],
) -> tuple[Grade, dict[str, list[str]]]:
    """Grade a submission: the ``answers`` sent, checked against the plan, with the
    conversation ``paths`` walked so far; Incomplete (naming them) while any is unanswered,
    AnswerError for tampered input. The grade, and the answers as graded (what an attempt
    keeps). The one grading of a submission: a learner's attempt (``submit_attempt``) and
    the studio's trial run (``authoring.preview.trial_grade``)."""
    merged = {
        **{k: list(v) for k, v in check_answers(quiz, plan, answers).items()},
        **{k: list(v) for k, v in paths.items()},
    }
    if gaps := missing(plan, merged, quiz):
        raise Incomplete(gaps)
    return grade(quiz, plan, merged), merged

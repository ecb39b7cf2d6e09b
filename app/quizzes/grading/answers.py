"""Answers: checking what a learner sent against the plan, and walking conversations.

Anything no honest form could have sent raises ``AnswerError`` (HTTP 400).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from app.content.quiz import Conversation, Question, Quiz
from app.errors import DomainError
from app.fields import QUIZ_ID_MAX
from app.quizzes.grading.plans import AttemptPlan, PlannedQuestion, PlannedUnit, check_plan

MAX_ANSWER_ID_CHARS = QUIZ_ID_MAX  # real ids are at most 60 + 1 + 60 + 2 characters
MAX_IDS_PER_ANSWER = 200
MAX_PATH_CHOICES = 200  # loops are allowed, so bound the path a learner can walk


class AnswerError(DomainError):
    """Answers that no honest form could have sent: foreign, duplicate or malformed ids."""

    status = 400


class Incomplete(DomainError):
    """Some questions have no answer yet; ``missing`` lists their ids in plan order."""

    status = 400

    def __init__(self, missing_ids: list[str]) -> None:
        count = len(missing_ids)
        super().__init__(
            f"{count} question{'s' if count != 1 else ''} still "
            f"need{'s' if count == 1 else ''} an answer."
        )
        self.missing = missing_ids


def shown(value: str) -> str:
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
        raise AnswerError(f"{what} {shown(key)} must be a list of option ids")
    if len(value) > (MAX_PATH_CHOICES if ordered else MAX_IDS_PER_ANSWER):
        raise AnswerError(f"{what} {shown(key)} has far too many option ids")
    return tuple(_check_id(item, "an option id") for item in value)


def _check_question(
    question: Question, planned: PlannedQuestion, chosen: tuple[str, ...]
) -> tuple[str, ...]:
    seen: set[str] = set()
    for option_id in chosen:
        if option_id not in planned.option_ids:
            raise AnswerError(
                f"option {shown(option_id)} does not belong to question {shown(question.id)}"
            )
        if option_id in seen:
            raise AnswerError(
                f"option {shown(option_id)} is chosen twice for question {shown(question.id)}"
            )
        seen.add(option_id)
    if len(chosen) > 1 and not question.multiple:
        raise AnswerError(
            f"question {shown(question.id)} takes a single answer, but "
            f"{len(chosen)} options were chosen"
        )
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
            raise AnswerError(
                f"the path of conversation {shown(conversation.id)} goes on "
                "after it has reached an outcome"
            )
        choice = step.choice(choice_id)
        if choice is None:
            raise AnswerError(
                f"{shown(choice_id)} is not a choice at step {shown(step.id)} "
                f"of conversation {shown(conversation.id)}"
            )
        node = choice.next_id
    return node


def _planned_conversation(
    quiz: Quiz, plan: AttemptPlan, conversation_id: object
) -> tuple[Conversation, PlannedUnit]:
    conversation_id = _check_id(conversation_id, "a conversation id")
    unit = plan.unit(conversation_id)
    conversation = quiz.conversation(conversation_id)
    if unit is None or unit.kind != "conversation" or conversation is None:
        raise AnswerError(f"{shown(conversation_id)} is not a conversation of this attempt")
    return conversation, unit


def conversation_state(
    quiz: Quiz, plan: AttemptPlan, conversation_id: str, path: Sequence[str]
) -> ConversationState:
    """Follow the choices made so far; raise AnswerError if they are not a path of the plan."""
    check_plan(quiz, plan)
    conversation, unit = _planned_conversation(quiz, plan, conversation_id)
    choices = _id_list(path, conversation.id, ordered=True)
    node = _walk(conversation, choices)
    if conversation.outcome(node) is not None:
        return ConversationState(conversation.id, choices, None, (), node)
    planned = unit.step(node)
    return ConversationState(
        conversation.id, choices, node, planned.choice_ids if planned else (), None
    )


def check_answers(
    quiz: Quiz, plan: AttemptPlan, answers: Mapping[str, Sequence[str]]
) -> dict[str, tuple[str, ...]]:
    """The answers, checked against the plan (AnswerError if tampered), empty ones left out."""
    check_plan(quiz, plan)
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
            raise AnswerError(f"{shown(key)} is not a question of this attempt")
        conversation, _ = _planned_conversation(quiz, plan, key)
        path = _id_list(value, key, True)
        if not path:
            continue
        node = _walk(conversation, path)
        if conversation.outcome(node) is None:
            raise AnswerError(
                f"conversation {shown(key)} is unfinished: its path stops at step {shown(node)}"
            )
        checked[key] = path
    return checked


def missing(
    plan: AttemptPlan, answers: Mapping[str, Sequence[str]], quiz: Quiz | None = None
) -> list[str]:
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

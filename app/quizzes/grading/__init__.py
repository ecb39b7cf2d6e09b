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
  ``Grade.percent`` rounds down, and a grade passes iff ``earned * 100 >= pass_mark * possible``
  and no must-pass item failed (``Grade.must_pass_failures``): a must-pass question answered
  wrongly, or a must-pass conversation that reached an outcome marked ``fails``.
- ``grade_submission`` is how a submission is graded, a learner's attempt and the studio's
  trial run alike: the answers sent checked, with the conversation paths walked so far, then
  ``Incomplete`` (HTTP 400, naming them) while any is unanswered, else the grade.
- Must-pass units are in every attempt, whatever ``draw`` says.
- A plan that does not fit the quiz (another version) is a caller bug: ``ValueError``.

No Flask and no database here. Modules: ``plans`` (drawing and ordering), ``answers``
(checking answers, walking conversations) and ``grades`` (points and results).
"""

from app.quizzes.grading.answers import (
    AnswerError,
    ConversationState,
    Incomplete,
    check_answers,
    conversation_state,
    missing,
)
from app.quizzes.grading.grades import (
    ConversationResult,
    Grade,
    OptionResult,
    PathStep,
    QuestionResult,
    Result,
    format_points,
    grade,
    grade_submission,
)
from app.quizzes.grading.plans import (
    AttemptPlan,
    PlannedQuestion,
    PlannedStep,
    PlannedUnit,
    plan_attempt,
)

__all__ = [
    "AnswerError",
    "AttemptPlan",
    "ConversationResult",
    "ConversationState",
    "Grade",
    "Incomplete",
    "OptionResult",
    "PathStep",
    "PlannedQuestion",
    "PlannedStep",
    "PlannedUnit",
    "QuestionResult",
    "Result",
    "check_answers",
    "conversation_state",
    "format_points",
    "grade",
    "grade_submission",
    "missing",
    "plan_attempt",
]

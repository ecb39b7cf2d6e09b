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

Modules: ``model`` (the parsed quiz), ``text`` (ids and visible text), ``lexer`` (lines to
tokens), ``blocks`` (options, feedback, explanations), ``conversations`` (steps, outcomes
and their graph) and ``parser`` (the whole file, questions and scenarios).
"""

from app.content.quiz.blocks import MAX_OPTIONS
from app.content.quiz.conversations import DEFAULT_CONVERSATION_POINTS, MAX_CONVERSATION_POINTS
from app.content.quiz.model import (
    FORMAT_VERSION,
    Choice,
    Conversation,
    Option,
    Outcome,
    Question,
    Quiz,
    QuizSettings,
    Scenario,
    Step,
    Unit,
)
from app.content.quiz.parser import MAX_QUIZ_CHARS, SETTINGS_KEYS, parse_quiz
from app.content.quiz.text import MAX_ID_CHARS, plain_text, slugify

__all__ = [
    "DEFAULT_CONVERSATION_POINTS",
    "FORMAT_VERSION",
    "MAX_CONVERSATION_POINTS",
    "MAX_ID_CHARS",
    "MAX_OPTIONS",
    "MAX_QUIZ_CHARS",
    "SETTINGS_KEYS",
    "Choice",
    "Conversation",
    "Option",
    "Outcome",
    "Question",
    "Quiz",
    "QuizSettings",
    "Scenario",
    "Step",
    "Unit",
    "parse_quiz",
    "plain_text",
    "slugify",
]

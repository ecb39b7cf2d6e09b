"""Moodle GIFT question files converted to Candor's Markdown quiz format (DESIGN.md §4).

Contract: ``convert_gift(text, path)`` is a pure function of the file's text. It never raises
on bad input and never drops a question silently: every question in the file is either
converted into ``markdown``, listed in ``skipped`` (a type Candor quizzes cannot hold), or
listed in ``problems`` (malformed GIFT, or a question Candor would refuse); lossy conversions
are listed in ``notes``. Each entry is a ``Problem`` at the 1-based line where the question (or
the faulty part of it) starts. ``markdown`` is ``""`` when nothing converts; otherwise every
question in it passes ``parse_quiz`` (each is checked before it is kept).

The GIFT is read the way Moodle's own importer reads it (question/format/gift/format.php is the
reference for what a file means): blank lines separate questions; ``//`` lines are comments;
``::title::`` names a question; the first ``{...}`` is the answer block, and text after it
makes a missing-word question, shown with ``_____`` where the block was; ``####`` starts the
general feedback; ``\\`` escapes ``~ = # { } :`` and itself, ``\\n`` is a line break;
``[html]``, ``[moodle]``, ``[plain]`` and ``[markdown]`` set the format of a text, and answers
and feedback inherit the question's. Decisions of our own:

- Headings are plain text. A title becomes the heading and the question text its body; without
  a title, a one-paragraph text of up to 150 characters is the heading, a longer one gives a
  heading cut from its first sentence and the whole text as body. Headings whose ids would
  clash get " (2)", " (3)"... and a note.
- ``$CATEGORY:`` lines become notes; nothing is written for them.
- Weights: in a single-answer question (one with ``=``) only fully correct options are ``[x]``;
  in a multiple-answer question (no ``=``) every option with a positive weight is. Candor marks
  questions all-or-nothing, so each question whose weights are dropped gets a note.
- True/false ``{T#a#b}``: as in Moodle, ``a`` is the feedback for a wrong answer and ``b`` for
  the right one; they are put under the matching "True"/"False" options.
- HTML (``[html]``, or ``[moodle]`` text containing tags) is kept for Candor to sanitise, and
  changed only where Candor's course check would refuse it: links become Markdown links (in an
  HTML block, their text followed by the address), images their alt text (a GIFT file cannot
  carry Moodle's files), and scripts, frames and media are left out, with a note. HTML with
  block elements stays one ``<div>`` block that Markdown leaves alone; a paragraph of HTML
  becomes Markdown with its text escaped.
- Moodle and plain text is escaped so that no character changes meaning in Markdown; Markdown
  text is passed through, except that a heading or a checkbox line in a question body, which
  would end the question in Candor, is defused.
- A question that starts right after a complete one with no blank line between (a ``::title``
  or ``$CATEGORY:`` line) is read as a new question, with a note; Moodle would swallow it.

Modules: ``reader`` (GIFT to questions), ``text`` (plain text and Markdown escaping),
``writer`` (questions to quiz.md, each checked by ``parse_quiz``) and ``convert`` (the two
together).
"""

from app.content.gift.convert import GiftConversion, convert_gift

__all__ = ["GiftConversion", "convert_gift"]

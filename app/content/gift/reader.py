"""Reading GIFT: a file cut into question blocks, each read as Moodle's importer reads it.

Part of the GIFT converter; nothing outside ``app.content.gift`` should need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.content.gift.text import BLANK, Text, has_content, plain_of, question_label
from app.content.problems import Problem
from app.content.quiz import MAX_OPTIONS

SKIP_REASONS = {
    "essay": "Candor quizzes have no essay questions",
    "matching": "Candor quizzes have no matching questions",
    "numerical": "Candor quizzes have no numerical questions",
    "short-answer": "Candor quizzes have no short-answer questions",
    "description": "Candor quizzes have no text-only items (put the text in a module)",
}


# While the structure is read, escaped GIFT characters are private-use placeholders, so an
# escaped "~" or "}" can never be taken for syntax; they become the characters again at the end.
# (A file that itself holds U+E000-U+E007, which no text needs, would have them read as these.)
_ESCAPED = {
    ":": "\ue000",
    "#": "\ue001",
    "=": "\ue002",
    "{": "\ue003",
    "}": "\ue004",
    "~": "\ue005",
    "n": "\ue006",
}
_RESTORE = str.maketrans({v: ("\n" if k == "n" else k) for k, v in _ESCAPED.items()})
_FORMATS = ("html", "moodle", "plain", "markdown")
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d*)?)%")
_CATEGORY = "$CATEGORY:"


class _Malformed(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _protect(line: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(line):
        pair = line[i : i + 2]
        if pair == "\\\\":
            out.append("\\")
            i += 2
        elif len(pair) == 2 and pair[0] == "\\" and pair[1] in _ESCAPED:
            out.append(_ESCAPED[pair[1]])
            i += 2
        else:  # a backslash before anything else is just a backslash, as in Moodle
            out.append(line[i])
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class _Block:
    """One question's lines, comments left out, joined by newlines; escapes are placeholders."""

    numbers: tuple[int, ...]  # the source line of each line of ``text``
    text: str

    @property
    def line(self) -> int:
        return self.numbers[0]

    def line_at(self, offset: int) -> int:
        return self.numbers[self.text.count("\n", 0, offset)]


@dataclass(frozen=True)
class GiftOption:
    """An answer of a GIFT question, its text and feedback still GIFT text."""

    text: Text
    correct: bool
    feedback: Text | None
    line: int


@dataclass(frozen=True)
class GiftQuestion:
    """A GIFT question read from its block, ready to be written as quiz.md."""

    line: int
    title: str | None
    stem: Text
    options: tuple[GiftOption, ...]
    explanation: Text | None


def split_blocks(lines: list[str], path: str, notes: list[Problem]) -> list[_Block]:
    """The file's question blocks, comments left out; a question run on without a blank line
    is noted and read as a block of its own."""
    blocks: list[_Block] = []
    numbers: list[int] = []
    texts: list[str] = []
    balance, closed = 0, False

    def flush() -> None:
        nonlocal balance, closed
        if texts:
            blocks.append(_Block(tuple(numbers), "\n".join(texts)))
        numbers.clear()
        texts.clear()
        balance, closed = 0, False

    for number, raw in enumerate(lines, 1):
        line = raw.strip()  # Moodle trims every line
        if not line:
            flush()
            continue
        if line.startswith("//"):
            continue
        protected = _protect(line)
        if texts and texts[0].startswith(_CATEGORY):
            notes.append(
                Problem(
                    path,
                    number,
                    "no blank line after the category line above: "
                    "read this as the start of a question",
                )
            )
            flush()
        elif texts and closed and balance == 0 and protected.startswith(("::", _CATEGORY)):
            notes.append(
                Problem(
                    path,
                    number,
                    "no blank line after the question above: read "
                    "this as the start of a new question",
                )
            )
            flush()
        numbers.append(number)
        texts.append(protected)
        balance += protected.count("{") - protected.count("}")
        closed = closed or "}" in protected
    flush()
    return blocks


def _with_format(text: str, default: str) -> Text:
    text = text.strip()
    fmt = default
    if text.startswith("[") and (end := text.find("]")) > 0 and text[1:end] in _FORMATS:
        fmt, text = text[1:end], text[end + 1 :]
    return Text(fmt, text.translate(_RESTORE).strip())


def _optional(text: str, default: str) -> Text | None:
    result = _with_format(text, default)
    return result if has_content(result) else None


def _classify(answers: str) -> str:
    """The question type of an answer block, by Moodle's rules and in Moodle's order."""
    if not answers:
        return "essay"
    if answers.startswith("#"):
        return "numerical"
    if "~" in answers:
        return "multiple-choice"
    if "=" in answers and "->" in answers:
        return "matching"
    head = answers.split("#", 1)[0].strip()
    return "true-false" if head in ("T", "TRUE", "F", "FALSE") else "short-answer"


class Reader:
    """Reads the blocks of one file, collecting questions and everything to report."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.questions: list[GiftQuestion] = []
        self.skipped: list[Problem] = []
        self.notes: list[Problem] = []
        self.problems: list[Problem] = []

    def note(self, line: int, message: str) -> None:
        self.notes.append(Problem(self.path, line, message))

    def read(self, block: _Block) -> None:
        try:
            question = self.question(block)
        except _Malformed as exc:
            self.problems.append(Problem(self.path, exc.line, exc.message))
            return
        if question is not None:
            self.questions.append(question)

    def question(self, block: _Block) -> GiftQuestion | None:
        s = block.text
        if s.startswith(_CATEGORY):
            name = " ".join(s[len(_CATEGORY) :].translate(_RESTORE).split())
            self.note(block.line, f'category "{name}" not kept: Candor quizzes have no categories')
            return None
        start, title = 0, None
        if s.startswith("::"):
            end = s.find("::", 2)
            if end < 0:
                raise _Malformed(
                    block.line,
                    "the question title opened with :: is never "
                    "closed with :: (write \\: for a literal colon)",
                )
            title = " ".join(s[2:end].translate(_RESTORE).split()) or None
            start = end + 2
        opens = [i for i in range(start, len(s)) if s[i] == "{"]
        closes = [i for i in range(start, len(s)) if s[i] == "}"]
        if not opens and not closes:
            stem = _with_format(s[start:], "moodle")
            self.skip(block.line, "description", title, stem)
            return None
        if not closes:
            raise _Malformed(
                block.line_at(opens[0]), "the answer block opened with { is never closed with }"
            )
        if not opens or closes[0] < opens[0]:
            raise _Malformed(
                block.line_at(closes[0]),
                "} without an answer block opened by { before it (write \\} for a literal brace)",
            )
        first, last = opens[0], closes[0]
        if len(opens) > 1 and opens[1] < last:
            raise _Malformed(
                block.line_at(opens[1]), "{ inside an answer block (write \\{ for a literal brace)"
            )
        if len(opens) > 1 or len(closes) > 1:
            at = min(opens[1:] + closes[1:])
            raise _Malformed(
                block.line_at(at),
                "a second answer block in one question: "
                "separate questions with a blank line, and "
                "write \\{ and \\} for literal braces",
            )

        after = s[last + 1 :]
        stem = _with_format(s[start:first] + (BLANK + after if after.strip() else ""), "moodle")
        a0, a1 = first + 1, last
        general = None
        if (cut := s.rfind("####", a0, a1)) >= 0:
            general = _optional(s[cut + 4 : a1], stem.fmt)
            a1 = cut
        kind = _classify(s[a0:a1].strip())
        if kind == "multiple-choice":
            options = self.choices(block, a0, a1, stem.fmt, title, stem)
        elif kind == "true-false":
            options = self.true_false(block, s[a0:a1], stem.fmt)
        else:
            answers = s[a0:a1].strip()
            self.check_has_answers(block, kind, answers)
            hint = ""
            if kind == "short-answer" and answers.split("#", 1)[0].strip().upper() in (
                "T",
                "TRUE",
                "F",
                "FALSE",
            ):
                hint = " (a true/false answer is written T, TRUE, F or FALSE, in capitals)"
            self.skip(block.line, kind, title, stem, hint)
            return None
        if title is None and not has_content(stem):
            raise _Malformed(block.line, "the question has no text")
        return GiftQuestion(block.line, title, stem, options, general)

    def skip(self, line: int, kind: str, title: str | None, stem: Text, hint: str = "") -> None:
        label = question_label(title, stem)
        what = "description" if kind == "description" else f"{kind} question"
        self.skipped.append(
            Problem(self.path, line, f'skipped {what} "{label}" — {SKIP_REASONS[kind]}{hint}')
        )

    def check_has_answers(self, block: _Block, kind: str, answers: str) -> None:
        if kind == "numerical":
            pieces = answers[1:].replace("~", "=").split("=")
        elif kind in ("short-answer", "matching"):
            pieces = answers.split("=")
        else:
            return
        if not any(p.strip() for p in pieces):
            raise _Malformed(block.line, "the answer block has no answers")

    def choices(
        self, block: _Block, a0: int, a1: int, fmt: str, title: str | None, stem: Text
    ) -> tuple[GiftOption, ...]:
        s = block.text
        marks = [i for i in range(a0, a1) if s[i] in "~="]
        lead = s[a0 : marks[0]]
        if lead.strip():
            at = a0 + len(lead) - len(lead.lstrip())
            raise _Malformed(
                block.line_at(at),
                "text before the first answer: start every answer with = (right) or ~ (wrong)",
            )
        single = any(s[i] == "=" for i in marks)  # Moodle: no "=" makes it multiple-answer
        parsed: list[tuple[int, float | None, bool, str]] = []
        for index, mark in enumerate(marks):
            end = marks[index + 1] if index + 1 < len(marks) else a1
            content = s[mark + 1 : end].strip()
            weight = None
            if match := _WEIGHT.match(content):
                weight = float(match.group(1))
                content = content[match.end() :]
            if weight is None:
                correct = s[mark] == "="
            else:
                correct = weight >= 100 if single else weight > 0
            parsed.append((block.line_at(mark), weight, correct, content))

        if len(parsed) < 2:
            raise _Malformed(block.line, "a multiple-choice question needs at least two answers")
        if len(parsed) > MAX_OPTIONS:
            raise _Malformed(
                block.line,
                f"the question has {len(parsed)} answers; Candor allows at most {MAX_OPTIONS}",
            )
        options: list[GiftOption] = []
        seen: dict[str, int] = {}
        for line, _weight, correct, content in parsed:
            text, _, feedback = content.partition("#")
            option = GiftOption(_with_format(text, fmt), correct, _optional(feedback, fmt), line)
            if not has_content(option.text):
                raise _Malformed(line, "an answer has no text")
            key = plain_of(option.text).casefold()  # as Candor compares options
            if key in seen:
                raise _Malformed(
                    line,
                    f"this answer repeats the one on line {seen[key]}; "
                    "Candor needs every option to be different",
                )
            seen[key] = line
            options.append(option)

        label = question_label(title, stem)
        right = sum(o.correct for o in options)
        if not right:
            raise _Malformed(
                block.line,
                "no answer is right: mark one with = (or, for "
                "several, give them positive %weights%)",
            )
        weights = [w for _, w, _, _ in parsed if w is not None]
        if not single:
            self.note(
                block.line,
                f'multiple-answer question "{label}": answer weights are '
                "not kept; Candor counts it right only when exactly the "
                "options with a positive weight are chosen",
            )
        elif any(w not in (0, 100) for w in weights):
            self.note(
                block.line,
                f'question "{label}": partial credit and penalties are not '
                "kept; Candor counts only the fully right answer(s) as right",
            )
        if single and right > 1:
            self.note(
                block.line,
                f'question "{label}" accepts any of {right} right answers in '
                "Moodle; in Candor it becomes a multiple-answer question "
                "where all of them must be chosen",
            )
        return tuple(options)

    def true_false(self, block: _Block, answers: str, fmt: str) -> tuple[GiftOption, ...]:
        head, wrong, right = (answers.split("#", 2) + ["", ""])[:3]
        is_true = head.strip() in ("T", "TRUE")
        right_fb, wrong_fb = _optional(right, fmt), _optional(wrong, fmt)
        line = block.line
        return (
            GiftOption(Text("plain", "True"), is_true, right_fb if is_true else wrong_fb, line),
            GiftOption(
                Text("plain", "False"), not is_true, wrong_fb if is_true else right_fb, line
            ),
        )

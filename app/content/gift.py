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
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import markdown

from app.content.problems import Problem
from app.content.quiz import MAX_OPTIONS, parse_quiz, slugify

HEADING_MAX = 150  # longest question text that is a heading on its own
DERIVED_MAX = 100  # a heading cut from a longer text stops by here
LABEL_MAX = 60  # how much of a question's text names it in a message

SKIP_REASONS = {
    "essay": "Candor quizzes have no essay questions",
    "matching": "Candor quizzes have no matching questions",
    "numerical": "Candor quizzes have no numerical questions",
    "short-answer": "Candor quizzes have no short-answer questions",
    "description": "Candor quizzes have no text-only items (put the text in a module)",
}


@dataclass(frozen=True)
class GiftConversion:
    """The quiz.md text converted from a GIFT file, and what the trainer must know about it."""

    markdown: str  # the quiz.md text ("" if nothing convertible)
    converted: int  # questions converted
    skipped: list[Problem]  # unsupported questions, each with line and type
    notes: list[Problem]  # lossy conversions worth telling the user
    problems: list[Problem]  # malformed input


# --------------------------------------------------------------------------------------------
# Reading GIFT

# While the structure is read, escaped GIFT characters are private-use placeholders, so an
# escaped "~" or "}" can never be taken for syntax; they become the characters again at the end.
# (A file that itself holds U+E000-U+E007, which no text needs, would have them read as these.)
_ESCAPED = {":": "\ue000", "#": "\ue001", "=": "\ue002", "{": "\ue003", "}": "\ue004",
            "~": "\ue005", "n": "\ue006"}
_RESTORE = str.maketrans({v: ("\n" if k == "n" else k) for k, v in _ESCAPED.items()})
_BLANK = "\ue007"  # the gap of a missing-word question; "_____" in the output
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
        pair = line[i:i + 2]
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
class _Text:
    """A piece of GIFT text: escapes resolved, the missing-word gap still ``_BLANK``."""

    fmt: str
    raw: str

    @property
    def kind(self) -> str:
        # Moodle renders its own format as HTML, so Moodle text with tags is HTML
        if self.fmt == "moodle" and _TAG.search(self.raw):
            return "html"
        return self.fmt


@dataclass(frozen=True)
class _Option:
    text: _Text
    correct: bool
    feedback: _Text | None
    line: int


@dataclass(frozen=True)
class _Question:
    line: int
    title: str | None
    stem: _Text
    options: tuple[_Option, ...]
    explanation: _Text | None


def _split_blocks(lines: list[str], path: str, notes: list[Problem]) -> list[_Block]:
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
            notes.append(Problem(path, number, "no blank line after the category line above: "
                                               "read this as the start of a question"))
            flush()
        elif texts and closed and balance == 0 and protected.startswith(("::", _CATEGORY)):
            notes.append(Problem(path, number, "no blank line after the question above: read "
                                               "this as the start of a new question"))
            flush()
        numbers.append(number)
        texts.append(protected)
        balance += protected.count("{") - protected.count("}")
        closed = closed or "}" in protected
    flush()
    return blocks


def _with_format(text: str, default: str) -> _Text:
    text = text.strip()
    fmt = default
    if text.startswith("[") and (end := text.find("]")) > 0 and text[1:end] in _FORMATS:
        fmt, text = text[1:end], text[end + 1:]
    return _Text(fmt, text.translate(_RESTORE).strip())


def _optional(text: str, default: str) -> _Text | None:
    result = _with_format(text, default)
    return result if _has_content(result) else None


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


class _Reader:
    """Reads the blocks of one file, collecting questions and everything to report."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.questions: list[_Question] = []
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

    def question(self, block: _Block) -> _Question | None:
        s = block.text
        if s.startswith(_CATEGORY):
            name = " ".join(s[len(_CATEGORY):].translate(_RESTORE).split())
            self.note(block.line, f'category "{name}" not kept: Candor quizzes have no '
                                  "categories")
            return None
        start, title = 0, None
        if s.startswith("::"):
            end = s.find("::", 2)
            if end < 0:
                raise _Malformed(block.line, "the question title opened with :: is never "
                                             "closed with :: (write \\: for a literal colon)")
            title = " ".join(s[2:end].translate(_RESTORE).split()) or None
            start = end + 2
        opens = [i for i in range(start, len(s)) if s[i] == "{"]
        closes = [i for i in range(start, len(s)) if s[i] == "}"]
        if not opens and not closes:
            stem = _with_format(s[start:], "moodle")
            self.skip(block.line, "description", title, stem)
            return None
        if not closes:
            raise _Malformed(block.line_at(opens[0]), "the answer block opened with { is "
                                                      "never closed with }")
        if not opens or closes[0] < opens[0]:
            raise _Malformed(block.line_at(closes[0]), "} without an answer block opened by "
                                                       "{ before it (write \\} for a literal "
                                                       "brace)")
        first, last = opens[0], closes[0]
        if len(opens) > 1 and opens[1] < last:
            raise _Malformed(block.line_at(opens[1]), "{ inside an answer block (write \\{ "
                                                      "for a literal brace)")
        if len(opens) > 1 or len(closes) > 1:
            at = min(opens[1:] + closes[1:])
            raise _Malformed(block.line_at(at), "a second answer block in one question: "
                                                "separate questions with a blank line, and "
                                                "write \\{ and \\} for literal braces")

        after = s[last + 1:]
        stem = _with_format(s[start:first] + (_BLANK + after if after.strip() else ""),
                            "moodle")
        a0, a1 = first + 1, last
        general = None
        if (cut := s.rfind("####", a0, a1)) >= 0:
            general = _optional(s[cut + 4:a1], stem.fmt)
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
                    "T", "TRUE", "F", "FALSE"):
                hint = " (a true/false answer is written T, TRUE, F or FALSE, in capitals)"
            self.skip(block.line, kind, title, stem, hint)
            return None
        if title is None and not _has_content(stem):
            raise _Malformed(block.line, "the question has no text")
        return _Question(block.line, title, stem, options, general)

    def skip(self, line: int, kind: str, title: str | None, stem: _Text, hint: str = "") -> None:
        label = _label(title, stem)
        what = "description" if kind == "description" else f"{kind} question"
        self.skipped.append(Problem(self.path, line, f'skipped {what} "{label}" — '
                                                     f"{SKIP_REASONS[kind]}{hint}"))

    def check_has_answers(self, block: _Block, kind: str, answers: str) -> None:
        if kind == "numerical":
            pieces = answers[1:].replace("~", "=").split("=")
        elif kind in ("short-answer", "matching"):
            pieces = answers.split("=")
        else:
            return
        if not any(p.strip() for p in pieces):
            raise _Malformed(block.line, "the answer block has no answers")

    def choices(self, block: _Block, a0: int, a1: int, fmt: str, title: str | None,
                stem: _Text) -> tuple[_Option, ...]:
        s = block.text
        marks = [i for i in range(a0, a1) if s[i] in "~="]
        lead = s[a0:marks[0]]
        if lead.strip():
            at = a0 + len(lead) - len(lead.lstrip())
            raise _Malformed(block.line_at(at), "text before the first answer: start every "
                                                "answer with = (right) or ~ (wrong)")
        single = any(s[i] == "=" for i in marks)  # Moodle: no "=" makes it multiple-answer
        parsed: list[tuple[int, float | None, bool, str]] = []
        for index, mark in enumerate(marks):
            end = marks[index + 1] if index + 1 < len(marks) else a1
            content = s[mark + 1:end].strip()
            weight = None
            if match := _WEIGHT.match(content):
                weight = float(match.group(1))
                content = content[match.end():]
            if weight is None:
                correct = s[mark] == "="
            else:
                correct = weight >= 100 if single else weight > 0
            parsed.append((block.line_at(mark), weight, correct, content))

        if len(parsed) < 2:
            raise _Malformed(block.line, "a multiple-choice question needs at least two "
                                         "answers")
        if len(parsed) > MAX_OPTIONS:
            raise _Malformed(block.line, f"the question has {len(parsed)} answers; Candor "
                                         f"allows at most {MAX_OPTIONS}")
        options: list[_Option] = []
        seen: dict[str, int] = {}
        for line, _weight, correct, content in parsed:
            text, _, feedback = content.partition("#")
            option = _Option(_with_format(text, fmt), correct, _optional(feedback, fmt), line)
            if not _has_content(option.text):
                raise _Malformed(line, "an answer has no text")
            key = _plain(option.text).casefold()  # as Candor compares options
            if key in seen:
                raise _Malformed(line, f"this answer repeats the one on line {seen[key]}; "
                                       "Candor needs every option to be different")
            seen[key] = line
            options.append(option)

        label = _label(title, stem)
        right = sum(o.correct for o in options)
        if not right:
            raise _Malformed(block.line, "no answer is right: mark one with = (or, for "
                                         "several, give them positive %weights%)")
        weights = [w for _, w, _, _ in parsed if w is not None]
        if not single:
            self.note(block.line, f'multiple-answer question "{label}": answer weights are '
                                  "not kept; Candor counts it right only when exactly the "
                                  "options with a positive weight are chosen")
        elif any(w not in (0, 100) for w in weights):
            self.note(block.line, f'question "{label}": partial credit and penalties are not '
                                  "kept; Candor counts only the fully right answer(s) as right")
        if single and right > 1:
            self.note(block.line, f'question "{label}" accepts any of {right} right answers in '
                                  "Moodle; in Candor it becomes a multiple-answer question "
                                  "where all of them must be chosen")
        return tuple(options)

    def true_false(self, block: _Block, answers: str, fmt: str) -> tuple[_Option, ...]:
        head, wrong, right = (answers.split("#", 2) + ["", ""])[:3]
        is_true = head.strip() in ("T", "TRUE")
        right_fb, wrong_fb = _optional(right, fmt), _optional(wrong, fmt)
        line = block.line
        return (
            _Option(_Text("plain", "True"), is_true, right_fb if is_true else wrong_fb, line),
            _Option(_Text("plain", "False"), not is_true, wrong_fb if is_true else right_fb,
                    line),
        )


# --------------------------------------------------------------------------------------------
# Text: plain, and escaped for Markdown

_TAG = re.compile(r"<!--.*?-->|</?([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>", re.DOTALL)
# Python-Markdown leaves a block that starts with one of these as it is (only that block: text
# after it is Markdown again); an instance is made only to read the list, never to render
_BLOCK_LEVEL = frozenset(markdown.Markdown().block_level_elements)
# Candor refuses raw HTML links and images (a course uses Markdown and its own assets/), and
# embedded content has no place in a quiz
_EMBEDDED = re.compile(r"<(script|style|iframe|object|video|audio)\b.*?</\1\s*>"
                       r"|<(?:link|source|embed|iframe|script)\b[^<>]*>", re.DOTALL | re.I)
_IMAGE = re.compile(r"<img\b[^<>]*>", re.I)
_LINK_URL = re.compile(r"^(?:https?://|mailto:)[^\s()<>\[\]]+$", re.I)
_WRAPPING_P = re.compile(r"^<p(?:\s[^<>]*)?>((?:(?!</?p\b).)*)</p>$", re.DOTALL | re.I)
_MD_SPECIAL = re.compile(r"[\\`*\[\]~#|]")
_LONE_UNDERSCORE = re.compile(r"_(?![^\W_])|(?<![^\W_])_")  # "snake_case" needs no escape
_ENTITY = re.compile(r"&(?=#\d+;|#[xX][0-9A-Fa-f]+;|[A-Za-z][A-Za-z0-9]*;)")
_MD_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")
# what Candor would take for a checkbox: "- [x]", "- (x)", "1. [ ]", "[x]"...
_MD_BOX = re.compile(r"^( {0,3}(?:[-*+]|\d{1,9}[.)])?[ \t]*)([\[(])(?=[^\])]{0,3}[\])](?![(\[]))")
_MD_BLOCK_START = re.compile(r"^ {0,3}(?:#|>|[-*+][ \t]|\d{1,9}[.)][ \t]|```|~~~|\||<|!!!|\?\?\?)"
                             r"| {4}")
_MD_INLINE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|\*\*|__|[*`]|(?<![^\W_])_|_(?![^\W_])")
_SENTENCE_END = re.compile(r"(?<=[.?!])\s")


def _restore_blank(text: str) -> str:
    return text.replace(_BLANK, "_____")


def _html_to_plain(fragment: str) -> str:
    text = _IMAGE.sub(lambda m: html.escape(_attribute(m.group(), "alt") or ""),
                      _EMBEDDED.sub("", fragment))
    text = _TAG.sub(lambda m: " " if (m.group(1) or "").lower() in _BLOCK_LEVEL | {"br"}
                    else "", text)
    return html.unescape(text)


def _has_blocks(fragment: str) -> bool:
    return any((m.group(1) or "").lower() in _BLOCK_LEVEL for m in _TAG.finditer(fragment))


def _plain(text: _Text) -> str:
    """The text on one line without markup, for headings and messages; the gap stays _BLANK."""
    kind = text.kind
    if kind in ("html", "moodle"):
        plain = _html_to_plain(text.raw)
    elif kind == "markdown":
        plain = _MD_INLINE.sub(lambda m: m.group(1) or "", text.raw)
        plain = "\n".join(re.sub(r"^\s*(?:#{1,6}\s|>\s?|[-*+]\s|\d+[.)]\s)", "", line)
                          for line in plain.split("\n"))
    else:
        plain = text.raw
    return " ".join(plain.split())


def _has_content(text: _Text) -> bool:
    return bool(_plain(text))


def _label(title: str | None, stem: _Text) -> str:
    label = title or _restore_blank(_plain(stem)) or "(no text)"
    return _cut(label, LABEL_MAX)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[:limit - 1].rsplit(" ", 1)[0] if " " in text[:limit - 1] else text[:limit - 1]
    return head.rstrip(" ,;:-") + "…"


def _escape(text: str, *, keep_entities: bool, keep_tags: bool) -> str:
    """Text with every character that means something in Markdown escaped."""
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(), text)
    text = _LONE_UNDERSCORE.sub(r"\\_", text)
    if not keep_entities:
        text = _ENTITY.sub("&amp;", text)
    if not keep_tags:  # every "<": Markdown makes links of <…@…> and <http…> too
        text = text.replace("<", "&lt;")
    return text


def _guard_line(line: str) -> str:
    """Escape what would start a Markdown block (list, quote, rule...) at the start of a line."""
    if match := re.match(r"\d+(?=\.(?:\s|$))", line):
        return match.group() + "\\" + line[match.end():]
    if re.match(r"[-+](?:\s|$)|>|!!!|-[-\s]*$", line):
        return "\\" + line
    if line.startswith("???"):
        return "&#63;" + line[1:]
    return line


def _escape_text_lines(text: _Text) -> list[str]:
    keep_entities = text.kind == "moodle"
    lines: list[str] = []
    for raw in text.raw.split("\n"):
        line = _guard_line(_escape(raw.strip(), keep_entities=keep_entities, keep_tags=False))
        if lines and lines[-1] and re.fullmatch(r"=+", line):
            line = "&#61;" + line[1:]  # "===" under a line would make that line a heading
        if line or (lines and lines[-1]):
            lines.append(line)
    return [_restore_blank(line) for line in _trim_blank(lines)]


def _trim_blank(lines: list[str]) -> list[str]:
    while lines and not lines[-1].strip():
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return lines


def _html_one_line(fragment: str, *, escape_text: bool) -> str:
    """HTML on one line, as Candor accepts it: newlines in <pre> become &#10;; links become
    Markdown links (or, where Markdown is not read, their text and address); images, which a
    GIFT file cannot carry, their alt text; embedded content is left out. With
    ``escape_text`` the text is escaped for Markdown."""
    out: list[str] = []
    links: list[str | None] = []
    in_pre = 0
    pos = 0
    fragment = _EMBEDDED.sub("", fragment)
    for match in _TAG.finditer(fragment):
        out.append(_html_text(fragment[pos:match.start()], in_pre > 0, escape_text))
        pos = match.end()
        tag, name = match.group(), (match.group(1) or "").lower()
        closing = tag.startswith("</")
        if name == "a" and not closing:
            url = _attribute(tag, "href")
            links.append(url if url and _LINK_URL.match(url) else None)
            out.append("[" if escape_text and links[-1] else "")
        elif name == "a":
            out.append(_link_end(links.pop() if links else None, escape_text))
        elif name == "img":
            alt = " ".join((_attribute(tag, "alt") or "").split())
            out.append(_escape(alt, keep_entities=False, keep_tags=False) if escape_text
                       else html.escape(alt, quote=False))
        else:
            out.append(tag.replace("\n", " ") if tag.startswith("<!--") else " ".join(tag.split()))
            if name == "pre":
                in_pre = max(0, in_pre + (-1 if closing else 1))
    out.append(_html_text(fragment[pos:], in_pre > 0, escape_text))
    out += [_link_end(url, escape_text) for url in reversed(links)]
    return _restore_blank("".join(out).strip())


def _link_end(url: str | None, markdown_link: bool) -> str:
    if url is None:
        return ""
    return f"]({url})" if markdown_link else f" ({html.escape(url, quote=False)})"


def _attribute(tag: str, name: str) -> str | None:
    match = re.search(rf"""\s{name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", tag, re.I)
    if match is None:
        return None
    return html.unescape(next(g for g in match.groups() if g is not None)).strip()


def _html_text(text: str, in_pre: bool, escape_text: bool) -> str:
    if escape_text:
        text = _escape(text, keep_entities=True, keep_tags=True)
    return text.replace("\n", "&#10;") if in_pre else re.sub(r"\s*\n\s*", " ", text)


def _html_md(fragment: str) -> str:
    """HTML as one line of Markdown that shows exactly that HTML (before sanitising)."""
    inner = match.group(1) if (match := _WRAPPING_P.match(fragment)) else fragment
    if _has_blocks(inner):
        # one block that Markdown leaves as it is (Candor sanitises it): in several, the text
        # between them would be read as Markdown
        return f"<div>{_html_one_line(fragment, escape_text=False)}</div>"
    line = _html_one_line(inner, escape_text=True)  # a paragraph: escape its text
    return line if line.startswith("<") else _guard_line(line)


def _inline_md(text: _Text) -> str:
    """The text as one line of Markdown, for an option."""
    kind = text.kind
    if kind == "html":
        return _html_md(text.raw)
    if kind == "markdown":
        line = _restore_blank(" ".join(text.raw.split()))
        line = "\\" + line if line.startswith("[") else line
    else:
        line = _restore_blank(_escape(" ".join(text.raw.split()),
                                      keep_entities=kind == "moodle", keep_tags=False))
    return _guard_line(line)


def _quote_md(text: _Text) -> list[str]:
    """The text as the lines of a blockquote (feedback or explanation), without the ``>``."""
    kind = text.kind
    if kind == "html":
        return [_html_md(text.raw)]
    if kind == "markdown":
        return _trim_blank([_restore_blank(line.rstrip()) for line in text.raw.split("\n")])
    return _escape_text_lines(text)


def _body_md(text: _Text) -> list[str]:
    """The text as the body paragraphs of a question."""
    kind = text.kind
    if kind == "html":
        line = _html_md(text.raw)
        # Candor reads a line that starts with <!-- as a trainer's comment: keep it in a block
        return [f"<div>{_html_one_line(text.raw, escape_text=False)}</div>"
                if line.startswith("<!--") else line]
    if kind != "markdown":
        return _escape_text_lines(text)
    lines = [_restore_blank(line.rstrip()) for line in text.raw.split("\n")]
    out: list[str] = []
    fence = ""
    for index, line in enumerate(lines):
        if fence:
            fence = "" if line.strip().startswith(fence) else fence
        elif match := re.match(r" {0,3}(`{3,}|~{3,})", line):
            fence = match.group(1)
        elif match := _MD_HEADING.match(line):
            # a heading here would end the question in Candor; keep its emphasis instead
            line = f"**{match.group(1)}**" if match.group(1) else ""
        elif match := _MD_BOX.match(line):
            if match.group(1).strip() or match.group(2) == "[":
                line = match.group(1) + "\\" + line[match.end(1):]
        elif line.lstrip().startswith("<!--") and not any("-->" in rest
                                                          for rest in lines[index:]):
            line = "&lt;" + line.lstrip()[1:]
        out.append(line)
    if fence:
        out.append(fence)  # an unclosed fence would swallow the options
    return _trim_blank(out)


# --------------------------------------------------------------------------------------------
# Writing quiz.md


def _escape_heading(plain: str) -> str:
    escaped = _guard_line(_escape(plain, keep_entities=False, keep_tags=False))
    return _restore_blank(_defuse_kind(escaped))


def _defuse_kind(heading: str) -> str:
    # "Scenario:", "Step:"... would start another kind of unit; &#58; shows the same colon
    return re.sub(r"^((?:scenario|conversation|step|outcome)[ \t]*):", r"\1&#58;", heading,
                  flags=re.I)


def _fits_heading(text: _Text, plain: str) -> bool:
    if len(plain) > HEADING_MAX:
        return False
    kind = text.kind
    if kind == "html":
        match = _WRAPPING_P.match(text.raw)
        return not _TAG.search(match.group(1) if match else text.raw)
    if kind == "markdown":
        return "\n" not in text.raw and not _MD_BLOCK_START.match(text.raw)
    return not re.search(r"\n\s*\n", text.raw)


def _heading_and_body(question: _Question) -> tuple[str, str, list[str]]:
    """The heading as Markdown and as plain text, and the body lines."""
    stem, plain = question.stem, _plain(question.stem)
    if question.title is not None:
        same = question.title.casefold() == _restore_blank(plain).casefold()
        body = [] if same or not plain else _body_md(stem)
        return _escape_heading(question.title), question.title, body
    if _fits_heading(stem, plain):
        if stem.kind == "markdown":
            return _restore_blank(_defuse_kind(stem.raw.strip())), _restore_blank(plain), []
        return _escape_heading(plain), _restore_blank(plain), []
    first = _SENTENCE_END.split(plain, maxsplit=1)[0]
    short = _restore_blank(first if len(first) <= HEADING_MAX else _cut(first, DERIVED_MAX))
    return _escape_heading(short), short, _body_md(stem)


def _render(question: _Question, heading: str, body: list[str]) -> str:
    lines = [f"## {heading}"]
    if body:
        lines += ["", *body]
    lines.append("")
    for option in question.options:
        lines.append(f"- [{'x' if option.correct else ' '}] {_inline_md(option.text)}")
        if option.feedback is not None:
            lines += [f"  > {line}".rstrip() for line in _quote_md(option.feedback)]
    if question.explanation is not None:
        lines.append("")
        lines += [f"> {line}".rstrip() for line in _quote_md(question.explanation)]
    return "\n".join(lines) + "\n"


def _html_left_out(question: _Question) -> list[str]:
    texts = [question.stem, question.explanation]
    texts += [t for o in question.options for t in (o.text, o.feedback)]
    html_texts = [t.raw for t in texts if t is not None and t.kind == "html"]
    left_out = []
    if any(_IMAGE.search(raw) for raw in html_texts):
        left_out.append("images (a GIFT file does not carry Moodle's files: add them to the "
                        "course's assets/ and insert them as ![description](assets/NAME))")
    if any(_EMBEDDED.search(raw) for raw in html_texts):
        left_out.append("embedded content (scripts, frames, media)")
    return left_out


class _Writer:
    """Writes questions as quiz.md, each checked by Candor's parser, their headings unique."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.ids: dict[str, int] = {}  # question id -> line of the question that has it
        self.numbers: dict[str, int] = {}  # question id -> the last number given to a twin

    def write(self, question: _Question) -> str | None:
        """The question's Markdown, or None with a problem if Candor would refuse it."""
        label = _label(question.title, question.stem)
        heading, plain, body = _heading_and_body(question)
        notes: list[str] = []
        if not slugify(plain):
            heading = plain = f"Question at line {question.line}"
            body = body or _body_md(question.stem)
            notes.append(f'question "{label}" has no letters or digits to make a heading id '
                         f'from: headed "{heading}"')
        base, base_plain, base_id = heading, plain, ""
        while True:
            markdown = _render(question, heading, body)
            quiz, found = parse_quiz(markdown, self.reader.path)
            if quiz is None or found:
                self.reader.problems.append(Problem(
                    self.reader.path, question.line,
                    f'question "{label}" would not be valid in Candor: {found[0].message}'))
                return None
            question_id = quiz.questions[0].id  # the id Candor makes of the heading
            base_id = base_id or question_id
            if question_id not in self.ids:
                break
            self.numbers[base_id] = number = self.numbers.get(base_id, 1) + 1
            heading, plain = f"{base} ({number})", f"{base_plain} ({number})"
            if slugify(plain) == slugify(base_plain):
                # ids keep the first 60 characters only: shorten it so that the number counts
                plain = f"{_cut(base_plain, 45)} ({number})"
                heading = _escape_heading(plain)
        if heading != base:
            notes.append(f'heading "{base_plain}" is already used by the question on line '
                         f'{self.ids[base_id]}: renamed to "{plain}"')
        self.ids[question_id] = question.line
        notes += [f'question "{label}": {what} left out' for what in _html_left_out(question)]
        for message in notes:
            self.reader.note(question.line, message)
        return markdown


def convert_gift(text: str, path: str) -> GiftConversion:
    """Convert a GIFT file to quiz.md, reporting every question it skips or cannot read."""
    reader = _Reader(path)
    lines = re.split(r"\r\n|\r|\n", text.removeprefix("\ufeff"))
    for block in _split_blocks(lines, path, reader.notes):
        reader.read(block)
    writer = _Writer(reader)
    parts = [md for question in reader.questions if (md := writer.write(question)) is not None]
    return GiftConversion(
        markdown="\n".join(parts),
        converted=len(parts),
        skipped=reader.skipped,
        notes=sorted(reader.notes),
        problems=sorted(reader.problems),
    )

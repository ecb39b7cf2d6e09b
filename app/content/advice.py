"""Authoring warnings: things that do not stop a course from publishing but hurt learners.

A warning is a ``Problem`` like an error (``file:line: message``); ``courses check`` prints
them as ``file:line: warning: message`` without failing, and the studio shows them beside the
errors. Each rule here says what to do instead. Nothing here touches the database: the one
warning that needs the published course (release notes left unchanged) takes its notes as
an argument.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.content.markdown import MODULE_LINK, render_markdown
from app.content.problems import Problem
from app.content.quiz import Quiz
from app.content.quiz.model import Conversation, Question
from app.content.scanning import (
    IMAGE,
    INLINE_TARGET,
    LEVEL_ONE_HEADING,
    REFERENCE_DEFINITION,
    code_blanked,
    image_target,
)

_HEADING_ID = re.compile(r"<h[1-6][^>]*\sid=\"([^\"]+)\"")
_TAG = re.compile(r"<[^>]+>")
_ALL_THAT_APPLY = re.compile(
    r"\ball (?:that|which) appl(?:y|ies)\b|\b(?:choose|select|tick|pick|mark) (?:all|every|each)"
    r" (?:the )?(?:correct|right|true)\b",
    re.IGNORECASE,
)
_ABOVE = re.compile(r"\b(?:all|none|both|neither) of the (?:above|below)\b", re.IGNORECASE)
CUE_MIN_QUESTIONS = 3
"""The answer-cue warning needs at least this many single-answer questions to mean anything."""


@dataclass(frozen=True)
class MarkdownFile:
    """A module or quiz as the warnings read it: ``text`` starts after any front matter,
    ``offset`` lines into the file ``rel``."""

    rel: str
    stem: str
    text: str
    offset: int = 0


def course_warnings(
    modules: Sequence[MarkdownFile], quiz: Quiz | None, quiz_file: MarkdownFile | None
) -> list[Problem]:
    """Every authoring warning for a course's modules and quiz."""
    found: list[Problem] = []
    anchors = {module.stem: _heading_ids(module.text) for module in modules}
    for module in modules:
        _module_warnings(module, anchors, found)
    if quiz_file is not None:
        _link_warnings(quiz_file, anchors, found, own_anchors=None)
        if quiz is not None:
            _quiz_warnings(quiz, quiz_file.rel, found)
    return sorted(found)


def release_notes_warning(
    rel: str, line: int, notes: str, published_notes: str | None
) -> Problem | None:
    """A warning when a changed course still carries the notes of its published version."""
    if published_notes is None or notes.strip() != published_notes.strip():
        return None
    return Problem(
        rel,
        line,
        "[release] notes are the same as the published version's: say what changed in this "
        "version, or learners and auditors will read the previous version's notes",
    )


def _heading_ids(text: str) -> set[str]:
    return set(_HEADING_ID.findall(render_markdown(text)))


def _module_warnings(module: MarkdownFile, anchors: dict[str, set[str]], found) -> None:
    title_line: int | None = None
    for number, line in enumerate(code_blanked(module.text), start=1 + module.offset):
        for image in IMAGE.finditer(line):
            if not image.group(1).strip():
                target = image_target(image.group(2))
                found.append(
                    Problem(
                        module.rel,
                        number,
                        f"image {target} has no alt text: write what it shows between the "
                        "brackets, for learners using a screen reader",
                    )
                )
        if LEVEL_ONE_HEADING.match(line):
            if title_line is None:
                title_line = number
            else:
                found.append(
                    Problem(
                        module.rel,
                        number,
                        f"a second '#' heading (the title is on line {title_line}): a module "
                        "has one '#' title; use '##' for its sections",
                    )
                )
    _link_warnings(module, anchors, found, own_anchors=anchors.get(module.stem))


def _link_warnings(
    file: MarkdownFile, anchors: dict[str, set[str]], found, *, own_anchors: set[str] | None
) -> None:
    for number, line in enumerate(code_blanked(file.text), start=1 + file.offset):
        urls = [m.group(2) for m in INLINE_TARGET.finditer(line) if m.group(1) != "!"]
        if definition := REFERENCE_DEFINITION.match(line):
            urls.append(definition.group(1))
        for url in urls:
            if url.startswith("#") and len(url) > 1 and own_anchors is not None:
                if url[1:] not in own_anchors:
                    found.append(Problem(file.rel, number, _no_heading(url, "this module")))
            elif (match := MODULE_LINK.match(url)) and match.group(2) and len(match.group(2)) > 1:
                target = anchors.get(match.group(1))
                if target is not None and match.group(2)[1:] not in target:
                    found.append(
                        Problem(file.rel, number, _no_heading(url, f"{match.group(1)}.md"))
                    )


def _no_heading(url: str, where: str) -> str:
    return (
        f"link {url} leads to no heading: {where} has no heading with that anchor "
        "(an anchor is the heading in lowercase, with hyphens for spaces)"
    )


def _plain(fragment: str) -> str:
    return html.unescape(_TAG.sub("", fragment)).strip()


def _quiz_warnings(quiz: Quiz, rel: str, found: list[Problem]) -> None:
    questions = quiz.questions
    for question in questions:
        if not question.multiple and _ALL_THAT_APPLY.search(_plain(question.prompt_html)):
            found.append(
                Problem(
                    rel,
                    question.line,
                    "the question asks to choose all that apply but has one right option: "
                    "mark every right option with - [x], or reword the question",
                )
            )
    if quiz.settings.shuffle:
        for question in questions:
            _above_warning(rel, question.line, [o.text_html for o in question.options], found)
        for item in quiz.items:
            if isinstance(item, Conversation):
                for step in item.steps:
                    _above_warning(rel, step.line, [c.text_html for c in step.choices], found)
    _answer_cue_warning(rel, questions, found)


def _above_warning(rel: str, line: int, options: list[str], found: list[Problem]) -> None:
    for option in options:
        if match := _ABOVE.search(_plain(option)):
            found.append(
                Problem(
                    rel,
                    line,
                    f"'{match.group(0)}' in a shuffled quiz: options appear in a random order, "
                    "so it may come first; name the options it means, or set shuffle = false",
                )
            )
            return


def _answer_cue_warning(rel: str, questions: Sequence[Question], found: list[Problem]) -> None:
    single = [q for q in questions if not q.multiple]
    cued = [q for q in single if _right_is_longest(q)]
    if len(single) >= CUE_MIN_QUESTIONS and 2 * len(cued) > len(single):
        lines = ", ".join(str(q.line) for q in cued)
        found.append(
            Problem(
                rel,
                cued[0].line,
                f"the right option is the longest in {len(cued)} of {len(single)} "
                f"single-answer questions (lines {lines}): learners who pick the longest "
                "answer pass without knowing; make wrong options as full as right ones",
            )
        )


def _right_is_longest(question: Question) -> bool:
    right = [len(_plain(o.text_html)) for o in question.options if o.correct]
    wrong = [len(_plain(o.text_html)) for o in question.options if not o.correct]
    return bool(right and wrong) and min(right) > max(wrong)

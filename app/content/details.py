"""The organisation's own details in course text: ``{{ privacy_team }}`` and its siblings.

A module names a detail in double braces; publishing puts the organisation's value in its
place, and a detail nobody has set yet shows as a clear placeholder. The values a version was
published with are kept with it and are part of its content hash, so changing one makes a new
version rather than rewriting what someone already read.

Pure functions: no Flask, no database. ``app.organisation`` stores the values.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from app.content.problems import Problem


@dataclass(frozen=True)
class Detail:
    """A named value an admin sets: ``label`` is what the admin page and placeholder say."""

    name: str
    label: str
    help: str
    multiline: bool = False


DETAILS: tuple[Detail, ...] = (
    Detail(
        "organisation_name",
        "Organisation name",
        "As it should appear in courses, on certificates and on transcripts.",
    ),
    Detail(
        "privacy_team",
        "Privacy team contact",
        "Who answers questions about personal data and passes on customers' requests, and how "
        "to reach them, e.g. 'the privacy team (privacy@example.org, extension 4410)'.",
    ),
    Detail(
        "security_contact",
        "Information security contact",
        "Where exposed card data and possible breaches are reported at once.",
    ),
    Detail(
        "speak_up_channel",
        "Speak-up channel",
        "Where the speak-up (whistleblowing) policy is, and how to raise a concern outside the "
        "line, e.g. 'the ethics line (0800 000 000) or ethics@example.org'.",
    ),
    Detail(
        "approved_ai_tools",
        "Approved AI tools",
        "The AI tools approved for customer data, by name.",
    ),
    Detail(
        "opt_out_steps",
        "Opt-out steps",
        "What an agent does when a customer asks not to be recorded or analysed by AI. "
        "Markdown: a numbered list works well.",
        multiline=True,
    ),
    Detail(
        "disclosure_voice",
        "Disclosure wording: voice",
        "What callers are told about recording and AI tools at the start of a call.",
    ),
    Detail(
        "disclosure_chat",
        "Disclosure wording: chat",
        "What a chat customer is told when a person takes over with AI assisting.",
    ),
    Detail(
        "disclosure_email",
        "Disclosure wording: e-mail",
        "The line on a reply drafted with AI.",
    ),
)
DETAIL_NAMES = tuple(d.name for d in DETAILS)
VALUE_MAX = 2000  # a few sentences, or a short list of steps

# Linear-time: a name is a short run of lowercase letters, digits and underscores.
REFERENCE = re.compile(r"\{\{[ \t]{0,10}([A-Za-z][A-Za-z0-9_]{0,40})[ \t]{0,10}\}\}")


def detail(name: str) -> Detail | None:
    """The detail called ``name``, or None."""
    return next((d for d in DETAILS if d.name == name), None)


def placeholder(name: str) -> str:
    """What a detail nobody has set shows: bold, bracketed, and saying so."""
    found = detail(name)
    label = found.label if found is not None else name
    return f"**[{label}: not set yet by your organisation]**"


def references(text: str) -> list[tuple[int, str]]:
    """Every ``{{ name }}`` in ``text``, as (1-based line, name), in order."""
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in REFERENCE.finditer(text)
    ]


def names_used(texts: list[str]) -> list[str]:
    """The known detail names the texts refer to, sorted, each once."""
    return sorted({name for text in texts for _, name in references(text) if name in DETAIL_NAMES})


def reference_problems(text: str, path: str, line_offset: int) -> list[Problem]:
    """A problem for every ``{{ name }}`` that names no detail."""
    known = ", ".join(DETAIL_NAMES)
    return [
        Problem(
            path,
            line + line_offset,
            f"{{{{ {name} }}}} is not an organisation detail: the names are {known}",
        )
        for line, name in references(text)
        if name not in DETAIL_NAMES
    ]


def fill(text: str, values: Mapping[str, str | None]) -> str:
    """``text`` with every detail replaced by its value, or by a placeholder where unset."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in DETAIL_NAMES:
            return match.group(0)  # reported by reference_problems; never published
        found = values.get(name)
        return found if found else placeholder(name)

    return REFERENCE.sub(value, text)


def used_values(texts: list[str], values: Mapping[str, str | None]) -> dict[str, str | None]:
    """The values of the details the texts use (None where unset): what a version keeps."""
    return {name: (values.get(name) or None) for name in names_used(texts)}


def canonical(values: Mapping[str, str | None]) -> bytes:
    """The values as the content hash reads them: sorted, compact JSON."""
    return json.dumps(dict(sorted(values.items())), separators=(",", ":")).encode()


def unset_warnings(
    modules: list[tuple[str, str]], values: Mapping[str, str | None]
) -> list[Problem]:
    """A warning for every use of a detail nobody has set, given (path, source) of each
    module: learners would read a placeholder there."""
    return [
        Problem(
            path,
            line,
            f"{{{{ {name} }}}} ({detail_label(name)}) is not set yet, so learners "
            "would see a placeholder: an admin sets it on the Organisation page",
        )
        for path, source in modules
        for line, name in references(source)
        if name in DETAIL_NAMES and not values.get(name)
    ]


def detail_label(name: str) -> str:
    """The detail's label in lower case, as a sentence uses it."""
    found = detail(name)
    label = found.label if found is not None else name
    return label[:1].lower() + label[1:]

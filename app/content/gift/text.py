"""GIFT text as Candor needs it: on one plain line (for headings and messages), and as
Markdown whose every character means what it meant in GIFT.

Part of the GIFT converter; nothing outside ``app.content.gift`` should need it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import markdown

LABEL_MAX = 60  # how much of a question's text names it in a message
BLANK = "\ue007"  # the gap of a missing-word question; "_____" in the output


@dataclass(frozen=True)
class Text:
    """A piece of GIFT text: escapes resolved, the missing-word gap still ``BLANK``."""

    fmt: str
    raw: str

    @property
    def kind(self) -> str:
        # Moodle renders its own format as HTML, so Moodle text with tags is HTML
        if self.fmt == "moodle" and TAG.search(self.raw):
            return "html"
        return self.fmt


TAG = re.compile(r"<!--.*?-->|</?([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>", re.DOTALL)
# Python-Markdown leaves a block that starts with one of these as it is (only that block: text
# after it is Markdown again); an instance is made only to read the list, never to render
_BLOCK_LEVEL = frozenset(markdown.Markdown().block_level_elements)
# Candor refuses raw HTML links and images (a course uses Markdown and its own assets/), and
# embedded content has no place in a quiz
EMBEDDED = re.compile(
    r"<(script|style|iframe|object|video|audio)\b.*?</\1\s*>"
    r"|<(?:link|source|embed|iframe|script)\b[^<>]*>",
    re.DOTALL | re.I,
)
IMAGE = re.compile(r"<img\b[^<>]*>", re.I)
_LINK_URL = re.compile(r"^(?:https?://|mailto:)[^\s()<>\[\]]+$", re.I)
WRAPPING_P = re.compile(r"^<p(?:\s[^<>]*)?>((?:(?!</?p\b).)*)</p>$", re.DOTALL | re.I)
_MD_SPECIAL = re.compile(r"[\\`*\[\]~#|]")
_LONE_UNDERSCORE = re.compile(r"_(?![^\W_])|(?<![^\W_])_")  # "snake_case" needs no escape
_ENTITY = re.compile(r"&(?=#\d+;|#[xX][0-9A-Fa-f]+;|[A-Za-z][A-Za-z0-9]*;)")
_MD_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]+|$)(.*?)(?:[ \t]+#+)?[ \t]*$")
# what Candor would take for a checkbox: "- [x]", "- (x)", "1. [ ]", "[x]"...
_MD_BOX = re.compile(r"^( {0,3}(?:[-*+]|\d{1,9}[.)])?[ \t]*)([\[(])(?=[^\])]{0,3}[\])](?![(\[]))")
MD_BLOCK_START = re.compile(
    r"^ {0,3}(?:#|>|[-*+][ \t]|\d{1,9}[.)][ \t]|```|~~~|\||<|!!!|\?\?\?)"
    r"| {4}"
)
_MD_INLINE = re.compile(r"!?\[([^\]]*)\]\([^)]*\)|\*\*|__|[*`]|(?<![^\W_])_|_(?![^\W_])")
SENTENCE_END = re.compile(r"(?<=[.?!])\s")


def restore_blank(text: str) -> str:
    """The text with the missing-word gap shown as ``_____``."""
    return text.replace(BLANK, "_____")


def _html_to_plain(fragment: str) -> str:
    text = IMAGE.sub(
        lambda m: html.escape(_attribute(m.group(), "alt") or ""), EMBEDDED.sub("", fragment)
    )
    text = TAG.sub(
        lambda m: " " if (m.group(1) or "").lower() in _BLOCK_LEVEL | {"br"} else "", text
    )
    return html.unescape(text)


def _has_blocks(fragment: str) -> bool:
    return any((m.group(1) or "").lower() in _BLOCK_LEVEL for m in TAG.finditer(fragment))


def plain_of(text: Text) -> str:
    """The text on one line without markup, for headings and messages; the gap stays BLANK."""
    kind = text.kind
    if kind in ("html", "moodle"):
        plain = _html_to_plain(text.raw)
    elif kind == "markdown":
        plain = _MD_INLINE.sub(lambda m: m.group(1) or "", text.raw)
        plain = "\n".join(
            re.sub(r"^\s*(?:#{1,6}\s|>\s?|[-*+]\s|\d+[.)]\s)", "", line)
            for line in plain.split("\n")
        )
    else:
        plain = text.raw
    return " ".join(plain.split())


def has_content(text: Text) -> bool:
    """True when the text shows anything once markup is removed."""
    return bool(plain_of(text))


def question_label(title: str | None, stem: Text) -> str:
    """How a message names a question: its title, else the start of its text."""
    label = title or restore_blank(plain_of(stem)) or "(no text)"
    return cut_text(label, LABEL_MAX)


def cut_text(text: str, limit: int) -> str:
    """The text, or its start cut at a space to fit ``limit`` characters with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return head.rstrip(" ,;:-") + "…"


def escape_md(text: str, *, keep_entities: bool, keep_tags: bool) -> str:
    """Text with every character that means something in Markdown escaped."""
    text = _MD_SPECIAL.sub(lambda m: "\\" + m.group(), text)
    text = _LONE_UNDERSCORE.sub(r"\\_", text)
    if not keep_entities:
        text = _ENTITY.sub("&amp;", text)
    if not keep_tags:  # every "<": Markdown makes links of <…@…> and <http…> too
        text = text.replace("<", "&lt;")
    return text


def guard_line(line: str) -> str:
    """Escape what would start a Markdown block (list, quote, rule...) at the start of a line."""
    if match := re.match(r"\d+(?=\.(?:\s|$))", line):
        return match.group() + "\\" + line[match.end() :]
    if re.match(r"[-+](?:\s|$)|>|!!!|-[-\s]*$", line):
        return "\\" + line
    if line.startswith("???"):
        return "&#63;" + line[1:]
    return line


def _escape_text_lines(text: Text) -> list[str]:
    keep_entities = text.kind == "moodle"
    lines: list[str] = []
    for raw in text.raw.split("\n"):
        line = guard_line(escape_md(raw.strip(), keep_entities=keep_entities, keep_tags=False))
        if lines and lines[-1] and re.fullmatch(r"=+", line):
            line = "&#61;" + line[1:]  # "===" under a line would make that line a heading
        if line or (lines and lines[-1]):
            lines.append(line)
    return [restore_blank(line) for line in _trim_blank(lines)]


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
    fragment = EMBEDDED.sub("", fragment)
    for match in TAG.finditer(fragment):
        out.append(_html_text(fragment[pos : match.start()], in_pre > 0, escape_text))
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
            out.append(
                escape_md(alt, keep_entities=False, keep_tags=False)
                if escape_text
                else html.escape(alt, quote=False)
            )
        else:
            out.append(tag.replace("\n", " ") if tag.startswith("<!--") else " ".join(tag.split()))
            if name == "pre":
                in_pre = max(0, in_pre + (-1 if closing else 1))
    out.append(_html_text(fragment[pos:], in_pre > 0, escape_text))
    out += [_link_end(url, escape_text) for url in reversed(links)]
    return restore_blank("".join(out).strip())


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
        text = escape_md(text, keep_entities=True, keep_tags=True)
    return text.replace("\n", "&#10;") if in_pre else re.sub(r"\s*\n\s*", " ", text)


def _html_md(fragment: str) -> str:
    """HTML as one line of Markdown that shows exactly that HTML (before sanitising)."""
    inner = match.group(1) if (match := WRAPPING_P.match(fragment)) else fragment
    if _has_blocks(inner):
        # one block that Markdown leaves as it is (Candor sanitises it): in several, the text
        # between them would be read as Markdown
        return f"<div>{_html_one_line(fragment, escape_text=False)}</div>"
    line = _html_one_line(inner, escape_text=True)  # a paragraph: escape its text
    return line if line.startswith("<") else guard_line(line)


def inline_md(text: Text) -> str:
    """The text as one line of Markdown, for an option."""
    kind = text.kind
    if kind == "html":
        return _html_md(text.raw)
    if kind == "markdown":
        line = restore_blank(" ".join(text.raw.split()))
        line = "\\" + line if line.startswith("[") else line
    else:
        line = restore_blank(
            escape_md(" ".join(text.raw.split()), keep_entities=kind == "moodle", keep_tags=False)
        )
    return guard_line(line)


def quote_md(text: Text) -> list[str]:
    """The text as the lines of a blockquote (feedback or explanation), without the ``>``."""
    kind = text.kind
    if kind == "html":
        return [_html_md(text.raw)]
    if kind == "markdown":
        return _trim_blank([restore_blank(line.rstrip()) for line in text.raw.split("\n")])
    return _escape_text_lines(text)


def body_md(text: Text) -> list[str]:
    """The text as the body paragraphs of a question."""
    kind = text.kind
    if kind == "html":
        line = _html_md(text.raw)
        # Candor reads a line that starts with <!-- as a trainer's comment: keep it in a block
        return [
            f"<div>{_html_one_line(text.raw, escape_text=False)}</div>"
            if line.startswith("<!--")
            else line
        ]
    if kind != "markdown":
        return _escape_text_lines(text)
    lines = [restore_blank(line.rstrip()) for line in text.raw.split("\n")]
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
                line = match.group(1) + "\\" + line[match.end(1) :]
        elif line.lstrip().startswith("<!--") and not any("-->" in rest for rest in lines[index:]):
            line = "&lt;" + line.lstrip()[1:]
        out.append(line)
    if fence:
        out.append(fence)  # an unclosed fence would swallow the options
    return _trim_blank(out)

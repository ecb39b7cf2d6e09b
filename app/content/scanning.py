"""Finding links, images and headings in Markdown source, line by line.

The loader (errors) and ``advice`` (warnings) read the same lines the same way: fenced code and
code spans are blanked first, because a link written there is text, not a link.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"`[^`\n]*`")
INLINE_TARGET = re.compile(r"(!?)\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+[\"'(][^)]*)?\)")
"""A Markdown link or image whose target has no space: group 1 is ``!`` for an image."""
IMAGE = re.compile(r"!\[((?:[^\]\\]|\\.)*)\]\(([^)\n]*)\)")
"""Any inline image, whatever its target holds: group 1 the alt text, group 2 the target."""
REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
HTML_URL = re.compile(
    r"<\s*(?:img|a|iframe|script|link|source)\b[^>]*?(?:src|href)\s*=\s*"
    r"[\"']?([^\"'\s>]+)",
    re.IGNORECASE,
)
LEVEL_ONE_HEADING = re.compile(r"^ {0,3}#(?:[ \t]|$)")


def code_blanked(text: str) -> list[str]:
    """The lines of ``text`` with fenced code and code spans blanked (links there are text)."""
    lines, fence = [], None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(2)[0] * 3
            lines.append("")
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            lines.append("")
        else:
            lines.append(_CODE_SPAN.sub("", line))
    return lines


def image_target(inside: str) -> str:
    """The target of an image from what its parentheses hold: without ``<>`` or a title."""
    target = inside.strip()
    if target.startswith("<") and ">" in target:
        return target[1 : target.index(">")]
    title = re.search(r"\s+[\"'(][^\"')]*[\"')]\s*$", target)
    return target[: title.start()] if title else target

"""Ids and visible text: how a heading becomes an id, and what counts as text once rendered."""

from __future__ import annotations

import html
import re
import unicodedata

MAX_ID_CHARS = 60


def slugify(text: str) -> str:
    """A readable id for a heading: lower-case words joined by ``-``, at most 60 characters."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    # "customer's" reads as one word, as GitHub's heading anchors have it
    plain = re.sub(r"['\u2018\u2019]", "", plain)
    slug = "-".join(re.findall(r"[^\W_]+", plain))
    return slug[:MAX_ID_CHARS].rstrip("-")


def plain_text(fragment_html: str) -> str:
    """The visible text of sanitised HTML, for titles and ids."""
    return " ".join(html.unescape(re.sub(r"<[^>]*>", "", fragment_html)).split())


def visible(fragment_html: str) -> bool:
    """True when the HTML shows something: text or an image."""
    return bool(plain_text(fragment_html)) or "<img" in fragment_html

"""Markdown to safe HTML.

Course text is rendered with python-markdown and then always sanitised with nh3, whoever
wrote it (SECURITY.md finding 4). Rendering happens once per course version, at sync; pages
serve the stored HTML.

Links and images stay relative, so a course reads the same on GitHub and in Candor: a module
page lives at ``.../v<N>/<module-stem>``, its images at ``.../v<N>/assets/<name>``, and a link
to ``02-data-privacy.md`` becomes ``02-data-privacy``. Remote images are dropped (a remote image
is a tracker); the loader reports them as errors before they get this far.
"""

from __future__ import annotations

import re
import threading

import markdown as md
import nh3

ASSET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(?:png|jpe?g|webp)$", re.IGNORECASE)
MODULE_LINK = re.compile(r"^(\d{2}-[a-z0-9-]{1,60})\.md(#[A-Za-z0-9_-]*)?$")
ANCHOR = re.compile(r"^#[A-Za-z0-9_-]*$")
SAFE_SCHEMES = ("http://", "https://", "mailto:")

_EXTENSIONS = [
    "tables",
    "sane_lists",
    "admonition",
    "toc",
    "pymdownx.superfences",
    "pymdownx.details",
    "pymdownx.tilde",
]
_EXTENSION_CONFIGS = {
    "tables": {"use_align_attribute": True},
    "toc": {"permalink": False},
}

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "details",
    "div",
    "dl",
    "dt",
    "em",
    "figcaption",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
    "h1": {"id"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "h5": {"id"},
    "h6": {"id"},
    "details": {"open"},
}
_CLASSES = {
    "div": {"admonition", "note", "tip", "warning", "danger", "important", "example"},
    "details": {"note", "tip", "warning", "danger", "important", "example"},
    "p": {"admonition-title"},
}


def asset_reference(url: str) -> str | None:
    """The asset name a relative ``assets/NAME`` URL points at, or None if it is not one."""
    if url.startswith("assets/") and ASSET_NAME.match(url[len("assets/") :]):
        return url[len("assets/") :]
    return None


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "src":
        return value if asset_reference(value) else None
    if attribute != "href":
        return value
    href = value.strip()
    if href.lower().startswith(SAFE_SCHEMES) or ANCHOR.match(href) or asset_reference(href):
        return href
    if match := MODULE_LINK.match(href):
        return match.group(1) + (match.group(2) or "")
    return None  # other relative or scheme-relative URLs would leave the course


def sanitise(html: str) -> str:
    """Keep only the allow-listed tags, attributes, classes and URLs."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        allowed_classes=_CLASSES,
        url_schemes={"http", "https", "mailto"},
        attribute_filter=_filter_attribute,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


_local = threading.local()


def _converter() -> md.Markdown:
    # Instances keep state between runs (toc ids, footnotes), so each render starts from
    # reset(). Building an instance with these extensions costs several milliseconds, and a
    # quiz renders hundreds of fragments, so each thread keeps one instead of one per call.
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = md.Markdown(
            extensions=_EXTENSIONS, extension_configs=_EXTENSION_CONFIGS
        )
    return converter.reset()


def render_markdown(text: str) -> str:
    """Render course Markdown to sanitised HTML."""
    return sanitise(_converter().convert(text))


_WRAPPING_PARAGRAPH = re.compile(r"^<p>(.*)</p>$", re.DOTALL)


def render_inline(text: str) -> str:
    """Render a one-paragraph fragment (an option, a title) without its wrapping ``<p>``."""
    html = render_markdown(text).strip()
    if (match := _WRAPPING_PARAGRAPH.match(html)) and "<p>" not in match.group(1):
        return match.group(1)
    return html

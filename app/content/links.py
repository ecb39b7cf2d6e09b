"""What a module's links and images may point to: http(s) and mailto addresses, #anchors,
sibling modules and the course's own assets/ (a remote image tells a third party who is
reading), and no raw HTML. ``loader`` calls ``check_links`` on every module and quiz."""

from __future__ import annotations

import re

from app.content.markdown import ASSET_NAME, MODULE_LINK
from app.content.problems import Problem
from app.content.scanning import (
    HTML_URL,
    IMAGE,
    INLINE_TARGET,
    REFERENCE_DEFINITION,
    code_blanked,
    image_target,
)


def check_links(text, rel, line_offset, assets, module_stems, found: list[Problem]) -> None:
    """Report images that are not the course's own assets and links that lead nowhere, each
    at its ``file:line`` (``line_offset`` is where ``text`` starts in the file)."""
    for number, line in enumerate(code_blanked(text), start=1 + line_offset):
        targets = [(m.group(1) == "!", m.group(2)) for m in INLINE_TARGET.finditer(line)]
        if definition := REFERENCE_DEFINITION.match(line):
            targets.append((False, definition.group(1)))
        for url in HTML_URL.findall(line):
            found.append(
                Problem(
                    rel,
                    number,
                    f"raw HTML link or image ({url}) is not allowed: "
                    "use Markdown and the assets/ folder",
                )
            )
        for is_image, url in targets:
            if message := _reference_problem(is_image, url, assets, module_stems):
                found.append(Problem(rel, number, message))
        for image in IMAGE.finditer(line):
            target = image_target(image.group(2))
            if re.search(r"\s", target):
                found.append(
                    Problem(
                        rel,
                        number,
                        f"image '{target}' does not resolve to an asset: refer to it as "
                        "assets/NAME, a name without spaces (letters, digits and ._-)",
                    )
                )


def _reference_problem(is_image: bool, url: str, assets, module_stems) -> str | None:
    lowered = url.lower()
    if url.startswith("assets/"):
        name = url[len("assets/") :]
        if not ASSET_NAME.match(name):
            return f"{url}: asset names are letters, digits and ._- with .png, .jpg or .webp"
        if name not in assets:
            kind = "image" if is_image else "link"
            return f"broken {kind}: {url} is not in this course's assets/"
        return None
    if is_image:
        if re.match(r"^[a-z][a-z0-9+.-]*:|^//", lowered):
            return (
                f"remote image {url}: images must come from the course's assets/ folder "
                "(a remote image tells a third party who is reading)"
            )
        return f"image {url}: images must be referenced as assets/NAME"
    if lowered.startswith(("http://", "https://", "mailto:")) or url.startswith("#"):
        return None
    if match := MODULE_LINK.match(url):
        if match.group(1) not in module_stems:
            return f"broken link: {url} is not a module of this course"
        return None
    if re.match(r"^[a-z][a-z0-9+.-]*:", lowered.replace("\t", "").replace("\n", "")):
        return f"link {url}: only http, https and mailto links are allowed"
    return (
        f"link {url}: link to http(s) or mailto addresses, #anchors, assets/ files or "
        "sibling modules (NN-slug.md)"
    )

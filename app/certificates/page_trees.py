"""Format 3's certificate page, parsed once per shape and copied for each certificate.

Parsing the page's HTML was about a tenth of a certificate's rendering (``pdf.py`` lays the
copy out as it would the parsed page; ``tests/unit/test_certificate_pdf.py`` compares the PDF
bytes of both ways).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from xml.etree import ElementTree  # nosec B405  # the type of tinyhtml5's trees; parses nothing

import tinyhtml5
from jinja2 import Template

# A field in a page of placeholders: its name between two private-use characters (which no
# printed value holds: they are not printable).
_OPEN, _CLOSE = "\ue000", "\ue001"
_SLOT = re.compile(f"{_OPEN}([a-z_]+){_CLOSE}")


class PageTrees:
    """Format 3's page parsed once per shape (logo or not, score or not, link or not), with a
    placeholder for every value: a certificate's page is a copy with its values put in.

    The copy is the tree the parser makes of the page itself, as the parser reads escaped
    text back as it was written. Only for values of printable characters, though (all but
    hostile ones, which ``one_line`` has already cleaned): any other makes ``fill`` answer
    None, and the page is parsed as ever."""

    def __init__(self, template: Template) -> None:
        self._template = template
        self._shapes: dict[tuple[bool, bool, bool], ElementTree.Element] = {}

    def fill(self, printed: Mapping[str, object], logo: str | None) -> ElementTree.Element | None:
        values = {name: str(value) for name, value in printed.items()}
        values["logo"] = logo or ""
        if not all(value.isprintable() for value in values.values()):
            return None
        shape = (logo is not None, printed["score"] is None, bool(printed["verify_link"]))
        if (parsed := self._shapes.get(shape)) is None:
            parsed = self._shapes[shape] = self._parse(printed, logo)

        def put(text: str) -> str:
            return _SLOT.sub(lambda slot: values[slot.group(1)], text) if _OPEN in text else text

        root = copy.deepcopy(parsed)
        for element in root.iter():
            if element.text:
                element.text = put(element.text)
            if element.tail:
                element.tail = put(element.tail)
            for name, value in element.attrib.items():
                element.attrib[name] = put(value)
        return root

    def _parse(self, printed: Mapping[str, object], logo: str | None) -> ElementTree.Element:
        slots: dict[str, object] = {name: f"{_OPEN}{name}{_CLOSE}" for name in printed}
        slots["score"] = None if printed["score"] is None else slots["score"]
        slots["verify_link"] = printed["verify_link"]
        html = self._template.render(c=slots, logo=None if logo is None else f"{_OPEN}logo{_CLOSE}")
        return tinyhtml5.parse(html, namespace_html_elements=False)

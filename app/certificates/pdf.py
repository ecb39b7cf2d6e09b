"""The certificate as a PDF: facts in, bytes out.

``render_certificate`` is a pure function of its arguments: no Flask, no clock, no network and
no file system once this module is imported (the same inputs give the same bytes).

Safe by construction (SECURITY.md, finding 2): the template autoescapes every value and
fetches nothing (no ``<link>`` or ``url()``; one ``<img>``, the organisation's logo, a PNG
Candor re-encoded, served from memory; the only markup not escaped is the bundled mark and
segno's QR code); the stylesheet is ours alone; WeasyPrint gets a fetcher that serves the
bundled fonts (and that logo) from memory and stops the rendering (``FatalURLFetchingError``)
on any other URL, whatever its scheme; presentational hints stay off; every field is cleaned and
bounded, so the layout, and with it the rendering time, is bounded too.

Fast: the font configuration, the parsed stylesheet (whose ``@font-face`` rules install the
bundled fonts) and the template are built once per process, on first use, and shared by every
rendering; the per-certificate work is the QR code, the HTML, its layout and the PDF
(``benchmarks/certificate_pdf.py`` measures it against WeasyPrint's floor).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING
from urllib import request
from urllib.parse import urlsplit
from xml.etree import ElementTree  # nosec B405  # the type of tinyhtml5's trees; parses nothing

import cssselect2
import segno
from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup
from weasyprint import CSS, HTML, Attachment
from weasyprint.document import Document
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from app.certificates.facts import LEAN_FORMAT, CertificateFacts
from app.certificates.page_trees import PageTrees
from app.dates import format_date, format_datetime
from app.fields import NAME_MAX, TITLE_MAX, one_line

if TYPE_CHECKING:  # WeasyPrint's PDF writer, whose page stream format 3 draws into
    import pydyf

ASSETS = Path(__file__).with_name("assets")
ASSET_SCHEME = "candor-asset"  # not a real scheme: nothing outside this module can answer it
ATTACHMENT_NAME = "certificate.json"

MAX_SHORT = 100  # code, course slug, content hash: a few dozen characters when well formed
MAX_URL = 200  # the verification URL is ours: far longer is a misconfiguration

# Font-size steps by length, so that the longest allowed values still fit the page. When the
# footer's values are all in their first step (as they are but for hostile input), the footer
# is short and the statement gets the room it leaves ("roomy" in the stylesheet).
_NAME_SIZES = ((28, "size-l"), (56, "size-m"), (110, "size-s"))
_TITLE_SIZES = ((40, "size-l"), (80, "size-m"), (130, "size-s"))
_ISSUER_SIZES = ((80, "size-l"), (TITLE_MAX, "size-s"))
_CODE_SIZES = ((30, "size-l"), (MAX_SHORT, "size-s"))
_URL_SIZES = ((90, "size-l"), (MAX_URL, "size-s"))


def _font_assets() -> dict[str, tuple[bytes, str]]:
    names = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf")
    return {
        f"{ASSET_SCHEME}:fonts/{name}": ((ASSETS / "fonts" / name).read_bytes(), "font/ttf")
        for name in names
    }


# Read once at import: after this, rendering touches no file.
_BUNDLED = _font_assets()
_STYLESHEET = (ASSETS / "certificate.css").read_text("utf-8")
_LEAN_STYLESHEET = (ASSETS / "certificate-3.css").read_text("utf-8")
# Our own drawing, shipped with the code: safe to insert as markup.
_MARK = Markup((ASSETS / "candor-mark.svg").read_text("utf-8").strip())  # noqa: S704  # nosec B704

_templates = Environment(
    loader=PackageLoader("app", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


class BundledAssetFetcher(URLFetcher):
    """A WeasyPrint URL fetcher that serves only the given assets, from memory.

    Any other URL (``file:``, ``http(s):``, ``data:``, a relative or unknown one) raises
    ``FatalURLFetchingError``, which WeasyPrint does not swallow: the rendering stops.
    """

    def __init__(self, assets: Mapping[str, tuple[bytes, str]]) -> None:
        super().__init__(
            timeout=1, allowed_protocols=frozenset(), allow_redirects=False, fail_on_errors=True
        )
        # URLFetcher registers urllib's file, HTTP(S), FTP and data handlers; re-initialise the
        # opener without any, so that nothing but fetch() below could ever answer a URL.
        request.OpenerDirector.__init__(self)
        self._assets = dict(assets)

    def fetch(self, url: str, headers: Mapping[str, str] | None = None) -> URLFetcherResponse:
        """Return the bundled asset at exactly ``url``; refuse, fatally, anything else."""
        asset = self._assets.get(url)
        if asset is None:
            raise FatalURLFetchingError(f"refused to fetch {url[:120]!r}: not a bundled asset")
        body, content_type = asset
        return URLFetcherResponse(url, body, {"Content-Type": content_type})


FETCHER = BundledAssetFetcher(_BUNDLED)  # the one every rendering without a logo uses
LOGO_URL = f"{ASSET_SCHEME}:logo.png"


def _fetcher(logo_png: bytes | None) -> BundledAssetFetcher:
    """The bundled assets, plus the organisation's logo (a PNG Candor re-encoded) if given."""
    if logo_png is None:
        return FETCHER
    return BundledAssetFetcher({**_BUNDLED, LOGO_URL: (bytes(logo_png), "image/png")})


@dataclass(frozen=True)
class _Engine:
    """What every rendering in this process shares."""

    fonts: FontConfiguration
    stylesheet: CSS
    template: Template


@dataclass(frozen=True)
class _Lean:
    """The stylesheets and template of format 3, built on first use of that format."""

    user_agent: CSS
    stylesheet: CSS
    template: Template
    trees: PageTrees


# Format 3's page is laid out under this user-agent stylesheet instead of WeasyPrint's HTML5
# one (256 lines, matched against every element: an eighth of the rendering): it says all the
# elements of certificate-3.html need, so the page does not change with WeasyPrint's defaults.
# (Links, anchors and metadata do not come from it: WeasyPrint reads them from the HTML.)
_LEAN_USER_AGENT = """
html, body, div, p, h1, h2 { display: block }
head, title, meta { display: none }
"""


class _LeanHTML(HTML):
    """An HTML document laid out under ``_LEAN_USER_AGENT`` (read from ``_lean``)."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        assert _lean is not None  # noqa: S101  # nosec B101  (built before any is made)
        return [_lean.user_agent]

    @classmethod
    def from_tree(cls, root: ElementTree.Element, url_fetcher: URLFetcher) -> _LeanHTML:
        """The document of an already parsed page (``root``, as tinyhtml5 gives it): what
        ``HTML(string=...)`` makes of the same page, without parsing it again."""
        html = cls.__new__(cls)
        html.base_url = None  # what a string without a <base> gets; the page has none
        html.url_fetcher = url_fetcher
        html.media_type = "print"
        html.wrapper_element = cssselect2.ElementWrapper.from_html_root(root, content_language=None)
        html.etree_element = html.wrapper_element.etree_element
        return html


_engine: _Engine | None = None
_lean: _Lean | None = None
# Held for the whole of a rendering: the shared FontConfiguration (fontconfig, Pango) is not
# made for concurrent use. Sync gunicorn workers never wait on it; threaded servers (the
# development server, gthread) render one certificate at a time per process.
_lock = threading.Lock()


def _get_engine() -> _Engine:
    """The process's engine, built on first use; call with ``_lock`` held.

    Built lazily so that each gunicorn worker builds its own after the fork: WeasyPrint keeps
    the fonts in a temporary folder that the FontConfiguration deletes when collected.
    """
    global _engine
    if _engine is None:
        fonts = FontConfiguration()
        stylesheet = CSS(string=_STYLESHEET, font_config=fonts, url_fetcher=FETCHER)
        template = _templates.get_template("certificates/certificate.html")
        _engine = _Engine(fonts, stylesheet, template)
    return _engine


def _get_lean(engine: _Engine) -> _Lean:
    """Format 3's stylesheet and template, on ``engine``'s fonts; call with ``_lock`` held.
    (Built apart from the engine so that rendering a certificate of an older format builds
    and reads exactly what it always did.)"""
    global _lean
    if _lean is None:
        user_agent = CSS(string=_LEAN_USER_AGENT, font_config=engine.fonts, url_fetcher=FETCHER)
        stylesheet = CSS(string=_LEAN_STYLESHEET, font_config=engine.fonts, url_fetcher=FETCHER)
        template = _templates.get_template("certificates/certificate-3.html")
        _lean = _Lean(user_agent, stylesheet, template, PageTrees(template))
    return _lean


def render_certificate(
    facts: CertificateFacts, verify_url: str, signed_json: bytes, logo_png: bytes | None = None
) -> bytes:
    """The certificate as PDF bytes: A4 landscape, the facts, a QR code of verify_url, and
    signed_json embedded as the attachment "certificate.json". The layout is the one of the
    facts' format: a certificate's page never changes once issued (``pdf_check`` renders it
    again to compare)."""
    if len(verify_url) > MAX_URL:
        raise ValueError(f"verify_url is longer than {MAX_URL} characters")
    issued = datetime.combine(facts.issued_on, time(), tzinfo=UTC)  # no clock: same bytes
    attachment = Attachment(
        string=bytes(signed_json),
        name=ATTACHMENT_NAME,
        description="The certificate's facts and their signature",
        created=issued,
        modified=issued,
        relationship="Data",
        url_fetcher=FETCHER,
    )
    if facts.format == LEAN_FORMAT:
        return _render_lean(facts, verify_url, attachment, logo_png)
    printed, qr = _printed(facts, verify_url), _qr_svg(verify_url)
    with _lock:
        engine = _get_engine()
        logo = LOGO_URL if logo_png is not None else None
        html = engine.template.render(c=printed, mark=_MARK, qr=qr, logo=logo)
        document = HTML(string=html, url_fetcher=_fetcher(logo_png)).render(
            font_config=engine.fonts, stylesheets=[engine.stylesheet], presentational_hints=False
        )
        if len(document.pages) != 1:  # what the field bounds and font-size steps prevent
            raise RuntimeError(f"certificate laid out on {len(document.pages)} pages, not 1")
        return document.write_pdf(attachments=[attachment])


# Format 3 draws its two drawings itself, once the page is laid out, into the empty boxes
# the template leaves for them (found by their ids), in the page's own content stream:
# WeasyPrint's SVG parser cost more than the layout of all the text. The page check compares
# content streams, so both are checked like the text.
# The QR code: a filled rectangle per run of dark modules, with a fixed mask (any of the eight
# reads the same; segno choosing one costs four times the encoding).
QR_MASK = 0
QR_QUIET_ZONE = 3  # modules of white around the code, inside its box
QR_ID, MARK_ID = "qr", "mark"  # the ids of the two boxes in certificate-3.html
PT_PER_PX = 0.75  # CSS pixels to PDF points


def _rgb(hex_color: str) -> str:
    """A colour as the three numbers of PDF's ``rg``/``RG`` operators."""
    return " ".join(_n(int(hex_color[i : i + 2], 16) / 255) for i in (1, 3, 5))


def _n(value: float) -> str:
    """A number as the drawings write it: three decimals at most, always the same text."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


INK, TEAL, GOLD, WHITE = _rgb("#1b2429"), _rgb("#1d4e5f"), _rgb("#f4c95d"), _rgb("#ffffff")


def _render_lean(
    facts: CertificateFacts, verify_url: str, attachment: Attachment, logo_png: bytes | None
) -> bytes:
    matrix = _qr_matrix(verify_url)
    with _lock:
        document = _lay_out_lean(facts, verify_url, logo_png)
        return _write_lean(document, matrix, attachment)


def _qr_matrix(url: str) -> tuple[bytearray, ...]:
    """The modules of ``url``'s QR code, row by row (1: dark)."""
    return segno.make_qr(url, error="m", mask=QR_MASK).matrix


def _lay_out_lean(facts: CertificateFacts, verify_url: str, logo_png: bytes | None) -> Document:
    """Format 3's page, laid out; call with ``_lock`` held."""
    engine = _get_engine()
    lean = _get_lean(engine)
    printed = _printed(facts, verify_url)
    logo = LOGO_URL if logo_png is not None else None
    fetcher = _fetcher(logo_png)
    tree = lean.trees.fill(printed, logo)
    if tree is not None:
        html = _LeanHTML.from_tree(tree, fetcher)
    else:  # a value the parser might read otherwise than as written: parse the page itself
        html = _LeanHTML(string=lean.template.render(c=printed, logo=logo), url_fetcher=fetcher)
    document = html.render(
        font_config=engine.fonts, stylesheets=[lean.stylesheet], presentational_hints=False
    )
    if len(document.pages) != 1:  # what the field bounds and font-size steps prevent
        raise RuntimeError(f"certificate laid out on {len(document.pages)} pages, not 1")
    return document


def _write_lean(document: Document, matrix: tuple[bytearray, ...], attachment: Attachment) -> bytes:
    """The PDF of a laid-out format 3 page, with its drawings; call with ``_lock`` held."""
    boxes = document.pages[0].anchors

    def draw(_document: Document, pdf: pydyf.PDF) -> None:
        page = pdf.objects[pdf.pages["Kids"][0]]
        stream = pdf.objects[int(page["Contents"].split()[0])]
        _draw_qr(stream, matrix, boxes[QR_ID])
        if MARK_ID in boxes:  # no logo: Candor's mark
            _draw_mark(stream, boxes[MARK_ID])

    return document.write_pdf(attachments=[attachment], finisher=draw)


def _in_points(box: tuple[float, float, float, float]) -> tuple[float, float, float]:
    """A box's left, top and side (the smaller of its width and height) in PDF points: where
    WeasyPrint's page stream draws after its first transform (points from the top left)."""
    left, top, right, bottom = (value * PT_PER_PX for value in box)
    return left, top, min(right - left, bottom - top)


def _append(stream: pydyf.Stream, operators: list[str]) -> None:
    """Add PDF drawing operators to a page's content stream, in a graphics state of their own
    (written as text at once: a call per operator cost as much as the layout of a line)."""
    stream.stream.append("\n".join(["q", *operators, "Q"]).encode("ascii"))


def _draw_qr(stream: pydyf.Stream, matrix: tuple[bytearray, ...], box: tuple) -> None:
    """Fill a rectangle per run of dark modules of ``matrix`` into ``box``: in modules, under
    one transform, so each rectangle is four whole numbers."""
    left, top, side = _in_points(box)
    module = side / (len(matrix) + 2 * QR_QUIET_ZONE)
    origin = QR_QUIET_ZONE * module
    operators = [f"{INK} rg", _op("cm", module, 0, 0, module, left + origin, top + origin)]
    for row, modules in enumerate(matrix):
        column, width = 0, len(modules)
        while column < width:
            if modules[column] & 1:
                start = column
                while column < width and modules[column] & 1:
                    column += 1
                operators.append(f"{start} {row} {column - start} 1 re")
            column += 1
    operators.append("f")
    _append(stream, operators)


def _op(operator: str, *operands: float) -> str:
    """One PDF path operator with its operands."""
    return " ".join([*(_n(value) for value in operands), operator])


def _mark_operators() -> list[str]:
    """Candor's mark (assets/candor-mark.svg: a rounded square, an open ring, a dot) in its
    32-unit square, y downwards, as PDF operators: computed once."""
    r, k = 7, 7 * 0.5523  # corners of radius 7; a quarter circle's Bézier handle, per radius
    a, b, c = r - k, 32 - r, 32 - r + k
    square = [
        f"{TEAL} rg",
        _op("m", r, 0),
        _op("l", b, 0),
        _op("c", c, 0, 32, a, 32, r),
        _op("l", 32, b),
        _op("c", 32, c, c, 32, b, 32),
        _op("l", r, 32),
        _op("c", a, 32, 0, c, 0, b),
        _op("l", 0, r),
        _op("c", 0, a, a, 0, r, 0),
        "h",
        "f",
    ]
    # The ring: most of a circle of radius 8 around the centre, open to the right, as the
    # SVG's arc from (21.5, 10.2) to (21.5, 21.8); then the white dot.
    ring = [f"{GOLD} RG", "3.2 w", "1 J"]
    ring += _arc(16, 16, 8, math.atan2(-5.8, 5.5), math.atan2(5.8, 5.5) - 2 * math.pi, 3)
    ring.append("S")
    dot = [f"{WHITE} rg", *_arc(16, 16, 2.6, 0, 2 * math.pi, 4), "f"]
    return square + ring + dot


def _arc(cx: float, cy: float, radius: float, start: float, end: float, segments: int) -> list:
    """A circular arc from angle ``start`` to ``end`` as ``segments`` cubic Béziers."""
    step = (end - start) / segments
    k = 4 / 3 * math.tan(step / 4) * radius

    def point(angle: float) -> tuple[float, float]:
        return cx + radius * math.cos(angle), cy + radius * math.sin(angle)

    x, y = point(start)
    operators = [_op("m", x, y)]
    for index in range(segments):
        a, b = start + index * step, start + (index + 1) * step
        (x0, y0), (x1, y1) = point(a), point(b)
        handles = (x0 - k * math.sin(a), y0 + k * math.cos(a), x1 + k * math.sin(b))
        operators.append(_op("c", *handles, y1 - k * math.cos(b), x1, y1))
    return operators


_MARK_OPERATORS = _mark_operators()


def _draw_mark(stream: pydyf.Stream, box: tuple) -> None:
    """Candor's mark, scaled into ``box``."""
    left, top, side = _in_points(box)
    _append(
        stream, [f"{_n(side / 32)} 0 0 {_n(side / 32)} {_n(left)} {_n(top)} cm", *_MARK_OPERATORS]
    )


def warm_up() -> None:
    """Build this process's engine and lay out one certificate, thrown away: the fonts,
    stylesheet, Pango's caches and pyHanko's imports are then ready for the first real one."""
    from app.certificates import pades  # noqa: F401  (pyHanko's imports, once)

    render_certificate(_WARM_UP_FACTS, "https://candor.invalid/verify/0000", b"{}")


_WARM_UP_FACTS = CertificateFacts(
    code="0000-0000-0000-0000-0000",
    holder_name="Warm Up",
    course_title="Warm-up",
    course_slug="warm-up",
    version_number=1,
    content_hash="000000000000",
    score=100,
    completed_on=date(2026, 1, 1),
    issued_on=date(2026, 1, 1),
    expires_on=None,
    issuer="Candor",
)


def printed_values(facts: CertificateFacts) -> dict:
    """The facts as the page prints them: cleaned, bounded, formatted text (the page check
    of ``pdf_check`` names the facts by these)."""
    return {
        "holder_name": one_line(facts.holder_name, NAME_MAX),
        "course_title": one_line(facts.course_title, TITLE_MAX),
        "course_slug": one_line(facts.course_slug, MAX_SHORT),
        "version_number": int(facts.version_number),
        "content_hash": one_line(facts.content_hash, MAX_SHORT),
        "score": None if facts.score is None else f"{int(facts.score)}%",
        "completed_on": format_date(facts.completed_on),
        "expires_on": (
            "Does not expire" if facts.expires_on is None else format_date(facts.expires_on)
        ),
        "issued_on": format_date(facts.issued_on),
        "issuer": one_line(facts.issuer, TITLE_MAX),
        "code": one_line(facts.code, MAX_SHORT),
    }


def _printed(facts: CertificateFacts, verify_url: str) -> dict[str, object]:
    """What the template prints: the values, their font-size steps, the URL and layout."""
    values = printed_values(facts)
    name, title = values["holder_name"], values["course_title"]
    issuer, code = values["issuer"], values["code"]
    url = one_line(verify_url, MAX_URL)
    return {
        **values,
        "name_size": _size(name, _NAME_SIZES),
        "title_size": _size(title, _TITLE_SIZES),
        "created": facts.issued_on.isoformat(),
        "issuer_size": _size(issuer, _ISSUER_SIZES),
        "code_size": _size(code, _CODE_SIZES),
        "verify_url": url,
        "url_size": _size(url, _URL_SIZES),
        "verify_link": _is_web_url(verify_url),
        "layout": "roomy"
        if all(
            _size(text, steps) == "size-l"
            for text, steps in ((issuer, _ISSUER_SIZES), (code, _CODE_SIZES), (url, _URL_SIZES))
        )
        else "",
    }


def _size(text: str, steps: tuple[tuple[int, str], ...]) -> str:
    return next((size for limit, size in steps if len(text) <= limit), "size-xs")


def _is_web_url(url: str) -> bool:
    """Whether the printed URL may also be a link: only http(s), only printable."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.netloc)
        and url.isprintable()
        and " " not in url
    )


def _qr_svg(url: str) -> Markup:
    """The QR code of ``url`` as inline SVG (segno draws it; nothing of the text is markup)."""
    qr = segno.make_qr(url, error="m")
    svg = qr.svg_inline(border=3, dark="#1b2429", light="#ffffff", omitsize=True)
    # Geometry generated by segno: no input text is in it.
    return Markup(svg)  # noqa: S704  # nosec B704


_TRANSCRIPT_CSS = (ASSETS / "transcript.css").read_text("utf-8")
_templates.filters["date"] = format_date
_templates.filters["datetime"] = format_datetime
MAX_TRANSCRIPT_PAGES = 50


def render_transcript(context: dict, logo_png: bytes | None = None) -> bytes:
    """A person's training transcript as PDF (A4 portrait), under the certificate's rules:
    bundled fonts only, the same deny-by-default fetcher, autoescaped fields, bounded size;
    the organisation's logo, if given, instead of Candor's mark."""
    fetcher = _fetcher(logo_png)
    with _lock:
        engine = _get_engine()
        html = _templates.get_template("certificates/transcript.html").render(
            mark=_MARK, logo=LOGO_URL if logo_png is not None else None, **context
        )
        document = HTML(string=html, url_fetcher=fetcher).render(
            font_config=engine.fonts,
            stylesheets=[
                CSS(string=_TRANSCRIPT_CSS, font_config=engine.fonts, url_fetcher=fetcher)
            ],
            presentational_hints=False,
        )
        if len(document.pages) > MAX_TRANSCRIPT_PAGES:
            raise RuntimeError(f"transcript laid out on {len(document.pages)} pages")
        return document.write_pdf()


MAX_REPORT_PAGES = 500


def render_report(template: str, context: dict) -> bytes:
    """A readable A4 report (one person's data, say) from ``template`` under the certificate's
    rules: bundled fonts only, the deny-by-default fetcher, autoescaped fields, bounded size;
    it takes the transcript's stylesheet."""
    fetcher = _fetcher(None)
    with _lock:
        engine = _get_engine()
        html = _templates.get_template(template).render(mark=_MARK, logo=None, **context)
        document = HTML(string=html, url_fetcher=fetcher).render(
            font_config=engine.fonts,
            stylesheets=[
                CSS(string=_TRANSCRIPT_CSS, font_config=engine.fonts, url_fetcher=fetcher)
            ],
            presentational_hints=False,
        )
        if len(document.pages) > MAX_REPORT_PAGES:
            raise RuntimeError(f"report laid out on {len(document.pages)} pages")
        return document.write_pdf()

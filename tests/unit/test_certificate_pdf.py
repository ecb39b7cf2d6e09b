"""The certificate PDF: what it prints, its QR code, its attachment, its layout bounds, and
SECURITY.md finding 2 (whatever a field holds, nothing is fetched, nothing but
certificate.json is embedded, and markup prints as text). No app needed.

The QR and layout tests read the rendered page with pdftoppm (poppler-utils), a required tool.
"""

from __future__ import annotations

import io
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import urllib.request
import zlib
from dataclasses import replace
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError

from app.certificates import pdf as certificate_pdf
from app.certificates.facts import FORMAT, CertificateFacts
from app.certificates.page_trees import PageTrees
from app.certificates.pdf import BundledAssetFetcher, render_certificate
from app.fields import NAME_MAX, TITLE_MAX

VERIFY_URL = "https://candor.example.test/verify/7KQ4-M9XD-2HRT-W8PN-C3VB"
SIGNED = b'{"facts":{"code":"7KQ4-M9XD-2HRT-W8PN-C3VB"},"signature":{"alg":"Ed25519"}}'
FIELDS = ("holder_name", "course_title", "issuer", "course_slug", "code", "verify_url")


def make_facts(**changes) -> CertificateFacts:
    facts = CertificateFacts(
        code="7KQ4-M9XD-2HRT-W8PN-C3VB",
        holder_name="Amélie Nakamura-Okafor",
        course_title="AI in the Contact Centre: Handling Customer Data with Care",
        course_slug="ai-in-the-contact-center",
        version_number=3,
        content_hash="1a2b3c4d5e6f",
        score=92,
        completed_on=date(2025, 3, 12),
        issued_on=date(2025, 3, 14),
        expires_on=date(2027, 3, 12),
        issuer="Northwind Customer Services Ltd",
    )
    return replace(facts, **changes)


def compact(text: str) -> str:
    """Text without white space: line breaks may fall anywhere in a long field."""
    return "".join(text.split())


def page_text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def every_byte(pdf: bytes) -> bytes:
    """The PDF's bytes followed by every stream inflated, so that nothing hides compressed."""
    streams = [pdf]
    for match in re.finditer(rb"stream\r?\n", pdf):
        try:
            streams.append(zlib.decompressobj().decompress(pdf[match.end() :]))
        except zlib.error:
            pass  # not a Flate stream
    return b"\n".join(streams)


def attachments(pdf: bytes) -> dict[str, list[bytes]]:
    return dict(PdfReader(io.BytesIO(pdf)).attachments)


@pytest.fixture(scope="module")
def canary():
    """An HTTP server on loopback that counts every connection and request made to it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(f"{self.command} {self.path}")
            body = b"body { color: red }"
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_HEAD = do_GET

        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def verify_request(self, request, client_address):
            hits.append(f"connection from {client_address[0]}")
            return True

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    with urllib.request.urlopen(f"{url}/probe", timeout=5) as response:  # noqa: S310
        assert response.status == 200
    assert hits, "the canary does not count requests"
    hits.clear()
    yield SimpleNamespace(url=url, hits=hits)
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def secret_file() -> SimpleNamespace:
    """A local file with a random token: it must never reach a PDF. A short path, so that
    payloads naming it stay within every field's bound."""
    folder = Path(tempfile.mkdtemp(prefix="c"))
    path = folder / "s.txt"
    token = secrets.token_hex(16)
    path.write_text(token)
    yield SimpleNamespace(uri=path.as_uri(), token=token.encode())
    shutil.rmtree(folder)


def payloads(canary_url: str, secret_uri: str) -> dict[str, str]:
    """SECURITY.md's PDF cases, and a few more ways of asking WeasyPrint to fetch."""
    return {
        "img": f'<img src="{canary_url}/x">',
        "link-attachment": '<link rel="attachment" href="file:///etc/hostname">',
        "a-attachment": f'<a rel="attachment" href="{secret_uri}">x</a>',
        "link-stylesheet": f'<link rel="stylesheet" href="{canary_url}/s.css">',
        "import": f"<style>@import url({canary_url}/a.css)</style>",
        "font-face": f"<style>@font-face{{font-family:x;src:url({canary_url}/f.ttf)}}</style>",
        "file-url": "file:///etc/passwd",
        "http-url": f"{canary_url}/plain",
        "template": "{{ 7*7 }}{% if true %}x{% endif %}",
        "bidi": "\u202eelif.exe\u202c Smith",
    }


PAYLOAD_NAMES = tuple(payloads("http://127.0.0.1:1", "file:///x"))


def printed_form(value: str) -> str:
    """What the certificate prints for a value: bidi controls dropped (see pdf.py)."""
    return re.sub("[\u202a-\u202e\u2066-\u2069]", "", value)


def with_field(field: str, value: str) -> tuple[CertificateFacts, str]:
    if field == "verify_url":
        return make_facts(), value
    return make_facts(**{field: value}), VERIFY_URL


def require_pdftoppm() -> str:
    """pdftoppm's path; a failure (not a skip) without it: poppler-utils is required here."""
    path = shutil.which("pdftoppm")
    if path is None:
        pytest.fail(
            "pdftoppm is missing: install poppler-utils (apt-get install -y "
            "poppler-utils); the QR code and layout tests need it",
            pytrace=False,
        )
    return path


def first_page_image(pdf: bytes, tmp_path: Path, dpi: int = 150) -> Image.Image:
    pdftoppm = require_pdftoppm()
    source = tmp_path / "certificate.pdf"
    source.write_bytes(pdf)
    command = [
        pdftoppm,
        "-png",
        "-r",
        str(dpi),
        "-f",
        "1",
        "-l",
        "1",
        "-singlefile",
        str(source),
        str(tmp_path / "page"),
    ]
    subprocess.run(command, check=True, timeout=60)  # noqa: S603 (our arguments, no shell)
    image = Image.open(tmp_path / "page.png")
    image.load()
    return image


# What it prints and carries


def test_prints_the_facts_on_one_page_and_attaches_the_signed_json():
    pdf = render_certificate(make_facts(), VERIFY_URL, SIGNED)
    reader = PdfReader(io.BytesIO(pdf))
    text = page_text(pdf)
    assert len(reader.pages) == 1
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
    for printed in (
        "Amélie Nakamura-Okafor",
        "AI in the Contact Centre: Handling Customer Data with Care",
        "7KQ4-M9XD-2HRT-W8PN-C3VB",
        "version 3 (1a2b3c4d5e6f)",
        "ai-in-the-contact-center",
        "92%",
        "12 March 2025",
        "12 March 2027",
        "Issued 14 March 2025",
        "Northwind Customer Services Ltd",
    ):
        assert printed in text
    assert compact(f"Verify at {VERIFY_URL}") in compact(text)
    assert attachments(pdf) == {"certificate.json": [SIGNED]}


def test_without_score_or_expiry():
    text = page_text(
        render_certificate(make_facts(score=None, expires_on=None), VERIFY_URL, SIGNED)
    )
    assert "Does not expire" in text
    assert "Score" not in text and "SCORE" not in text and "%" not in text


def test_same_inputs_give_the_same_bytes():
    assert render_certificate(make_facts(), VERIFY_URL, SIGNED) == render_certificate(
        make_facts(), VERIFY_URL, SIGNED
    )


def test_threads_render_one_at_a_time_and_alike():
    expected = render_certificate(make_facts(), VERIFY_URL, SIGNED)
    results: list[bytes] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(render_certificate(make_facts(), VERIFY_URL, SIGNED))
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert results == [expected] * 4


def test_the_qr_code_reads_as_the_verify_url(tmp_path):
    require_pdftoppm()
    for url in (VERIFY_URL, "https://candor.example.test/" + "v" * 150):
        image = first_page_image(render_certificate(make_facts(), url, SIGNED), tmp_path)
        codes = zxingcpp.read_barcodes(image)
        assert [code.text for code in codes] == [url]
        assert codes[0].format == zxingcpp.BarcodeFormat.QRCode


def test_an_over_long_verify_url_is_refused():
    with pytest.raises(ValueError, match="verify_url"):
        render_certificate(make_facts(), "https://x.test/" + "v" * certificate_pdf.MAX_URL, SIGNED)


# Bounds and layout


def test_long_fields_are_cut_with_an_ellipsis():
    name, title = "Ab" * NAME_MAX, "Cd" * TITLE_MAX
    text = compact(
        page_text(
            render_certificate(make_facts(holder_name=name, course_title=title), VERIFY_URL, SIGNED)
        )
    )
    assert compact(name[: NAME_MAX - 1] + "…") in text
    assert compact(title[: TITLE_MAX - 1] + "…") in text
    assert name[: NAME_MAX + 1] not in text


def longest(
    letter: str, issuer: int, code: int, url: int, format: str = FORMAT
) -> tuple[CertificateFacts, str]:
    """Name, title and slug at their bounds; issuer, code and URL at the lengths given."""
    facts = make_facts(
        format=format,
        holder_name=letter * NAME_MAX,
        course_title=letter * TITLE_MAX,
        course_slug=letter * certificate_pdf.MAX_SHORT,
        issuer=letter * issuer,
        code=letter * code,
        content_hash=letter * 12,
    )
    prefix = "https://candor.example.test/verify/"
    return facts, prefix + letter * (url - len(prefix))


# Where each format's page must stay white (mm from the page's edge): the margin, and the
# white mat inside the frame (format 2: between its two frames; format 3: inside its one).
WHITE_BANDS = {
    "candor-certificate/2": (7.5, (9.6, 11.2)),
    "candor-certificate/3": (8.5, (11, 17.5)),
}


@pytest.mark.parametrize("format", sorted(WHITE_BANDS))
@pytest.mark.parametrize("letter", ["W", "i", "Ж", "ש"])
@pytest.mark.parametrize("footer", ["at the bounds", "short"])
def test_the_longest_fields_stay_on_the_page(tmp_path, letter, footer, format):
    """Every field at its bound, in wide, narrow, Cyrillic and (right-to-left) Hebrew letters:
    one page, all of it printed, nothing drawn over the white mat inside the frame or in
    the margin. Also with the footer's values just short enough for the roomier layout."""
    if footer == "short":  # the longest values that still get the short footer
        lengths = (
            steps[0][0]
            for steps in (
                certificate_pdf._ISSUER_SIZES,
                certificate_pdf._CODE_SIZES,
                certificate_pdf._URL_SIZES,
            )
        )
    else:
        lengths = (TITLE_MAX, certificate_pdf.MAX_SHORT, certificate_pdf.MAX_URL)
    facts, url = longest(letter, *lengths, format=format)
    pdf = render_certificate(facts, url, SIGNED)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = compact(page_text(pdf))
    for value in (
        facts.holder_name,
        facts.course_title,
        facts.issuer,
        facts.code,
        url,
        "Issued 14 March 2025",
    ):
        assert compact(value) in text

    dpi = 100
    image = first_page_image(pdf, tmp_path, dpi=dpi).convert("L")
    px = lambda mm: round(mm * dpi / 25.4)  # noqa: E731
    width, height = image.size
    # The page margin and, inside the teal border (1.6 mm), the white mat.
    margin, (mat_from, mat_to) = WHITE_BANDS[format]
    bands = [
        (0, 0, width, px(margin)),
        (0, height - px(margin), width, height),
        (0, 0, px(margin), height),
        (width - px(margin), 0, width, height),
    ]
    inner, outer = px(mat_from) + 1, px(mat_to) - 1
    bands += [
        (outer, inner, width - outer, outer),
        (outer, height - outer, width - outer, height - inner),
        (inner, outer, outer, height - outer),
        (width - outer, outer, width - inner, height - outer),
    ]
    for band in bands:
        assert image.crop(band).getextrema()[0] >= 250, f"ink in the margin at {band}"


# SECURITY.md finding 2: in every field, nothing fetched, nothing embedded, markup as text


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("case", PAYLOAD_NAMES)
def test_hostile_fields_fetch_and_embed_nothing(canary, secret_file, field, case):
    value = payloads(canary.url, secret_file.uri)[case]
    facts, url = with_field(field, value)
    pdf = render_certificate(facts, url, SIGNED)

    assert canary.hits == []
    assert attachments(pdf) == {"certificate.json": [SIGNED]}
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    everything = every_byte(pdf)
    assert secret_file.token not in everything
    assert b"/Subtype /Image" not in everything and b"/FileAttachment" not in everything
    hostname = Path("/etc/hostname").read_bytes().strip()
    if len(hostname) >= 8:  # shorter ones occur by chance in font data
        assert hostname not in everything
    text = page_text(pdf)
    assert compact(printed_form(value)) in compact(text)  # printed as text, not parsed
    if case == "template":
        assert "49" not in text
    if case == "bidi":
        assert "\u202e" not in text and "\u202c" not in text
        assert "Verify at" in text and "has completed the course" in text


def test_the_fetcher_refuses_everything_but_the_bundled_fonts(canary, secret_file):
    fetchers = (certificate_pdf.FETCHER, BundledAssetFetcher({}))
    for fetcher in fetchers:
        for url in (
            "file:///etc/hostname",
            secret_file.uri,
            canary.url,
            f"{canary.url}/x.css",
            "https://127.0.0.1/",
            "data:text/css,body{}",
            "ftp://127.0.0.1/x",
            "fonts/DejaVuSans.ttf",
            "candor-asset:fonts/../../../etc/hostname",
            "CANDOR-ASSET:fonts/DejaVuSans.ttf",
            "candor-asset:certificate.css",
        ):
            with pytest.raises(FatalURLFetchingError):
                fetcher(url)
            with pytest.raises(FatalURLFetchingError):
                fetcher.open(url)
    assert canary.hits == []
    font = certificate_pdf.FETCHER("candor-asset:fonts/DejaVuSans.ttf")
    assert font.read()[:4] == b"\x00\x01\x00\x00"  # a TrueType font, from memory


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="{canary}/img.png">',
        '<link rel="attachment" href="{secret}">',
        '<link rel="stylesheet" href="{canary}/s.css">',
        "<style>@import url({canary}/a.css)</style>",
    ],
)
def test_the_fetcher_stops_a_rendering_that_asks_for_anything(canary, secret_file, markup):
    """Were markup ever to reach WeasyPrint, the rendering fails rather than fetches."""
    html = f"<p>x</p>{markup.format(canary=canary.url, secret=secret_file.uri)}"
    with pytest.raises(FatalURLFetchingError):
        HTML(string=html, url_fetcher=certificate_pdf.FETCHER).write_pdf()
    assert canary.hits == []


def test_the_cases_are_live_against_weasyprints_default_fetcher(canary, secret_file):
    """The control: unescaped and with WeasyPrint's own fetcher, the same markup does fetch
    from the canary and does embed a local file, so the zero counts above mean something."""
    html = f'<img src="{canary.url}/img.png"><link rel="attachment" href="{secret_file.uri}">'
    pdf = HTML(string=html).write_pdf()
    try:
        assert canary.hits, "the default fetcher did not reach the canary"
        assert secret_file.token in every_byte(pdf)
    finally:
        canary.hits.clear()


@pytest.mark.parametrize(
    "name",
    [
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian, with a zero-width non-joiner
        "Anna\u00adLena",  # a soft hyphen
    ],
)
def test_names_with_invisible_format_characters_verify(name):
    # Account rules accept these names (app.fields keeps joiners and soft hyphens), so their
    # certificates must verify: the check compares what prints, not the invisible marks.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.certificates.keyring import KeySet, PublishedKey
    from app.certificates.pades import sign_pdf
    from app.certificates.pdf_check import check_pdf
    from app.certificates.service import signed_document
    from app.certificates.signing import Signer

    signer = Signer(Ed25519PrivateKey.generate())
    keys = KeySet(
        (PublishedKey(signer.key_id, signer.verifier, signer.pdf_certificate(), None, None),)
    )
    facts = make_facts(holder_name=name)
    document = signed_document(facts, signer.sign(facts.canonical_json()), signer.verifier.key_id)
    verdict = check_pdf(sign_pdf(render_certificate(facts, VERIFY_URL, document), signer), keys)
    assert (verdict.status, verdict.facts.holder_name) == ("valid", name)


# Values that markup, character references, scripts and the page's own placeholders might
# trip: the page of each, put into a copy of the parsed page, is the page parsed.
AWKWARD = {
    **payloads("http://127.0.0.1:1", "file:///x"),
    "references": "Tom &amp; Jerry &lt;b&gt; &#38; &copy; & <b>bold</b>",
    "quotes": 'O\'Brien "Bud" `tick`',
    "scripts": "محمد عبد الله · 李小龍 · Ζωή · 🎉",
    "placeholder": "\ue000code\ue001 \ue000holder_name\ue001",
    "zero width": "Zoë\u200bPapadopoulou\u2060Schmidt",
    "long": "W" * (certificate_pdf.MAX_URL - 1),  # past every font-size step; still a URL
}


def parsed_page(*args, **kwargs) -> bytes:
    """The certificate with its page parsed from HTML, as before page trees were kept."""
    keep = PageTrees.fill
    PageTrees.fill = lambda self, printed, logo: None
    try:
        return render_certificate(*args, **kwargs)
    finally:
        PageTrees.fill = keep


@pytest.mark.parametrize("value", sorted(AWKWARD))
@pytest.mark.parametrize("field", ["holder_name", "course_title", "issuer", "verify_url"])
def test_a_page_put_into_a_kept_tree_is_the_page_parsed(field, value):
    facts, url = with_field(field, AWKWARD[value])
    assert render_certificate(facts, url, SIGNED) == parsed_page(facts, url, SIGNED)


@pytest.mark.parametrize("score", [None, 71])
@pytest.mark.parametrize("url", [VERIFY_URL, "candor.example.test/verify/7KQ4"])
@pytest.mark.parametrize("logo", [None, "png"])
def test_every_shape_of_page_is_put_together_as_parsed(score, url, logo):
    png = None
    if logo:
        buffer = io.BytesIO()
        Image.new("RGB", (40, 20), "#1d4e5f").save(buffer, "PNG")
        png = buffer.getvalue()
    facts = make_facts(score=score, expires_on=None if score is None else date(2027, 3, 12))
    assert render_certificate(facts, url, SIGNED, png) == parsed_page(facts, url, SIGNED, png)


def test_a_value_that_is_not_printable_has_the_page_parsed():
    trees = certificate_pdf._get_lean(certificate_pdf._get_engine()).trees
    printed = certificate_pdf._printed(make_facts(), VERIFY_URL)
    assert trees.fill(printed, None) is not None
    assert trees.fill({**printed, "holder_name": "Zoë\u200bP"}, None) is None

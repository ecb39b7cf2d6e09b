"""Checking a certificate PDF on its own: the embedded facts and their signature, the PDF's
signature, and that the page shows exactly what was signed.

The renderer is deterministic (``certificates.pdf``), so the signed facts say exactly what the
page must be: the check renders them again and compares the two pages as PDF objects (every
content stream, font, drawing and link, decoded), not only their text. An edited fact, an
added letter, a white box with another name drawn over the page: each changes the page, and
the check names the printed facts that no longer read as signed. The organisation's logo is
compared in two steps: its size and place with the page (a blank picture of its size stands in
for it), then its picture, byte for byte (its decoded pixels and transparency), against the
page rendered with the organisation's logos when the check is given them (online: every logo
the issuer kept); offline the picture is covered by the PDF signature, which covers the whole
file, and the report says so. Certificates issued before PDF signatures (format 1, no PAdES
signature) are checked the same way, page against facts; their logo only online.
"""

from __future__ import annotations

import difflib
import hashlib
import io
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    PdfObject,
    StreamObject,
)

from app.certificates.facts import CertificateFacts
from app.certificates.keyring import KeySet
from app.certificates.pades import check_pdf_signature, signature_count
from app.certificates.service import Verdict, verify_document
from app.dates import format_date, is_expired
from app.db import utcnow

ATTACHMENT = "certificate.json"
_READ_ERRORS = (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError)
# Keys that point back up the tree or only say how a stream is stored, not what it draws.
_SKIP = frozenset({"/Parent", "/P", "/Length", "/Filter", "/DecodeParms", "/StructParents"})
_MAX_DEPTH = 40


def embedded_document(pdf: bytes) -> bytes | None:
    """The certificate.json attached to the PDF, or None."""
    try:
        attachments = PdfReader(io.BytesIO(pdf)).attachments
    except _READ_ERRORS:
        return None
    contents = attachments.get(ATTACHMENT)
    return contents[0] if contents and len(contents) == 1 else None


def printed_text(pdf: bytes) -> str:
    """The PDF's visible text, compared as :func:`_compact` makes it."""
    try:
        return "".join(_compact(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages)
    except _READ_ERRORS:
        return ""


def _compact(text: str) -> str:
    # Line breaks may fall anywhere, and format characters a name may rightly hold (the
    # zero-width joiners of Persian names and emoji, a soft hyphen) print as nothing, so
    # neither white space nor those count when printed text is compared with signed text.
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


# -- the page as objects ------------------------------------------------------------------


def _canonical(value: PdfObject | object, depth: int = 0, seen: frozenset = frozenset()):
    """A comparable form of a PDF object: references followed, streams decoded and hashed,
    images reduced to their size (the logo), back-pointers left out."""
    if depth > _MAX_DEPTH:
        raise ValueError("the PDF's objects nest too deep")
    if isinstance(value, IndirectObject):
        ref = (value.idnum, value.generation)
        if ref in seen:
            return ("cycle",)
        return _canonical(value.get_object(), depth + 1, seen | {ref})
    if isinstance(value, StreamObject):
        if value.get("/Subtype") == "/Image":
            return ("image", int(value.get("/Width", 0)), int(value.get("/Height", 0)))
        digest = hashlib.sha256(value.get_data()).hexdigest()
        return ("stream", digest, _canonical(DictionaryObject(value), depth + 1, seen))
    if isinstance(value, dict):
        return tuple(
            (str(key), _canonical(item, depth + 1, seen))
            for key, item in sorted(value.items(), key=lambda pair: str(pair[0]))
            if key not in _SKIP
        )
    if isinstance(value, ArrayObject | list):
        return tuple(_canonical(item, depth + 1, seen) for item in value)
    return repr(value)


def _is_invisible_signature(annotation: PdfObject) -> bool:
    """The PDF signature's own widget, which draws nothing (a zero-size rectangle)."""
    widget = annotation.get_object()
    if not isinstance(widget, dict) or widget.get("/FT") != "/Sig":
        return False
    left, bottom, right, top = (float(v) for v in widget.get("/Rect", [0, 0, 0, 0]))
    return left == right or bottom == top


def _page_form(page: DictionaryObject):
    """The page as :func:`_canonical` sees it, without the signature's invisible widget."""
    fields = dict(page)
    annotations = [a for a in page.get("/Annots", []) or [] if not _is_invisible_signature(a)]
    fields["/Annots"] = ArrayObject(annotations)
    return _canonical(DictionaryObject(fields))


# -- what the page must be ----------------------------------------------------------------


@dataclass(frozen=True)
class _Shown:
    """A PDF's one page, read: its text lines, its object form, its link, its logo size."""

    lines: list[str]
    form: tuple
    link: str | None
    logo_size: tuple[int, int] | None
    pictures: tuple[str, ...]  # each picture's decoded pixels and mask, hashed


def _read_page(pdf: bytes) -> _Shown | None:
    try:
        pages = PdfReader(io.BytesIO(pdf)).pages
        if len(pages) != 1:
            return None
        page = pages[0]
        lines = [line.strip() for line in page.extract_text().splitlines() if line.strip()]
        return _Shown(lines, _page_form(page), _link(page), _logo_size(page), _pictures(page))
    except _READ_ERRORS:
        return None


def _link(page) -> str | None:
    for annotation in page.get("/Annots", []) or []:
        action = annotation.get_object().get("/A")
        if action is not None and "/URI" in action.get_object():
            return str(action.get_object()["/URI"])
    return None


def _logo_size(page) -> tuple[int, int] | None:
    xobjects = page.get("/Resources", {}).get_object().get("/XObject", {}).get_object()
    for xobject in xobjects.values():
        image = xobject.get_object()
        if image.get("/Subtype") == "/Image":
            return int(image["/Width"]), int(image["/Height"])
    return None


def _pictures(page) -> tuple[str, ...]:
    """The SHA-256 of each picture on the page: its decoded pixels, then its soft mask's."""
    xobjects = page.get("/Resources", {}).get_object().get("/XObject", {}).get_object()
    digests = []
    for name in sorted(xobjects):
        image = xobjects[name].get_object()
        if image.get("/Subtype") != "/Image":
            continue
        digest = hashlib.sha256(image.get_data())
        if (mask := image.get("/SMask")) is not None:
            digest.update(b"|mask|" + mask.get_object().get_data())
        digests.append(digest.hexdigest())
    return tuple(digests)


def _logo_check(
    shown: _Shown, facts: CertificateFacts, url: str, logos: Sequence[bytes] | None
) -> tuple[bool, str]:
    """Whether the logo's picture is, byte for byte, one of ``logos`` (None: not given, as
    offline), and the line saying what was checked."""
    from app.certificates.pdf import render_certificate

    if shown.logo_size is None:
        return True, "logo: none printed"
    if logos is None:
        how = (
            "its picture is covered by the PDF signature"
            if facts.pdf_signed
            else "its picture is checked online only (no PDF signature)"
        )
        return True, f"logo: its size and place as printed; {how}"
    for png in logos:
        try:
            with Image.open(io.BytesIO(png)) as image:
                if image.size != shown.logo_size:
                    continue
        except (OSError, ValueError):
            continue
        expected = _read_page(render_certificate(facts, url, b"{}", png))
        if expected is not None and expected.pictures == shown.pictures:
            return True, "logo: the organisation's logo, byte for byte"
    return False, (
        "logo: the picture is none of the organisation's logos (those kept since a logo was "
        "last removed): ALTERED"
    )


def _verify_url(shown: _Shown, facts: CertificateFacts) -> str | None:
    """The verification URL printed on the page: not a signed fact (the issuer's address may
    change), but it must end in this certificate's code."""
    url = shown.link
    if url is None:
        printed = [line for line in shown.lines if line.startswith("Verify at ")]
        url = printed[0].removeprefix("Verify at ").strip() if printed else None
    suffix = f"/verify/{facts.code}"
    return url if url is not None and url.endswith(suffix) else None


def _placeholder_logo(size: tuple[int, int] | None) -> bytes | None:
    """A blank PNG of the logo's size: it lays the page out as the real logo did."""
    if size is None:
        return None
    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, format="PNG")
    return buffer.getvalue()


def printed_facts(facts: CertificateFacts) -> list[tuple[str, str]]:
    """Each fact the page prints, named, as the page prints it."""
    from app.certificates.pdf import printed_values

    shown = printed_values(facts)
    return [
        ("name", shown["holder_name"]),
        ("course", shown["course_title"]),
        ("version", f"version {shown['version_number']}"),
        ("content hash", shown["content_hash"]),
        ("course id", shown["course_slug"]),
        ("score", shown["score"] or "(no assessment: none printed)"),
        ("completed", shown["completed_on"]),
        ("issued", shown["issued_on"]),
        ("expires", shown["expires_on"]),
        ("code", shown["code"]),
        ("issuer", shown["issuer"]),
    ]


def _changed_lines(expected: list[str], shown: list[str]) -> tuple[dict[int, str | None], list]:
    """Which expected lines the page does not show as they are (and what it shows instead),
    and the lines it shows that were not expected."""
    changed: dict[int, str | None] = {}
    extra: list[str] = []
    matcher = difflib.SequenceMatcher(a=expected, b=shown, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for offset, index in enumerate(range(i1, i2)):
            changed[index] = shown[j1 + offset] if j1 + offset < j2 else None
        extra.extend(shown[j1 + (i2 - i1) : j2])
    return changed, extra


SEPARATOR = " · "  # between facts printed on one line


def _differs(expected: str, shown: str | None, value: str) -> bool:
    """Whether a changed line changed ``value``: on a line of several facts (format 3 prints
    the dates and the score on one), only the part holding the value counts, so an edited
    expiry is named as the expiry, not as the completion date beside it."""
    if shown is None:
        return True
    parts, shown_parts = expected.split(SEPARATOR), shown.split(SEPARATOR)
    holding = [i for i, part in enumerate(parts) if _compact(value) in _compact(part)]
    if len(parts) != len(shown_parts) or not holding:
        return True
    return any(parts[i] != shown_parts[i] for i in holding)


def compare_page(
    pdf: bytes, facts: CertificateFacts, logos: Sequence[bytes] | None = None
) -> tuple[bool, list[str]]:
    """Whether the page is exactly the page of ``facts``, and a line per fact checked; with
    ``logos`` (the issuer's, online), its logo picture must be one of them byte for byte."""
    from app.certificates.pdf import render_certificate

    shown = _read_page(pdf)
    if shown is None:
        return False, ["page: the PDF is not one readable page"]
    url = _verify_url(shown, facts)
    if url is None:
        return False, [f"page: no verification address ending in /verify/{facts.code}"]
    try:
        expected_pdf = render_certificate(facts, url, b"{}", _placeholder_logo(shown.logo_size))
    except (ValueError, RuntimeError) as error:
        return False, [f"page: the signed facts cannot be printed ({error})"]
    expected = _read_page(expected_pdf)
    assert expected is not None  # noqa: S101  # nosec B101  (our own one-page rendering)
    changed, extra = _changed_lines(expected.lines, shown.lines)
    report, facts_ok = [], True
    for label, value in printed_facts(facts):
        where = [
            i
            for i, line in enumerate(expected.lines)
            if _compact(value) in _compact(line)
            or (len(_compact(line)) > 3 and _compact(line) in _compact(value))
        ]
        differs = [
            changed[i]
            for i in where
            if i in changed and _differs(expected.lines[i], changed[i], value)
        ]
        if differs:
            facts_ok = False
            instead = differs[0]
            seen = f"the page shows {instead!r}" if instead is not None else "not on the page"
            report.append(f"{label}: {value} (signed), but {seen}: ALTERED")
        else:
            report.append(f"{label}: {value}: as signed")
    if extra:
        facts_ok = False
        report.append(f"page: text that is not on the certificate: {' / '.join(extra)!r}")
    if shown.form != expected.form:
        report.append(
            "page: its drawing is not the one Candor prints for these facts "
            "(something was drawn over, added or removed)"
            if facts_ok
            else "page: its drawing differs from the one Candor prints for these facts"
        )
        return False, report
    report.append("page: exactly the page Candor prints for these facts (text and drawing)")
    logo_ok, logo_line = _logo_check(shown, facts, url, logos)
    report.append(logo_line)
    return facts_ok and logo_ok, report


# -- the verdict --------------------------------------------------------------------------


def check_pdf(
    pdf: bytes,
    keys: KeySet,
    current_status: Callable[[str], str | None] | None = None,
    logos: Sequence[bytes] | None = None,
) -> Verdict:
    """The verdict on a PDF (forged, altered, revoked, expired or valid), with every check;
    ``logos`` (online: the issuer's) are the pictures its logo may be."""
    document = embedded_document(pdf)
    if document is None:
        return Verdict(False, "forged", "The PDF carries no signed certificate data.")
    verdict = verify_document(document, keys)
    if not verdict.ok or (facts := verdict.facts) is None:
        return verdict
    checks, problems = list(verdict.checks), []
    if signature_count(pdf) > 0:
        result = check_pdf_signature(pdf, keys)
        checks.append(f"PDF signature: {result.message}")
        if not result.ok:
            problems.append(result.message)
    elif facts.pdf_signed:
        checks.append("PDF signature: none, but a certificate of this format carries one")
        problems.append("Its PDF signature was removed.")
    else:
        checks.append("PDF signature: none (issued before certificate PDFs were signed)")
    page_ok, page_report = compare_page(pdf, facts, logos)
    checks.extend(page_report)
    if not page_ok:
        problems.append(
            "The printed certificate does not match its signed data: the PDF was altered "
            "or belongs to another certificate."
        )
    if problems:
        return Verdict(False, "altered", " ".join(problems), facts, tuple(checks))
    status = current_status(facts.code) if current_status else None
    if status == "revoked":
        return Verdict(
            False, "revoked", "The issuer has revoked this certificate.", facts, tuple(checks)
        )
    if status == "unknown":
        return Verdict(
            False, "forged", "The issuer has no certificate with this code.", facts, tuple(checks)
        )
    if is_expired(facts.expires_on, utcnow()):
        return Verdict(
            False,
            "expired",
            f"It expired on {format_date(facts.expires_on)}.",
            facts,
            tuple(checks),
        )
    where = "checked with the issuer" if status else "offline: status not checked"
    return Verdict(True, "valid", f"The signatures are valid ({where}).", facts, tuple(checks))

"""Checking a certificate PDF on its own: the embedded facts, their signature, and that the
printed text is the text that was signed."""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Callable

from pypdf import PdfReader
from pypdf.errors import PdfReadError

from app.certificates.service import Verdict, verify_document
from app.certificates.signing import Verifier
from app.dates import format_date, is_expired
from app.db import utcnow

ATTACHMENT = "certificate.json"


def embedded_document(pdf: bytes) -> bytes | None:
    """The certificate.json attached to the PDF, or None."""
    try:
        attachments = PdfReader(io.BytesIO(pdf)).attachments
    except (PdfReadError, ValueError, KeyError, TypeError):
        return None
    contents = attachments.get(ATTACHMENT)
    return contents[0] if contents and len(contents) == 1 else None


def printed_text(pdf: bytes) -> str:
    """The PDF's visible text, compared as :func:`_compact` makes it."""
    try:
        return "".join(_compact(page.extract_text()) for page in PdfReader(io.BytesIO(pdf)).pages)
    except (PdfReadError, ValueError, KeyError, TypeError):
        return ""


def _compact(text: str) -> str:
    # Line breaks may fall anywhere, and format characters a name may rightly hold (the
    # zero-width joiners of Persian names and emoji, a soft hyphen) print as nothing, so
    # neither white space nor those count when printed text is compared with signed text.
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cf")


def check_pdf(
    pdf: bytes, verifier: Verifier, current_status: Callable[[str], str | None] | None = None
) -> Verdict:
    """The verdict on a PDF: forged, altered, revoked, expired or valid."""
    document = embedded_document(pdf)
    if document is None:
        return Verdict(False, "forged", "The PDF carries no signed certificate data.")
    verdict = verify_document(document, verifier)
    if not verdict.ok or (facts := verdict.facts) is None:
        return verdict
    text = printed_text(pdf)
    if _compact(facts.code) not in text or _compact(facts.holder_name) not in text:
        return Verdict(
            False,
            "altered",
            "The printed certificate does not match its signed "
            "data: the PDF was altered or belongs to another certificate.",
            facts,
        )
    status = current_status(facts.code) if current_status else None
    if status == "revoked":
        return Verdict(False, "revoked", "The issuer has revoked this certificate.", facts)
    if status == "unknown":
        return Verdict(False, "forged", "The issuer has no certificate with this code.", facts)
    if is_expired(facts.expires_on, utcnow()):
        return Verdict(False, "expired", f"It expired on {format_date(facts.expires_on)}.", facts)
    where = "checked with the issuer" if status else "offline: status not checked"
    return Verdict(True, "valid", f"The signature is valid ({where}).", facts)

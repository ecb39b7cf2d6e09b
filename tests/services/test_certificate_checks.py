"""What `certificates verify` catches: every printed fact against the signed facts, the PDF's
own signature (PAdES, also as poppler's pdfsig reads it), on certificates signed today and on
those issued before PDFs were signed (format 1: signed JSON inside, no PDF signature)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from dataclasses import replace
from datetime import date

import pytest
from helpers import list_courses, read_in_turn
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject
from sqlalchemy import select

from app.certificates.facts import CertificateFacts
from app.certificates.keyring import published_keys
from app.certificates.pades import signature_count
from app.certificates.pdf import render_certificate
from app.certificates.pdf_check import check_pdf, embedded_document
from app.certificates.service import (
    certificate_pdf,
    issuer_of,
    render_signed_pdf,
    signed_document,
)
from app.content.sync import sync_courses
from app.models import Certificate
from app.progress.reading import current_version, find_course

REFRESHER = "ai-data-refresher"
# A white box over the name (A4 landscape: the name sits in the middle), another name on it.
WHITE_BOX = b"q 1 1 1 rg 150 270 540 80 re f Q BT /Fx 30 Tf 300 300 Td (Eve Mallory) Tj ET"
BOX_ONLY = b"q 1 1 1 rg 150 270 540 80 re f Q"


@pytest.fixture
def certificate(db, make_user, refresher_without_quiz):
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    user = make_user(name="Ana Silva")
    read_in_turn(db, user, current_version(db, user, find_course(db, REFRESHER)).modules)
    db.commit()
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == user.id))
    certificate_pdf(db, certificate)  # as its job renders it after the commit
    db.commit()  # ends this read: the PDF was kept in a transaction of its own
    return certificate


def keys_of(db):
    return published_keys(db, issuer_of(db).signer)


def legacy_pdf(db, certificate) -> bytes:
    """The certificate as Candor issued it before PDFs were signed: format 1 facts, signed
    JSON attached, no PDF signature."""
    issuer = issuer_of(db)
    facts = CertificateFacts.from_dict({**certificate.facts, "format": "candor-certificate/1"})
    signature = issuer.signer.sign(facts.canonical_json())
    document = signed_document(facts, signature, issuer.signer.key_id)
    return render_certificate(facts, issuer.verify_url(certificate.code), document)


def reprinted(pdf: bytes, **changes) -> bytes:
    """The page printed again with some facts changed, the signed JSON kept as it was: a
    forger's perfect copy (same renderer, same fonts), with or without a PDF signature."""
    document = embedded_document(pdf)
    facts = CertificateFacts.from_dict(json.loads(document)["certificate"])
    link = PdfReader(io.BytesIO(pdf)).pages[0]["/Annots"][0].get_object()["/A"]["/URI"]
    return render_certificate(replace(facts, **changes), str(link), document)


def drawn_over(pdf: bytes, *, incremental: bool = False, drawing: bytes = WHITE_BOX) -> bytes:
    """A white box drawn over the name and another name printed on it, with pypdf: the file
    rewritten, or (``incremental``) the drawing appended after the signed bytes."""
    writer = (
        PdfWriter(io.BytesIO(pdf), incremental=True)
        if incremental
        else PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    )
    page = writer.pages[0]
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    resources = page["/Resources"].get_object()
    resources["/Font"].get_object()[NameObject("/Fx")] = writer._add_object(font)
    combined = DecodedStreamObject()
    combined.set_data(page.get_contents().get_data() + b"\n" + drawing)
    page.replace_contents(combined)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


EDITS = {
    "expiry 2027 → 2072": ("expires", lambda f: {"expires_on": f.expires_on.replace(year=2072)}),
    "course title": ("course", lambda f: {"course_title": "Advanced data protection"}),
    "score": ("score", lambda f: {"score": 100}),
    "a letter added to the name": ("name", lambda f: {"holder_name": "Ana Silvia"}),
}


def facts_of(pdf: bytes) -> CertificateFacts:
    return CertificateFacts.from_dict(json.loads(embedded_document(pdf))["certificate"])


def test_a_fresh_certificate_is_signed_and_every_printed_fact_checked(db, certificate):
    assert signature_count(certificate.pdf) == 1
    assert embedded_document(certificate.pdf) is not None  # the signed JSON stays inside
    verdict = check_pdf(certificate.pdf, keys_of(db))
    assert verdict.status == "valid", verdict.checks
    checked = "\n".join(verdict.checks)
    for label in ("name", "course", "version", "content hash", "score", "completed", "issued"):
        assert f"\n{label}: " in "\n" + checked
    for label in ("expires", "code", "issuer"):
        assert f"{label}: " in checked and "ALTERED" not in checked
    assert "Ana Silva: as signed" in checked
    assert "PDF signature: valid, covers the whole file" in checked
    assert "exactly the page Candor prints" in checked


def format_2_pdf(db, certificate) -> bytes:
    """The certificate as Candor issued it before the lean page (format 3): format 2 facts,
    signed, on the page of format 2, with its PDF signature."""
    issuer = issuer_of(db)
    facts = CertificateFacts.from_dict({**certificate.facts, "format": "candor-certificate/2"})
    document = signed_document(
        facts, issuer.signer.sign(facts.canonical_json()), issuer.signer.key_id
    )
    return render_signed_pdf(issuer, facts, document, None)


def test_a_certificate_of_the_page_before_format_3_still_checks(db, certificate):
    """Certificates issued on format 2's page keep verifying (their page is rendered as it
    always was), and an edit on them is still caught and named."""
    assert certificate.facts["format"] == "candor-certificate/3"
    pdf = format_2_pdf(db, certificate)
    verdict = check_pdf(pdf, keys_of(db))
    assert verdict.status == "valid", verdict.checks
    assert "exactly the page Candor prints" in "\n".join(verdict.checks)
    assert "This certifies that" in _text(pdf)  # format 2's page, not format 3's
    edited = reprinted(pdf, holder_name="Eve Forger")
    verdict = check_pdf(edited, keys_of(db))
    assert verdict.status == "altered"
    assert any(line.startswith("name: ") and line.endswith("ALTERED") for line in verdict.checks)


def _text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


@pytest.mark.parametrize("edit", EDITS, ids=list(EDITS))
@pytest.mark.parametrize("kind", ["signed", "issued before PDF signatures"])
def test_an_edited_fact_is_caught_and_named(db, certificate, edit, kind):
    pdf = certificate.pdf if kind == "signed" else legacy_pdf(db, certificate)
    assert check_pdf(pdf, keys_of(db)).status == "valid"
    label, change = EDITS[edit]
    if certificate.facts["expires_on"] is not None and label == "expires":
        assert facts_of(pdf).expires_on.year < 2072
    if label == "score":
        pdf = _with_score(db, certificate, pdf)
    edited = reprinted(pdf, **change(facts_of(pdf)))
    verdict = check_pdf(edited, keys_of(db))
    assert verdict.status == "altered", verdict.checks
    named = [line for line in verdict.checks if line.endswith("ALTERED")]
    assert named and named[0].startswith(f"{label}: "), verdict.checks
    if kind == "signed":
        assert "Its PDF signature was removed." in verdict.message


def _with_score(db, certificate, pdf: bytes) -> bytes:
    """The refresher has no quiz, so no score is printed: this copy states 80%, signed."""
    issuer = issuer_of(db)
    facts = replace(facts_of(pdf), score=80)
    document = signed_document(
        facts, issuer.signer.sign(facts.canonical_json()), issuer.signer.key_id
    )
    return render_certificate(facts, issuer.verify_url(certificate.code), document)


@pytest.mark.parametrize("kind", ["signed", "issued before PDF signatures"])
def test_a_white_box_with_another_name_over_the_name_is_caught(db, certificate, kind):
    pdf = certificate.pdf if kind == "signed" else legacy_pdf(db, certificate)
    edited = drawn_over(pdf)
    shown = PdfReader(io.BytesIO(edited)).pages[0].extract_text()
    assert "Eve Mallory" in shown
    verdict = check_pdf(edited, keys_of(db))
    assert verdict.status == "altered", verdict.checks
    assert any("Eve Mallory" in line for line in verdict.checks)
    hidden = check_pdf(drawn_over(pdf, drawing=BOX_ONLY), keys_of(db))  # no text: a drawing
    assert hidden.status == "altered"
    assert "something was drawn over, added or removed" in hidden.checks[-1]


def test_a_drawing_appended_after_the_signature_is_caught(db, certificate):
    edited = drawn_over(certificate.pdf, incremental=True)
    assert edited.startswith(certificate.pdf)  # the signed bytes are all still there
    verdict = check_pdf(edited, keys_of(db))
    assert verdict.status == "altered"
    assert "PDF signature: " in verdict.checks[1] and "after it was signed" in verdict.message


def test_an_unsigned_copy_of_a_signed_certificate_is_caught(db, certificate):
    """The same page and JSON without the PDF signature: a format 2 certificate carries one."""
    unsigned = reprinted(certificate.pdf)
    verdict = check_pdf(unsigned, keys_of(db))
    assert verdict.status == "altered" and "PDF signature was removed" in verdict.message
    assert "exactly the page Candor prints" in verdict.checks[-2]  # the page itself is right
    assert verdict.checks[-1] == "logo: none printed"


def test_a_certificate_without_expiry_says_so_and_is_checked(db, certificate):
    issuer = issuer_of(db)
    facts = replace(facts_of(certificate.pdf), expires_on=None, format="candor-certificate/1")
    document = signed_document(
        facts, issuer.signer.sign(facts.canonical_json()), issuer.signer.key_id
    )
    pdf = render_certificate(facts, issuer.verify_url(certificate.code), document)
    verdict = check_pdf(pdf, keys_of(db))
    assert verdict.status == "valid" and "expires: Does not expire: as signed" in verdict.checks
    dated = reprinted(pdf, expires_on=date(2072, 1, 1))
    assert check_pdf(dated, keys_of(db)).status == "altered"


def _pdfsig(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "pdfsig (poppler-utils) is required: .ci/run installs it"
    result = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False)  # noqa: S603
    return result.stdout + result.stderr


def test_pdfsig_shows_the_signature_valid_then_broken(db, certificate, tmp_path):
    fresh = _pdfsig(certificate.pdf, tmp_path)
    assert "Signature is Valid." in fresh and "Total document signed" in fresh
    assert f"Candor certificate key {issuer_of(db).signer.key_id}" in fresh
    rewritten = _pdfsig(drawn_over(certificate.pdf), tmp_path)
    assert "Signature is Valid." not in rewritten
    appended = _pdfsig(drawn_over(certificate.pdf, incremental=True), tmp_path)
    assert "Total document signed" not in appended


def _png(colour: str, size=(64, 32)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGBA", size, colour).save(out, format="PNG")
    return out.getvalue()


def _logo_swapped(pdf: bytes, colour: str = "red") -> bytes:
    """The PDF with its logo's picture replaced by another of the same size (layout intact)."""
    from PIL import Image

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    (picture,) = writer.pages[0].images
    picture.replace(Image.new("RGB", picture.image.size, colour))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_swapped_logo_is_caught_byte_for_byte(
    app, db, make_user, refresher_without_quiz, tmp_path
):
    from app.models import Role
    from app.organisation.logo import store_logo

    logo = store_logo(db, make_user(roles={Role.ADMIN}), _png("blue"))
    db.commit()
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    user = make_user(name="Lou Logo")
    read_in_turn(db, user, current_version(db, user, find_course(db, REFRESHER)).modules)
    db.commit()
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == user.id))
    certificate_pdf(db, certificate)  # as its job renders it after the commit
    db.commit()  # ends this read: the PDF was kept in a transaction of its own
    issuer = issuer_of(db)
    facts = CertificateFacts.from_dict({**certificate.facts, "format": "candor-certificate/1"})
    document = signed_document(
        facts, issuer.signer.sign(facts.canonical_json()), issuer.signer.key_id
    )
    legacy = render_certificate(facts, issuer.verify_url(certificate.code), document, logo.png)
    keys = keys_of(db)

    genuine = check_pdf(legacy, keys, logos=[logo.png])
    assert genuine.status == "valid", genuine.checks
    assert "logo: the organisation's logo, byte for byte" in genuine.checks
    swapped = _logo_swapped(legacy)
    caught = check_pdf(swapped, keys, logos=[logo.png])
    assert caught.status == "altered"
    assert any(
        c.startswith("logo: the picture is none of the organisation's logos") for c in caught.checks
    )
    # Offline there is no logo to compare with: the report says what was not checked.
    offline = check_pdf(swapped, keys)
    assert "logo: its size and place as printed; its picture is checked online only" in " ".join(
        offline.checks
    )
    # A signed certificate: the PDF signature covers the picture, and online the page check too.
    signed = check_pdf(_logo_swapped(certificate.pdf), keys, logos=[logo.png])
    assert signed.status == "altered" and "PDF signature" in " ".join(signed.checks)
    assert any(c.startswith("logo: the picture is none") for c in signed.checks)
    assert check_pdf(certificate.pdf, keys, logos=[logo.png]).status == "valid"

    path = tmp_path / "swapped.pdf"
    path.write_bytes(swapped)
    result = app.test_cli_runner().invoke(args=["certificates", "verify", str(path)])
    assert result.exit_code == 1 and "logo: the picture is none" in result.output

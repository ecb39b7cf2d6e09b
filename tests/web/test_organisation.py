"""The admin's organisation page: named details that course text uses (saved, checked,
published as minor versions learners then read), and the logo and name that certificates and
transcripts carry."""

from __future__ import annotations

import io

import pytest
from helpers import list_courses, login, post, read_in_turn
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from app.certificates.service import certificate_pdf
from app.content.sync import sync_courses
from app.content.versions import newest_version_by_slug
from app.models import Certificate, OrganisationDetail, OrganisationLogo, Role
from app.progress.reading import current_version, find_course

FLAGSHIP = "ai-in-the-contact-center"
REFRESHER = "ai-data-refresher"
PRIVACY = "the privacy team (privacy@example.org)"


def png_bytes(width=240, height=80) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (29, 78, 95)).save(out, format="PNG")
    return out.getvalue()


def pdf_text(data: bytes) -> str:
    return "".join("".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


def pdf_images(data: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def admin(client, signed_in):
    return signed_in(roles={Role.ADMIN})


def test_the_page_lists_every_detail_with_its_name_for_course_text(client, synced, admin):
    page = client.get("/admin/organisation").get_data(as_text=True)
    for label, name in [
        ("Privacy team contact", "privacy_team"),
        ("Speak-up channel", "speak_up_channel"),
        ("Approved AI tools", "approved_ai_tools"),
        ("Opt-out steps", "opt_out_steps"),
        ("Disclosure wording: chat", "disclosure_chat"),
        ("Organisation name", "organisation_name"),
    ]:
        assert label in page and f"{{{{ {name} }}}}" in page
    assert "Not set yet" in page and "Upload a logo" in page


def test_saving_a_detail_publishes_a_minor_version_that_learners_read(
    app, client, db, synced, admin, make_user
):
    response = post(client, "/admin/organisation", {"privacy_team": PRIVACY})
    assert response.status_code == 303 and response.location == "/admin/organisation"
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "New minor versions published:" in page and f'value="{PRIVACY}"' in page
    version = newest_version_by_slug(db, REFRESHER)
    assert version.number == 2 and version.material is False
    assert version.details["privacy_team"] == PRIVACY
    learner = app.test_client()
    login(learner, make_user())
    module = learner.get(f"/courses/{REFRESHER}/v2/{version.modules[0].stem}")
    assert "privacy@example.org" in module.get_data(as_text=True)


def test_a_bad_value_is_refused_with_the_reason_and_nothing_is_stored(client, db, synced, admin):
    response = post(
        client,
        "/admin/organisation",
        {"privacy_team": "two\nlines", "speak_up_channel": "the ethics line"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page and "the privacy team contact must be one line" in page
    assert 'value="the ethics line"' in page  # what was typed is kept
    assert db.scalars(select(OrganisationDetail)).all() == []
    assert newest_version_by_slug(db, REFRESHER).number == 1


def upload_logo(client) -> None:
    response = post(
        client,
        "/admin/organisation/logo",
        {"logo": (io.BytesIO(png_bytes()), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303


def certified(db, make_user, source) -> tuple:
    """Ana Silva, who read the refresher (listed from ``source``) and holds its certificate."""
    sync_courses(db, source)
    list_courses(db)
    db.commit()
    holder = make_user(name="Ana Silva")
    read_in_turn(db, holder, current_version(db, holder, find_course(db, REFRESHER)).modules)
    db.commit()
    return holder, db.scalar(select(Certificate))


def test_a_logo_upload_is_checked_and_a_bad_one_refused(client, db, admin):
    response = post(
        client,
        "/admin/organisation/logo",
        {"logo": (io.BytesIO(b"<svg onload='alert(1)'/>"), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "not a PNG, JPEG or WebP image" in response.get_data(as_text=True)
    assert db.scalars(select(OrganisationLogo)).all() == []
    response = post(
        client,
        "/admin/organisation/logo",
        {"logo": (io.BytesIO(png_bytes()), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    preview = client.get("/admin/organisation/logo.png")
    assert preview.mimetype == "image/png" and preview.data.startswith(b"\x89PNG")
    assert post(client, "/admin/organisation/logo/remove").status_code == 303
    assert client.get("/admin/organisation/logo.png").status_code == 404  # none in use
    db.rollback()  # a read of its own, after the requests
    (kept,) = db.scalars(select(OrganisationLogo)).all()  # kept, for older certificates
    assert kept.removed_at is not None


def test_certificates_and_transcripts_carry_the_organisations_name_and_logo(
    app, client, db, admin, refresher_without_quiz, make_user
):
    post(client, "/admin/organisation", {"organisation_name": "Example Telecom Ltd"})
    upload_logo(client)
    holder, certificate = certified(db, make_user, refresher_without_quiz)
    certificate_pdf(db, certificate)  # as its job renders it after the commit
    db.commit()  # ends this read: the PDF was kept in a transaction of its own
    assert certificate.facts["issuer"] == "Example Telecom Ltd"
    assert "ExampleTelecomLtd" in pdf_text(certificate.pdf)
    assert pdf_images(certificate.pdf) == 1  # the logo, in place of Candor's mark
    hr = app.test_client()
    login(hr, make_user(roles={Role.HR}))
    transcript = post(hr, f"/hr/people/{holder.id}/transcript.pdf").data  # audited: a POST
    assert "ExampleTelecomLtd" in pdf_text(transcript) and pdf_images(transcript) == 1


def test_a_certificate_printed_with_a_removed_logo_still_verifies_online(
    app, client, db, admin, refresher_without_quiz, make_user, tmp_path
):
    upload_logo(client)
    _holder, certificate = certified(db, make_user, refresher_without_quiz)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(certificate_pdf(db, certificate))
    db.commit()
    assert post(client, "/admin/organisation/logo/remove").status_code == 303
    result = app.test_cli_runner().invoke(args=["certificates", "verify", str(path)])
    assert result.exit_code == 0, result.output
    assert "logo: the organisation's logo, byte for byte" in result.output

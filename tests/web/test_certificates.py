"""Certificate pages: the holder's list and PDF, public verification, HR revocation."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from helpers import list_courses, login, post, read_in_turn, statements_run
from sqlalchemy import select

from app.certificates.codes import grouped
from app.certificates.service import certificate_pdf
from app.content.sync import sync_courses
from app.db import utcnow
from app.models import Certificate, Role
from app.progress.reading import current_version, find_course

REFRESHER = "ai-data-refresher"


@pytest.fixture
def holder(db, refresher_without_quiz, signed_in):
    """A signed-in learner who completed the refresher (its quiz removed) and holds its
    certificate."""
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    user = signed_in(name="Ana Silva")
    version = current_version(db, user, find_course(db, REFRESHER))
    read_in_turn(db, user, version.modules)
    db.commit()
    return user


def the_certificate(db):
    certificate = db.scalar(select(Certificate))
    certificate_pdf(db, certificate)  # as its job renders it after the commit
    db.commit()  # ends this read: the PDF was kept in a transaction of its own
    return certificate


def test_learner_sees_and_downloads_their_certificate(client, db, holder):
    certificate = the_certificate(db)
    page = client.get("/certificates").get_data(as_text=True)
    assert grouped(certificate.code) in page and "Valid" in page
    response = client.get(f"/certificates/{certificate.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data == certificate.pdf
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert "Ana" not in response.headers["Content-Disposition"]


def test_nobody_else_can_fetch_a_certificate_by_id(app, db, holder, make_user):
    certificate = the_certificate(db)
    other = app.test_client()
    login(other, make_user())
    assert other.get(f"/certificates/{certificate.id}.pdf").status_code == 404
    assert grouped(certificate.code) not in other.get("/certificates").get_data(as_text=True)


def test_verification_is_public_and_states_only_the_facts(app, db, holder):
    certificate = the_certificate(db)
    anonymous = app.test_client()
    response = anonymous.get(f"/verify/{grouped(certificate.code)}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Valid." in page and "Ana Silva" in page
    assert "Customer data and AI tools" in page
    assert holder.email not in page
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex, nofollow">' in page
    data = anonymous.get(f"/verify/{certificate.code.lower()}.json").get_json()
    assert data["status"] == "valid" and data["certificate"] == certificate.facts
    assert data["signature"]["value"] == certificate.signature
    assert holder.email not in str(data)


def test_verification_costs_one_statement_whoever_asks_and_whatever_the_answer(app, db, holder):
    """The public verify page and its JSON: the certificate by its code, one statement (an
    unknown code costs the same look-up), for a visitor with no account."""
    certificate = the_certificate(db)
    anonymous = app.test_client()
    code = grouped(certificate.code)
    paths = (f"/verify/{code}", f"/verify/{code}.json", "/verify/AAAA-AAAA", "/verify/x.json")
    counts = []
    for path in paths:
        anonymous.get(path)  # warm: as on a worker that has served it
        with statements_run(app) as seen:
            anonymous.get(path)
        counts.append(len(seen))
    assert counts == [1, 1, 1, 1], counts


def test_verification_form_normalises_typed_codes(app, db, holder):
    certificate = the_certificate(db)
    anonymous = app.test_client()
    assert anonymous.get("/verify").status_code == 200
    typed = grouped(certificate.code).lower().replace("-", " ")
    response = anonymous.get("/verify", query_string={"code": typed})
    assert response.status_code == 303
    assert response.location == f"/verify/{grouped(certificate.code)}"
    bad = anonymous.get("/verify", query_string={"code": "hello"})
    assert bad.status_code == 400 and "A code has 20 letters and digits" in bad.get_data(
        as_text=True
    )


def test_unknown_codes_are_a_404_with_the_form_to_try_again(app, holder):
    anonymous = app.test_client()
    mistyped = anonymous.get("/verify/0000-0000-0000-0000-0000")
    assert mistyped.status_code == 404
    page = mistyped.get_data(as_text=True)
    assert "No certificate has this code." in page
    # The form, with what was typed, to correct it.
    assert 'action="/verify"' in page and 'value="0000-0000-0000-0000-0000"' in page
    assert 'aria-invalid="true" aria-describedby="code-error"' in page
    script = anonymous.get("/verify/%3Cscript%3E")
    assert script.status_code == 404
    assert "<script>" not in script.get_data(as_text=True)  # echoed, escaped
    response = anonymous.get("/verify/0000-0000-0000-0000-0000.json")
    assert response.status_code == 404 and response.get_json()["status"] == "unknown"


def test_public_key_is_published_and_verifies_the_signature(app, db, holder):
    from app.certificates.facts import CertificateFacts
    from app.certificates.signing import Verifier

    keys = app.test_client().get("/verify/keys.json").get_json()["keys"]
    verifier = Verifier.from_jwk(keys[0])
    certificate = the_certificate(db)
    facts = CertificateFacts.from_dict(certificate.facts)
    assert verifier.verify(facts.canonical_json(), certificate.signature)


def test_verification_lookups_are_rate_limited(app, holder):
    app.config["VERIFY_LIMIT"] = "3 per minute"
    anonymous = app.test_client()
    codes = [anonymous.get("/verify/0000-0000-0000-0000-0000").status_code for _ in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[-1] == 429


def test_only_the_verification_endpoints_count_against_the_look_up_budget(app, holder):
    app.config["VERIFY_LIMIT"] = "2 per minute"
    anonymous = app.test_client()
    for _ in range(5):
        assert anonymous.get("/login").status_code == 200
        assert anonymous.get("/static/candor.css").status_code == 200
    codes = [anonymous.get("/verify/0000-0000-0000-0000-0000").status_code for _ in range(3)]
    assert codes == [404, 404, 429]
    page = anonymous.get("/verify/keys.json")
    assert page.status_code == 429 and "Too many look-ups" in page.get_data(as_text=True)


def test_a_rate_limit_storage_it_cannot_use_stops_the_start_saying_why(build_app):
    with pytest.raises(
        RuntimeError, match=r"CANDOR_RATELIMIT_STORAGE_URL \(nosuch:\.\.\.\)"
    ) as raised:
        build_app(RATELIMIT_STORAGE_URL="nosuch://user:secret@host")
    assert "secret" not in str(raised.value)  # a URL's password never reaches a log


def test_hr_revokes_with_a_reason_and_the_page_says_so(app, db, holder, make_user):
    certificate = the_certificate(db)
    hr = app.test_client()
    login(hr, make_user(roles={Role.HR}))
    page = hr.get(f"/hr/people/{holder.id}").get_data(as_text=True)
    assert grouped(certificate.code) in page
    assert (
        post(hr, f"/hr/certificates/{certificate.id}/revoke", {"reason": "nonsense"}).status_code
        == 303
    )
    db.expire_all()
    assert the_certificate(db).revoked_at is None
    response = post(
        hr,
        f"/hr/certificates/{certificate.id}/revoke",
        {"reason": "issued_in_error", "note": "Wrong person"},
    )
    assert response.status_code == 303
    public = app.test_client().get(f"/verify/{grouped(certificate.code)}").get_data(as_text=True)
    assert "Revoked" in public and "It was issued in error." in public
    assert "Wrong person" not in public


def test_learners_cannot_revoke(client, db, holder):
    certificate = the_certificate(db)
    assert (
        post(client, f"/hr/certificates/{certificate.id}/revoke", {"reason": "other"}).status_code
        == 403
    )
    db.expire_all()
    assert the_certificate(db).revoked_at is None


def _with_better_score(certificate) -> bytes:
    """The certificate re-rendered with its signed data edited: a score of 100."""
    import json

    from app.certificates.facts import CertificateFacts
    from app.certificates.pdf import render_certificate
    from app.certificates.pdf_check import embedded_document

    document = json.loads(embedded_document(certificate.pdf))
    document["certificate"]["score"] = 100
    facts = CertificateFacts.from_dict(document["certificate"])
    return render_certificate(facts, "https://x.test/verify", json.dumps(document).encode())


def test_cli_verifies_a_downloaded_pdf(app, db, holder, tmp_path, client):
    certificate = the_certificate(db)
    pdf = tmp_path / "certificate.pdf"
    pdf.write_bytes(client.get(f"/certificates/{certificate.id}.pdf").data)
    keys = tmp_path / "keys.json"
    keys.write_text(app.test_client().get("/verify/keys.json").get_data(as_text=True))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certificates", "verify", str(pdf)])
    assert result.exit_code == 0, result.output
    assert "VALID: The signatures are valid (checked with the issuer)." in result.output
    offline = runner.invoke(args=["certificates", "verify", str(pdf), "--public-key", str(keys)])
    assert offline.exit_code == 0 and "VALID" in offline.output
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(_with_better_score(certificate))
    result = runner.invoke(args=["certificates", "verify", str(tampered)])
    assert result.exit_code == 1 and "FORGED" in result.output
    from app.certificates.service import revoke_certificate
    from app.models import User

    revoke_certificate(db, db.get(User, holder.id), certificate.id, "holder_request")
    db.commit()
    revoked = runner.invoke(args=["certificates", "verify", str(pdf)])
    assert revoked.exit_code == 2 and "REVOKED" in revoked.output


def test_a_holder_renews_when_expiry_nears_and_earns_a_new_certificate(
    client, db, holder, monkeypatch
):

    import app.progress.standing as standing
    import app.training.renewal as renewal

    later = utcnow() + timedelta(days=365 - 7)  # a week before the certificate expires
    for module in (standing, renewal):  # the course page's status, and the renewal itself
        monkeypatch.setattr(module, "utcnow", lambda: later)
    page = client.get(f"/courses/{REFRESHER}").get_data(as_text=True)
    assert "Renew my training" in page
    assert post(client, f"/courses/{REFRESHER}/renew").status_code == 303
    page = client.get(f"/courses/{REFRESHER}").get_data(as_text=True)
    assert "Start the course" in page and "Renew my training" not in page
    version = current_version(db, holder, find_course(db, REFRESHER))
    read_in_turn(db, holder, version.modules)
    db.commit()
    assert len(db.scalars(select(Certificate)).all()) == 2


def test_a_retired_course_offers_no_renewal_and_refuses_one(client, db, holder, monkeypatch):
    import app.progress.standing as standing
    import app.training.renewal as renewal
    from app.models import Visibility

    later = utcnow() + timedelta(days=365 - 7)  # due for renewal, but the course is retired
    for module in (standing, renewal):
        monkeypatch.setattr(module, "utcnow", lambda: later)
    find_course(db, REFRESHER).visibility = Visibility.RETIRED
    db.commit()
    page = client.get(f"/courses/{REFRESHER}").get_data(as_text=True)
    assert "Renew my training" not in page
    response = post(client, f"/courses/{REFRESHER}/renew")
    assert response.status_code == 409
    assert "This course is retired: it cannot be renewed." in response.get_data(as_text=True)


def test_renewing_before_it_is_due_is_refused(client, holder):
    response = post(client, f"/courses/{REFRESHER}/renew")
    assert response.status_code == 409
    assert "you can renew it from" in response.get_data(as_text=True)


def test_hr_downloads_a_transcript_of_a_person(app, db, holder, make_user):
    import io

    from pypdf import PdfReader

    certificate = the_certificate(db)
    hr = app.test_client()
    login(hr, make_user(roles={Role.HR}))
    response = post(hr, f"/hr/people/{holder.id}/transcript.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Ana" not in response.headers["Content-Disposition"]
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    compact = "".join(text.split())
    assert "AnaSilva" in compact and "".join(grouped(certificate.code).split()) in compact
    assert "Customerdata" in compact
    assert post(hr, "/hr/people/999999/transcript.pdf").status_code == 404


def test_learners_cannot_fetch_transcripts(client, holder):
    assert post(client, f"/hr/people/{holder.id}/transcript.pdf").status_code == 403


def test_cli_prints_a_forged_documents_text_as_data(app, db, holder, tmp_path):
    """A forged certificate.json with terminal escape codes in the holder's name once drew a
    fake "VALID" line over the real verdict: the CLI spells such characters out."""
    import json

    from pypdf import PdfReader, PdfWriter

    from app.certificates.pdf_check import embedded_document

    certificate = the_certificate(db)
    document = json.loads(embedded_document(certificate.pdf))
    document["certificate"]["holder_name"] = (
        "Eve\x1b[1A\x1b[2K\rVALID: The signature is valid.\u202e"
    )
    writer = PdfWriter()
    writer.append_pages_from_reader(PdfReader(io.BytesIO(certificate.pdf)))
    writer.add_attachment("certificate.json", json.dumps(document).encode())
    forged = tmp_path / "forged.pdf"
    with forged.open("wb") as out:
        writer.write(out)
    result = app.test_cli_runner().invoke(args=["certificates", "verify", str(forged)])
    assert result.exit_code == 1
    assert "\x1b" not in result.output and "\r" not in result.output
    assert "\u202e" not in result.output
    assert not any(line.startswith("VALID") for line in result.output.splitlines())


def test_verification_endpoints_share_one_budget_per_client(app, holder):
    """The page, its JSON and the form were three budgets: one client, one budget."""
    app.config["VERIFY_LIMIT"] = "4 per minute"
    anonymous = app.test_client()
    code = "0000-0000-0000-0000-0000"
    statuses = [
        anonymous.get(f"/verify/{code}").status_code,
        anonymous.get(f"/verify/{code}.json").status_code,
        anonymous.get("/verify", query_string={"code": code}).status_code,
        anonymous.get("/verify/keys.json").status_code,
        anonymous.get(f"/verify/{code}.json").status_code,
        anonymous.get(f"/verify/{code}").status_code,
    ]
    assert statuses[:4] == [404, 404, 303, 200]
    assert statuses[4:] == [429, 429]

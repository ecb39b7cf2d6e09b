"""Certificates: one per completion, a signed snapshot, verifiable with the public key alone."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from helpers import list_courses, read_in_turn
from sqlalchemy import func, select

from app.certificates.codes import ALPHABET, grouped, new_code, normalise
from app.certificates.keyring import KeySet, PublishedKey, published_keys
from app.certificates.pdf_check import check_pdf, embedded_document
from app.certificates.service import (
    certificate_pdf,
    find_by_code,
    issue_certificate,
    issuer_of,
    revoke_certificate,
    status_of,
    verify_document,
)
from app.content.sync import sync_courses
from app.dates import add_months, start_of_day
from app.errors import DomainError, NotFound
from app.models import AuditEvent, Certificate, Completion, User
from app.progress.reading import current_version, find_course

REFRESHER = "ai-data-refresher"


def keys_of(db):
    """The issuer's published keys, as /verify/keys.json serves them."""
    return published_keys(db, issuer_of(db).signer)


def complete_refresher(db, user):
    """Read a course with no quiz to the end: that completes it and issues the certificate."""
    version = current_version(db, user, find_course(db, REFRESHER))
    read_in_turn(db, user, version.modules)
    db.commit()
    certificate = db.scalar(select(Certificate).where(Certificate.user_id == user.id))
    certificate_pdf(db, certificate)  # as its job renders it after the commit
    db.commit()  # ends this read: the PDF was kept in a transaction of its own
    return certificate


@pytest.fixture
def certificate(db, make_user, refresher_without_quiz):
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    return complete_refresher(db, make_user(name="Ana Silva"))


def test_codes_are_long_random_and_typeable():
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 20 and set(c) <= set(ALPHABET) for c in codes)
    code = next(iter(codes))
    assert grouped(code).count("-") == 4
    typed = grouped(code).lower().replace("0", "o").replace("1", "l")
    assert normalise(typed) == code
    assert normalise("not a code") is None and normalise("x" * 1000) is None


def test_completion_issues_one_certificate_with_a_snapshot(db, certificate):
    assert certificate is not None
    facts = certificate.facts
    assert facts["holder_name"] == "Ana Silva"
    assert facts["course_title"] == "Customer data and AI tools: a ten-minute refresher"
    assert facts["version_number"] == 1 and len(facts["content_hash"]) == 12
    assert facts["score"] is None
    assert (
        facts["expires_on"]
        == add_months(certificate.completion.completed_at, 12).date().isoformat()
    )
    assert "email" not in json.dumps(facts)
    holder = db.get(User, certificate.user_id)
    holder.name = "Ana Silva-Renamed"
    db.commit()
    db.expire_all()
    assert db.get(Certificate, certificate.id).facts["holder_name"] == "Ana Silva"
    assert issue_certificate(db, certificate.completion).id == certificate.id
    assert (
        db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "certificate.issued")
        )
        == 1
    )


def test_the_pdf_verifies_offline_with_the_public_key(db, certificate):
    verifier = keys_of(db)
    verdict = check_pdf(certificate.pdf, verifier)
    assert verdict.ok and verdict.status == "valid", verdict.message
    assert verdict.facts.code == grouped(certificate.code)


def test_tampered_or_swapped_data_is_caught(db, certificate, make_user):
    verifier = keys_of(db)
    document = json.loads(embedded_document(certificate.pdf))
    document["certificate"]["score"] = 100
    assert verify_document(json.dumps(document).encode(), verifier).status == "forged"
    document = json.loads(embedded_document(certificate.pdf))
    document["signature"]["value"] = document["signature"]["value"][::-1]
    assert verify_document(json.dumps(document).encode(), verifier).status == "forged"
    assert check_pdf(b"%PDF-1.4 not really", verifier).status == "forged"
    # Another holder's certificate PDF carrying this certificate's signed data:
    other = complete_refresher(db, make_user(name="Ben Okafor"))
    from app.certificates.facts import CertificateFacts
    from app.certificates.pdf import render_certificate

    forged = render_certificate(
        CertificateFacts.from_dict(other.facts),
        "https://x.test/v",
        embedded_document(certificate.pdf),
    )
    assert check_pdf(forged, verifier).status == "altered"


def test_another_key_does_not_verify(db, certificate):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.certificates.signing import Verifier

    stranger = Verifier(Ed25519PrivateKey.generate().public_key())
    keys = KeySet((PublishedKey(stranger.key_id, stranger, None, None, None),))
    assert check_pdf(certificate.pdf, keys).status == "forged"


def test_status_valid_expired_revoked(db, certificate, make_user):
    assert status_of(certificate) == "valid"
    expires = certificate.expires_at.date()
    assert status_of(certificate, now=start_of_day(expires) - timedelta(seconds=1)) == "valid"
    assert status_of(certificate, now=start_of_day(expires)) == "expired"
    hr = make_user()
    with pytest.raises(DomainError, match="Choose a reason"):
        revoke_certificate(db, hr, certificate.id, "because")
    revoke_certificate(db, hr, certificate.id, "issued_in_error", "Wrong person.")
    db.commit()
    assert status_of(certificate) == "revoked"
    with pytest.raises(DomainError, match="already revoked"):
        revoke_certificate(db, hr, certificate.id, "other")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.revoked"))
    assert event.actor_id == hr.id and event.details == {"reason": "issued_in_error"}
    verdict = check_pdf(
        certificate.pdf,
        keys_of(db),
        lambda code: status_of(find_by_code(db.connection(), code)),
    )
    assert verdict.status == "revoked"


def test_find_by_code_accepts_typing_variants_and_refuses_unknown(db, certificate):
    typed = " " + grouped(certificate.code).lower() + " "
    assert find_by_code(db.connection(), typed).id == certificate.id
    with pytest.raises(NotFound):
        find_by_code(db.connection(), "0000-0000-0000-0000-0000")
    with pytest.raises(NotFound):
        find_by_code(db.connection(), "<script>")


def test_recompletion_keeps_old_certificates(db, certificate):
    from sqlalchemy import update

    from app.models import Enrollment

    # A new training cycle (what renewal does); the reads of the first cycle do not count.
    db.execute(
        update(Enrollment).values(cycle=2, completed_at=None, version_id=None, started_at=None)
    )
    db.commit()
    user = db.get(User, certificate.user_id)
    complete_refresher(db, user)
    certificates = db.scalars(select(Certificate).where(Certificate.user_id == user.id)).all()
    assert len(certificates) == 2 and len({c.code for c in certificates}) == 2
    assert db.scalar(select(func.count()).select_from(Completion)) == 2


def test_concurrent_completions_give_unique_codes(app, db, make_user, refresher_without_quiz):
    sync_courses(db, refresher_without_quiz)
    list_courses(db)
    db.commit()
    users = [make_user() for _ in range(4)]
    barrier = threading.Barrier(len(users))
    errors = []

    def complete(user_id):
        with app.extensions["candor.sessionmaker"]() as session:
            user = session.get(User, user_id)
            barrier.wait()
            try:
                complete_refresher(session, user)
            except Exception as error:  # noqa: BLE001 (asserted below)
                errors.append(error)

    threads = [threading.Thread(target=complete, args=(u.id,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not [e for e in errors if "locked" not in str(e)], errors
    codes = db.scalars(select(Certificate.code)).all()
    assert len(codes) == len(set(codes)) == len(users) - len(errors)


def test_completions_cannot_be_changed_or_removed(db, certificate):
    from sqlalchemy import delete, exc, update

    with pytest.raises(exc.DatabaseError, match="append-only"):
        db.execute(update(Completion).values(score=100))
    db.rollback()
    with pytest.raises(exc.DatabaseError, match="append-only"):
        db.execute(delete(Completion))
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Completion)) == 1


def test_the_database_lets_only_revocation_change_a_certificate(db, certificate):
    from sqlalchemy import delete, exc, update

    for change in (
        update(Certificate).values(facts={"score": 100}),
        update(Certificate).values(expires_at=None),
        delete(Certificate),
    ):
        with pytest.raises(exc.DatabaseError, match="never change|never deleted|by an erasure"):
            db.execute(change)
        db.rollback()
    holder = db.get(User, certificate.user_id)
    hr = User(email="hr.revoker@example.test", name="HR")
    hr.roles = {"hr"}
    db.add(hr)
    db.flush()
    revoke_certificate(db, hr, certificate.id, "holder_request")
    db.commit()
    with pytest.raises(exc.DatabaseError, match="final"):
        db.execute(update(Certificate).values(revoked_at=None))
    db.rollback()
    assert db.get(Certificate, certificate.id).revoked_at is not None
    assert holder is not None

"""Issuing, finding, verifying and revoking certificates. Callers own the transaction.

Every completion gets exactly one certificate, issued in the same transaction: its facts are
signed then, with the key in use (recorded in ``certificates.keyring``), so it is verifiable
at ``/verify/<code>`` at once. Its PDF is not made there (a pass never waits on a PDF): the
commit hands the certificate to a job (``tasks.py``), and :func:`certificate_pdf`, the one way
anything reads a certificate's PDF, renders it (:func:`render_signed_pdf`, with its own PAdES
signature) if the job has not yet, and keeps it, written once. The facts are a snapshot:
renaming the holder or the course later changes nothing a certificate states.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Row, Select, bindparam, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.audit.events import record
from app.certificates.codes import grouped, new_code, normalise
from app.certificates.facts import CertificateFacts
from app.certificates.keyring import KeySet, signing_key
from app.certificates.signing import Signer
from app.certificates.validity import certificate_status
from app.content.published import published_version
from app.dates import expiry_of
from app.db import rowcount, utcnow, writer
from app.errors import DomainError, NotFound
from app.fields import NAME_MAX, NOTE_MAX, TITLE_MAX, one_line, sentence, text_problem
from app.models import Certificate, Completion, CourseVersion, SigningKey, User
from app.organisation.details import organisation_name
from app.organisation.logo import current_logo

# session.info: the certificates a transaction issued, handed to the PDF job once it commits.
PDFS_TO_RENDER = "candor.certificate_pdfs_to_render"

REVOCATION_REASONS = {
    "issued_in_error": "It was issued in error.",
    "training_invalidated": "The training it records was found not to be valid.",
    "holder_request": "Its holder asked for it to be withdrawn.",
    "other": "It was withdrawn by the issuing organisation.",
}


@dataclass(frozen=True)
class CertificateIssuer:
    """What issuing needs from the app: the signing key, the public address, the issuer name."""

    signer: Signer
    base_url: str
    organisation: str

    def verify_url(self, code: str) -> str:
        return f"{self.base_url.rstrip('/')}/verify/{grouped(code)}"


def issuer_of(session: Session) -> CertificateIssuer:
    # The app puts its issuer in every session's info (app/db.py), so services that complete
    # a course can issue its certificate in the same transaction without reaching for Flask.
    return session.info["certificate_issuer"]


def issue_certificate(session: Session, completion: Completion) -> Certificate:
    """Issue the certificate for a recorded completion, or return the one already issued."""
    existing = session.scalar(select(Certificate).where(Certificate.completion_id == completion.id))
    if existing is not None:
        return existing
    certificate = new_certificate(session, completion)
    session.flush()
    certificate_issued(session, certificate)
    return certificate


def new_certificate(session: Session, completion: Completion) -> Certificate:
    """The certificate of a completion that has none, signed and added to the session: the
    next flush writes it, with its completion if that is new too (one flush for both; the
    completion is then added through the certificate). Once it is written, the caller records
    it with :func:`certificate_issued`."""
    issuer = issuer_of(session)
    key = signing_key(session, issuer.signer)  # refuses a retired key
    holder = session.get_one(User, completion.user_id)
    version = session.get_one(CourseVersion, completion.version_id)
    now = utcnow()
    expires = expiry_of(completion.completed_at, version.recertify_months)
    code = new_code()  # 100 random bits: a collision fails this transaction, never more
    facts = CertificateFacts(
        code=grouped(code),
        holder_name=one_line(holder.name, NAME_MAX),
        course_title=one_line(version.title, TITLE_MAX),
        # From the published version the quiz was read from: kept per process, no statement.
        course_slug=published_version(session, version.id, version.content_hash).course.slug,
        version_number=version.number,
        content_hash=version.short_hash,
        score=completion.score,
        completed_on=completion.completed_at.date(),
        issued_on=now.date(),
        expires_on=expires.date() if expires else None,
        issuer=one_line(organisation_name(session, issuer.organisation), TITLE_MAX),
    )
    certificate = Certificate(
        code=code,
        completion=completion,
        user_id=holder.id,
        facts=facts.to_dict(),
        signature=issuer.signer.sign(facts.canonical_json()),
        key_id=key.kid,
        issued_at=now,
        expires_at=expires,
        pdf=None,  # rendered after the commit (certificate_pdf), never in this transaction
    )
    # No savepoint: a new completion is this transaction's own, so no one else can issue for
    # it (and completion_id is unique); a savepoint's release would also have the ledger
    # append, and take its lock, halfway through the request (audit.ledger hooks every commit).
    session.add(certificate)
    return certificate


def certificate_issued(session: Session, certificate: Certificate) -> None:
    """Record a certificate just written: its audit event, and its PDF to render after the
    commit."""
    record(
        session,
        "certificate.issued",
        actor=session.get_one(User, certificate.user_id),  # its holder: loaded to sign it
        subject=certificate,
        completion_id=certificate.completion_id,
    )
    session.info.setdefault(PDFS_TO_RENDER, set()).add(certificate.id)


def certificate_pdf(session: Session, certificate: Certificate) -> bytes:
    """The certificate's PDF: the one kept, or rendered now and kept.

    Every reader goes through here (the download, the job, HR's bundles, evidence packs,
    subject access), so none sees a certificate without its PDF. The PDF is kept in a short
    transaction of its own, by a conditional UPDATE (``WHERE pdf IS NULL``): of two renderings
    racing, the first kept is the one everyone gets, and the caller's transaction (a GET, a
    job's read) is left as it was. So call it from a read: on SQLite a transaction that has
    written would hold the lock that keeping needs, and one that writes after it must begin
    again first (its snapshot predates the PDF kept). A certificate revoked before its PDF was
    kept is rendered each time it is asked for (the guard keeps a revoked certificate as it
    was).
    """
    if certificate.erased_at is not None:
        raise NotFound("This certificate's holder was erased, and its PDF with them.")
    if certificate.pdf is not None:
        return bytes(certificate.pdf)
    pdf = _render(session, certificate)
    kept = _keep(session, certificate.id, pdf)
    set_committed_value(certificate, "pdf", kept)
    return kept


def render_missing_pdfs(session: Session, user_id: int | None = None, limit: int = 100) -> int:
    """Render and keep the PDFs not rendered yet (of one person, or anyone's, oldest first, at
    most ``limit``); how many. For readers that read PDFs as rows, and for the job queue's
    safety net (a job lost with its worker)."""
    query = (
        select(Certificate)
        .where(Certificate.pdf.is_(None), Certificate.revoked_at.is_(None))
        .order_by(Certificate.id)
        .limit(limit)
    )
    if user_id is not None:
        query = query.where(Certificate.user_id == user_id)
    pending = list(session.scalars(query))
    for certificate in pending:
        certificate_pdf(session, certificate)
    return len(pending)


def waiting_for_pdf(session: Session, issued_before: datetime, limit: int = 100) -> list[int]:
    """The certificates issued before ``issued_before`` still without a PDF (their job was
    lost with its worker, or the queue was down): for ``maintain`` to queue again."""
    return list(
        session.scalars(
            select(Certificate.id)
            .where(
                Certificate.pdf.is_(None),
                Certificate.revoked_at.is_(None),
                Certificate.issued_at < issued_before,
            )
            .order_by(Certificate.id)
            .limit(limit)
        )
    )


def pdf_is_missing(session: Session, certificate_id: int) -> bool:
    """Whether the certificate exists, is not revoked and has no PDF yet (without reading a
    kept PDF)."""
    found = session.scalar(
        select(Certificate.id).where(
            Certificate.id == certificate_id,
            Certificate.pdf.is_(None),
            Certificate.revoked_at.is_(None),
        )
    )
    return found is not None


def _render(session: Session, certificate: Certificate) -> bytes:
    issuer = issuer_of(session)
    key = session.scalar(select(SigningKey).where(SigningKey.kid == issuer.signer.key_id))
    if key is None or key.valid_until is not None:
        # Its PDF signature would be by a key nobody publishes as in use: refuse.
        raise DomainError(
            "This certificate's PDF cannot be made now: the server's signing key is not the "
            "one in use. Try again later.",
            status=503,
        )
    facts = CertificateFacts.from_dict(certificate.facts)
    logo = current_logo(session)
    return render_signed_pdf(
        issuer,
        facts,
        signed_document(facts, certificate.signature, certificate.key_id),
        logo.png if logo is not None else None,
    )


def _keep(session: Session, certificate_id: int, pdf: bytes) -> bytes:
    """Keep ``pdf`` unless another rendering was kept first; the PDF kept (or ``pdf``)."""
    with writer(session).begin() as connection:
        written = connection.execute(
            update(Certificate)
            .where(
                Certificate.id == certificate_id,
                Certificate.pdf.is_(None),
                Certificate.revoked_at.is_(None),
                Certificate.erased_at.is_(None),
            )
            .values(pdf=pdf)
        )
        if rowcount(written) == 1:
            return pdf
        kept = connection.scalar(select(Certificate.pdf).where(Certificate.id == certificate_id))
    return bytes(kept) if kept is not None else pdf


def render_signed_pdf(
    issuer: CertificateIssuer, facts: CertificateFacts, document: bytes, logo_png: bytes | None
) -> bytes:
    """The certificate's PDF, with the signed JSON inside and a PAdES signature over it all.

    No session: the caller (:func:`certificate_pdf`) has checked that the issuer's key is the
    one in use. The PDF is signed with the key in use when it is rendered, which is the
    certificate's own key unless the key was rotated in between (both are published, each
    with its period, and the PDF signature is checked against its own).
    """
    from app.certificates.pades import sign_pdf  # pyHanko and WeasyPrint load when needed
    from app.certificates.pdf import render_certificate

    code = normalise(facts.code) or facts.code
    pdf = render_certificate(facts, issuer.verify_url(code), document, logo_png)
    return sign_pdf(pdf, issuer.signer)


def signed_document(facts: CertificateFacts, signature: str, kid: str) -> bytes:
    """The JSON embedded in the PDF: the facts and their signature, verifiable on its own."""
    return json.dumps(
        {
            "certificate": facts.to_dict(),
            "signature": {"alg": "EdDSA", "crv": "Ed25519", "kid": kid, "value": signature},
        },
        indent=2,
        ensure_ascii=False,
        sort_keys=True,
    ).encode("utf-8")


class Dated(Protocol):
    """What a certificate's status depends on: an ORM certificate or a ``find_by_code`` row."""

    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def expires_at(self) -> datetime | None: ...


def status_of(certificate: Dated, now: datetime | None = None) -> str:
    """valid, expired or revoked (the rule of ``certificates.validity``)."""
    return certificate_status(
        certificate.revoked_at is not None, certificate.expires_at, now or utcnow()
    )


@functools.cache
def _by_code() -> Select:
    """What verification states of a certificate, by code: built once, since every look-up of
    the public verify page and its JSON runs it."""
    c = Certificate.__table__.c
    return select(
        c.id,
        c.code,
        c.facts,
        c.signature,
        c.key_id,
        c.expires_at,
        c.revoked_at,
        c.revocation_reason,
        c.erased_at,
    ).where(c.code == bindparam("code"))


def find_by_code(connection: Connection, typed: str) -> Row:
    """The certificate with this code, however it was typed, as the row of what verification
    states (id, code, facts, signature, key_id, expires_at, revoked_at, revocation_reason,
    erased_at; read on ``connection``, no ORM object); NotFound otherwise."""
    # A malformed code still costs a look-up, so the answer takes the same time either way.
    code = normalise(typed) or "-"
    certificate = connection.execute(_by_code(), {"code": code}).first()
    if certificate is None:
        raise NotFound("No certificate has this code. Check it against the certificate.")
    return certificate


def list_certificates(session: Session, user_id: int) -> list[Certificate]:
    """Every certificate of a person, newest first (old ones are kept)."""
    return list(
        session.scalars(
            select(Certificate)
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
        )
    )


def find_own_certificate(session: Session, user: User, certificate_id: int) -> Certificate:
    """The user's own certificate; anyone else's answers "not found"."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None or certificate.user_id != user.id:
        raise NotFound("There is no such certificate.")
    return certificate


def revoke_certificate(
    session: Session, actor: User, certificate_id: int, reason: str, note: str = ""
) -> Certificate:
    """Revoke a certificate with a reason; the verification page says so from then on."""
    certificate = session.get(Certificate, certificate_id)
    if certificate is None:
        raise NotFound("There is no such certificate.")
    if reason not in REVOCATION_REASONS:
        raise DomainError("Choose a reason for the revocation.")
    note = note.strip()
    if problem := text_problem("note", note, NOTE_MAX, required=False, multiline=True):
        raise DomainError(sentence(problem))
    if certificate.revoked_at is not None:
        raise DomainError("This certificate is already revoked.", status=409)
    certificate.revoked_at = utcnow()
    certificate.revoked_by_id = actor.id
    certificate.revocation_reason = reason
    certificate.revocation_note = note or None
    session.flush()
    record(session, "certificate.revoked", actor=actor, subject=certificate, reason=reason)
    return certificate


@dataclass(frozen=True)
class Verdict:
    ok: bool
    status: str  # valid, expired, revoked, forged, altered, unknown
    message: str
    facts: CertificateFacts | None = None
    checks: tuple[str, ...] = ()  # each thing checked, one line each, for the reader


def verify_document(document: bytes, keys: KeySet) -> Verdict:
    """Check an embedded certificate.json against the published keys, with no database: the
    key it names is published, was valid on the day of issue, and its signature matches."""
    try:
        data = json.loads(document)
        facts = CertificateFacts.from_dict(data["certificate"])
        signature = data["signature"]
    except (ValueError, KeyError, TypeError):
        return Verdict(False, "forged", "The embedded certificate data is missing or unreadable.")
    kid = signature.get("kid") if isinstance(signature, dict) else None
    key = keys.find(kid)
    if key is None:
        return Verdict(False, "forged", "It is not signed with any of the issuer's keys.", facts)
    if not key.verifier.verify(facts.canonical_json(), str(signature.get("value", ""))):
        return Verdict(
            False,
            "forged",
            "The signature does not match: the certificate was altered or forged.",
            facts,
        )
    if not key.covers(facts.issued_on):
        return Verdict(
            False,
            "forged",
            f"It is dated {facts.issued_on}, outside the period of its key {key.kid} "
            f"({key.period()}).",
            facts,
        )
    check = f"signed facts: signature valid, key {key.kid} (in use {key.period()})"
    return Verdict(True, "valid", "The signature is valid.", facts, (check,))

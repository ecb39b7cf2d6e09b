"""Certificates: one per completion, a signed snapshot of what it states."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, guard_updates, utcnow
from app.models.quiz import Completion


class Certificate(Base):
    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The code without separators (20 Crockford base32 characters, 100 bits of randomness).
    code: Mapped[str] = mapped_column(String(32), unique=True)
    completion_id: Mapped[int] = mapped_column(
        ForeignKey("completions.id", ondelete="RESTRICT"), unique=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    # CertificateFacts.to_dict(), as signed: later renames change nothing here.
    facts: Mapped[dict]
    signature: Mapped[str] = mapped_column(String(128))  # base64url Ed25519 signature
    key_id: Mapped[str] = mapped_column(String(32))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    revocation_note: Mapped[str | None] = mapped_column(Text)
    # Rendered once, after issue (a job, or the first download if that comes first), then kept:
    # NULL until then (certificates.service.certificate_pdf), written once; emptied when the
    # holder is erased.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # When the holder was erased: the name in ``facts`` is then their pseudonym, the PDF gone
    # (privacy.erasure; the ledger explains the change by the erasure's audit event).
    erased_at: Mapped[datetime | None]

    completion: Mapped[Completion] = relationship()


# A certificate states what it stated when issued: only its PDF (once, from NULL: rendered
# after issue) and its revocation (once) are ever written, and an erasure of its holder
# replaces the name in its facts and drops its PDF, once.
CERTIFICATE_FROZEN = [
    "id",
    "code",
    "completion_id",
    "user_id",
    "signature",
    "key_id",
    "issued_at",
    "expires_at",
]
CERTIFICATE_ERASABLE = ["facts", "erased_at"]  # and the PDF, written once but for an erasure
ERASING = "OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL"
guard_updates(
    Certificate.__table__,
    "certificates",
    CERTIFICATE_FROZEN,
    "OLD.revoked_at IS NOT NULL",
    CERTIFICATE_ERASABLE,
    ERASING,
    written_once=("pdf",),
)


class SigningKey(Base):
    """A key Candor signs (or signed) certificates with, and when: published at
    /verify/keys.json for ever, so certificates signed before a rotation stay verifiable."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(32), unique=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64url of the Ed25519 raw key
    # DER X.509 certificate of the derived ECDSA key that signs the PDFs (PAdES).
    pdf_certificate: Mapped[bytes] = mapped_column(LargeBinary)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None]  # None: the key in use


# A key's history is written twice at most: when it is added, and once when it is retired.
guard_updates(
    SigningKey.__table__,
    "signing keys",
    ["id", "kid", "public_key", "pdf_certificate", "valid_from"],
    "OLD.valid_until IS NOT NULL",
)

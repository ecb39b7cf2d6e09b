"""The ledger: completions, certificates (issue, revocation) and audit events chained by hash.

Each entry names one row (its kind and id), carries the SHA-256 of that row's content, the
hash of the entry before it and its own hash over both, so a row changed, removed or slipped
in, and an entry removed or inserted, shows when the chain is walked (``audit verify``).
Append-only, enforced by the database like the audit trail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, make_append_only, utcnow


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (UniqueConstraint("kind", "row_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)  # 1, 2, 3... with no gap
    kind: Mapped[str] = mapped_column(String(32))  # completion, certificate.issued, ...
    row_id: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64))
    # The entry before's hash ("0" * 64 for the first): unique, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entry_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


make_append_only(LedgerEntry.__table__, "ledger entries")
